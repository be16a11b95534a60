/* feat.h - per-tensor features (algorithm.md §5): spectral (via rsvd.h), per-group kurtosis,
 * norm-guided noise amplification, and which norm feeds a matrix (§3.1).
 *
 * A slice is one (rows, cols) row-major float32 matrix (a 2-D tensor, one expert of a stacked
 * 3-D tensor, or a 1-D tensor as one row).  All sums are in double.  A feature that is
 * undefined has valid = 0 and is written as JSON null.  Randomness: one PRNG stream per slice,
 * seeded by mint_feat_seed; the noise probes Z (cols x P, row-major) are drawn first, always,
 * then the sketch Omega, so the probes do not depend on --rank.  Library code: errors fill
 * struct mint_err (LAPACK failure -> MINT_EXIT_NUMERIC), nothing is printed. */
#ifndef MINT_FEAT_H
#define MINT_FEAT_H

#include <stddef.h>
#include <stdint.h>

#include "mint/dtype.h"
#include "mint/quant.h"
#include "mint/rsvd.h"

struct mint_err;

#define MINT_FEAT_KURT_GROUP 128     /* g_k */
#define MINT_FEAT_KURT_MIN_TAIL 4    /* a shorter tail group is ignored */
#define MINT_FEAT_FLAT_REL 1e-12     /* flat: m2 <= this * mean(W^2) of the slice */
#define MINT_FEAT_OUTLIER_SIGMAS 6.0
#define MINT_FEAT_PROBES 32          /* P */
#define MINT_FEAT_MIN_SIGMA_REL 1e-12 /* log_cond floor: sigma_k >= this * sigma_1 */

/* PRNG seed of slice s: XXH3-64 over (global seed as 8 little-endian bytes || the tensor's
 * 32-digit hex content hash), with XXH3 seed s (slice 0 of a 2-D tensor: seed 0). */
uint64_t mint_feat_seed(uint64_t global_seed, const char *hash_hex, uint64_t slice);

/* NumPy's default ("linear") percentile of sorted x[0..n), p in [0, 1]: h = (n-1)p,
 * lerp between x[floor h] and the next, with NumPy's two-sided lerp formula.  n >= 1. */
double mint_feat_percentile(const double *sorted, size_t n, double p);

/* Pearson kurtosis m4 / m2^2 of x[0..n) (population moments, double); *mu and *m2 returned.
 * Returns 0 when m2 == 0 (the caller decides flatness). */
double mint_feat_beta2(const float *x, int64_t n, double *mu, double *m2);

struct mint_feat_kurt {
    int valid;             /* 0: no non-flat group -> all three null */
    double p90, p99_p50, outlier_frac;
    uint64_t groups;       /* non-flat groups used */
    uint64_t flat;         /* flat groups excluded */
    uint64_t elems;        /* elements in non-flat groups */
    uint64_t outliers;     /* |w - mu_g| > 6 sqrt(m2_g) */
};
/* Groups of g consecutive elements along each row; tail group used if >= 4 elements. */
int mint_feat_kurtosis(const float *w, int64_t rows, int64_t cols, int g,
                       struct mint_feat_kurt *out, struct mint_err *err);

struct mint_feat_noise {
    int valid;             /* 0: 32 does not divide cols, or W = 0 -> all null */
    int amp_valid;         /* noise_amp defined (NRMSE_ref > 0) */
    struct mint_qcfg ref;  /* (4,64), or (4,32) when 64 does not divide cols */
    double nrmse_ref;      /* ||E||_F / ||W||_F */
    double delta;          /* ||E X||_F / ||W X||_F */
    double amp;            /* delta / nrmse_ref */
};
/* E = W^ - W with the MLX quantizer at the reference configuration, scales/biases stored in
 * sdt (BF16 or F16); X = diag(gamma) Z with z (cols, probes) row-major; gamma NULL = ones. */
int mint_feat_noise(const float *w, int64_t rows, int64_t cols, const float *z, int probes,
                    const float *gamma, enum mint_dtype sdt, struct mint_feat_noise *out,
                    struct mint_err *err);

struct mint_feat_spectral {
    int valid;             /* 0: A = 0 (or not a matrix) -> all null */
    int exact;             /* exact SVD path (min(m,n) <= k + p) */
    int k_eff;
    double stable_rank, tail_mass, log_cond;
};
/* stable_rank = frob2 / s1^2; tail_mass = 1 - sum_{i<=t} s_i^2 / frob2 with
 * t = max(1, floor(k_eff/10)), clamped to [0, 1] (float rounding can push it just below 0);
 * log_cond = ln(s1 / max(s_keff, 1e-12 s1)).  frob2 == 0 or s1 == 0 -> invalid. */
void mint_feat_spectral_from(double frob2, const double *sigma, int k_eff,
                             struct mint_feat_spectral *out);

struct mint_feat_opt {
    struct mint_rsvd_opt rsvd;   /* k = --rank, p = 10, q = 2 */
    int probes;                  /* P */
    int kurt_group;              /* g_k */
};
void mint_feat_opt_default(struct mint_feat_opt *o);

struct mint_feat_slice {
    double frob2;                /* ||A||_F^2, exact in double */
    double *sigma;               /* (k) malloc'd; the first spec.k_eff are set */
    struct mint_feat_spectral spec;
    struct mint_feat_kurt kurt;
    struct mint_feat_noise noise;
};
/* All features of one slice.  matrix = 0 (1-D tensor): kurtosis only.  w is overwritten (the
 * exact SVD works in place), so every other feature is computed before the spectrum. */
int mint_feat_slice_run(float *w, int64_t rows, int64_t cols, int matrix, const float *gamma,
                        enum mint_dtype sdt, const struct mint_feat_opt *opt, uint64_t seed,
                        struct mint_feat_slice *out, struct mint_err *err);
void mint_feat_slice_release(struct mint_feat_slice *s);

/* Candidate names (most likely first) of the RMSNorm whose gain feeds the input columns of
 * 'name', per the table of algorithm.md §3.1 (Llama-family names, also attention_norm /
 * ffn_norm); tied: the embedding is the output head.  Returns how many were written to out
 * (at most max; names that do not fit in 256 bytes are skipped), 0 when no norm feeds it. */
int mint_feat_norm_candidates(const char *name, int tied, char (*out)[256], int max);

#endif
