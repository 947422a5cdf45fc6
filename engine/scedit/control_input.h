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

/* Where a render's conditions go: a canvas of canvas_w × canvas_h (the latent's size × 8) with the init
 * image of inpainting or outpainting, init_w × init_h, at (x, y). Without an init image: the whole canvas
 * (x = y = 0, init = canvas). */
typedef struct {
  int canvas_w, canvas_h, x, y, init_w, init_h;
} ScHintPlacement;

/* The hint on that canvas. A picture of the init image's size belongs to that image (the app's condition
 * layers are painted over it): it is made at that size and placed there, and the rest of the canvas —
 * outpainting margins, the pad to a multiple of 8 — gets zeros, i.e. no condition. Any other picture is
 * fitted to the whole canvas. */
ScTensor *sc_control_hint_place (const ScImage *img, ScControlKind kind, const ScImage *mask,
                                 const ScHintPlacement *place, GError **error);

G_END_DECLS
