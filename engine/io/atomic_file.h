/* Saves are atomic: write to a temporary file next to the target, fsync, rename. */
#pragma once
#include <glib.h>
#include <stdio.h>

G_BEGIN_DECLS

typedef struct ScAtomicFile ScAtomicFile;

/* Opens PATH.tmp-XXXXXX in the target's folder for writing. */
ScAtomicFile *sc_atomic_file_begin (const char *path, GError **error);
FILE *sc_atomic_file_stream (ScAtomicFile *f);
/* Flushes, fsyncs and renames over the target. Frees f either way. */
gboolean sc_atomic_file_commit (ScAtomicFile *f, GError **error);
/* Removes the temporary file. Frees f. */
void sc_atomic_file_abort (ScAtomicFile *f);

/* Convenience: writes a whole buffer atomically. */
gboolean sc_atomic_write (const char *path, const void *data, size_t len, GError **error);

G_END_DECLS
