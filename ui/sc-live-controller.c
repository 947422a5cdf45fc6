#define G_LOG_DOMAIN "scedit-live"

#include "sc-live-controller.h"

struct _ScLiveController {
  GObject parent_instance;
  ScDocument *document;
  gboolean active, busy, stale;
  double last_seconds;
  guint n_finished;
  guint debounce_id;
  guint64 changes;         /* document changes seen */
  guint64 submitted_changes; /* changes when the newest request was submitted */
  guint64 request_id;      /* the newest live request, 0 none */
  int steps, size;         /* live quality: sampling steps, the long side's cap in pixels */
};

G_DEFINE_FINAL_TYPE (ScLiveController, sc_live_controller, G_TYPE_OBJECT)

enum { PROP_0, PROP_ACTIVE, PROP_BUSY, PROP_STALE, PROP_LAST_SECONDS, PROP_STEPS, PROP_SIZE, N_PROPS };
static GParamSpec *properties[N_PROPS];

enum { RENDER, CANCEL, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
set_flag (ScLiveController *self, gboolean *field, gboolean value, guint prop)
{
  if (*field == !!value)
    return;
  *field = !!value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static gboolean
on_debounce (gpointer data)
{
  ScLiveController *self = data;
  self->debounce_id = 0;
  self->submitted_changes = self->changes;
  set_flag (self, &self->busy, TRUE, PROP_BUSY);
  g_signal_emit (self, signals[RENDER], 0);
  return G_SOURCE_REMOVE;
}

static void
schedule (ScLiveController *self)
{
  /* restart the quiet spell: a slider drag renders once it pauses, not at every value */
  g_clear_handle_id (&self->debounce_id, g_source_remove);
  self->debounce_id = g_timeout_add (SC_LIVE_DEBOUNCE_MS, on_debounce, self);
  set_flag (self, &self->busy, TRUE, PROP_BUSY);
}

static void
on_document_changed (ScDocument *document, ScLiveController *self)
{
  self->changes++;
  if (!self->active)
    return;
  set_flag (self, &self->stale, TRUE, PROP_STALE);
  schedule (self);
}

void
sc_live_controller_submitted (ScLiveController *self, guint64 id)
{
  g_return_if_fail (SC_IS_LIVE_CONTROLLER (self));
  self->request_id = id;
  if (id == 0 && !self->debounce_id) /* nothing to render with (no model yet) */
    set_flag (self, &self->busy, FALSE, PROP_BUSY);
}

void
sc_live_controller_finished (ScLiveController *self, guint64 id, gboolean ok, double seconds)
{
  g_return_if_fail (SC_IS_LIVE_CONTROLLER (self));
  if (id == 0 || id != self->request_id)
    return; /* superseded, or not ours */
  self->request_id = 0;
  if (ok)
    {
      self->n_finished++;
      self->last_seconds = seconds;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_SECONDS]);
      if (self->changes == self->submitted_changes)
        set_flag (self, &self->stale, FALSE, PROP_STALE);
    }
  if (!self->debounce_id)
    set_flag (self, &self->busy, FALSE, PROP_BUSY);
}

void
sc_live_controller_set_active (ScLiveController *self, gboolean active)
{
  g_return_if_fail (SC_IS_LIVE_CONTROLLER (self));
  if (self->active == !!active)
    return;
  self->active = !!active;
  if (active)
    {
      /* what is shown was made by hand, maybe with other settings: render once now */
      set_flag (self, &self->stale, TRUE, PROP_STALE);
      schedule (self);
    }
  else
    {
      g_clear_handle_id (&self->debounce_id, g_source_remove);
      if (self->request_id)
        g_signal_emit (self, signals[CANCEL], 0);
      self->request_id = 0;
      set_flag (self, &self->busy, FALSE, PROP_BUSY);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACTIVE]);
}

/* A new live quality re-renders what is shown, as any other change of what a live render makes. */
static void
set_quality (ScLiveController *self, int *field, int value, guint prop)
{
  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
  if (self->active)
    {
      set_flag (self, &self->stale, TRUE, PROP_STALE);
      schedule (self);
    }
}

/* v rounded to a multiple of 8 (what the engine takes), at least 8. */
static int
round8 (double v)
{
  return MAX (8, (int) (v / 8 + 0.5) * 8);
}

void
sc_live_controller_build_request (ScLiveController *self, ScRequest *r)
{
  g_return_if_fail (SC_IS_LIVE_CONTROLLER (self));
  sc_document_to_request (self->document, r);
  r->steps = self->steps;
  int long_side = MAX (r->width, r->height);
  if (!r->init_image && long_side > self->size)
    {
      double scale = (double) self->size / long_side;
      r->width = round8 (r->width * scale);
      r->height = round8 (r->height * scale);
    }
}

gboolean
sc_live_controller_get_active (ScLiveController *self)
{
  g_return_val_if_fail (SC_IS_LIVE_CONTROLLER (self), FALSE);
  return self->active;
}

gboolean
sc_live_controller_get_busy (ScLiveController *self)
{
  g_return_val_if_fail (SC_IS_LIVE_CONTROLLER (self), FALSE);
  return self->busy;
}

gboolean
sc_live_controller_get_stale (ScLiveController *self)
{
  g_return_val_if_fail (SC_IS_LIVE_CONTROLLER (self), FALSE);
  return self->stale;
}

double
sc_live_controller_get_last_seconds (ScLiveController *self)
{
  g_return_val_if_fail (SC_IS_LIVE_CONTROLLER (self), 0);
  return self->last_seconds;
}

guint
sc_live_controller_get_n_finished (ScLiveController *self)
{
  g_return_val_if_fail (SC_IS_LIVE_CONTROLLER (self), 0);
  return self->n_finished;
}

static void
sc_live_controller_dispose (GObject *object)
{
  ScLiveController *self = SC_LIVE_CONTROLLER (object);
  g_clear_handle_id (&self->debounce_id, g_source_remove);
  if (self->document)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_clear_object (&self->document);
  G_OBJECT_CLASS (sc_live_controller_parent_class)->dispose (object);
}

static void
sc_live_controller_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  ScLiveController *self = SC_LIVE_CONTROLLER (object);
  switch (prop_id)
    {
    case PROP_ACTIVE: g_value_set_boolean (value, self->active); break;
    case PROP_BUSY: g_value_set_boolean (value, self->busy); break;
    case PROP_STALE: g_value_set_boolean (value, self->stale); break;
    case PROP_LAST_SECONDS: g_value_set_double (value, self->last_seconds); break;
    case PROP_STEPS: g_value_set_int (value, self->steps); break;
    case PROP_SIZE: g_value_set_int (value, self->size); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sc_live_controller_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  ScLiveController *self = SC_LIVE_CONTROLLER (object);
  switch (prop_id)
    {
    case PROP_ACTIVE: sc_live_controller_set_active (self, g_value_get_boolean (value)); break;
    case PROP_STEPS: set_quality (self, &self->steps, g_value_get_int (value), PROP_STEPS); break;
    case PROP_SIZE: set_quality (self, &self->size, g_value_get_int (value), PROP_SIZE); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sc_live_controller_class_init (ScLiveControllerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = sc_live_controller_dispose;
  object_class->get_property = sc_live_controller_get_property;
  object_class->set_property = sc_live_controller_set_property;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  properties[PROP_ACTIVE] = g_param_spec_boolean ("active", NULL, NULL, FALSE,
                                                  ro | G_PARAM_WRITABLE);
  properties[PROP_BUSY] = g_param_spec_boolean ("busy", NULL, NULL, FALSE, ro);
  properties[PROP_STALE] = g_param_spec_boolean ("stale", NULL, NULL, FALSE, ro);
  properties[PROP_LAST_SECONDS] = g_param_spec_double ("last-seconds", NULL, NULL, 0, G_MAXDOUBLE, 0, ro);
  properties[PROP_STEPS] = g_param_spec_int ("steps", NULL, NULL, 1, 150, SC_LIVE_DEFAULT_STEPS, ro | G_PARAM_WRITABLE);
  properties[PROP_SIZE] = g_param_spec_int ("size", NULL, NULL, 64, 4096, SC_LIVE_DEFAULT_SIZE, ro | G_PARAM_WRITABLE);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  signals[RENDER] = g_signal_new ("render", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                  G_TYPE_NONE, 0);
  signals[CANCEL] = g_signal_new ("cancel", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                  G_TYPE_NONE, 0);
}

static void
sc_live_controller_init (ScLiveController *self)
{
  self->steps = SC_LIVE_DEFAULT_STEPS;
  self->size = SC_LIVE_DEFAULT_SIZE;
}

ScLiveController *
sc_live_controller_new (ScDocument *document)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (document), NULL);
  ScLiveController *self = g_object_new (SC_TYPE_LIVE_CONTROLLER, NULL);
  self->document = g_object_ref (document);
  g_signal_connect (document, "changed", G_CALLBACK (on_document_changed), self);
  return self;
}
