#include "core/parallel.h"

#include <omp.h>
#include <stdlib.h>
#include <unistd.h>

/* OpenBLAS exports this; declared here so we need not include cblas.h in core. */
extern void openblas_set_num_threads (int num_threads);

static int sc_threads = 0;

/* OpenMP workers that spin after a parallel region (libgomp's default: ~0.3 M spins, milliseconds) burn
 * the time slice they need at the next barrier whenever another process holds a core: small models ran
 * 10-25x slower with 2 threads than with 1. Sleeping workers cost a futex wake per region (tens of µs,
 * well under 1% of a 512px U-Net). libgomp reads OMP_WAIT_POLICY once, in its constructor, before main;
 * setting it in the executable's pre-init array does not work either (libc re-installs the original
 * environment before the libraries' constructors run), so the program is started again with it set. */
void
sc_parallel_prepare_process (char **argv)
{
  if (getenv ("OMP_WAIT_POLICY") || getenv ("GOMP_SPINCOUNT") || !argv || !argv[0])
    return;
  setenv ("OMP_WAIT_POLICY", "passive", 1);
  execv ("/proc/self/exe", argv);
  /* No /proc: carry on with spinning workers. */
}

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
