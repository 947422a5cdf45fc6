/* scedit — the command-line face of the engine: generate images, inspect and make models, run one
 * component on reference inputs, benchmark. The command names and output formats are a contract
 * (outside checks rely on them): change them only together with the issues that define them. */
#include "scedit.h"
#include "sc-config.h"
#include "core/philox.h"
#include "models/weights.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int
fail (GError *error)
{
  g_printerr ("scedit: error: %s\n", error ? error->message : "unknown error");
  g_clear_error (&error);
  return 1;
}

static int
usage_error (GOptionContext *ctx, const char *msg)
{
  g_printerr ("scedit: %s\n\n", msg);
  g_autofree char *help = g_option_context_get_help (ctx, TRUE, NULL);
  g_printerr ("%s", help);
  return 2;
}

/* Parses a subcommand's options; argv[0] is the subcommand. */
static gboolean
parse_options (GOptionContext *ctx, int *argc, char ***argv, GError **error)
{
  return g_option_context_parse (ctx, argc, argv, error);
}

static void
apply_threads (int threads)
{
  sc_set_num_threads (threads);
}

/* ---- tensors in reference files --------------------------------------------------------------------- */

/* Reads tensor NAME of IN as f32; NULL with an error naming it. */
static float *
read_f32 (ScSafetensors *st, const char *name, const ScStEntry **entry, GError **error)
{
  const ScStEntry *e = sc_safetensors_find (st, name);
  if (!e)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_MISSING_TENSOR, "Input file has no tensor “%s”", name);
      return NULL;
    }
  float *v = sc_alloc_floats ((size_t) MAX (e->numel, 1), error);
  if (v && !sc_st_entry_to_f32 (e, v, error))
    {
      sc_free_floats (v);
      return NULL;
    }
  if (entry)
    *entry = e;
  return v;
}

static gboolean
expect_ndim (const ScStEntry *e, int ndim, const char *layout, GError **error)
{
  if (e->ndim != ndim)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_SHAPE, "Input tensor “%s” must be %d-D (%s), it is %d-D", e->name, ndim,
                   layout, e->ndim);
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_out (const char *path, const char *name, int ndim, const int64_t *shape, const float *data,
           const char *extra_name, int extra_ndim, const int64_t *extra_shape, const float *extra, GError **error)
{
  ScSafetensorsWriter *w = sc_safetensors_writer_new ();
  sc_safetensors_writer_set_metadata (w, "generator", "scedit eval");
  sc_safetensors_writer_add (w, name, SC_DTYPE_F32, ndim, shape, data, NULL);
  if (extra)
    sc_safetensors_writer_add (w, extra_name, SC_DTYPE_F32, extra_ndim, extra_shape, extra, NULL);
  gboolean ok = sc_safetensors_writer_save (w, path, error);
  sc_safetensors_writer_free (w);
  return ok;
}

static gboolean
eval_unet (ScModel *m, ScSafetensors *in, const char *out_path, GError **error)
{
  const ScStEntry *ex, *et, *ec;
  g_autofree float *dummy = NULL;
  float *x = NULL, *t = NULL, *ctx = NULL, *x_nhwc = NULL, *out = NULL, *out_nchw = NULL, *tb = NULL;
  gboolean ok = FALSE;
  if (!(x = read_f32 (in, "x", &ex, error)) || !expect_ndim (ex, 4, "NCHW", error) ||
      !(t = read_f32 (in, "t", &et, error)) || !(ctx = read_f32 (in, "context", &ec, error)) ||
      !expect_ndim (ec, 3, "[B, tokens, width]", error))
    goto out;
  int64_t B = ex->shape[0], C = ex->shape[1], H = ex->shape[2], W = ex->shape[3];
  if (C != m->arch.unet.in_channels || ec->shape[0] != B || ec->shape[2] != m->arch.unet.context_dim ||
      (et->numel != B && et->numel != 1))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_SHAPE,
                   "U-Net inputs do not fit the model: x has %" G_GINT64_FORMAT " channels (model: %d), context width %"
                   G_GINT64_FORMAT " (model: %d), %" G_GINT64_FORMAT " timesteps for batch %" G_GINT64_FORMAT,
                   C, m->arch.unet.in_channels, ec->shape[2], m->arch.unet.context_dim, et->numel, B);
      goto out;
    }
  int64_t Co = m->arch.unet.out_channels;
  tb = g_new (float, B);
  for (int64_t b = 0; b < B; b++)
    tb[b] = t[et->numel == 1 ? 0 : b];
  if (!(x_nhwc = sc_alloc_floats ((size_t) (B * H * W * C), error)) ||
      !(out = sc_alloc_floats ((size_t) (B * H * W * Co), error)) ||
      !(out_nchw = sc_alloc_floats ((size_t) (B * H * W * Co), error)))
    goto out;
  sc_nchw_to_nhwc (x, x_nhwc, B, C, H, W);
  if (!sc_unet_forward (m->unet, sc_backend_cpu (), x_nhwc, B, H, W, tb, ctx, ec->shape[1], out, NULL, error))
    goto out;
  sc_nhwc_to_nchw (out, out_nchw, B, H, W, Co);
  int64_t shape[4] = { B, Co, H, W };
  ok = write_out (out_path, "out", 4, shape, out_nchw, NULL, 0, NULL, NULL, error);
out:
  sc_free_floats (x);
  sc_free_floats (t);
  sc_free_floats (ctx);
  sc_free_floats (x_nhwc);
  sc_free_floats (out);
  sc_free_floats (out_nchw);
  g_free (tb);
  return ok;
}

static gboolean
eval_text (ScModel *m, ScSafetensors *in, const char *out_path, GError **error)
{
  const ScStEntry *e;
  float *ids_f = read_f32 (in, "ids", &e, error);
  if (!ids_f)
    return FALSE;
  gboolean ok = FALSE;
  float *out = NULL;
  int32_t *ids = NULL;
  if (!expect_ndim (e, 2, "[B, tokens]", error))
    goto out;
  int64_t B = e->shape[0], N = e->shape[1], Wd = m->arch.text.width;
  ids = g_new (int32_t, MAX (B * N, 1));
  for (int64_t i = 0; i < B * N; i++)
    ids[i] = (int32_t) ids_f[i];
  if (!(out = sc_alloc_floats ((size_t) (B * N * Wd), error)) ||
      !sc_clip_text_forward (m->text, sc_backend_cpu (), ids, B, N, out, error))
    goto out;
  int64_t shape[3] = { B, N, Wd };
  ok = write_out (out_path, "out", 3, shape, out, NULL, 0, NULL, NULL, error);
out:
  sc_free_floats (ids_f);
  sc_free_floats (out);
  g_free (ids);
  return ok;
}

static gboolean
eval_vae (ScModel *m, ScSafetensors *in, gboolean encode, const char *out_path, GError **error)
{
  const ScStEntry *e;
  float *src = read_f32 (in, encode ? "image" : "latent", &e, error);
  if (!src)
    return FALSE;
  gboolean ok = FALSE;
  float *nhwc = NULL, *res = NULL, *mean = NULL, *mom = NULL;
  if (!expect_ndim (e, 4, "NCHW", error))
    goto out;
  int64_t B = e->shape[0], C = e->shape[1], H = e->shape[2], W = e->shape[3];
  int64_t zc = m->arch.vae.z_channels;
  if (C != (encode ? 3 : zc) || (encode && (H % 8 || W % 8)))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_SHAPE,
                   encode ? "VAE encoder input must be [B, 3, H, W] with H and W multiples of 8"
                          : "VAE decoder input must be [B, %d, h, w]", (int) zc);
      goto out;
    }
  if (!(nhwc = sc_alloc_floats ((size_t) (B * H * W * C), error)))
    goto out;
  sc_nchw_to_nhwc (src, nhwc, B, C, H, W);
  if (encode)
    {
      int64_t h = H / 8, w = W / 8;
      if (!(res = sc_alloc_floats ((size_t) (B * h * w * 2 * zc), error)) ||
          !sc_vae_encode (m->vae, sc_backend_cpu (), nhwc, B, H, W, res, error))
        goto out;
      mom = sc_alloc_floats ((size_t) (B * h * w * 2 * zc), error);
      mean = sc_alloc_floats ((size_t) (B * h * w * zc), error);
      if (!mom || !mean)
        goto out;
      sc_nhwc_to_nchw (res, mom, B, h, w, 2 * zc);
      memcpy (mean, mom, 0); /* the mean is the first zc channels of the NCHW moments */
      for (int64_t b = 0; b < B; b++)
        memcpy (mean + b * zc * h * w, mom + b * 2 * zc * h * w, sizeof (float) * (size_t) (zc * h * w));
      int64_t shape[4] = { B, zc, h, w }, mshape[4] = { B, 2 * zc, h, w };
      ok = write_out (out_path, "out", 4, shape, mean, "moments", 4, mshape, mom, error);
    }
  else
    {
      int64_t Ho = H * 8, Wo = W * 8;
      if (!(res = sc_alloc_floats ((size_t) (B * Ho * Wo * 3), error)) ||
          !sc_vae_decode (m->vae, sc_backend_cpu (), nhwc, B, H, W, res, error) ||
          !(mean = sc_alloc_floats ((size_t) (B * Ho * Wo * 3), error)))
        goto out;
      sc_nhwc_to_nchw (res, mean, B, Ho, Wo, 3);
      int64_t shape[4] = { B, 3, Ho, Wo };
      ok = write_out (out_path, "out", 4, shape, mean, NULL, 0, NULL, NULL, error);
    }
out:
  sc_free_floats (src);
  sc_free_floats (nhwc);
  sc_free_floats (res);
  sc_free_floats (mean);
  sc_free_floats (mom);
  return ok;
}

static int
cmd_eval (int argc, char **argv)
{
  char *model = NULL, *in = NULL, *out = NULL, *arch = NULL;
  int threads = 0;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Model file or folder", "MODEL" },
    { "in", 0, 0, G_OPTION_ARG_FILENAME, &in, "Input tensors (NCHW)", "IN.safetensors" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Output file (tensor “out”, NCHW)", "OUT.safetensors" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "Architecture when the tensors cannot tell", "ARCH" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("unet|text|vae-encode|vae-decode — run one component");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!parse_options (ctx, &argc, &argv, &error))
    return fail (error);
  if (argc != 2 || !model || !in || !out)
    return usage_error (ctx, "eval needs a component, -m MODEL, --in IN and -o OUT");
  const char *what = argv[1];
  ScComponents comp = g_str_equal (what, "unet") ? SC_COMPONENT_UNET
                      : g_str_equal (what, "text") ? SC_COMPONENT_TEXT
                      : g_str_equal (what, "vae-encode") ? SC_COMPONENT_VAE_ENCODER
                      : g_str_equal (what, "vae-decode") ? SC_COMPONENT_VAE_DECODER : 0;
  if (!comp)
    return usage_error (ctx, "unknown component (use unet, text, vae-encode or vae-decode)");
  apply_threads (threads);
  ScModelOptions opts = { .arch = arch, .components = comp };
  g_autoptr (ScModel) m = sc_model_load (model, &opts, &error);
  if (!m)
    return fail (error);
  ScSafetensors *st = sc_safetensors_open (in, &error);
  if (!st)
    return fail (error);
  gboolean ok = comp == SC_COMPONENT_UNET   ? eval_unet (m, st, out, &error)
                : comp == SC_COMPONENT_TEXT ? eval_text (m, st, out, &error)
                                            : eval_vae (m, st, comp == SC_COMPONENT_VAE_ENCODER, out, &error);
  sc_safetensors_close (st);
  g_free (model);
  g_free (in);
  g_free (out);
  g_free (arch);
  return ok ? 0 : fail (error);
}

/* ---- tokenize ------------------------------------------------------------------------------------------ */

static int
cmd_tokenize (int argc, char **argv)
{
  char *kind = NULL, *vocab = NULL;
  GOptionEntry entries[] = {
    { "kind", 0, 0, G_OPTION_ARG_STRING, &kind, "sd1 (pad with 49407, default) or sd2 (pad with 0)", "sd1|sd2" },
    { "vocab", 0, 0, G_OPTION_ARG_FILENAME, &vocab, "BPE file (.txt.gz), merges.txt or tokenizer folder", "FILE" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("TEXT… — print the 77 CLIP token ids of each text");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!parse_options (ctx, &argc, &argv, &error))
    return fail (error);
  if (argc < 2)
    return usage_error (ctx, "tokenize needs at least one text");
  int32_t pad;
  if (!kind || g_str_equal (kind, "sd1"))
    pad = SC_CLIP_EOS;
  else if (g_str_equal (kind, "sd2"))
    pad = 0;
  else
    return usage_error (ctx, "--kind must be sd1 or sd2");
  g_autoptr (ScClipTokenizer) tok = sc_model_find_tokenizer (NULL, vocab, NULL, &error);
  if (!tok)
    return fail (error);
  for (int i = 1; i < argc; i++)
    {
      int32_t ids[SC_CLIP_CONTEXT];
      sc_clip_tokenizer_encode_padded (tok, argv[i], pad, ids);
      GString *line = g_string_new (NULL);
      for (int k = 0; k < SC_CLIP_CONTEXT; k++)
        g_string_append_printf (line, "%s%d", k ? " " : "", ids[k]);
      printf ("%s\n", line->str);
      g_string_free (line, TRUE);
    }
  g_free (kind);
  g_free (vocab);
  return 0;
}

/* ---- make-model --------------------------------------------------------------------------------------- */

static int
cmd_make_model (int argc, char **argv)
{
  char *arch = NULL, *layout = NULL, *dtype = NULL, *out = NULL;
  gint64 seed = 0;
  GOptionEntry entries[] = {
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "tiny-sd1|tiny-sd2|sd15|sd21", "ARCH" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Weight seed (default 0)", "N" },
    { "layout", 0, 0, G_OPTION_ARG_STRING, &layout, "ldm (one file, default) or diffusers (a folder)", "ldm|diffusers" },
    { "dtype", 0, 0, G_OPTION_ARG_STRING, &dtype, "f32 (default), f16 or bf16", "f32|f16|bf16" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Output file or folder", "PATH" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("— write a model with deterministic random weights");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!parse_options (ctx, &argc, &argv, &error))
    return fail (error);
  ScArch a;
  if (!arch || !sc_arch_from_name (arch, &a))
    return usage_error (ctx, "--arch must be one of tiny-sd1, tiny-sd2, sd15, sd21");
  if (!out)
    return usage_error (ctx, "-o PATH is required");
  ScLayout l = SC_LAYOUT_LDM;
  if (layout && g_str_equal (layout, "diffusers"))
    l = SC_LAYOUT_DIFFUSERS;
  else if (layout && !g_str_equal (layout, "ldm"))
    return usage_error (ctx, "--layout must be ldm or diffusers");
  ScDType dt = SC_DTYPE_F32;
  if (dtype && g_str_equal (dtype, "f16"))
    dt = SC_DTYPE_F16;
  else if (dtype && g_str_equal (dtype, "bf16"))
    dt = SC_DTYPE_BF16;
  else if (dtype && !g_str_equal (dtype, "f32"))
    return usage_error (ctx, "--dtype must be f32, f16 or bf16");
  if (!sc_make_model (a, (uint64_t) seed, l, dt, out, &error))
    return fail (error);
  printf ("Wrote %s (%s, seed %" G_GINT64_FORMAT ", %s layout, %s)\n", out, arch, seed,
          l == SC_LAYOUT_LDM ? "ldm" : "diffusers", sc_dtype_name (dt));
  g_free (arch);
  g_free (layout);
  g_free (dtype);
  g_free (out);
  return 0;
}

/* ---- info ------------------------------------------------------------------------------------------------- */

static int
cmd_info (int argc, char **argv)
{
  char *arch = NULL;
  GOptionEntry entries[] = {
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "Architecture when the tensors cannot tell", "ARCH" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("FILE|DIR — describe a model");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!parse_options (ctx, &argc, &argv, &error))
    return fail (error);
  if (argc != 2)
    return usage_error (ctx, "info needs one file or folder");
  ScModelOptions opts = { .arch = arch };
  g_autoptr (ScModel) m = sc_model_probe (argv[1], &opts, &error);
  if (!m)
    return fail (error);
  static const char *const layouts[] = { "ldm single file", "diffusers folder", "component file" };
  g_autofree char *desc = sc_model_describe (m);
  printf ("kind: stable-diffusion\n");
  printf ("description: %s\n", desc);
  printf ("family: %s\n", m->arch.family == SC_FAMILY_SD1 ? "sd1" : "sd2");
  printf ("arch: %s%s\n", m->arch.name, m->arch_detected ? "" : " (forced)");
  printf ("layout: %s\n", layouts[m->layout]);
  printf ("prediction: %s (%s)\n", m->prediction == SC_PREDICTION_V ? "v" : "eps", m->prediction_source);
  printf ("dtype: %s\n", sc_dtype_name (m->weight_dtype));
  printf ("unet_in_channels: %d\n", m->arch.unet.in_channels);
  static const struct {
    ScComponents c;
    const char *name;
  } comps[] = {
    { SC_COMPONENT_UNET, "unet" },
    { SC_COMPONENT_VAE_ENCODER, "vae_encoder" },
    { SC_COMPONENT_VAE_DECODER, "vae_decoder" },
    { SC_COMPONENT_TEXT, "text_encoder" },
  };
  int64_t total = 0;
  for (size_t i = 0; i < G_N_ELEMENTS (comps); i++)
    if (m->present & comps[i].c)
      {
        int64_t n = sc_model_stored_params (m, comps[i].c);
        total += n;
        printf ("params.%s: %" G_GINT64_FORMAT "\n", comps[i].name, n);
      }
  printf ("params.total: %" G_GINT64_FORMAT "\n", total);
  g_free (arch);
  return 0;
}

/* ---- bench ------------------------------------------------------------------------------------------------ */

static double
peak_rss_mib (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return (double) ru.ru_maxrss / 1024.0;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static void
fill_normal (float *p, size_t n, uint64_t seed)
{
  ScPhilox rng;
  sc_philox_init (&rng, seed);
  sc_philox_randn (&rng, p, n);
}

static int
cmd_bench (int argc, char **argv)
{
  char *arch = NULL;
  int res = 512, batch = 1, threads = 0, iters = 3;
  GOptionEntry entries[] = {
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "tiny-sd1|tiny-sd2|sd15|sd21", "ARCH" },
    { "res", 0, 0, G_OPTION_ARG_INT, &res, "Image size in pixels (default 512)", "PIXELS" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Batch (2 = one CFG step)", "B" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { "iters", 0, 0, G_OPTION_ARG_INT, &iters, "Timed iterations after one warm-up (default 3)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("unet|vae-decode|vae-encode|text — time one component");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!parse_options (ctx, &argc, &argv, &error))
    return fail (error);
  ScArch a;
  if (argc != 2 || !arch || !sc_arch_from_name (arch, &a))
    return usage_error (ctx, "bench needs a component and --arch tiny-sd1|tiny-sd2|sd15|sd21");
  if (res < 64 || res % 8 || batch < 1 || iters < 1)
    return usage_error (ctx, "--res must be a multiple of 8 ≥ 64; --batch and --iters ≥ 1");
  const char *what = argv[1];
  apply_threads (threads);
  const ScArchConfig *cfg = sc_arch_config (a);
  const ScBackend *be = sc_backend_cpu ();
  ScWeightSource *src = sc_weight_source_new_random (1);
  int64_t h = res / 8, w = res / 8;
  ScUNet *unet = NULL;
  ScVae *vae = NULL;
  ScClipText *text = NULL;
  float *in = NULL, *out = NULL, *ctxv = NULL, t[64];
  int32_t *ids = NULL;
  gboolean is_unet = g_str_equal (what, "unet"), is_dec = g_str_equal (what, "vae-decode"),
           is_enc = g_str_equal (what, "vae-encode"), is_text = g_str_equal (what, "text");
  if (!is_unet && !is_dec && !is_enc && !is_text)
    return usage_error (ctx, "unknown component (use unet, vae-decode, vae-encode or text)");
  if (batch > 64)
    return usage_error (ctx, "--batch at most 64");
  g_printerr ("Building %s %s with random weights…\n", arch, what);
  if (is_unet)
    {
      unet = sc_unet_new (&cfg->unet, src, "model.diffusion_model.", &error);
      size_t n = (size_t) (batch * h * w * 4);
      in = sc_alloc_floats (n, NULL);
      out = sc_alloc_floats (n, NULL);
      ctxv = sc_alloc_floats ((size_t) (batch * 77 * cfg->unet.context_dim), NULL);
      if (in && ctxv)
        {
          fill_normal (in, n, 2);
          fill_normal (ctxv, (size_t) (batch * 77 * cfg->unet.context_dim), 3);
        }
      for (int b = 0; b < batch; b++)
        t[b] = 500.0f + (float) b;
    }
  else if (is_dec || is_enc)
    {
      vae = sc_vae_new (&cfg->vae, src, "first_stage_model.", is_enc, is_dec, &error);
      size_t nz = (size_t) (batch * h * w * (is_enc ? 8 : 4)), ni = (size_t) (batch * res * res * 3);
      in = sc_alloc_floats (is_dec ? nz : ni, NULL);
      out = sc_alloc_floats (is_dec ? ni : nz, NULL);
      if (in)
        fill_normal (in, is_dec ? nz : ni, 2);
    }
  else
    {
      text = sc_clip_text_new (&cfg->text, src, cfg->text.style == SC_TEXT_CLIP_HF
                                                    ? "cond_stage_model.transformer.text_model."
                                                    : "cond_stage_model.model.", &error);
      ids = g_new0 (int32_t, batch * 77);
      for (int i = 0; i < batch * 77; i++)
        ids[i] = 300 + i % 1000;
      out = sc_alloc_floats ((size_t) (batch * 77 * cfg->text.width), NULL);
    }
  sc_weight_source_free (src);
  if ((is_unet && !unet) || ((is_dec || is_enc) && !vae) || (is_text && !text))
    return fail (error);
  if (!out || (!is_text && !in))
    return fail (g_error_new (SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "Out of memory for the benchmark buffers"));

  double *ms = g_new (double, iters);
  gboolean ok = TRUE;
  for (int it = -1; it < iters && ok; it++)
    {
      gint64 t0 = g_get_monotonic_time ();
      if (is_unet)
        ok = sc_unet_forward (unet, be, in, batch, h, w, t, ctxv, 77, out, NULL, &error);
      else if (is_dec)
        ok = sc_vae_decode (vae, be, in, batch, h, w, out, &error);
      else if (is_enc)
        ok = sc_vae_encode (vae, be, in, batch, res, res, out, &error);
      else
        ok = sc_clip_text_forward (text, be, ids, batch, 77, out, &error);
      double elapsed = (double) (g_get_monotonic_time () - t0) / 1000.0;
      if (it >= 0)
        {
          ms[it] = elapsed;
          g_printerr ("  iteration %d: %.1f ms\n", it + 1, elapsed);
        }
      else
        g_printerr ("  warm-up: %.1f ms\n", elapsed);
    }
  if (!ok)
    return fail (error);
  qsort (ms, (size_t) iters, sizeof (double), compare_doubles);
  double median = iters % 2 ? ms[iters / 2] : 0.5 * (ms[iters / 2 - 1] + ms[iters / 2]);
  printf ("%s %s %dpx batch %d threads %d: median %.1f ms over %d iterations, peak RSS %.1f MiB\n", what, arch, res,
          batch, sc_get_num_threads (), median, iters, peak_rss_mib ());
  g_free (ms);
  g_free (ids);
  sc_free_floats (in);
  sc_free_floats (out);
  sc_free_floats (ctxv);
  if (unet)
    sc_unet_free (unet);
  if (vae)
    sc_vae_free (vae);
  if (text)
    sc_clip_text_free (text);
  g_free (arch);
  return 0;
}

/* ---- generate -------------------------------------------------------------------------------------------- */

static gboolean
print_progress (gpointer user, int step, int n_steps, const float *preview, int pw, int ph)
{
  g_printerr ("\r  step %d/%d", step + 1, n_steps);
  if (step + 1 == n_steps)
    g_printerr ("\n");
  return TRUE;
}

static int
cmd_generate (int argc, char **argv)
{
  char *model = NULL, *prompt = NULL, *neg = NULL, *sampler = NULL, *init = NULL, *vocab = NULL, *out = NULL;
  char *arch = NULL, *prediction = NULL, *spacing = NULL;
  int steps = 20, width = 512, height = 512, threads = 0;
  double cfg = 7.5, rescale = 0.0, strength = 0.75, eta = 0.0;
  gint64 seed = 42;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Model file or diffusers folder", "MODEL" },
    { "prompt", 'p', 0, G_OPTION_ARG_STRING, &prompt, "Prompt", "TEXT" },
    { "negative", 'n', 0, G_OPTION_ARG_STRING, &neg, "Negative prompt", "TEXT" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "Sampling steps (default 20)", "N" },
    { "cfg", 0, 0, G_OPTION_ARG_DOUBLE, &cfg, "Guidance scale (default 7.5; 1 = off)", "S" },
    { "rescale", 0, 0, G_OPTION_ARG_DOUBLE, &rescale, "Guidance rescale (default 0)", "R" },
    { "sampler", 0, 0, G_OPTION_ARG_STRING, &sampler, "ddim, euler_a (default) or dpmpp_2m", "NAME" },
    { "eta", 0, 0, G_OPTION_ARG_DOUBLE, &eta, "DDIM eta (default 0)", "ETA" },
    { "spacing", 0, 0, G_OPTION_ARG_STRING, &spacing, "Timestep spacing: leading (default), trailing, linspace", "NAME" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Seed (default 42)", "N" },
    { "width", 'W', 0, G_OPTION_ARG_INT, &width, "Width (default 512)", "PIXELS" },
    { "height", 'H', 0, G_OPTION_ARG_INT, &height, "Height (default 512)", "PIXELS" },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &init, "Init image for img2img", "IMG" },
    { "strength", 0, 0, G_OPTION_ARG_DOUBLE, &strength, "img2img strength (default 0.75)", "S" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { "vocab", 0, 0, G_OPTION_ARG_FILENAME, &vocab, "BPE file or tokenizer folder", "FILE" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "Architecture when the tensors cannot tell", "ARCH" },
    { "prediction", 0, 0, G_OPTION_ARG_STRING, &prediction, "Override: eps or v", "eps|v" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Output PNG", "OUT.png" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("— make an image from a prompt");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!parse_options (ctx, &argc, &argv, &error))
    return fail (error);
  if (!model || !prompt || !out)
    return usage_error (ctx, "generate needs -m MODEL, -p PROMPT and -o OUT.png");
  ScGenerateParams p;
  sc_generate_params_init (&p);
  p.prompt = prompt;
  p.negative_prompt = neg;
  p.steps = steps;
  p.cfg_scale = (float) cfg;
  p.guidance_rescale = (float) rescale;
  p.eta = eta;
  p.seed = (uint64_t) seed;
  p.width = width;
  p.height = height;
  p.strength = strength;
  if (sampler && !sc_sampler_kind_from_name (sampler, &p.sampler, &error))
    return fail (error);
  if (spacing && !sc_spacing_from_name (spacing, &p.spacing, &error))
    return fail (error);
  apply_threads (threads);
  g_autoptr (ScImage) init_img = NULL;
  if (init)
    {
      init_img = sc_image_load (init, &error);
      if (!init_img)
        return fail (error);
      p.init_image = init_img;
    }
  gint64 t0 = g_get_monotonic_time ();
  ScModelOptions opts = { .arch = arch, .prediction = prediction, .vocab = vocab,
                          .components = SC_COMPONENT_ALL };
  g_autoptr (ScModel) m = sc_model_load (model, &opts, &error);
  if (!m)
    return fail (error);
  g_autofree char *desc = sc_model_describe (m);
  g_printerr ("Model: %s\n", desc);
  g_printerr ("Loaded in %.1f s; sampling %d steps (%s) at %d×%d…\n", (double) (g_get_monotonic_time () - t0) / 1e6,
              p.steps, sc_sampler_kind_name (p.sampler), p.width, p.height);
  gint64 t1 = g_get_monotonic_time ();
  g_autoptr (ScImage) img = sc_generate (m, sc_backend_cpu (), &p, print_progress, NULL, &error);
  if (!img)
    return fail (error);
  g_autofree char *a1111 = sc_generate_params_to_a1111 (&p, m);
  g_autofree char *json = sc_generate_params_to_json (&p, m);
  const char *keys[] = { "parameters", "scedit" };
  const char *values[] = { a1111, json };
  if (!sc_image_save_png (img, out, keys, values, 2, &error))
    return fail (error);
  printf ("Saved %s (%d×%d, seed %" G_GINT64_FORMAT ", %.1f s)\n", out, img->width, img->height, seed,
          (double) (g_get_monotonic_time () - t1) / 1e6);
  g_free (model);
  g_free (prompt);
  g_free (neg);
  g_free (sampler);
  g_free (init);
  g_free (vocab);
  g_free (out);
  g_free (arch);
  g_free (prediction);
  g_free (spacing);
  return 0;
}

/* ---- main -------------------------------------------------------------------------------------------------- */

static const struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} commands[] = {
  { "generate", cmd_generate, "make an image from a prompt (txt2img, img2img)" },
  { "tokenize", cmd_tokenize, "print CLIP token ids" },
  { "make-model", cmd_make_model, "write a model with deterministic random weights" },
  { "eval", cmd_eval, "run one component on reference inputs (unet, text, vae-encode, vae-decode)" },
  { "info", cmd_info, "describe a model file or folder" },
  { "bench", cmd_bench, "time a component (median ms, peak RSS)" },
};

static void
print_usage (FILE *f)
{
  fprintf (f, "Usage: scedit COMMAND [OPTIONS]\n\nCommands:\n");
  for (size_t i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (f, "  %-11s %s\n", commands[i].name, commands[i].summary);
  fprintf (f, "\nRun “scedit COMMAND --help” for a command's options.\n");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  if (argc < 2 || g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") || g_str_equal (argv[1], "help"))
    {
      print_usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
  if (g_str_equal (argv[1], "--version"))
    {
      printf ("scedit %s\n", SC_VERSION);
      return 0;
    }
  for (size_t i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (argv[1], commands[i].name))
      return commands[i].run (argc - 1, argv + 1);
  fprintf (stderr, "scedit: unknown command “%s”\n\n", argv[1]);
  print_usage (stderr);
  return 2;
}
