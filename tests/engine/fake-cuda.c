/* A stand-in for libcuda.so.1 with two GPUs, for test-device on machines without one: GPU 0 answers
 * everything; GPU 1 refuses a context (as an exclusive-process GPU in use elsewhere does), so its free
 * memory is unknown. Only the entry points backend/device.c looks up. */
#include <stddef.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;

#define GIB ((size_t) 1 << 30)

CUresult cuInit (unsigned flags);
CUresult cuDeviceGetCount (int *count);
CUresult cuDeviceGet (CUdevice *device, int ordinal);
CUresult cuDeviceGetName (char *name, int len, CUdevice device);
CUresult cuDeviceTotalMem_v2 (size_t *bytes, CUdevice device);
CUresult cuDevicePrimaryCtxRetain (CUcontext *ctx, CUdevice device);
CUresult cuDevicePrimaryCtxRelease_v2 (CUdevice device);
CUresult cuCtxPushCurrent_v2 (CUcontext ctx);
CUresult cuCtxPopCurrent_v2 (CUcontext *ctx);
CUresult cuMemGetInfo_v2 (size_t *free_bytes, size_t *total_bytes);
int fake_cuda_contexts_left (void);

static int initialised, retained, pushed;
static struct CUctx_st *const the_context = (struct CUctx_st *) &retained; /* any non-NULL address */

CUresult
cuInit (unsigned flags)
{
  initialised = 1;
  return flags == 0 ? 0 : 1;
}

CUresult
cuDeviceGetCount (int *count)
{
  if (!initialised)
    return 3; /* CUDA_ERROR_NOT_INITIALIZED */
  *count = 2;
  return 0;
}

CUresult
cuDeviceGet (CUdevice *device, int ordinal)
{
  *device = ordinal;
  return ordinal >= 0 && ordinal < 2 ? 0 : 101;
}

CUresult
cuDeviceGetName (char *name, int len, CUdevice device)
{
  const char *n = device == 0 ? "Fake GPU Zero" : "Fake GPU One";
  strncpy (name, n, (size_t) len);
  return 0;
}

CUresult
cuDeviceTotalMem_v2 (size_t *bytes, CUdevice device)
{
  *bytes = device == 0 ? 80 * GIB : 16 * GIB;
  return 0;
}

CUresult
cuDevicePrimaryCtxRetain (CUcontext *ctx, CUdevice device)
{
  if (device != 0)
    return 216; /* CUDA_ERROR_DEVICE_UNAVAILABLE */
  retained++;
  *ctx = the_context;
  return 0;
}

CUresult
cuDevicePrimaryCtxRelease_v2 (CUdevice device)
{
  retained--;
  return 0;
}

CUresult
cuCtxPushCurrent_v2 (CUcontext ctx)
{
  pushed++;
  return ctx == the_context ? 0 : 201;
}

CUresult
cuCtxPopCurrent_v2 (CUcontext *ctx)
{
  pushed--;
  *ctx = the_context;
  return 0;
}

CUresult
cuMemGetInfo_v2 (size_t *free_bytes, size_t *total_bytes)
{
  if (pushed != 1 || retained != 1)
    return 201; /* CUDA_ERROR_INVALID_CONTEXT: no context current */
  *free_bytes = 79 * GIB;
  *total_bytes = 80 * GIB;
  return 0;
}

/* For the test: contexts retained or pushed and not given back (0 when the caller cleaned up). */
int
fake_cuda_contexts_left (void)
{
  return retained + pushed;
}
