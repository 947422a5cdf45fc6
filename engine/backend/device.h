/* The devices a render could run on, as the preferences list them: the CPU (always first) and every CUDA
 * GPU the driver reports. GPUs are found at run time through the CUDA driver (libcuda.so.1, opened with
 * dlopen), so the build needs no CUDA and a machine without the driver or a GPU lists the CPU alone.
 * Memory figures are a snapshot taken when the list is made. Listing may take a while on a machine with
 * GPUs (the driver starts up): call it off the UI thread. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *id;            /* stable, what the "device" setting stores: "cpu", "cuda:0", "cuda:1", … */
  char *name;          /* "AMD EPYC 7B13 64-Core Processor", "NVIDIA H100 80GB HBM3"; never empty */
  char *backend;       /* the backend that runs it (sc_backend_get): "cpu", "cuda" */
  int cores;           /* CPU: logical processors this process may use; GPU: 0 */
  guint64 total_bytes; /* RAM or device memory */
  guint64 free_bytes;  /* available now (MemAvailable; cuMemGetInfo); 0 when the GPU could not be asked */
  gboolean usable;     /* this build has its backend */
} ScDevice;

void sc_device_free (ScDevice *d);
/* The CPU entry alone: cheap (reads /proc), for showing something before the full list is ready. */
ScDevice *sc_device_cpu (void);
/* The CPU, then the CUDA devices in the driver's order; an array of ScDevice *. Never fails. */
GPtrArray *sc_device_list (void);
/* The same with another driver library in place of libcuda.so.1 (tests use a fake one). */
GPtrArray *sc_device_list_with_driver (const char *cuda_library);
/* The entry with id in list, or NULL. */
const ScDevice *sc_device_list_find (GPtrArray *list, const char *id);
/* Whether this build can render on the device id ("cpu" always can; "cuda:N" needs the CUDA backend)
 * without asking any driver; FALSE with a message saying why not. */
gboolean sc_device_id_usable (const char *id, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScDevice, sc_device_free)

G_END_DECLS
