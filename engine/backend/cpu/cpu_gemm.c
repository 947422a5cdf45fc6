/* GEMM and linear through OpenBLAS (row-major cblas_sgemm). */
#include "backend/cpu/cpu_kernels.h"

#include <cblas.h>
#include <omp.h>

static void
sgemm1 (bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
        const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
               (blasint) M, (blasint) N, (blasint) K, alpha, A, (blasint) lda, B, (blasint) ldb, beta, C,
               (blasint) ldc);
}

/* All threading is OpenMP: OpenBLAS runs single-threaded on a block of C per thread. Its own pthread
 * pool would spin after each call and fight the OpenMP team (ours and oneDNN's) for the cores. */
void
sc_cpu_gemm (bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
             const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
             float *C, int64_t ldc)
{
  if (M <= 0 || N <= 0)
    return;
  int nt = omp_in_parallel () ? 1 : omp_get_max_threads ();
  if ((double) M * (double) N * (double) K < SC_CPU_MIN_PARALLEL_MACS)
    nt = 1;
  int saved;
  sc_cpu_blas_serial_begin (&saved);
  if (nt <= 1)
    {
      sgemm1 (trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
      sc_cpu_blas_serial_end (saved);
      return;
    }
  /* Split the rows of C when there are enough of them, else the columns; block edges on multiples of 16
   * keep the micro-kernels on full tiles. */
  gboolean by_rows = M >= 32 * nt || M >= N;
  int64_t len = by_rows ? M : N;
  int64_t step = ((len + nt - 1) / nt + 15) / 16 * 16;
  int64_t parts = (len + step - 1) / step;
#pragma omp parallel for num_threads (nt) schedule(static, 1)
  for (int64_t i = 0; i < parts; i++)
    {
      int64_t s0 = i * step, n = MIN (step, len - s0);
      if (by_rows)
        sgemm1 (trans_a, trans_b, n, N, K, alpha, trans_a ? A + s0 : A + s0 * lda, lda, B, ldb, beta,
                C + s0 * ldc, ldc);
      else
        sgemm1 (trans_a, trans_b, M, n, K, alpha, A, lda, trans_b ? B + s0 * ldb : B + s0, ldb, beta, C + s0,
                ldc);
    }
  sc_cpu_blas_serial_end (saved);
}

/* OpenBLAS (pthread build) would start its own thread team for every call made from inside our OpenMP
 * regions; callers that split work themselves switch it to one thread around the region. */
void
sc_cpu_blas_serial_begin (int *saved)
{
  *saved = openblas_get_num_threads ();
  if (*saved != 1)
    openblas_set_num_threads (1);
}

void
sc_cpu_blas_serial_end (int saved)
{
  if (saved != 1)
    openblas_set_num_threads (saved);
}

void
sc_cpu_gemm_serial (bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                    const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                    float *C, int64_t ldc)
{
  sgemm1 (trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void
sc_cpu_linear (const float *x, const float *w, const float *bias, float *y, int64_t M, int64_t K, int64_t N)
{
  if (M <= 0 || N <= 0)
    return;
  float beta = 0.0f;
  if (bias)
    {
      /* Pre-fill y with the bias and let sgemm accumulate onto it: one pass over y instead of two. */
#pragma omp parallel for if (M * N > SC_CPU_MIN_PARALLEL)
      for (int64_t i = 0; i < M; i++)
        memcpy (y + i * N, bias, sizeof (float) * (size_t) N);
      beta = 1.0f;
    }
  sc_cpu_gemm (false, true, M, N, K, 1.0f, x, K, w, K, beta, y, N);
}
