/* Resampling that matches the reference libraries the conditions were made with, so a condition
 * computed here equals the one SCEdit was trained and run on. All work on 8-bit images of any
 * channel count (16-bit input is refused) and return a new image of the same channel count. */
#pragma once
#include "io/image.h"

G_BEGIN_DECLS

typedef enum {
  SC_RESIZE_CV_NEAREST,  /* cv2.resize INTER_NEAREST: source = floor(x · src/dst), clamped */
  SC_RESIZE_CV_CUBIC,    /* cv2.resize INTER_CUBIC (OpenCV 5): a = −0.75, half-pixel centres,
                          * replicated borders, no antialiasing; computed in floating point and
                          * rounded once. Matches OpenCV when shrinking (rare ±1 at exact ties);
                          * enlarging by large factors can differ by 1 */
  SC_RESIZE_PIL_BILINEAR /* PIL Image.resize BILINEAR: triangle filter widened by the scale when
                          * shrinking (antialiased), 22-bit fixed point, horizontal pass first */
} ScResizeKind;

ScImage *sc_resize (const ScImage *img, int width, int height, ScResizeKind kind, GError **error);

G_END_DECLS
