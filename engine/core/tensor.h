/* Dense f32 tensors in host memory, row-major. Activations are NHWC: [B, H, W, C]. */
#pragma once
#include <glib.h>
#include <stdint.h>
#include <stddef.h>

G_BEGIN_DECLS

#define SC_MAX_DIMS 6

typedef struct {
  int ndim;
  int64_t shape[SC_MAX_DIMS];
  float *data;
  gboolean owns_data;
} ScTensor;

/* Allocates a zero-filled tensor (64-byte aligned); NULL with error on out of memory. */
ScTensor *sc_tensor_new (int ndim, const int64_t *shape, GError **error);
ScTensor *sc_tensor_new_2d (int64_t d0, int64_t d1, GError **error);
ScTensor *sc_tensor_new_3d (int64_t d0, int64_t d1, int64_t d2, GError **error);
ScTensor *sc_tensor_new_4d (int64_t d0, int64_t d1, int64_t d2, int64_t d3, GError **error);
/* Wraps memory the caller owns. */
ScTensor *sc_tensor_wrap (float *data, int ndim, const int64_t *shape);
ScTensor *sc_tensor_copy (const ScTensor *t, GError **error);
void sc_tensor_free (ScTensor *t);
int64_t sc_tensor_numel (const ScTensor *t);
/* Same element count required; changes only the shape. */
gboolean sc_tensor_reshape (ScTensor *t, int ndim, const int64_t *shape);
gboolean sc_tensor_same_shape (const ScTensor *a, const ScTensor *b);
/* "[2, 64, 64, 4]" — for messages. Caller frees. */
char *sc_tensor_shape_string (int ndim, const int64_t *shape);

/* Aligned allocation helpers used by everything that holds large float buffers. */
float *sc_alloc_floats (size_t n, GError **error);  /* zero-filled */
void sc_free_floats (float *p);

/* NCHW <-> NHWC conversions (PyTorch files and fixtures are NCHW). */
void sc_nchw_to_nhwc (const float *src, float *dst, int64_t n, int64_t c, int64_t h, int64_t w);
void sc_nhwc_to_nchw (const float *src, float *dst, int64_t n, int64_t h, int64_t w, int64_t c);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScTensor, sc_tensor_free)

G_END_DECLS
