/* The colour condition: a coarse grid of average colours (SCEdit's ColorAnnotator). */
#pragma once
#include "io/image.h"

G_BEGIN_DECLS

#define SC_COLOR_MAP_DEFAULT_CELL 64

/* IMG (any ScImage, converted to 8-bit RGB) shrunk with cv2's INTER_CUBIC to
 * (width / CELL, height / CELL) cells (integer division, at least 1), then enlarged back to the
 * original size with INTER_NEAREST. CELL must be ≥ 1. Result: 8-bit RGB, same size as IMG. */
ScImage *sc_cond_color_map (const ScImage *img, int cell, GError **error);

G_END_DECLS
