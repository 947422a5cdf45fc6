/* The engine thread. One mutex guards the one-slot queue (pending), the id of the request in flight and
 * its GCancellable; everything else (the model cache) belongs to the engine thread alone. Messages to the
 * caller travel as idle sources on its GMainContext and carry a reference to a small "target" that
 * sc_engine_free marks dead, so a message still queued when the engine goes away is dropped, never run. */
#include "runtime/engine.h"

#include "backend/backend.h"
#include "core/error.h"
#include "core/parallel.h"
#include "diffusion/inpaint.h"
#include "models/model_loader.h"
#include "scedit/tuner_io.h"
#include "scedit/tuner_set.h"

#include <string.h>

void
sc_request_init (ScRequest *r)
{
  memset (r, 0, sizeof *r);
  r->width = r->height = 512;
  r->steps = 20;
  r->cfg_scale = 7.0f;
  r->sampler = SC_SAMPLER_EULER_A;
  r->control_scale = 1.0f;
  r->mask_grow = r->mask_feather = -1; /* the pipeline's defaults */
}

gboolean
sc_request_control_set_picture (ScRequestControl *c, const ScImage *img, GError **error)
{
  g_autoptr (ScImage) rgb = sc_image_to_rgb8 (img, error);
  if (!rgb)
    return FALSE;
  g_clear_pointer (&c->picture, g_bytes_unref);
  c->picture = g_bytes_new (rgb->data, (gsize) rgb->width * rgb->height * 3);
  c->width = rgb->width;
  c->height = rgb->height;
  return TRUE;
}

ScRequest *
sc_request_copy (const ScRequest *r)
{
  ScRequest *c = g_new (ScRequest, 1);
  *c = *r;
  c->model_path = g_strdup (r->model_path);
  c->vocab = g_strdup (r->vocab);
  c->prompt = g_strdup (r->prompt);
  c->negative_prompt = g_strdup (r->negative_prompt);
  c->styles = r->n_styles > 0 ? g_new0 (ScRequestStyle, r->n_styles) : NULL;
  c->n_styles = MAX (r->n_styles, 0);
  for (int i = 0; i < c->n_styles; i++)
    {
      c->styles[i] = r->styles[i];
      c->styles[i].path = g_strdup (r->styles[i].path);
    }
  c->controls = r->n_controls > 0 ? g_new0 (ScRequestControl, r->n_controls) : NULL;
  c->n_controls = MAX (r->n_controls, 0);
  for (int i = 0; i < c->n_controls; i++)
    {
      c->controls[i] = r->controls[i];
      c->controls[i].controller = g_strdup (r->controls[i].controller);
      if (r->controls[i].picture)
        c->controls[i].picture = g_bytes_ref (r->controls[i].picture);
    }
  if (r->init_image)
    c->init_image = g_bytes_ref (r->init_image);
  if (r->mask)
    c->mask = g_bytes_ref (r->mask);
  return c;
}

void
sc_request_free (ScRequest *r)
{
  if (!r)
    return;
  g_free (r->model_path);
  g_free (r->vocab);
  g_free (r->prompt);
  g_free (r->negative_prompt);
  for (int i = 0; i < r->n_styles; i++)
    g_free (r->styles[i].path);
  g_free (r->styles);
  for (int i = 0; i < r->n_controls; i++)
    {
      g_free (r->controls[i].controller);
      g_clear_pointer (&r->controls[i].picture, g_bytes_unref);
    }
  g_free (r->controls);
  g_clear_pointer (&r->init_image, g_bytes_unref);
  g_clear_pointer (&r->mask, g_bytes_unref);
  g_free (r);
}

void
sc_request_to_params (const ScRequest *r, ScGenerateParams *p)
{
  sc_generate_params_init (p);
  p->prompt = r->prompt;
  p->negative_prompt = r->negative_prompt;
  p->width = r->width;
  p->height = r->height;
  p->steps = r->steps;
  p->cfg_scale = r->cfg_scale;
  p->sampler = r->sampler;
  p->seed = r->seed;
  p->preview = r->preview;
  if (r->mask_grow >= 0)
    p->mask_grow = r->mask_grow;
  if (r->mask_feather >= 0)
    p->mask_feather = r->mask_feather;
}

void
sc_result_free (ScResult *r)
{
  if (!r)
    return;
  sc_request_free (r->request);
  sc_image_free (r->image);
  g_free (r->parameters);
  g_free (r->json);
  g_free (r);
}

gboolean
sc_result_save_png (const ScResult *r, const char *path, GError **error)
{
  const char *keys[] = { "parameters", "scedit" };
  const char *values[] = { r->parameters ? r->parameters : "", r->json ? r->json : "{}" };
  return sc_image_save_png (r->image, path, keys, values, 2, error);
}

/* ---- messages to the caller's main context ---- */

typedef struct {
  gint ref;
  gboolean alive; /* read and written only on the context's thread */
  ScEngineCallbacks cb;
  gpointer user;
} Target;

static Target *
target_ref (Target *t)
{
  g_atomic_int_inc (&t->ref);
  return t;
}

static void
target_unref (Target *t)
{
  if (g_atomic_int_dec_and_test (&t->ref))
    g_free (t);
}

typedef enum { MSG_MODEL, MSG_PROGRESS, MSG_DONE } MsgKind;

typedef struct {
  MsgKind kind;
  Target *target;
  guint64 id;
  char *path, *description;   /* MSG_MODEL */
  int step, n_steps;          /* MSG_PROGRESS */
  ScImage *preview;
  ScResult *result;           /* MSG_DONE */
  GError *error;
} Msg;

static void
msg_free (gpointer data)
{
  Msg *m = data;
  target_unref (m->target);
  g_free (m->path);
  g_free (m->description);
  sc_image_free (m->preview);
  sc_result_free (m->result);
  g_clear_error (&m->error);
  g_free (m);
}

static gboolean
msg_dispatch (gpointer data)
{
  Msg *m = data;
  Target *t = m->target;
  if (!t->alive)
    return G_SOURCE_REMOVE;
  switch (m->kind)
    {
    case MSG_MODEL:
      if (t->cb.model_loaded)
        t->cb.model_loaded (t->user, m->id, m->path, m->description);
      break;
    case MSG_PROGRESS:
      if (t->cb.progress)
        t->cb.progress (t->user, m->id, m->step, m->n_steps, m->preview);
      break;
    case MSG_DONE:
      if (t->cb.done)
        t->cb.done (t->user, m->id, m->result, m->error);
      break;
    }
  return G_SOURCE_REMOVE;
}

struct _ScEngine {
  GMainContext *context;
  Target *target;
  GThread *thread;

  GMutex lock;          /* guards the fields up to the blank line */
  GCond wake;
  ScRequest *pending;
  guint64 pending_id;
  guint64 running_id;
  GCancellable *running_cancel;
  guint64 last_id;
  gboolean quit;

  gint hint_encoder_runs; /* atomic: written by the engine thread, read anywhere */

  /* engine thread only */
  ScModel *model;
  char *model_vocab;
  GHashTable *styles;      /* path → ScScTuner, for the model loaded */
  GHashTable *controllers; /* path → ScCscTuner */
  int retired_runs;        /* encoder runs of controllers dropped from the cache */
  GPtrArray *hints;        /* HintEntry: the hints of the last request's pictures */
};

/* Always an idle source, even from the owner thread: a callback never runs inside submit (). */
static void
post (ScEngine *e, Msg *m)
{
  m->target = target_ref (e->target);
  g_autoptr (GSource) src = g_idle_source_new ();
  g_source_set_priority (src, G_PRIORITY_DEFAULT);
  g_source_set_callback (src, msg_dispatch, m, msg_free);
  g_source_set_static_name (src, "[scedit] engine message");
  g_source_attach (src, e->context);
}

static Msg *
done_msg (guint64 id, ScResult *result, GError *error /* both taken */)
{
  Msg *m = g_new0 (Msg, 1);
  m->kind = MSG_DONE;
  m->id = id;
  m->result = result;
  m->error = error;
  return m;
}

static void
post_cancelled (ScEngine *e, guint64 id, const char *why)
{
  post (e, done_msg (id, NULL, g_error_new_literal (SC_ERROR, SC_ERROR_CANCELLED, why)));
}

typedef struct {
  ScEngine *engine;
  guint64 id;
  GCancellable *cancel;
} RunState;

static gboolean
on_progress (gpointer user, int step, int n_steps, const float *rgb, int w, int h)
{
  RunState *s = user;
  if (g_cancellable_is_cancelled (s->cancel))
    return FALSE;
  Msg *m = g_new0 (Msg, 1);
  m->kind = MSG_PROGRESS;
  m->id = s->id;
  m->step = step;
  m->n_steps = n_steps;
  m->preview = rgb ? sc_image_from_float_rgb (rgb, w, h, NULL) : NULL;
  post (s->engine, m);
  return TRUE;
}

/* ---- SCEdit tuners, cached by path for the loaded model ---- */

typedef struct {
  GBytes *picture; /* a reference, so the pointer stays unique while the entry lives */
  ScControlKind kind;
  ScHintPlacement place;
  ScTensor *hint;
} HintEntry;

static void
hint_entry_free (gpointer data)
{
  HintEntry *h = data;
  g_bytes_unref (h->picture);
  sc_tensor_free (h->hint);
  g_free (h);
}

static int
count_encoder_runs (ScEngine *e)
{
  int n = e->retired_runs;
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, e->controllers);
  while (g_hash_table_iter_next (&it, NULL, &value))
    n += sc_csc_tuner_encoder_runs (value);
  return n;
}

static void
forget_tuners (ScEngine *e)
{
  e->retired_runs = count_encoder_runs (e);
  g_hash_table_remove_all (e->styles);
  g_hash_table_remove_all (e->controllers);
  g_ptr_array_set_size (e->hints, 0);
}

static ScScTuner *
ensure_style (ScEngine *e, const char *path, GError **error)
{
  ScScTuner *t = g_hash_table_lookup (e->styles, path);
  if (!t && (t = sc_sc_tuner_load (path, &e->model->arch.unet, error)))
    g_hash_table_insert (e->styles, g_strdup (path), t);
  return t;
}

static ScCscTuner *
ensure_controller (ScEngine *e, const char *path, GError **error)
{
  ScCscTuner *t = g_hash_table_lookup (e->controllers, path);
  if (!t && (t = sc_csc_tuner_load (path, &e->model->arch.unet, error)))
    g_hash_table_insert (e->controllers, g_strdup (path), t);
  return t;
}

static gboolean
hint_matches (const HintEntry *h, const ScRequestControl *c, const ScHintPlacement *place)
{
  return h->picture == c->picture && h->kind == c->kind && memcmp (&h->place, place, sizeof *place) == 0;
}

static gboolean
is_inpainting (const ScRequest *r)
{
  gboolean outpaint = r->outpaint[0] > 0 || r->outpaint[1] > 0 || r->outpaint[2] > 0 || r->outpaint[3] > 0;
  return r->init_image && (r->mask || outpaint);
}

/* The hint of c on the render's canvas: from the last request's hints when the picture is the same GBytes
 * (the annotator, e.g. Canny, is not free either), else made now. Entries land in keep. */
static const ScTensor *
ensure_hint (ScEngine *e, const ScRequestControl *c, const ScHintPlacement *place, GPtrArray *keep, GError **error)
{
  for (guint i = 0; i < keep->len; i++) /* two layers may share a picture */
    {
      HintEntry *h = g_ptr_array_index (keep, i);
      if (hint_matches (h, c, place))
        return h->hint;
    }
  for (guint i = 0; i < e->hints->len; i++)
    {
      HintEntry *h = g_ptr_array_index (e->hints, i);
      if (hint_matches (h, c, place))
        {
          g_ptr_array_add (keep, g_ptr_array_steal_index (e->hints, i));
          return h->hint;
        }
    }
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (c->picture, &size);
  if (c->width <= 0 || c->height <= 0 || size != (gsize) c->width * c->height * 3)
    {
      g_set_error_literal (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "The condition picture is broken");
      return NULL;
    }
  ScImage view = { c->width, c->height, 3, 8, (void *) data };
  ScTensor *hint = sc_control_hint_place (&view, c->kind, NULL, place, error);
  if (!hint)
    return NULL;
  HintEntry *h = g_new0 (HintEntry, 1);
  h->picture = g_bytes_ref (c->picture);
  h->kind = c->kind;
  h->place = *place;
  h->hint = hint;
  g_ptr_array_add (keep, h);
  return hint;
}

/* The tuner set of r (NULL with no error when r has none), its summary for the PNG text in summary. */
static ScTunerSet *
build_tuner_set (ScEngine *e, const ScRequest *r, GString *summary, GError **error)
{
  if (r->n_styles <= 0 && r->n_controls <= 0)
    return NULL;
  g_autoptr (ScTunerSet) set = sc_tuner_set_new (&e->model->arch.unet, error);
  if (!set)
    return NULL;
  for (int i = 0; i < r->n_styles; i++)
    {
      const ScRequestStyle *st = &r->styles[i];
      ScScTuner *t = ensure_style (e, st->path, error);
      if (!t || sc_tuner_set_add_style (set, t, st->strength, error) < 0)
        return NULL;
      if (st->strength > 0)
        {
          g_autofree char *base = g_path_get_basename (st->path);
          g_string_append_printf (summary, "%sstyle %s %g", summary->len ? ", " : "", base, st->strength);
        }
    }
  /* Inpainting and outpainting generate a canvas around the init image; the condition layers cover that
   * image (the document's size), not the margins being added. */
  ScHintPlacement place = { r->width, r->height, 0, 0, r->width, r->height };
  if (is_inpainting (r))
    sc_inpaint_hint_placement (r->init_width, r->init_height, r->outpaint, &place);
  GPtrArray *keep = g_ptr_array_new_with_free_func (hint_entry_free);
  gboolean ok = TRUE;
  for (int i = 0; ok && i < r->n_controls; i++)
    {
      const ScRequestControl *c = &r->controls[i];
      if (c->weight == 0 || !c->picture || !c->controller)
        continue; /* off: bit-identical to leaving it out, and nothing to load */
      ScCscTuner *t = ensure_controller (e, c->controller, error);
      const ScTensor *hint = t ? ensure_hint (e, c, &place, keep, error) : NULL;
      ok = hint && sc_tuner_set_add_control (set, t, hint->data, 1, place.canvas_h, place.canvas_w, c->weight,
                                             error) >= 0;
      if (ok)
        g_string_append_printf (summary, "%s%s %g", summary->len ? ", " : "", sc_control_kind_name (c->kind),
                                c->weight);
    }
  /* only the hints of this request stay: a picture the user replaced is not coming back */
  g_ptr_array_unref (e->hints);
  e->hints = keep;
  if (!ok)
    return NULL;
  sc_tuner_set_set_control_scale (set, r->control_scale);
  if (sc_tuner_set_n_controls (set) && r->control_scale != 1.0f)
    g_string_append_printf (summary, ", control scale %g", r->control_scale);
  return g_steal_pointer (&set);
}

/* Returns the model for r, from the cache when the path and vocabulary match. */
static ScModel *
ensure_model (ScEngine *e, const ScRequest *r, gboolean *fresh, GError **error)
{
  *fresh = FALSE;
  if (e->model && g_strcmp0 (e->model->path, r->model_path) == 0 && g_strcmp0 (e->model_vocab, r->vocab) == 0)
    return e->model;
  forget_tuners (e); /* they were loaded for the old model's U-Net */
  g_clear_pointer (&e->model, sc_model_free); /* free the old one first: two big models may not fit */
  g_clear_pointer (&e->model_vocab, g_free);
  if (!r->model_path || !*r->model_path)
    {
      g_set_error_literal (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "No model chosen");
      return NULL;
    }
  ScModelOptions opts = { .vocab = r->vocab, .components = SC_COMPONENT_ALL };
  e->model = sc_model_load (r->model_path, &opts, error);
  if (!e->model)
    return NULL;
  e->model_vocab = g_strdup (r->vocab);
  *fresh = TRUE;
  return e->model;
}

/* Runs r and returns its "done" message, which the caller posts once the engine no longer counts
 * the request as running (so sc_engine_is_busy is FALSE when the last "done" arrives). */
static Msg *
run_request (ScEngine *e, ScRequest *r /* taken */, guint64 id, GCancellable *cancel)
{
  g_autoptr (ScRequest) req = r;
  GError *error = NULL;
  gboolean fresh;
  ScModel *model = ensure_model (e, req, &fresh, &error);
  if (!model)
    return done_msg (id, NULL, error);
  Msg *mm = g_new0 (Msg, 1);
  mm->kind = MSG_MODEL;
  mm->id = id;
  mm->path = g_strdup (model->path);
  mm->description = sc_model_describe (model);
  post (e, mm);

  if (!req->prompt) /* load only: done with neither result nor error */
    return done_msg (id, NULL, NULL);
  if (g_cancellable_is_cancelled (cancel))
    return done_msg (id, NULL, g_error_new_literal (SC_ERROR, SC_ERROR_CANCELLED, "cancelled"));
  sc_set_num_threads (req->n_threads);
  ScGenerateParams p;
  sc_request_to_params (req, &p);
  p.cancellable = cancel;
  g_autoptr (GString) summary = g_string_new (NULL);
  g_autoptr (ScTunerSet) set = build_tuner_set (e, req, summary, &error);
  if (error)
    return done_msg (id, NULL, error);
  p.tuners = set;
  p.tuners_summary = summary->str;
  /* Inpainting: views of the request's pixels, alive for the whole render. */
  ScImage init_view = { 0 }, mask_view = { 0 };
  if (is_inpainting (req))
    {
      gsize init_size = 0, mask_size = 0;
      const void *init_px = g_bytes_get_data (req->init_image, &init_size);
      const void *mask_px = req->mask ? g_bytes_get_data (req->mask, &mask_size) : NULL;
      if (req->init_width <= 0 || req->init_height <= 0 || init_size != (gsize) req->init_width * req->init_height * 3 ||
          (req->mask && (req->mask_width <= 0 || req->mask_height <= 0 ||
                         mask_size != (gsize) req->mask_width * req->mask_height)))
        return done_msg (id, NULL, g_error_new_literal (SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                                                        "The picture or the mask to inpaint is broken"));
      init_view = (ScImage) { req->init_width, req->init_height, 3, 8, (void *) init_px };
      p.init_image = &init_view;
      if (req->mask)
        {
          mask_view = (ScImage) { req->mask_width, req->mask_height, 1, 8, (void *) mask_px };
          p.mask = &mask_view;
        }
      memcpy (p.outpaint, req->outpaint, sizeof p.outpaint);
      p.strength = req->strength > 0 ? req->strength : 1.0;
    }
  RunState s = { e, id, cancel };
  gint64 t0 = g_get_monotonic_time ();
  ScImage *img = sc_generate (model, sc_backend_cpu (), &p, on_progress, &s, &error);
  g_atomic_int_set (&e->hint_encoder_runs, count_encoder_runs (e));
  if (!img)
    return done_msg (id, NULL, error);
  ScResult *res = g_new0 (ScResult, 1);
  res->id = id;
  res->image = img;
  res->parameters = sc_generate_params_to_a1111 (&p, model);
  res->json = sc_generate_params_to_json (&p, model);
  res->seconds = (double) (g_get_monotonic_time () - t0) / 1e6;
  res->hint_encoder_runs = g_atomic_int_get (&e->hint_encoder_runs);
  res->request = g_steal_pointer (&req);
  return done_msg (id, res, NULL);
}

static gpointer
engine_thread (gpointer data)
{
  ScEngine *e = data;
  for (;;)
    {
      g_mutex_lock (&e->lock);
      while (!e->quit && !e->pending)
        g_cond_wait (&e->wake, &e->lock);
      if (e->quit)
        {
          g_mutex_unlock (&e->lock);
          break;
        }
      ScRequest *r = g_steal_pointer (&e->pending);
      guint64 id = e->pending_id;
      GCancellable *cancel = g_cancellable_new ();
      e->running_id = id;
      e->running_cancel = g_object_ref (cancel);
      g_mutex_unlock (&e->lock);

      Msg *done = run_request (e, r, id, cancel);

      g_mutex_lock (&e->lock);
      e->running_id = 0;
      g_clear_object (&e->running_cancel);
      g_mutex_unlock (&e->lock);
      g_object_unref (cancel);
      post (e, done);
    }
  forget_tuners (e);
  g_clear_pointer (&e->model, sc_model_free);
  g_clear_pointer (&e->model_vocab, g_free);
  return NULL;
}

ScEngine *
sc_engine_new (GMainContext *context, const ScEngineCallbacks *callbacks, gpointer user)
{
  ScEngine *e = g_new0 (ScEngine, 1);
  e->context = context ? g_main_context_ref (context) : g_main_context_ref_thread_default ();
  e->target = g_new0 (Target, 1);
  e->target->ref = 1;
  e->target->alive = TRUE;
  if (callbacks)
    e->target->cb = *callbacks;
  e->target->user = user;
  g_mutex_init (&e->lock);
  g_cond_init (&e->wake);
  e->styles = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) sc_sc_tuner_unref);
  e->controllers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) sc_csc_tuner_unref);
  e->hints = g_ptr_array_new_with_free_func (hint_entry_free);
  e->thread = g_thread_new ("scedit-engine", engine_thread, e);
  return e;
}

void
sc_engine_free (ScEngine *e)
{
  if (!e)
    return;
  g_mutex_lock (&e->lock);
  e->quit = TRUE;
  g_clear_pointer (&e->pending, sc_request_free);
  if (e->running_cancel)
    g_cancellable_cancel (e->running_cancel);
  g_cond_signal (&e->wake);
  g_mutex_unlock (&e->lock);
  g_thread_join (e->thread);
  e->target->alive = FALSE; /* messages still queued on the context are dropped */
  target_unref (e->target);
  g_main_context_unref (e->context);
  g_mutex_clear (&e->lock);
  g_cond_clear (&e->wake);
  g_hash_table_unref (e->styles);
  g_hash_table_unref (e->controllers);
  g_ptr_array_unref (e->hints);
  g_free (e);
}

guint64
sc_engine_submit (ScEngine *e, const ScRequest *r)
{
  g_return_val_if_fail (e && r, 0);
  ScRequest *copy = sc_request_copy (r);
  g_mutex_lock (&e->lock);
  if (e->pending)
    {
      post_cancelled (e, e->pending_id, "superseded by a newer request");
      sc_request_free (e->pending);
    }
  e->pending = copy;
  e->pending_id = ++e->last_id;
  guint64 id = e->pending_id;
  if (e->running_cancel) /* newest wins: the render in flight stops at its next U-Net block */
    g_cancellable_cancel (e->running_cancel);
  g_cond_signal (&e->wake);
  g_mutex_unlock (&e->lock);
  return id;
}

void
sc_engine_cancel (ScEngine *e)
{
  g_return_if_fail (e);
  g_mutex_lock (&e->lock);
  if (e->pending)
    {
      post_cancelled (e, e->pending_id, "cancelled");
      g_clear_pointer (&e->pending, sc_request_free);
    }
  if (e->running_cancel)
    g_cancellable_cancel (e->running_cancel);
  g_mutex_unlock (&e->lock);
}

gboolean
sc_engine_is_busy (ScEngine *e)
{
  g_mutex_lock (&e->lock);
  gboolean busy = e->pending != NULL || e->running_id != 0;
  g_mutex_unlock (&e->lock);
  return busy;
}

int
sc_engine_get_hint_encoder_runs (ScEngine *e)
{
  g_return_val_if_fail (e, 0);
  return g_atomic_int_get (&e->hint_encoder_runs);
}
