/* The VAE against diffusers' AutoencoderKL (tests/fixtures/vae-tiny-sd1.safetensors, written by
 * tests/reference/gen_vae.py from `scedit make-model --arch tiny-sd1` weights; reference in float64).
 * The model is rebuilt here from the same deterministic random source, so the fixture holds only inputs
 * and outputs. Also: parameter counts (full-size figures of stable-diffusion.md §1.5), the parameter list
 * a random source records, the activation-memory plan, and argument errors. */
#include "backend/backend.h"
#include "core/error.h"
#include "core/tensor.h"
#include "io/safetensors.h"
#include "models/arch.h"
#include "models/vae.h"
#include "models/weights.h"
#include "test-util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LDM_PREFIX "first_stage_model."
#define TOLERANCE 1e-5 /* max|ours − ref| / max|ref|; the brief allows 1e-4 for fp32, we measure ~1.5e-6 */

typedef struct {
  ScSafetensors *st;
  uint64_t weight_seed;
} Fixture;

static void
fixture_open (Fixture *fx)
{
  const char *dir = g_getenv ("SC_FIXTURES_DIR");
  g_autofree char *path = g_build_filename (dir ? dir : "tests/fixtures", "vae-tiny-sd1.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  fx->st = sc_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sc_safetensors_metadata (fx->st, "generator"), ==, "tests/reference/gen_vae.py");
  g_assert_cmpstr (sc_safetensors_metadata (fx->st, "arch"), ==, "tiny-sd1");
  const char *seed = sc_safetensors_metadata (fx->st, "weight_seed");
  g_assert_nonnull (seed);
  fx->weight_seed = g_ascii_strtoull (seed, NULL, 10);
}

/* Tensor NAME (NCHW in the file) as NHWC floats; shape in n, c, h, w. */
static float *
fixture_nhwc (Fixture *fx, const char *name, int64_t *n, int64_t *c, int64_t *h, int64_t *w)
{
  const ScStEntry *e = sc_safetensors_find (fx->st, name);
  g_assert_nonnull (e);
  g_assert_cmpint (e->ndim, ==, 4);
  *n = e->shape[0];
  *c = e->shape[1];
  *h = e->shape[2];
  *w = e->shape[3];
  g_autofree float *nchw = g_new (float, e->numel);
  g_autoptr (GError) error = NULL;
  g_assert_true (sc_st_entry_to_f32 (e, nchw, &error));
  float *nhwc = g_new (float, e->numel);
  sc_nchw_to_nhwc (nchw, nhwc, *n, *c, *h, *w);
  return nhwc;
}

static ScVae *
build_tiny (uint64_t seed, gboolean enc, gboolean dec, ScWeightSource **src_out)
{
  const ScArchConfig *arch = sc_arch_config (SC_ARCH_TINY_SD1);
  ScWeightSource *src = sc_weight_source_new_random (seed);
  g_autoptr (GError) error = NULL;
  ScVae *vae = sc_vae_new (&arch->vae, src, LDM_PREFIX, enc, dec, &error);
  g_assert_no_error (error);
  if (src_out)
    *src_out = src;
  else
    sc_weight_source_free (src);
  return vae;
}

static void
check_encode (Fixture *fx, ScVae *vae, const char *suffix)
{
  g_autofree char *in_name = g_strconcat ("encode_image", suffix, NULL);
  g_autofree char *out_name = g_strconcat ("encode_moments", suffix, NULL);
  int64_t B, C, H, W, b2, c2, h2, w2;
  g_autofree float *image = fixture_nhwc (fx, in_name, &B, &C, &H, &W);
  g_autofree float *want = fixture_nhwc (fx, out_name, &b2, &c2, &h2, &w2);
  g_assert_cmpint (C, ==, 3);
  g_assert_true (b2 == B && c2 == 8 && h2 == H / 8 && w2 == W / 8);
  int64_t n = b2 * h2 * w2 * c2;
  g_autofree float *got = g_new0 (float, n);
  g_autoptr (GError) error = NULL;
  g_assert_true (sc_vae_encode (vae, sc_backend_cpu (), image, B, H, W, got, &error));
  g_assert_no_error (error);
  double rel = sc_test_max_rel_error (got, want, n);
  g_test_message ("encode %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                  ": max relative error %.3g", B, H, W, rel);
  g_assert_cmpfloat (rel, <=, TOLERANCE);
}

static void
check_decode (Fixture *fx, ScVae *vae, const char *suffix)
{
  g_autofree char *in_name = g_strconcat ("decode_z", suffix, NULL);
  g_autofree char *out_name = g_strconcat ("decode_image", suffix, NULL);
  int64_t B, C, h, w, b2, c2, H, W;
  g_autofree float *z = fixture_nhwc (fx, in_name, &B, &C, &h, &w);
  g_autofree float *want = fixture_nhwc (fx, out_name, &b2, &c2, &H, &W);
  g_assert_cmpint (C, ==, 4);
  g_assert_true (b2 == B && c2 == 3 && H == 8 * h && W == 8 * w);
  int64_t n = b2 * H * W * c2;
  g_autofree float *got = g_new0 (float, n);
  g_autoptr (GError) error = NULL;
  g_assert_true (sc_vae_decode (vae, sc_backend_cpu (), z, B, h, w, got, &error));
  g_assert_no_error (error);
  double rel = sc_test_max_rel_error (got, want, n);
  g_test_message ("decode %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                  ": max relative error %.3g", B, h, w, rel);
  g_assert_cmpfloat (rel, <=, TOLERANCE);
}

static void
test_encode (void)
{
  Fixture fx = { 0 };
  fixture_open (&fx);
  ScVae *vae = build_tiny (fx.weight_seed, TRUE, FALSE, NULL);
  check_encode (&fx, vae, "");
  check_encode (&fx, vae, "_48x80");
  sc_vae_free (vae);
  sc_safetensors_close (fx.st);
}

static void
test_decode (void)
{
  Fixture fx = { 0 };
  fixture_open (&fx);
  ScVae *vae = build_tiny (fx.weight_seed, FALSE, TRUE, NULL);
  check_decode (&fx, vae, "");
  check_decode (&fx, vae, "_6x10");
  sc_vae_free (vae);
  sc_safetensors_close (fx.st);
}

static int64_t
records_numel (ScWeightSource *src, const char *must_prefix)
{
  const GPtrArray *recs = sc_weight_source_records (src);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  int64_t total = 0;
  for (guint i = 0; i < recs->len; i++)
    {
      const ScWeightRecord *r = recs->pdata[i];
      g_assert_true (g_str_has_prefix (r->name, must_prefix));
      g_assert_true (g_hash_table_add (seen, r->name)); /* each parameter requested once */
      int64_t n = 1;
      for (int d = 0; d < r->ndim; d++)
        n *= r->shape[d];
      total += n;
    }
  return total;
}

static void
test_param_count (void)
{
  /* Full size (sd15 and sd21 share the VAE): stable-diffusion.md §1.5. */
  g_assert_cmpint (sc_vae_config_param_count (&sc_arch_config (SC_ARCH_SD15)->vae), ==, 83653863);
  g_assert_cmpint (sc_vae_config_param_count (&sc_arch_config (SC_ARCH_SD21)->vae), ==, 83653863);

  /* Tiny: the formula, the built model and what the source handed out agree; the LDM tensor count. */
  const ScVaeConfig *cfg = &sc_arch_config (SC_ARCH_TINY_SD1)->vae;
  ScWeightSource *src = NULL;
  ScVae *vae = build_tiny (1, TRUE, TRUE, &src);
  int64_t built = sc_vae_param_count (vae);
  g_test_message ("tiny VAE: %" G_GINT64_FORMAT " parameters in %u tensors", built,
                  sc_weight_source_records (src)->len);
  g_assert_cmpint (built, ==, sc_vae_config_param_count (cfg));
  g_assert_cmpint (built, ==, records_numel (src, LDM_PREFIX));
  sc_vae_free (vae);
  sc_weight_source_free (src);

  /* Encoder and decoder alone split the total. */
  ScWeightSource *se = NULL, *sd = NULL;
  ScVae *enc = build_tiny (1, TRUE, FALSE, &se), *dec = build_tiny (1, FALSE, TRUE, &sd);
  g_assert_cmpint (sc_vae_param_count (enc) + sc_vae_param_count (dec), ==, built);
  g_assert_cmpint (sc_vae_param_count (enc), ==, records_numel (se, LDM_PREFIX));
  g_assert_cmpint (sc_vae_param_count (dec), ==, records_numel (sd, LDM_PREFIX));
  sc_vae_free (enc);
  sc_vae_free (dec);
  sc_weight_source_free (se);
  sc_weight_source_free (sd);
}

static void
test_ldm_names (void)
{
  /* A few names and shapes an LDM checkpoint stores, as the random source recorded them. */
  ScWeightSource *src = NULL;
  ScVae *vae = build_tiny (1, TRUE, TRUE, &src);
  const GPtrArray *recs = sc_weight_source_records (src);
  static const struct { const char *name; int ndim; int64_t shape[4]; } want[] = {
    { LDM_PREFIX "encoder.conv_in.weight", 4, { 32, 3, 3, 3 } },
    { LDM_PREFIX "encoder.down.0.downsample.conv.weight", 4, { 32, 32, 3, 3 } },
    { LDM_PREFIX "encoder.down.2.block.0.nin_shortcut.weight", 4, { 64, 32, 1, 1 } },
    { LDM_PREFIX "encoder.mid.attn_1.q.weight", 4, { 64, 64, 1, 1 } },
    { LDM_PREFIX "encoder.conv_out.weight", 4, { 8, 64, 3, 3 } },
    { LDM_PREFIX "decoder.up.3.upsample.conv.weight", 4, { 64, 64, 3, 3 } },
    { LDM_PREFIX "decoder.up.1.block.0.nin_shortcut.weight", 4, { 32, 64, 1, 1 } },
    { LDM_PREFIX "decoder.up.0.block.1.norm2.bias", 1, { 32 } },
    { LDM_PREFIX "decoder.mid.attn_1.proj_out.bias", 1, { 64 } },
    { LDM_PREFIX "quant_conv.weight", 4, { 8, 8, 1, 1 } },
    { LDM_PREFIX "post_quant_conv.weight", 4, { 4, 4, 1, 1 } },
  };
  for (size_t k = 0; k < G_N_ELEMENTS (want); k++)
    {
      gboolean found = FALSE;
      for (guint i = 0; i < recs->len && !found; i++)
        {
          const ScWeightRecord *r = recs->pdata[i];
          if (strcmp (r->name, want[k].name) != 0)
            continue;
          found = TRUE;
          g_assert_cmpint (r->ndim, ==, want[k].ndim);
          for (int d = 0; d < r->ndim; d++)
            g_assert_cmpint (r->shape[d], ==, want[k].shape[d]);
        }
      if (!found)
        g_error ("tensor %s was not requested", want[k].name);
    }
  /* Things that must not exist: a downsample on the last level, an upsample on level 0. */
  for (guint i = 0; i < recs->len; i++)
    {
      const ScWeightRecord *r = recs->pdata[i];
      g_assert_null (strstr (r->name, "down.3.downsample"));
      g_assert_null (strstr (r->name, "up.0.upsample"));
    }
  sc_vae_free (vae);
  sc_weight_source_free (src);
}

static void
test_activation_plan (void)
{
  const ScVaeConfig *cfg = &sc_arch_config (SC_ARCH_SD15)->vae;
  int64_t dec = sc_vae_config_activation_bytes (cfg, TRUE, 1, 512, 512);
  int64_t enc = sc_vae_config_activation_bytes (cfg, FALSE, 1, 512, 512);
  g_test_message ("SD VAE activations at 512x512: decode %.1f MiB, encode %.1f MiB", dec / 1048576.0,
                  enc / 1048576.0);
  /* Decode: up.0's upsampled input and conv output (256 ch) plus one 128-channel scratch, at 512². */
  g_assert_cmpint (dec, ==, (int64_t) (256 + 256 + 128) * 512 * 512 * 4);
  /* Encode: three 128-channel buffers at 512². */
  g_assert_cmpint (enc, ==, (int64_t) 3 * 128 * 512 * 512 * 4);
  /* Linear in the batch. */
  g_assert_cmpint (sc_vae_config_activation_bytes (cfg, TRUE, 2, 512, 512), ==, 2 * dec);
}

static void
test_errors (void)
{
  ScVae *enc = build_tiny (1, TRUE, FALSE, NULL);
  float img[3 * 12 * 16] = { 0 }, out[8 * 4] = { 0 };
  g_autoptr (GError) e1 = NULL, e2 = NULL, e3 = NULL;
  /* 12 is not a multiple of 8 */
  g_assert_false (sc_vae_encode (enc, sc_backend_cpu (), img, 1, 12, 16, out, &e1));
  g_assert_error (e1, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  /* the decoder was not loaded */
  g_assert_false (sc_vae_decode (enc, sc_backend_cpu (), out, 1, 1, 1, img, &e2));
  g_assert_error (e2, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  sc_vae_free (enc);

  /* A file store without the tensors: the error names the first missing one. */
  ScWeightSource *empty = sc_weight_source_new_files ();
  g_assert_null (sc_vae_new (&sc_arch_config (SC_ARCH_TINY_SD1)->vae, empty, LDM_PREFIX, FALSE, TRUE, &e3));
  g_assert_nonnull (e3);
  g_assert_nonnull (strstr (e3->message, "decoder.conv_in.weight"));
  sc_weight_source_free (empty);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vae/param-count", test_param_count);
  g_test_add_func ("/vae/ldm-names", test_ldm_names);
  g_test_add_func ("/vae/activation-plan", test_activation_plan);
  g_test_add_func ("/vae/errors", test_errors);
  g_test_add_func ("/vae/encode", test_encode);
  g_test_add_func ("/vae/decode", test_decode);
  return g_test_run ();
}
