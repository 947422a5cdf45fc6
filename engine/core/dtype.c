#include "core/dtype.h"

#include <string.h>

static const struct {
  const char *name;
  size_t size;
} dtype_info[SC_DTYPE_COUNT_] = {
  [SC_DTYPE_F32] = { "F32", 4 },  [SC_DTYPE_F16] = { "F16", 2 }, [SC_DTYPE_BF16] = { "BF16", 2 },
  [SC_DTYPE_F64] = { "F64", 8 },  [SC_DTYPE_I64] = { "I64", 8 }, [SC_DTYPE_I32] = { "I32", 4 },
  [SC_DTYPE_I16] = { "I16", 2 },  [SC_DTYPE_I8] = { "I8", 1 },   [SC_DTYPE_U8] = { "U8", 1 },
  [SC_DTYPE_BOOL] = { "BOOL", 1 },
};

size_t
sc_dtype_size (ScDType dtype)
{
  return (unsigned) dtype < SC_DTYPE_COUNT_ ? dtype_info[dtype].size : 0;
}

const char *
sc_dtype_name (ScDType dtype)
{
  return (unsigned) dtype < SC_DTYPE_COUNT_ ? dtype_info[dtype].name : "?";
}

gboolean
sc_dtype_from_name (const char *name, ScDType *out)
{
  for (int i = 0; i < SC_DTYPE_COUNT_; i++)
    if (strcmp (name, dtype_info[i].name) == 0)
      {
        *out = (ScDType) i;
        return TRUE;
      }
  return FALSE;
}

float
sc_f16_to_f32 (uint16_t h)
{
  uint32_t sign = (uint32_t) (h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0)
    {
      if (mant == 0)
        bits = sign;
      else
        {
          /* subnormal: renormalise */
          int e = -1;
          do
            {
              e++;
              mant <<= 1;
            }
          while ((mant & 0x400) == 0);
          bits = sign | ((uint32_t) (127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
        }
    }
  else if (exp == 0x1f)
    bits = sign | 0x7f800000u | (mant << 13);
  else
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  float f;
  memcpy (&f, &bits, 4);
  return f;
}

uint16_t
sc_f32_to_f16 (float f)
{
  uint32_t x;
  memcpy (&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t absx = x & 0x7fffffff;
  if (absx >= 0x7f800000u) /* inf or nan */
    return (uint16_t) (sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0));
  if (absx >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
    return (uint16_t) (sign | 0x7c00);
  if (absx < 0x38800000u) /* subnormal or zero in f16 */
    {
      if (absx < 0x33000000u)
        return (uint16_t) sign;
      uint32_t e = absx >> 23;
      uint32_t m = (absx & 0x7fffff) | 0x800000;
      uint32_t shift = 126 - e; /* 14..24 */
      uint32_t half = m >> shift;
      uint32_t rem = m & ((1u << shift) - 1);
      uint32_t mid = 1u << (shift - 1);
      if (rem > mid || (rem == mid && (half & 1)))
        half++;
      return (uint16_t) (sign | half);
    }
  uint32_t e = (absx >> 23) - 127 + 15;
  uint32_t m = absx & 0x7fffff;
  uint32_t h = (e << 10) | (m >> 13);
  uint32_t rem = m & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
    h++;
  return (uint16_t) (sign | h);
}

float
sc_bf16_to_f32 (uint16_t h)
{
  uint32_t bits = (uint32_t) h << 16;
  float f;
  memcpy (&f, &bits, 4);
  return f;
}

uint16_t
sc_f32_to_bf16 (float f)
{
  uint32_t x;
  memcpy (&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000u)
    return (uint16_t) ((x >> 16) | 0x40);
  x += 0x7fff + ((x >> 16) & 1);
  return (uint16_t) (x >> 16);
}

#define LOAD(type, p, i) ({ type v_; memcpy (&v_, (const char *) (p) + (i) * sizeof (type), sizeof (type)); v_; })

void
sc_convert_to_f32 (ScDType dtype, const void *src, float *dst, size_t n)
{
  switch (dtype)
    {
    case SC_DTYPE_F32:
      memcpy (dst, src, n * 4);
      break;
    case SC_DTYPE_F16:
      for (size_t i = 0; i < n; i++)
        dst[i] = sc_f16_to_f32 (LOAD (uint16_t, src, i));
      break;
    case SC_DTYPE_BF16:
      for (size_t i = 0; i < n; i++)
        dst[i] = sc_bf16_to_f32 (LOAD (uint16_t, src, i));
      break;
    case SC_DTYPE_F64:
      for (size_t i = 0; i < n; i++)
        dst[i] = (float) LOAD (double, src, i);
      break;
    case SC_DTYPE_I64:
      for (size_t i = 0; i < n; i++)
        dst[i] = (float) LOAD (int64_t, src, i);
      break;
    case SC_DTYPE_I32:
      for (size_t i = 0; i < n; i++)
        dst[i] = (float) LOAD (int32_t, src, i);
      break;
    case SC_DTYPE_I16:
      for (size_t i = 0; i < n; i++)
        dst[i] = (float) LOAD (int16_t, src, i);
      break;
    case SC_DTYPE_I8:
      for (size_t i = 0; i < n; i++)
        dst[i] = (float) ((const int8_t *) src)[i];
      break;
    case SC_DTYPE_U8:
    case SC_DTYPE_BOOL:
      for (size_t i = 0; i < n; i++)
        dst[i] = (float) ((const uint8_t *) src)[i];
      break;
    default:
      memset (dst, 0, n * sizeof (float));
      break;
    }
}

void
sc_convert_from_f32 (ScDType dtype, const float *src, void *dst, size_t n)
{
  switch (dtype)
    {
    case SC_DTYPE_F16:
      for (size_t i = 0; i < n; i++)
        {
          uint16_t h = sc_f32_to_f16 (src[i]);
          memcpy ((char *) dst + 2 * i, &h, 2);
        }
      break;
    case SC_DTYPE_BF16:
      for (size_t i = 0; i < n; i++)
        {
          uint16_t h = sc_f32_to_bf16 (src[i]);
          memcpy ((char *) dst + 2 * i, &h, 2);
        }
      break;
    case SC_DTYPE_F32:
    default:
      memcpy (dst, src, n * 4);
      break;
    }
}
