/* t-rsvd: the PRNG stream, and singular values from the randomized SVD against a full LAPACK
 * SVD (dgesdd in double) on matrices with known, decaying spectra. */
#include <cblas.h>
#include <lapacke.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mint/err.h"
#include "mint/rsvd.h"

#define TOP_K_REL_TOL 1e-3 /* top-k relative error with q = 2 power iterations */

/* Random orthonormal columns: (rows, cols) column-major, rows >= cols. */
static double *orthonormal(struct mint_prng *r, int rows, int cols)
{
    double *q = malloc((size_t)rows * cols * sizeof *q), *tau = malloc((size_t)cols * sizeof *tau);
    for (int i = 0; i < rows * cols; i++)
        q[i] = mint_prng_normal(r);
    MINT_ASSERT(LAPACKE_dgeqrf(LAPACK_COL_MAJOR, rows, cols, q, rows, tau) == 0);
    MINT_ASSERT(LAPACKE_dorgqr(LAPACK_COL_MAJOR, rows, cols, cols, q, rows, tau) == 0);
    free(tau);
    return q;
}

/* A = U diag(s) Vᵀ as a row-major (m, n) float matrix; r = len(s) <= min(m, n). */
static float *make_matrix(int m, int n, const double *s, int r, uint64_t seed)
{
    struct mint_prng g;
    double *u, *v;
    float *a = malloc((size_t)m * n * sizeof *a);
    mint_prng_seed(&g, seed);
    u = orthonormal(&g, m, r); /* (m, r) col-major */
    v = orthonormal(&g, n, r); /* (n, r) col-major */
    double *c = malloc((size_t)m * n * sizeof *c);
    for (int k = 0; k < r; k++)
        for (int i = 0; i < m; i++)
            u[(size_t)k * m + i] *= s[k];
    /* column-major (n, m) = V Uᵀ is row-major (m, n) = U diag(s) Vᵀ */
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, m, r, 1.0, v, n, u, m, 0.0, c, n);
    for (size_t i = 0; i < (size_t)m * n; i++)
        a[i] = (float)c[i];
    free(c);
    free(u);
    free(v);
    return a;
}

/* Reference: all singular values of the float matrix, in double. */
static double *ref_values(const float *a, int m, int n)
{
    int mn = m < n ? m : n;
    double *d = malloc((size_t)m * n * sizeof *d), *s = malloc((size_t)mn * sizeof *s), dummy;
    for (int i = 0; i < m * n; i++)
        d[i] = a[i];
    MINT_ASSERT(LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', n, m, d, n, s, &dummy, 1, &dummy, 1) == 0);
    free(d);
    return s;
}

static double max_rel_err(const double *got, const double *want, int k)
{
    double e = 0;
    for (int i = 0; i < k; i++) {
        double r = fabs(got[i] - want[i]) / want[i];
        e = r > e ? r : e;
    }
    return e;
}

static float *copy(const float *a, size_t n)
{
    float *b = malloc(n * sizeof *b);
    memcpy(b, a, n * sizeof *b);
    return b;
}

static void test_prng(void)
{
    struct mint_prng r;
    double s1 = 0, s2 = 0, mn = 1, mx = 0;
    const int n = 200000;

    /* splitmix64 expansion of seed 0, then xoshiro256** (reference values from an
     * independent implementation) */
    mint_prng_seed(&r, 0);
    CHECK(r.s[0] == 0xe220a8397b1dcdafull && r.s[3] == 0xf88bb8a8724c81ecull);
    CHECK(mint_prng_u64(&r) == 0x99ec5f36cb75f2b4ull);
    CHECK(mint_prng_u64(&r) == 0xbf6e1f784956452aull);
    CHECK(mint_prng_u64(&r) == 0x1a5f849d4933e6e0ull);
    mint_prng_seed(&r, 42);
    CHECK(mint_prng_u64(&r) == 0x15780b2e0c2ec716ull);

    mint_prng_seed(&r, 7);
    for (int i = 0; i < n; i++) {
        double u = mint_prng_uniform(&r);
        mn = u < mn ? u : mn;
        mx = u > mx ? u : mx;
    }
    CHECK(mn >= 0 && mx < 1 && mn < 1e-4 && mx > 1 - 1e-4);
    for (int i = 0; i < n; i++) {
        double x = mint_prng_normal(&r);
        s1 += x;
        s2 += x * x;
    }
    CHECK_NEAR(s1 / n, 0.0, 0.01);
    CHECK_NEAR(s2 / n, 1.0, 0.015);
    {
        struct mint_prng a, b;
        float fa[101], fb[101];
        mint_prng_seed(&a, 99);
        mint_prng_seed(&b, 99);
        mint_prng_normal_f32(&a, fa, 101);
        mint_prng_normal_f32(&b, fb, 101);
        CHECK(!memcmp(fa, fb, sizeof fa));
    }
}

/* Randomized path, k = 32 on 300 x 200 with a geometric spectrum. */
static void test_randomized_small(void)
{
    const int m = 300, n = 200, r = 200;
    double s[200], sig[32], *ref;
    struct mint_rsvd_opt o = {32, 10, 2};
    struct mint_prng g;
    struct mint_err err = {0};
    float *a;
    int exact = -1, k;

    for (int i = 0; i < r; i++)
        s[i] = pow(0.9, i);
    a = make_matrix(m, n, s, r, 1);
    ref = ref_values(a, m, n);
    mint_prng_seed(&g, 123);
    k = mint_rsvd_values(a, m, n, &o, &g, sig, &exact, &err);
    CHECK(k == 32);
    CHECK(exact == 0);
    CHECK_MSG(max_rel_err(sig, ref, 32) < TOP_K_REL_TOL, "max rel err %g",
              max_rel_err(sig, ref, 32));
    for (int i = 1; i < 32; i++)
        CHECK(sig[i] <= sig[i - 1]);
    /* without power iterations the tail is visibly worse: the iterations matter */
    {
        struct mint_rsvd_opt o0 = {32, 10, 0};
        double sig0[32];
        mint_prng_seed(&g, 123);
        CHECK(mint_rsvd_values(a, m, n, &o0, &g, sig0, NULL, &err) == 32);
        CHECK(max_rel_err(sig0, ref, 32) > max_rel_err(sig, ref, 32));
    }
    /* the wide transpose (200 x 300) has the same values */
    {
        float *t = malloc((size_t)m * n * sizeof *t);
        double sigt[32];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                t[(size_t)j * m + i] = a[(size_t)i * n + j];
        mint_prng_seed(&g, 124);
        CHECK(mint_rsvd_values(t, n, m, &o, &g, sigt, &exact, &err) == 32);
        CHECK(exact == 0);
        CHECK_MSG(max_rel_err(sigt, ref, 32) < TOP_K_REL_TOL, "wide: max rel err %g",
                  max_rel_err(sigt, ref, 32));
        free(t);
    }
    free(ref);
    free(a);
}

/* The default k = 256 path once, on 600 x 400: a slowly decaying top 256, then a drop. */
static void test_randomized_k256(void)
{
    const int m = 600, n = 400, r = 400;
    double s[400], *sig = malloc(256 * sizeof *sig), *ref;
    struct mint_rsvd_opt o = {MINT_RSVD_RANK, MINT_RSVD_OVERSAMPLE, MINT_RSVD_POWER_ITERS};
    struct mint_prng g;
    struct mint_err err = {0};
    float *a;
    int exact = -1;

    for (int i = 0; i < r; i++)
        s[i] = i < 256 ? pow(0.99, i) : 0.1 * pow(0.99, i);
    a = make_matrix(m, n, s, r, 2);
    ref = ref_values(a, m, n);
    mint_prng_seed(&g, 5);
    CHECK(mint_rsvd_values(a, m, n, &o, &g, sig, &exact, &err) == 256);
    CHECK(exact == 0);
    CHECK_MSG(max_rel_err(sig, ref, 256) < TOP_K_REL_TOL, "max rel err %g",
              max_rel_err(sig, ref, 256));
    free(ref);
    free(a);
    free(sig);
}

/* min(m, n) <= k + p: exact values (sgesdd), k_eff = min(k, m, n). */
static void test_exact(void)
{
    const int m = 100, n = 60;
    double s[60], sig[256], *ref;
    struct mint_rsvd_opt o = {256, 10, 2};
    struct mint_prng g;
    struct mint_err err = {0};
    float *a, *b;
    int exact = 0;

    for (int i = 0; i < n; i++)
        s[i] = 1.0 / (1 + i);
    a = make_matrix(m, n, s, n, 3);
    ref = ref_values(a, m, n);
    b = copy(a, (size_t)m * n);
    mint_prng_seed(&g, 1);
    CHECK(mint_rsvd_values(b, m, n, &o, &g, sig, &exact, &err) == 60);
    CHECK(exact == 1);
    CHECK_MSG(max_rel_err(sig, ref, 60) < 1e-5, "max rel err %g", max_rel_err(sig, ref, 60));
    /* k smaller than min(m, n), still exact because min(m, n) <= k + p */
    {
        struct mint_rsvd_opt o2 = {55, 10, 2};
        free(b);
        b = copy(a, (size_t)m * n);
        CHECK(mint_rsvd_values(b, m, n, &o2, &g, sig, &exact, &err) == 55);
        CHECK(exact == 1);
        CHECK_MSG(max_rel_err(sig, ref, 55) < 1e-5, "max rel err %g", max_rel_err(sig, ref, 55));
    }
    /* wide matrix (m < n) */
    {
        float *w = make_matrix(40, 90, s, 40, 4);
        double *rw = ref_values(w, 40, 90);
        CHECK(mint_rsvd_values(w, 40, 90, &o, &g, sig, &exact, &err) == 40);
        CHECK(max_rel_err(sig, rw, 40) < 1e-5);
        free(rw);
        free(w);
    }
    free(b);
    free(ref);
    free(a);
}

static double frob2(const float *a, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * a[i];
    return s;
}

/* Stable rank ||A||_F^2 / s1^2 of a rank-1 matrix is 1, on both paths. */
static void test_rank1(void)
{
    struct mint_prng g;
    struct mint_err err = {0};
    struct mint_rsvd_opt o = {32, 10, 2};
    double sig[32];
    int sizes[2][2] = {{300, 200}, {50, 40}};

    mint_prng_seed(&g, 11);
    for (int c = 0; c < 2; c++) {
        int m = sizes[c][0], n = sizes[c][1], exact = -1;
        float *a = malloc((size_t)m * n * sizeof *a);
        double *u = malloc((size_t)m * sizeof *u), *v = malloc((size_t)n * sizeof *v), f;
        for (int i = 0; i < m; i++)
            u[i] = mint_prng_normal(&g);
        for (int j = 0; j < n; j++)
            v[j] = mint_prng_normal(&g);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                a[(size_t)i * n + j] = (float)(u[i] * v[j]);
        f = frob2(a, (size_t)m * n);
        CHECK(mint_rsvd_values(a, m, n, &o, &g, sig, &exact, &err) == 32);
        CHECK(exact == c);
        CHECK_MSG(fabs(f / (sig[0] * sig[0]) - 1.0) < 1e-6, "stable rank %.9g",
                  f / (sig[0] * sig[0]));
        CHECK(sig[1] < 1e-5 * sig[0]);
        free(a);
        free(u);
        free(v);
    }
}

/* Same seed -> identical bits; different seed -> same values to 1e-3. */
static void test_determinism(void)
{
    const int m = 300, n = 200;
    double s[200], x[32], y[32], z[32];
    struct mint_rsvd_opt o = {32, 10, 2};
    struct mint_prng g;
    struct mint_err err = {0};
    float *a;

    for (int i = 0; i < n; i++)
        s[i] = pow(0.9, i);
    a = make_matrix(m, n, s, n, 6);
    mint_prng_seed(&g, 77);
    CHECK(mint_rsvd_values(a, m, n, &o, &g, x, NULL, &err) == 32);
    mint_prng_seed(&g, 77);
    CHECK(mint_rsvd_values(a, m, n, &o, &g, y, NULL, &err) == 32);
    CHECK(!memcmp(x, y, sizeof x));
    mint_prng_seed(&g, 78);
    CHECK(mint_rsvd_values(a, m, n, &o, &g, z, NULL, &err) == 32);
    CHECK(memcmp(x, z, sizeof x) != 0);
    CHECK_MSG(max_rel_err(z, x, 32) < 1e-3, "%g", max_rel_err(z, x, 32));
    free(a);
}

static void test_edges(void)
{
    struct mint_rsvd_opt o = {8, 2, 1};
    struct mint_prng g;
    struct mint_err err = {0};
    double sig[8];
    float *a = calloc(40 * 30, sizeof *a);
    int exact;

    mint_prng_seed(&g, 1);
    /* empty */
    CHECK(mint_rsvd_values(a, 0, 30, &o, &g, sig, &exact, &err) == 0);
    /* all zero, randomized path: zeros, no error */
    CHECK(mint_rsvd_values(a, 40, 30, &o, &g, sig, &exact, &err) == 8);
    CHECK(exact == 0 && sig[0] == 0.0);
    free(a);
}

int main(void)
{
    mint_blas_single_thread();
    test_prng();
    test_randomized_small();
    test_randomized_k256();
    test_exact();
    test_rank1();
    test_determinism();
    test_edges();
    return CHECK_DONE();
}
