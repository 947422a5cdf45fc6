/* CLIP tokenizer: exact ids on the reference prompts (openai/CLIP), from the .gz and from a diffusers-style
 * vocab.json + merges.txt pair derived here; clean-up rules; bad input and bad files. */
#include "core/error.h"
#include "models/clip_tokenizer.h"
#include "models/text_clean.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <zlib.h>

#define N_MERGES (49152 - 256 - 2)

static char *shared_gz;   /* bpe_simple_vocab_16e6.txt.gz */
static char *tmp_dir;     /* vocab.json + merges.txt written from the .gz */
static JsonArray *refs;   /* reference-tokens.json */

/* ---- fixtures derived at test time ------------------------------------------------------------ */

/* The GPT-2 byte → code point map, written independently of the engine's. */
static void
test_bytes_to_unicode (int order[256], gunichar cp[256])
{
  int n = 0, extra = 0;
  for (int pass = 0; pass < 2; pass++)
    for (int b = 0; b < 256; b++)
      {
        gboolean printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
        if (printable == (pass == 0))
          {
            order[n++] = b;
            cp[b] = pass == 0 ? (gunichar) b : (gunichar) (256 + extra++);
          }
      }
}

/* Writes TMP_DIR/merges.txt ("#version: 0.2" + the merges) and TMP_DIR/vocab.json as HF lays them out. */
static void
write_hf_files (void)
{
  gzFile gz = gzopen (shared_gz, "rb");
  g_assert_nonnull (gz);
  GString *all = g_string_new (NULL);
  char buf[65536];
  int n;
  while ((n = gzread (gz, buf, sizeof buf)) > 0)
    g_string_append_len (all, buf, n);
  g_assert_cmpint (n, ==, 0);
  gzclose (gz);
  char **lines = g_strsplit (all->str, "\n", N_MERGES + 2);
  g_string_free (all, TRUE);
  g_assert_cmpuint (g_strv_length (lines), ==, N_MERGES + 2);

  GString *merges = g_string_new ("#version: 0.2\n");
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  int order[256];
  gunichar cp[256];
  test_bytes_to_unicode (order, cp);
  for (int w = 0; w < 2; w++)
    for (int i = 0; i < 256; i++)
      {
        char sym[16] = { 0 };
        g_unichar_to_utf8 (cp[order[i]], sym);
        g_autofree char *name = g_strconcat (sym, w ? "</w>" : "", NULL);
        json_builder_set_member_name (b, name);
        json_builder_add_int_value (b, w * 256 + i);
      }
  for (int i = 1; i <= N_MERGES; i++)
    {
      g_string_append_printf (merges, "%s\n", lines[i]);
      char **parts = g_strsplit (lines[i], " ", 0);
      g_assert_cmpuint (g_strv_length (parts), ==, 2);
      g_autofree char *name = g_strconcat (parts[0], parts[1], NULL);
      json_builder_set_member_name (b, name);
      json_builder_add_int_value (b, 511 + i);
      g_strfreev (parts);
    }
  json_builder_set_member_name (b, "<|startoftext|>");
  json_builder_add_int_value (b, 49406);
  json_builder_set_member_name (b, "<|endoftext|>");
  json_builder_add_int_value (b, 49407);
  json_builder_end_object (b);
  g_strfreev (lines);

  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  GError *error = NULL;
  g_autofree char *vocab_path = g_build_filename (tmp_dir, "vocab.json", NULL);
  g_autofree char *merges_path = g_build_filename (tmp_dir, "merges.txt", NULL);
  g_assert_true (json_generator_to_file (gen, vocab_path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (merges_path, merges->str, (gssize) merges->len, &error));
  g_assert_no_error (error);
  g_string_free (merges, TRUE);
}

/* ---- reference prompts ------------------------------------------------------------------------ */

static ScClipTokenizer *
load_ok (const char *path)
{
  GError *error = NULL;
  ScClipTokenizer *tok = sc_clip_tokenizer_new (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tok);
  return tok;
}

static gboolean
ids_equal (JsonArray *want, const int32_t *got, guint n)
{
  if (json_array_get_length (want) != n)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (json_array_get_int_element (want, i) != got[i])
      return FALSE;
  return TRUE;
}

/* Checks every reference prompt's ids, sd1 and sd2; returns how many pass all three. */
static guint
check_references (const ScClipTokenizer *tok, const char *label)
{
  guint len = json_array_get_length (refs), passed = 0;
  for (guint i = 0; i < len; i++)
    {
      JsonObject *ref = json_array_get_object_element (refs, i);
      const char *prompt = json_object_get_string_member (ref, "prompt");
      g_autoptr (GArray) ids = sc_clip_tokenizer_encode (tok, prompt);
      int32_t sd1[SC_CLIP_CONTEXT], sd2[SC_CLIP_CONTEXT];
      sc_clip_tokenizer_encode_padded (tok, prompt, 49407, sd1);
      sc_clip_tokenizer_encode_padded (tok, prompt, 0, sd2);
      gboolean ok = ids_equal (json_object_get_array_member (ref, "ids"), (int32_t *) ids->data, ids->len)
                    && ids_equal (json_object_get_array_member (ref, "sd1"), sd1, SC_CLIP_CONTEXT)
                    && ids_equal (json_object_get_array_member (ref, "sd2"), sd2, SC_CLIP_CONTEXT);
      if (ok)
        passed++;
      else
        g_test_message ("%s: prompt %u “%s” differs", label, i, prompt);
    }
  g_test_message ("%s: %u of %u reference prompts exact", label, passed, len);
  return passed;
}

static void
test_reference_gz (void)
{
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (ScClipTokenizer) tok = load_ok (shared_gz);
  g_test_message ("load .gz: %.1f ms", (g_get_monotonic_time () - t0) / 1000.0);
  g_assert_cmpuint (check_references (tok, ".gz"), ==, json_array_get_length (refs));
  g_assert_cmpuint (json_array_get_length (refs), >=, 40);
}

static void
test_reference_hf_folder (void)
{
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (ScClipTokenizer) tok = load_ok (tmp_dir);
  g_test_message ("load vocab.json + merges.txt: %.1f ms", (g_get_monotonic_time () - t0) / 1000.0);
  g_assert_cmpuint (check_references (tok, "vocab.json"), ==, json_array_get_length (refs));
}

static void
test_reference_merges_only (void)
{
  g_autofree char *merges = g_build_filename (tmp_dir, "merges.txt", NULL);
  g_autoptr (ScClipTokenizer) tok = load_ok (merges);
  g_assert_cmpuint (check_references (tok, "merges.txt"), ==, json_array_get_length (refs));
}

/* The spec's own table (stable-diffusion.md §4.4), padded SD1-style. */
static void
test_spec_vectors (void)
{
  static const struct {
    const char *text;
    int32_t ids[12];
  } cases[] = {
    { "a photo of a cat", { 49406, 320, 1125, 539, 320, 2368, 49407 } },
    { "A Photo of a TREE!", { 49406, 320, 1125, 539, 320, 2677, 256, 49407 } },
    { "it's a cat's toy, running   fast", { 49406, 585, 568, 320, 2368, 568, 5988, 267, 2761, 1953, 49407 } },
    { "2 dogs and 3 cats", { 49406, 273, 3255, 537, 274, 3989, 49407 } },
    { "! !! !!!", { 49406, 256, 748, 995, 49407 } },
    { "stable-diffusion.cpp", { 49406, 10492, 268, 18656, 9364, 269, 66, 4186, 49407 } },
    { "(red:1.2) apple", { 49406, 263, 736, 281, 272, 269, 273, 264, 3055, 49407 } },
  };
  g_autoptr (ScClipTokenizer) tok = load_ok (shared_gz);
  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      int32_t got[SC_CLIP_CONTEXT];
      sc_clip_tokenizer_encode_padded (tok, cases[c].text, 49407, got);
      gboolean ended = FALSE;
      for (int i = 0; i < SC_CLIP_CONTEXT; i++)
        {
          int32_t want = ended ? 49407 : cases[c].ids[i];
          g_assert_cmpint (got[i], ==, want);
          ended = ended || (i > 0 && cases[c].ids[i] == 49407);
        }
    }
}

/* ---- edge cases ------------------------------------------------------------------------------- */

static void
test_truncation_and_empty (void)
{
  g_autoptr (ScClipTokenizer) tok = load_ok (shared_gz);
  GString *text = g_string_new (NULL);
  for (int i = 0; i < 100; i++)
    g_string_append_printf (text, "%s ", i % 2 ? "cat" : "dog"); /* 100 single-token words */
  g_autoptr (GArray) ids = sc_clip_tokenizer_encode (tok, text->str);
  g_assert_cmpuint (ids->len, ==, 100);
  int32_t out[SC_CLIP_CONTEXT];
  sc_clip_tokenizer_encode_padded (tok, text->str, 0, out);
  g_assert_cmpint (out[0], ==, SC_CLIP_BOS);
  for (int i = 0; i < 75; i++)
    g_assert_cmpint (out[i + 1], ==, g_array_index (ids, int32_t, i));
  g_assert_cmpint (out[76], ==, SC_CLIP_EOS);
  g_string_free (text, TRUE);

  /* Exactly 75 ids still fit with BOS and EOS. */
  g_autofree char *just = g_strnfill (75, 'a');
  for (int i = 1; i < 75; i++)
    just[i] = (char) (i % 2 ? ' ' : 'a');
  just[74] = '\0'; /* "a a a … a": 37 words */
  sc_clip_tokenizer_encode_padded (tok, just, 49407, out);
  g_assert_cmpint (out[37], ==, 320);
  g_assert_cmpint (out[38], ==, SC_CLIP_EOS);

  const char *empties[] = { "", "   \t\n  ", "&#1;", NULL };
  for (int e = 0; e < 4; e++)
    {
      g_autoptr (GArray) none = sc_clip_tokenizer_encode (tok, empties[e]);
      g_assert_cmpuint (none->len, ==, 0);
      sc_clip_tokenizer_encode_padded (tok, empties[e], 0, out);
      g_assert_cmpint (out[0], ==, SC_CLIP_BOS);
      g_assert_cmpint (out[1], ==, SC_CLIP_EOS);
      for (int i = 2; i < SC_CLIP_CONTEXT; i++)
        g_assert_cmpint (out[i], ==, 0);
    }
}

static void
test_invalid_utf8 (void)
{
  g_autoptr (ScClipTokenizer) tok = load_ok (shared_gz);
  /* Invalid bytes become U+FFFD, exactly as if the text had held U+FFFD. */
  g_autoptr (GArray) bad = sc_clip_tokenizer_encode (tok, "caf\xe9 \xff\xfe cat \xc3");
  g_autoptr (GArray) fixed = sc_clip_tokenizer_encode (tok, "caf\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd cat \xef\xbf\xbd");
  g_assert_cmpuint (bad->len, ==, fixed->len);
  g_assert_cmpmem (bad->data, bad->len * 4, fixed->data, fixed->len * 4);
  g_assert_cmpuint (bad->len, >, 3);
}

/* Characters the CLIP regex (IGNORECASE) matches with no alternative are dropped like spaces: U+0345
 * is neither [\p{L}] nor, through its case variant ι, [^\s\p{L}\p{N}] (checked against Python's regex). */
static void
test_regex_classes (void)
{
  g_autoptr (ScClipTokenizer) tok = load_ok (shared_gz);
  g_autoptr (GArray) a = sc_clip_tokenizer_encode (tok, "!\xcd\x85!");
  g_autoptr (GArray) b = sc_clip_tokenizer_encode (tok, "! !");
  g_assert_cmpuint (a->len, ==, 2);
  g_assert_cmpmem (a->data, a->len * 4, b->data, b->len * 4);
  g_assert_cmpint (g_array_index (a, int32_t, 0), ==, 256);
}

static void
test_clean_text (void)
{
  /* Expected values from Python 3.11 html.unescape / str.lower. */
  static const char *const unescape[][2] = {
    { "Tom &amp; Jerry &lt;cartoon&gt;", "Tom & Jerry <cartoon>" },
    { "&amp;lt;", "&lt;" },
    { "&ampx &amp", "&x &" },
    { "&notit; &notin;", "\xc2\xacit; \xe2\x88\x89" },
    { "&#65&#x42;&#X43; &#128; &#0; &#1; &#xd800; &#99999999999;", "ABC \xe2\x82\xac \xef\xbf\xbd  \xef\xbf\xbd \xef\xbf\xbd" },
    { "&#xZZ; &# &; & amp; &unknown; &", "&#xZZ; &# &; & amp; &unknown; &" },
    { "&acE; &NotEqualTilde;", "\xe2\x88\xbe\xcc\xb3 \xe2\x89\x82\xcc\xb8" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (unescape); i++)
    {
      g_autofree char *got = sc_html_unescape (unescape[i][0]);
      g_assert_cmpstr (got, ==, unescape[i][1]);
    }
  static const char *const lower[][2] = {
    { "\xc4\xb0stanbul", "i\xcc\x87stanbul" },                 /* İ → i + U+0307 */
    { "\xce\x9f\xce\x94\xce\x9f\xce\xa3", "\xce\xbf\xce\xb4\xce\xbf\xcf\x82" }, /* ΟΔΟΣ → οδος (final) */
    { "\xce\xa3\xce\x91", "\xcf\x83\xce\xb1" },                /* ΣΑ → σα */
    { "\xce\x91\xce\xa3'\xce\x91", "\xce\xb1\xcf\x83'\xce\xb1" }, /* ' is case-ignorable: not final */
    { "\xce\x91\xce\xa3.", "\xce\xb1\xcf\x82." },
    { "STRASSE \xe1\xba\x9e \xe2\x84\xaa", "strasse \xc3\x9f k" },   /* ẞ → ß, Kelvin → k */
  };
  for (size_t i = 0; i < G_N_ELEMENTS (lower); i++)
    {
      g_autofree char *got = sc_unicode_lower (lower[i][0]);
      g_assert_cmpstr (got, ==, lower[i][1]);
    }
  g_autofree char *clean = sc_clip_clean_text ("  A&amp;amp;B\xe2\x80\x83\x1c\tC\xc2\xa0 e\xcc\x81 ");
  g_assert_cmpstr (clean, ==, "a&b c \xc3\xa9");
}

static void
expect_error (const char *path, int code, const char *needle)
{
  GError *error = NULL;
  ScClipTokenizer *tok = sc_clip_tokenizer_new (path, &error);
  g_assert_null (tok);
  g_assert_error (error, SC_ERROR, code);
  g_assert_nonnull (strstr (error->message, needle));
  g_clear_error (&error);
}

static void
test_bad_files (void)
{
  g_autofree char *missing = g_build_filename (tmp_dir, "no-such-bpe.txt.gz", NULL);
  expect_error (missing, SC_ERROR_IO, "no-such-bpe.txt.gz");

  g_autofree char *dir = g_build_filename (tmp_dir, "bad", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  expect_error (dir, SC_ERROR_IO, "bad");

  /* A gzip header over garbage. */
  g_autofree char *junk = g_build_filename (dir, "junk.gz", NULL);
  static const char junk_bytes[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage garbage garbage";
  g_assert_true (g_file_set_contents (junk, junk_bytes, sizeof junk_bytes - 1, NULL));
  expect_error (junk, SC_ERROR_FORMAT, "junk.gz");

  g_autofree char *three = g_build_filename (dir, "merges.txt", NULL);
  g_assert_true (g_file_set_contents (three, "#version: 0.2\ni n\nt h e\n", -1, NULL));
  expect_error (three, SC_ERROR_FORMAT, "line 3");

  g_assert_true (g_file_set_contents (three, "#version: 0.2\n", -1, NULL));
  expect_error (three, SC_ERROR_FORMAT, "no merges");

  /* vocab.json that lacks a merged token, and one that is not JSON. */
  g_assert_true (g_file_set_contents (three, "#version: 0.2\ni n\n", -1, NULL));
  g_autofree char *vocab = g_build_filename (dir, "vocab.json", NULL);
  g_assert_true (g_file_set_contents (vocab, "{\"i\": 0}", -1, NULL));
  expect_error (dir, SC_ERROR_FORMAT, "vocab.json");
  g_assert_true (g_file_set_contents (vocab, "{\"i\": ", -1, NULL));
  expect_error (dir, SC_ERROR_FORMAT, "vocab.json");

  g_unlink (vocab);
  g_unlink (three);
  g_unlink (junk);
  g_rmdir (dir);
}

static void
test_speed (void)
{
  g_autoptr (ScClipTokenizer) tok = load_ok (shared_gz);
  const char *prompt = "an extremely long prompt describing a fantastical landscape with towering crystalline "
                       "mountains, rivers of molten gold, floating islands covered in bioluminescent forests";
  int32_t out[SC_CLIP_CONTEXT];
  gint64 t0 = g_get_monotonic_time ();
  for (int i = 0; i < 100; i++)
    sc_clip_tokenizer_encode_padded (tok, prompt, 49407, out);
  g_test_message ("encode_padded: %.3f ms per prompt", (g_get_monotonic_time () - t0) / 100.0 / 1000.0);
  g_assert_cmpint (out[0], ==, SC_CLIP_BOS);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  const char *shared = g_getenv ("SC_SHARED_DIR");
  if (!shared)
    shared = "../shared";
  shared_gz = g_build_filename (shared, "data", "clip-bpe", "bpe_simple_vocab_16e6.txt.gz", NULL);
  g_autofree char *ref_path = g_build_filename (shared, "data", "clip-bpe", "reference-tokens.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  GError *error = NULL;
  if (!json_parser_load_from_file (parser, ref_path, &error))
    g_error ("%s", error->message);
  refs = json_node_get_array (json_parser_get_root (parser));

  tmp_dir = g_dir_make_tmp ("sc-tokenizer-XXXXXX", &error);
  g_assert_no_error (error);
  write_hf_files ();

  g_test_add_func ("/tokenizer/reference/gz", test_reference_gz);
  g_test_add_func ("/tokenizer/reference/vocab-json", test_reference_hf_folder);
  g_test_add_func ("/tokenizer/reference/merges-txt", test_reference_merges_only);
  g_test_add_func ("/tokenizer/spec-vectors", test_spec_vectors);
  g_test_add_func ("/tokenizer/truncation-and-empty", test_truncation_and_empty);
  g_test_add_func ("/tokenizer/invalid-utf8", test_invalid_utf8);
  g_test_add_func ("/tokenizer/regex-classes", test_regex_classes);
  g_test_add_func ("/tokenizer/clean-text", test_clean_text);
  g_test_add_func ("/tokenizer/bad-files", test_bad_files);
  g_test_add_func ("/tokenizer/speed", test_speed);
  int rc = g_test_run ();

  g_autofree char *vocab = g_build_filename (tmp_dir, "vocab.json", NULL);
  g_autofree char *merges = g_build_filename (tmp_dir, "merges.txt", NULL);
  g_unlink (vocab);
  g_unlink (merges);
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  g_free (shared_gz);
  return rc;
}
