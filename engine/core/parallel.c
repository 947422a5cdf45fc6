#include "core/parallel.h"

#include <omp.h>

/* OpenBLAS exports this; declared here so we need not include cblas.h in core. */
extern void openblas_set_num_threads (int num_threads);

static int sc_threads = 0;

void
sc_set_num_threads (int n)
{
  if (n <= 0)
    n = omp_get_num_procs ();
  sc_threads = n;
  omp_set_num_threads (n);
  openblas_set_num_threads (n);
}

int
sc_get_num_threads (void)
{
  return sc_threads > 0 ? sc_threads : omp_get_max_threads ();
}
