/* Canny edge detection, bit-for-bit what OpenCV's cv2.Canny does for aperture 3 and the L1 norm:
 * 3×3 Sobel per channel in integers with replicated borders; per pixel the channel whose |dx|+|dy| is
 * largest (the first one on ties); non-maximum suppression in four sectors split at tan 22.5° in
 * 15-bit fixed point, strict against one neighbour and ≥ against the other so that a plateau keeps
 * exactly one pixel; magnitudes outside the image count as 0; hysteresis over 8-neighbours. */
#include "cond/canny.h"

#include "core/error.h"

#include <math.h>
#include <string.h>
#include <stdlib.h>

/* tan(22.5°) in 15-bit fixed point, rounded: the sector boundary OpenCV uses. */
#define CANNY_SHIFT 15
#define TG22 13573

enum { MAP_WEAK = 0, MAP_NONE = 1, MAP_EDGE = 2 };

typedef struct {
  int w, h, stride;      /* stride = w + 2: mag and map carry a one-pixel frame */
  gint16 *dx, *dy;       /* w × h, of the winning channel */
  int *mag;              /* (w + 2) × (h + 2), frame 0 */
  guint8 *map;           /* (w + 2) × (h + 2), frame MAP_NONE */
} Canny;

static void
canny_clear (Canny *c)
{
  g_free (c->dx);
  g_free (c->dy);
  g_free (c->mag);
  g_free (c->map);
}

static void
gradients (Canny *c, const guint8 *px)
{
  const int w = c->w, h = c->h;
  for (int y = 0; y < h; y++)
    {
      const guint8 *r0 = px + (size_t) MAX (y - 1, 0) * w * 3;
      const guint8 *r1 = px + (size_t) y * w * 3;
      const guint8 *r2 = px + (size_t) MIN (y + 1, h - 1) * w * 3;
      for (int x = 0; x < w; x++)
        {
          const int xm = MAX (x - 1, 0) * 3, x0 = x * 3, xp = MIN (x + 1, w - 1) * 3;
          int best_m = -1, best_dx = 0, best_dy = 0;
          for (int k = 0; k < 3; k++)
            {
              int gx = (r0[xp + k] - r0[xm + k]) + 2 * (r1[xp + k] - r1[xm + k]) + (r2[xp + k] - r2[xm + k]);
              int gy = (r2[xm + k] + 2 * r2[x0 + k] + r2[xp + k]) - (r0[xm + k] + 2 * r0[x0 + k] + r0[xp + k]);
              int m = abs (gx) + abs (gy);
              if (m > best_m)
                best_m = m, best_dx = gx, best_dy = gy;
            }
          size_t i = (size_t) y * w + x;
          c->dx[i] = (gint16) best_dx;
          c->dy[i] = (gint16) best_dy;
          c->mag[(size_t) (y + 1) * c->stride + x + 1] = best_m;
        }
    }
}

/* Marks local maxima above LOW: MAP_EDGE when also above HIGH, MAP_WEAK otherwise. */
static void
suppress (Canny *c, int low, int high)
{
  const int w = c->w, h = c->h, st = c->stride;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        size_t j = (size_t) (y + 1) * st + x + 1;
        int m = c->mag[j];
        if (m <= low)
          continue;
        int xs = c->dx[(size_t) y * w + x], ys = c->dy[(size_t) y * w + x];
        int ax = abs (xs), ay = abs (ys) << CANNY_SHIFT;
        int tg22x = ax * TG22;
        gboolean peak;
        if (ay < tg22x) /* mostly horizontal gradient: compare left and right */
          peak = m > c->mag[j - 1] && m >= c->mag[j + 1];
        else if (ay > tg22x + (ax << (CANNY_SHIFT + 1))) /* mostly vertical: above and below */
          peak = m > c->mag[j - st] && m >= c->mag[j + st];
        else /* diagonal: the two neighbours along the gradient's sign */
          {
            int s = (xs ^ ys) < 0 ? -1 : 1;
            peak = m > c->mag[j - st - s] && m > c->mag[j + st + s];
          }
        if (peak)
          c->map[j] = m > high ? MAP_EDGE : MAP_WEAK;
      }
}

static gboolean
hysteresis (Canny *c, GError **error)
{
  const int st = c->stride;
  const size_t n = (size_t) st * (c->h + 2);
  const ptrdiff_t nb[8] = { -st - 1, -st, -st + 1, -1, 1, st - 1, st, st + 1 };
  size_t cap = 1024, top = 0;
  size_t *stack = g_try_new (size_t, cap);
  if (!stack)
    goto oom;
  for (size_t j = 0; j < n; j++)
    {
      if (c->map[j] != MAP_EDGE)
        continue;
      stack[top++] = j;
      while (top > 0)
        {
          size_t p = stack[--top];
          for (int k = 0; k < 8; k++)
            {
              size_t q = (size_t) ((ptrdiff_t) p + nb[k]);
              if (c->map[q] != MAP_WEAK)
                continue;
              c->map[q] = MAP_EDGE;
              if (top == cap)
                {
                  size_t *bigger = g_try_renew (size_t, stack, cap * 2);
                  if (!bigger)
                    goto oom;
                  stack = bigger;
                  cap *= 2;
                }
              stack[top++] = q;
            }
        }
    }
  g_free (stack);
  return TRUE;
oom:
  g_free (stack);
  g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "canny: out of memory");
  return FALSE;
}

ScImage *
sc_cond_canny (const ScImage *img, double low, double high, GError **error)
{
  g_return_val_if_fail (img != NULL, NULL);
  if (!isfinite (low) || !isfinite (high) || low < 0 || high < 0 || low > 1e6 || high > 1e6)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "canny: thresholds %g and %g (want numbers from 0 to 1000000)", low, high);
      return NULL;
    }
  if (low > high)
    {
      double t = low;
      low = high;
      high = t;
    }
  g_autoptr (ScImage) rgb = sc_image_to_rgb8 (img, error);
  if (!rgb)
    return NULL;
  const int w = rgb->width, h = rgb->height;
  Canny c = { w, h, w + 2, NULL, NULL, NULL, NULL };
  size_t framed = (size_t) (w + 2) * (h + 2);
  c.dx = g_try_new (gint16, (size_t) w * h);
  c.dy = g_try_new (gint16, (size_t) w * h);
  c.mag = g_try_new0 (int, framed);
  c.map = g_try_malloc (framed);
  ScImage *out = NULL;
  if (!c.dx || !c.dy || !c.mag || !c.map)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "canny: out of memory for %d×%d pixels", w, h);
      goto done;
    }
  memset (c.map, MAP_NONE, framed);
  gradients (&c, rgb->data);
  suppress (&c, (int) floor (low), (int) floor (high));
  if (!hysteresis (&c, error))
    goto done;
  out = sc_image_new (w, h, 3, 8, error);
  if (!out)
    goto done;
  guint8 *o = out->data;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        guint8 v = c.map[(size_t) (y + 1) * c.stride + x + 1] == MAP_EDGE ? 255 : 0;
        o[0] = o[1] = o[2] = v;
        o += 3;
      }
done:
  canny_clear (&c);
  return out;
}
