/* Inpainting and outpainting: latent masking against diffusers' StableDiffusionInpaintPipeline (fixtures
 * from tests/reference/gen_inpaint.py, 4- and 9-channel U-Nets), the canvas and mask geometry, the
 * composite (kept pixels bit for bit, a softer seam with feathering), outpainting, colour matching, the
 * CSC condition, bad inputs and the `scedit generate --mask/--outpaint` flow. */
#include "core/error.h"
#include "diffusion/inpaint.h"
#include "io/image.h"
#include "io/safetensors.h"
#include "models/make_model.h"
#include "test-models.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static char *tmpdir;

static ScModel *
load_tiny (const char *arch_name, uint64_t weight_seed)
{
  g_autofree char *path = sc_test_tiny_model_path (tmpdir, arch_name, weight_seed);
  return sc_test_load_model (path);
}

/* The tiny model with conv_in widened to 9 inputs: the stored 4 plus extra [C, 5, 3, 3]. */
static ScModel *
load_tiny9 (const char *arch_name, uint64_t weight_seed, const float *extra, int64_t extra_n)
{
  GError *error = NULL;
  g_autofree char *src = sc_test_tiny_model_path (tmpdir, arch_name, weight_seed);
  g_autofree char *path = g_strdup_printf ("%s.unet9-%d.safetensors", src, (int) extra_n);
  ScSafetensors *st = sc_safetensors_open (src, &error);
  g_assert_no_error (error);
  ScSafetensorsWriter *w = sc_safetensors_writer_new ();
  for (size_t i = 0; i < sc_safetensors_count (st); i++)
    {
      const ScStEntry *e = sc_safetensors_get (st, i);
      if (strcmp (e->name, "model.diffusion_model.input_blocks.0.0.weight") != 0)
        {
          sc_safetensors_writer_add (w, e->name, e->dtype, e->ndim, e->shape, e->data, NULL);
          continue;
        }
      int64_t C = e->shape[0];
      g_assert_cmpint (e->shape[1], ==, 4);
      g_assert_cmpint (extra_n, ==, C * 5 * 9);
      g_autofree float *old = g_new (float, e->numel);
      g_assert_true (sc_st_entry_to_f32 (e, old, &error));
      g_autofree float *wide = g_new (float, C * 9 * 9);
      for (int64_t o = 0; o < C; o++)
        {
          memcpy (wide + o * 81, old + o * 36, 36 * sizeof (float));
          memcpy (wide + o * 81 + 36, extra + o * 45, 45 * sizeof (float));
        }
      int64_t shape[4] = { C, 9, 3, 3 };
      sc_safetensors_writer_add_f32 (w, e->name, SC_DTYPE_F32, 4, shape, wide);
    }
  g_assert_true (sc_safetensors_writer_save (w, path, &error));
  g_assert_no_error (error);
  sc_safetensors_writer_free (w);
  sc_safetensors_close (st);
  ScModel *m = sc_test_load_model (path);
  g_assert_cmpint (m->arch.unet.in_channels, ==, 9);
  return m;
}

static gboolean
need_shared (void)
{
  if (g_getenv ("SC_SHARED_DIR"))
    return TRUE;
  g_test_skip ("SC_SHARED_DIR (the CLIP vocabulary) not set");
  return FALSE;
}

/* A smooth test picture of any size. */
static ScImage *
make_image (int w, int h, int channels)
{
  ScImage *img = sc_image_new (w, h, channels, 8, NULL);
  guint8 *d = img->data;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int k = 0; k < channels; k++)
        d[((size_t) y * w + x) * channels + k] = (guint8) ((x * 3 + y * 5 + k * 70) % 256);
  return img;
}

/* A grey mask with a white rectangle [x0, x1) × [y0, y1). */
static ScImage *
make_mask (int w, int h, int x0, int y0, int x1, int y1)
{
  ScImage *m = sc_image_new (w, h, 1, 8, NULL);
  guint8 *d = m->data;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      d[(size_t) y * w + x] = (x >= x0 && x < x1 && y >= y0 && y < y1) ? 255 : 0;
  return m;
}

static void
small_params (ScGenerateParams *p)
{
  sc_generate_params_init (p);
  p->prompt = "a photo of a cat";
  p->steps = 3;
  p->sampler = SC_SAMPLER_DDIM;
  p->strength = 1.0;
}

/* ---- against diffusers ------------------------------------------------------------------------------------ */

static void
test_against_diffusers (gconstpointer data)
{
  const char *fixture = data;
  if (!need_shared ())
    return;
  GError *error = NULL;
  g_autofree char *path = g_build_filename (g_getenv ("SC_FIXTURES_DIR"), fixture, NULL);
  ScSafetensors *st = sc_safetensors_open (path, &error);
  g_assert_no_error (error);
#define META(k) sc_safetensors_metadata (st, k)
  g_autoptr (ScModel) m = NULL;
  uint64_t wseed = g_ascii_strtoull (META ("weight_seed"), NULL, 10);
  if (atoi (META ("unet_in_channels")) == 9)
    {
      const ScStEntry *ex = sc_safetensors_find (st, "conv_in_extra");
      g_assert_nonnull (ex);
      g_autofree float *extra = g_new (float, ex->numel);
      g_assert_true (sc_st_entry_to_f32 (ex, extra, &error));
      m = load_tiny9 (META ("arch"), wseed, extra, ex->numel);
    }
  else
    m = load_tiny (META ("arch"), wseed);
  ScGenerateParams p;
  sc_generate_params_init (&p);
  p.prompt = META ("prompt");
  p.negative_prompt = META ("negative_prompt");
  p.seed = g_ascii_strtoull (META ("seed"), NULL, 10);
  p.steps = atoi (META ("steps"));
  p.cfg_scale = (float) g_ascii_strtod (META ("cfg"), NULL);
  p.strength = g_ascii_strtod (META ("strength"), NULL);
  int W = atoi (META ("width")), H = atoi (META ("height"));
  g_assert_true (sc_sampler_kind_from_name (META ("sampler"), &p.sampler, &error));
#undef META
  const ScStEntry *ei = sc_safetensors_find (st, "init_image"), *em = sc_safetensors_find (st, "mask");
  g_assert_cmpint (ei->numel, ==, (int64_t) W * H * 3);
  g_assert_cmpint (em->numel, ==, (int64_t) W * H);
  g_autoptr (ScImage) init = sc_image_new (W, H, 3, 8, &error);
  g_autoptr (ScImage) mask = sc_image_new (W, H, 1, 8, &error);
  memcpy (init->data, ei->data, (size_t) ei->numel);
  memcpy (mask->data, em->data, (size_t) em->numel);
  p.init_image = init;
  p.mask = mask;
  /* diffusers' conventions: no grow, the latent mask from the nearest pixel */
  p.mask_grow = 0;
  p.mask_nearest = TRUE;

  float *rgb = NULL, *latent = NULL;
  g_autoptr (ScInpaintCanvas) canvas = NULL;
  g_assert_true (sc_inpaint_float (m, sc_backend_cpu (), &p, NULL, NULL, &canvas, &rgb, &latent, &error));
  g_assert_no_error (error);
  g_assert_cmpint (canvas->width, ==, W);
  g_assert_cmpint (canvas->height, ==, H);

  const ScStEntry *el = sc_safetensors_find (st, "latent"), *eimg = sc_safetensors_find (st, "image");
  int64_t h = H / 8, w = W / 8;
  g_assert_cmpint (el->numel, ==, 4 * h * w);
  g_autofree float *ref_nchw = g_new (float, el->numel), *ref_latent = g_new (float, el->numel);
  g_autofree float *ref_image = g_new (float, eimg->numel);
  g_assert_true (sc_st_entry_to_f32 (el, ref_nchw, &error));
  g_assert_true (sc_st_entry_to_f32 (eimg, ref_image, &error));
  sc_nchw_to_nhwc (ref_nchw, ref_latent, 1, 4, h, w);
  double e_lat = sc_test_max_rel_error (latent, ref_latent, (size_t) el->numel);
  double e_img = sc_test_max_rel_error (rgb, ref_image, (size_t) eimg->numel);
  g_test_message ("%s: max relative error latent %.3g, image %.3g (tolerance 1e-3)", fixture, e_lat, e_img);
  g_assert_cmpfloat (e_lat, <=, 1e-3);
  g_assert_cmpfloat (e_img, <=, 1e-3);
  sc_free_floats (rgb);
  sc_free_floats (latent);
  sc_safetensors_close (st);
}

/* ---- canvas geometry ---------------------------------------------------------------------------------- */

static void
test_canvas_geometry (void)
{
  GError *error = NULL;
  int w, h;
  int margins[4] = { 10, 0, 5, 7 };
  sc_inpaint_canvas_size (36, 28, margins, &w, &h);
  g_assert_cmpint (w, ==, 56); /* 36 + 10 + 5 = 51 → 56, the 5 extra on the right */
  g_assert_cmpint (h, ==, 40); /* 28 + 7 = 35 → 40, the 5 extra at the bottom */
  sc_inpaint_canvas_size (36, 28, NULL, &w, &h);
  g_assert_cmpint (w, ==, 36);
  g_assert_cmpint (h, ==, 28);

  g_autoptr (ScImage) init = make_image (36, 28, 3);
  ScGenerateParams p;
  small_params (&p);
  p.init_image = init;
  memcpy (p.outpaint, margins, sizeof margins);
  p.mask_grow = 3;
  p.mask_feather = 4;
  g_autoptr (ScInpaintCanvas) c = sc_inpaint_canvas_new (&p, &error);
  g_assert_no_error (error);
  g_assert_cmpint (c->width, ==, 56);
  g_assert_cmpint (c->height, ==, 40);
  g_assert_cmpint (c->init_x, ==, 10);
  g_assert_cmpint (c->init_y, ==, 0);
  g_assert_cmpint (c->out_w, ==, 56);
  g_assert_cmpint (c->out_h, ==, 40);
  /* margins repainted, the overlap grows 3 px into the old image, feathered over 4 more */
  g_assert_cmpint (c->repaint[5 * 56 + 3], ==, 1);
  g_assert_cmpint (c->repaint[5 * 56 + 12], ==, 1);   /* 2 px into the old image */
  g_assert_cmpint (c->repaint[5 * 56 + 14], ==, 0);   /* 4 px in: outside the grow */
  g_assert_cmpfloat (c->alpha[5 * 56 + 14], >, 0.0f); /* …but inside the feather band */
  g_assert_cmpfloat (c->alpha[5 * 56 + 14], <, 1.0f);
  g_assert_cmpfloat (c->alpha[5 * 56 + 20], ==, 0.0f);
  /* the original's pixels sit in the canvas unchanged */
  const guint8 *src = init->data;
  for (int y = 0; y < 28; y++)
    g_assert_cmpmem (c->rgb8 + ((size_t) y * 56 + 10) * 3, 36 * 3, src + (size_t) y * 36 * 3, 36 * 3);
  /* the pre-fill continues the edge: the margin pixel next to the left edge is close to it */
  g_assert_cmpint (abs ((int) c->rgb8[(5 * 56 + 9) * 3] - (int) src[5 * 36 * 3]), <, 40);
  /* latent mask: every block the composite touches */
  g_autofree float *lm = sc_inpaint_latent_mask (c, FALSE);
  g_assert_cmpfloat (lm[0], ==, 1.0f);             /* block (0, 0): margin */
  g_assert_cmpfloat (lm[1], ==, 1.0f);             /* block (1, 0): x 8..15, the overlap */
  g_assert_cmpfloat (lm[3], ==, 0.0f);             /* block (3, 0): x 24..31, untouched */
  g_assert_cmpfloat (lm[6], ==, 1.0f);             /* block (6, 0): x 48..55, right margin */
  g_assert_cmpfloat (lm[4 * 7 + 3], ==, 1.0f);     /* row 4 (y 32..39): bottom margin */

  /* plain inpainting of an odd-sized image: a hidden pad, output = init size */
  g_autoptr (ScImage) mask = make_mask (36, 28, 10, 10, 20, 20);
  small_params (&p);
  p.init_image = init;
  p.mask = mask;
  g_autoptr (ScInpaintCanvas) c2 = sc_inpaint_canvas_new (&p, &error);
  g_assert_no_error (error);
  g_assert_cmpint (c2->width, ==, 40);
  g_assert_cmpint (c2->height, ==, 32);
  g_assert_cmpint (c2->out_w, ==, 36);
  g_assert_cmpint (c2->out_h, ==, 28);
  g_assert_cmpint (c2->repaint[31 * 40 + 39], ==, 0); /* the pad is not repainted */
  g_assert_cmpint (c2->repaint[15 * 40 + 15], ==, 1);
}

/* ---- composite: exact outside the band, softer seams with feathering ---------------------------------------- */

/* Mean squared step between horizontal neighbours that straddle a column band [x0, x1) of rows [y0, y1). */
static double
seam_energy (const ScImage *img, int x0, int x1, int y0, int y1)
{
  const guint8 *d = img->data;
  double e = 0;
  int n = 0;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      for (int k = 0; k < 3; k++)
        {
          double a = d[((size_t) y * img->width + x) * 3 + k], b = d[((size_t) y * img->width + x + 1) * 3 + k];
          e += (a - b) * (a - b);
          n++;
        }
  return e / n;
}

static void
test_composite_and_seam (void)
{
  GError *error = NULL;
  g_autoptr (ScImage) init = make_image (64, 64, 3);
  g_autoptr (ScImage) mask = make_mask (64, 64, 0, 0, 32, 64); /* left half */
  ScGenerateParams p;
  small_params (&p);
  p.init_image = init;
  p.mask = mask;
  p.mask_grow = 2;
  /* a "generated" image far from the original */
  g_autofree float *gen = g_new (float, 64 * 64 * 3);
  for (int i = 0; i < 64 * 64 * 3; i++)
    gen[i] = (i % 3) == 0 ? 0.9f : 0.1f;

  double energy[2];
  for (int f = 0; f < 2; f++)
    {
      p.mask_feather = f ? 10 : 0;
      g_autoptr (ScInpaintCanvas) c = sc_inpaint_canvas_new (&p, &error);
      g_assert_no_error (error);
      g_autoptr (ScImage) out = sc_inpaint_composite (c, gen, &error);
      g_assert_no_error (error);
      const guint8 *o = out->data, *src = init->data;
      int changed = 0;
      for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++)
          {
            size_t i = (size_t) y * 64 + x;
            if (x >= 32 + 2 + p.mask_feather) /* farther than grow + feather: bit for bit */
              g_assert_cmpmem (o + i * 3, 3, src + i * 3, 3);
            if (x < 32 + 2) /* repainted: the generated image */
              g_assert_cmpint (o[i * 3], ==, 230);
            changed += memcmp (o + i * 3, src + i * 3, 3) != 0;
          }
      g_assert_cmpint (changed, >=, 34 * 64);
      energy[f] = seam_energy (out, 28, 48, 0, 64);
    }
  g_test_message ("seam energy: hard %.1f, feathered %.1f", energy[0], energy[1]);
  g_assert_cmpfloat (energy[1], <, 0.5 * energy[0]);
}

static void
test_color_match (void)
{
  GError *error = NULL;
  g_autoptr (ScImage) init = sc_image_new (64, 64, 3, 8, NULL);
  memset (init->data, 100, 64 * 64 * 3);
  g_autoptr (ScImage) mask = make_mask (64, 64, 16, 16, 48, 48);
  ScGenerateParams p;
  small_params (&p);
  p.init_image = init;
  p.mask = mask;
  g_autoptr (ScInpaintCanvas) c = sc_inpaint_canvas_new (&p, &error);
  g_assert_no_error (error);
  g_autofree float *gen = g_new (float, 64 * 64 * 3);
  for (int i = 0; i < 64 * 64 * 3; i++)
    gen[i] = 0.8f + 0.05f * (float) ((i / 3) % 2); /* too bright, a little texture */
  sc_inpaint_color_match (c, gen);
  /* the repainted centre now has the surroundings' mean (100/255) */
  double mean = 0;
  for (int y = 24; y < 40; y++)
    for (int x = 24; x < 40; x++)
      mean += gen[((size_t) y * 64 + x) * 3];
  mean /= 256;
  g_assert_cmpfloat (fabs (mean - 100.0 / 255.0), <, 0.03);
}

/* ---- whole runs ----------------------------------------------------------------------------------------- */

static void
test_inpaint_keeps_unmasked (void)
{
  if (!need_shared ())
    return;
  GError *error = NULL;
  g_autoptr (ScModel) m = load_tiny ("tiny-sd1", 5);
  g_autoptr (ScImage) init = make_image (60, 44, 3); /* not multiples of 8 */
  g_autoptr (ScImage) mask = make_mask (30, 22, 5, 5, 14, 12); /* half size: resized to the image */
  ScGenerateParams p;
  small_params (&p);
  p.init_image = init;
  p.mask = mask;
  p.mask_grow = 2;
  p.mask_feather = 5;
  p.color_match = TRUE;
  g_autoptr (ScImage) out = sc_generate (m, sc_backend_cpu (), &p, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (out->width, ==, 60);
  g_assert_cmpint (out->height, ==, 44);
  g_autoptr (ScInpaintCanvas) c = sc_inpaint_canvas_new (&p, &error);
  const guint8 *o = out->data, *src = init->data;
  int kept = 0, repainted_changed = 0, repainted = 0;
  for (int y = 0; y < 44; y++)
    for (int x = 0; x < 60; x++)
      {
        size_t i = (size_t) y * 60 + x, ci = (size_t) y * c->width + x;
        if (c->dist[ci] >= p.mask_grow + p.mask_feather)
          {
            g_assert_cmpmem (o + i * 3, 3, src + i * 3, 3);
            kept++;
          }
        if (c->repaint[ci])
          {
            repainted++;
            repainted_changed += memcmp (o + i * 3, src + i * 3, 3) != 0;
          }
      }
  g_assert_cmpint (kept, >, 60 * 44 / 2);
  g_assert_cmpint (repainted, >, 10 * 14);
  g_assert_cmpint (repainted_changed, >, repainted * 3 / 4);
}

static void
test_outpaint_run (void)
{
  if (!need_shared ())
    return;
  GError *error = NULL;
  g_autoptr (ScModel) m = load_tiny ("tiny-sd2", 5);
  g_autoptr (ScImage) init = make_image (40, 32, 3);
  ScGenerateParams p;
  small_params (&p);
  p.sampler = SC_SAMPLER_EULER_A;
  p.init_image = init;
  p.outpaint[0] = 8;
  p.outpaint[1] = 3;  /* 32 + 3 = 35 → 40: the extra 5 rows go on top */
  p.outpaint[2] = 12; /* 40 + 8 + 12 = 60 → 64: 4 more columns on the right */
  p.mask_grow = 4;
  p.mask_feather = 4;
  g_autoptr (ScImage) out = sc_generate (m, sc_backend_cpu (), &p, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (out->width, ==, 64);
  g_assert_cmpint (out->height, ==, 40);
  /* the original sits at (8, 8); everything farther than 8 px from its border survives exactly */
  const guint8 *o = out->data, *src = init->data;
  for (int y = 8; y < 32 - 8; y++)
    for (int x = 8; x < 40 - 8; x++)
      g_assert_cmpmem (o + ((size_t) (y + 8) * 64 + x + 8) * 3, 3, src + ((size_t) y * 40 + x) * 3, 3);
  /* the same seed gives the same picture */
  g_autoptr (ScImage) again = sc_generate (m, sc_backend_cpu (), &p, NULL, NULL, &error);
  g_assert_cmpmem (out->data, 64 * 40 * 3, again->data, 64 * 40 * 3);
}

static void
test_unet9_run (void)
{
  if (!need_shared ())
    return;
  GError *error = NULL;
  g_autofree float *extra = g_new (float, 32 * 45);
  for (int i = 0; i < 32 * 45; i++)
    extra[i] = 0.05f * sinf ((float) i);
  g_autoptr (ScModel) m = load_tiny9 ("tiny-sd1", 5, extra, 32 * 45);
  g_autoptr (ScImage) init = make_image (64, 48, 3);
  g_autoptr (ScImage) mask = make_mask (64, 48, 20, 8, 44, 30);
  ScGenerateParams p;
  small_params (&p);
  p.sampler = SC_SAMPLER_DPMPP_2M;
  /* text-to-image refuses an inpainting U-Net with a clear message */
  g_assert_null (sc_generate (m, sc_backend_cpu (), &p, NULL, NULL, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  p.init_image = init;
  p.mask = mask;
  p.strength = 0.8; /* also starts from the encoded image */
  g_autoptr (ScImage) out = sc_generate (m, sc_backend_cpu (), &p, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (out->width, ==, 64);
  const guint8 *o = out->data, *src = init->data;
  for (int y = 0; y < 48; y++)
    for (int x = 0; x < 64; x++)
      if (x < 20 - 12 || x >= 44 + 12 || y >= 30 + 12)
        g_assert_cmpmem (o + ((size_t) y * 64 + x) * 3, 3, src + ((size_t) y * 64 + x) * 3, 3);
}

static void
test_bad_inputs (void)
{
  GError *error = NULL;
  g_autoptr (ScImage) init = make_image (32, 32, 3);
  g_autoptr (ScImage) black = make_mask (32, 32, 0, 0, 0, 0);
  g_autoptr (ScImage) white = make_mask (7, 5, 0, 0, 7, 5); /* other size, all white */
  ScGenerateParams p;
  small_params (&p);
  p.mask = white;
  g_assert_null (sc_inpaint_canvas_new (&p, &error)); /* no init image */
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  p.init_image = init;
  p.mask = black;
  g_assert_null (sc_inpaint_canvas_new (&p, &error)); /* nothing to repaint */
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  p.outpaint[3] = 8; /* …unless there is a margin */
  g_autoptr (ScInpaintCanvas) c0 = sc_inpaint_canvas_new (&p, &error);
  g_assert_no_error (error);
  p.outpaint[3] = -1;
  g_assert_null (sc_inpaint_canvas_new (&p, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  p.outpaint[3] = 0;
  p.outpaint[0] = 5000;
  g_assert_null (sc_inpaint_canvas_new (&p, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  p.outpaint[0] = 0;
  p.mask = white;
  p.mask_feather = -2;
  g_assert_null (sc_inpaint_canvas_new (&p, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  p.mask_feather = 3;
  g_autoptr (ScInpaintCanvas) c = sc_inpaint_canvas_new (&p, &error); /* all white, resized: fine */
  g_assert_no_error (error);
  for (int i = 0; i < 32 * 32; i++)
    g_assert_cmpint (c->repaint[i], ==, 1);
  /* a broken mask image */
  ScImage broken = { .width = 4, .height = 4, .channels = 2, .bit_depth = 8, .data = init->data };
  p.mask = &broken;
  g_assert_null (sc_inpaint_canvas_new (&p, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* a file that is not an image never reaches here: sc_image_load fails */
  g_autofree char *junk = g_build_filename (tmpdir, "junk.png", NULL);
  g_assert_true (g_file_set_contents (junk, "\x89PNG\r\n\x1a\nnope", 12, NULL));
  g_assert_null (sc_image_load (junk, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_FORMAT);
  g_clear_error (&error);

  if (!need_shared ())
    return;
  g_autoptr (ScModel) m = load_tiny ("tiny-sd1", 5);
  p.mask = white;
  p.strength = 0.1; /* int(3 · 0.1) = 0 steps */
  g_assert_null (sc_generate (m, sc_backend_cpu (), &p, NULL, NULL, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  p.strength = 0.0;
  g_assert_null (sc_generate (m, sc_backend_cpu (), &p, NULL, NULL, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
}

static void
test_condition (void)
{
  GError *error = NULL;
  g_autoptr (ScImage) img = make_image (32, 32, 3);
  ScImage *rgba_mask = sc_image_new (16, 16, 4, 8, NULL);
  guint8 *d = rgba_mask->data;
  memset (d, 0, 16 * 16 * 4);
  for (int y = 4; y < 8; y++)
    for (int x = 2; x < 6; x++)
      memset (d + ((size_t) y * 16 + x) * 4, 255, 4); /* opaque white stroke on a transparent layer */
  float *rgb = NULL, *mask = NULL;
  g_assert_true (sc_inpaint_condition (img, rgba_mask, 32, 32, &rgb, &mask, &error));
  g_assert_no_error (error);
  const guint8 *src = img->data;
  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 32; x++)
      {
        size_t i = (size_t) y * 32 + x;
        gboolean in = x >= 4 && x < 12 && y >= 8 && y < 16;
        g_assert_cmpfloat (mask[i], ==, in ? 1.0f : 0.0f);
        g_assert_cmpfloat (fabsf (rgb[i * 3 + 1] - (in ? 0.0f : src[i * 3 + 1] / 255.0f)), <, 1e-6f);
      }
  g_free (rgb);
  g_free (mask);
  g_assert_false (sc_inpaint_condition (img, rgba_mask, 0, 32, &rgb, NULL, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  sc_image_free (rgba_mask);
}

/* ---- CLI ------------------------------------------------------------------------------------------------ */

static int
run_cli (char **out_err, ...)
{
  GPtrArray *args = g_ptr_array_new ();
  g_ptr_array_add (args, (gpointer) g_getenv ("SC_SCEDIT"));
  va_list ap;
  va_start (ap, out_err);
  for (const char *a; (a = va_arg (ap, const char *));)
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  int status = -1;
  GError *error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) args->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, out_err,
                               &status, &error));
  g_assert_no_error (error);
  g_ptr_array_free (args, TRUE);
  return g_spawn_check_wait_status (status, NULL) ? 0 : 1;
}

static void
test_cli (void)
{
  if (!need_shared () || !g_getenv ("SC_SCEDIT"))
    {
      if (!g_test_failed ())
        g_test_skip ("SC_SCEDIT not set");
      return;
    }
  GError *error = NULL;
  g_autofree char *model = sc_test_tiny_model_path (tmpdir, "tiny-sd1", 5);
  g_autofree char *vocab = sc_test_vocab_path ();
  g_autofree char *init = g_build_filename (tmpdir, "cli-init.png", NULL);
  g_autofree char *mask = g_build_filename (tmpdir, "cli-mask.png", NULL);
  g_autofree char *out = g_build_filename (tmpdir, "cli-out.png", NULL);
  g_autoptr (ScImage) img = make_image (44, 40, 3);
  g_autoptr (ScImage) mimg = make_mask (22, 20, 4, 4, 12, 12); /* half size: resized with a note */
  g_assert_true (sc_image_save_png (img, init, NULL, NULL, 0, &error));
  g_assert_true (sc_image_save_png (mimg, mask, NULL, NULL, 0, &error));
  char *err = NULL;
  int rc = run_cli (&err, "generate", "-m", model, "--vocab", vocab, "-p", "a cat", "--steps", "2", "--init", init,
                    "--mask", mask, "--mask-grow", "2", "--mask-feather", "3", "--color-match", "-o", out, NULL);
  g_assert_cmpint (rc, ==, 0);
  g_assert_nonnull (strstr (err, "resized"));
  g_clear_pointer (&err, g_free);
  g_autoptr (ScImage) res = sc_image_load (out, &error);
  g_assert_no_error (error);
  g_assert_cmpint (res->width, ==, 44);
  g_assert_cmpint (res->height, ==, 40);
  g_autoptr (GHashTable) text = sc_png_read_text (out, &error);
  g_assert_nonnull (strstr (g_hash_table_lookup (text, "scedit"), "\"mask_feather\":3"));
  /* bottom-right corner: far from the mask, exact */
  const guint8 *o = res->data, *src = img->data;
  g_assert_cmpmem (o + (39 * 44 + 43) * 3, 3, src + (39 * 44 + 43) * 3, 3);

  rc = run_cli (&err, "generate", "-m", model, "--vocab", vocab, "-p", "a cat", "--steps", "2", "--init", init,
                "--outpaint", "8,0,0,4", "-o", out, NULL);
  g_assert_cmpint (rc, ==, 0);
  g_clear_pointer (&err, g_free);
  g_autoptr (ScImage) res2 = sc_image_load (out, &error);
  g_assert_cmpint (res2->width, ==, 56); /* 44 + 8 = 52 → 56 (the extra 4 on the left) */
  g_assert_cmpint (res2->height, ==, 48); /* 40 + 4 = 44 → 48 */

  rc = run_cli (&err, "generate", "-m", model, "--vocab", vocab, "-p", "a cat", "--mask", mask, "-o", out, NULL);
  g_assert_cmpint (rc, !=, 0);
  g_assert_nonnull (strstr (err, "--init"));
  g_clear_pointer (&err, g_free);
  rc = run_cli (&err, "generate", "-m", model, "--vocab", vocab, "-p", "a cat", "--init", init, "--outpaint", "8,x",
                "-o", out, NULL);
  g_assert_cmpint (rc, !=, 0);
  g_assert_nonnull (strstr (err, "--outpaint"));
  g_clear_pointer (&err, g_free);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("sc-inpaint-XXXXXX", NULL);
  g_test_add_data_func ("/inpaint/diffusers/tiny-sd1-ddim", "inpaint-tiny-sd1-ddim.safetensors",
                        test_against_diffusers);
  g_test_add_data_func ("/inpaint/diffusers/tiny-sd2-euler-a-strength", "inpaint-tiny-sd2-euler-a-strength.safetensors",
                        test_against_diffusers);
  g_test_add_data_func ("/inpaint/diffusers/tiny-sd1-unet9-ddim", "inpaint-tiny-sd1-unet9-ddim.safetensors",
                        test_against_diffusers);
  g_test_add_func ("/inpaint/canvas-geometry", test_canvas_geometry);
  g_test_add_func ("/inpaint/composite-and-seam", test_composite_and_seam);
  g_test_add_func ("/inpaint/color-match", test_color_match);
  g_test_add_func ("/inpaint/keeps-unmasked", test_inpaint_keeps_unmasked);
  g_test_add_func ("/inpaint/outpaint", test_outpaint_run);
  g_test_add_func ("/inpaint/unet9", test_unet9_run);
  g_test_add_func ("/inpaint/bad-inputs", test_bad_inputs);
  g_test_add_func ("/inpaint/condition", test_condition);
  g_test_add_func ("/inpaint/cli", test_cli);
  int rc = g_test_run ();
  g_autoptr (GDir) dir = g_dir_open (tmpdir, 0, NULL);
  for (const char *n; dir && (n = g_dir_read_name (dir));)
    {
      g_autofree char *p = g_build_filename (tmpdir, n, NULL);
      g_unlink (p);
    }
  g_rmdir (tmpdir);
  g_free (tmpdir);
  return rc;
}
