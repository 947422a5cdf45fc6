/* Thread count for our own kernels (OpenMP) and for BLAS. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* n <= 0 means "all cores". Applies to OpenMP regions and to OpenBLAS. */
void sc_set_num_threads (int n);
int sc_get_num_threads (void);

/* Call first in main: unless the user chose an OpenMP wait policy, re-executes the program once with
 * OMP_WAIT_POLICY=passive so idle worker threads sleep instead of spinning (see parallel.c). */
void sc_parallel_prepare_process (char **argv);

G_END_DECLS
