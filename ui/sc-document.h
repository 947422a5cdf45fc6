/* ScDocument: what the Create page edits — prompt, seed, size, sampler… — as properties. Any change emits
 * "changed"; the window turns the document into an engine request only when asked to render. */
#pragma once
#include <glib-object.h>

#include "runtime/engine.h"

G_BEGIN_DECLS

#define SC_TYPE_DOCUMENT (sc_document_get_type ())
G_DECLARE_FINAL_TYPE (ScDocument, sc_document, SC, DOCUMENT, GObject)

/* The largest seed the UI offers: spin buttons hold doubles, exact up to 2^53. */
#define SC_DOCUMENT_SEED_MAX (G_GUINT64_CONSTANT (1) << 53)

ScDocument *sc_document_new (void);
const char *sc_document_get_model_path (ScDocument *self);
void sc_document_set_model_path (ScDocument *self, const char *path);
guint64 sc_document_get_seed (ScDocument *self);
void sc_document_set_seed (ScDocument *self, guint64 seed);
gboolean sc_document_get_seed_locked (ScDocument *self);
void sc_document_reroll_seed (ScDocument *self);
/* The request for the current settings (strings borrowed from the document until it changes). */
void sc_document_to_request (ScDocument *self, ScRequest *r);
/* Restores the settings from our "scedit" PNG JSON chunk; unknown or missing fields stay as they are. */
gboolean sc_document_apply_json (ScDocument *self, const char *json, GError **error);

G_END_DECLS
