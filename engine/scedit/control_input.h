/* Turning a picture into the hint a CSC-Tuner wants: fit it to the output size (short-side resize +
 * centre-crop, as scepter's ControlInference), run the condition's annotator, and hand back [1, H, W, 3]
 * floats in [0, 1] (scedit.md §3). */
#pragma once
#include "core/tensor.h"
#include "io/image.h"

G_BEGIN_DECLS

typedef enum {
  SC_CONTROL_HINT,    /* the picture already is a condition map: only fitted */
  SC_CONTROL_CANNY,   /* OpenCV Canny 100/200 on the fitted RGB picture */
  SC_CONTROL_COLOR,   /* cubic ÷64, nearest ×64 colour cells */
  SC_CONTROL_DEPTH,   /* a depth picture, min–max normalised */
  SC_CONTROL_SKETCH,  /* a drawing: lines become white on black */
  SC_CONTROL_INPAINT, /* the picture with the mask's pixels set to 0 */
} ScControlKind;

/* "hint", "canny", "color", "depth", "sketch" (also "scribble"), "inpaint". */
gboolean sc_control_kind_from_name (const char *name, ScControlKind *kind, GError **error);
const char *sc_control_kind_name (ScControlKind kind);

/* mask (white = masked; only for SC_CONTROL_INPAINT, else NULL) is fitted like the picture. */
ScTensor *sc_control_hint_from_image (const ScImage *img, ScControlKind kind, const ScImage *mask, int width,
                                      int height, GError **error);

G_END_DECLS
