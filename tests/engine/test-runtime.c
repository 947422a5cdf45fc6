/* The engine thread: requests in, results out on the caller's main context; the newest request wins,
 * cancel lands mid-render, errors come back as values. Tiny random model, 64×64, a few steps. */
#include "core/error.h"
#include "models/make_model.h"
#include "runtime/engine.h"
#include "scedit/tuner_io.h"

#include <glib/gstdio.h>
#include <stdlib.h>

static char *tmpdir, *model_path, *vocab, *controller_path, *style_path;

typedef struct {
  GThread *owner;           /* every callback must run here */
  int models, progress, results, errors, cancelled;
  guint64 last_result_id;
  guint64 done_ids[16];
  int n_done;
  GError *error;
  gboolean keep_images;     /* steal each result's image into last_image */
  ScImage *last_image;
  int last_encoder_runs;
  GCancellable *cancel_on_progress; /* set: cancel the engine at the first progress */
  ScEngine *engine;
  ScPreviewMode preview;    /* what the requests ask for: previews are checked against it */
  gboolean keep_previews;   /* copy each preview into last_preview */
  ScImage *last_preview;
  int image_width;        /* the image width of the requests when not 64 */
} Seen;

static void
on_model (gpointer user, guint64 id, const char *path, const char *desc)
{
  Seen *s = user;
  g_assert_true (g_thread_self () == s->owner);
  g_assert_nonnull (desc);
  s->models++;
}

static void
on_progress (gpointer user, guint64 id, int step, int n_steps, const ScImage *preview)
{
  Seen *s = user;
  g_assert_true (g_thread_self () == s->owner);
  if (s->preview == SC_PREVIEW_NONE)
    g_assert_null (preview);
  else
    {
      /* 64×64 requests (unless told): latent size 8 for FAST, the image's size for FULL */
      int width = s->image_width ? s->image_width : 64;
      g_assert_nonnull (preview);
      g_assert_cmpint (preview->width, ==, s->preview == SC_PREVIEW_FULL ? width : width / 8);
      g_assert_cmpint (preview->height, ==, s->preview == SC_PREVIEW_FULL ? 64 : 8);
      if (s->keep_previews)
        {
          sc_image_free (s->last_preview);
          s->last_preview = sc_image_to_rgb8 (preview, NULL);
        }
    }
  g_assert_cmpint (step, <, n_steps);
  s->progress++;
  if (s->cancel_on_progress && s->progress == 1)
    sc_engine_cancel (s->engine);
}

static void
on_done (gpointer user, guint64 id, ScResult *result, const GError *error)
{
  Seen *s = user;
  g_assert_true (g_thread_self () == s->owner);
  for (int i = 0; i < s->n_done; i++)
    g_assert_cmpuint (s->done_ids[i], !=, id); /* exactly once per request */
  g_assert_cmpint (s->n_done, <, (int) G_N_ELEMENTS (s->done_ids));
  s->done_ids[s->n_done++] = id;
  if (result)
    {
      g_assert_null (error);
      g_assert_cmpuint (result->id, ==, id);
      g_assert_cmpint (result->image->width, ==, s->image_width ? s->image_width : 64);
      g_assert_nonnull (strstr (result->parameters, "Seed: "));
      s->results++;
      s->last_result_id = id;
      if (s->keep_images)
        {
          sc_image_free (s->last_image);
          s->last_image = g_steal_pointer (&result->image);
        }
      s->last_encoder_runs = result->hint_encoder_runs;
    }
  else if (error && g_error_matches (error, SC_ERROR, SC_ERROR_CANCELLED))
    s->cancelled++;
  else if (error)
    {
      s->errors++;
      g_clear_error (&s->error);
      s->error = g_error_copy (error);
    }
}

static const ScEngineCallbacks callbacks = { on_model, on_progress, on_done };

static void
small_request (ScRequest *r)
{
  sc_request_init (r);
  r->model_path = model_path;
  r->vocab = vocab;
  r->prompt = "a red apple";
  r->width = r->height = 64;
  r->steps = 3;
  r->sampler = SC_SAMPLER_DDIM;
  r->n_threads = 1;
}

/* Spins ctx until n requests are done (or 60 s pass). */
static void
wait_done (GMainContext *ctx, Seen *s, int n)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (s->n_done < n && g_get_monotonic_time () < deadline)
    g_main_context_iteration (ctx, TRUE);
  g_assert_cmpint (s->n_done, ==, n);
}

static gboolean
need_model (void)
{
  if (!vocab)
    g_test_skip ("SC_SHARED_DIR (the CLIP vocabulary) not set");
  return vocab != NULL;
}

static void
test_submit (void)
{
  if (!need_model ())
    return;
  Seen s = { .owner = g_thread_self () };
  ScEngine *e = sc_engine_new (NULL, &callbacks, &s);
  ScRequest r;
  small_request (&r);
  guint64 id = sc_engine_submit (e, &r);
  g_assert_cmpuint (id, >, 0);
  wait_done (NULL, &s, 1);
  g_assert_cmpint (s.results, ==, 1);
  g_assert_cmpint (s.models, ==, 1);
  g_assert_cmpint (s.progress, ==, 3);
  /* a second request reuses the cached model and still reports it */
  r.seed = 7;
  sc_engine_submit (e, &r);
  wait_done (NULL, &s, 2);
  g_assert_cmpint (s.results, ==, 2);
  /* a load-only request (no prompt): done with neither result nor error */
  r.prompt = NULL;
  sc_engine_submit (e, &r);
  wait_done (NULL, &s, 3);
  g_assert_cmpint (s.results, ==, 2);
  g_assert_cmpint (s.errors + s.cancelled, ==, 0);
  sc_engine_free (e);
}

static void
test_coalesce (void)
{
  if (!need_model ())
    return;
  Seen s = { .owner = g_thread_self () };
  ScEngine *e = sc_engine_new (NULL, &callbacks, &s);
  ScRequest r;
  small_request (&r);
  guint64 last = 0;
  for (int i = 0; i < 3; i++)
    {
      r.seed = 100 + i;
      last = sc_engine_submit (e, &r);
    }
  wait_done (NULL, &s, 3);
  g_test_message ("3 submits: %d rendered, %d cancelled", s.results, s.cancelled);
  g_assert_cmpint (s.results, >=, 1);
  g_assert_cmpint (s.results, <=, 2);
  g_assert_cmpint (s.results + s.cancelled, ==, 3);
  g_assert_cmpuint (s.last_result_id, ==, last); /* the newest wins */
  sc_engine_free (e);
}

static void
test_cancel (void)
{
  if (!need_model ())
    return;
  Seen s = { .owner = g_thread_self () };
  ScEngine *e = sc_engine_new (NULL, &callbacks, &s);
  s.engine = e;
  s.cancel_on_progress = (GCancellable *) e; /* any non-NULL: cancel at the first step */
  ScRequest r;
  small_request (&r);
  r.steps = 50;
  sc_engine_submit (e, &r);
  wait_done (NULL, &s, 1);
  g_assert_cmpint (s.cancelled, ==, 1);
  g_assert_cmpint (s.results, ==, 0);
  g_assert_cmpint (s.progress, <, 50);
  g_assert_false (sc_engine_is_busy (e));

  /* freeing the engine mid-render joins the thread; nothing is delivered afterwards */
  s.cancel_on_progress = NULL;
  sc_engine_submit (e, &r);
  int before = s.n_done;
  g_usleep (20000);
  sc_engine_free (e);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpint (s.n_done, ==, before);
}

static void
test_bad_model (void)
{
  Seen s = { .owner = g_thread_self () };
  ScEngine *e = sc_engine_new (NULL, &callbacks, &s);
  ScRequest r;
  small_request (&r);
  g_autofree char *missing = g_build_filename (tmpdir, "no-such-model.safetensors", NULL);
  r.model_path = missing;
  sc_engine_submit (e, &r);
  wait_done (NULL, &s, 1);
  g_assert_cmpint (s.errors, ==, 1);
  g_assert_cmpint (s.models, ==, 0);
  g_assert_nonnull (s.error);
  g_assert_true (s.error->domain == SC_ERROR);
  g_test_message ("bad path: %s", s.error->message);
  g_clear_error (&s.error);
  sc_engine_free (e);
}

/* Callbacks go to the context the engine was made with, not the global default one. */
static void
test_context (void)
{
  if (!need_model ())
    return;
  GMainContext *ctx = g_main_context_new ();
  g_main_context_push_thread_default (ctx);
  Seen s = { .owner = g_thread_self () };
  ScEngine *e = sc_engine_new (NULL, &callbacks, &s);
  g_main_context_pop_thread_default (ctx);
  ScRequest r;
  small_request (&r);
  sc_engine_submit (e, &r);
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (sc_engine_is_busy (e) && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE); /* the default context must stay quiet */
      g_usleep (1000);
    }
  g_assert_cmpint (s.n_done + s.progress + s.models, ==, 0);
  wait_done (ctx, &s, 1);
  g_assert_cmpint (s.results, ==, 1);
  sc_engine_free (e);
  g_main_context_unref (ctx);
}

/* A picture with edges (stripes and a square), 8-bit RGB. */
static ScImage *
make_picture (int shift)
{
  ScImage *img = sc_image_new (64, 64, 3, 8, NULL);
  guint8 *p = img->data;
  for (int y = 0; y < 64; y++)
    for (int x = 0; x < 64; x++)
      {
        gboolean on = ((x + shift) / 8) % 2 || (x > 20 && x < 44 && y > 20 && y < 44);
        for (int c = 0; c < 3; c++)
          p[(y * 64 + x) * 3 + c] = on ? 230 : 20;
      }
  return img;
}

static ScImage *
render (ScEngine *e, Seen *s, const ScRequest *r)
{
  int n = s->n_done;
  sc_engine_submit (e, r);
  wait_done (NULL, s, n + 1);
  g_assert_no_error (s->error);
  g_assert_nonnull (s->last_image);
  return g_steal_pointer (&s->last_image);
}

static gboolean
same_pixels (const ScImage *a, const ScImage *b)
{
  return a->width == b->width && a->height == b->height
         && memcmp (a->data, b->data, (size_t) a->width * a->height * 3) == 0;
}

/* SCEdit through the engine: tuners are loaded once, a weight-only change does not re-run the hint
 * encoder, a new picture runs it once, weight 0 is the base image. */
static void
test_tuners (void)
{
  if (!need_model ())
    return;
  Seen s = { .owner = g_thread_self (), .keep_images = TRUE };
  ScEngine *e = sc_engine_new (NULL, &callbacks, &s);
  ScRequest r;
  small_request (&r);
  r.seed = 5;
  g_autoptr (ScImage) base = render (e, &s, &r);
  g_assert_cmpint (s.last_encoder_runs, ==, 0);

  g_autoptr (ScImage) pic1 = make_picture (0);
  g_autoptr (ScImage) pic2 = make_picture (4);
  ScRequestControl ctl = { .controller = controller_path, .kind = SC_CONTROL_CANNY, .weight = 1.0f };
  g_assert_true (sc_request_control_set_picture (&ctl, pic1, NULL));
  r.controls = &ctl;
  r.n_controls = 1;
  g_autoptr (ScImage) full = render (e, &s, &r);
  g_assert_cmpint (s.last_encoder_runs, ==, 1);
  g_assert_false (same_pixels (base, full));

  ctl.weight = 0.4f; /* weight only: the cached features serve */
  g_autoptr (ScImage) weaker = render (e, &s, &r);
  g_assert_cmpint (s.last_encoder_runs, ==, 1);
  g_assert_cmpint (sc_engine_get_hint_encoder_runs (e), ==, 1);
  g_assert_false (same_pixels (full, weaker));

  ctl.weight = 0.0f; /* off: the base image, bit for bit */
  g_autoptr (ScImage) off = render (e, &s, &r);
  g_assert_true (same_pixels (base, off));

  ctl.weight = 1.0f; /* a new picture: one more encoder run */
  g_assert_true (sc_request_control_set_picture (&ctl, pic2, NULL));
  g_autoptr (ScImage) moved = render (e, &s, &r);
  g_assert_cmpint (s.last_encoder_runs, ==, 2);
  g_assert_false (same_pixels (full, moved));

  /* a style tuner on top changes the image; strength 0 leaves it as it was */
  ScRequestStyle style = { style_path, 0.0f };
  r.styles = &style;
  r.n_styles = 1;
  g_autoptr (ScImage) no_style = render (e, &s, &r);
  g_assert_true (same_pixels (moved, no_style));
  style.strength = 1.0f;
  g_autoptr (ScImage) styled = render (e, &s, &r);
  g_assert_false (same_pixels (moved, styled));
  g_assert_cmpint (s.last_encoder_runs, ==, 2);

  /* a controller that does not exist is an error, not a crash */
  ctl.controller = (char *) "/nonexistent/controller.safetensors";
  int errors = s.errors;
  sc_engine_submit (e, &r);
  wait_done (NULL, &s, s.n_done + 1);
  g_assert_cmpint (s.errors, ==, errors + 1);
  g_clear_error (&s.error);
  g_bytes_unref (ctl.picture);
  sc_engine_free (e);
}

/* Saves a random controller and style tuner for the tiny U-Net (ln2 random too, so they do something). */
static void
make_tuners (void)
{
  const ScUNetConfig *cfg = &sc_arch_config (SC_ARCH_TINY_SD1)->unet;
  ScSkipLayout l;
  g_assert_true (sc_skip_layout_from_unet (cfg, &l));
  GError *error = NULL;
  g_autoptr (ScCscTuner) csc = sc_csc_tuner_new_random (&l, 0.25, 16, 1, 0.25, 12, TRUE, &error);
  g_assert_no_error (error);
  controller_path = g_build_filename (tmpdir, "canny.safetensors", NULL);
  g_assert_true (sc_csc_tuner_save (csc, NULL, controller_path, &error));
  g_assert_no_error (error);
  g_autoptr (ScScTuner) sc = sc_sc_tuner_new_random (&l, 0.25, 11, TRUE, &error);
  g_assert_no_error (error);
  style_path = g_build_filename (tmpdir, "style.safetensors", NULL);
  g_assert_true (sc_sc_tuner_save (sc, NULL, style_path, &error));
  g_assert_no_error (error);
}

/* Inpainting through the engine: the picture outside the mask (beyond the feather band) comes back
 * unchanged, the masked part is repainted; a broken mask is an error, not a crash. */
/* Of the channel values 1–2 px outside the square mask [lo, hi)², how many differ between a and b;
 * *inside, if asked for, gets how many differ under the mask. */
static int
mask_ring_changes (const ScImage *a, const ScImage *b, int lo, int hi, int *inside)
{
  const guint8 *pa = a->data, *pb = b->data;
  int ring = 0, in = 0;
  for (int y = lo - 2; y < hi + 2; y++)
    for (int x = lo - 2; x < hi + 2; x++)
      for (int c = 0; c < 3; c++)
        {
          int i = (y * 64 + x) * 3 + c;
          if (pa[i] == pb[i])
            continue;
          if (x >= lo && x < hi && y >= lo && y < hi)
            in++;
          else
            ring++;
        }
  if (inside)
    *inside = in;
  return ring;
}

static void
test_inpaint (void)
{
  if (!need_model ())
    return;
  Seen s = { .owner = g_thread_self (), .keep_images = TRUE };
  ScEngine *e = sc_engine_new (NULL, &callbacks, &s);
  ScRequest r;
  small_request (&r);
  r.seed = 9;
  g_autoptr (ScImage) picture = make_picture (0);
  guint8 mask_px[64 * 64] = { 0 };
  for (int y = 24; y < 40; y++)
    for (int x = 24; x < 40; x++)
      mask_px[y * 64 + x] = 255;
  r.init_image = g_bytes_new (picture->data, 64 * 64 * 3);
  r.init_width = r.init_height = 64;
  r.mask = g_bytes_new (mask_px, sizeof mask_px);
  r.mask_width = r.mask_height = 64;
  g_autoptr (ScImage) out = render (e, &s, &r);
  const guint8 *a = picture->data, *b = out->data;
  int changed_inside = 0;
  for (int y = 0; y < 64; y++)
    for (int x = 0; x < 64; x++)
      {
        /* grow 4 + feather 8 px (the defaults) around the mask: beyond that, bit-exact */
        gboolean far = x < 24 - 12 || x >= 40 + 12 || y < 24 - 12 || y >= 40 + 12;
        for (int c = 0; c < 3; c++)
          {
            int i = (y * 64 + x) * 3 + c;
            if (far)
              g_assert_cmpint (a[i], ==, b[i]);
            else if (x >= 24 && x < 40 && y >= 24 && y < 40 && a[i] != b[i])
              changed_inside++;
          }
      }
  g_assert_cmpint (changed_inside, >, 100);
  /* the default grow repaints the pixels 1–2 px outside the mask */
  g_assert_cmpint (mask_ring_changes (picture, out, 24, 40, NULL), >, 0);

  /* grow 0, feather 0: the ring is kept bit for bit, the mask still repainted; copies keep both values */
  g_assert_cmpint (r.mask_grow, <, 0); /* sc_request_init: the pipeline's defaults */
  g_assert_cmpint (r.mask_feather, <, 0);
  ScGenerateParams params;
  sc_request_to_params (&r, &params);
  g_assert_cmpint (params.mask_grow, ==, 4);
  g_assert_cmpint (params.mask_feather, ==, 8);
  r.mask_grow = 0;
  r.mask_feather = 0;
  g_autoptr (ScRequest) copy = sc_request_copy (&r);
  g_assert_cmpint (copy->mask_grow, ==, 0);
  g_assert_cmpint (copy->mask_feather, ==, 0);
  sc_request_to_params (copy, &params);
  g_assert_cmpint (params.mask_grow, ==, 0);
  g_assert_cmpint (params.mask_feather, ==, 0);
  g_autoptr (ScImage) tight = render (e, &s, &r);
  int tight_inside = 0;
  g_assert_cmpint (mask_ring_changes (picture, tight, 24, 40, &tight_inside), ==, 0);
  g_assert_cmpint (tight_inside, >, 100);
  r.mask_grow = r.mask_feather = -1;

  /* a mask whose byte count does not match its size */
  g_bytes_unref (r.mask);
  r.mask = g_bytes_new (mask_px, 10);
  sc_engine_submit (e, &r);
  wait_done (NULL, &s, s.n_done + 1);
  g_assert_cmpint (s.errors, ==, 1);
  g_assert_error (s.error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&s.error);
  g_bytes_unref (r.mask);
  g_bytes_unref (r.init_image);
  sc_engine_free (e);
  sc_image_free (s.last_image);
}

/* Outpainting with a condition: the condition layer has the picture's size (as the app's layers do) and
 * covers that picture on the larger canvas; the margins get no condition. Weight 0 is the plain outpaint,
 * bit for bit; a picture of another size is fitted to the whole canvas. */
static void
test_outpaint_condition (void)
{
  if (!need_model ())
    return;
  Seen s = { .owner = g_thread_self (), .keep_images = TRUE, .image_width = 88 };
  ScEngine *e = sc_engine_new (NULL, &callbacks, &s);
  ScRequest r;
  small_request (&r);
  r.seed = 13;
  g_autoptr (ScImage) picture = make_picture (0);
  r.init_image = g_bytes_new (picture->data, 64 * 64 * 3);
  r.init_width = r.init_height = 64;
  r.outpaint[0] = 16; /* left */
  r.outpaint[2] = 5;  /* right: the canvas rounds up to 88 */
  g_autoptr (ScImage) plain = render (e, &s, &r);
  g_assert_cmpint (plain->width, ==, 88);
  g_assert_cmpint (plain->height, ==, 64);

  ScRequestControl ctl = { .controller = controller_path, .kind = SC_CONTROL_CANNY, .weight = 1.0f };
  g_assert_true (sc_request_control_set_picture (&ctl, picture, NULL));
  r.controls = &ctl;
  r.n_controls = 1;
  g_autoptr (ScImage) conditioned = render (e, &s, &r);
  g_assert_cmpint (conditioned->width, ==, 88);
  g_assert_false (same_pixels (plain, conditioned));
  ctl.weight = 0.0f;
  g_autoptr (ScImage) off = render (e, &s, &r);
  g_assert_true (same_pixels (plain, off));

  g_autoptr (ScImage) odd = sc_image_new (30, 20, 3, 8, NULL);
  memset (odd->data, 200, 30 * 20 * 3);
  ctl.weight = 1.0f;
  g_assert_true (sc_request_control_set_picture (&ctl, odd, NULL));
  g_autoptr (ScImage) fitted = render (e, &s, &r);
  g_assert_cmpint (fitted->width, ==, 88);
  g_bytes_unref (ctl.picture);
  g_bytes_unref (r.init_image);
  sc_engine_free (e);
}

static int
max_difference (const ScImage *a, const ScImage *b)
{
  g_assert_cmpint (a->width, ==, b->width);
  g_assert_cmpint (a->height, ==, b->height);
  const guint8 *pa = a->data, *pb = b->data;
  int max = 0;
  for (size_t i = 0; i < (size_t) a->width * a->height * 3; i++)
    max = MAX (max, abs (pa[i] - pb[i]));
  return max;
}

/* The preview method changes what "progress" shows, never the image: none sends no pictures, fast
 * latent-sized ones, full ones at the image size — the VAE's decode of the step's predicted clean latent
 * x0. DPM++ 2M ends on σ = 0 with x = x0, so its last full preview is the image exactly; Euler a too,
 * up to double → float rounding (so ±1). DDIM does not end on x0: with set_alpha_to_one off its last step
 * goes to ᾱ_0 = 0.99915, x = √ᾱ_0·x0 + √(1 − ᾱ_0)·ε, so its last preview is only close to the image. */
static void
test_preview (void)
{
  if (!need_model ())
    return;
  Seen s = { .owner = g_thread_self (), .keep_images = TRUE, .keep_previews = TRUE };
  ScEngine *e = sc_engine_new (NULL, &callbacks, &s);
  ScRequest r;
  small_request (&r);
  r.sampler = SC_SAMPLER_DPMPP_2M;
  const ScPreviewMode modes[] = { SC_PREVIEW_NONE, SC_PREVIEW_FAST, SC_PREVIEW_FULL };
  g_autoptr (ScImage) first = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      s.preview = r.preview = modes[i];
      int before = s.progress;
      g_clear_pointer (&s.last_preview, sc_image_free);
      g_autoptr (ScImage) img = render (e, &s, &r);
      g_assert_cmpint (s.progress - before, ==, r.steps); /* steps are counted whatever is shown */
      g_assert_true (modes[i] == SC_PREVIEW_NONE ? s.last_preview == NULL : s.last_preview != NULL);
      if (modes[i] == SC_PREVIEW_FULL)
        g_assert_true (same_pixels (s.last_preview, img));
      if (!first)
        first = g_steal_pointer (&img);
      else
        g_assert_true (same_pixels (first, img));
    }

  r.sampler = SC_SAMPLER_EULER_A;
  g_autoptr (ScImage) euler = render (e, &s, &r);
  g_assert_cmpint (max_difference (s.last_preview, euler), <=, 1);

  r.sampler = SC_SAMPLER_DDIM;
  g_autoptr (ScImage) ddim = render (e, &s, &r);
  int ddim_diff = max_difference (s.last_preview, ddim);
  g_test_message ("DDIM: last full preview vs image, max difference %d of 255", ddim_diff);
  g_assert_cmpint (ddim_diff, >, 0);  /* the √(1 − ᾱ_0)·ε share shows */
  g_assert_cmpint (ddim_diff, <=, 16); /* but it is small (2 with this model) */
  sc_engine_free (e);
  sc_image_free (s.last_preview);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  GError *error = NULL;
  tmpdir = g_dir_make_tmp ("sc-runtime-XXXXXX", &error);
  g_assert_no_error (error);
  model_path = g_build_filename (tmpdir, "tiny.safetensors", NULL);
  const char *shared = g_getenv ("SC_SHARED_DIR");
  if (shared)
    {
      vocab = g_build_filename (shared, "data", "clip-bpe", "bpe_simple_vocab_16e6.txt.gz", NULL);
      if (!g_file_test (vocab, G_FILE_TEST_EXISTS))
        g_clear_pointer (&vocab, g_free);
    }
  if (vocab)
    {
      g_assert_true (sc_make_model (SC_ARCH_TINY_SD1, 3, SC_LAYOUT_LDM, SC_DTYPE_F32, model_path, &error));
      g_assert_no_error (error);
      make_tuners ();
    }
  g_test_add_func ("/runtime/submit", test_submit);
  g_test_add_func ("/runtime/coalesce", test_coalesce);
  g_test_add_func ("/runtime/cancel", test_cancel);
  g_test_add_func ("/runtime/bad-model", test_bad_model);
  g_test_add_func ("/runtime/context", test_context);
  g_test_add_func ("/runtime/tuners", test_tuners);
  g_test_add_func ("/runtime/inpaint", test_inpaint);
  g_test_add_func ("/runtime/outpaint-condition", test_outpaint_condition);
  g_test_add_func ("/runtime/preview", test_preview);
  int rc = g_test_run ();
  if (controller_path)
    g_remove (controller_path);
  if (style_path)
    g_remove (style_path);
  g_free (controller_path);
  g_free (style_path);
  g_remove (model_path);
  g_rmdir (tmpdir);
  g_free (model_path);
  g_free (vocab);
  g_free (tmpdir);
  return rc;
}
