#include "scedit/sc_tuner.h"
#include "core/error.h"

#include <string.h>

/* ---- skip layout -------------------------------------------------------------------------------- */

gboolean
sc_skip_layout_from_unet (const ScUNetConfig *cfg, ScSkipLayout *out)
{
  /* As DiffusionUNet.construct_network: conv_in, then num_res_blocks per level, then a Downsample on every
   * level but the last. */
  memset (out, 0, sizeof *out);
  int total = 1 + cfg->n_levels * cfg->num_res_blocks + MAX (cfg->n_levels - 1, 0);
  if (cfg->n_levels < 1 || total > SC_MAX_SKIPS)
    return FALSE;
  out->chans[out->n++] = cfg->model_channels;
  for (int lv = 0; lv < cfg->n_levels; lv++)
    {
      int ch = cfg->channel_mult[lv] * cfg->model_channels;
      for (int r = 0; r < cfg->num_res_blocks; r++)
        out->chans[out->n++] = ch;
      if (lv != cfg->n_levels - 1)
        {
          out->down[out->n] = TRUE;
          out->chans[out->n++] = ch;
        }
    }
  return TRUE;
}

gboolean
sc_skip_layout_equal (const ScSkipLayout *a, const ScSkipLayout *b)
{
  if (a->n != b->n)
    return FALSE;
  for (int i = 0; i < a->n; i++)
    if (a->chans[i] != b->chans[i] || !a->down[i] != !b->down[i])
      return FALSE;
  return TRUE;
}

/* ---- the per-skip MLP ---------------------------------------------------------------------------- */

gboolean
sc_skip_mlp_load (ScSkipMlp *mlp, ScWeightSource *src, const char *prefix, int64_t c, int64_t l,
                  gboolean zero_ln2, GError **error)
{
  memset (mlp, 0, sizeof *mlp);
  mlp->c = c;
  mlp->l = l;
  g_autofree char *p1 = g_strconcat (prefix, ".ln1", NULL);
  g_autofree char *p2 = g_strconcat (prefix, ".ln2", NULL);
  if (!sc_linear_load (&mlp->ln1, src, p1, c, l, TRUE, error))
    return FALSE;
  if (!sc_linear_load (&mlp->ln2, src, p2, l, c, TRUE, error))
    {
      sc_linear_clear (&mlp->ln1);
      return FALSE;
    }
  if (zero_ln2)
    {
      memset (mlp->ln2.w, 0, sizeof (float) * (size_t) (c * l));
      memset (mlp->ln2.b, 0, sizeof (float) * (size_t) c);
    }
  mlp->present = TRUE;
  return TRUE;
}

void
sc_skip_mlp_clear (ScSkipMlp *mlp)
{
  sc_linear_clear (&mlp->ln1);
  sc_linear_clear (&mlp->ln2);
  mlp->present = FALSE;
}

int64_t
sc_skip_mlp_params (const ScSkipMlp *mlp)
{
  return mlp->present ? 2 * mlp->c * mlp->l + mlp->l + mlp->c : 0;
}

void
sc_skip_mlp_forward (const ScBackend *be, const ScSkipMlp *mlp, const float *x, float *hidden, float *y,
                     int64_t rows)
{
  sc_linear_forward (be, &mlp->ln1, x, hidden, rows);          /* [rows, L] */
  be->unary (SC_UNARY_GELU, hidden, hidden, rows * mlp->l);     /* exact erf GELU */
  sc_linear_forward (be, &mlp->ln2, hidden, y, rows);          /* [rows, C] */
}

/* ---- the tuner ------------------------------------------------------------------------------------- */

int64_t
sc_tuner_hidden_width (int64_t c, double ratio)
{
  return (int64_t) ((double) c * ratio);
}

char *
sc_sc_tuner_key (int m, const char *leaf)
{
  return g_strdup_printf ("model.lsc_identity.%d.tuner_op.%s", m, leaf);
}

ScScTuner *
sc_sc_tuner_new_from_source (const ScSkipLayout *layout, const int64_t *hidden, const gboolean *present,
                             ScWeightSource *src, gboolean zero_ln2, GError **error)
{
  ScScTuner *t = g_new0 (ScScTuner, 1);
  t->ref_count = 1;
  t->layout = *layout;
  t->ratio = -1;
  double ratio = -1;
  gboolean uniform = TRUE;
  for (int m = 0; m < layout->n; m++)
    {
      if (present && !present[m])
        continue;
      int64_t c = sc_skip_layout_decoder_chans (layout, m);
      g_autofree char *prefix = g_strdup_printf ("model.lsc_identity.%d.tuner_op", m);
      if (!sc_skip_mlp_load (&t->mlp[m], src, prefix, c, hidden[m], zero_ln2, error))
        {
          sc_sc_tuner_unref (t);
          return NULL;
        }
      double r = (double) hidden[m] / (double) c;
      if (ratio < 0)
        ratio = r;
      else if (ABS (r - ratio) > 0.02)
        uniform = FALSE;
    }
  t->ratio = uniform ? (float) ratio : -1.0f;
  return t;
}

ScScTuner *
sc_sc_tuner_new_random (const ScSkipLayout *layout, double ratio, uint64_t seed, gboolean random_all,
                        GError **error)
{
  int64_t hidden[SC_MAX_SKIPS];
  for (int m = 0; m < layout->n; m++)
    {
      hidden[m] = sc_tuner_hidden_width (sc_skip_layout_decoder_chans (layout, m), ratio);
      if (hidden[m] < 1)
        {
          g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                       "Ratio %g gives an empty hidden layer for %d channels", ratio,
                       sc_skip_layout_decoder_chans (layout, m));
          return NULL;
        }
    }
  ScWeightSource *src = sc_weight_source_new_random (seed);
  ScScTuner *t = sc_sc_tuner_new_from_source (layout, hidden, NULL, src, !random_all, error);
  sc_weight_source_free (src);
  if (t)
    t->ratio = (float) ratio;
  return t;
}

ScScTuner *
sc_sc_tuner_ref (ScScTuner *t)
{
  g_atomic_int_inc (&t->ref_count);
  return t;
}

void
sc_sc_tuner_unref (ScScTuner *t)
{
  if (!t || !g_atomic_int_dec_and_test (&t->ref_count))
    return;
  for (int m = 0; m < SC_MAX_SKIPS; m++)
    sc_skip_mlp_clear (&t->mlp[m]);
  g_free (t);
}

int64_t
sc_sc_tuner_params (const ScScTuner *t)
{
  int64_t n = 0;
  for (int m = 0; m < t->layout.n; m++)
    n += sc_skip_mlp_params (&t->mlp[m]);
  return n;
}

int64_t
sc_sc_tuner_config_params (const ScSkipLayout *layout, double ratio)
{
  int64_t n = 0;
  for (int i = 0; i < layout->n; i++)
    {
      int64_t c = layout->chans[i], l = sc_tuner_hidden_width (c, ratio);
      n += 2 * c * l + l + c;
    }
  return n;
}
