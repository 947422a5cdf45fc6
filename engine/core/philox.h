/* Counter-based noise: the same seed gives the same latents on every device and thread count.
 * Philox4x32-10 with standard-normal output, bit-compatible with the "GPU" seed convention of
 * AUTOMATIC1111 / stable-diffusion.cpp (`rng_philox`), so a seed means the same picture there. */
#pragma once
#include <glib.h>
#include <stdint.h>
#include <stddef.h>

G_BEGIN_DECLS

typedef struct {
  uint64_t seed;
  uint64_t offset; /* advanced by each draw, like the reference */
} ScPhilox;

void sc_philox_init (ScPhilox *rng, uint64_t seed);
/* Fills out[n] with N(0, 1) samples. */
void sc_philox_randn (ScPhilox *rng, float *out, size_t n);

G_END_DECLS
