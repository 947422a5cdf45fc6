/* Canny edges as OpenCV's cv2.Canny (aperture 3, L1 gradient) computes them on an RGB uint8 image,
 * which is what SCEdit's canny annotator runs (no blur before it). */
#pragma once
#include "io/image.h"

G_BEGIN_DECLS

#define SC_CANNY_DEFAULT_LOW 100.0
#define SC_CANNY_DEFAULT_HIGH 200.0

/* Edges of IMG (any ScImage; converted to 8-bit RGB first, as sc_image_to_rgb8 does) with hysteresis
 * thresholds LOW and HIGH (swapped when LOW > HIGH, floored to integers, like OpenCV): a pixel is an
 * edge when its gradient is a local maximum above HIGH, or above LOW and 8-connected to an edge.
 * Per pixel the channel with the largest |dx|+|dy| is used. Result: 8-bit RGB, 0 or 255. */
ScImage *sc_cond_canny (const ScImage *img, double low, double high, GError **error);

G_END_DECLS
