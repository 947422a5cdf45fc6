/* Whole text-to-image runs against diffusers' StableDiffusionPipeline on the same tiny weights and the
 * same starting noise (fixtures from tests/reference/gen_pipeline.py), plus the pipeline's behaviour:
 * determinism, cancellation, bad parameters, img2img, and the parameters written into the PNG. */
#include "core/error.h"
#include "diffusion/pipeline.h"
#include "io/image.h"
#include "io/safetensors.h"
#include "models/make_model.h"
#include "test-models.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static char *tmpdir;

static ScModel *
load_tiny (const char *arch_name, uint64_t weight_seed)
{
  g_autofree char *path = sc_test_tiny_model_path (tmpdir, arch_name, weight_seed);
  return sc_test_load_model (path);
}

static void
test_against_diffusers (gconstpointer data)
{
  const char *fixture = data;
  if (!g_getenv ("SC_SHARED_DIR"))
    {
      g_test_skip ("SC_SHARED_DIR (the CLIP vocabulary) not set");
      return;
    }
  GError *error = NULL;
  g_autofree char *path = g_build_filename (g_getenv ("SC_FIXTURES_DIR"), fixture, NULL);
  ScSafetensors *st = sc_safetensors_open (path, &error);
  g_assert_no_error (error);
#define META(k) sc_safetensors_metadata (st, k)
  g_autoptr (ScModel) m = load_tiny (META ("arch"), g_ascii_strtoull (META ("weight_seed"), NULL, 10));
  ScGenerateParams p;
  sc_generate_params_init (&p);
  p.prompt = META ("prompt");
  p.negative_prompt = META ("negative_prompt");
  p.seed = g_ascii_strtoull (META ("seed"), NULL, 10);
  p.steps = atoi (META ("steps"));
  p.cfg_scale = (float) g_ascii_strtod (META ("cfg"), NULL);
  p.guidance_rescale = (float) g_ascii_strtod (META ("rescale"), NULL);
  p.width = atoi (META ("width"));
  p.height = atoi (META ("height"));
  g_assert_true (sc_sampler_kind_from_name (META ("sampler"), &p.sampler, &error));
  /* img2img fixtures carry their 8-bit init image [H, W, 3] */
  g_autoptr (ScImage) init = NULL;
  const ScStEntry *einit = sc_safetensors_find (st, "init_image");
  if (einit)
    {
      g_assert_cmpint (einit->dtype, ==, SC_DTYPE_U8);
      g_assert_cmpint (einit->numel, ==, (int64_t) p.width * p.height * 3);
      init = sc_image_new (p.width, p.height, 3, 8, &error);
      g_assert_no_error (error);
      memcpy (init->data, einit->data, (size_t) einit->numel);
      p.init_image = init;
      p.strength = g_ascii_strtod (META ("strength"), NULL);
    }
#undef META
  float *rgb = NULL, *latent = NULL;
  g_assert_true (sc_generate_float (m, sc_backend_cpu (), &p, NULL, NULL, &rgb, &latent, &error));
  g_assert_no_error (error);

  const ScStEntry *el = sc_safetensors_find (st, "latent"), *ei = sc_safetensors_find (st, "image");
  g_assert_nonnull (el);
  g_assert_nonnull (ei);
  int64_t h = p.height / 8, w = p.width / 8;
  g_assert_cmpint (el->numel, ==, 4 * h * w);
  g_assert_cmpint (ei->numel, ==, (int64_t) p.width * p.height * 3);
  float *ref_latent_nchw = g_new (float, el->numel), *ref_latent = g_new (float, el->numel);
  float *ref_image = g_new (float, ei->numel);
  g_assert_true (sc_st_entry_to_f32 (el, ref_latent_nchw, &error));
  g_assert_true (sc_st_entry_to_f32 (ei, ref_image, &error));
  sc_nchw_to_nhwc (ref_latent_nchw, ref_latent, 1, 4, h, w);
  double e_lat = sc_test_max_rel_error (latent, ref_latent, (size_t) el->numel);
  double e_img = sc_test_max_rel_error (rgb, ref_image, (size_t) ei->numel);
  g_test_message ("%s: max relative error latent %.3g, image %.3g (tolerance 1e-3)", fixture, e_lat, e_img);
  g_assert_cmpfloat (e_lat, <=, 1e-3);
  g_assert_cmpfloat (e_img, <=, 1e-3);
  g_free (ref_latent_nchw);
  g_free (ref_latent);
  g_free (ref_image);
  sc_free_floats (rgb);
  sc_free_floats (latent);
  sc_safetensors_close (st);
}

static void
small_params (ScGenerateParams *p)
{
  sc_generate_params_init (p);
  p->prompt = "a photo of a cat";
  p->width = p->height = 64;
  p->steps = 4;
  p->sampler = SC_SAMPLER_DDIM;
}

static void
test_determinism (void)
{
  if (!g_getenv ("SC_SHARED_DIR"))
    {
      g_test_skip ("SC_SHARED_DIR not set");
      return;
    }
  GError *error = NULL;
  g_autoptr (ScModel) m = load_tiny ("tiny-sd1", 5);
  ScGenerateParams p;
  small_params (&p);
  p.sampler = SC_SAMPLER_EULER_A;
  float *a = NULL, *b = NULL, *c = NULL;
  g_assert_true (sc_generate_float (m, sc_backend_cpu (), &p, NULL, NULL, NULL, &a, &error));
  g_assert_true (sc_generate_float (m, sc_backend_cpu (), &p, NULL, NULL, NULL, &b, &error));
  p.seed++;
  g_assert_true (sc_generate_float (m, sc_backend_cpu (), &p, NULL, NULL, NULL, &c, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (a, 8 * 8 * 4 * sizeof (float), b, 8 * 8 * 4 * sizeof (float));
  g_assert_cmpfloat (sc_test_max_rel_error (a, c, 8 * 8 * 4), >, 0.05);
  sc_free_floats (a);
  sc_free_floats (b);
  sc_free_floats (c);
}

typedef struct {
  GCancellable *cancellable;
  int cancel_at;
  int calls;
} CancelState;

static gboolean
cancel_progress (gpointer user, int step, int n_steps, const float *preview, int pw, int ph)
{
  CancelState *s = user;
  s->calls++;
  g_assert_cmpint (pw, ==, 8);
  g_assert_cmpint (ph, ==, 8);
  for (int i = 0; i < pw * ph * 3; i++)
    g_assert_true (preview[i] >= 0.0f && preview[i] <= 1.0f);
  if (step == s->cancel_at)
    g_cancellable_cancel (s->cancellable);
  return TRUE;
}

static void
test_cancel (void)
{
  if (!g_getenv ("SC_SHARED_DIR"))
    {
      g_test_skip ("SC_SHARED_DIR not set");
      return;
    }
  GError *error = NULL;
  g_autoptr (ScModel) m = load_tiny ("tiny-sd1", 5);
  ScGenerateParams p;
  small_params (&p);
  CancelState s = { .cancellable = g_cancellable_new (), .cancel_at = 1 };
  p.cancellable = s.cancellable;
  ScImage *img = sc_generate (m, sc_backend_cpu (), &p, cancel_progress, &s, &error);
  g_assert_null (img);
  g_assert_error (error, SC_ERROR, SC_ERROR_CANCELLED);
  g_assert_cmpint (s.calls, ==, 2); /* stopped within the step after the cancel */
  g_clear_error (&error);
  g_object_unref (s.cancellable);
}

static void
test_bad_params (void)
{
  if (!g_getenv ("SC_SHARED_DIR"))
    {
      g_test_skip ("SC_SHARED_DIR not set");
      return;
    }
  GError *error = NULL;
  g_autoptr (ScModel) m = load_tiny ("tiny-sd1", 5);
  ScGenerateParams p;
  small_params (&p);
  p.width = 100;
  g_assert_null (sc_generate (m, sc_backend_cpu (), &p, NULL, NULL, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  small_params (&p);
  p.steps = 0;
  g_assert_null (sc_generate (m, sc_backend_cpu (), &p, NULL, NULL, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* prompts that are not UTF-8 or are far too long still work (repaired / truncated like CLIP) */
  small_params (&p);
  GString *longp = g_string_new ("\xff\xfe broken bytes ");
  for (int i = 0; i < 200; i++)
    g_string_append (longp, "cat ");
  p.prompt = longp->str;
  ScImage *img = sc_generate (m, sc_backend_cpu (), &p, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (img);
  sc_image_free (img);
  g_string_free (longp, TRUE);
}

static void
test_img2img_and_metadata (void)
{
  if (!g_getenv ("SC_SHARED_DIR"))
    {
      g_test_skip ("SC_SHARED_DIR not set");
      return;
    }
  GError *error = NULL;
  g_autoptr (ScModel) m = load_tiny ("tiny-sd2", 5);
  ScGenerateParams p;
  small_params (&p);
  g_autoptr (ScImage) first = sc_generate (m, sc_backend_cpu (), &p, NULL, NULL, &error);
  g_assert_no_error (error);
  /* img2img from that image at a different size: it is resized, encoded, noised and denoised */
  p.init_image = first;
  p.strength = 0.5;
  p.width = 96;
  p.height = 64;
  g_autoptr (ScImage) second = sc_generate (m, sc_backend_cpu (), &p, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (second->width, ==, 96);
  g_assert_cmpint (second->height, ==, 64);
  p.strength = 1.5;
  g_assert_null (sc_generate (m, sc_backend_cpu (), &p, NULL, NULL, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* the PNG carries the parameters */
  p.strength = 0.5;
  p.negative_prompt = "blurry, \"quoted\"";
  g_autofree char *a1111 = sc_generate_params_to_a1111 (&p, m);
  g_autofree char *json = sc_generate_params_to_json (&p, m);
  g_assert_nonnull (strstr (a1111, "a photo of a cat\nNegative prompt: blurry, \"quoted\"\nSteps: 4, Sampler: DDIM"));
  g_assert_nonnull (strstr (a1111, "Size: 96x64"));
  g_assert_nonnull (strstr (a1111, "Denoising strength: 0.5"));
  g_autofree char *png = g_build_filename (tmpdir, "out.png", NULL);
  const char *keys[] = { "parameters", "scedit" };
  const char *values[] = { a1111, json };
  g_assert_true (sc_image_save_png (second, png, keys, values, 2, &error));
  g_assert_no_error (error);
  GHashTable *text = sc_png_read_text (png, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_hash_table_lookup (text, "parameters"), ==, a1111);
  g_assert_cmpstr (g_hash_table_lookup (text, "scedit"), ==, json);
  g_assert_nonnull (strstr (json, "\"seed\":\"0\""));
  g_hash_table_unref (text);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("sc-pipeline-XXXXXX", NULL);
  static const char *const fixtures[] = {
    "pipeline-tiny-sd1-ddim.safetensors",
    "pipeline-tiny-sd2-ddim.safetensors",
    "pipeline-tiny-sd1-euler-a-rescale.safetensors",
    "pipeline-tiny-sd2-dpmpp-2m.safetensors",
    "pipeline-tiny-sd1-img2img-ddim.safetensors",
  };
  for (size_t i = 0; i < G_N_ELEMENTS (fixtures); i++)
    {
      g_autofree char *name = g_strdup_printf ("/pipeline/diffusers/%s", fixtures[i]);
      g_test_add_data_func (name, fixtures[i], test_against_diffusers);
    }
  g_test_add_func ("/pipeline/determinism", test_determinism);
  g_test_add_func ("/pipeline/cancel", test_cancel);
  g_test_add_func ("/pipeline/bad-params", test_bad_params);
  g_test_add_func ("/pipeline/img2img-and-metadata", test_img2img_and_metadata);
  int rc = g_test_run ();
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmpdir);
  (void) system (cmd);
  g_free (tmpdir);
  return rc;
}
