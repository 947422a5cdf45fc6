/* `scedit train`: trains a style SC-Tuner on a folder of pictures (captions in NAME.txt beside them) with the
 * spec's recipe (../shared/specs/scedit.md §4: frozen model, MSE on ε or v, AdamW), then writes it in our
 * tuner format (official keys + metadata, atomic). Prints "step N/M loss L" (L: that step's MSE) every 10
 * steps and at the last. */
#include "cli.h"
#include "diffusion/train.h"
#include "diffusion/train_data.h"
#include "scedit/tuner_io.h"

int
cmd_train (int argc, char **argv)
{
  g_autofree char *model = NULL, *data_dir = NULL, *arch = NULL, *vocab = NULL, *caption = NULL, *out = NULL;
  int steps = 500, res = 512, threads = 0;
  double lr = 1e-4, ratio = 1.0;
  gint64 seed = 0;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Base model (file or diffusers folder)", "MODEL" },
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "Folder of PNG/JPEG pictures, captions in NAME.txt", "DIR" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "Architecture when the tensors cannot tell", "ARCH" },
    { "vocab", 0, 0, G_OPTION_ARG_FILENAME, &vocab, "BPE file or tokenizer folder", "FILE" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "Optimizer steps (default 500)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "AdamW learning rate (default 1e-4)", "LR" },
    { "res", 0, 0, G_OPTION_ARG_INT, &res, "Training resolution, a multiple of 64 (default 512)", "PX" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of the tuner's init, the noise and the timesteps (default 0)",
      "N" },
    { "ratio", 0, 0, G_OPTION_ARG_DOUBLE, &ratio, "Hidden width L = int(C·R) of the skip MLPs (default 1, official)",
      "R" },
    { "caption", 0, 0, G_OPTION_ARG_STRING, &caption, "Caption of pictures without a .txt (default empty)", "TEXT" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Output tuner .safetensors", "FILE" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("— train an SC-Tuner (style) on a folder of pictures");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!cli_parse (ctx, &argc, &argv, &error))
    return cli_fail (error);
  if (!model || !data_dir || !out)
    return cli_usage_error (ctx, "-m MODEL, --data DIR and -o FILE are required");
  if (steps < 1)
    return cli_usage_error (ctx, "--steps must be at least 1");
  if (!(lr > 0) || !(ratio > 0))
    return cli_usage_error (ctx, "--lr and --ratio must be positive");
  sc_set_num_threads (threads);

  const ScBackend *be = sc_backend_cpu ();
  ScModelOptions opts = { .arch = arch, .vocab = vocab, .components = SC_COMPONENT_ALL };
  g_autoptr (ScModel) m = sc_model_load (model, &opts, &error);
  if (!m)
    return cli_fail (error);
  g_autofree char *desc = sc_model_describe (m);
  g_printerr ("Model: %s\n", desc);
  if (!sc_train_check_resolution (m, res, &error))
    return cli_fail (error);
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (ScTrainData) data = sc_train_data_load (m, be, data_dir, res, caption, &error);
  if (!data)
    return cli_fail (error);
  int own = 0;
  for (int i = 0; i < data->n; i++)
    own += data->items[i].own_caption;
  g_printerr ("Data: %d pictures at %d×%d (%d with their own caption), encoded in %.1f s\n", data->n, res, res, own,
              (double) (g_get_monotonic_time () - t0) / 1e6);

  ScSkipLayout layout;
  if (!sc_skip_layout_from_unet (&m->arch.unet, &layout))
    return cli_fail (g_error_new (SC_ERROR, SC_ERROR_UNSUPPORTED, "This U-Net has too many skip connections"));
  /* the official init: ln1 random, ln2 zero, so training starts from the base model */
  g_autoptr (ScScTuner) tuner = sc_sc_tuner_new_random (&layout, ratio, (uint64_t) seed, FALSE, &error);
  if (!tuner)
    return cli_fail (error);
  ScTrainOptions topt;
  sc_train_options_init (&topt);
  topt.adamw.lr = (float) lr;
  topt.seed = (uint64_t) seed;
  g_autoptr (ScTrainer) tr = sc_trainer_new (m, be, tuner, data->h, data->w, &topt, &error);
  if (!tr)
    return cli_fail (error);
  g_printerr ("Training %" G_GINT64_FORMAT " parameters for %d steps (lr %g, batch 1, %s target)…\n",
              sc_sc_tuner_params (tuner), steps, lr, m->prediction == SC_PREDICTION_V ? "v" : "ε");

  /* the posterior samples get their own stream, so the trainer's noise does not depend on the data */
  ScPhilox data_rng;
  sc_philox_init (&data_rng, (uint64_t) seed + 1);
  g_autofree float *z0 = g_new (float, data->h * data->w * data->c);
  double window = 0;
  int in_window = 0;
  t0 = g_get_monotonic_time ();
  for (int s = 1; s <= steps; s++)
    {
      int i = (s - 1) % data->n; /* every picture in turn: batch 1 */
      float loss;
      sc_train_data_latent (data, i, &data_rng, z0);
      if (!sc_trainer_step (tr, z0, data->items[i].context, data->n_ctx, &loss, &error))
        {
          g_prefix_error (&error, "step %d: ", s);
          return cli_fail (error);
        }
      window += loss, in_window++;
      if (s % 10 == 0 || s == steps)
        {
          printf ("step %d/%d loss %.6f\n", s, steps, loss);
          fflush (stdout);
          g_printerr ("  mean loss of the last %d steps %.6f, %.2f s/step\n", in_window, window / in_window,
                      (double) (g_get_monotonic_time () - t0) / 1e6 / s);
          window = 0, in_window = 0;
        }
    }

  ScTunerMeta meta = { .arch = m->arch.name, .steps = steps };
  if (!sc_sc_tuner_save (tuner, &meta, out, &error))
    return cli_fail (error);
  printf ("Wrote %s (sc tuner for %s, %d steps)\n", out, m->arch.name, steps);
  return 0;
}
