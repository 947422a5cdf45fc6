#include "backend/backend.h"
#include "core/error.h"

#include <string.h>

void
sc_conv2d_desc_init (ScConv2dDesc *d)
{
  d->out_h = (d->in_h + d->pad_top + d->pad_bottom - d->kernel_h) / d->stride + 1;
  d->out_w = (d->in_w + d->pad_left + d->pad_right - d->kernel_w) / d->stride + 1;
}

const ScBackend *
sc_backend_get (const char *name, GError **error)
{
  if (name == NULL || strcmp (name, "cpu") == 0)
    return sc_backend_cpu ();
  g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED,
               "Backend “%s” is not available in this build (available: cpu)", name);
  return NULL;
}
