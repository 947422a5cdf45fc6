/* Philox4x32-10 normal noise, laid out like AUTOMATIC1111's "GPU" RNG (modules/rng_philox.py), which
 * reproduces torch.randn on CUDA. Element i of a draw uses counter (offset, 0, i, 0) and key
 * (seed low word, seed high word); the first two output words feed one Box-Muller sample. Every element
 * is independent of the others, so the result does not depend on the thread count. */
#include "core/philox.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* The reference builds these in float32 and then does the arithmetic in float64 (numpy promotes
 * uint32 * float32 arrays to float64); keeping the float32 constants is what makes the bits match. */
#define INV_2POW32 ((double) 2.3283064e-10f)
#define INV_2POW32_2PI ((double) (float) (2.3283064e-10 * 6.2831855))

void
sc_philox_init (ScPhilox *rng, uint64_t seed)
{
  rng->seed = seed;
  rng->offset = 0;
}

static inline void
philox_round (uint32_t c[4], const uint32_t k[2])
{
  uint64_t p0 = (uint64_t) c[0] * PHILOX_M0;
  uint64_t p1 = (uint64_t) c[2] * PHILOX_M1;
  uint32_t n0 = (uint32_t) (p1 >> 32) ^ c[1] ^ k[0];
  uint32_t n2 = (uint32_t) (p0 >> 32) ^ c[3] ^ k[1];
  c[1] = (uint32_t) p1;
  c[3] = (uint32_t) p0;
  c[0] = n0;
  c[2] = n2;
}

static inline float
philox_normal (uint64_t seed, uint32_t offset, uint32_t index)
{
  uint32_t c[4] = { offset, 0, index, 0 };
  uint32_t k[2] = { (uint32_t) seed, (uint32_t) (seed >> 32) };
  for (int r = 0; r < 9; r++)
    {
      philox_round (c, k);
      k[0] += PHILOX_W0;
      k[1] += PHILOX_W1;
    }
  philox_round (c, k);

  /* Separate statements: the reference rounds the product before the add, so no FMA contraction. */
  double u = (double) c[0] * INV_2POW32;
  u += INV_2POW32 / 2;
  double v = (double) c[1] * INV_2POW32_2PI;
  v += INV_2POW32_2PI / 2;
  return (float) (sqrt (-2.0 * log (u)) * sin (v));
}

void
sc_philox_randn (ScPhilox *rng, float *out, size_t n)
{
  /* Like the reference, the element index lives in one 32-bit counter word. */
  g_return_if_fail (n <= (size_t) G_MAXUINT32 + 1);
  const uint64_t seed = rng->seed;
  const uint32_t offset = (uint32_t) rng->offset;
  const int64_t count = (int64_t) n;

#pragma omp parallel for schedule(static) if (count >= 65536)
  for (int64_t i = 0; i < count; i++)
    out[i] = philox_normal (seed, offset, (uint32_t) i);

  rng->offset++;
}
