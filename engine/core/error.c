#include "core/error.h"

G_DEFINE_QUARK (sc-error-quark, sc_error)
