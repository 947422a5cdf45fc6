/* CLIP byte-level BPE tokenizer (openai/CLIP SimpleTokenizer semantics). */
#pragma once
#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SC_CLIP_CONTEXT 77
#define SC_CLIP_BOS 49406
#define SC_CLIP_EOS 49407

typedef struct ScClipTokenizer ScClipTokenizer;

/* PATH is one of: the gzip'd BPE file (bpe_simple_vocab_16e6.txt.gz), a merges.txt, or a folder holding
 * vocab.json + merges.txt (a diffusers `tokenizer/` folder) or the .gz file. */
ScClipTokenizer *sc_clip_tokenizer_new (const char *path, GError **error);
void sc_clip_tokenizer_free (ScClipTokenizer *tok);

/* Token ids of TEXT without BOS/EOS and without truncation. Invalid UTF-8 is repaired (U+FFFD), never fatal. */
GArray *sc_clip_tokenizer_encode (const ScClipTokenizer *tok, const char *text);
/* BOS + first 75 ids + EOS, padded with pad_id to 77 (SD1 pads with 49407, SD2 with 0). */
void sc_clip_tokenizer_encode_padded (const ScClipTokenizer *tok, const char *text, int32_t pad_id,
                                      int32_t out_ids[SC_CLIP_CONTEXT]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScClipTokenizer, sc_clip_tokenizer_free)

G_END_DECLS
