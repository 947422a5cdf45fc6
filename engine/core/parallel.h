/* Thread count for our own kernels (OpenMP) and for BLAS. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* n <= 0 means "all cores". Applies to OpenMP regions and to OpenBLAS. */
void sc_set_num_threads (int n);
int sc_get_num_threads (void);

G_END_DECLS
