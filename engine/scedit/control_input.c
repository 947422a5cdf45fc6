#include "scedit/control_input.h"
#include "cond/canny.h"
#include "cond/color_map.h"
#include "cond/depth.h"
#include "cond/hint.h"
#include "cond/mask.h"
#include "cond/sketch.h"
#include "core/error.h"

static const char *const kind_names[] = { "hint", "canny", "color", "depth", "sketch", "inpaint" };

gboolean
sc_control_kind_from_name (const char *name, ScControlKind *kind, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (kind_names); i++)
    if (g_ascii_strcasecmp (name, kind_names[i]) == 0)
      {
        *kind = (ScControlKind) i;
        return TRUE;
      }
  if (g_ascii_strcasecmp (name, "scribble") == 0)
    {
      *kind = SC_CONTROL_SKETCH;
      return TRUE;
    }
  g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
               "Unknown condition “%s” (use canny, color, depth, sketch, inpaint or hint)", name);
  return FALSE;
}

const char *
sc_control_kind_name (ScControlKind kind)
{
  return (guint) kind < G_N_ELEMENTS (kind_names) ? kind_names[kind] : "?";
}

ScTensor *
sc_control_hint_from_image (const ScImage *img, ScControlKind kind, const ScImage *mask, int width, int height,
                            GError **error)
{
  /* Fit first, then annotate (what scepter's studio does): the annotator sees the pixels it conditions. */
  g_autoptr (ScImage) fitted = sc_cond_fit (img, width, height, error);
  if (!fitted)
    return NULL;
  g_autoptr (ScImage) annotated = NULL;
  switch (kind)
    {
    case SC_CONTROL_HINT:
      return sc_cond_hint (fitted, width, height, error);
    case SC_CONTROL_CANNY:
      annotated = sc_cond_canny (fitted, SC_CANNY_DEFAULT_LOW, SC_CANNY_DEFAULT_HIGH, error);
      break;
    case SC_CONTROL_COLOR:
      annotated = sc_cond_color_map (fitted, 64, error);
      break;
    case SC_CONTROL_DEPTH:
      annotated = sc_cond_depth (fitted, error);
      break;
    case SC_CONTROL_SKETCH:
      annotated = sc_cond_sketch (fitted, error);
      break;
    case SC_CONTROL_INPAINT:
      {
        if (!mask)
          {
            g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "The inpainting condition needs a mask");
            return NULL;
          }
        g_autoptr (ScImage) mask_fitted = sc_cond_fit (mask, width, height, error);
        g_autoptr (ScMask) m = mask_fitted ? sc_mask_from_image (mask_fitted, error) : NULL;
        if (!m)
          return NULL;
        annotated = sc_cond_inpaint (fitted, m, error);
        break;
      }
    }
  return annotated ? sc_cond_hint (annotated, width, height, error) : NULL;
}

ScTensor *
sc_control_hint_place (const ScImage *img, ScControlKind kind, const ScImage *mask, const ScHintPlacement *pl,
                       GError **error)
{
  gboolean whole = pl->x == 0 && pl->y == 0 && pl->init_w == pl->canvas_w && pl->init_h == pl->canvas_h;
  if (whole || img->width != pl->init_w || img->height != pl->init_h)
    return sc_control_hint_from_image (img, kind, mask, pl->canvas_w, pl->canvas_h, error);
  if (pl->x < 0 || pl->y < 0 || pl->x + pl->init_w > pl->canvas_w || pl->y + pl->init_h > pl->canvas_h)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "The condition picture (%d×%d at %d,%d) does not fit on the %d×%d canvas", pl->init_w, pl->init_h,
                   pl->x, pl->y, pl->canvas_w, pl->canvas_h);
      return NULL;
    }
  g_autoptr (ScTensor) inner = sc_control_hint_from_image (img, kind, mask, pl->init_w, pl->init_h, error);
  ScTensor *hint = inner ? sc_tensor_new_4d (1, pl->canvas_h, pl->canvas_w, 3, error) : NULL; /* zeros */
  if (!hint)
    return NULL;
  for (int row = 0; row < pl->init_h; row++)
    memcpy (hint->data + ((size_t) (pl->y + row) * pl->canvas_w + pl->x) * 3, inner->data + (size_t) row * pl->init_w * 3,
            sizeof (float) * 3 * (size_t) pl->init_w);
  return hint;
}
