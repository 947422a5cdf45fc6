/* The `scedit` command line is a contract (outside checks rely on its names and formats): run the real
 * binary and check each command's output. */
#include "test-cli-run.h"
#include "core/error.h"
#include "io/image.h"
#include "io/safetensors.h"
#include "models/name_map.h"
#include "models/unet.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static char *tmpdir;
static const char *scedit;


static char *
vocab (void)
{
  return g_build_filename (g_getenv ("SC_SHARED_DIR"), "data", "clip-bpe", "bpe_simple_vocab_16e6.txt.gz", NULL);
}

static char *
tmp (const char *leaf)
{
  return g_build_filename (tmpdir, leaf, NULL);
}

static gboolean
need_shared (void)
{
  if (g_getenv ("SC_SHARED_DIR") && g_file_test (g_getenv ("SC_SHARED_DIR"), G_FILE_TEST_IS_DIR))
    return TRUE;
  g_test_skip ("SC_SHARED_DIR (the CLIP vocabulary) not available");
  return FALSE;
}

static void
test_usage (void)
{
  ScTestRun r = sc_test_run_scedit (NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "Usage: scedit COMMAND"));
  sc_test_run_clear (&r);
  r = sc_test_run_scedit ("frobnicate", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "unknown command"));
  sc_test_run_clear (&r);
  r = sc_test_run_scedit ("generate", "-p", "x", NULL);
  g_assert_cmpint (r.status, ==, 2);
  sc_test_run_clear (&r);
}

static void
test_tokenize (void)
{
  if (!need_shared ())
    return;
  g_autofree char *v = vocab ();
  ScTestRun r = sc_test_run_scedit ("tokenize", "--vocab", v, "a photo of a cat", "A Photo of a TREE!", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_auto (GStrv) lines = g_strsplit (r.out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3); /* two lines and the empty tail */
  g_auto (GStrv) ids = g_strsplit (lines[0], " ", -1);
  g_assert_cmpuint (g_strv_length (ids), ==, 77);
  g_assert_true (g_str_has_prefix (lines[0], "49406 320 1125 539 320 2368 49407 49407 "));
  g_assert_true (g_str_has_prefix (lines[1], "49406 320 1125 539 320 2677 256 49407 49407"));
  sc_test_run_clear (&r);
  r = sc_test_run_scedit ("tokenize", "--kind", "sd2", "--vocab", v, "a photo of a cat", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_str_has_prefix (r.out, "49406 320 1125 539 320 2368 49407 0 0 "));
  sc_test_run_clear (&r);
  r = sc_test_run_scedit ("tokenize", "--kind", "sd3", "--vocab", v, "x", NULL);
  g_assert_cmpint (r.status, ==, 2);
  sc_test_run_clear (&r);
}

static void
test_make_model_and_info (void)
{
  g_autofree char *dir = tmp ("tiny-sd2");
  ScTestRun r = sc_test_run_scedit ("make-model", "--arch", "tiny-sd2", "--seed", "3", "--layout", "diffusers", "-o", dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);
  r = sc_test_run_scedit ("info", dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "arch: tiny-sd2\n"));
  g_assert_nonnull (strstr (r.out, "family: sd2\n"));
  g_assert_nonnull (strstr (r.out, "layout: diffusers folder\n"));
  g_assert_nonnull (strstr (r.out, "prediction: eps (scheduler_config.json)\n"));
  g_assert_nonnull (strstr (r.out, "dtype: F32\n"));
  g_assert_nonnull (strstr (r.out, "params.unet: 3277988\n"));
  sc_test_run_clear (&r);

  g_autofree char *f16 = tmp ("tiny-sd1-f16.safetensors");
  r = sc_test_run_scedit ("make-model", "--arch", "tiny-sd1", "--dtype", "f16", "-o", f16, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);
  r = sc_test_run_scedit ("info", f16, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "arch: tiny-sd1\n"));
  g_assert_nonnull (strstr (r.out, "layout: ldm single file\n"));
  g_assert_nonnull (strstr (r.out, "dtype: F16\n"));
  g_assert_nonnull (strstr (r.out, "params.unet: 3222692\n"));
  sc_test_run_clear (&r);

  r = sc_test_run_scedit ("make-model", "--arch", "sd99", "-o", f16, NULL);
  g_assert_cmpint (r.status, ==, 2);
  sc_test_run_clear (&r);
  r = sc_test_run_scedit ("info", "/nonexistent/model.safetensors", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_true (g_str_has_prefix (r.err, "scedit: error: No such file or folder"));
  sc_test_run_clear (&r);
}

/* `eval unet` reads PyTorch-layout tensors and must equal the in-process U-Net built from the same seed. */
static void
test_eval_unet (void)
{
  GError *error = NULL;
  g_autofree char *model = tmp ("tiny-sd1.safetensors");
  ScTestRun r = sc_test_run_scedit ("make-model", "--arch", "tiny-sd1", "--seed", "9", "-o", model, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);

  const int64_t B = 1, C = 4, H = 8, W = 6, N = 77, ctx = 32;
  float x[B * C * H * W], context[B * N * ctx];
  int64_t t[1] = { 500 };
  for (int i = 0; i < B * C * H * W; i++)
    x[i] = sinf ((float) i);
  for (int i = 0; i < B * N * ctx; i++)
    context[i] = cosf ((float) i * 0.3f);
  ScSafetensorsWriter *w = sc_safetensors_writer_new ();
  int64_t xs[4] = { B, C, H, W }, ts[1] = { 1 }, cs[3] = { B, N, ctx };
  sc_safetensors_writer_add (w, "x", SC_DTYPE_F32, 4, xs, x, NULL);
  sc_safetensors_writer_add (w, "t", SC_DTYPE_I64, 1, ts, t, NULL);
  sc_safetensors_writer_add (w, "context", SC_DTYPE_F32, 3, cs, context, NULL);
  g_autofree char *in = tmp ("unet-in.safetensors");
  g_assert_true (sc_safetensors_writer_save (w, in, &error));
  sc_safetensors_writer_free (w);

  g_autofree char *out = tmp ("unet-out.safetensors");
  r = sc_test_run_scedit ("eval", "unet", "-m", model, "--in", in, "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);
  ScSafetensors *st = sc_safetensors_open (out, &error);
  g_assert_no_error (error);
  const ScStEntry *e = sc_safetensors_find (st, "out");
  g_assert_nonnull (e);
  g_assert_cmpint (e->ndim, ==, 4);
  g_assert_cmpint (e->shape[0], ==, B);
  g_assert_cmpint (e->shape[1], ==, 4);
  g_assert_cmpint (e->shape[2], ==, H);
  g_assert_cmpint (e->shape[3], ==, W);
  float got[B * 4 * H * W];
  g_assert_true (sc_st_entry_to_f32 (e, got, &error));
  sc_safetensors_close (st);

  ScWeightSource *src = sc_weight_source_new_random (9);
  ScUNet *u = sc_unet_new (&sc_arch_config (SC_ARCH_TINY_SD1)->unet, src, SC_LDM_UNET_PREFIX, &error);
  g_assert_no_error (error);
  float x_nhwc[B * H * W * C], want_nhwc[B * H * W * 4], want[B * 4 * H * W], tf = 500.0f;
  sc_nchw_to_nhwc (x, x_nhwc, B, C, H, W);
  g_assert_true (sc_unet_forward (u, sc_backend_cpu (), x_nhwc, B, H, W, &tf, context, N, want_nhwc, NULL, &error));
  sc_nhwc_to_nchw (want_nhwc, want, B, H, W, 4);
  g_assert_cmpmem (got, sizeof got, want, sizeof want);
  sc_unet_free (u);
  sc_weight_source_free (src);

  /* inputs that do not fit the model: a clear error, exit status 1 */
  g_autofree char *bad = tmp ("unet-bad.safetensors");
  w = sc_safetensors_writer_new ();
  int64_t bad_cs[3] = { B, N, 16 };
  sc_safetensors_writer_add (w, "x", SC_DTYPE_F32, 4, xs, x, NULL);
  sc_safetensors_writer_add (w, "t", SC_DTYPE_I64, 1, ts, t, NULL);
  sc_safetensors_writer_add (w, "context", SC_DTYPE_F32, 3, bad_cs, context, NULL);
  g_assert_true (sc_safetensors_writer_save (w, bad, &error));
  sc_safetensors_writer_free (w);
  r = sc_test_run_scedit ("eval", "unet", "-m", model, "--in", bad, "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "context width"));
  sc_test_run_clear (&r);
}

static void
test_eval_text_and_vae (void)
{
  GError *error = NULL;
  g_autofree char *model = tmp ("tiny-sd1.safetensors");
  if (!g_file_test (model, G_FILE_TEST_EXISTS))
    {
      ScTestRun m = sc_test_run_scedit ("make-model", "--arch", "tiny-sd1", "--seed", "9", "-o", model, NULL);
      sc_test_run_clear (&m);
    }
  int64_t ids[2 * 77] = { 0 };
  for (int i = 0; i < 2 * 77; i++)
    ids[i] = i % 77 == 0 ? 49406 : 49407;
  float latent[1 * 4 * 4 * 6], image[1 * 3 * 16 * 24];
  for (size_t i = 0; i < G_N_ELEMENTS (latent); i++)
    latent[i] = sinf ((float) i);
  for (size_t i = 0; i < G_N_ELEMENTS (image); i++)
    image[i] = cosf ((float) i) * 0.9f;
  ScSafetensorsWriter *w = sc_safetensors_writer_new ();
  int64_t is[2] = { 2, 77 }, ls[4] = { 1, 4, 4, 6 }, ims[4] = { 1, 3, 16, 24 };
  sc_safetensors_writer_add (w, "ids", SC_DTYPE_I64, 2, is, ids, NULL);
  sc_safetensors_writer_add (w, "latent", SC_DTYPE_F32, 4, ls, latent, NULL);
  sc_safetensors_writer_add (w, "image", SC_DTYPE_F32, 4, ims, image, NULL);
  g_autofree char *in = tmp ("io-in.safetensors");
  g_assert_true (sc_safetensors_writer_save (w, in, &error));
  sc_safetensors_writer_free (w);
  struct {
    const char *what;
    int64_t shape[4];
    int ndim;
  } cases[] = {
    { "text", { 2, 77, 32 }, 3 },
    { "vae-decode", { 1, 3, 32, 48 }, 4 },
    { "vae-encode", { 1, 4, 2, 3 }, 4 },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = tmp ("io-out.safetensors");
      ScTestRun r = sc_test_run_scedit ("eval", cases[i].what, "-m", model, "--in", in, "-o", out, NULL);
      g_assert_cmpint (r.status, ==, 0);
      sc_test_run_clear (&r);
      ScSafetensors *st = sc_safetensors_open (out, &error);
      g_assert_no_error (error);
      const ScStEntry *e = sc_safetensors_find (st, "out");
      g_assert_nonnull (e);
      g_assert_cmpint (e->ndim, ==, cases[i].ndim);
      for (int d = 0; d < e->ndim; d++)
        g_assert_cmpint (e->shape[d], ==, cases[i].shape[d]);
      sc_safetensors_close (st);
    }
}

static void
test_generate (void)
{
  if (!need_shared ())
    return;
  GError *error = NULL;
  g_autofree char *model = tmp ("tiny-sd1.safetensors");
  if (!g_file_test (model, G_FILE_TEST_EXISTS))
    {
      ScTestRun m = sc_test_run_scedit ("make-model", "--arch", "tiny-sd1", "--seed", "9", "-o", model, NULL);
      sc_test_run_clear (&m);
    }
  g_autofree char *v = vocab ();
  g_autofree char *png = tmp ("cat.png");
  ScTestRun r = sc_test_run_scedit ("generate", "-m", model, "--vocab", v, "-p", "a photo of a cat", "-n", "blurry", "--steps", "2",
               "--sampler", "dpmpp_2m", "--seed", "123", "-W", "64", "-H", "48", "-o", png, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "Saved"));
  g_assert_nonnull (strstr (r.err, "SD 1.x (tiny-sd1)"));
  sc_test_run_clear (&r);
  g_autoptr (ScImage) img = sc_image_load (png, &error);
  g_assert_no_error (error);
  g_assert_cmpint (img->width, ==, 64);
  g_assert_cmpint (img->height, ==, 48);
  GHashTable *text = sc_png_read_text (png, &error);
  g_assert_no_error (error);
  const char *params = g_hash_table_lookup (text, "parameters");
  g_assert_nonnull (params);
  g_assert_true (g_str_has_prefix (params, "a photo of a cat\nNegative prompt: blurry\nSteps: 2, Sampler: DPM++ 2M, "
                                           "CFG scale: 7.5, Seed: 123, Size: 64x48"));
  g_assert_nonnull (g_hash_table_lookup (text, "scedit"));
  g_hash_table_unref (text);

  /* img2img from that picture */
  g_autofree char *png2 = tmp ("cat2.png");
  r = sc_test_run_scedit ("generate", "-m", model, "--vocab", v, "-p", "a photo of a cat", "--steps", "4", "--init", png,
           "--strength", "0.5", "-W", "64", "-H", "48", "-o", png2, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);
  g_assert_true (g_file_test (png2, G_FILE_TEST_EXISTS));

  /* bad input: clear errors, non-zero status, nothing written */
  g_autofree char *none = tmp ("none.png");
  r = sc_test_run_scedit ("generate", "-m", model, "--vocab", v, "-p", "x", "-W", "100", "-o", none, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "multiples of 8"));
  g_assert_false (g_file_test (none, G_FILE_TEST_EXISTS));
  sc_test_run_clear (&r);
  r = sc_test_run_scedit ("generate", "-m", model, "--vocab", v, "-p", "x", "--sampler", "plms", "-o", none, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "sampler"));
  sc_test_run_clear (&r);
  g_autofree char *broken = tmp ("broken.png");
  g_assert_true (g_file_set_contents (broken, "\x89PNG\r\n\x1a\n garbage", 16, NULL));
  r = sc_test_run_scedit ("generate", "-m", model, "--vocab", v, "-p", "x", "--init", broken, "-o", none, NULL);
  g_assert_cmpint (r.status, ==, 1);
  sc_test_run_clear (&r);
}

static gboolean
same_pixels (const char *a_path, const char *b_path)
{
  GError *error = NULL;
  g_autoptr (ScImage) a = sc_image_load (a_path, &error);
  g_assert_no_error (error);
  g_autoptr (ScImage) b = sc_image_load (b_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (a->width, ==, b->width);
  g_assert_cmpint (a->height, ==, b->height);
  return memcmp (a->data, b->data, (size_t) a->width * a->height * a->channels) == 0;
}

/* generate with SCEdit: a style tuner and a controller with a canny condition change the picture; all
 * weights at zero give the base model's picture exactly. */
static void
test_generate_scedit (void)
{
  if (!need_shared ())
    return;
  g_autofree char *model = tmp ("tiny-sd1.safetensors");
  if (!g_file_test (model, G_FILE_TEST_EXISTS))
    {
      ScTestRun m = sc_test_run_scedit ("make-model", "--arch", "tiny-sd1", "--seed", "9", "-o", model, NULL);
      sc_test_run_clear (&m);
    }
  g_autofree char *v = vocab ();
  g_autofree char *sc = tmp ("style.safetensors"), *csc = tmp ("canny-control.safetensors");
  g_autofree char *sc2 = tmp ("style-sd15.safetensors");
  ScTestRun r = sc_test_run_scedit ("make-tuner", "--kind", "sc", "--arch", "tiny-sd1", "--random-all", "--seed", "2", "-o", sc, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);
  r = sc_test_run_scedit ("make-tuner", "--kind", "csc", "--arch", "tiny-sd1", "--random-all", "--seed", "3", "-o", csc, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);
  /* an SD1.5 tuner (other skip widths; ratio 0.1 keeps the file at 8 MB) */
  r = sc_test_run_scedit ("make-tuner", "--kind", "sc", "--arch", "sd15", "--ratio", "0.1", "-o", sc2, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);
  g_autofree char *picture = g_build_filename (g_getenv ("SC_FIXTURES_DIR"), "img-orient1.jpg", NULL);
  g_autofree char *cond = g_strdup_printf ("canny=%s:0.7", picture);
  g_autofree char *cond0 = g_strdup_printf ("canny=%s:0", picture);
  g_autofree char *style = g_strdup_printf ("%s:0.8", sc), *style0 = g_strdup_printf ("%s:0", sc);
  g_autofree char *base = tmp ("base.png"), *tuned = tmp ("tuned.png"), *zero = tmp ("zero.png");
#define GEN(out, ...) sc_test_run_scedit ("generate", "-m", model, "--vocab", v, "-p", "a cat", "--steps", "3", "-W", "64", "-H", "64", \
                           "-o", out, __VA_ARGS__, NULL)
  r = GEN (base, "--seed", "5");
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);
  r = GEN (tuned, "--seed", "5", "--tuner", style, "--control", csc, "--cond", cond);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "SCEdit: style style.safetensors 0.8, canny 0.7"));
  sc_test_run_clear (&r);
  r = GEN (zero, "--seed", "5", "--tuner", style0, "--control", csc, "--cond", cond0);
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);
  g_assert_false (same_pixels (base, tuned));
  g_assert_true (same_pixels (base, zero));
  GError *error = NULL;
  GHashTable *text = sc_png_read_text (tuned, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (g_hash_table_lookup (text, "parameters"), ", SCEdit: style style.safetensors 0.8, canny 0.7"));
  g_hash_table_unref (text);

  /* an inpainting controller takes the init image with the mask cut out, without a separate picture */
  g_autofree char *mask = tmp ("mask.png"), *inpainted = tmp ("inpainted.png");
  {
    g_autoptr (ScImage) m = sc_image_new (64, 64, 1, 8, &error);
    g_assert_no_error (error);
    for (int y = 16; y < 40; y++)
      memset ((guint8 *) m->data + y * 64 + 20, 255, 24);
    g_assert_true (sc_image_save_png (m, mask, NULL, NULL, 0, &error));
  }
  r = sc_test_run_scedit ("generate", "-m", model, "--vocab", v, "-p", "a cat", "--steps", "3", "--init", base, "--mask", mask,
           "--control", csc, "--cond", "inpaint:0.5", "-o", inpainted, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "SCEdit: inpaint 0.5"));
  sc_test_run_clear (&r);

  /* mistakes: clear errors, exit status 1 */
  r = GEN (zero, "--control", csc);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "--cond"));
  sc_test_run_clear (&r);
  g_autofree char *bad_kind = g_strdup_printf ("pose=%s", picture);
  r = GEN (zero, "--control", csc, "--cond", bad_kind);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "Unknown condition"));
  sc_test_run_clear (&r);
  r = GEN (zero, "--tuner", sc2);
  g_assert_cmpint (r.status, ==, 1);
  g_test_message ("%s", r.err);
  sc_test_run_clear (&r);
#undef GEN
}

static void
test_bench (void)
{
  ScTestRun r = sc_test_run_scedit ("bench", "unet", "--arch", "tiny-sd1", "--res", "64", "--batch", "2", "--threads", "1", "--iters", "1",
               NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_auto (GStrv) lines = g_strsplit (g_strstrip (r.out), "\n", -1);
  const char *last = lines[g_strv_length (lines) - 1];
  g_assert_true (g_regex_match_simple ("^unet tiny-sd1 64px batch 2 threads 1: median [0-9.]+ ms over 1 iterations, "
                                       "peak RSS [0-9.]+ MiB$", last, 0, 0));
  sc_test_run_clear (&r);
  r = sc_test_run_scedit ("bench", "unet", "--arch", "tiny-sd1", "--res", "63", NULL);
  g_assert_cmpint (r.status, ==, 2);
  sc_test_run_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  scedit = g_getenv ("SC_SCEDIT");
  if (!scedit)
    {
      g_printerr ("SC_SCEDIT (path of the scedit binary) is not set\n");
      return 1;
    }
  tmpdir = g_dir_make_tmp ("sc-cli-XXXXXX", NULL);
  g_test_add_func ("/cli/usage", test_usage);
  g_test_add_func ("/cli/tokenize", test_tokenize);
  g_test_add_func ("/cli/make-model-and-info", test_make_model_and_info);
  g_test_add_func ("/cli/eval-unet", test_eval_unet);
  g_test_add_func ("/cli/eval-text-and-vae", test_eval_text_and_vae);
  g_test_add_func ("/cli/generate", test_generate);
  g_test_add_func ("/cli/generate-scedit", test_generate_scedit);
  g_test_add_func ("/cli/bench", test_bench);
  int rc = g_test_run ();
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmpdir);
  (void) system (cmd);
  g_free (tmpdir);
  return rc;
}
