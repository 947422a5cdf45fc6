/* Inpainting and outpainting: the canvas, masks, pre-fill, colour match and composite around the
 * latent-masking sampler in pipeline.c. Masks are read with cond/mask.h; the distance field is our own
 * because the composite needs the distances themselves (outward feather), not a grown or blurred mask. */
#include "diffusion/inpaint.h"
#include "core/error.h"
#include "core/philox.h"
#include "cond/mask.h"
#include "diffusion/pipeline_private.h"

#include <math.h>
#include <string.h>

#define MAX_MARGIN 4096
#define MAX_RADIUS 1024
#define PREFILL_BLUR 8        /* box radius of the margin blur, three passes */
#define PREFILL_NOISE 0.03f   /* σ of the margin noise, in [0, 1] units */

/* ---- masks -------------------------------------------------------------------------------------------- */

/* mask → [h, w] 0/1 with cond/mask.h's reading (alpha when the image has a non-opaque one, else the
 * luminance; > 127 of 255 repaints, which is diffusers' binarisation at 0.5), resized with nearest
 * neighbours (pixel centres) when the sizes differ. */
static gboolean
mask_levels (const ScImage *img, int w, int h, guint8 *out, GError **error)
{
  g_autoptr (ScMask) m = sc_mask_from_image (img, error);
  if (!m)
    return FALSE;
  for (int y = 0; y < h; y++)
    {
      int sy = MIN ((int) (((double) y + 0.5) * m->height / h), m->height - 1);
      for (int x = 0; x < w; x++)
        {
          int sx = MIN ((int) (((double) x + 0.5) * m->width / w), m->width - 1);
          out[(size_t) y * w + x] = m->data[(size_t) sy * m->width + sx] >= 0.5f;
        }
    }
  return TRUE;
}

static gboolean
mask_valid (const ScImage *m, GError **error)
{
  if (!m || !m->data || m->width < 1 || m->height < 1 || (m->channels != 1 && m->channels != 3 && m->channels != 4)
      || (m->bit_depth != 8 && m->bit_depth != 16))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "The mask is not a usable image");
      return FALSE;
    }
  return TRUE;
}

/* 1-D squared Euclidean distance transform of sampled function f (Felzenszwalb & Huttenlocher). */
static void
edt_1d (const double *f, int n, double *d, int *v, double *z)
{
  int k = 0;
  v[0] = 0;
  z[0] = -HUGE_VAL;
  z[1] = HUGE_VAL;
  for (int q = 1; q < n; q++)
    {
      /* s is finite (f ≤ 1e20), so z[0] = −∞ stops the loop at k = 0 */
      double s = ((f[q] + (double) q * q) - (f[v[k]] + (double) v[k] * v[k])) / (2.0 * (q - v[k]));
      while (s <= z[k])
        {
          k--;
          s = ((f[q] + (double) q * q) - (f[v[k]] + (double) v[k] * v[k])) / (2.0 * (q - v[k]));
        }
      k++;
      v[k] = q;
      z[k] = s;
      z[k + 1] = HUGE_VAL;
    }
  k = 0;
  for (int q = 0; q < n; q++)
    {
      while (z[k + 1] < q)
        k++;
      d[q] = (double) (q - v[k]) * (q - v[k]) + f[v[k]];
    }
}

/* Squared distance of every pixel to the nearest pixel with on[i] == want; a huge value when none is. */
static double *
distance_sq (const guint8 *on, guint8 want, int w, int h)
{
  const double far = 1e20;
  int n = MAX (w, h);
  double *g = g_new (double, (size_t) w * h);
  double *f = g_new (double, n), *d = g_new (double, n), *z = g_new (double, n + 1);
  int *v = g_new (int, n);
  for (int x = 0; x < w; x++)
    {
      for (int y = 0; y < h; y++)
        f[y] = on[(size_t) y * w + x] == want ? 0.0 : far;
      edt_1d (f, h, d, v, z);
      for (int y = 0; y < h; y++)
        g[(size_t) y * w + x] = d[y];
    }
  for (int y = 0; y < h; y++)
    {
      memcpy (f, g + (size_t) y * w, (size_t) w * sizeof (double));
      edt_1d (f, w, d, v, z);
      memcpy (g + (size_t) y * w, d, (size_t) w * sizeof (double));
    }
  g_free (f);
  g_free (d);
  g_free (z);
  g_free (v);
  return g;
}

/* ---- canvas ------------------------------------------------------------------------------------------- */

/* One axis: size + margins rounded up to a multiple of 8; the extra goes to the high margin, else the low
 * one, else a hidden pad past the end that the output leaves out. */
static void
layout_axis (int size, int lo, int hi, int *canvas, int *init_off, int *out_len)
{
  int total = size + lo + hi, rounded = (total + 7) / 8 * 8, extra = rounded - total;
  if (hi > 0)
    hi += extra;
  else if (lo > 0)
    lo += extra;
  *canvas = rounded;
  *init_off = lo;
  *out_len = size + lo + hi;
}

void
sc_inpaint_canvas_size (int init_w, int init_h, const int outpaint[4], int *out_w, int *out_h)
{
  static const int none[4] = { 0, 0, 0, 0 };
  const int *m = outpaint ? outpaint : none;
  int canvas, off;
  layout_axis (init_w, MAX (m[0], 0), MAX (m[2], 0), &canvas, &off, out_w);
  layout_axis (init_h, MAX (m[1], 0), MAX (m[3], 0), &canvas, &off, out_h);
}

void
sc_inpaint_hint_placement (int init_w, int init_h, const int outpaint[4], ScHintPlacement *place)
{
  static const int none[4] = { 0, 0, 0, 0 };
  const int *m = outpaint ? outpaint : none;
  int out;
  layout_axis (init_w, MAX (m[0], 0), MAX (m[2], 0), &place->canvas_w, &place->x, &out);
  layout_axis (init_h, MAX (m[1], 0), MAX (m[3], 0), &place->canvas_h, &place->y, &out);
  place->init_w = init_w;
  place->init_h = init_h;
}

void
sc_inpaint_canvas_free (ScInpaintCanvas *c)
{
  if (!c)
    return;
  g_free (c->rgb);
  g_free (c->rgb8);
  g_free (c->repaint);
  g_free (c->alpha);
  g_free (c->dist);
  g_free (c);
}

/* Separable box blur of [h, w, 3] with edge clamping, in place. */
static void
box_blur (float *img, int w, int h, int r)
{
  int n = MAX (w, h);
  float *line = g_new (float, (size_t) n * 3), *acc = g_new (float, (size_t) n * 3);
  for (int pass = 0; pass < 2; pass++)
    {
      int len = pass ? h : w, count = pass ? w : h;
      size_t stride = pass ? (size_t) w * 3 : 3, step = pass ? 3 : (size_t) w * 3;
      for (int j = 0; j < count; j++)
        {
          float *base = img + (size_t) j * step;
          for (int i = 0; i < len; i++)
            memcpy (line + i * 3, base + i * stride, 3 * sizeof (float));
          for (int k = 0; k < 3; k++)
            {
              double s = 0;
              for (int i = -r; i <= r; i++)
                s += line[CLAMP (i, 0, len - 1) * 3 + k];
              for (int i = 0; i < len; i++)
                {
                  acc[i * 3 + k] = (float) (s / (2 * r + 1));
                  s += line[MIN (i + r + 1, len - 1) * 3 + k] - line[MAX (i - r, 0) * 3 + k];
                }
            }
          for (int i = 0; i < len; i++)
            memcpy (base + i * stride, acc + i * 3, 3 * sizeof (float));
        }
    }
  g_free (line);
  g_free (acc);
}

/* New pixels: the nearest edge pixel stretched outwards, blurred, plus a little seeded noise. */
static void
prefill (ScInpaintCanvas *c, uint64_t seed)
{
  int W = c->width, H = c->height;
  size_t npix = (size_t) W * H;
  float *stretched = g_new (float, npix * 3);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        int sx = CLAMP (x, c->init_x, c->init_x + c->init_w - 1), sy = CLAMP (y, c->init_y, c->init_y + c->init_h - 1);
        memcpy (stretched + ((size_t) y * W + x) * 3, c->rgb + ((size_t) sy * W + sx) * 3, 3 * sizeof (float));
      }
  for (int pass = 0; pass < 3; pass++)
    box_blur (stretched, W, H, PREFILL_BLUR);
  float *noise = g_new (float, npix * 3);
  ScPhilox rng;
  sc_philox_init (&rng, seed ^ G_GUINT64_CONSTANT (0x9e3779b97f4a7c15)); /* not the diffusion stream */
  sc_philox_randn (&rng, noise, npix * 3);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        if (x >= c->init_x && x < c->init_x + c->init_w && y >= c->init_y && y < c->init_y + c->init_h)
          continue;
        size_t i = ((size_t) y * W + x) * 3;
        for (int k = 0; k < 3; k++)
          {
            float v = CLAMP (stretched[i + k] + PREFILL_NOISE * noise[i + k], 0.0f, 1.0f);
            c->rgb8[i + k] = (guint8) lrintf (v * 255.0f);
            c->rgb[i + k] = c->rgb8[i + k] / 255.0f;
          }
      }
  g_free (stretched);
  g_free (noise);
}

static float
smoothstep01 (float t)
{
  t = CLAMP (t, 0.0f, 1.0f);
  return t * t * (3.0f - 2.0f * t);
}

ScInpaintCanvas *
sc_inpaint_canvas_new (const ScGenerateParams *p, GError **error)
{
  if (!p->init_image)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   p->mask ? "Inpainting needs the image to inpaint (init image)"
                           : "Outpainting needs the image to extend (init image)");
      return NULL;
    }
  for (int i = 0; i < 4; i++)
    if (p->outpaint[i] < 0 || p->outpaint[i] > MAX_MARGIN)
      {
        g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "Outpaint margins must be between 0 and %d pixels",
                     MAX_MARGIN);
        return NULL;
      }
  if (p->mask_grow < 0 || p->mask_grow > MAX_RADIUS || p->mask_feather < 0 || p->mask_feather > MAX_RADIUS)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "Mask grow and feather must be between 0 and %d pixels",
                   MAX_RADIUS);
      return NULL;
    }
  if (p->mask && !mask_valid (p->mask, error))
    return NULL;
  g_autoptr (ScImage) init = sc_image_to_rgb8 (p->init_image, error);
  if (!init)
    return NULL;
  g_autoptr (ScInpaintCanvas) c = g_new0 (ScInpaintCanvas, 1);
  c->init_w = init->width;
  c->init_h = init->height;
  layout_axis (init->width, p->outpaint[0], p->outpaint[2], &c->width, &c->init_x, &c->out_w);
  layout_axis (init->height, p->outpaint[1], p->outpaint[3], &c->height, &c->init_y, &c->out_h);
  if (c->width > 4096 || c->height > 4096)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "The canvas would be %d×%d pixels; at most 4096×4096 is supported", c->width, c->height);
      return NULL;
    }
  int W = c->width, H = c->height;
  size_t npix = (size_t) W * H;
  c->rgb = g_new (float, npix * 3);
  c->rgb8 = g_new0 (guint8, npix * 3);
  c->repaint = g_new0 (guint8, npix);
  c->alpha = g_new (float, npix);
  c->dist = g_new (float, npix);
  const guint8 *src = init->data;
  for (int y = 0; y < c->init_h; y++)
    memcpy (c->rgb8 + ((size_t) (y + c->init_y) * W + c->init_x) * 3, src + (size_t) y * c->init_w * 3,
            (size_t) c->init_w * 3);
  for (size_t i = 0; i < npix * 3; i++)
    c->rgb[i] = c->rgb8[i] / 255.0f;
  prefill (c, p->seed);

  /* what to repaint before growing: the margins (not the hidden pad) and the mask's white */
  guint8 *seed_mask = g_new0 (guint8, npix);
  for (int y = 0; y < c->out_h; y++)
    for (int x = 0; x < c->out_w; x++)
      if (x < c->init_x || x >= c->init_x + c->init_w || y < c->init_y || y >= c->init_y + c->init_h)
        seed_mask[(size_t) y * W + x] = 1;
  if (p->mask)
    {
      guint8 *m = g_new (guint8, (size_t) c->init_w * c->init_h);
      if (!mask_levels (p->mask, c->init_w, c->init_h, m, error))
        {
          g_free (m);
          g_free (seed_mask);
          return NULL;
        }
      for (int y = 0; y < c->init_h; y++)
        for (int x = 0; x < c->init_w; x++)
          seed_mask[(size_t) (y + c->init_y) * W + x + c->init_x] = m[(size_t) y * c->init_w + x];
      g_free (m);
    }
  gboolean any = FALSE;
  for (size_t i = 0; i < npix && !any; i++)
    any = seed_mask[i];
  if (!any)
    {
      g_free (seed_mask);
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "The mask is empty (no pixel is white or light grey): there is nothing to inpaint");
      return NULL;
    }
  double *d2 = distance_sq (seed_mask, 1, W, H);
  double grow2 = (double) p->mask_grow * p->mask_grow;
  for (size_t i = 0; i < npix; i++)
    {
      float d = (float) sqrt (d2[i]);
      c->dist[i] = d;
      c->repaint[i] = d2[i] <= grow2;
      if (c->repaint[i])
        c->alpha[i] = 1.0f;
      else if (p->mask_feather > 0 && d - p->mask_grow < p->mask_feather)
        c->alpha[i] = 1.0f - smoothstep01 ((d - (float) p->mask_grow) / (float) p->mask_feather);
      else
        c->alpha[i] = 0.0f;
    }
  g_free (d2);
  g_free (seed_mask);
  return g_steal_pointer (&c);
}

float *
sc_inpaint_latent_mask (const ScInpaintCanvas *c, gboolean nearest)
{
  int w = c->width / 8, h = c->height / 8;
  float *m = g_new0 (float, (size_t) w * h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        if (nearest)
          {
            m[(size_t) y * w + x] = c->repaint[(size_t) (y * 8) * c->width + x * 8];
            continue;
          }
        for (int yy = 0; yy < 8 && m[(size_t) y * w + x] == 0.0f; yy++)
          for (int xx = 0; xx < 8; xx++)
            if (c->alpha[(size_t) (y * 8 + yy) * c->width + x * 8 + xx] > 0.0f)
              {
                m[(size_t) y * w + x] = 1.0f;
                break;
              }
      }
  return m;
}

guint8 *
sc_inpaint_hole (const ScInpaintCanvas *c, gboolean nearest)
{
  size_t npix = (size_t) c->width * c->height;
  guint8 *hole = g_new (guint8, npix);
  for (size_t i = 0; i < npix; i++)
    hole[i] = nearest ? c->repaint[i] : c->alpha[i] > 0.0f;
  return hole;
}

/* ---- colour match and composite ------------------------------------------------------------------------ */

void
sc_inpaint_color_match (const ScInpaintCanvas *c, float *generated)
{
  int W = c->width;
  double band2 = (double) SC_INPAINT_COLOR_BAND * SC_INPAINT_COLOR_BAND;
  double *in_d2 = distance_sq (c->repaint, 0, W, c->height); /* repainted pixels: distance to the kept ones */
  double sum[2][3] = { { 0 } }, sq[2][3] = { { 0 } }, cnt[2] = { 0, 0 };
  /* outer band: kept pixels within the band of the repainted region (distance from it) */
  double *out_d2 = distance_sq (c->repaint, 1, W, c->height);
  for (int y = 0; y < c->out_h; y++)
    for (int x = 0; x < c->out_w; x++)
      {
        size_t i = (size_t) y * W + x;
        int b = -1;
        const float *px = NULL;
        if (c->repaint[i] && in_d2[i] <= band2)
          {
            b = 0;
            px = generated + i * 3;
          }
        else if (!c->repaint[i] && out_d2[i] <= band2)
          {
            b = 1;
            px = c->rgb + i * 3;
          }
        if (b < 0)
          continue;
        cnt[b]++;
        for (int k = 0; k < 3; k++)
          {
            sum[b][k] += px[k];
            sq[b][k] += (double) px[k] * px[k];
          }
      }
  g_free (in_d2);
  g_free (out_d2);
  if (cnt[0] < 2 || cnt[1] < 2)
    return;
  float scale[3], shift[3];
  for (int k = 0; k < 3; k++)
    {
      double m0 = sum[0][k] / cnt[0], m1 = sum[1][k] / cnt[1];
      double s0 = sqrt (MAX (sq[0][k] / cnt[0] - m0 * m0, 0.0)), s1 = sqrt (MAX (sq[1][k] / cnt[1] - m1 * m1, 0.0));
      double f = s0 > 1e-6 ? CLAMP (s1 / s0, 0.5, 2.0) : 1.0;
      scale[k] = (float) f;
      shift[k] = (float) (m1 - m0 * f);
    }
  size_t npix = (size_t) W * c->height;
  for (size_t i = 0; i < npix; i++)
    if (c->alpha[i] > 0.0f)
      for (int k = 0; k < 3; k++)
        generated[i * 3 + k] = CLAMP (generated[i * 3 + k] * scale[k] + shift[k], 0.0f, 1.0f);
}

ScImage *
sc_inpaint_composite (const ScInpaintCanvas *c, const float *generated, GError **error)
{
  ScImage *img = sc_image_new (c->out_w, c->out_h, 3, 8, error);
  if (!img)
    return NULL;
  guint8 *dst = img->data;
  for (int y = 0; y < c->out_h; y++)
    for (int x = 0; x < c->out_w; x++)
      {
        size_t i = (size_t) y * c->width + x, o = ((size_t) y * c->out_w + x) * 3;
        float a = c->alpha[i];
        if (a <= 0.0f)
          {
            memcpy (dst + o, c->rgb8 + i * 3, 3); /* kept pixels: bit for bit */
            continue;
          }
        for (int k = 0; k < 3; k++)
          {
            float v = a * generated[i * 3 + k] + (1.0f - a) * c->rgb[i * 3 + k];
            dst[o + k] = (guint8) lrintf (CLAMP (v, 0.0f, 1.0f) * 255.0f);
          }
      }
  return img;
}

/* ---- the job ------------------------------------------------------------------------------------------- */

gboolean
sc_inpaint_float (ScModel *m, const ScBackend *be, const ScGenerateParams *p, ScGenerateProgressFunc progress,
                  gpointer user, ScInpaintCanvas **canvas, float **rgb, float **latent, GError **error)
{
  g_autoptr (ScInpaintCanvas) c = sc_inpaint_canvas_new (p, error);
  if (!c)
    return FALSE;
  g_autofree float *lmask = sc_inpaint_latent_mask (c, p->mask_nearest);
  g_autofree guint8 *hole = sc_inpaint_hole (c, p->mask_nearest);
  ScInpaintJob job = { .width = c->width, .height = c->height, .image = c->rgb, .latent_mask = lmask,
                       .hole = hole };
  if (!sc_pipeline_run_inpaint (m, be, p, &job, progress, user, rgb, latent, error))
    return FALSE;
  if (canvas)
    *canvas = g_steal_pointer (&c);
  return TRUE;
}

ScImage *
sc_inpaint (ScModel *m, const ScBackend *be, const ScGenerateParams *p, ScGenerateProgressFunc progress,
            gpointer user, GError **error)
{
  g_autoptr (ScInpaintCanvas) c = NULL;
  float *rgb = NULL;
  if (!sc_inpaint_float (m, be, p, progress, user, &c, &rgb, NULL, error))
    return NULL;
  if (p->color_match)
    sc_inpaint_color_match (c, rgb);
  ScImage *img = sc_inpaint_composite (c, rgb, error);
  sc_free_floats (rgb);
  return img;
}

gboolean
sc_inpaint_condition (const ScImage *image, const ScImage *mask, int width, int height, float **rgb,
                      float **mask_out, GError **error)
{
  if (width < 1 || height < 1 || width > SC_IMAGE_MAX_SIDE || height > SC_IMAGE_MAX_SIDE)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "Condition size %d×%d is not supported", width, height);
      return FALSE;
    }
  if (!image || !mask_valid (mask, error))
    {
      if (!image)
        g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "The inpainting condition needs an image");
      return FALSE;
    }
  g_autofree float *src = sc_image_to_float_rgb (image, error);
  if (!src)
    return FALSE;
  size_t npix = (size_t) width * height;
  float *img = g_new (float, npix * 3);
  if (image->width == width && image->height == height)
    memcpy (img, src, npix * 3 * sizeof (float));
  else
    sc_pipeline_resize_rgb (src, image->width, image->height, img, width, height);
  guint8 *lv = g_new (guint8, npix);
  if (!mask_levels (mask, width, height, lv, error))
    {
      g_free (lv);
      g_free (img);
      return FALSE;
    }
  for (size_t i = 0; i < npix; i++)
    if (lv[i])
      img[i * 3] = img[i * 3 + 1] = img[i * 3 + 2] = 0.0f;
  if (mask_out)
    {
      *mask_out = g_new (float, npix);
      for (size_t i = 0; i < npix; i++)
        (*mask_out)[i] = lv[i];
    }
  g_free (lv);
  if (rgb)
    *rgb = img;
  else
    g_free (img);
  return TRUE;
}
