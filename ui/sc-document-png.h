/* The document's work inside a saved PNG: its condition layers (kind, weight, visibility, controller file),
 * style tuners, mask and pending margins become members of the "scedit" JSON chunk, and the pictures
 * people painted or loaded become layer chunks (io/png_layers.h), so opening the file brings them back.
 * A snapshot is taken on the UI thread and written on a worker thread; a file is read on a worker thread
 * and restored into a document on the UI thread. */
#pragma once
#include "sc-document.h"

G_BEGIN_DECLS

typedef struct _ScDocumentPng ScDocumentPng;

/* Copies what a save needs from the document (it may change while the file is written). */
ScDocumentPng *sc_document_png_snapshot (ScDocument *document);
/* Writes result's image with its "parameters" text, its "scedit" JSON plus the snapshot's members, and
 * one layer chunk per picture. Any thread. */
gboolean sc_document_png_write (ScDocumentPng *self, const ScResult *result, const char *path, GError **error);

/* What the PNG at path (its "scedit" JSON text given) holds of a document; NULL when the JSON has no
 * layer members (a file from an older version or another program). Never fails: whatever is broken or
 * missing (a damaged layer chunk, a controller file that is gone) becomes a note. Any thread. */
ScDocumentPng *sc_document_png_read (const char *path, const char *json);
/* Replaces the document's conditions, styles, mask and margins with the file's (UI thread) and clears its
 * undo history, whose steps belong to the layers that went. notes gets one translated line per thing
 * people should know (owned strings). */
void sc_document_png_restore (ScDocumentPng *self, ScDocument *document, GPtrArray *notes);
void sc_document_png_free (ScDocumentPng *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScDocumentPng, sc_document_png_free)

G_END_DECLS
