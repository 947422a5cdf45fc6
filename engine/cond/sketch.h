/* User drawings (scribbles, sketches) as edge conditions. */
#pragma once
#include "io/image.h"

G_BEGIN_DECLS

/* Luminance of IMG (alpha composited over white, as sc_image_to_rgb8 does); when its mean is above
 * 127.5 the drawing is dark lines on light paper and is inverted; then every pixel above 127 is a
 * line. Result: 8-bit RGB, white lines (255) on black (0) — the form canny conditions have. No
 * thinning: strokes keep the width they were drawn with. */
ScImage *sc_cond_sketch (const ScImage *img, GError **error);

G_END_DECLS
