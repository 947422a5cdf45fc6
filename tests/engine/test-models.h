/* Tiny models for the pipeline-level tests: written once per test program by our own make-model. */
#pragma once
#include "models/make_model.h"
#include "models/model_loader.h"

#include <glib.h>

/* The CLIP vocabulary in ../shared (NULL when SC_SHARED_DIR is unset). Caller frees. */
static inline char *
sc_test_vocab_path (void)
{
  const char *shared = g_getenv ("SC_SHARED_DIR");
  return shared ? g_build_filename (shared, "data", "clip-bpe", "bpe_simple_vocab_16e6.txt.gz", NULL) : NULL;
}

/* dir/ARCH-SEED.safetensors, written by sc_make_model the first time it is asked for. Caller frees. */
static inline char *
sc_test_tiny_model_path (const char *dir, const char *arch_name, uint64_t weight_seed)
{
  GError *error = NULL;
  ScArch arch;
  g_assert_true (sc_arch_from_name (arch_name, &arch));
  g_autofree char *leaf = g_strdup_printf ("%s-%" G_GUINT64_FORMAT ".safetensors", arch_name, weight_seed);
  char *path = g_build_filename (dir, leaf, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_assert_true (sc_make_model (arch, weight_seed, SC_LAYOUT_LDM, SC_DTYPE_F32, path, &error));
      g_assert_no_error (error);
    }
  return path;
}

/* Loads every component of path with the shared vocabulary. */
static inline ScModel *
sc_test_load_model (const char *path)
{
  GError *error = NULL;
  g_autofree char *vocab = sc_test_vocab_path ();
  ScModelOptions opts = { .vocab = vocab, .components = SC_COMPONENT_ALL };
  ScModel *m = sc_model_load (path, &opts, &error);
  g_assert_no_error (error);
  return m;
}
