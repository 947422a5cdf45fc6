/* Helpers shared by the engine tests. */
#pragma once
#include <glib.h>
#include <math.h>
#include <stddef.h>

/* max |got − ref| / max |ref|: the error measure every reference comparison states its tolerance in.
 * A NaN or infinity in got, or an all-zero reference, fails the test instead of passing silently. */
static inline double
sc_test_max_rel_error (const float *got, const float *ref, size_t n)
{
  double max_err = 0, max_ref = 0;
  for (size_t i = 0; i < n; i++)
    {
      g_assert_true (isfinite (got[i]));
      max_err = MAX (max_err, fabs ((double) got[i] - (double) ref[i]));
      max_ref = MAX (max_ref, fabs ((double) ref[i]));
    }
  g_assert_cmpfloat (max_ref, >, 0);
  return max_err / max_ref;
}
