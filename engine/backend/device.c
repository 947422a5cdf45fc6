/* Device enumeration: /proc for the CPU, the CUDA driver API (a handful of entry points looked up with
 * dlsym, declared here so no CUDA headers are needed) for GPUs. */
#include "backend/device.h"

#include "backend/backend.h"
#include "core/error.h"

#include <dlfcn.h>
#include <string.h>

void
sc_device_free (ScDevice *d)
{
  if (!d)
    return;
  g_free (d->id);
  g_free (d->name);
  g_free (d->backend);
  g_free (d);
}

/* ---- the CPU ---- */

/* The value of the first "key<blanks>: value" line of path, or NULL. */
static char *
proc_value (const char *path, const char *key)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  size_t len = strlen (key);
  for (char **l = lines; *l; l++)
    {
      if (strncmp (*l, key, len) != 0)
        continue;
      const char *rest = *l + len + strspn (*l + len, " \t");
      if (*rest == ':')
        return g_strstrip (g_strdup (rest + 1));
    }
  return NULL;
}

/* A /proc/meminfo figure ("MemTotal: 24684084 kB") in bytes; 0 when absent. */
static guint64
meminfo_bytes (const char *key)
{
  g_autofree char *value = proc_value ("/proc/meminfo", key);
  return value ? g_ascii_strtoull (value, NULL, 10) * 1024 : 0;
}

ScDevice *
sc_device_cpu (void)
{
  ScDevice *d = g_new0 (ScDevice, 1);
  d->id = g_strdup ("cpu");
  d->backend = g_strdup ("cpu");
  d->name = proc_value ("/proc/cpuinfo", "model name"); /* x86; Arm kernels do not name the model */
  if (!d->name || !*d->name)
    {
      g_free (d->name);
      d->name = g_strdup ("CPU");
    }
  d->cores = (int) g_get_num_processors ();
  d->total_bytes = meminfo_bytes ("MemTotal");
  d->free_bytes = meminfo_bytes ("MemAvailable"); /* free + what the kernel can drop: what a model can get */
  if (!d->free_bytes)
    d->free_bytes = meminfo_bytes ("MemFree"); /* kernels before 3.14 */
  d->free_bytes = MIN (d->free_bytes, d->total_bytes);
  d->usable = TRUE;
  return d;
}

/* ---- CUDA GPUs through the driver API ---- */

typedef int CUresult; /* CUDA_SUCCESS = 0 */
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;

typedef struct {
  CUresult (*init) (unsigned flags);
  CUresult (*device_get_count) (int *count);
  CUresult (*device_get) (CUdevice *device, int ordinal);
  CUresult (*device_get_name) (char *name, int len, CUdevice device);
  CUresult (*device_total_mem) (size_t *bytes, CUdevice device);
  CUresult (*primary_ctx_retain) (CUcontext *ctx, CUdevice device);
  CUresult (*primary_ctx_release) (CUdevice device);
  CUresult (*ctx_push) (CUcontext ctx);
  CUresult (*ctx_pop) (CUcontext *ctx);
  CUresult (*mem_get_info) (size_t *free_bytes, size_t *total_bytes);
} CudaDriver;

static void *
symbol (void *lib, const char *name, const char *fallback)
{
  void *p = dlsym (lib, name);
  return p || !fallback ? p : dlsym (lib, fallback);
}

/* FALSE when the library is missing or lacks an entry point. The library stays open for good: the driver
 * may leave threads running in its code after a context is released. */
static gboolean
cuda_open (const char *library, CudaDriver *cu)
{
  void *lib = dlopen (library, RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return FALSE;
  *(void **) &cu->init = symbol (lib, "cuInit", NULL);
  *(void **) &cu->device_get_count = symbol (lib, "cuDeviceGetCount", NULL);
  *(void **) &cu->device_get = symbol (lib, "cuDeviceGet", NULL);
  *(void **) &cu->device_get_name = symbol (lib, "cuDeviceGetName", NULL);
  *(void **) &cu->device_total_mem = symbol (lib, "cuDeviceTotalMem_v2", NULL);
  *(void **) &cu->primary_ctx_retain = symbol (lib, "cuDevicePrimaryCtxRetain", NULL);
  *(void **) &cu->primary_ctx_release = symbol (lib, "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease");
  *(void **) &cu->ctx_push = symbol (lib, "cuCtxPushCurrent_v2", NULL);
  *(void **) &cu->ctx_pop = symbol (lib, "cuCtxPopCurrent_v2", NULL);
  *(void **) &cu->mem_get_info = symbol (lib, "cuMemGetInfo_v2", NULL);
  return cu->init && cu->device_get_count && cu->device_get && cu->device_get_name && cu->device_total_mem &&
         cu->primary_ctx_retain && cu->primary_ctx_release && cu->ctx_push && cu->ctx_pop && cu->mem_get_info;
}

/* Free memory needs a context: the primary one, released again (it goes away unless someone else holds it). */
static guint64
cuda_free_bytes (const CudaDriver *cu, CUdevice dev)
{
  CUcontext ctx = NULL;
  size_t free_bytes = 0, total = 0;
  if (cu->primary_ctx_retain (&ctx, dev) != 0) /* e.g. an exclusive-process GPU in use elsewhere */
    return 0;
  if (cu->ctx_push (ctx) == 0)
    {
      if (cu->mem_get_info (&free_bytes, &total) != 0)
        free_bytes = 0;
      CUcontext popped;
      cu->ctx_pop (&popped);
    }
  cu->primary_ctx_release (dev);
  return free_bytes;
}

static void
add_cuda_devices (GPtrArray *list, const char *library)
{
  CudaDriver cu = { 0 };
  int count = 0;
  /* no driver, no GPU (cuInit fails with CUDA_ERROR_NO_DEVICE) or a broken install: the CPU alone */
  if (!cuda_open (library, &cu) || cu.init (0) != 0 || cu.device_get_count (&count) != 0)
    return;
  gboolean built = sc_backend_get ("cuda", NULL) != NULL;
  for (int i = 0; i < count; i++)
    {
      CUdevice dev;
      char name[256] = "";
      size_t total = 0;
      if (cu.device_get (&dev, i) != 0)
        continue;
      if (cu.device_get_name (name, sizeof name - 1, dev) != 0 || !*name)
        g_snprintf (name, sizeof name, "CUDA device %d", i);
      if (cu.device_total_mem (&total, dev) != 0)
        total = 0;
      ScDevice *d = g_new0 (ScDevice, 1);
      d->id = g_strdup_printf ("cuda:%d", i);
      d->name = g_strdup (name);
      d->backend = g_strdup ("cuda");
      d->total_bytes = total;
      d->free_bytes = MIN (cuda_free_bytes (&cu, dev), (guint64) total);
      d->usable = built;
      g_ptr_array_add (list, d);
    }
}

GPtrArray *
sc_device_list_with_driver (const char *cuda_library)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) sc_device_free);
  g_ptr_array_add (list, sc_device_cpu ());
  if (cuda_library)
    add_cuda_devices (list, cuda_library);
  return list;
}

GPtrArray *
sc_device_list (void)
{
  return sc_device_list_with_driver ("libcuda.so.1");
}

const ScDevice *
sc_device_list_find (GPtrArray *list, const char *id)
{
  for (guint i = 0; list && id && i < list->len; i++)
    {
      const ScDevice *d = g_ptr_array_index (list, i);
      if (g_str_equal (d->id, id))
        return d;
    }
  return NULL;
}

gboolean
sc_device_id_usable (const char *id, GError **error)
{
  if (g_strcmp0 (id, "cpu") == 0)
    return TRUE;
  const char *digits = id && g_str_has_prefix (id, "cuda:") ? id + 5 : NULL;
  if (!digits || !*digits || strspn (digits, "0123456789") != strlen (digits))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "Unknown device “%s”", id ? id : "");
      return FALSE;
    }
  if (!sc_backend_get ("cuda", NULL))
    {
      g_set_error_literal (error, SC_ERROR, SC_ERROR_UNSUPPORTED, "CUDA is not built into this version");
      return FALSE;
    }
  return TRUE;
}
