#include "scedit/tuner_train.h"
#include "core/error.h"

#include <string.h>

/* ---- the tuned skip, forward and backward ----------------------------------------------------------- */

float
sc_skip_tuner_scale (float strength)
{
  return strength <= 0.0f ? 0.0f : MIN (strength, 1.0f);
}

void
sc_skip_tuner_forward (const ScBackend *be, const ScSkipMlp *mlp, const float *x, float *y, float *hidden,
                       int64_t rows, float strength)
{
  float s = sc_skip_tuner_scale (strength);
  int64_t n = rows * mlp->c;
  if (s == 0.0f)
    {
      be->axpby (x, 1.0f, x, 0.0f, y, n);
      return;
    }
  sc_skip_mlp_forward (be, mlp, x, hidden, y, rows);
  be->axpby (x, 1.0f, y, s, y, n); /* the same op and order as tuner_set.c: bitwise the same skip */
}

int64_t
sc_skip_mlp_backward_act_floats (const ScSkipMlp *mlp, int64_t rows)
{
  return rows * (2 * mlp->l + mlp->c);
}

void
sc_skip_mlp_backward (const ScBackend *be, const ScSkipMlp *mlp, const float *x, const float *dy, float *dx,
                      ScSkipMlpGrad *g, float *scratch_hidden, float *scratch_act, int64_t rows, float strength)
{
  g_return_if_fail (be->linear_backward && be->unary_backward);
  g_return_if_fail (mlp->ln1.b && mlp->ln2.b);
  const int64_t C = mlp->c, L = mlp->l, nl = rows * L;
  float s = sc_skip_tuner_scale (strength);
  if (s != 0.0f && (dx || g))
    {
      float *h = scratch_hidden;          /* ln1(x), the GELU's input */
      float *act = scratch_act;           /* GELU(h), later the gradient at h */
      float *dact = scratch_act + nl;     /* gradient at GELU(h) */
      const float *dm = dy;               /* gradient at MLP(x): s·dy */
      if (s != 1.0f)
        {
          float *sdy = scratch_act + 2 * nl;
          be->axpby (dy, s, dy, 0.0f, sdy, rows * C);
          dm = sdy;
        }
      sc_linear_forward (be, &mlp->ln1, x, h, rows);
      be->unary (SC_UNARY_GELU, h, act, nl);
      /* The backward ops add, so the scratch gradients start at zero. */
      be->zero (dact, (size_t) nl);
      be->linear_backward (act, mlp->ln2.w, dm, dact, g ? g->ln2_w : NULL, g ? g->ln2_b : NULL, rows, L, C);
      be->zero (act, (size_t) nl); /* act is no longer needed: it becomes the gradient at h */
      be->unary_backward (SC_UNARY_GELU, h, dact, act, nl);
      be->linear_backward (x, mlp->ln1.w, act, dx, g ? g->ln1_w : NULL, g ? g->ln1_b : NULL, rows, C, L);
    }
  if (dx)
    be->add (dx, dy, dx, rows * C); /* the residual */
}

/* ---- gradient buffers ------------------------------------------------------------------------------- */

gboolean
sc_skip_mlp_grad_init (ScSkipMlpGrad *g, const ScBackend *be, const ScSkipMlp *mlp, GError **error)
{
  memset (g, 0, sizeof *g);
  g->c = mlp->c;
  g->l = mlp->l;
  g->ln1_w = be->alloc ((size_t) (mlp->l * mlp->c));
  g->ln1_b = be->alloc ((size_t) mlp->l);
  g->ln2_w = be->alloc ((size_t) (mlp->c * mlp->l));
  g->ln2_b = be->alloc ((size_t) mlp->c);
  if (!g->ln1_w || !g->ln1_b || !g->ln2_w || !g->ln2_b)
    {
      sc_skip_mlp_grad_clear (be, g);
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY,
                   "Could not allocate tuner gradients (%" G_GINT64_FORMAT " × %" G_GINT64_FORMAT ")", mlp->c,
                   mlp->l);
      return FALSE;
    }
  sc_skip_mlp_grad_zero (be, g);
  return TRUE;
}

void
sc_skip_mlp_grad_zero (const ScBackend *be, ScSkipMlpGrad *g)
{
  be->zero (g->ln1_w, (size_t) (g->l * g->c));
  be->zero (g->ln1_b, (size_t) g->l);
  be->zero (g->ln2_w, (size_t) (g->c * g->l));
  be->zero (g->ln2_b, (size_t) g->c);
}

void
sc_skip_mlp_grad_clear (const ScBackend *be, ScSkipMlpGrad *g)
{
  float **bufs[] = { &g->ln1_w, &g->ln1_b, &g->ln2_w, &g->ln2_b };
  for (size_t i = 0; i < G_N_ELEMENTS (bufs); i++)
    {
      if (*bufs[i])
        be->free (*bufs[i]);
      *bufs[i] = NULL;
    }
}

/* ---- loss ---------------------------------------------------------------------------------------------- */

/* Partial sums over fixed chunks, added in chunk order: the loss does not depend on the thread count. */
#define MSE_CHUNK 4096

float
sc_mse_loss (const float *pred, const float *target, float *dpred, int64_t n)
{
  g_return_val_if_fail (n > 0, 0.0f);
  int64_t chunks = (n + MSE_CHUNK - 1) / MSE_CHUNK;
  double *part = g_new (double, (size_t) chunks);
  const double scale = 2.0 / (double) n;
#pragma omp parallel for if (n > 262144)
  for (int64_t c = 0; c < chunks; c++)
    {
      int64_t i0 = c * MSE_CHUNK, i1 = MIN (n, i0 + MSE_CHUNK);
      double sum = 0.0;
      for (int64_t i = i0; i < i1; i++)
        {
          double d = (double) pred[i] - (double) target[i];
          sum += d * d;
          if (dpred)
            dpred[i] += (float) (scale * d);
        }
      part[c] = sum;
    }
  double total = 0.0;
  for (int64_t c = 0; c < chunks; c++)
    total += part[c];
  g_free (part);
  return (float) (total / (double) n);
}

/* ---- AdamW ---------------------------------------------------------------------------------------------- */

const ScAdamWParams SC_ADAMW_SCEDIT = { .lr = 1e-4f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                                        .weight_decay = 1e-2f };

gboolean
sc_skip_mlp_adamw_init (ScSkipMlpAdamW *s, const ScBackend *be, const ScSkipMlp *mlp, GError **error)
{
  memset (s, 0, sizeof *s);
  if (!sc_skip_mlp_grad_init (&s->m, be, mlp, error))
    return FALSE;
  if (!sc_skip_mlp_grad_init (&s->v, be, mlp, error))
    {
      sc_skip_mlp_grad_clear (be, &s->m);
      return FALSE;
    }
  return TRUE;
}

void
sc_skip_mlp_adamw_clear (const ScBackend *be, ScSkipMlpAdamW *s)
{
  sc_skip_mlp_grad_clear (be, &s->m);
  sc_skip_mlp_grad_clear (be, &s->v);
  s->step = 0;
}

void
sc_skip_mlp_adamw_step (const ScBackend *be, ScSkipMlp *mlp, const ScSkipMlpGrad *g, ScSkipMlpAdamW *s,
                        const ScAdamWParams *p)
{
  g_return_if_fail (be->adamw_step);
  g_return_if_fail (g->c == mlp->c && g->l == mlp->l && s->m.c == mlp->c && s->m.l == mlp->l);
  const int64_t C = mlp->c, L = mlp->l;
  s->step++;
  struct {
    float *p;
    const float *g;
    float *m, *v;
    int64_t n;
  } t[] = {
    { mlp->ln1.w, g->ln1_w, s->m.ln1_w, s->v.ln1_w, L * C },
    { mlp->ln1.b, g->ln1_b, s->m.ln1_b, s->v.ln1_b, L },
    { mlp->ln2.w, g->ln2_w, s->m.ln2_w, s->v.ln2_w, C * L },
    { mlp->ln2.b, g->ln2_b, s->m.ln2_b, s->v.ln2_b, C },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (t); i++)
    be->adamw_step (t[i].p, t[i].g, t[i].m, t[i].v, t[i].n, p->lr, p->beta1, p->beta2, p->eps, p->weight_decay,
                    s->step);
}
