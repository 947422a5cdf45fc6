#include "sc-catalogue.h"

#include <glib/gi18n.h>

/* Hugging Face serves repository files at /<repo>/resolve/<revision>/<path>, redirecting to its CDN with
 * the file's SHA-256 and size in X-Linked-Etag / X-Linked-Size, which the downloader checks: the entries
 * need not (and, written offline, could not) carry them. The SCEdit hub's layout is unverified
 * (scedit.md §5.4), so it is a link to browse, not a file. */
static const ScCatalogueEntry entries[] = {
  { "sd15", SC_CATALOGUE_MODEL, N_("Stable Diffusion 1.5"),
    N_("512 × 512, the base of most SCEdit style tuners. About 4.3 GB."),
    "https://huggingface.co/stable-diffusion-v1-5/stable-diffusion-v1-5/resolve/main/v1-5-pruned-emaonly.safetensors",
    "v1-5-pruned-emaonly.safetensors", 0, NULL },
  { "sd21", SC_CATALOGUE_MODEL, N_("Stable Diffusion 2.1"),
    N_("768 × 768, v-prediction; the base of the SCEdit controllers. About 5.2 GB."),
    "https://huggingface.co/stabilityai/stable-diffusion-2-1/resolve/main/v2-1_768-ema-pruned.safetensors",
    "v2-1_768-ema-pruned.safetensors", 0, NULL },
  { "sd21-base", SC_CATALOGUE_MODEL, N_("Stable Diffusion 2.1 Base"),
    N_("512 × 512, ε-prediction. About 5.2 GB."),
    "https://huggingface.co/stabilityai/stable-diffusion-2-1-base/resolve/main/v2-1_512-ema-pruned.safetensors",
    "v2-1_512-ema-pruned.safetensors", 0, NULL },
  { "clip-vocab", SC_CATALOGUE_VOCAB, N_("CLIP Vocabulary"),
    N_("The text tokenizer's word list, needed by single-file models. About 1.3 MB."),
    "https://github.com/openai/CLIP/raw/main/clip/bpe_simple_vocab_16e6.txt.gz",
    "bpe_simple_vocab_16e6.txt.gz", 0, NULL },
  { "scedit-hub", SC_CATALOGUE_BROWSE, N_("SCEdit Tuners and Controllers"),
    N_("The official style tuners and controllers on Hugging Face. Download them there, then add them here."),
    "https://huggingface.co/scepter-studio/scepter_scedit/tree/main", NULL, 0, NULL },
  { NULL },
};

const ScCatalogueEntry *
sc_catalogue_get_entries (void)
{
  return entries;
}

const ScCatalogueEntry *
sc_catalogue_lookup (const char *id)
{
  for (const ScCatalogueEntry *e = entries; e->id; e++)
    if (g_str_equal (e->id, id))
      return e;
  return NULL;
}
