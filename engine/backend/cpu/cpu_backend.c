/* The CPU backend's op table: host memory, kernels in the other cpu_*.c files. */
#include "backend/cpu/cpu_kernels.h"
#include "backend/cpu/cpu_grad_basic.h"
#include "backend/cpu/cpu_grad_attention.h"
#include "backend/cpu/cpu_grad_conv.h"

static float *
cpu_alloc (size_t n_floats)
{
  g_autoptr (GError) error = NULL;
  float *p = sc_alloc_floats (n_floats, &error);
  if (!p)
    g_warning ("%s", error->message);
  return p;
}

static void
cpu_free (float *p)
{
  sc_free_floats (p);
}

static void
cpu_copy (float *dst, const float *src, size_t n_floats)
{
  if (dst != src && n_floats)
    memcpy (dst, src, n_floats * sizeof (float));
}

static void
cpu_zero (float *p, size_t n_floats)
{
  if (n_floats)
    memset (p, 0, n_floats * sizeof (float));
}

static const ScBackend cpu_backend = {
  .name = "cpu",
  .alloc = cpu_alloc,
  .free = cpu_free,
  .upload = cpu_copy,
  .download = cpu_copy,
  .zero = cpu_zero,
  .gemm = sc_cpu_gemm,
  .linear = sc_cpu_linear,
  .conv2d = sc_cpu_conv2d,
  .conv2d_weights_hwio = sc_cpu_conv2d_weights_hwio,
  .conv2d_backward = sc_cpu_conv2d_backward,
  .group_norm = sc_cpu_group_norm,
  .layer_norm = sc_cpu_layer_norm,
  .attention = sc_cpu_attention,
  .attention_backward = sc_cpu_attention_backward,
  .unary = sc_cpu_unary,
  .geglu = sc_cpu_geglu,
  .add = sc_cpu_add,
  .axpby = sc_cpu_axpby,
  .add_bias_per_batch = sc_cpu_add_bias_per_batch,
  .upsample_nearest2x = sc_cpu_upsample_nearest2x,
  .concat_last = sc_cpu_concat_last,
  .linear_backward = sc_cpu_linear_backward,
  .group_norm_backward = sc_cpu_group_norm_backward,
  .layer_norm_backward = sc_cpu_layer_norm_backward,
  .unary_backward = sc_cpu_unary_backward,
  .geglu_backward = sc_cpu_geglu_backward,
  .upsample_nearest2x_backward = sc_cpu_upsample_nearest2x_backward,
  .concat_last_backward = sc_cpu_concat_last_backward,
  .add_bias_per_batch_backward = sc_cpu_add_bias_per_batch_backward,
  .adamw_step = sc_cpu_adamw_step,
};

const ScBackend *
sc_backend_cpu (void)
{
  return &cpu_backend;
}
