#include "core/dtype.h"
#include "core/tensor.h"

#include <math.h>

static void
test_layout_roundtrip (void)
{
  float nchw[2 * 3 * 4 * 5], nhwc[2 * 3 * 4 * 5], back[2 * 3 * 4 * 5];
  for (int i = 0; i < 120; i++)
    nchw[i] = (float) i;
  sc_nchw_to_nhwc (nchw, nhwc, 2, 3, 4, 5);
  /* element (b=1, c=2, y=3, x=4) */
  g_assert_cmpfloat (nhwc[((1 * 4 + 3) * 5 + 4) * 3 + 2], ==, nchw[((1 * 3 + 2) * 4 + 3) * 5 + 4]);
  sc_nhwc_to_nchw (nhwc, back, 2, 4, 5, 3);
  for (int i = 0; i < 120; i++)
    g_assert_cmpfloat (back[i], ==, nchw[i]);
}

static void
test_f16_exhaustive_roundtrip (void)
{
  /* Every finite f16 converts to f32 and back to itself. */
  for (uint32_t h = 0; h < 0x10000; h++)
    {
      if (((h >> 10) & 0x1f) == 0x1f)
        continue;
      float f = sc_f16_to_f32 ((uint16_t) h);
      g_assert_cmpuint (sc_f32_to_f16 (f), ==, h);
    }
  g_assert_cmpfloat (sc_f16_to_f32 (0x3c00), ==, 1.0f);
  g_assert_cmpfloat (sc_f16_to_f32 (0xc000), ==, -2.0f);
  g_assert_cmpuint (sc_f32_to_f16 (65520.0f), ==, 0x7c00);      /* overflow to inf */
  g_assert_cmpuint (sc_f32_to_f16 (1.0f + 1.0f / 2048), ==, 0x3c00); /* tie to even */
  g_assert_true (isnan (sc_f16_to_f32 (sc_f32_to_f16 (NAN))));
}

static void
test_bf16 (void)
{
  g_assert_cmpfloat (sc_bf16_to_f32 (0x3f80), ==, 1.0f);
  g_assert_cmpuint (sc_f32_to_bf16 (1.0f), ==, 0x3f80);
  g_assert_cmpuint (sc_f32_to_bf16 (3.140625f), ==, 0x4049);
}

static void
test_shape_errors (void)
{
  GError *error = NULL;
  int64_t bad[2] = { -1, 3 };
  g_assert_null (sc_tensor_new (2, bad, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  ScTensor *t = sc_tensor_new_3d (2, 3, 4, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sc_tensor_numel (t), ==, 24);
  int64_t flat[1] = { 24 }, wrong[1] = { 25 };
  g_assert_true (sc_tensor_reshape (t, 1, flat));
  g_assert_false (sc_tensor_reshape (t, 1, wrong));
  sc_tensor_free (t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tensor/layout-roundtrip", test_layout_roundtrip);
  g_test_add_func ("/dtype/f16-exhaustive", test_f16_exhaustive_roundtrip);
  g_test_add_func ("/dtype/bf16", test_bf16);
  g_test_add_func ("/tensor/shape-errors", test_shape_errors);
  return g_test_run ();
}
