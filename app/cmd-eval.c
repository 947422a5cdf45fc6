/* `scedit eval`: runs one component on PyTorch-layout reference tensors and writes "out" (NCHW) —
 * how anyone compares us with a reference implementation. */
#include "cli.h"
#include "scedit/tuner_io.h"
#include "scedit/tuner_set.h"

#include <string.h>

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

/* SCEdit options of `eval unet`: --tuner FILE[:SCALE]…, (--control FILE --hint NAME --cond-weight W)…,
 * --control-scale S. */
typedef struct {
  char **tuners;
  char **controls, **hints, **weights;
  double control_scale;
} EvalTuners;

/* The tuner set the options ask for, prepared for a latent of H × W (NULL set: no options). */
static gboolean
eval_tuner_set (ScModel *m, ScSafetensors *in, const EvalTuners *et, int64_t B, int64_t H, int64_t W,
                ScTunerSet **out_set, GError **error)
{
  *out_set = NULL;
  guint n_ctrl = et->controls ? g_strv_length (et->controls) : 0;
  if ((et->hints ? g_strv_length (et->hints) : 0) != n_ctrl || (et->weights ? g_strv_length (et->weights) : 0) != n_ctrl)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "Each --control needs its own --hint NAME and --cond-weight W");
      return FALSE;
    }
  if (!et->tuners && n_ctrl == 0)
    return TRUE;
  g_autoptr (ScTunerSet) set = sc_tuner_set_new (&m->arch.unet, error);
  if (!set)
    return FALSE;
  for (char **t = et->tuners; t && *t; t++)
    {
      g_autofree char *path = NULL;
      double scale;
      cli_split_value (*t, 1.0, &path, &scale);
      g_autoptr (ScScTuner) tuner = sc_sc_tuner_load (path, &m->arch.unet, error);
      if (!tuner || sc_tuner_set_add_style (set, tuner, (float) scale, error) < 0)
        return FALSE;
    }
  for (guint j = 0; j < n_ctrl; j++)
    {
      double w;
      if (!cli_parse_float (et->weights[j], &w))
        {
          g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "--cond-weight “%s” is not a number",
                       et->weights[j]);
          return FALSE;
        }
      const ScStEntry *e;
      g_autofree float *nchw = read_f32 (in, et->hints[j], &e, error);
      if (!nchw || !expect_ndim (e, 4, "[B, 3, H, W] NCHW", error))
        return FALSE;
      if (e->shape[1] != 3 || (e->shape[0] != 1 && e->shape[0] != B))
        {
          g_set_error (error, SC_ERROR, SC_ERROR_SHAPE, "Hint “%s” must be [1 or %" G_GINT64_FORMAT ", 3, H, W]",
                       e->name, B);
          return FALSE;
        }
      g_autofree float *nhwc = g_new (float, e->numel);
      sc_nchw_to_nhwc (nchw, nhwc, e->shape[0], 3, e->shape[2], e->shape[3]);
      g_autoptr (ScCscTuner) tuner = sc_csc_tuner_load (et->controls[j], &m->arch.unet, error);
      if (!tuner || sc_tuner_set_add_control (set, tuner, nhwc, e->shape[0], e->shape[2], e->shape[3], (float) w,
                                              error) < 0)
        return FALSE;
    }
  sc_tuner_set_set_control_scale (set, (float) et->control_scale);
  if (!sc_tuner_set_prepare (set, sc_backend_cpu (), H, W, error))
    return FALSE;
  *out_set = g_steal_pointer (&set);
  return TRUE;
}

static gboolean
eval_unet (ScModel *m, ScSafetensors *in, const EvalTuners *tun, const char *out_path, GError **error)
{
  g_autoptr (ScTunerSet) set = NULL;
  ScUNetHooks hooks;
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
  if (!eval_tuner_set (m, in, tun, B, H, W, &set, error))
    goto out;
  if (set)
    sc_tuner_set_hooks (set, NULL, NULL, &hooks);
  if (!sc_unet_forward (m->unet, sc_backend_cpu (), x_nhwc, B, H, W, tb, ctx, ec->shape[1], out, set ? &hooks : NULL,
                        error))
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

int
cmd_eval (int argc, char **argv)
{
  g_autofree char *model = NULL, *in = NULL, *out = NULL, *arch = NULL;
  int threads = 0;
  EvalTuners et = { .control_scale = 1.0 };
  GOptionEntry entries[] = {
    { "tuner", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &et.tuners, "unet: SCEdit style tuner, strength (default 1)",
      "FILE[:SCALE]" },
    { "control", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &et.controls, "unet: SCEdit CSC-Tuner (one per condition)", "FILE" },
    { "hint", 0, 0, G_OPTION_ARG_STRING_ARRAY, &et.hints, "unet: input tensor [B, 3, H, W] in [0, 1] of that condition",
      "NAME" },
    { "cond-weight", 0, 0, G_OPTION_ARG_STRING_ARRAY, &et.weights, "unet: weight of that condition", "W" },
    { "control-scale", 0, 0, G_OPTION_ARG_DOUBLE, &et.control_scale, "unet: scale of all conditions (default 1)",
      "S" },
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
  if (!cli_parse (ctx, &argc, &argv, &error))
    return cli_fail (error);
  if (argc != 2 || !model || !in || !out)
    return cli_usage_error (ctx, "eval needs a component, -m MODEL, --in IN and -o OUT");
  const char *what = argv[1];
  ScComponents comp = g_str_equal (what, "unet") ? SC_COMPONENT_UNET
                      : g_str_equal (what, "text") ? SC_COMPONENT_TEXT
                      : g_str_equal (what, "vae-encode") ? SC_COMPONENT_VAE_ENCODER
                      : g_str_equal (what, "vae-decode") ? SC_COMPONENT_VAE_DECODER : 0;
  if (!comp)
    return cli_usage_error (ctx, "unknown component (use unet, text, vae-encode or vae-decode)");
  sc_set_num_threads (threads);
  ScModelOptions opts = { .arch = arch, .components = comp };
  g_autoptr (ScModel) m = sc_model_load (model, &opts, &error);
  if (!m)
    return cli_fail (error);
  ScSafetensors *st = sc_safetensors_open (in, &error);
  if (!st)
    return cli_fail (error);
  gboolean ok = comp == SC_COMPONENT_UNET   ? eval_unet (m, st, &et, out, &error)
                : comp == SC_COMPONENT_TEXT ? eval_text (m, st, out, &error)
                                            : eval_vae (m, st, comp == SC_COMPONENT_VAE_ENCODER, out, &error);
  sc_safetensors_close (st);
  g_strfreev (et.tuners);
  g_strfreev (et.controls);
  g_strfreev (et.hints);
  g_strfreev (et.weights);
  return ok ? 0 : cli_fail (error);
}

/* ---- tokenize ------------------------------------------------------------------------------------------ */
