#include "mint/rsvd.h"

#include <cblas.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mint/err.h"

/* ---- PRNG: splitmix64 seeding, xoshiro256** (Blackman & Vigna), Marsaglia polar ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void mint_prng_seed(struct mint_prng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    r->spare = 0.0;
    r->has_spare = 0;
}

uint64_t mint_prng_u64(struct mint_prng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double mint_prng_uniform(struct mint_prng *r)
{
    return (double)(mint_prng_u64(r) >> 11) * 0x1.0p-53;
}

double mint_prng_normal(struct mint_prng *r)
{
    double u, v, s, f;
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    do {
        u = 2.0 * mint_prng_uniform(r) - 1.0;
        v = 2.0 * mint_prng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    f = sqrt(-2.0 * log(s) / s);
    r->spare = v * f;
    r->has_spare = 1;
    return u * f;
}

void mint_prng_normal_f32(struct mint_prng *r, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (float)mint_prng_normal(r);
}

void mint_blas_single_thread(void)
{
#ifdef OPENBLAS_VERSION
    openblas_set_num_threads(1);
#endif
}

/* ---- singular values ---- */

/* In-place thin QR of a column-major (rows, cols) matrix, rows >= cols: M <- Q. */
static int qr_inplace(float *M, lapack_int rows, lapack_int cols, float *tau,
                      struct mint_err *err)
{
    lapack_int info = LAPACKE_sgeqrf(LAPACK_COL_MAJOR, rows, cols, M, rows, tau);
    if (info == 0)
        info = LAPACKE_sorgqr(LAPACK_COL_MAJOR, rows, cols, cols, M, rows, tau);
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR)
        return mint_err_set(err, "out of memory in QR (%d x %d)", (int)rows, (int)cols);
    if (info != 0)
        return mint_err_setc(err, MINT_EXIT_NUMERIC, "QR (%d x %d) failed: LAPACK info %d",
                             (int)rows, (int)cols, (int)info);
    return 0;
}

/* Singular values of a column-major (rows, cols) matrix (destroyed) into s (min(rows, cols)). */
static int svd_values(float *M, lapack_int rows, lapack_int cols, float *s, struct mint_err *err)
{
    float dummy = 0.0f;
    lapack_int info = LAPACKE_sgesdd(LAPACK_COL_MAJOR, 'N', rows, cols, M, rows, s, &dummy, 1,
                                     &dummy, 1);
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR)
        return mint_err_set(err, "out of memory in SVD (%d x %d)", (int)rows, (int)cols);
    if (info > 0)
        return mint_err_setc(err, MINT_EXIT_NUMERIC,
                             "SVD (%d x %d) did not converge: LAPACK sgesdd info %d", (int)rows,
                             (int)cols, (int)info);
    if (info < 0) /* an argument we passed (or a NaN LAPACKE's check found) */
        return mint_err_setc(err, MINT_EXIT_NUMERIC, "SVD (%d x %d): LAPACK sgesdd info %d",
                             (int)rows, (int)cols, (int)info);
    return 0;
}

static int finish(const float *s, int64_t avail, int k, double *sigma, struct mint_err *err)
{
    int keff = (int)(avail < k ? avail : k);
    for (int i = 0; i < keff; i++) {
        if (!isfinite(s[i]))
            return mint_err_setc(err, MINT_EXIT_NUMERIC, "singular value %d is not finite", i + 1);
        sigma[i] = (double)s[i];
    }
    return keff;
}

int mint_rsvd_values(float *a, int64_t m, int64_t n, const struct mint_rsvd_opt *opt,
                     struct mint_prng *rng, double *sigma, int *exact, struct mint_err *err)
{
    const int k = opt->k;
    const int64_t l = (int64_t)opt->k + opt->p, mn = m < n ? m : n;
    float *s = NULL, *om = NULL, *y = NULL, *tau = NULL;
    int rc = -1;

    MINT_ASSERT(k >= 1 && opt->p >= 0 && opt->q >= 0);
    if (exact)
        *exact = 0;
    if (m <= 0 || n <= 0)
        return 0;
    if (m > INT_MAX || n > INT_MAX || l > INT_MAX)
        return mint_err_set(err, "matrix %lld x %lld is too large for LAPACK", (long long)m,
                            (long long)n);

    if (mn <= l) {
        /* A row-major (m, n) is column-major (n, m) with leading dimension n. */
        if (exact)
            *exact = 1;
        s = malloc((size_t)mn * sizeof *s);
        if (!s)
            return mint_err_set(err, "out of memory");
        if (svd_values(a, (lapack_int)n, (lapack_int)m, s, err) == 0)
            rc = finish(s, mn, k, sigma, err);
        free(s);
        return rc;
    }

    /* Randomized: column-major sketches Omega/Z (n, l) and Y/Q (m, l). */
    om = malloc((size_t)n * (size_t)l * sizeof *om);  /* (n, l) */
    y = malloc((size_t)m * (size_t)l * sizeof *y);    /* (m, l) */
    tau = malloc((size_t)l * sizeof *tau);            /* (l) */
    s = malloc((size_t)l * sizeof *s);                /* (l) */
    if (!om || !y || !tau || !s) {
        mint_err_set(err, "out of memory for the %lld-column sketches", (long long)l);
        goto out;
    }
    mint_prng_normal_f32(rng, om, (size_t)n * (size_t)l);
    /* Y = A Omega: A is column-major (n, m) = Aᵀ, so op = Trans. */
    cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)m, (int)l, (int)n, 1.0f, a, (int)n,
                om, (int)n, 0.0f, y, (int)m);
    if (qr_inplace(y, (lapack_int)m, (lapack_int)l, tau, err) < 0)
        goto out;
    for (int it = 0; it < opt->q; it++) {
        /* Z = Aᵀ Q (n, l), re-orthonormalised; then Y = A Z (m, l), re-orthonormalised */
        cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)l, (int)m, 1.0f, a,
                    (int)n, y, (int)m, 0.0f, om, (int)n);
        if (qr_inplace(om, (lapack_int)n, (lapack_int)l, tau, err) < 0)
            goto out;
        cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)m, (int)l, (int)n, 1.0f, a,
                    (int)n, om, (int)n, 0.0f, y, (int)m);
        if (qr_inplace(y, (lapack_int)m, (lapack_int)l, tau, err) < 0)
            goto out;
    }
    /* Bᵀ = Aᵀ Q (n, l): same singular values as B = QᵀA. */
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)l, (int)m, 1.0f, a,
                (int)n, y, (int)m, 0.0f, om, (int)n);
    if (svd_values(om, (lapack_int)n, (lapack_int)l, s, err) < 0)
        goto out;
    rc = finish(s, l, k, sigma, err);
out:
    free(s);
    free(tau);
    free(y);
    free(om);
    return rc;
}
