/* `scedit generate`: text-to-image and image-to-image; the PNG carries its parameters. */
#include "cli.h"

static gboolean
print_progress (gpointer user, int step, int n_steps, const float *preview, int pw, int ph)
{
  g_printerr ("\r  step %d/%d", step + 1, n_steps);
  if (step + 1 == n_steps)
    g_printerr ("\n");
  return TRUE;
}

int
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
  if (!cli_parse (ctx, &argc, &argv, &error))
    return cli_fail (error);
  if (!model || !prompt || !out)
    return cli_usage_error (ctx, "generate needs -m MODEL, -p PROMPT and -o OUT.png");
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
    return cli_fail (error);
  if (spacing && !sc_spacing_from_name (spacing, &p.spacing, &error))
    return cli_fail (error);
  sc_set_num_threads (threads);
  g_autoptr (ScImage) init_img = NULL;
  if (init)
    {
      init_img = sc_image_load (init, &error);
      if (!init_img)
        return cli_fail (error);
      p.init_image = init_img;
    }
  gint64 t0 = g_get_monotonic_time ();
  ScModelOptions opts = { .arch = arch, .prediction = prediction, .vocab = vocab,
                          .components = SC_COMPONENT_ALL };
  g_autoptr (ScModel) m = sc_model_load (model, &opts, &error);
  if (!m)
    return cli_fail (error);
  g_autofree char *desc = sc_model_describe (m);
  g_printerr ("Model: %s\n", desc);
  g_printerr ("Loaded in %.1f s; sampling %d steps (%s) at %d×%d…\n", (double) (g_get_monotonic_time () - t0) / 1e6,
              p.steps, sc_sampler_kind_name (p.sampler), p.width, p.height);
  gint64 t1 = g_get_monotonic_time ();
  g_autoptr (ScImage) img = sc_generate (m, sc_backend_cpu (), &p, print_progress, NULL, &error);
  if (!img)
    return cli_fail (error);
  g_autofree char *a1111 = sc_generate_params_to_a1111 (&p, m);
  g_autofree char *json = sc_generate_params_to_json (&p, m);
  const char *keys[] = { "parameters", "scedit" };
  const char *values[] = { a1111, json };
  if (!sc_image_save_png (img, out, keys, values, 2, &error))
    return cli_fail (error);
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
