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
