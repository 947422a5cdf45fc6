/* Colour map: cubic down to one pixel per cell, nearest back up, as cv2.resize does both. */
#include "cond/color_map.h"

#include "cond/resize.h"
#include "core/error.h"

ScImage *
sc_cond_color_map (const ScImage *img, int cell, GError **error)
{
  g_return_val_if_fail (img != NULL, NULL);
  if (cell < 1)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "colour map: cell size %d (want 1 or more)", cell);
      return NULL;
    }
  g_autoptr (ScImage) rgb = sc_image_to_rgb8 (img, error);
  if (!rgb)
    return NULL;
  /* The annotator would ask cv2 for a 0-pixel side below one cell and fail; one cell is the
   * natural limit. */
  int cw = MAX (1, rgb->width / cell), ch = MAX (1, rgb->height / cell);
  g_autoptr (ScImage) small = sc_resize (rgb, cw, ch, SC_RESIZE_CV_CUBIC, error);
  if (!small)
    return NULL;
  return sc_resize (small, rgb->width, rgb->height, SC_RESIZE_CV_NEAREST, error);
}
