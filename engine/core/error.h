/* Errors are values: every fallible engine call takes a GError ** in this domain. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

#define SC_ERROR (sc_error_quark ())
GQuark sc_error_quark (void);

typedef enum {
  SC_ERROR_IO,               /* a file could not be read or written */
  SC_ERROR_FORMAT,           /* a file is malformed, truncated or lies about itself */
  SC_ERROR_MISSING_TENSOR,   /* a tensor the model needs is absent */
  SC_ERROR_SHAPE,            /* a tensor has the wrong shape */
  SC_ERROR_DTYPE,            /* a tensor has a dtype we cannot use */
  SC_ERROR_UNSUPPORTED,      /* a valid input we do not handle (yet) */
  SC_ERROR_INVALID_ARGUMENT, /* a parameter out of range */
  SC_ERROR_CANCELLED,        /* the caller cancelled */
  SC_ERROR_OUT_OF_MEMORY,    /* an allocation failed */
  SC_ERROR_WRONG_MODEL,      /* a file of another model kind or architecture */
} ScErrorCode;

G_END_DECLS
