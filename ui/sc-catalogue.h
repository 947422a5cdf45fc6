/* The files the model manager offers to download: a short, fixed list with their published addresses.
 * Sizes and hashes only where they are known for sure; otherwise the server's Content-Length is checked. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  SC_CATALOGUE_MODEL,  /* a Stable Diffusion checkpoint: one file */
  SC_CATALOGUE_VOCAB,  /* the CLIP tokenizer's vocabulary */
  SC_CATALOGUE_BROWSE, /* a repository whose file layout is unverified: opened in the browser */
} ScCatalogueKind;

typedef struct {
  const char *id;
  ScCatalogueKind kind;
  const char *title;    /* translatable (N_) */
  const char *subtitle; /* translatable (N_) */
  const char *url;
  const char *filename; /* NULL for SC_CATALOGUE_BROWSE */
  guint64 size;         /* 0: unknown */
  const char *sha256;   /* NULL: unknown */
} ScCatalogueEntry;

/* The entries, ending with an entry whose id is NULL. */
const ScCatalogueEntry *sc_catalogue_get_entries (void);
const ScCatalogueEntry *sc_catalogue_lookup (const char *id);

G_END_DECLS
