#include "scedit/tuner_set.h"
#include "core/error.h"

#include <string.h>

typedef struct {
  ScScTuner *tuner;
  float strength;
} Style;

typedef struct {
  ScCscTuner *tuner;
  float weight;
  float *hint; /* [hb, H, W, 3] host copy */
  int64_t hb, H, W;
  ScHintFeatures *features; /* from prepare; NULL until then */
} Control;

struct ScTunerSet {
  ScSkipLayout layout;
  GArray *styles;   /* Style */
  GArray *controls; /* Control */
  float control_scale;
  const ScBackend *be; /* from prepare */
  int64_t latent_h, latent_w;
  /* Scratch in backend memory, grown on demand: [rows, C] ×4 and [rows, L]. */
  float *orig, *tmp, *delta, *acc, *hidden;
  int64_t cap_c, cap_l;
  gboolean (*cancelled) (gpointer);
  gpointer cancel_data;
};

ScTunerSet *
sc_tuner_set_new (const ScUNetConfig *cfg, GError **error)
{
  ScSkipLayout layout;
  if (!sc_skip_layout_from_unet (cfg, &layout))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED, "This U-Net has more than %d skip connections",
                   SC_MAX_SKIPS);
      return NULL;
    }
  ScTunerSet *set = g_new0 (ScTunerSet, 1);
  set->layout = layout;
  set->styles = g_array_new (FALSE, TRUE, sizeof (Style));
  set->controls = g_array_new (FALSE, TRUE, sizeof (Control));
  set->control_scale = 1.0f;
  return set;
}

static void
free_scratch (ScTunerSet *set)
{
  float **bufs[] = { &set->orig, &set->tmp, &set->delta, &set->acc, &set->hidden };
  for (size_t i = 0; i < G_N_ELEMENTS (bufs); i++)
    {
      if (*bufs[i])
        set->be->free (*bufs[i]);
      *bufs[i] = NULL;
    }
  set->cap_c = set->cap_l = 0;
}

void
sc_tuner_set_free (ScTunerSet *set)
{
  if (!set)
    return;
  for (guint i = 0; i < set->styles->len; i++)
    sc_sc_tuner_unref (g_array_index (set->styles, Style, i).tuner);
  for (guint i = 0; i < set->controls->len; i++)
    {
      Control *c = &g_array_index (set->controls, Control, i);
      sc_csc_tuner_unref (c->tuner);
      sc_hint_features_unref (c->features);
      g_free (c->hint);
    }
  g_array_unref (set->styles);
  g_array_unref (set->controls);
  if (set->be)
    free_scratch (set);
  g_free (set);
}

static gboolean
check_layout (const ScTunerSet *set, const ScSkipLayout *l, const char *what, GError **error)
{
  if (sc_skip_layout_equal (&set->layout, l))
    return TRUE;
  GString *want = g_string_new (NULL), *got = g_string_new (NULL);
  for (int i = 0; i < set->layout.n; i++)
    g_string_append_printf (want, "%s%d", i ? "," : "", set->layout.chans[i]);
  for (int i = 0; i < l->n; i++)
    g_string_append_printf (got, "%s%d", i ? "," : "", l->chans[i]);
  g_set_error (error, SC_ERROR, SC_ERROR_WRONG_MODEL,
               "The %s was made for a U-Net with skip channels [%s], this U-Net has [%s]", what, got->str,
               want->str);
  g_string_free (want, TRUE);
  g_string_free (got, TRUE);
  return FALSE;
}

int
sc_tuner_set_add_style (ScTunerSet *set, ScScTuner *tuner, float strength, GError **error)
{
  if (!check_layout (set, &tuner->layout, "style tuner", error))
    return -1;
  Style s = { sc_sc_tuner_ref (tuner), strength };
  g_array_append_val (set->styles, s);
  return (int) set->styles->len - 1;
}

static gboolean
check_hint (int64_t hb, int64_t H, int64_t W, GError **error)
{
  if (hb < 1 || H < 1 || W < 1)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "Empty condition image");
      return FALSE;
    }
  return TRUE;
}

int
sc_tuner_set_add_control (ScTunerSet *set, ScCscTuner *tuner, const float *hint, int64_t hb, int64_t H, int64_t W,
                          float weight, GError **error)
{
  if (!check_layout (set, &tuner->layout, "CSC-Tuner (condition)", error) || !check_hint (hb, H, W, error))
    return -1;
  Control c = { .tuner = sc_csc_tuner_ref (tuner), .weight = weight, .hb = hb, .H = H, .W = W };
  c.hint = g_memdup2 (hint, sizeof (float) * (size_t) (hb * H * W * 3));
  g_array_append_val (set->controls, c);
  return (int) set->controls->len - 1;
}

gboolean
sc_tuner_set_set_hint (ScTunerSet *set, int index, const float *hint, int64_t hb, int64_t H, int64_t W,
                       GError **error)
{
  g_return_val_if_fail (index >= 0 && (guint) index < set->controls->len, FALSE);
  if (!check_hint (hb, H, W, error))
    return FALSE;
  Control *c = &g_array_index (set->controls, Control, index);
  g_free (c->hint);
  c->hint = g_memdup2 (hint, sizeof (float) * (size_t) (hb * H * W * 3));
  c->hb = hb, c->H = H, c->W = W;
  g_clear_pointer (&c->features, sc_hint_features_unref);
  return TRUE;
}

void
sc_tuner_set_set_strength (ScTunerSet *set, int index, float strength)
{
  g_return_if_fail (index >= 0 && (guint) index < set->styles->len);
  g_array_index (set->styles, Style, index).strength = strength;
}

void
sc_tuner_set_set_weight (ScTunerSet *set, int index, float weight)
{
  g_return_if_fail (index >= 0 && (guint) index < set->controls->len);
  g_array_index (set->controls, Control, index).weight = weight;
}

void
sc_tuner_set_set_control_scale (ScTunerSet *set, float scale)
{
  set->control_scale = scale;
}

int
sc_tuner_set_n_styles (const ScTunerSet *set)
{
  return (int) set->styles->len;
}

int
sc_tuner_set_n_controls (const ScTunerSet *set)
{
  return (int) set->controls->len;
}

static gboolean
controls_active (const ScTunerSet *set)
{
  if (set->control_scale == 0.0f)
    return FALSE;
  for (guint i = 0; i < set->controls->len; i++)
    if (g_array_index (set->controls, Control, i).weight != 0.0f)
      return TRUE;
  return FALSE;
}

gboolean
sc_tuner_set_active (const ScTunerSet *set)
{
  for (guint i = 0; i < set->styles->len; i++)
    if (g_array_index (set->styles, Style, i).strength > 0.0f)
      return TRUE;
  return controls_active (set);
}

gboolean
sc_tuner_set_prepare (ScTunerSet *set, const ScBackend *be, int64_t H, int64_t W, GError **error)
{
  if (set->be && set->be != be)
    free_scratch (set);
  set->be = be;
  set->latent_h = H, set->latent_w = W;
  for (guint i = 0; i < set->controls->len; i++)
    {
      Control *c = &g_array_index (set->controls, Control, i);
      if (c->weight == 0.0f)
        continue; /* off: not even encoded */
      if (!c->features || c->features->be != be)
        {
          g_clear_pointer (&c->features, sc_hint_features_unref);
          c->features = sc_csc_tuner_hint_features (c->tuner, be, c->hint, c->hb, c->H, c->W, error);
          if (!c->features)
            {
              g_prefix_error (error, "Condition %u: ", i + 1);
              return FALSE;
            }
        }
      if (c->features->h[0] != H || c->features->w[0] != W)
        {
          g_set_error (error, SC_ERROR, SC_ERROR_SHAPE,
                       "Condition %u: its %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT " image gives %" G_GINT64_FORMAT
                       "×%" G_GINT64_FORMAT " hint features, but the latent is %" G_GINT64_FORMAT "×%"
                       G_GINT64_FORMAT " (the condition image must have the output's size)",
                       i + 1, c->W, c->H, c->features->w[0], c->features->h[0], W, H);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
ensure_scratch (ScTunerSet *set, int64_t rows_c, int64_t rows_l, GError **error)
{
  if (rows_c <= set->cap_c && rows_l <= set->cap_l)
    return TRUE;
  free_scratch (set);
  const ScBackend *be = set->be;
  set->orig = be->alloc ((size_t) rows_c);
  set->tmp = be->alloc ((size_t) rows_c);
  set->delta = be->alloc ((size_t) rows_c);
  set->acc = be->alloc ((size_t) rows_c);
  set->hidden = be->alloc ((size_t) MAX (rows_l, 1));
  if (!set->orig || !set->tmp || !set->delta || !set->acc || !set->hidden)
    {
      free_scratch (set);
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "Out of memory for the tuner scratch buffers");
      return FALSE;
    }
  set->cap_c = rows_c, set->cap_l = rows_l;
  return TRUE;
}

/* The ScUNetHooks.edit_skip: skip [B, H, W, C] of input block i, edited in place. */
static gboolean
edit_skip (gpointer user_data, int i, float *skip, int64_t B, int64_t H, int64_t W, int64_t C, GError **error)
{
  ScTunerSet *set = user_data;
  if (i < 0 || i >= set->layout.n || C != set->layout.chans[i])
    {
      g_set_error (error, SC_ERROR, SC_ERROR_WRONG_MODEL, "Skip %d with %" G_GINT64_FORMAT
                   " channels does not fit the tuner set", i, C);
      return FALSE;
    }
  int m = set->layout.n - 1 - i;
  gboolean style = FALSE;
  for (guint k = 0; k < set->styles->len; k++)
    {
      const Style *s = &g_array_index (set->styles, Style, k);
      style = style || (s->strength > 0.0f && s->tuner->mlp[m].present);
    }
  gboolean control = controls_active (set);
  if (!style && !control)
    return TRUE;
  const ScBackend *be = set->be;
  if (!be)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "The tuner set was not prepared");
      return FALSE;
    }
  int64_t rows = B * H * W, n = rows * C, hw_c = H * W * C, max_l = 1;
  for (guint k = 0; k < set->styles->len; k++)
    max_l = MAX (max_l, g_array_index (set->styles, Style, k).tuner->mlp[m].l);
  for (guint k = 0; k < set->controls->len; k++)
    max_l = MAX (max_l, g_array_index (set->controls, Control, k).tuner->mlp[m].l);
  if (!ensure_scratch (set, n, rows * max_l, error))
    return FALSE;

  /* The conditions read the skip as the encoder made it. */
  if (control)
    be->axpby (skip, 1.0f, skip, 0.0f, set->orig, n);

  /* Styles, in order: y = y + s·MLP(y). */
  for (guint k = 0; k < set->styles->len; k++)
    {
      const Style *s = &g_array_index (set->styles, Style, k);
      const ScSkipMlp *mlp = &s->tuner->mlp[m];
      if (s->strength <= 0.0f || !mlp->present)
        continue;
      sc_skip_mlp_forward (be, mlp, skip, set->hidden, set->delta, rows);
      be->axpby (skip, 1.0f, set->delta, MIN (s->strength, 1.0f), skip, n);
    }
  if (!control)
    return TRUE;

  /* acc = Σ_j w_j·(g_j + MLP_j(orig + g_j)) */
  gboolean first = TRUE;
  for (guint j = 0; j < set->controls->len; j++)
    {
      const Control *c = &g_array_index (set->controls, Control, j);
      if (c->weight == 0.0f)
        continue;
      const ScHintFeatures *f = c->features;
      if (!f || f->h[i] != H || f->w[i] != W || f->c[i] != C || (f->batch != 1 && f->batch != B))
        {
          g_set_error (error, SC_ERROR, SC_ERROR_SHAPE,
                       "Condition %u has no hint features for skip %d (%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                       "×%" G_GINT64_FORMAT ", batch %" G_GINT64_FORMAT "): prepare the tuner set for this latent",
                       j + 1, i, H, W, C, B);
          return FALSE;
        }
      for (int64_t b = 0; b < B; b++)
        be->add (set->orig + b * hw_c, f->g[i] + (f->batch == 1 ? 0 : b * hw_c), set->tmp + b * hw_c, hw_c);
      sc_skip_mlp_forward (be, &c->tuner->mlp[m], set->tmp, set->hidden, set->delta, rows);
      for (int64_t b = 0; b < B; b++)
        be->add (set->delta + b * hw_c, f->g[i] + (f->batch == 1 ? 0 : b * hw_c), set->delta + b * hw_c, hw_c);
      if (first)
        be->axpby (set->delta, c->weight, set->delta, 0.0f, set->acc, n);
      else
        be->axpby (set->acc, 1.0f, set->delta, c->weight, set->acc, n);
      first = FALSE;
    }
  be->axpby (skip, 1.0f, set->acc, set->control_scale, skip, n);
  return TRUE;
}

static gboolean
forward_cancelled (gpointer user_data)
{
  ScTunerSet *set = user_data;
  return set->cancelled (set->cancel_data);
}

void
sc_tuner_set_hooks (ScTunerSet *set, gboolean (*cancelled) (gpointer), gpointer cancel_data, ScUNetHooks *hooks)
{
  set->cancelled = cancelled;
  set->cancel_data = cancel_data;
  /* every field: callers pass uninitialised hooks (a training forward sets the tape afterwards) */
  *hooks = (ScUNetHooks) { .cancelled = cancelled ? forward_cancelled : NULL, .edit_skip = edit_skip,
                           .user_data = set };
}
