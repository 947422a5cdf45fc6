/* Depth maps made elsewhere (MiDaS, Blender, a phone) imported as depth conditions. */
#pragma once
#include "io/image.h"

G_BEGIN_DECLS

/* ITU-R 601 luma, the weights PIL's convert("L") and OpenCV's RGB2GRAY use; exact for grey. */
static inline double
sc_luminance (double r, double g, double b)
{
  if (r == g && g == b)
    return r;
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

/* IMG as a depth condition: grey values (8- or 16-bit, full precision), or the luminance of RGB
 * (alpha ignored), stretched min–max to [0, 255] with rounding half up, replicated to 8-bit RGB —
 * the normalisation SCEdit's MiDaS annotator applies to its own output. A flat image gives zeros. */
ScImage *sc_cond_depth (const ScImage *img, GError **error);

G_END_DECLS
