/* CLIP byte-level BPE tokenizer: loads the merges (and optionally a vocab.json), pre-tokenizes with the
 * CLIP regex by hand and runs BPE over token ids. */
#include "models/clip_tokenizer.h"

#include "core/error.h"
#include "models/text_clean.h"
#include "models/unicode_tables.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <zlib.h>

/* openai/CLIP and HF both use lines 1 .. 49152-256-2 of the merges file (line 0 is a header). */
#define CLIP_MERGES (49152 - 256 - 2)
#define CLIP_MAX_IDS (SC_CLIP_CONTEXT - 2)
#define BOS_TEXT "<|startoftext|>"
#define EOS_TEXT "<|endoftext|>"

/* An open-addressing map from a pair of ids to its merge rank and merged id. */
typedef struct {
  uint64_t key; /* (left << 32 | right) + 1; 0 marks an empty slot */
  int32_t rank;
  int32_t merged;
} MergeSlot;

struct ScClipTokenizer {
  int32_t byte_id[256];     /* the GPT-2 unicode symbol of each byte */
  int32_t byte_end_id[256]; /* the same + "</w>" */
  MergeSlot *merges;
  size_t mask;
  int32_t bos, eos;
};

/* ---- merge map -------------------------------------------------------------------------------- */

static inline uint64_t
pair_key (int32_t a, int32_t b)
{
  return (((uint64_t) (uint32_t) a << 32) | (uint32_t) b) + 1;
}

static inline size_t
pair_hash (uint64_t key)
{
  key ^= key >> 29;
  key *= 0xbf58476d1ce4e5b9ull;
  key ^= key >> 32;
  return (size_t) key;
}

static void
merge_put (ScClipTokenizer *tok, int32_t a, int32_t b, int32_t rank, int32_t merged)
{
  uint64_t key = pair_key (a, b);
  size_t i = pair_hash (key) & tok->mask;
  while (tok->merges[i].key && tok->merges[i].key != key)
    i = (i + 1) & tok->mask;
  /* A repeated pair takes its last rank, as Python's dict(zip(merges, range(n))) does. */
  tok->merges[i] = (MergeSlot) { key, rank, merged };
}

static inline const MergeSlot *
merge_get (const ScClipTokenizer *tok, int32_t a, int32_t b)
{
  uint64_t key = pair_key (a, b);
  size_t i = pair_hash (key) & tok->mask;
  while (tok->merges[i].key)
    {
      if (tok->merges[i].key == key)
        return &tok->merges[i];
      i = (i + 1) & tok->mask;
    }
  return NULL;
}

/* ---- GPT-2 bytes_to_unicode --------------------------------------------------------------------- */

static gboolean
byte_is_printable (int b)
{
  return (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

/* ORDER: the bytes in vocabulary order (printable ones first); CP: each byte's code point. */
static void
bytes_to_unicode (int order[256], gunichar cp[256])
{
  int n = 0, extra = 0;
  for (int b = 0; b < 256; b++)
    if (byte_is_printable (b))
      {
        order[n++] = b;
        cp[b] = (gunichar) b;
      }
  for (int b = 0; b < 256; b++)
    if (!byte_is_printable (b))
      {
        order[n++] = b;
        cp[b] = (gunichar) (256 + extra++);
      }
}

/* ---- loading ---------------------------------------------------------------------------------- */

/* Reads the header line and up to CLIP_MERGES merge lines of PATH (gzip'd or plain). */
static char *
read_merges_text (const char *path, GError **error)
{
  gzFile gz = gzopen (path, "rb");
  if (!gz)
    {
      int err = errno;
      g_set_error (error, SC_ERROR, SC_ERROR_IO, "Could not open the tokenizer merges “%s”: %s", path,
                   err ? g_strerror (err) : "out of memory");
      return NULL;
    }
  gzbuffer (gz, 1 << 17);
  GString *text = g_string_new (NULL);
  size_t lines = 0;
  char buf[1 << 16];
  for (;;)
    {
      int n = gzread (gz, buf, sizeof buf);
      if (n < 0)
        {
          int errnum;
          const char *msg = gzerror (gz, &errnum);
          g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "The tokenizer merges “%s” are corrupt: %s", path, msg);
          gzclose (gz);
          g_string_free (text, TRUE);
          return NULL;
        }
      if (n == 0)
        break;
      /* Stop once the lines we use are in: the .gz holds 262,145 lines, we need 48,895. */
      size_t keep = 0;
      while (keep < (size_t) n && lines <= CLIP_MERGES)
        if (buf[keep++] == '\n')
          lines++;
      g_string_append_len (text, buf, (gssize) keep);
      if (lines > CLIP_MERGES)
        break;
    }
  gzclose (gz);
  if (!g_utf8_validate_len (text->str, text->len, NULL) || memchr (text->str, '\0', text->len))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "The tokenizer merges “%s” are not UTF-8 text", path);
      g_string_free (text, TRUE);
      return NULL;
    }
  return g_string_free (text, FALSE);
}

typedef struct {
  char *left, *right; /* point into the merges text */
} MergeLine;

/* Splits TEXT (modified in place) into merges; line 0 is a header and skipped, blank lines too. */
static GArray *
parse_merges (char *text, const char *path, GError **error)
{
  GArray *merges = g_array_new (FALSE, FALSE, sizeof (MergeLine));
  char *line = strchr (text, '\n');
  for (size_t lineno = 1; line && lineno <= CLIP_MERGES; lineno++)
    {
      line++;
      char *next = strchr (line, '\n');
      if (next)
        *next = '\0';
      char *parts[3] = { NULL };
      int nparts = 0;
      for (char *p = line; *p && nparts < 3;)
        {
          while (*p && g_ascii_isspace (*p))
            *p++ = '\0';
          if (!*p)
            break;
          parts[nparts++] = p;
          while (*p && !g_ascii_isspace (*p))
            p++;
        }
      if (nparts == 2)
        g_array_append_val (merges, ((MergeLine) { parts[0], parts[1] }));
      else if (nparts != 0)
        {
          g_set_error (error, SC_ERROR, SC_ERROR_FORMAT,
                       "The tokenizer merges “%s” are malformed: line %zu is not two symbols", path, lineno + 1);
          g_array_unref (merges);
          return NULL;
        }
      line = next;
    }
  if (merges->len == 0)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "The tokenizer merges “%s” hold no merges", path);
      g_array_unref (merges);
      return NULL;
    }
  return merges;
}

/* token → id + 1 (so that id 0 is not NULL); keys are owned by CHUNK. */
typedef struct {
  GHashTable *ids;
  GStringChunk *chunk;
} Vocab;

static void
vocab_put (Vocab *v, const char *token, int32_t id)
{
  /* A repeated token takes its last id, as Python's dict does. */
  g_hash_table_insert (v->ids, g_string_chunk_insert_const (v->chunk, token), GINT_TO_POINTER (id + 1));
}

static int32_t
vocab_get (const Vocab *v, const char *token)
{
  return GPOINTER_TO_INT (g_hash_table_lookup (v->ids, token)) - 1;
}

/* The openai/CLIP order: bytes, bytes + "</w>", one token per merge, then the two specials. */
static void
vocab_build_clip (Vocab *v, const GArray *merges)
{
  int order[256];
  gunichar cp[256];
  bytes_to_unicode (order, cp);
  char sym[16];
  for (int i = 0; i < 256; i++)
    {
      sym[g_unichar_to_utf8 (cp[order[i]], sym)] = '\0';
      vocab_put (v, sym, i);
      strcat (sym, "</w>");
      vocab_put (v, sym, 256 + i);
    }
  GString *cat = g_string_new (NULL);
  for (guint i = 0; i < merges->len; i++)
    {
      const MergeLine *m = &g_array_index (merges, MergeLine, i);
      g_string_assign (cat, m->left);
      g_string_append (cat, m->right);
      vocab_put (v, cat->str, 512 + (int32_t) i);
    }
  g_string_free (cat, TRUE);
  vocab_put (v, BOS_TEXT, 512 + (int32_t) merges->len);
  vocab_put (v, EOS_TEXT, 513 + (int32_t) merges->len);
}

static gboolean
vocab_load_json (Vocab *v, const char *path, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  GError *local = NULL;
  if (!json_parser_load_from_file (parser, path, &local))
    {
      g_set_error (error, SC_ERROR, g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? SC_ERROR_IO
                                                                                             : SC_ERROR_FORMAT,
                   "Could not read the tokenizer vocabulary “%s”: %s", path, local->message);
      g_error_free (local);
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "The tokenizer vocabulary “%s” is not a JSON object", path);
      return FALSE;
    }
  JsonObjectIter iter;
  const char *token;
  JsonNode *node;
  json_object_iter_init (&iter, json_node_get_object (root));
  while (json_object_iter_next (&iter, &token, &node))
    {
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64
          || json_node_get_int (node) < 0 || json_node_get_int (node) >= G_MAXINT32)
        {
          g_set_error (error, SC_ERROR, SC_ERROR_FORMAT,
                       "The tokenizer vocabulary “%s” gives “%s” no valid id", path, token);
          return FALSE;
        }
      vocab_put (v, token, (int32_t) json_node_get_int (node));
    }
  return TRUE;
}

static int32_t
vocab_require (const Vocab *v, const char *token, const char *path, GError **error)
{
  int32_t id = vocab_get (v, token);
  if (id < 0)
    g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "The tokenizer vocabulary “%s” lacks the token “%s”", path,
                 token);
  return id;
}

/* Fills the byte ids, specials and the merge map from V; VOCAB_PATH names V's file in errors. */
static gboolean
tokenizer_fill (ScClipTokenizer *tok, const Vocab *v, const GArray *merges, const char *vocab_path,
                GError **error)
{
  int order[256];
  gunichar cp[256];
  bytes_to_unicode (order, cp);
  char sym[16];
  for (int b = 0; b < 256; b++)
    {
      sym[g_unichar_to_utf8 (cp[b], sym)] = '\0';
      if ((tok->byte_id[b] = vocab_require (v, sym, vocab_path, error)) < 0)
        return FALSE;
      strcat (sym, "</w>");
      if ((tok->byte_end_id[b] = vocab_require (v, sym, vocab_path, error)) < 0)
        return FALSE;
    }
  if ((tok->bos = vocab_require (v, BOS_TEXT, vocab_path, error)) < 0
      || (tok->eos = vocab_require (v, EOS_TEXT, vocab_path, error)) < 0)
    return FALSE;

  size_t cap = 64;
  while (cap < (size_t) merges->len * 2)
    cap *= 2;
  tok->merges = g_new0 (MergeSlot, cap);
  tok->mask = cap - 1;
  GString *cat = g_string_new (NULL);
  for (guint i = 0; i < merges->len; i++)
    {
      const MergeLine *m = &g_array_index (merges, MergeLine, i);
      g_string_assign (cat, m->left);
      g_string_append (cat, m->right);
      int32_t a, b, ab;
      if ((a = vocab_require (v, m->left, vocab_path, error)) < 0
          || (b = vocab_require (v, m->right, vocab_path, error)) < 0
          || (ab = vocab_require (v, cat->str, vocab_path, error)) < 0)
        {
          g_string_free (cat, TRUE);
          return FALSE;
        }
      merge_put (tok, a, b, (int32_t) i, ab);
    }
  g_string_free (cat, TRUE);
  return TRUE;
}

/* Loads MERGES_PATH, with ids from VOCAB_PATH when given, else in the CLIP order. */
static ScClipTokenizer *
tokenizer_load (const char *merges_path, const char *vocab_path, GError **error)
{
  g_autofree char *text = read_merges_text (merges_path, error);
  if (!text)
    return NULL;
  g_autoptr (GArray) merges = parse_merges (text, merges_path, error);
  if (!merges)
    return NULL;

  Vocab v = { g_hash_table_new (g_str_hash, g_str_equal), g_string_chunk_new (1 << 16) };
  gboolean ok = TRUE;
  if (vocab_path)
    ok = vocab_load_json (&v, vocab_path, error);
  else
    vocab_build_clip (&v, merges);
  ScClipTokenizer *tok = g_new0 (ScClipTokenizer, 1);
  if (ok)
    ok = tokenizer_fill (tok, &v, merges, vocab_path ? vocab_path : merges_path, error);
  g_hash_table_unref (v.ids);
  g_string_chunk_free (v.chunk);
  if (!ok)
    g_clear_pointer (&tok, sc_clip_tokenizer_free);
  return tok;
}

ScClipTokenizer *
sc_clip_tokenizer_new (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_IO, "The tokenizer file “%s” does not exist", path);
      return NULL;
    }
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    return tokenizer_load (path, NULL, error);

  /* A folder: diffusers' vocab.json + merges.txt, else the openai/CLIP .gz, else a lone merges.txt. */
  g_autofree char *vocab = g_build_filename (path, "vocab.json", NULL);
  g_autofree char *merges = g_build_filename (path, "merges.txt", NULL);
  g_autofree char *gz = g_build_filename (path, "bpe_simple_vocab_16e6.txt.gz", NULL);
  gboolean has_merges = g_file_test (merges, G_FILE_TEST_IS_REGULAR);
  if (has_merges && g_file_test (vocab, G_FILE_TEST_IS_REGULAR))
    return tokenizer_load (merges, vocab, error);
  if (g_file_test (gz, G_FILE_TEST_IS_REGULAR))
    return tokenizer_load (gz, NULL, error);
  if (has_merges)
    return tokenizer_load (merges, NULL, error);
  g_set_error (error, SC_ERROR, SC_ERROR_IO,
               "The tokenizer folder “%s” holds neither vocab.json + merges.txt nor bpe_simple_vocab_16e6.txt.gz",
               path);
  return NULL;
}

void
sc_clip_tokenizer_free (ScClipTokenizer *tok)
{
  if (!tok)
    return;
  g_free (tok->merges);
  g_free (tok);
}

/* ---- encoding --------------------------------------------------------------------------------- */

/* Does C match the ASCII lower-case letter or symbol X under the regex's IGNORECASE (simple folding)? */
static inline gboolean
fold_eq (gunichar c, char x)
{
  return c == (gunichar) x || c == (gunichar) g_ascii_toupper (x) || (x == 's' && c == 0x17f)
         || (x == 'k' && c == 0x212a);
}

/* If P starts with PATTERN (case-insensitively), returns the end of the match. */
static const char *
match_fold (const char *p, const char *pattern)
{
  for (; *pattern; pattern++)
    {
      if (!*p || !fold_eq (g_utf8_get_char (p), *pattern))
        return NULL;
      p = g_utf8_next_char (p);
    }
  return p;
}

typedef enum { CLASS_SKIP, CLASS_LETTER, CLASS_NUMBER, CLASS_OTHER } CharClass;

static inline CharClass
char_class (gunichar c)
{
  if (c < 0x80)
    {
      if (g_ascii_isalpha (c))
        return CLASS_LETTER;
      if (g_ascii_isdigit (c))
        return CLASS_NUMBER;
      return SC_UNICODE_IS (regex_skip, c) ? CLASS_SKIP : CLASS_OTHER;
    }
  if (SC_UNICODE_IS (letter, c))
    return CLASS_LETTER;
  if (SC_UNICODE_IS (number, c))
    return CLASS_NUMBER;
  return SC_UNICODE_IS (regex_skip, c) ? CLASS_SKIP : CLASS_OTHER;
}

/* The end of the CLIP regex match at P, or NULL if P starts with a character no alternative matches
 * (whitespace; findall skips it):
 * <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+ */
static const char *
next_piece (const char *p)
{
  static const char *const fixed[] = { BOS_TEXT, EOS_TEXT, "'s", "'t", "'re", "'ve", "'m", "'ll", "'d" };
  const char *end;
  if (*p == '<' || *p == '\'')
    for (size_t i = 0; i < G_N_ELEMENTS (fixed); i++)
      if ((end = match_fold (p, fixed[i])))
        return end;
  CharClass cls = char_class (g_utf8_get_char (p));
  end = g_utf8_next_char (p);
  if (cls == CLASS_SKIP)
    return NULL;
  if (cls == CLASS_NUMBER)
    return end;
  while (*end && char_class (g_utf8_get_char (end)) == cls)
    end = g_utf8_next_char (end);
  return end;
}

/* BPE of one piece, whose last symbol carries "</w>"; appends the ids to OUT. W and RANK are scratch
 * buffers of at least LEN entries, SRC too. */
static void
bpe_piece (const ScClipTokenizer *tok, const unsigned char *bytes, size_t len, int32_t *w, int32_t *rank,
           int64_t *src, GArray *out)
{
  size_t n = len;
  for (size_t i = 0; i < n; i++)
    w[i] = i + 1 < n ? tok->byte_id[bytes[i]] : tok->byte_end_id[bytes[i]];
  for (size_t i = 0; i + 1 < n; i++)
    {
      const MergeSlot *m = merge_get (tok, w[i], w[i + 1]);
      rank[i] = m ? m->rank : G_MAXINT32;
    }
  while (n > 1)
    {
      size_t best = 0;
      for (size_t i = 1; i + 1 < n; i++)
        if (rank[i] < rank[best])
          best = i;
      if (rank[best] == G_MAXINT32)
        break;
      int32_t a = w[best], b = w[best + 1];
      int32_t merged = merge_get (tok, a, b)->merged;
      /* Merge every occurrence left to right, as CLIP's bpe() does. */
      size_t j = 0;
      for (size_t i = 0; i < n; j++)
        {
          if (i + 1 < n && w[i] == a && w[i + 1] == b)
            {
              w[j] = merged;
              src[j] = -1;
              i += 2;
            }
          else
            {
              w[j] = w[i];
              src[j] = (int64_t) i;
              i++;
            }
        }
      n = j;
      /* Pairs of two untouched neighbours keep their rank; src[k] >= k, so reading in place is safe. */
      for (size_t k = 0; k + 1 < n; k++)
        {
          if (src[k] >= 0 && src[k + 1] == src[k] + 1)
            rank[k] = rank[src[k]];
          else
            {
              const MergeSlot *m = merge_get (tok, w[k], w[k + 1]);
              rank[k] = m ? m->rank : G_MAXINT32;
            }
        }
    }
  g_array_append_vals (out, w, (guint) n);
}

GArray *
sc_clip_tokenizer_encode (const ScClipTokenizer *tok, const char *text)
{
  g_return_val_if_fail (tok != NULL, NULL);
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (int32_t));
  g_autofree char *clean = sc_clip_clean_text (text);
  size_t cap = 64;
  int32_t *w = g_new (int32_t, cap), *rank = g_new (int32_t, cap);
  int64_t *src = g_new (int64_t, cap);
  for (const char *p = clean; *p;)
    {
      const char *end = next_piece (p);
      if (!end)
        {
          p = g_utf8_next_char (p);
          continue;
        }
      size_t len = (size_t) (end - p);
      if (len == strlen (BOS_TEXT) && memcmp (p, BOS_TEXT, len) == 0)
        g_array_append_val (ids, tok->bos);
      else if (len == strlen (EOS_TEXT) && memcmp (p, EOS_TEXT, len) == 0)
        g_array_append_val (ids, tok->eos);
      else
        {
          if (len > cap)
            {
              cap = len;
              w = g_renew (int32_t, w, cap);
              rank = g_renew (int32_t, rank, cap);
              src = g_renew (int64_t, src, cap);
            }
          bpe_piece (tok, (const unsigned char *) p, len, w, rank, src, ids);
        }
      p = end;
    }
  g_free (w);
  g_free (rank);
  g_free (src);
  return ids;
}

void
sc_clip_tokenizer_encode_padded (const ScClipTokenizer *tok, const char *text, int32_t pad_id,
                                 int32_t out_ids[SC_CLIP_CONTEXT])
{
  g_return_if_fail (tok != NULL && out_ids != NULL);
  g_autoptr (GArray) ids = sc_clip_tokenizer_encode (tok, text);
  guint n = MIN (ids->len, CLIP_MAX_IDS);
  out_ids[0] = tok->bos;
  if (n > 0)
    memcpy (out_ids + 1, ids->data, n * sizeof (int32_t));
  out_ids[n + 1] = tok->eos;
  for (guint i = n + 2; i < SC_CLIP_CONTEXT; i++)
    out_ids[i] = pad_id;
}
