/* Benchmark (not a test): how much cheaper a weight change is than a cold render, measured as the time
 * from submitting a request to its first step preview — what a person dragging a slider in Live mode
 * waits for. Runs the engine thread on a model with one SCEdit controller and a condition picture.
 *
 *   bench-live [ARCH [RES [STEPS]]]        defaults: tiny-sd1 256 4; ARCH sd15 writes a 2 GB f16 model
 *
 * Prints one line per case: cold (model load + text encoding + hint encoder + one U-Net step), a new
 * prompt and picture (text + hint + one step: caches only for the model), and a weight change (one step:
 * text embedding and hint features come from the caches). */
#include "models/make_model.h"
#include "runtime/engine.h"
#include "scedit/tuner_io.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  GMainLoop *loop;
  gint64 submitted, first_preview;
  gboolean done;
} Timing;

static void
on_progress (gpointer user, guint64 id, int step, int n_steps, const ScImage *preview)
{
  Timing *t = user;
  if (t->first_preview == 0)
    t->first_preview = g_get_monotonic_time ();
}

static void
on_done (gpointer user, guint64 id, ScResult *result, const GError *error)
{
  Timing *t = user;
  if (error)
    g_printerr ("render failed: %s\n", error->message);
  t->done = TRUE;
  g_main_loop_quit (t->loop);
}

static double
time_request (ScEngine *engine, Timing *t, const ScRequest *r)
{
  t->first_preview = 0;
  t->done = FALSE;
  t->submitted = g_get_monotonic_time ();
  sc_engine_submit (engine, r);
  g_main_loop_run (t->loop);
  return (double) (t->first_preview - t->submitted) / 1000.0;
}

static ScImage *
gradient_picture (int w, int h, int phase)
{
  ScImage *img = sc_image_new (w, h, 3, 8, NULL);
  guint8 *p = img->data;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        p[(y * w + x) * 3 + 0] = (guint8) ((x * 255 / w + phase) % 256);
        p[(y * w + x) * 3 + 1] = (guint8) (y * 255 / h);
        p[(y * w + x) * 3 + 2] = ((x + phase) / 16 + y / 16) % 2 ? 255 : 0;
      }
  return img;
}

int
main (int argc, char **argv)
{
  const char *arch_name = argc > 1 ? argv[1] : "tiny-sd1";
  int res = argc > 2 ? atoi (argv[2]) : 256, steps = argc > 3 ? atoi (argv[3]) : 4;
  ScArch arch;
  if (!sc_arch_from_name (arch_name, &arch) || res < 64 || res % 8 || steps < 1)
    {
      g_printerr ("usage: bench-live [tiny-sd1|tiny-sd2|sd15|sd21 [RES [STEPS]]]\n");
      return 2;
    }
  const char *shared = g_getenv ("SC_SHARED_DIR");
  if (!shared)
    {
      g_printerr ("SC_SHARED_DIR (for the CLIP vocabulary) is not set\n");
      return 2;
    }
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("sc-bench-live-XXXXXX", NULL);
  g_autofree char *model = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *controller = g_build_filename (dir, "control.safetensors", NULL);
  g_autofree char *vocab = g_build_filename (shared, "data", "clip-bpe", "bpe_simple_vocab_16e6.txt.gz", NULL);
  g_printerr ("Writing %s (random weights) and a controller to %s…\n", arch_name, dir);
  ScDType dtype = arch == SC_ARCH_SD15 || arch == SC_ARCH_SD21 ? SC_DTYPE_F16 : SC_DTYPE_F32;
  if (!sc_make_model (arch, 1, SC_LAYOUT_LDM, dtype, model, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  ScSkipLayout layout;
  sc_skip_layout_from_unet (&sc_arch_config (arch)->unet, &layout);
  g_autoptr (ScCscTuner) csc = sc_csc_tuner_new_random (&layout, 1.0, 256, 3, 1.0, 2, TRUE, &error);
  ScTunerMeta meta = { .arch = arch_name, .condition = "canny", .steps = -1 };
  if (!csc || !sc_csc_tuner_save (csc, &meta, controller, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  Timing t = { .loop = g_main_loop_new (NULL, FALSE) };
  ScEngineCallbacks cb = { .progress = on_progress, .done = on_done };
  ScEngine *engine = sc_engine_new (NULL, &cb, &t);
  ScRequest r;
  sc_request_init (&r);
  r.model_path = model;
  r.vocab = vocab;
  r.prompt = (char *) "a lighthouse on a cliff at sunset";
  r.width = r.height = res;
  r.steps = steps;
  r.sampler = SC_SAMPLER_DDIM;
  r.seed = 7;
  ScRequestControl control = { .controller = controller, .kind = SC_CONTROL_CANNY, .weight = 0.8f };
  g_autoptr (ScImage) picture = gradient_picture (res, res, 0);
  sc_request_control_set_picture (&control, picture, &error);
  r.controls = &control;
  r.n_controls = 1;

  double cold = time_request (engine, &t, &r);
  /* a new prompt and a new picture: the model is cached, text and hint features are not */
  r.prompt = (char *) "a castle in the fog";
  g_autoptr (ScImage) picture2 = gradient_picture (res, res, 97);
  sc_request_control_set_picture (&control, picture2, &error);
  double fresh = time_request (engine, &t, &r);
  /* only the weight moves, as when a slider is dragged */
  double weight_ms = 0;
  const int n_weights = 3;
  for (int i = 0; i < n_weights; i++)
    {
      control.weight = 0.5f + 0.1f * (float) i;
      weight_ms += time_request (engine, &t, &r) / n_weights;
    }
  int hint_runs = sc_engine_get_hint_encoder_runs (engine);
  printf ("bench-live %s %dpx, %d steps, threads %d: first preview after submit — cold %.0f ms, new prompt+picture "
          "%.0f ms, weight change %.0f ms (%.1f× faster than cold, %.1f× than new prompt+picture); hint encoder ran %d "
          "times for 5 requests\n", arch_name, res, steps, g_get_num_processors (), cold, fresh, weight_ms,
          cold / weight_ms, fresh / weight_ms, hint_runs);
  g_clear_pointer (&control.picture, g_bytes_unref);
  sc_engine_free (engine);
  g_main_loop_unref (t.loop);
  g_unlink (model);
  g_unlink (controller);
  g_rmdir (dir);
  return 0;
}
