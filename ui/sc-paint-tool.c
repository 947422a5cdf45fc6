#define G_LOG_DOMAIN "scedit-paint"

#include "sc-paint-tool.h"

#include <math.h>
#include <string.h>

double
sc_paint_coverage (double distance, double radius, double hardness)
{
  if (radius <= 0 || distance >= radius)
    return 0;
  double inner = radius * CLAMP (hardness, 0, 1);
  if (distance <= inner)
    return 1;
  return (radius - distance) / (radius - inner);
}

static double
distance_to_segment (double px, double py, double ax, double ay, double bx, double by)
{
  double dx = bx - ax, dy = by - ay;
  double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? CLAMP (((px - ax) * dx + (py - ay) * dy) / len2, 0, 1) : 0;
  return hypot (px - (ax + t * dx), py - (ay + t * dy));
}

static ScPaintRect
rect_union (ScPaintRect a, ScPaintRect b)
{
  if (a.width == 0)
    return b;
  if (b.width == 0)
    return a;
  int x0 = MIN (a.x, b.x), y0 = MIN (a.y, b.y);
  int x1 = MAX (a.x + a.width, b.x + b.width), y1 = MAX (a.y + a.height, b.y + b.height);
  return (ScPaintRect) { x0, y0, x1 - x0, y1 - y0 };
}

/* Coverage of the polyline, as the largest over its segments (so overlapping dabs do not build up). */
static ScPaintRect
stroke (ScPaintBuffer *b, const guint8 *color, double radius, double hardness, const double *pts, guint n)
{
  g_autofree float *cover = g_new0 (float, (gsize) b->width * b->height);
  ScPaintRect dirty = { 0 };
  for (guint s = 0; s < n; s++)
    {
      guint e = s + 1 < n ? s + 1 : s; /* a single point is a dab */
      double ax = pts[2 * s], ay = pts[2 * s + 1], bx = pts[2 * e], by = pts[2 * e + 1];
      int x0 = MAX (0, (int) floor (MIN (ax, bx) - radius)), y0 = MAX (0, (int) floor (MIN (ay, by) - radius));
      int x1 = MIN (b->width, (int) ceil (MAX (ax, bx) + radius));
      int y1 = MIN (b->height, (int) ceil (MAX (ay, by) + radius));
      for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
          {
            double c = sc_paint_coverage (distance_to_segment (x + 0.5, y + 0.5, ax, ay, bx, by), radius, hardness);
            float *slot = &cover[(gsize) y * b->width + x];
            if (c <= *slot)
              continue;
            *slot = (float) c;
            dirty = rect_union (dirty, (ScPaintRect) { x, y, 1, 1 });
          }
      if (e == s)
        break;
    }
  for (int y = dirty.y; y < dirty.y + dirty.height; y++)
    for (int x = dirty.x; x < dirty.x + dirty.width; x++)
      {
        float c = cover[(gsize) y * b->width + x];
        guint8 *p = b->data + ((gsize) y * b->width + x) * b->channels;
        for (int k = 0; k < b->channels; k++)
          p[k] = (guint8) lround (p[k] + (color[k] - p[k]) * (double) c);
      }
  return dirty;
}

static ScPaintRect
fill (ScPaintBuffer *b, const guint8 *color, double fx, double fy)
{
  int x = (int) floor (fx), y = (int) floor (fy), ch = b->channels;
  if (x < 0 || y < 0 || x >= b->width || y >= b->height)
    return (ScPaintRect) { 0 };
  guint8 seed[4];
  memcpy (seed, b->data + ((gsize) y * b->width + x) * ch, ch);
  if (memcmp (seed, color, ch) == 0)
    return (ScPaintRect) { 0 };
  /* scanline fill with an explicit stack: no recursion depth to worry about */
  ScPaintRect dirty = { 0 };
  g_autoptr (GArray) stack = g_array_new (FALSE, FALSE, sizeof (int) * 2);
  int start[2] = { x, y };
  g_array_append_val (stack, start);
#define SAME(xx, yy) (memcmp (b->data + ((gsize) (yy) * b->width + (xx)) * ch, seed, ch) == 0)
  while (stack->len)
    {
      int *top = &g_array_index (stack, int, 2 * (stack->len - 1));
      int sx = top[0], sy = top[1];
      g_array_set_size (stack, stack->len - 1);
      if (!SAME (sx, sy))
        continue;
      int l = sx, r = sx;
      while (l > 0 && SAME (l - 1, sy))
        l--;
      while (r + 1 < b->width && SAME (r + 1, sy))
        r++;
      for (int i = l; i <= r; i++)
        memcpy (b->data + ((gsize) sy * b->width + i) * ch, color, ch);
      dirty = rect_union (dirty, (ScPaintRect) { l, sy, r - l + 1, 1 });
      for (int dy = -1; dy <= 1; dy += 2)
        {
          int ny = sy + dy;
          if (ny < 0 || ny >= b->height)
            continue;
          for (int i = l; i <= r; i++)
            if (SAME (i, ny) && (i == l || !SAME (i - 1, ny)))
              {
                int p[2] = { i, ny };
                g_array_append_val (stack, p);
              }
        }
    }
#undef SAME
  return dirty;
}

ScPaintRect
sc_paint_apply (ScPaintBuffer *buffer, const ScPaintTool *tool, const double *points, guint n_points)
{
  g_return_val_if_fail (buffer && buffer->data && tool, (ScPaintRect) { 0 });
  g_return_val_if_fail (buffer->channels == 1 || buffer->channels == 3 || buffer->channels == 4, (ScPaintRect) { 0 });
  if (n_points == 0 || !points)
    return (ScPaintRect) { 0 };
  double radius = MAX (tool->size, 0) / 2;
  switch (tool->kind)
    {
    case SC_PAINT_BRUSH:
      return stroke (buffer, tool->color, radius, tool->hardness, points, n_points);
    case SC_PAINT_ERASER:
      return stroke (buffer, tool->background, radius, tool->hardness, points, n_points);
    case SC_PAINT_LINE:
      {
        double ends[4] = { points[0], points[1], points[2 * (n_points - 1)], points[2 * (n_points - 1) + 1] };
        return stroke (buffer, tool->color, radius, tool->hardness, ends, 2);
      }
    case SC_PAINT_FILL:
      return fill (buffer, tool->color, points[0], points[1]);
    default:
      g_return_val_if_reached ((ScPaintRect) { 0 });
    }
}

GBytes *
sc_paint_buffer_copy_rect (const ScPaintBuffer *buffer, ScPaintRect rect)
{
  gsize row = (gsize) rect.width * buffer->channels;
  guint8 *out = g_malloc (row * rect.height + 1);
  for (int y = 0; y < rect.height; y++)
    memcpy (out + y * row, buffer->data + ((gsize) (rect.y + y) * buffer->width + rect.x) * buffer->channels, row);
  return g_bytes_new_take (out, row * rect.height);
}

void
sc_paint_buffer_put_rect (ScPaintBuffer *buffer, ScPaintRect rect, GBytes *pixels)
{
  gsize row = (gsize) rect.width * buffer->channels;
  g_return_if_fail (rect.x >= 0 && rect.y >= 0 && rect.x + rect.width <= buffer->width
                    && rect.y + rect.height <= buffer->height && g_bytes_get_size (pixels) == row * rect.height);
  const guint8 *in = g_bytes_get_data (pixels, NULL);
  for (int y = 0; y < rect.height; y++)
    memcpy (buffer->data + ((gsize) (rect.y + y) * buffer->width + rect.x) * buffer->channels, in + y * row, row);
}
