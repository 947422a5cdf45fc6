#define G_LOG_DOMAIN "scedit-document-png"

#include "sc-document-png.h"

#include "cond/resize.h"
#include "core/error.h"
#include "io/png_layers.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

typedef struct {
  ScControlKind kind;
  double weight;
  gboolean visible, is_map;
  char *controller; /* file-name encoding; NULL: none (or, read back, missing) */
  ScImage *picture; /* 8-bit RGB; NULL: none */
} Condition;

typedef struct {
  char *path;
  double strength;
} Style;

struct _ScDocumentPng {
  GArray *conditions; /* Condition */
  GArray *styles;     /* Style */
  ScImage *mask;      /* 8-bit grey; NULL: none */
  int extend[4];
  GPtrArray *notes;   /* read back: what did not come back, for people */
};

static void
condition_clear (gpointer data)
{
  Condition *c = data;
  g_free (c->controller);
  sc_image_free (c->picture);
}

static void
style_clear (gpointer data)
{
  g_free (((Style *) data)->path);
}

static ScDocumentPng *
document_png_new (void)
{
  ScDocumentPng *self = g_new0 (ScDocumentPng, 1);
  self->conditions = g_array_new (FALSE, TRUE, sizeof (Condition));
  g_array_set_clear_func (self->conditions, condition_clear);
  self->styles = g_array_new (FALSE, TRUE, sizeof (Style));
  g_array_set_clear_func (self->styles, style_clear);
  self->notes = g_ptr_array_new_with_free_func (g_free);
  return self;
}

void
sc_document_png_free (ScDocumentPng *self)
{
  if (!self)
    return;
  g_array_unref (self->conditions);
  g_array_unref (self->styles);
  sc_image_free (self->mask);
  g_ptr_array_unref (self->notes);
  g_free (self);
}

/* ---- saving ---- */

static ScImage *
image_from_bytes (GBytes *bytes, int width, int height, int channels)
{
  gsize size = 0;
  const void *data = bytes ? g_bytes_get_data (bytes, &size) : NULL;
  if (!data || width < 1 || height < 1 || size != (gsize) width * height * channels)
    return NULL;
  ScImage *img = sc_image_new (width, height, channels, 8, NULL);
  if (img)
    memcpy (img->data, data, size);
  return img;
}

static gboolean
has_paint (const ScImage *mask)
{
  const guint8 *p = mask->data;
  for (gsize i = 0; i < (gsize) mask->width * mask->height; i++)
    if (p[i])
      return TRUE;
  return FALSE;
}

ScDocumentPng *
sc_document_png_snapshot (ScDocument *document)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (document), NULL);
  ScDocumentPng *self = document_png_new ();
  for (guint i = 0; i < sc_document_get_n_styles (document); i++)
    {
      Style st = { g_strdup (sc_document_get_style_path (document, i)), sc_document_get_style_strength (document, i) };
      g_array_append_val (self->styles, st);
    }
  for (guint i = 0; i < sc_document_get_n_conditions (document); i++)
    {
      int w, h;
      GBytes *picture = sc_document_get_condition_picture (document, i, &w, &h);
      Condition c = {
        .kind = sc_document_get_condition_kind (document, i),
        .weight = sc_document_get_condition_weight (document, i),
        .visible = sc_document_get_condition_visible (document, i),
        .is_map = sc_document_get_condition_is_map (document, i),
        .controller = g_strdup (sc_document_get_condition_controller (document, i)),
        .picture = image_from_bytes (picture, w, h, 3),
      };
      g_array_append_val (self->conditions, c);
    }
  int w, h;
  GBytes *mask = sc_document_get_mask (document, &w, &h);
  self->mask = image_from_bytes (mask, w, h, 1);
  if (self->mask && !has_paint (self->mask))
    g_clear_pointer (&self->mask, sc_image_free); /* an empty mask is no mask */
  sc_document_get_extension (document, self->extend);
  return self;
}

/* JSON written by hand: JsonGenerator prints doubles with 17 digits (0.7 becomes 0.69999999999999996),
 * and the chunk is meant to be read by people too. */
static void
append_string (GString *s, const char *utf8)
{
  g_string_append_c (s, '"');
  for (const guchar *p = (const guchar *) utf8; *p; p++)
    if (*p == '"' || *p == '\\')
      g_string_append_printf (s, "\\%c", *p);
    else if (*p < 0x20)
      g_string_append_printf (s, "\\u%04x", *p);
    else
      g_string_append_c (s, (char) *p);
  g_string_append_c (s, '"');
}

static void
append_number (GString *s, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.6g", v));
}

/* A path member as UTF-8 with the file's size beside it (for a sanity check when the file is opened). */
static void
append_path (GString *s, const char *key, const char *size_key, const char *path)
{
  g_autofree char *utf8 = g_filename_to_utf8 (path, -1, NULL, NULL, NULL);
  if (!utf8)
    return; /* not representable in JSON; the picture still travels */
  g_string_append_printf (s, ",\"%s\":", key);
  append_string (s, utf8);
  GStatBuf st;
  if (g_stat (path, &st) == 0)
    g_string_append_printf (s, ",\"%s\":%" G_GINT64_FORMAT, size_key, (gint64) st.st_size);
}

/* The layer chunks have a size limit; a bigger picture is scaled down to fit (the engine fits pictures to
 * the render size anyway, and resizes masks to the image). Returns img itself when it fits. */
static ScImage *
fit_layer (ScImage *img, ScResizeKind kind, GPtrArray *keep, GError **error)
{
  int side = MAX (img->width, img->height);
  if (side <= SC_PNG_LAYER_MAX_SIDE)
    return img;
  int w = MAX (1, (int) ((gint64) img->width * SC_PNG_LAYER_MAX_SIDE / side));
  int h = MAX (1, (int) ((gint64) img->height * SC_PNG_LAYER_MAX_SIDE / side));
  ScImage *small = sc_resize (img, w, h, kind, error);
  if (small)
    g_ptr_array_add (keep, small);
  return small;
}

/* The engine's JSON object with members (",\"a\":1,…") added before its closing brace. */
static char *
json_with_members (const char *json, const char *members)
{
  const char *open = json ? strchr (json, '{') : NULL;
  const char *close = json ? strrchr (json, '}') : NULL;
  if (!open || !close || close < open)
    return g_strdup_printf ("{%s}", members + 1);
  gboolean empty = TRUE;
  for (const char *p = open + 1; p < close; p++)
    empty = empty && g_ascii_isspace (*p);
  return g_strdup_printf ("%.*s%s}", (int) (close - json), json, empty ? members + 1 : members);
}

gboolean
sc_document_png_write (ScDocumentPng *self, const ScResult *result, const char *path, GError **error)
{
  g_return_val_if_fail (self && result && result->image && path, FALSE);
  g_autoptr (GPtrArray) keep = g_ptr_array_new_with_free_func ((GDestroyNotify) sc_image_free);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) layers = g_array_new (FALSE, TRUE, sizeof (ScPngLayer));
  g_autoptr (GString) m = g_string_new (",\"conditions\":[");
  for (guint i = 0; i < self->conditions->len; i++)
    {
      Condition *c = &g_array_index (self->conditions, Condition, i);
      g_string_append (m, i ? ",{\"kind\":" : "{\"kind\":");
      append_string (m, sc_control_kind_name (c->kind));
      g_string_append (m, ",\"weight\":");
      append_number (m, c->weight);
      g_string_append_printf (m, ",\"visible\":%s,\"map\":%s", c->visible ? "true" : "false",
                              c->is_map ? "true" : "false");
      if (c->controller)
        append_path (m, "controller", "controller_size", c->controller);
      if (c->picture)
        {
          ScImage *fitted = fit_layer (c->picture, SC_RESIZE_PIL_BILINEAR, keep, error);
          if (!fitted)
            return FALSE;
          char *name = g_strdup_printf ("condition-%u", i + 1);
          g_ptr_array_add (names, name);
          ScPngLayer layer = { name, fitted };
          g_array_append_val (layers, layer);
          g_string_append_printf (m, ",\"layer\":\"%s\"", name);
        }
      g_string_append_c (m, '}');
    }
  g_string_append (m, "],\"tuners\":[");
  for (guint i = 0; i < self->styles->len; i++)
    {
      Style *st = &g_array_index (self->styles, Style, i);
      g_string_append (m, i ? ",{\"strength\":" : "{\"strength\":");
      append_number (m, st->strength);
      append_path (m, "path", "size", st->path);
      g_string_append_c (m, '}');
    }
  g_string_append_c (m, ']');
  if (self->mask)
    {
      ScImage *fitted = fit_layer (self->mask, SC_RESIZE_CV_NEAREST, keep, error);
      if (!fitted)
        return FALSE;
      ScPngLayer layer = { "mask", fitted };
      g_array_append_val (layers, layer);
      g_string_append_printf (m, ",\"mask\":{\"layer\":\"mask\",\"width\":%d,\"height\":%d}", fitted->width,
                              fitted->height);
    }
  const int *e = self->extend;
  if (e[0] || e[1] || e[2] || e[3])
    g_string_append_printf (m, ",\"extend\":[%d,%d,%d,%d]", e[0], e[1], e[2], e[3]);

  g_autofree char *json = json_with_members (result->json, m->str);
  const char *keys[] = { "parameters", "scedit" };
  const char *values[] = { result->parameters ? result->parameters : "", json };
  return sc_image_save_png_layers (result->image, path, keys, values, 2, (const ScPngLayer *) layers->data,
                                   (int) layers->len, error);
}

/* ---- opening ---- */

static void G_GNUC_PRINTF (2, 3)
note (ScDocumentPng *self, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_ptr_array_add (self->notes, g_strdup_vprintf (format, args));
  va_end (args);
}

static const char *
get_string (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING ? json_node_get_string (n)
                                                                                          : NULL;
}

static double
get_number (JsonObject *o, const char *key, double fallback)
{
  JsonNode *n = json_object_get_member (o, key);
  if (!n || !JSON_NODE_HOLDS_VALUE (n))
    return fallback;
  GType t = json_node_get_value_type (n);
  return t == G_TYPE_DOUBLE ? json_node_get_double (n) : t == G_TYPE_INT64 ? (double) json_node_get_int (n) : fallback;
}

static gboolean
get_bool (JsonObject *o, const char *key, gboolean fallback)
{
  JsonNode *n = json_object_get_member (o, key);
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN ? json_node_get_boolean (n)
                                                                                           : fallback;
}

static JsonArray *
get_array (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  return n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

/* The file named by o's key, in the file-name encoding, if it still exists; notes when it is gone or
 * its size changed since the save. */
static char *
find_file (ScDocumentPng *self, JsonObject *o, const char *key, const char *size_key, gboolean *missing)
{
  const char *utf8 = get_string (o, key);
  *missing = FALSE;
  if (!utf8)
    return NULL;
  g_autofree char *path = g_filename_from_utf8 (utf8, -1, NULL, NULL, NULL);
  g_autofree char *base = g_path_get_basename (utf8);
  GStatBuf st;
  if (!path || g_stat (path, &st) != 0 || !S_ISREG (st.st_mode))
    {
      *missing = TRUE;
      return NULL;
    }
  double saved = get_number (o, size_key, -1);
  if (saved >= 0 && saved != (double) st.st_size)
    /* TRANSLATORS: %s is a file name */
    note (self, _("“%s” has changed since the image was saved; it is used as it is now"), base);
  return g_steal_pointer (&path);
}

/* The picture stored as o's "layer" member, taken out of the table. */
static ScImage *
take_layer (JsonObject *o, GHashTable *layers)
{
  const char *name = get_string (o, "layer");
  gpointer key = NULL, value = NULL;
  if (!name || !layers || !g_hash_table_steal_extended (layers, name, &key, &value))
    return NULL;
  g_free (key);
  return value;
}

static void
read_conditions (ScDocumentPng *self, JsonArray *array, GHashTable *layers, gboolean layers_ok)
{
  guint n = MIN (json_array_get_length (array), SC_PNG_LAYERS_MAX);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      JsonObject *o = json_node_get_object (node);
      const char *kind_name = get_string (o, "kind");
      ScControlKind kind;
      if (!kind_name || !sc_control_kind_from_name (kind_name, &kind, NULL))
        {
          note (self, _("Condition %u is of a kind this version does not know and was left out"), i + 1);
          continue;
        }
      Condition c = {
        .kind = kind,
        .weight = CLAMP (get_number (o, "weight", 1.0), 0, SC_DOCUMENT_WEIGHT_MAX),
        .visible = get_bool (o, "visible", TRUE),
        .is_map = get_bool (o, "map", FALSE),
      };
      gboolean missing;
      c.controller = find_file (self, o, "controller", "controller_size", &missing);
      if (missing)
        {
          g_autofree char *base = g_path_get_basename (get_string (o, "controller"));
          /* TRANSLATORS: %s is a file name */
          note (self, _("The controller “%s” is missing: choose it again for condition %u"), base, i + 1);
        }
      g_autoptr (ScImage) picture = take_layer (o, layers);
      if (picture && picture->channels != 3)
        {
          ScImage *rgb = sc_image_to_rgb8 (picture, NULL);
          sc_image_free (g_steal_pointer (&picture));
          picture = rgb;
        }
      else if (!picture && get_string (o, "layer") && layers_ok)
        note (self, _("The picture of condition %u is missing from the file"), i + 1);
      c.picture = g_steal_pointer (&picture);
      g_array_append_val (self->conditions, c);
    }
}

static void
read_tuners (ScDocumentPng *self, JsonArray *array)
{
  guint n = MIN (json_array_get_length (array), SC_PNG_LAYERS_MAX);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      JsonObject *o = json_node_get_object (node);
      gboolean missing;
      Style st = { find_file (self, o, "path", "size", &missing), CLAMP (get_number (o, "strength", 1.0), 0, 1) };
      if (st.path)
        g_array_append_val (self->styles, st);
      else if (missing)
        {
          g_autofree char *base = g_path_get_basename (get_string (o, "path"));
          /* TRANSLATORS: %s is a file name */
          note (self, _("The style tuner “%s” is missing and was left out"), base);
        }
    }
}

ScDocumentPng *
sc_document_png_read (const char *path, const char *json)
{
  g_return_val_if_fail (path, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json || !json_parser_load_from_data (parser, json, -1, NULL))
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  JsonArray *conditions = o ? get_array (o, "conditions") : NULL;
  if (!conditions)
    return NULL; /* every save that carries the work writes this member, even empty */

  ScDocumentPng *self = document_png_new ();
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) layers = sc_png_read_layers (path, warnings, &error);
  if (!layers)
    note (self, _("The painted layers could not be read: %s"), error->message);
  for (guint i = 0; i < warnings->len; i++)
    note (self, _("A painted layer could not be restored: %s"), (const char *) g_ptr_array_index (warnings, i));
  /* a picture missing without a word from the reader is worth a note of its own */
  gboolean layers_ok = layers && warnings->len == 0;

  read_conditions (self, conditions, layers, layers_ok);
  JsonArray *tuners = get_array (o, "tuners");
  if (tuners)
    read_tuners (self, tuners);
  JsonNode *mask = json_object_get_member (o, "mask");
  if (mask && JSON_NODE_HOLDS_OBJECT (mask))
    {
      g_autoptr (ScImage) img = take_layer (json_node_get_object (mask), layers);
      if (img && img->channels == 1)
        self->mask = g_steal_pointer (&img);
      else if (img || layers_ok)
        note (self, _("The mask is missing from the file"));
    }
  JsonArray *extend = get_array (o, "extend");
  if (extend && json_array_get_length (extend) == 4)
    for (guint i = 0; i < 4; i++)
      {
        JsonNode *n = json_array_get_element (extend, i);
        if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64)
          self->extend[i] = (int) CLAMP (json_node_get_int (n), 0, SC_DOCUMENT_EXTEND_MAX);
      }
  return self;
}

static GBytes *
image_bytes (const ScImage *img)
{
  return g_bytes_new (img->data, (gsize) img->width * img->height * img->channels);
}

void
sc_document_png_restore (ScDocumentPng *self, ScDocument *document, GPtrArray *notes)
{
  g_return_if_fail (self && SC_IS_DOCUMENT (document));
  while (sc_document_get_n_conditions (document) > 0)
    sc_document_remove_condition (document, sc_document_get_n_conditions (document) - 1);
  while (sc_document_get_n_styles (document) > 0)
    sc_document_remove_style (document, sc_document_get_n_styles (document) - 1);
  for (guint i = 0; i < self->styles->len; i++)
    {
      Style *st = &g_array_index (self->styles, Style, i);
      sc_document_set_style_strength (document, sc_document_add_style (document, st->path), st->strength);
    }
  for (guint i = 0; i < self->conditions->len; i++)
    {
      Condition *c = &g_array_index (self->conditions, Condition, i);
      guint index = sc_document_add_condition (document, c->kind);
      if (c->picture)
        {
          g_autoptr (GBytes) pixels = image_bytes (c->picture);
          sc_document_set_condition_picture (document, index, pixels, c->picture->width, c->picture->height, c->is_map);
        }
      sc_document_set_condition_weight (document, index, c->weight);
      sc_document_set_condition_visible (document, index, c->visible);
      sc_document_set_condition_controller (document, index, c->controller);
    }
  g_autoptr (GBytes) mask = self->mask ? image_bytes (self->mask) : NULL;
  sc_document_set_mask (document, mask, self->mask ? self->mask->width : 0, self->mask ? self->mask->height : 0);
  sc_document_clear_extension (document);
  sc_document_extend (document, self->extend[0], self->extend[1], self->extend[2], self->extend[3]);
  guint active;
  if (sc_document_get_active_layer (document, &active) == SC_LAYER_CONDITION
      && active >= sc_document_get_n_conditions (document))
    sc_document_set_active_layer (document, SC_LAYER_MASK, 0);
  /* the undo steps belong to the layers that were just replaced */
  sc_undo_stack_clear (sc_document_get_undo_stack (document));
  for (guint i = 0; notes && i < self->notes->len; i++)
    g_ptr_array_add (notes, g_strdup (g_ptr_array_index (self->notes, i)));
}
