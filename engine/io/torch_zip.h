/* Read-only zip archives as PyTorch writes them (torch.save since 1.6): stored entries are handed out in
 * place, deflated ones (rare: archives repacked by other tools) are inflated on demand with a size cap.
 * ZIP64 sizes and offsets are understood. Every offset and size is checked against the buffer. */
#pragma once
#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct ScZip ScZip;

/* Largest entry we inflate, and the most all inflated entries of one archive may take together. */
#define SC_ZIP_MAX_INFLATE ((guint64) 4 << 30)

/* Parses the central directory of DATA (kept alive by the caller for the lifetime of the result). */
ScZip *sc_zip_open_memory (const void *data, size_t len, GError **error);
void sc_zip_free (ScZip *zip);

size_t sc_zip_count (const ScZip *zip);
const char *sc_zip_name (const ScZip *zip, size_t index);
/* Index of the entry called NAME, or -1. */
gssize sc_zip_find (const ScZip *zip, const char *name);
/* The uncompressed bytes of entry INDEX: a pointer into the buffer for stored entries, or an inflated
 * copy owned by the archive. NULL with an error when the entry is broken or too big. */
const guint8 *sc_zip_data (ScZip *zip, size_t index, guint64 *len, GError **error);

G_END_DECLS
