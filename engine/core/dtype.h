/* Element types found in weight files, and conversions to the f32 we compute in. */
#pragma once
#include <glib.h>
#include <stdint.h>
#include <stddef.h>

G_BEGIN_DECLS

typedef enum {
  SC_DTYPE_F32,
  SC_DTYPE_F16,
  SC_DTYPE_BF16,
  SC_DTYPE_F64,
  SC_DTYPE_I64,
  SC_DTYPE_I32,
  SC_DTYPE_I16,
  SC_DTYPE_I8,
  SC_DTYPE_U8,
  SC_DTYPE_BOOL,
  SC_DTYPE_COUNT_,
} ScDType;

/* Bytes per element. */
size_t sc_dtype_size (ScDType dtype);
/* The safetensors name ("F32", "F16", ...). */
const char *sc_dtype_name (ScDType dtype);
/* Parses a safetensors dtype name; FALSE for names we do not know. */
gboolean sc_dtype_from_name (const char *name, ScDType *out);

float sc_f16_to_f32 (uint16_t h);
uint16_t sc_f32_to_f16 (float f);  /* round to nearest even */
float sc_bf16_to_f32 (uint16_t h);
uint16_t sc_f32_to_bf16 (float f); /* round to nearest even */

/* Converts n elements of any numeric dtype (little-endian, possibly unaligned) to f32. */
void sc_convert_to_f32 (ScDType dtype, const void *src, float *dst, size_t n);
/* Converts n f32 values to dtype F32, F16 or BF16. */
void sc_convert_from_f32 (ScDType dtype, const float *src, void *dst, size_t n);

G_END_DECLS
