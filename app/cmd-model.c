/* `scedit make-model` (deterministic random weights in the real layouts) and `scedit info`. */
#include "cli.h"
#include "scedit/tuner_io.h"

int
cmd_make_model (int argc, char **argv)
{
  g_autofree char *arch = NULL, *layout = NULL, *dtype = NULL, *out = NULL;
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
  if (!cli_parse (ctx, &argc, &argv, &error))
    return cli_fail (error);
  ScArch a;
  if (!arch || !sc_arch_from_name (arch, &a))
    return cli_usage_error (ctx, "--arch must be one of tiny-sd1, tiny-sd2, sd15, sd21");
  if (!out)
    return cli_usage_error (ctx, "-o PATH is required");
  ScLayout l = SC_LAYOUT_LDM;
  if (layout && g_str_equal (layout, "diffusers"))
    l = SC_LAYOUT_DIFFUSERS;
  else if (layout && !g_str_equal (layout, "ldm"))
    return cli_usage_error (ctx, "--layout must be ldm or diffusers");
  ScDType dt = SC_DTYPE_F32;
  if (dtype && g_str_equal (dtype, "f16"))
    dt = SC_DTYPE_F16;
  else if (dtype && g_str_equal (dtype, "bf16"))
    dt = SC_DTYPE_BF16;
  else if (dtype && !g_str_equal (dtype, "f32"))
    return cli_usage_error (ctx, "--dtype must be f32, f16 or bf16");
  if (!sc_make_model (a, (uint64_t) seed, l, dt, out, &error))
    return cli_fail (error);
  printf ("Wrote %s (%s, seed %" G_GINT64_FORMAT ", %s layout, %s)\n", out, arch, seed,
          l == SC_LAYOUT_LDM ? "ldm" : "diffusers", sc_dtype_name (dt));
  return 0;
}

/* ---- info ------------------------------------------------------------------------------------------------- */

/* An SCEdit tuner file or folder: TRUE when PATH is one (and it was described). */
static gboolean
info_tuner (const char *path)
{
  ScTunerInfo ti;
  if (!sc_tuner_probe (path, &ti, NULL))
    return FALSE;
  gboolean csc = ti.kind == SC_TUNER_KIND_CSC;
  printf ("kind: %s\n", csc ? "csc-tuner" : "sc-tuner");
  printf ("file: %s\n", ti.path);
  printf ("format: %s\n", ti.format);
  printf ("arch: %s\n", ti.arch ? ti.arch : "unknown");
  printf ("skips: %d\n", ti.n_skips);
  printf ("ratio: %g\n", ti.ratio);
  if (csc)
    {
      printf ("kernel: %d\n", ti.kernel);
      printf ("pre_hint_ratio: %g\n", ti.pre_hint_ratio);
      printf ("hint_out: %" G_GINT64_FORMAT "\n", ti.hint_out);
    }
  if (ti.condition)
    printf ("condition: %s\n", ti.condition);
  if (ti.trigger)
    printf ("trigger: %s\n", ti.trigger);
  if (ti.steps >= 0)
    printf ("steps: %" G_GINT64_FORMAT "\n", ti.steps);
  printf ("dtype: %s\n", sc_dtype_name (ti.dtype));
  printf ("params.trainable: %" G_GINT64_FORMAT "\n", ti.params);
  sc_tuner_info_clear (&ti);
  return TRUE;
}

int
cmd_info (int argc, char **argv)
{
  g_autofree char *arch = NULL;
  GOptionEntry entries[] = {
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "Architecture when the tensors cannot tell", "ARCH" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("FILE|DIR — describe a model");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!cli_parse (ctx, &argc, &argv, &error))
    return cli_fail (error);
  if (argc != 2)
    return cli_usage_error (ctx, "info needs one file or folder");
  if (info_tuner (argv[1]))
    return 0;
  ScModelOptions opts = { .arch = arch };
  g_autoptr (ScModel) m = sc_model_probe (argv[1], &opts, &error);
  if (!m)
    return cli_fail (error);
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
  return 0;
}

/* ---- bench ------------------------------------------------------------------------------------------------ */
