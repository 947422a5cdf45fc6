/* `scedit make-tuner`: SCEdit tuners with deterministic random weights, in our safetensors format with the
 * official key names (engine/scedit/tuner_io.h). Without --random-all the zero-initialised layers (ln2 of
 * every MLP, the dense hint convs) stay zero, as the official initialisation: the tuner is the identity. */
#include "cli.h"
#include "scedit/tuner_io.h"

int
cmd_make_tuner (int argc, char **argv)
{
  g_autofree char *kind = NULL, *arch = NULL, *out = NULL, *condition = NULL, *trigger = NULL;
  double ratio = 1.0, hint_ratio = 1.0;
  int kernel = 3, hint_out = 256;
  gboolean random_all = FALSE;
  gint64 seed = 0;
  GOptionEntry entries[] = {
    { "kind", 0, 0, G_OPTION_ARG_STRING, &kind, "sc (style) or csc (controllable)", "sc|csc" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "Base U-Net: tiny-sd1|tiny-sd2|sd15|sd21", "ARCH" },
    { "ratio", 0, 0, G_OPTION_ARG_DOUBLE, &ratio, "Hidden width L = int(C·R) of the skip MLPs (default 1)", "R" },
    { "kernel", 0, 0, G_OPTION_ARG_INT, &kernel, "CSC dense hint kernel (default 3)", "1|3" },
    { "hint-ratio", 0, 0, G_OPTION_ARG_DOUBLE, &hint_ratio, "CSC hint encoder width ratio ρ (default 1)", "RHO" },
    { "hint-out", 0, 0, G_OPTION_ARG_INT, &hint_out, "CSC hint encoder output channels (default 256)", "N" },
    { "random-all", 0, 0, G_OPTION_ARG_NONE, &random_all, "Randomise the zero-initialised layers too (tests)", NULL },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Weight seed (default 0)", "N" },
    { "condition", 0, 0, G_OPTION_ARG_STRING, &condition, "Condition type to record (canny, depth, …)", "TYPE" },
    { "trigger", 0, 0, G_OPTION_ARG_STRING, &trigger, "Trigger word to record", "WORD" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Output .safetensors file", "FILE" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("— write an SCEdit tuner with deterministic random weights");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  int status = 0;
  if (!cli_parse (ctx, &argc, &argv, &error))
    return cli_fail (error);
  ScArch a;
  gboolean csc = kind && g_str_equal (kind, "csc");
  if (!kind || (!csc && !g_str_equal (kind, "sc")))
    status = cli_usage_error (ctx, "--kind must be sc or csc");
  else if (!arch || !sc_arch_from_name (arch, &a))
    status = cli_usage_error (ctx, "--arch must be one of tiny-sd1, tiny-sd2, sd15, sd21");
  else if (!out)
    status = cli_usage_error (ctx, "-o FILE is required");
  else if (kernel != 1 && kernel != 3)
    status = cli_usage_error (ctx, "--kernel must be 1 or 3");
  else if (!(ratio > 0) || !(hint_ratio > 0) || hint_out < 1)
    status = cli_usage_error (ctx, "--ratio, --hint-ratio and --hint-out must be positive");
  if (status)
    goto out;

  ScSkipLayout layout;
  sc_skip_layout_from_unet (&sc_arch_config (a)->unet, &layout);
  ScTunerMeta meta = { .arch = sc_arch_config (a)->name, .condition = condition, .trigger = trigger, .steps = -1 };
  gboolean ok;
  int64_t params;
  if (csc)
    {
      ScCscTuner *t = sc_csc_tuner_new_random (&layout, hint_ratio, hint_out, kernel, ratio, (uint64_t) seed,
                                               random_all, &error);
      ok = t && sc_csc_tuner_save (t, &meta, out, &error);
      params = t ? sc_csc_tuner_params (t) : 0;
      sc_csc_tuner_unref (t);
    }
  else
    {
      ScScTuner *t = sc_sc_tuner_new_random (&layout, ratio, (uint64_t) seed, random_all, &error);
      ok = t && sc_sc_tuner_save (t, &meta, out, &error);
      params = t ? sc_sc_tuner_params (t) : 0;
      sc_sc_tuner_unref (t);
    }
  if (!ok)
    status = cli_fail (error);
  else
    printf ("Wrote %s (%s tuner for %s, seed %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " parameters)\n", out,
            csc ? "csc" : "sc", arch, seed, params);
out:
  return status;
}
