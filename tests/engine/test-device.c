/* Device enumeration: the CPU always comes first with real figures; CUDA GPUs come from the driver when
 * there is one. Without a GPU here, a fake driver (fake-cuda.c, its path in argv[1]) stands in for
 * libcuda.so.1 to check the GPU entries and that every context is given back. */
#include "backend/backend.h"
#include "backend/device.h"
#include "core/error.h"

#include <dlfcn.h>
#include <string.h>

static const char *fake_driver;

static void
check_cpu (const ScDevice *cpu)
{
  g_assert_cmpstr (cpu->id, ==, "cpu");
  g_assert_cmpstr (cpu->backend, ==, "cpu");
  g_assert_nonnull (cpu->name);
  g_assert_cmpstr (cpu->name, !=, "");
  g_assert_cmpint (cpu->cores, ==, (int) g_get_num_processors ());
  g_assert_cmpuint (cpu->total_bytes, >, 0);
  g_assert_cmpuint (cpu->free_bytes, >, 0);
  g_assert_cmpuint (cpu->free_bytes, <=, cpu->total_bytes);
  g_assert_true (cpu->usable);
}

static void
test_list (void)
{
  g_autoptr (GPtrArray) list = sc_device_list ();
  g_assert_cmpuint (list->len, >=, 1);
  check_cpu (g_ptr_array_index (list, 0));
  for (guint i = 1; i < list->len; i++)
    {
      const ScDevice *d = g_ptr_array_index (list, i);
      g_autofree char *id = g_strdup_printf ("cuda:%u", i - 1);
      g_test_message ("%s: %s, %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes free", d->id, d->name,
                      d->free_bytes, d->total_bytes);
      g_assert_cmpstr (d->id, ==, id);
      g_assert_cmpstr (d->name, !=, "");
      g_assert_cmpuint (d->total_bytes, >, 0);
      g_assert_cmpuint (d->free_bytes, <=, d->total_bytes);
      g_assert_true (sc_device_list_find (list, id) == d);
    }
  void *driver = dlopen ("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (driver)
    dlclose (driver); /* a real driver: how many GPUs it has is not ours to know */
  else
    g_assert_cmpuint (list->len, ==, 1);
  g_autoptr (ScDevice) cpu = sc_device_cpu ();
  check_cpu (cpu);
}

static void
test_fake_driver (void)
{
  if (!fake_driver)
    {
      g_test_skip ("no fake driver given");
      return;
    }
  g_autoptr (GPtrArray) list = sc_device_list_with_driver (fake_driver);
  g_assert_cmpuint (list->len, ==, 3);
  check_cpu (g_ptr_array_index (list, 0));
  const ScDevice *zero = sc_device_list_find (list, "cuda:0"), *one = sc_device_list_find (list, "cuda:1");
  g_assert_nonnull (zero);
  g_assert_nonnull (one);
  g_assert_cmpstr (zero->name, ==, "Fake GPU Zero");
  g_assert_cmpstr (zero->backend, ==, "cuda");
  g_assert_cmpuint (zero->total_bytes, ==, G_GUINT64_CONSTANT (80) << 30);
  g_assert_cmpuint (zero->free_bytes, ==, G_GUINT64_CONSTANT (79) << 30);
  g_assert_cmpint (zero->usable, ==, sc_backend_get ("cuda", NULL) != NULL); /* whether this build has CUDA */
  g_assert_cmpstr (one->name, ==, "Fake GPU One");
  g_assert_cmpuint (one->total_bytes, ==, G_GUINT64_CONSTANT (16) << 30);
  g_assert_cmpuint (one->free_bytes, ==, 0); /* it refused a context: unknown */
  g_assert_null (sc_device_list_find (list, "cuda:2"));
  /* every context retained or pushed was given back */
  void *lib = dlopen (fake_driver, RTLD_NOW | RTLD_LOCAL);
  g_assert_nonnull (lib);
  int (*left) (void);
  *(void **) &left = dlsym (lib, "fake_cuda_contexts_left");
  g_assert_nonnull (left);
  g_assert_cmpint (left (), ==, 0);
  dlclose (lib);
}

static void
test_missing_driver (void)
{
  g_autoptr (GPtrArray) list = sc_device_list_with_driver ("/nonexistent/libcuda.so.1");
  g_assert_cmpuint (list->len, ==, 1);
  check_cpu (g_ptr_array_index (list, 0));
}

static void
test_usable (void)
{
  GError *error = NULL;
  g_assert_true (sc_device_id_usable ("cpu", &error));
  g_assert_no_error (error);
  if (sc_backend_get ("cuda", NULL))
    g_assert_true (sc_device_id_usable ("cuda:0", NULL));
  else
    {
      g_assert_false (sc_device_id_usable ("cuda:0", &error));
      g_assert_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED);
      g_assert_nonnull (strstr (error->message, "CUDA"));
      g_clear_error (&error);
    }
  const char *bad[] = { "", "cuda", "cuda:", "cuda:x", "vulkan:0" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (sc_device_id_usable (bad[i], &error));
      g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  g_assert_false (sc_device_id_usable (NULL, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  fake_driver = argc > 1 ? argv[1] : NULL;
  g_test_add_func ("/device/list", test_list);
  g_test_add_func ("/device/fake-driver", test_fake_driver);
  g_test_add_func ("/device/missing-driver", test_missing_driver);
  g_test_add_func ("/device/usable", test_usable);
  return g_test_run ();
}
