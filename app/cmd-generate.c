/* `scedit generate`: text-to-image, image-to-image, inpainting and outpainting; the PNG carries its
 * parameters. */
#include "cli.h"
#include "diffusion/inpaint.h"
#include "scedit/control_input.h"
#include "scedit/tuner_io.h"

#include <string.h>

/* "L,T,R,B" (or one N for all four sides) → margins in pixels. */
static gboolean
parse_outpaint (const char *text, int margins[4], GError **error)
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  guint n = g_strv_length (parts);
  if (n != 1 && n != 4)
    goto bad;
  for (guint i = 0; i < 4; i++)
    {
      guint64 v;
      if (!g_ascii_string_to_unsigned (g_strstrip (parts[n == 1 ? 0 : i]), 10, 0, 4096, &v, NULL))
        goto bad;
      margins[i] = (int) v;
    }
  return TRUE;
bad:
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "--outpaint wants L,T,R,B (or one N for every side): pixels from 0 to 4096, got “%s”", text);
  return FALSE;
}

/* The SCEdit options: --tuner FILE[:SCALE]… and (--control FILE --cond KIND=IMAGE[:WEIGHT])… pairs, in order.
 * Conditions go on the generated canvas as sc_control_hint_place says (a picture of the init image's size
 * covers that image, others the whole canvas); the summary goes into the PNG parameters. */
static ScTunerSet *
build_tuner_set (ScModel *m, char **tuners, char **controls, char **conds, double control_scale,
                 const ScHintPlacement *place, const ScImage *init_image, const ScImage *mask, GString *summary,
                 GError **error)
{
  int width = place->canvas_w, height = place->canvas_h;
  guint n_ctrl = controls ? g_strv_length (controls) : 0;
  if ((conds ? g_strv_length (conds) : 0) != n_ctrl)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "Each --control FILE needs its own --cond KIND=IMAGE[:WEIGHT] (got %u controls, %u conditions)",
                   n_ctrl, conds ? g_strv_length (conds) : 0);
      return NULL;
    }
  g_autoptr (ScTunerSet) set = sc_tuner_set_new (&m->arch.unet, error);
  if (!set)
    return NULL;
  for (char **t = tuners; t && *t; t++)
    {
      g_autofree char *path = NULL, *base = NULL;
      double scale;
      cli_split_value (*t, 1.0, &path, &scale);
      g_autoptr (ScScTuner) tuner = sc_sc_tuner_load (path, &m->arch.unet, error);
      if (!tuner || sc_tuner_set_add_style (set, tuner, (float) scale, error) < 0)
        return NULL;
      base = g_path_get_basename (path);
      g_string_append_printf (summary, "%sstyle %s %g", summary->len ? ", " : "", base, scale);
    }
  for (guint j = 0; j < n_ctrl; j++)
    {
      const char *eq = strchr (conds[j], '=');
      if (!eq && g_str_has_prefix (conds[j], "inpaint") && init_image && mask)
        {
          /* "--cond inpaint[:WEIGHT]": the inpainting controller's condition is the init image with the
           * mask cut out (scedit.md §3), no separate picture needed. */
          double weight = 1.0;
          if (conds[j][7] == ':' && !cli_parse_float (conds[j] + 8, &weight))
            weight = 1.0;
          g_autoptr (ScTensor) hint = sc_control_hint_place (init_image, SC_CONTROL_INPAINT, mask, place, error);
          g_autoptr (ScCscTuner) tuner = hint ? sc_csc_tuner_load (controls[j], &m->arch.unet, error) : NULL;
          if (!tuner || sc_tuner_set_add_control (set, tuner, hint->data, 1, height, width, (float) weight, error) < 0)
            return NULL;
          g_string_append_printf (summary, "%sinpaint %g", summary->len ? ", " : "", weight);
          continue;
        }
      if (!eq)
        {
          g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "--cond wants KIND=IMAGE[:WEIGHT], got “%s”",
                       conds[j]);
          return NULL;
        }
      g_autofree char *kind_name = g_strndup (conds[j], (gsize) (eq - conds[j]));
      g_autofree char *image_path = NULL;
      double weight;
      ScControlKind kind;
      cli_split_value (eq + 1, 1.0, &image_path, &weight);
      if (!sc_control_kind_from_name (kind_name, &kind, error))
        return NULL;
      g_autoptr (ScImage) picture = sc_image_load (image_path, error);
      if (!picture)
        return NULL;
      g_autoptr (ScTensor) hint = sc_control_hint_place (picture, kind, mask, place, error);
      if (!hint)
        return NULL;
      g_autoptr (ScCscTuner) tuner = sc_csc_tuner_load (controls[j], &m->arch.unet, error);
      if (!tuner || sc_tuner_set_add_control (set, tuner, hint->data, 1, height, width, (float) weight, error) < 0)
        return NULL;
      g_string_append_printf (summary, "%s%s %g", summary->len ? ", " : "", sc_control_kind_name (kind), weight);
    }
  sc_tuner_set_set_control_scale (set, (float) control_scale);
  if (n_ctrl && control_scale != 1.0)
    g_string_append_printf (summary, ", control scale %g", control_scale);
  return g_steal_pointer (&set);
}

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
  /* Option values: freed on every return. */
  g_autofree char *model = NULL, *prompt = NULL, *neg = NULL, *sampler = NULL, *init = NULL, *vocab = NULL;
  g_autofree char *out = NULL, *arch = NULL, *prediction = NULL, *spacing = NULL, *mask = NULL, *outpaint = NULL;
  int steps = 20, width = 0, height = 0, threads = 0, mask_grow = 4, mask_feather = 8;
  gboolean color_match = FALSE, mask_nearest = FALSE;
  double cfg = 7.5, rescale = 0.0, strength = -1.0, eta = 0.0, control_scale = 1.0;
  g_auto (GStrv) tuners = NULL, controls = NULL, conds = NULL;
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
    { "strength", 0, 0, G_OPTION_ARG_DOUBLE, &strength, "img2img strength (default 0.75; inpainting 1)", "S" },
    { "mask", 0, 0, G_OPTION_ARG_FILENAME, &mask, "Inpaint: white = repaint (needs --init; resized to it)", "MASK" },
    { "outpaint", 0, 0, G_OPTION_ARG_STRING, &outpaint, "Extend --init by pixels (rounded up to multiples of 8)",
      "L,T,R,B" },
    { "mask-grow", 0, 0, G_OPTION_ARG_INT, &mask_grow, "Grow the repainted region / outpaint overlap (default 4)", "PX" },
    { "mask-feather", 0, 0, G_OPTION_ARG_INT, &mask_feather, "Soft composite band outside it (default 8)", "PX" },
    { "color-match", 0, 0, G_OPTION_ARG_NONE, &color_match, "Match the repainted area's colours to its surroundings",
      NULL },
    { "mask-nearest", 0, 0, G_OPTION_ARG_NONE, &mask_nearest, "Latent mask as diffusers (nearest pixel)", NULL },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { "vocab", 0, 0, G_OPTION_ARG_FILENAME, &vocab, "BPE file or tokenizer folder", "FILE" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "Architecture when the tensors cannot tell", "ARCH" },
    { "prediction", 0, 0, G_OPTION_ARG_STRING, &prediction, "Override: eps or v", "eps|v" },
    { "tuner", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &tuners, "SCEdit style tuner, with its strength (repeatable)",
      "FILE[:SCALE]" },
    { "control", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &controls, "SCEdit controller (CSC-Tuner) for the next --cond",
      "FILE" },
    { "cond", 0, 0, G_OPTION_ARG_STRING_ARRAY, &conds,
      "Condition for the matching --control: canny|color|depth|sketch|inpaint|hint=IMAGE, with its weight "
      "(plain “inpaint[:WEIGHT]” uses --init and --mask)",
      "KIND=IMAGE[:WEIGHT]" },
    { "control-scale", 0, 0, G_OPTION_ARG_DOUBLE, &control_scale, "Scale of all conditions (default 1)", "S" },
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
  int margins[4] = { 0, 0, 0, 0 };
  if (outpaint && !parse_outpaint (outpaint, margins, &error))
    return cli_fail (error);
  gboolean inpaint = mask || margins[0] || margins[1] || margins[2] || margins[3];
  if (inpaint && !init)
    return cli_usage_error (ctx, mask ? "--mask needs --init IMG (the image to inpaint)"
                                      : "--outpaint needs --init IMG (the image to extend)");
  ScGenerateParams p;
  sc_generate_params_init (&p);
  p.prompt = prompt;
  p.negative_prompt = neg;
  p.steps = steps;
  p.cfg_scale = (float) cfg;
  p.guidance_rescale = (float) rescale;
  p.eta = eta;
  p.seed = (uint64_t) seed;
  p.width = width > 0 ? width : 512;
  p.height = height > 0 ? height : 512;
  p.strength = strength >= 0.0 ? strength : inpaint ? 1.0 : 0.75;
  p.mask_grow = mask_grow;
  p.mask_feather = mask_feather;
  p.mask_nearest = mask_nearest;
  p.color_match = color_match;
  memcpy (p.outpaint, margins, sizeof margins);
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
  g_autoptr (ScImage) mask_img = NULL;
  if (mask)
    {
      mask_img = sc_image_load (mask, &error);
      if (!mask_img)
        return cli_fail (error);
      if (mask_img->width != init_img->width || mask_img->height != init_img->height)
        g_printerr ("Note: the mask (%d×%d) is resized to the init image (%d×%d)\n", mask_img->width,
                    mask_img->height, init_img->width, init_img->height);
      p.mask = mask_img;
    }
  if (inpaint)
    {
      /* the output has the init image's size (+ margins); -W/-H do not apply */
      if (width > 0 || height > 0)
        g_printerr ("Note: -W/-H are ignored when inpainting or outpainting\n");
      sc_inpaint_canvas_size (init_img->width, init_img->height, p.outpaint, &p.width, &p.height);
    }
  gint64 t0 = g_get_monotonic_time ();
  ScModelOptions opts = { .arch = arch, .prediction = prediction, .vocab = vocab,
                          .components = SC_COMPONENT_ALL };
  g_autoptr (ScModel) m = sc_model_load (model, &opts, &error);
  if (!m)
    return cli_fail (error);
  g_autofree char *desc = sc_model_describe (m);
  g_printerr ("Model: %s\n", desc);
  g_autoptr (ScTunerSet) set = NULL;
  g_autoptr (GString) summary = g_string_new (NULL);
  if (tuners || controls || conds)
    {
      ScHintPlacement place = { p.width, p.height, 0, 0, p.width, p.height };
      if (inpaint)
        sc_inpaint_hint_placement (init_img->width, init_img->height, p.outpaint, &place);
      set = build_tuner_set (m, tuners, controls, conds, control_scale, &place, init_img, mask_img, summary, &error);
      if (!set)
        return cli_fail (error);
      p.tuners = set;
      p.tuners_summary = summary->str;
      g_printerr ("SCEdit: %s\n", summary->str);
    }
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
  return 0;
}

/* ---- main -------------------------------------------------------------------------------------------------- */
