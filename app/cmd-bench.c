/* `scedit bench`: median time of one component evaluation and peak RSS, as the last line. */
#include "cli.h"
#include "core/philox.h"
#include "models/weights.h"

#include <stdlib.h>
#include <sys/resource.h>

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

int
cmd_bench (int argc, char **argv)
{
  g_autofree char *arch = NULL;
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
  if (!cli_parse (ctx, &argc, &argv, &error))
    return cli_fail (error);
  ScArch a;
  if (argc != 2 || !arch || !sc_arch_from_name (arch, &a))
    return cli_usage_error (ctx, "bench needs a component and --arch tiny-sd1|tiny-sd2|sd15|sd21");
  if (res < 64 || res % 8 || batch < 1 || iters < 1)
    return cli_usage_error (ctx, "--res must be a multiple of 8 ≥ 64; --batch and --iters ≥ 1");
  const char *what = argv[1];
  sc_set_num_threads (threads);
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
    return cli_usage_error (ctx, "unknown component (use unet, vae-decode, vae-encode or text)");
  if (batch > 64)
    return cli_usage_error (ctx, "--batch at most 64");
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
    return cli_fail (error);
  if (!out || (!is_text && !in))
    return cli_fail (g_error_new (SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "Out of memory for the benchmark buffers"));

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
    return cli_fail (error);
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
  return 0;
}

/* ---- generate -------------------------------------------------------------------------------------------- */
