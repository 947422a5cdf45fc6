#define G_LOG_DOMAIN "scedit-document"

#include "sc-document.h"
#include "diffusion/inpaint.h"

#include <json-glib/json-glib.h>

struct _ScDocument {
  GObject parent_instance;
  char *model_path;
  char *prompt;
  char *negative_prompt;
  guint64 seed;
  gboolean seed_locked;
  int steps;
  double cfg_scale;
  int width, height;
  guint sampler; /* ScSamplerKind */
  int mask_grow, mask_feather; /* inpainting: pixels the repaint region grows by, soft band outside it */
  GArray *styles;     /* Style */
  GArray *conditions; /* Condition */
  GArray *request_styles, *request_controls; /* what sc_document_to_request lends out */
  GBytes *image, *mask;  /* paintable layers: RGB and grey; NULL until there is one */
  int image_width, image_height, mask_width, mask_height;
  int outpaint[4];            /* pixels the next render adds: left, top, right, bottom */
  ScLayerKind active_layer;
  guint active_condition;
  guint next_condition_uid;
  ScUndoStack *undo;
};

/* One side of an undo step: a layer's pixels in a rectangle, a condition's weight, or the outpaint
 * margins. */
typedef struct {
  gboolean is_weight;
  gboolean is_extension;
  int margins[4];
  ScLayerKind layer;
  guint condition;       /* a condition's uid (indices shift when one is removed) */
  ScPaintRect rect;
  int width, height;     /* the layer's size when recorded: a step never applies to a resized layer */
  GBytes *pixels;
  double weight;
} UndoState;

static void
undo_state_free (gpointer data)
{
  UndoState *u = data;
  g_clear_pointer (&u->pixels, g_bytes_unref);
  g_free (u);
}

static void apply_undo_state (gpointer state, gpointer user);

typedef struct {
  char *path;
  double strength;
} Style;

typedef struct {
  guint uid;             /* stable for the condition's life: what undo steps refer to */
  ScControlKind kind;
  GBytes *picture;
  int width, height;
  gboolean is_map;
  double weight;
  gboolean visible;
  char *controller;
} Condition;

static void
style_clear (gpointer data)
{
  g_free (((Style *) data)->path);
}

static void
condition_clear (gpointer data)
{
  Condition *c = data;
  g_clear_pointer (&c->picture, g_bytes_unref);
  g_free (c->controller);
}

G_DEFINE_FINAL_TYPE (ScDocument, sc_document, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_MODEL_PATH,
  PROP_PROMPT,
  PROP_NEGATIVE_PROMPT,
  PROP_SEED,
  PROP_SEED_LOCKED,
  PROP_STEPS,
  PROP_CFG_SCALE,
  PROP_WIDTH,
  PROP_HEIGHT,
  PROP_SAMPLER,
  PROP_MASK_GROW,
  PROP_MASK_FEATHER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum { CHANGED, LAYERS_CHANGED, ACTIVE_LAYER_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
sc_document_finalize (GObject *object)
{
  ScDocument *self = SC_DOCUMENT (object);
  g_free (self->model_path);
  g_free (self->prompt);
  g_free (self->negative_prompt);
  g_array_unref (self->styles);
  g_array_unref (self->conditions);
  g_array_unref (self->request_styles);
  g_array_unref (self->request_controls);
  g_clear_pointer (&self->image, g_bytes_unref);
  g_clear_pointer (&self->mask, g_bytes_unref);
  sc_undo_stack_free (self->undo);
  G_OBJECT_CLASS (sc_document_parent_class)->finalize (object);
}

static void
sc_document_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  ScDocument *self = SC_DOCUMENT (object);
  switch (prop_id)
    {
    case PROP_MODEL_PATH: g_value_set_string (value, self->model_path); break;
    case PROP_PROMPT: g_value_set_string (value, self->prompt); break;
    case PROP_NEGATIVE_PROMPT: g_value_set_string (value, self->negative_prompt); break;
    case PROP_SEED: g_value_set_uint64 (value, self->seed); break;
    case PROP_SEED_LOCKED: g_value_set_boolean (value, self->seed_locked); break;
    case PROP_STEPS: g_value_set_int (value, self->steps); break;
    case PROP_CFG_SCALE: g_value_set_double (value, self->cfg_scale); break;
    case PROP_WIDTH: g_value_set_int (value, self->width); break;
    case PROP_HEIGHT: g_value_set_int (value, self->height); break;
    case PROP_SAMPLER: g_value_set_uint (value, self->sampler); break;
    case PROP_MASK_GROW: g_value_set_int (value, self->mask_grow); break;
    case PROP_MASK_FEATHER: g_value_set_int (value, self->mask_feather); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
set_string (char **field, const GValue *value)
{
  g_free (*field);
  *field = g_value_dup_string (value);
}

static void
sc_document_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  ScDocument *self = SC_DOCUMENT (object);
  switch (prop_id)
    {
    case PROP_MODEL_PATH: set_string (&self->model_path, value); break;
    case PROP_PROMPT: set_string (&self->prompt, value); break;
    case PROP_NEGATIVE_PROMPT: set_string (&self->negative_prompt, value); break;
    case PROP_SEED: self->seed = g_value_get_uint64 (value); break;
    case PROP_SEED_LOCKED: self->seed_locked = g_value_get_boolean (value); break;
    case PROP_STEPS: self->steps = g_value_get_int (value); break;
    case PROP_CFG_SCALE: self->cfg_scale = g_value_get_double (value); break;
    /* the model works on 8×8 blocks */
    case PROP_WIDTH: self->width = g_value_get_int (value) / 8 * 8; break;
    case PROP_HEIGHT: self->height = g_value_get_int (value) / 8 * 8; break;
    case PROP_SAMPLER: self->sampler = g_value_get_uint (value); break;
    case PROP_MASK_GROW: self->mask_grow = g_value_get_int (value); break;
    case PROP_MASK_FEATHER: self->mask_feather = g_value_get_int (value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* One "changed" per property change, whoever made it. */
static void
sc_document_dispatch_properties_changed (GObject *object, guint n_pspecs, GParamSpec **pspecs)
{
  G_OBJECT_CLASS (sc_document_parent_class)->dispatch_properties_changed (object, n_pspecs, pspecs);
  g_signal_emit (object, signals[CHANGED], 0);
}

static void
sc_document_class_init (ScDocumentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->finalize = sc_document_finalize;
  object_class->get_property = sc_document_get_property;
  object_class->set_property = sc_document_set_property;
  object_class->dispatch_properties_changed = sc_document_dispatch_properties_changed;

  GParamFlags f = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  properties[PROP_MODEL_PATH] = g_param_spec_string ("model-path", NULL, NULL, NULL, f);
  properties[PROP_PROMPT] = g_param_spec_string ("prompt", NULL, NULL, "", f);
  properties[PROP_NEGATIVE_PROMPT] = g_param_spec_string ("negative-prompt", NULL, NULL, "", f);
  properties[PROP_SEED] = g_param_spec_uint64 ("seed", NULL, NULL, 0, SC_DOCUMENT_SEED_MAX, 0, f);
  properties[PROP_SEED_LOCKED] = g_param_spec_boolean ("seed-locked", NULL, NULL, FALSE, f);
  properties[PROP_STEPS] = g_param_spec_int ("steps", NULL, NULL, 1, 150, 20, f);
  properties[PROP_CFG_SCALE] = g_param_spec_double ("cfg-scale", NULL, NULL, 1.0, 30.0, 7.0, f);
  properties[PROP_WIDTH] = g_param_spec_int ("width", NULL, NULL, 64, 2048, 512, f);
  properties[PROP_HEIGHT] = g_param_spec_int ("height", NULL, NULL, 64, 2048, 512, f);
  properties[PROP_SAMPLER] = g_param_spec_uint ("sampler", NULL, NULL, 0, SC_SAMPLER_DPMPP_2M,
                                                SC_SAMPLER_EULER_A, f);
  properties[PROP_MASK_GROW] = g_param_spec_int ("mask-grow", NULL, NULL, 0, SC_DOCUMENT_MASK_RADIUS_MAX,
                                                 SC_DOCUMENT_MASK_GROW_DEFAULT, f);
  properties[PROP_MASK_FEATHER] = g_param_spec_int ("mask-feather", NULL, NULL, 0, SC_DOCUMENT_MASK_RADIUS_MAX,
                                                    SC_DOCUMENT_MASK_FEATHER_DEFAULT, f);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                   NULL, G_TYPE_NONE, 0);
  signals[LAYERS_CHANGED] = g_signal_new ("layers-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                          NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* not "layers-changed": the layer list stays, so its rows need not be rebuilt */
  signals[ACTIVE_LAYER_CHANGED] = g_signal_new ("active-layer-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                                0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
sc_document_init (ScDocument *self)
{
  self->prompt = g_strdup ("");
  self->negative_prompt = g_strdup ("");
  self->steps = 20;
  self->cfg_scale = 7.0;
  self->width = self->height = 512;
  self->sampler = SC_SAMPLER_EULER_A;
  self->mask_grow = SC_DOCUMENT_MASK_GROW_DEFAULT;
  self->mask_feather = SC_DOCUMENT_MASK_FEATHER_DEFAULT;
  self->seed = g_random_int ();
  self->styles = g_array_new (FALSE, TRUE, sizeof (Style));
  g_array_set_clear_func (self->styles, style_clear);
  self->conditions = g_array_new (FALSE, TRUE, sizeof (Condition));
  g_array_set_clear_func (self->conditions, condition_clear);
  self->request_styles = g_array_new (FALSE, TRUE, sizeof (ScRequestStyle));
  self->request_controls = g_array_new (FALSE, TRUE, sizeof (ScRequestControl));
  self->active_layer = SC_LAYER_MASK;
  self->undo = sc_undo_stack_new (apply_undo_state, undo_state_free, self);
}

ScDocument *
sc_document_new (void)
{
  return g_object_new (SC_TYPE_DOCUMENT, NULL);
}

const char *
sc_document_get_model_path (ScDocument *self)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (self), NULL);
  return self->model_path;
}

void
sc_document_set_model_path (ScDocument *self, const char *path)
{
  g_return_if_fail (SC_IS_DOCUMENT (self));
  if (g_strcmp0 (self->model_path, path) == 0)
    return;
  g_free (self->model_path);
  self->model_path = g_strdup (path);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL_PATH]);
}

guint64
sc_document_get_seed (ScDocument *self)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (self), 0);
  return self->seed;
}

void
sc_document_set_seed (ScDocument *self, guint64 seed)
{
  g_return_if_fail (SC_IS_DOCUMENT (self));
  seed = MIN (seed, SC_DOCUMENT_SEED_MAX);
  if (self->seed == seed)
    return;
  self->seed = seed;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SEED]);
}

gboolean
sc_document_get_seed_locked (ScDocument *self)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (self), FALSE);
  return self->seed_locked;
}

void
sc_document_reroll_seed (ScDocument *self)
{
  /* 32 bits, as other tools use, so seeds can be typed and shared */
  sc_document_set_seed (self, g_random_int ());
}

static gboolean
mask_has_paint (GBytes *mask)
{
  gsize n = 0;
  const guint8 *p = g_bytes_get_data (mask, &n);
  for (gsize i = 0; i < n; i++)
    if (p[i] > 127)
      return TRUE;
  return FALSE;
}

void
sc_document_to_request (ScDocument *self, ScRequest *r)
{
  g_return_if_fail (SC_IS_DOCUMENT (self));
  sc_request_init (r);
  r->model_path = self->model_path;
  r->prompt = self->prompt ? self->prompt : (char *) "";
  r->negative_prompt = self->negative_prompt;
  r->seed = self->seed;
  r->steps = self->steps;
  r->cfg_scale = (float) self->cfg_scale;
  r->width = self->width;
  r->height = self->height;
  r->sampler = (ScSamplerKind) self->sampler;

  g_array_set_size (self->request_styles, 0);
  for (guint i = 0; i < self->styles->len; i++)
    {
      Style *st = &g_array_index (self->styles, Style, i);
      ScRequestStyle rs = { st->path, (float) st->strength };
      g_array_append_val (self->request_styles, rs);
    }
  g_array_set_size (self->request_controls, 0);
  for (guint i = 0; i < self->conditions->len; i++)
    {
      Condition *c = &g_array_index (self->conditions, Condition, i);
      if (!c->picture || !c->controller || !c->visible || c->weight <= 0)
        continue; /* not ready or switched off: the engine need not load its controller */
      ScRequestControl rc = {
        .controller = c->controller,
        .kind = c->is_map ? SC_CONTROL_HINT : c->kind,
        .picture = c->picture, /* borrowed; the engine's copy takes its own reference */
        .width = c->width,
        .height = c->height,
        .weight = (float) c->weight,
      };
      g_array_append_val (self->request_controls, rc);
    }
  r->styles = (ScRequestStyle *) self->request_styles->data;
  r->n_styles = (int) self->request_styles->len;
  r->controls = (ScRequestControl *) self->request_controls->data;
  r->n_controls = (int) self->request_controls->len;

  /* A painted mask over an image: the render repaints only the masked part of that image. Margins to
   * add: the render extends the image and fills them in (outpainting), with or without a mask. */
  gboolean masked = self->mask && mask_has_paint (self->mask);
  gboolean extend = self->outpaint[0] || self->outpaint[1] || self->outpaint[2] || self->outpaint[3];
  if (self->image && (masked || extend))
    {
      r->init_image = self->image; /* borrowed, like the pictures: the engine's copy takes a reference */
      r->init_width = self->image_width;
      r->init_height = self->image_height;
      if (masked)
        {
          r->mask = self->mask;
          r->mask_width = self->mask_width;
          r->mask_height = self->mask_height;
        }
      memcpy (r->outpaint, self->outpaint, sizeof r->outpaint);
      r->mask_grow = self->mask_grow;
      r->mask_feather = self->mask_feather;
    }
}

void
sc_document_extend (ScDocument *self, int left, int top, int right, int bottom)
{
  g_return_if_fail (SC_IS_DOCUMENT (self));
  const int add[4] = { left, top, right, bottom };
  UndoState *before = g_new0 (UndoState, 1), *after = g_new0 (UndoState, 1);
  before->is_extension = after->is_extension = TRUE;
  memcpy (before->margins, self->outpaint, sizeof self->outpaint);
  for (int i = 0; i < 4; i++)
    after->margins[i] = CLAMP (self->outpaint[i] + add[i], 0, SC_DOCUMENT_EXTEND_MAX);
  if (memcmp (before->margins, after->margins, sizeof after->margins) == 0)
    {
      undo_state_free (before);
      undo_state_free (after);
      return;
    }
  memcpy (self->outpaint, after->margins, sizeof self->outpaint);
  sc_undo_stack_push (self->undo, NULL, before, after); /* one step per call: a handle drag, a menu press */
  g_signal_emit (self, signals[CHANGED], 0);
}

void
sc_document_get_extension (ScDocument *self, int margins[4])
{
  g_return_if_fail (SC_IS_DOCUMENT (self));
  memcpy (margins, self->outpaint, sizeof self->outpaint);
}

void
sc_document_clear_extension (ScDocument *self)
{
  g_return_if_fail (SC_IS_DOCUMENT (self));
  memset (self->outpaint, 0, sizeof self->outpaint);
}

/* pixels (w × h × channels) on a black canvas of place's size at its (x, y). */
static GBytes *
pad_pixels (GBytes *pixels, int channels, const ScHintPlacement *place)
{
  gsize row = (gsize) place->init_w * channels, out_row = (gsize) place->canvas_w * channels;
  guint8 *out = g_malloc0 (out_row * place->canvas_h);
  const guint8 *in = g_bytes_get_data (pixels, NULL);
  for (int y = 0; y < place->init_h; y++)
    memcpy (out + (gsize) (place->y + y) * out_row + (gsize) place->x * channels, in + y * row, row);
  return g_bytes_new_take (out, out_row * place->canvas_h);
}

void
sc_document_extend_layers (ScDocument *self, int old_w, int old_h, const int margins[4])
{
  g_return_if_fail (SC_IS_DOCUMENT (self));
  /* the engine lays the canvas out so; the result is that canvas less any pad past its end */
  ScHintPlacement place;
  sc_inpaint_hint_placement (old_w, old_h, margins, &place);
  sc_inpaint_canvas_size (old_w, old_h, margins, &place.canvas_w, &place.canvas_h);
  if (place.canvas_w == old_w && place.canvas_h == old_h)
    return;
  gboolean changed = FALSE;
  for (guint i = 0; i < self->conditions->len; i++)
    {
      Condition *c = &g_array_index (self->conditions, Condition, i);
      if (!c->picture || c->width != old_w || c->height != old_h)
        continue;
      GBytes *grown = pad_pixels (c->picture, 3, &place);
      g_bytes_unref (c->picture);
      c->picture = grown;
      c->width = place.canvas_w;
      c->height = place.canvas_h;
      changed = TRUE;
    }
  if (self->mask && self->mask_width == old_w && self->mask_height == old_h)
    {
      GBytes *grown = pad_pixels (self->mask, 1, &place);
      g_bytes_unref (self->mask);
      self->mask = grown;
      self->mask_width = place.canvas_w;
      self->mask_height = place.canvas_h;
      changed = TRUE;
    }
  /* like a new image, not an edit: no render of its own; the rows and canvas redraw */
  if (changed)
    g_signal_emit (self, signals[LAYERS_CHANGED], 0);
}

/* ---- SCEdit layers ---- */

static void
emit_changed (ScDocument *self, gboolean layers)
{
  if (layers)
    g_signal_emit (self, signals[LAYERS_CHANGED], 0);
  g_signal_emit (self, signals[CHANGED], 0);
}

static Style *
get_style (ScDocument *self, guint index)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (self) && index < self->styles->len, NULL);
  return &g_array_index (self->styles, Style, index);
}

static Condition *
get_condition (ScDocument *self, guint index)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (self) && index < self->conditions->len, NULL);
  return &g_array_index (self->conditions, Condition, index);
}

guint
sc_document_get_n_styles (ScDocument *self)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (self), 0);
  return self->styles->len;
}

guint
sc_document_add_style (ScDocument *self, const char *path)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (self) && path, 0);
  Style st = { g_strdup (path), 1.0 };
  g_array_append_val (self->styles, st);
  emit_changed (self, TRUE);
  return self->styles->len - 1;
}

void
sc_document_remove_style (ScDocument *self, guint index)
{
  if (!get_style (self, index))
    return;
  g_array_remove_index (self->styles, index);
  emit_changed (self, TRUE);
}

const char *
sc_document_get_style_path (ScDocument *self, guint index)
{
  Style *st = get_style (self, index);
  return st ? st->path : NULL;
}

double
sc_document_get_style_strength (ScDocument *self, guint index)
{
  Style *st = get_style (self, index);
  return st ? st->strength : 0;
}

void
sc_document_set_style_strength (ScDocument *self, guint index, double strength)
{
  Style *st = get_style (self, index);
  strength = CLAMP (strength, 0, 1);
  if (!st || st->strength == strength)
    return;
  st->strength = strength;
  emit_changed (self, FALSE);
}

guint
sc_document_get_n_conditions (ScDocument *self)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (self), 0);
  return self->conditions->len;
}

guint
sc_document_add_condition (ScDocument *self, ScControlKind kind)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (self), 0);
  Condition c = { .uid = ++self->next_condition_uid, .kind = kind, .weight = 1.0, .visible = TRUE };
  g_array_append_val (self->conditions, c);
  emit_changed (self, TRUE);
  return self->conditions->len - 1;
}

void
sc_document_remove_condition (ScDocument *self, guint index)
{
  if (!get_condition (self, index))
    return;
  g_array_remove_index (self->conditions, index);
  /* the layer being painted on went: back to the mask (the default); later ones moved down by one */
  gboolean moved = self->active_layer == SC_LAYER_CONDITION && self->active_condition >= index;
  if (moved && self->active_condition == index)
    self->active_layer = SC_LAYER_MASK;
  else if (moved)
    self->active_condition--;
  emit_changed (self, TRUE);
  if (moved)
    g_signal_emit (self, signals[ACTIVE_LAYER_CHANGED], 0);
}

/* The index of the condition with uid, FALSE when it was removed. */
static gboolean
find_condition (ScDocument *self, guint uid, guint *index)
{
  for (guint i = 0; i < self->conditions->len; i++)
    if (g_array_index (self->conditions, Condition, i).uid == uid)
      {
        *index = i;
        return TRUE;
      }
  return FALSE;
}

ScControlKind
sc_document_get_condition_kind (ScDocument *self, guint index)
{
  Condition *c = get_condition (self, index);
  return c ? c->kind : SC_CONTROL_HINT;
}

void
sc_document_set_condition_picture (ScDocument *self, guint index, GBytes *picture, int width, int height,
                                   gboolean is_map)
{
  Condition *c = get_condition (self, index);
  if (!c)
    return;
  g_return_if_fail (!picture || g_bytes_get_size (picture) == (gsize) width * height * 3);
  g_clear_pointer (&c->picture, g_bytes_unref);
  c->picture = picture ? g_bytes_ref (picture) : NULL;
  c->width = picture ? width : 0;
  c->height = picture ? height : 0;
  c->is_map = picture && is_map;
  emit_changed (self, FALSE);
}

GBytes *
sc_document_get_condition_picture (ScDocument *self, guint index, int *width, int *height)
{
  Condition *c = get_condition (self, index);
  if (width)
    *width = c ? c->width : 0;
  if (height)
    *height = c ? c->height : 0;
  return c ? c->picture : NULL;
}

double
sc_document_get_condition_weight (ScDocument *self, guint index)
{
  Condition *c = get_condition (self, index);
  return c ? c->weight : 0;
}

void
sc_document_set_condition_weight (ScDocument *self, guint index, double weight)
{
  Condition *c = get_condition (self, index);
  weight = CLAMP (weight, 0, SC_DOCUMENT_WEIGHT_MAX);
  if (!c || c->weight == weight)
    return;
  if (!sc_undo_stack_is_applying (self->undo))
    {
      /* a slider drag sends many values: they coalesce into one step */
      UndoState *before = g_new0 (UndoState, 1), *after = g_new0 (UndoState, 1);
      before->is_weight = after->is_weight = TRUE;
      before->condition = after->condition = c->uid;
      before->weight = c->weight;
      after->weight = weight;
      g_autofree char *key = g_strdup_printf ("weight-%u", c->uid);
      sc_undo_stack_push (self->undo, key, before, after);
    }
  c->weight = weight;
  emit_changed (self, FALSE);
}

gboolean
sc_document_get_condition_visible (ScDocument *self, guint index)
{
  Condition *c = get_condition (self, index);
  return c && c->visible;
}

void
sc_document_set_condition_visible (ScDocument *self, guint index, gboolean visible)
{
  Condition *c = get_condition (self, index);
  if (!c || c->visible == !!visible)
    return;
  c->visible = !!visible;
  emit_changed (self, FALSE);
}

gboolean
sc_document_get_condition_is_map (ScDocument *self, guint index)
{
  Condition *c = get_condition (self, index);
  return c && c->is_map;
}

const char *
sc_document_get_condition_controller (ScDocument *self, guint index)
{
  Condition *c = get_condition (self, index);
  return c ? c->controller : NULL;
}

void
sc_document_set_condition_controller (ScDocument *self, guint index, const char *path)
{
  Condition *c = get_condition (self, index);
  if (!c || g_strcmp0 (c->controller, path) == 0)
    return;
  g_free (c->controller);
  c->controller = g_strdup (path);
  emit_changed (self, FALSE);
}

gboolean
sc_document_apply_json (ScDocument *self, const char *json, GError **error)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (self), FALSE);
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, json, -1, error))
    return FALSE;
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not a JSON object");
      return FALSE;
    }
  JsonObject *o = json_node_get_object (root);
  GObject *obj = G_OBJECT (self);
  g_object_freeze_notify (obj); /* one "changed" for the lot */
  if (json_object_has_member (o, "prompt"))
    g_object_set (obj, "prompt", json_object_get_string_member_with_default (o, "prompt", ""), NULL);
  if (json_object_has_member (o, "negative_prompt"))
    g_object_set (obj, "negative-prompt", json_object_get_string_member_with_default (o, "negative_prompt", ""),
                  NULL);
  const char *seed = json_object_get_string_member_with_default (o, "seed", NULL);
  if (seed)
    {
      sc_document_set_seed (self, g_ascii_strtoull (seed, NULL, 10));
      g_object_set (obj, "seed-locked", TRUE, NULL); /* restoring an image means keeping its seed */
    }
  int steps = (int) json_object_get_int_member_with_default (o, "steps", 0);
  if (steps >= 1 && steps <= 150)
    g_object_set (obj, "steps", steps, NULL);
  double cfg = json_object_get_double_member_with_default (o, "cfg_scale", 0);
  if (cfg >= 1 && cfg <= 30)
    g_object_set (obj, "cfg-scale", cfg, NULL);
  int w = (int) json_object_get_int_member_with_default (o, "width", 0);
  int h = (int) json_object_get_int_member_with_default (o, "height", 0);
  if (w >= 64 && w <= 2048 && h >= 64 && h <= 2048)
    g_object_set (obj, "width", w, "height", h, NULL);
  ScSamplerKind kind;
  const char *sampler = json_object_get_string_member_with_default (o, "sampler", NULL);
  if (sampler && sc_sampler_kind_from_name (sampler, &kind, NULL))
    g_object_set (obj, "sampler", (guint) kind, NULL);
  /* written for inpainting and outpainting renders only */
  int grow = (int) json_object_get_int_member_with_default (o, "mask_grow", -1);
  if (grow >= 0 && grow <= SC_DOCUMENT_MASK_RADIUS_MAX)
    g_object_set (obj, "mask-grow", grow, NULL);
  int feather = (int) json_object_get_int_member_with_default (o, "mask_feather", -1);
  if (feather >= 0 && feather <= SC_DOCUMENT_MASK_RADIUS_MAX)
    g_object_set (obj, "mask-feather", feather, NULL);
  g_object_thaw_notify (obj);
  return TRUE;
}

/* ---- painting and undo ---- */

void
sc_document_set_active_layer (ScDocument *self, ScLayerKind kind, guint condition)
{
  g_return_if_fail (SC_IS_DOCUMENT (self));
  self->active_layer = kind;
  self->active_condition = condition;
  g_signal_emit (self, signals[ACTIVE_LAYER_CHANGED], 0);
}

ScLayerKind
sc_document_get_active_layer (ScDocument *self, guint *condition)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (self), SC_LAYER_MASK);
  if (condition)
    *condition = self->active_condition;
  return self->active_layer;
}

GBytes *
sc_document_get_layer_pixels (ScDocument *self, ScLayerKind kind, guint condition, int *width, int *height,
                              int *channels)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (self), NULL);
  GBytes *pixels = NULL;
  int w = 0, h = 0, ch = 3;
  switch (kind)
    {
    case SC_LAYER_IMAGE: pixels = self->image; w = self->image_width; h = self->image_height; break;
    case SC_LAYER_MASK: pixels = self->mask; w = self->mask_width; h = self->mask_height; ch = 1; break;
    case SC_LAYER_CONDITION: pixels = sc_document_get_condition_picture (self, condition, &w, &h); break;
    default: break;
    }
  if (width)
    *width = w;
  if (height)
    *height = h;
  if (channels)
    *channels = ch;
  return pixels;
}

/* Replaces a layer's pixels (a new GBytes, so the engine sees a new picture). */
static void
set_layer_pixels (ScDocument *self, ScLayerKind kind, guint condition, GBytes *pixels, int w, int h)
{
  switch (kind)
    {
    case SC_LAYER_IMAGE:
      g_clear_pointer (&self->image, g_bytes_unref);
      self->image = g_bytes_ref (pixels);
      self->image_width = w;
      self->image_height = h;
      emit_changed (self, FALSE);
      break;
    case SC_LAYER_MASK:
      g_clear_pointer (&self->mask, g_bytes_unref);
      self->mask = g_bytes_ref (pixels);
      self->mask_width = w;
      self->mask_height = h;
      emit_changed (self, FALSE);
      break;
    case SC_LAYER_CONDITION:
      {
        Condition *c = get_condition (self, condition);
        /* a picture first made here is drawn by hand: it already is the condition map */
        gboolean is_map = c && (c->picture ? c->is_map : TRUE);
        sc_document_set_condition_picture (self, condition, pixels, w, h, is_map);
      }
      break;
    default:
      break;
    }
}

static void
apply_undo_state (gpointer state, gpointer user)
{
  ScDocument *self = user;
  UndoState *u = state;
  guint index = 0;
  if ((u->is_weight || u->layer == SC_LAYER_CONDITION) && !find_condition (self, u->condition, &index))
    return; /* the condition was removed since */
  if (u->is_weight)
    {
      sc_document_set_condition_weight (self, index, u->weight);
      return;
    }
  if (u->is_extension)
    {
      memcpy (self->outpaint, u->margins, sizeof self->outpaint);
      g_signal_emit (self, signals[CHANGED], 0);
      return;
    }
  int w, h, ch;
  GBytes *old = sc_document_get_layer_pixels (self, u->layer, index, &w, &h, &ch);
  if (!old || w != u->width || h != u->height)
    return; /* the layer went or changed size since */
  gsize size;
  ScPaintBuffer buf = { g_bytes_unref_to_data (g_bytes_ref (old), &size), w, h, ch };
  sc_paint_buffer_put_rect (&buf, u->rect, u->pixels);
  g_autoptr (GBytes) pixels = g_bytes_new_take (buf.data, size);
  set_layer_pixels (self, u->layer, index, pixels, w, h);
}

gboolean
sc_document_paint (ScDocument *self, const ScPaintTool *tool, const double *points, guint n_points)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (self) && tool, FALSE);
  ScLayerKind kind = self->active_layer;
  guint index = self->active_condition;
  if (kind == SC_LAYER_CONDITION && !get_condition (self, index))
    return FALSE;
  int w, h, ch;
  GBytes *old = sc_document_get_layer_pixels (self, kind, index, &w, &h, &ch);
  ScPaintBuffer buf = { NULL, w, h, ch };
  gsize size;
  if (old)
    buf.data = g_bytes_unref_to_data (g_bytes_ref (old), &size);
  else if (kind == SC_LAYER_IMAGE)
    return FALSE; /* nothing shown yet */
  else
    {
      /* a fresh black layer at the image's size (or the document's, before the first render) */
      buf.width = self->image ? self->image_width : self->width;
      buf.height = self->image ? self->image_height : self->height;
      size = (gsize) buf.width * buf.height * ch;
      buf.data = g_malloc0 (size);
    }
  g_autoptr (GBytes) before_all = old ? g_bytes_ref (old) : g_bytes_new (buf.data, size);
  ScPaintRect dirty = sc_paint_apply (&buf, tool, points, n_points);
  if (dirty.width == 0)
    {
      g_free (buf.data);
      return FALSE;
    }
  ScPaintBuffer before_buf = { (guint8 *) g_bytes_get_data (before_all, NULL), buf.width, buf.height, ch };
  UndoState *before = g_new0 (UndoState, 1), *after = g_new0 (UndoState, 1);
  before->layer = after->layer = kind;
  before->condition = after->condition = kind == SC_LAYER_CONDITION ? get_condition (self, index)->uid : 0;
  before->rect = after->rect = dirty;
  before->width = after->width = buf.width;
  before->height = after->height = buf.height;
  before->pixels = sc_paint_buffer_copy_rect (&before_buf, dirty);
  after->pixels = sc_paint_buffer_copy_rect (&buf, dirty);
  sc_undo_stack_push (self->undo, NULL, before, after);
  int bw = buf.width, bh = buf.height;
  g_autoptr (GBytes) pixels = g_bytes_new_take (buf.data, size);
  set_layer_pixels (self, kind, index, pixels, bw, bh);
  return TRUE;
}

void
sc_document_set_image (ScDocument *self, GBytes *rgb, int width, int height)
{
  g_return_if_fail (SC_IS_DOCUMENT (self));
  g_return_if_fail (!rgb || g_bytes_get_size (rgb) == (gsize) width * height * 3);
  g_clear_pointer (&self->image, g_bytes_unref);
  self->image = rgb ? g_bytes_ref (rgb) : NULL;
  self->image_width = rgb ? width : 0;
  self->image_height = rgb ? height : 0;
  /* a new image is not an edit: no "changed" (that would start a live render of its own), but a canvas
   * painting on it must show it */
  if (self->active_layer == SC_LAYER_IMAGE)
    g_signal_emit (self, signals[ACTIVE_LAYER_CHANGED], 0);
}

GBytes *
sc_document_get_mask (ScDocument *self, int *width, int *height)
{
  return sc_document_get_layer_pixels (self, SC_LAYER_MASK, 0, width, height, NULL);
}

void
sc_document_set_mask (ScDocument *self, GBytes *mask, int width, int height)
{
  g_return_if_fail (SC_IS_DOCUMENT (self));
  g_return_if_fail (!mask || g_bytes_get_size (mask) == (gsize) width * height);
  if (mask)
    set_layer_pixels (self, SC_LAYER_MASK, 0, mask, width, height);
  else if (self->mask)
    {
      g_clear_pointer (&self->mask, g_bytes_unref);
      self->mask_width = self->mask_height = 0;
      emit_changed (self, FALSE);
    }
}

gboolean
sc_document_undo (ScDocument *self)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (self), FALSE);
  return sc_undo_stack_undo (self->undo);
}

gboolean
sc_document_redo (ScDocument *self)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (self), FALSE);
  return sc_undo_stack_redo (self->undo);
}

ScUndoStack *
sc_document_get_undo_stack (ScDocument *self)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (self), NULL);
  return self->undo;
}
