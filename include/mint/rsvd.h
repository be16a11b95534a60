/* rsvd.h - leading singular values of a float32 matrix (algorithm.md §5.1), and the project's
 * fixed pseudo-random generator.
 *
 * PRNG: xoshiro256** whose 256-bit state is expanded from a 64-bit seed by splitmix64; uniforms
 * take the top 53 bits; normals come from Marsaglia's polar method in double (pairs, the second
 * value kept for the next call).  The stream is a pure function of the seed.
 * rsvd: A is (m, n) row-major float32, owned by the caller and overwritten on the exact path
 * (LAPACK works in place).  Sketches cost (m + n)·ℓ floats; nothing n×n or AᵀA is formed.
 * Bit-reproducible for a given seed with single-threaded BLAS (mint_blas_single_thread) on one
 * machine; OpenBLAS picks kernels per CPU, so other CPUs agree to float rounding only.
 * Errors: LAPACK info > 0 or a non-finite result -> MINT_EXIT_NUMERIC; out of memory -> 1. */
#ifndef MINT_RSVD_H
#define MINT_RSVD_H

#include <stddef.h>
#include <stdint.h>

struct mint_err;

struct mint_prng {
    uint64_t s[4];    /* xoshiro256** state */
    double spare;     /* second normal of the last polar pair */
    int has_spare;
};

void     mint_prng_seed(struct mint_prng *r, uint64_t seed);
uint64_t mint_prng_u64(struct mint_prng *r);
double   mint_prng_uniform(struct mint_prng *r);               /* [0, 1), 53 bits */
double   mint_prng_normal(struct mint_prng *r);                /* N(0, 1) */
void     mint_prng_normal_f32(struct mint_prng *r, float *out, size_t n); /* (float) normals */

#define MINT_RSVD_RANK 256       /* k */
#define MINT_RSVD_OVERSAMPLE 10  /* p */
#define MINT_RSVD_POWER_ITERS 2  /* q */

struct mint_rsvd_opt {
    int k;  /* values wanted */
    int p;  /* oversampling: sketch width l = k + p */
    int q;  /* power iterations, each followed by QR re-orthonormalisation */
};

/* The k_eff = min(k, m, n) largest singular values of A, descending, into sigma (k doubles).
 * min(m, n) <= k + p: exact (sgesdd, values only, A overwritten); else Halko-Martinsson-Tropp:
 * Omega (n, l) i.i.d. N(0,1) drawn column by column from rng; Y = A Omega; Q = qr(Y);
 * q times { Q = qr(AᵀQ); Q = qr(A Q) }; singular values of QᵀA (computed as AᵀQ, n x l).
 * Returns k_eff (0 for an empty matrix) or -1.  *exact (may be NULL) says which path ran. */
int mint_rsvd_values(float *a, int64_t m, int64_t n, const struct mint_rsvd_opt *opt,
                     struct mint_prng *rng, double *sigma, int *exact, struct mint_err *err);

/* Pin OpenBLAS to one thread (no-op with another BLAS); sgemm sums in a fixed order then. */
void mint_blas_single_thread(void);

#endif
