/* A small EXIF reader: only what loading a photo needs (the orientation tag). */
#pragma once
#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

/* data: the payload of a JPEG APP1 segment ("Exif\0\0" then a TIFF header) or a bare TIFF header.
 * Returns the IFD0 Orientation (1..8), or 1 when absent, out of range or the data is malformed.
 * Every offset is bounds-checked; both byte orders are handled. */
int sc_exif_orientation (const void *data, size_t len);

G_END_DECLS
