/* t-rd: rate-distortion measurement.  Known matrices, properties on random heavy-tailed
 * matrices, the Gaussian reference table (algorithm.md §2.4), fast kernels == reference path
 * bit for bit on random and adversarial rows, the tensor driver (experts, 1-D, dumps,
 * availability) and the norm table (algorithm.md §3.1). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mint/dtype.h"
#include "mint/err.h"
#include "mint/quant.h"
#include "mint/rd.h"

/* ---- random numbers ---- */

struct rng {
    uint64_t s;
};

static uint64_t rng_u64(struct rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_unit(struct rng *r) /* (0, 1) */
{
    return ((double)(rng_u64(r) >> 11) + 0.5) / 9007199254740992.0;
}

static double rng_normal(struct rng *r)
{
    return sqrt(-2.0 * log(rng_unit(r))) * cos(6.283185307179586 * rng_unit(r));
}

static double rng_student3(struct rng *r) /* Student t, 3 degrees of freedom */
{
    double z = rng_normal(r), a = rng_normal(r), b = rng_normal(r), c = rng_normal(r);
    return z / sqrt((a * a + b * b + c * c) / 3.0);
}

static float bf16r(double x)
{
    return mint_bf16_to_f32(mint_f32_to_bf16((float)x));
}

static int have_avx2(void)
{
    return mint_rd_kernel_available(MINT_RD_KERNEL_AVX2);
}

static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ---- helpers ---- */

static const struct mint_qcfg all_cfgs[] = {
    {2, 32}, {2, 64}, {2, 128}, {3, 32}, {3, 64}, {3, 128}, {4, 32}, {4, 64}, {4, 128},
    {5, 32}, {5, 64}, {5, 128}, {6, 32}, {6, 64}, {6, 128}, {8, 32}, {8, 64}, {8, 128},
    {16, 0},
};
#define N_ALL (sizeof all_cfgs / sizeof *all_cfgs)

/* Measure a float32 matrix through mint_rd_row (all configurations), metrics out. */
static void measure(const float *w, int64_t rows, int64_t cols, const struct mint_qcfg *cfg,
                    size_t n, enum mint_rd_quantizer qz, enum mint_dtype src, enum mint_dtype odt,
                    const float *gamma, enum mint_rd_kernel k, struct mint_rd_metrics *m,
                    struct mint_rd_sums *sums_out)
{
    struct mint_rd r;
    struct mint_err err = {0};
    struct mint_rd_opts o = {qz, src, odt, gamma, k};
    struct mint_rd_sums sums[MINT_RD_MAX_CFGS];
    memset(sums, 0, sizeof sums);
    if (mint_rd_init(&r, cols, cfg, n, &o, &err) < 0) {
        CHECK_MSG(0, "init: %s", err.msg);
        return;
    }
    for (int64_t i = 0; i < rows; i++)
        mint_rd_row(&r, w + i * cols, sums, 0, NULL);
    for (size_t i = 0; i < n; i++) {
        if (m)
            mint_rd_metrics(&sums[i], (uint64_t)(rows * cols), &m[i]);
        if (sums_out)
            sums_out[i] = sums[i];
    }
    mint_rd_release(&r);
}

static int cfg_index(struct mint_qcfg c)
{
    for (size_t i = 0; i < N_ALL; i++)
        if (all_cfgs[i].bits == c.bits && all_cfgs[i].group == c.group)
            return (int)i;
    return -1;
}

/* ---- 1. known matrices ---- */

static void known(void)
{
    struct mint_rd_metrics m[N_ALL];
    struct mint_rd_sums s[N_ALL];
    static const int ex_m[32] = {-11, 2,  15, -1, 12, -4, 9,  -7, 6,  -10, 3,
                                 16,  0,  13, -3, 10, -6, 7,  -9, 4,  17,  1,
                                 14,  -2, 11, -5, 8,  -8, 5,  -11, 2, 15};
    float w[64 * 8];
    struct mint_qcfg c4[] = {{4, 32}, {3, 32}};

    /* mlx-format.md §8 worked example: one row of 32 */
    for (int k = 0; k < 32; k++)
        w[k] = (float)ex_m[k] / 32.0f;
    for (int kk = MINT_RD_KERNEL_SCALAR; kk <= MINT_RD_KERNEL_REF; kk++) {
        if (kk == MINT_RD_KERNEL_AVX2 && !have_avx2())
            continue;
        measure(w, 1, 32, c4, 2, MINT_RD_MLX, MINT_DT_BF16, MINT_DT_BF16, NULL, kk, m, NULL);
        CHECK_NEAR(m[0].nrmse, 0.05634, 5e-6);
        CHECK_NEAR(m[0].sqnr_db, 24.98, 0.005);
        CHECK_NEAR(m[1].nrmse, 0.1441, 5e-5);
        CHECK_NEAR(m[1].sqnr_db, 16.82, 0.005);
        CHECK(m[0].nrmse_w == 0);
    }
    /* exact: codes 0..L on a power-of-two grid -> zero error, SQNR capped at 100 */
    for (int r = 0; r < 8; r++)
        for (int k = 0; k < 64; k++)
            w[r * 64 + k] = (float)((k * 5 + r) % 16) / 16.0f;
    for (int r = 0; r < 8; r++)
        for (int k = 0; k < 64; k += 32) {
            w[r * 64 + k] = 0;
            w[r * 64 + k + 1] = 15.0f / 16.0f;
        }
    {
        struct mint_qcfg c[] = {{4, 32}, {4, 64}};
        measure(w, 8, 64, c, 2, MINT_RD_MLX, MINT_DT_BF16, MINT_DT_BF16, NULL,
                MINT_RD_KERNEL_AUTO, m, NULL);
        for (int i = 0; i < 2; i++)
            CHECK_MSG(m[i].nrmse == 0 && m[i].sqnr_db == 100 && m[i].mse == 0,
                      "exact grid %d:%d: %g", c[i].bits, c[i].group, m[i].nrmse);
    }
    /* all-zero matrix */
    memset(w, 0, sizeof w);
    measure(w, 4, 128, all_cfgs, N_ALL, MINT_RD_MLX, MINT_DT_F32, MINT_DT_BF16, NULL,
            MINT_RD_KERNEL_AUTO, m, s);
    for (size_t i = 0; i < N_ALL; i++)
        CHECK(m[i].nrmse == 0 && m[i].sqnr_db == 100 && m[i].mse == 0 && s[i].sw == 0);
    measure(w, 4, 128, all_cfgs, N_ALL, MINT_RD_MINMAX, MINT_DT_F32, MINT_DT_BF16, NULL,
            MINT_RD_KERNEL_AUTO, m, s);
    for (size_t i = 0; i < N_ALL; i++)
        CHECK(m[i].nrmse == 0 && m[i].sqnr_db == 100);

    /* 16-bit from F32: 1 + 2^-8 is a BF16 tie -> 1 (even); exact in F16 */
    {
        struct mint_qcfg p16[] = {{16, 0}};
        const double x = 1.0 + 1.0 / 256;
        for (int k = 0; k < 16; k++)
            w[k] = (float)x;
        measure(w, 2, 8, p16, 1, MINT_RD_MLX, MINT_DT_F32, MINT_DT_BF16, NULL,
                MINT_RD_KERNEL_AUTO, m, NULL);
        CHECK_NEAR(m[0].nrmse, (1.0 / 256) / x, 1e-17);
        CHECK(m[0].mse == 1.0 / 65536);
        CHECK_NEAR(m[0].sqnr_db, 20 * log10(257.0), 1e-12);
        measure(w, 2, 8, p16, 1, MINT_RD_MLX, MINT_DT_F32, MINT_DT_F16, NULL,
                MINT_RD_KERNEL_AUTO, m, NULL);
        CHECK(m[0].nrmse == 0 && m[0].sqnr_db == 100);
        /* BF16 source, BF16 output: zero error */
        measure(w, 2, 8, p16, 1, MINT_RD_MLX, MINT_DT_BF16, MINT_DT_BF16, NULL,
                MINT_RD_KERNEL_AUTO, m, NULL);
        CHECK(m[0].nrmse == 0);
        /* norm weighting: the error only in column 0, γ0 = 2 */
        float g[8] = {2, 1, 1, 1, 1, 1, 1, 1};
        for (int k = 1; k < 8; k++)
            w[k] = 1.0f;
        for (int kk = MINT_RD_KERNEL_SCALAR; kk <= MINT_RD_KERNEL_REF; kk++) {
            if (kk == MINT_RD_KERNEL_AVX2 && !have_avx2())
                continue;
            measure(w, 1, 8, p16, 1, MINT_RD_MLX, MINT_DT_F32, MINT_DT_BF16, g, kk, m, NULL);
            double ew = 4.0 / 65536, ww = 4 * x * x + 7;
            CHECK_NEAR(m[0].nrmse_w, sqrt(ew / ww), 1e-15);
            CHECK_NEAR(m[0].nrmse, sqrt((1.0 / 65536) / (x * x + 7)), 1e-15);
        }
    }
    /* minmax is exact on a ramp whose step is the scale */
    for (int k = 0; k < 32; k++)
        w[k] = (float)k / 8.0f;
    {
        struct mint_qcfg c5[] = {{5, 32}};
        measure(w, 1, 32, c5, 1, MINT_RD_MINMAX, MINT_DT_F32, MINT_DT_BF16, NULL,
                MINT_RD_KERNEL_AUTO, m, NULL);
        CHECK(m[0].nrmse == 0);
    }
    /* metrics edge cases */
    {
        struct mint_rd_sums z = {0, 0, 0, 0}, tiny = {1e-30, 1, 0, 0};
        struct mint_rd_metrics mm;
        mint_rd_metrics(&z, 0, &mm);
        CHECK(mm.nrmse == 0 && mm.sqnr_db == 100 && mm.mse == 0 && mm.nrmse_w == 0);
        mint_rd_metrics(&tiny, 10, &mm);
        CHECK(mm.sqnr_db == 100 && mm.nrmse == 1e-15);
        CHECK(mint_rd_sqnr_of_nrmse(0) == 100 && mint_rd_sqnr_of_nrmse(0.1) == 20);
    }
}

/* ---- 2. properties on heavy-tailed matrices ---- */

static void properties(void)
{
    enum { R = 48, C = 512 };
    static float w[R * C];
    int group_ok = 0, group_n = 0;
    for (int seed = 1; seed <= 3; seed++) {
        struct rng g = {(uint64_t)seed * 7919};
        for (int i = 0; i < R * C; i++)
            w[i] = bf16r(0.02 * rng_student3(&g));
        for (int q = 0; q < 2; q++) {
            struct mint_rd_metrics m[N_ALL];
            measure(w, R, C, all_cfgs, N_ALL, q ? MINT_RD_MINMAX : MINT_RD_MLX, MINT_DT_BF16,
                    MINT_DT_BF16, NULL, MINT_RD_KERNEL_AUTO, m, NULL);
            static const int bits[] = {2, 3, 4, 5, 6, 8};
            for (int g_ = 32; g_ <= 128; g_ *= 2)
                for (int b = 1; b < 6; b++) {
                    struct mint_qcfg lo = {bits[b - 1], g_}, hi = {bits[b], g_};
                    double a = m[cfg_index(lo)].nrmse, c = m[cfg_index(hi)].nrmse;
                    CHECK_MSG(c < a, "seed %d %s: %d:%d %g !< %d:%d %g", seed,
                              q ? "minmax" : "mlx", hi.bits, g_, c, lo.bits, g_, a);
                }
            for (int b = 0; b < 6; b++)
                for (int g_ = 64; g_ <= 128; g_ *= 2) {
                    struct mint_qcfg big = {bits[b], g_}, small = {bits[b], g_ / 2};
                    group_ok += m[cfg_index(small)].nrmse < m[cfg_index(big)].nrmse;
                    group_n++;
                }
            /* 16-bit of a BF16 source is exact; everything is below 1 */
            CHECK(m[N_ALL - 1].nrmse == 0);
            for (size_t i = 0; i < N_ALL; i++)
                CHECK(m[i].nrmse < 1 && m[i].sqnr_db > 0);
        }
    }
    CHECK_MSG(group_ok >= group_n * 9 / 10, "group shrink lowered NRMSE in %d of %d", group_ok,
              group_n);
}

/* ---- 3. Gaussian reference table (algorithm.md §2.4) ---- */

static void gaussian_table(void)
{
    enum { R = 128, C = 2048 };
    static float w[R * C];
    static const struct {
        int b, g;
        double minmax_db, mlx_db;
    } ref[] = {
        {2, 32, 8.11, 8.81},   {2, 64, 6.93, 8.06},   {3, 32, 15.50, 15.33},
        {3, 64, 14.30, 14.38}, {4, 32, 22.13, 21.82}, {4, 64, 20.94, 20.80},
        {4, 128, 19.99, 19.96}, {5, 32, 28.43, 28.08}, {5, 64, 27.23, 27.06},
        {6, 32, 34.59, 34.09}, {6, 64, 33.40, 33.05}, {8, 64, 45.54, 42.76},
        {8, 128, 44.60, 42.15},
    };
    const size_t n = sizeof ref / sizeof *ref;
    struct mint_qcfg c[16];
    struct mint_rd_metrics mm[16], mx[16];
    struct rng g = {12345};
    for (size_t i = 0; i < n; i++) {
        c[i].bits = ref[i].b;
        c[i].group = ref[i].g;
    }
    for (int i = 0; i < R * C; i++)
        w[i] = bf16r(rng_normal(&g));
    measure(w, R, C, c, n, MINT_RD_MINMAX, MINT_DT_BF16, MINT_DT_BF16, NULL, MINT_RD_KERNEL_AUTO,
            mm, NULL);
    measure(w, R, C, c, n, MINT_RD_MLX, MINT_DT_BF16, MINT_DT_BF16, NULL, MINT_RD_KERNEL_AUTO,
            mx, NULL);
    for (size_t i = 0; i < n; i++) {
        CHECK_MSG(fabs(mm[i].sqnr_db - ref[i].minmax_db) <= 0.1, "minmax %d:%d %.3f vs %.2f",
                  ref[i].b, ref[i].g, mm[i].sqnr_db, ref[i].minmax_db);
        CHECK_MSG(fabs(mx[i].sqnr_db - ref[i].mlx_db) <= 0.1, "mlx %d:%d %.3f vs %.2f", ref[i].b,
                  ref[i].g, mx[i].sqnr_db, ref[i].mlx_db);
    }
    /* the 9 dB veto: 2-bit fails, 3-bit passes, in both modes */
    CHECK(mm[0].sqnr_db < 9 && mx[0].sqnr_db < 9 && mm[2].sqnr_db > 9 && mx[2].sqnr_db > 9);
}

/* ---- 4. fast kernels == reference path ---- */

enum { FC = 256 }; /* columns of the adversarial rows */

static int nrows_adv;

/* Fill row i of the adversarial set (returns 0 past the end). */
static int adv_row(int i, float *w, struct rng *g)
{
    int k;
    switch (i) {
    case 0: /* Gaussian */
        for (k = 0; k < FC; k++)
            w[k] = (float)rng_normal(g);
        return 1;
    case 1: /* heavy tails, weight-like scale */
        for (k = 0; k < FC; k++)
            w[k] = (float)(0.02 * rng_student3(g));
        return 1;
    case 2: /* all zero, with both zero signs */
        for (k = 0; k < FC; k++)
            w[k] = k % 3 ? 0.0f : -0.0f;
        return 1;
    case 3: /* constant groups of assorted constants */
    {
        static const float cs[] = {0.375f, -0.375f, 4e-8f, -4e-8f, 5e-8f, 1e-30f, -3.0e5f,
                                   1.0f};
        for (k = 0; k < FC; k++)
            w[k] = cs[(k / 32) % 8];
        return 1;
    }
    case 4: /* ties |lo| = |hi| in every group, values on a coarse grid */
        for (k = 0; k < FC; k++)
            w[k] = (float)((int)(rng_u64(g) % 17) - 8) / 8.0f;
        for (k = 0; k < FC; k += 32) {
            w[k + 3] = -1.0f;
            w[k + 9] = 1.0f;
        }
        return 1;
    case 5: /* rint ties: (w - z)/s lands on n + 1/2 (lo = 0, hi = L t, t = 2^-6) */
        for (k = 0; k < FC; k++)
            w[k] = ((float)(rng_u64(g) % 15) + 0.5f) / 64.0f;
        for (k = 0; k < FC; k += 32) {
            w[k] = 0;
            w[k + 1] = 15.0f / 64.0f;
        }
        return 1;
    case 6: /* tiny values, subnormals included */
        for (k = 0; k < FC; k++)
            w[k] = (float)(rng_normal(g) * (k % 2 ? 1e-40 : 1e-38));
        return 1;
    case 7: /* huge values of one sign per group (no overflow of hi - lo) */
        for (k = 0; k < FC; k++)
            w[k] = (float)((1.0 + rng_unit(g)) * ((k / 32) % 2 ? 1e38 : -1e30));
        return 1;
    case 8: /* overflow: hi - lo = inf; scale/bias beyond F16 */
        for (k = 0; k < FC; k++)
            w[k] = (float)(rng_normal(g) * (k < 128 ? 3e38 : 1e5));
        return 1;
    case 9: /* random finite bit patterns: every magnitude at once */
        for (k = 0; k < FC; k++) {
            float f;
            do
                f = u2f((uint32_t)rng_u64(g));
            while (!isfinite(f));
            w[k] = f;
        }
        return 1;
    case 10: /* sparse: mostly zero with a few outliers */
        for (k = 0; k < FC; k++)
            w[k] = rng_unit(g) < 0.9 ? 0.0f : (float)(rng_normal(g) * 10);
        return 1;
    case 11: /* values just around the F16 limit and small integers */
        for (k = 0; k < FC; k++)
            w[k] = k % 2 ? 65504.0f + (float)(k % 32) : (float)(k % 7) - 3.0f;
        return 1;
    case 12: /* near-constant groups: range at the 1e-7 clamp */
        for (k = 0; k < FC; k++)
            w[k] = 0.5f + (float)(rng_u64(g) % 4) * 5.9604645e-8f;
        return 1;
    default:
        if (i < 40) { /* more random rows, BF16-exact */
            double sc = pow(10.0, (double)(i % 7) - 4);
            for (k = 0; k < FC; k++)
                w[k] = bf16r(sc * (i % 2 ? rng_normal(g) : rng_student3(g)));
            return 1;
        }
        return 0;
    }
}

static int same_bits(const float *a, const float *b, int n, int minmax)
{
    for (int k = 0; k < n; k++) {
        if (f2u(a[k]) == f2u(b[k]))
            continue;
        if (minmax && a[k] == 0 && b[k] == 0) /* zero sign may differ in minmax (see rd.c) */
            continue;
        if (isnan(a[k]) && isnan(b[k]))
            continue;
        return 0;
    }
    return 1;
}

static int same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

static void fast_vs_ref(void)
{
    static float w0[FC], w[FC], out_ref[FC], out_fast[FC], gam[FC];
    struct rng g = {99};
    const int avx2 = have_avx2();
    int bad = 0, total = 0;
    for (int k = 0; k < FC; k++)
        gam[k] = (float)(0.5 + rng_unit(&g));
    gam[3] = 0;
    for (nrows_adv = 0; adv_row(nrows_adv, w0, &g); nrows_adv++) {
        for (int qz = 0; qz < 2; qz++)
            for (int src = 0; src < 2; src++)
                for (int od = 0; od < 2; od++)
                    for (int wg = 0; wg < 2; wg++) {
                        struct mint_rd r;
                        struct mint_err err = {0};
                        struct mint_rd_opts o = {qz ? MINT_RD_MINMAX : MINT_RD_MLX,
                                                 src ? MINT_DT_BF16 : MINT_DT_F32,
                                                 od ? MINT_DT_F16 : MINT_DT_BF16,
                                                 wg ? gam : NULL, MINT_RD_KERNEL_SCALAR};
                        for (int k = 0; k < FC; k++) { /* a BF16 source: finite BF16 */
                            w[k] = src ? bf16r(w0[k]) : w0[k];
                            if (!isfinite(w[k]))
                                w[k] = copysignf(3.3895314e38f, w0[k]);
                        }
                        if (mint_rd_init(&r, FC, all_cfgs, N_ALL, &o, &err) < 0) {
                            CHECK_MSG(0, "%s", err.msg);
                            continue;
                        }
                        struct mint_rd_sums all_fast[N_ALL], all_ref[N_ALL];
                        memset(all_fast, 0, sizeof all_fast);
                        memset(all_ref, 0, sizeof all_ref);
                        for (size_t i = 0; i < N_ALL; i++) {
                            struct mint_rd_sums sr = {0, 0, 0, 0};
                            mint_rd_row_cfg(&r, MINT_RD_KERNEL_REF, w, all_cfgs[i], &sr, out_ref);
                            all_ref[i] = sr;
                            for (int kk = MINT_RD_KERNEL_SCALAR; kk <= MINT_RD_KERNEL_AVX2;
                                 kk++) {
                                struct mint_rd_sums sf = {0, 0, 0, 0};
                                if (kk == MINT_RD_KERNEL_AVX2 && !avx2)
                                    continue;
                                mint_rd_row_cfg(&r, kk, w, all_cfgs[i], &sf, out_fast);
                                int ok = same_bits(out_ref, out_fast, FC, qz) &&
                                         same_double(sr.se, sf.se) &&
                                         same_double(sr.sew, sf.sew) &&
                                         same_double(sr.sw, sf.sw) &&
                                         same_double(sr.sww, sf.sww);
                                total++;
                                if (!ok && bad++ < 10)
                                    CHECK_MSG(0,
                                              "row %d %s src %s out %s gamma %d %d:%d kernel "
                                              "%s: se %.17g vs %.17g",
                                              nrows_adv, qz ? "minmax" : "mlx",
                                              src ? "BF16" : "F32", od ? "F16" : "BF16", wg,
                                              all_cfgs[i].bits, all_cfgs[i].group,
                                              mint_rd_kernel_name(kk), sf.se, sr.se);
                            }
                        }
                        /* the all-configurations row pass gives the same sums */
                        mint_rd_row(&r, w, all_fast, 0, NULL);
                        for (size_t i = 0; i < N_ALL; i++)
                            CHECK(same_double(all_fast[i].se, all_ref[i].se) &&
                                  same_double(all_fast[i].sew, all_ref[i].sew) &&
                                  same_double(all_fast[i].sw, all_ref[i].sw));
                        mint_rd_release(&r);
                    }
    }
    CHECK_MSG(bad == 0, "%d of %d kernel comparisons differ", bad, total);
    CHECK(total > 1000);
}

/* 16-bit rounding over a sweep of float bit patterns, F16 and BF16 outputs */
static void passthrough_sweep(void)
{
    enum { N = 4096 };
    static float w[N], a[N], b[N];
    static const float edges[] = {65504.0f, 65505.0f, 65519.996f, 65520.0f, 6.1035156e-5f,
                                  5.9604645e-8f, 2.9802322e-8f, 2.9802326e-8f, 8.940697e-8f,
                                  3.3895314e38f, 3.3961776e38f, 1.0f + 1.0f / 256, 1e-45f};
    struct mint_qcfg p16 = {16, 0};
    int ok = 1;
    uint32_t u = 0x12345;
    for (int it = 0; it < 64; it++) {
        for (int k = 0; k < N; k++) {
            float f;
            do {
                u += 0x00010ed3u; /* odd step: visits every exponent and many mantissas */
                f = u2f(u);
            } while (!isfinite(f) || fabsf(f) > 6e4f);
            w[k] = f;
        }
        if (it == 0)
            for (size_t e = 0; e < sizeof edges / sizeof *edges; e++) {
                w[2 * e] = edges[e];
                w[2 * e + 1] = -edges[e];
            }
        for (int od = 0; od < 2; od++) {
            struct mint_rd r;
            struct mint_err err = {0};
            struct mint_rd_opts o = {MINT_RD_MLX, MINT_DT_F32, od ? MINT_DT_F16 : MINT_DT_BF16,
                                     NULL, MINT_RD_KERNEL_SCALAR};
            struct mint_rd_sums s1 = {0, 0, 0, 0}, s2 = {0, 0, 0, 0};
            MINT_ASSERT(mint_rd_init(&r, N, &p16, 1, &o, &err) == 0);
            mint_rd_row_cfg(&r, MINT_RD_KERNEL_REF, w, p16, &s1, a);
            for (int kk = MINT_RD_KERNEL_SCALAR; kk <= MINT_RD_KERNEL_AVX2; kk++) {
                if (kk == MINT_RD_KERNEL_AVX2 && !have_avx2())
                    continue;
                memset(&s2, 0, sizeof s2);
                mint_rd_row_cfg(&r, kk, w, p16, &s2, b);
                ok &= memcmp(a, b, sizeof a) == 0 && same_double(s1.se, s2.se);
            }
            mint_rd_release(&r);
        }
    }
    CHECK_MSG(ok, "16-bit rounding differs between kernels");
    /* vector F16 scale rounding: every F16 scale/bias of a wide sweep through the MLX path is
     * covered by fast_vs_ref; spot-check the converter itself here */
    CHECK(mint_f32_to_f16(65519.996f) == 0x7bff && mint_f32_to_f16(65520.0f) == 0x7c00);
    CHECK(mint_f32_to_f16(2.9802322e-8f) == 0 && mint_f32_to_f16(2.9802326e-8f) == 1);
}

/* ---- 5. tensor driver ---- */

struct dump_buf {
    float *p;
    size_t n, cap;
};

static int dump_cb(void *ctx, const float *buf, size_t n, struct mint_err *err)
{
    struct dump_buf *d = ctx;
    if (d->n + n > d->cap)
        return mint_err_set(err, "dump overflow");
    memcpy(d->p + d->n, buf, n * sizeof *buf);
    d->n += n;
    return 0;
}

static void tensor_driver(void)
{
    enum { E = 3, R = 16, C = 128 };
    static uint16_t data[E * R * C];
    static float wf[E * R * C], dq[E * R * C], ref[C];
    struct rng g = {4242};
    struct mint_qcfg cfg[16];
    size_t n = mint_qcfg_default(cfg, 16);
    struct mint_rd_opts o = {MINT_RD_MLX, MINT_DT_BF16, MINT_DT_BF16, NULL, MINT_RD_KERNEL_AUTO};
    struct mint_rd_result res;
    struct mint_err err = {0};

    /* expert e has scale 10^-e: distinct errors, worst = max */
    for (int e = 0; e < E; e++)
        for (int i = 0; i < R * C; i++) {
            float f = bf16r(pow(10.0, -e) * (e == 1 ? rng_student3(&g) : rng_normal(&g)));
            data[e * R * C + i] = mint_f32_to_bf16(f);
            wf[e * R * C + i] = f;
        }
    int64_t shape3[3] = {E, R, C};
    struct dump_buf db = {dq, 0, E * R * C};
    struct mint_rd_dump dump = {{4, 64}, dump_cb, &db};
    CHECK(mint_rd_measure(data, MINT_DT_BF16, 3, shape3, cfg, n, &o, &dump, NULL, &res, &err) ==
          0);
    CHECK(res.experts == E && res.rows == R && res.cols == C && res.params == E * R * C);
    CHECK(db.n == (size_t)E * R * C);
    for (size_t i = 0; i < n; i++) {
        const struct mint_rd_cfg_result *c = &res.cfg[i];
        struct mint_rd_metrics pe[E];
        double mean = 0, worst = 0, worst_db = 100, se = 0;
        CHECK(c->available && c->expert_nrmse);
        for (int e = 0; e < E; e++) {
            measure(wf + e * R * C, R, C, &cfg[i], 1, MINT_RD_MLX, MINT_DT_BF16, MINT_DT_BF16,
                    NULL, MINT_RD_KERNEL_REF, &pe[e], NULL);
            CHECK(c->expert_nrmse[e] == pe[e].nrmse);
            mean += pe[e].nrmse / E;
            worst = pe[e].nrmse > worst ? pe[e].nrmse : worst;
            worst_db = pe[e].sqnr_db < worst_db ? pe[e].sqnr_db : worst_db;
            se += pe[e].mse * R * C;
        }
        CHECK_NEAR(c->m.nrmse, mean, 1e-15);
        CHECK(c->nrmse_worst == worst && c->sqnr_db_worst == worst_db);
        CHECK_NEAR(c->m.sqnr_db, mint_rd_sqnr_of_nrmse(c->m.nrmse), 1e-12);
        CHECK_NEAR(c->m.mse, se / (E * R * C), 1e-18);
        CHECK(c->bytes == mint_quant_bytes(E * R * C, cfg[i]));
    }
    /* the dump equals the reference quantizer, bit for bit */
    {
        struct mint_qcfg c = {4, 64};
        uint32_t packed[C * 4 / 32];
        uint16_t sc[C / 32], bi[C / 32];
        int ok = 1;
        for (int r = 0; r < E * R; r++) {
            mint_quant_row_mlx(wf + r * C, C, c, MINT_DT_BF16, packed, sc, bi);
            mint_dequant_row(packed, sc, bi, C, c, MINT_DT_BF16, ref);
            ok &= memcmp(ref, dq + r * C, sizeof ref) == 0;
        }
        CHECK(ok);
    }
    json_t *doc = mint_rd_json(&res, "x.experts", "00", NULL);
    json_t *c0 = json_array_get(json_object_get(doc, "configs"), 0);
    CHECK(json_integer_value(json_object_get(doc, "experts")) == E);
    CHECK(json_array_size(json_object_get(c0, "expert_nrmse")) == E);
    CHECK(json_is_real(json_object_get(c0, "sqnr_db_worst")));
    CHECK(!json_object_get(c0, "nrmse_w") && !json_object_get(c0, "reason"));
    CHECK(json_array_size(json_object_get(doc, "configs")) == n);
    json_decref(doc);
    mint_rd_result_release(&res);

    /* a dump configuration outside the list is measured but not reported; 2-D view of the
     * same bytes gives the same dump */
    {
        static float first[E * R * C];
        struct mint_qcfg two[] = {{2, 64}, {16, 0}};
        int64_t shape2[2] = {E * R, C};
        memcpy(first, dq, sizeof first);
        db.n = 0;
        CHECK(mint_rd_measure(data, MINT_DT_BF16, 2, shape2, two, 2, &o, &dump, NULL, &res,
                              &err) == 0);
        CHECK(res.ncfg == 2 && res.experts == 0 && res.cfg[2].c.bits == 0);
        CHECK(db.n == (size_t)E * R * C && memcmp(first, dq, sizeof first) == 0);
        mint_rd_result_release(&res);
    }
    /* 1-D: 16-bit only; with γ: nrmse_w present */
    {
        int64_t shape1[1] = {C};
        float gam[C];
        for (int k = 0; k < C; k++)
            gam[k] = 1.0f;
        struct mint_rd_opts og = o;
        og.gamma = gam;
        CHECK(mint_rd_measure(data, MINT_DT_BF16, 1, shape1, cfg, n, &og, NULL, NULL, &res,
                              &err) == 0);
        for (size_t i = 0; i + 1 < n; i++)
            CHECK(!res.cfg[i].available && !strcmp(res.cfg[i].reason, "1-D tensor"));
        CHECK(res.cfg[n - 1].available && res.cfg[n - 1].bytes == 2 * C);
        doc = mint_rd_json(&res, "n.weight", "00", "g");
        c0 = json_array_get(json_object_get(doc, "configs"), 0);
        CHECK(json_is_null(json_object_get(c0, "nrmse")) &&
              json_is_null(json_object_get(c0, "bytes")) &&
              json_is_null(json_object_get(c0, "nrmse_w")));
        CHECK(json_is_null(json_object_get(doc, "experts")));
        json_decref(doc);
        mint_rd_result_release(&res);
    }
    /* 172 columns: only 16-bit; > 3-D viewed as (d0, -1) */
    {
        int64_t s172[2] = {2, 172}, s4[4] = {2, 2, 2, 32};
        CHECK(mint_rd_measure(data, MINT_DT_BF16, 2, s172, cfg, n, &o, NULL, NULL, &res, &err) ==
              0);
        for (size_t i = 0; i + 1 < n; i++)
            CHECK(!res.cfg[i].available && strstr(res.cfg[i].reason, "172 columns"));
        CHECK(res.cfg[n - 1].available);
        mint_rd_result_release(&res);
        CHECK(mint_rd_measure(data, MINT_DT_BF16, 4, s4, cfg, n, &o, NULL, NULL, &res, &err) ==
              0);
        CHECK(res.rows == 2 && res.cols == 128 && res.cfg[4].available); /* 4:128 */
        mint_rd_result_release(&res);
    }
    /* F16 output of large BF16 weights: passthrough unavailable, scales overflow */
    {
        int64_t s2[2] = {1, 64};
        uint16_t big[64];
        for (int k = 0; k < 64; k++)
            big[k] = mint_f32_to_bf16(k % 2 ? 70000.0f : -1.0f);
        struct mint_rd_opts of = o;
        of.out_dtype = MINT_DT_F16;
        CHECK(mint_rd_measure(big, MINT_DT_BF16, 2, s2, cfg, n, &of, NULL, NULL, &res, &err) ==
              0);
        CHECK(!res.cfg[n - 1].available && strstr(res.cfg[n - 1].reason, "65504"));
        CHECK(!res.cfg[0].available && strstr(res.cfg[0].reason, "not finite"));
        mint_rd_result_release(&res);
    }
    /* non-finite weight: error with its position; unavailable dump configuration */
    {
        int64_t s3[3] = {2, 2, 64};
        uint16_t nanrow[256];
        for (int k = 0; k < 256; k++)
            nanrow[k] = mint_f32_to_bf16(1.0f);
        nanrow[64 * 3 + 5] = 0x7fc0;
        CHECK(mint_rd_measure(nanrow, MINT_DT_BF16, 3, s3, cfg, n, &o, NULL, NULL, &res, &err) <
              0);
        CHECK_MSG(strstr(err.msg, "non-finite weight at [1, 1, 5]"), "%s", err.msg);
        mint_rd_result_release(&res);
        int64_t s172[2] = {1, 96};
        struct mint_rd_dump d128 = {{4, 128}, dump_cb, &db};
        CHECK(mint_rd_measure(data, MINT_DT_BF16, 2, s172, cfg, n, &o, &d128, NULL, &res, &err) <
              0);
        CHECK_MSG(strstr(err.msg, "--dump 4:128: configuration unavailable"), "%s", err.msg);
        mint_rd_result_release(&res);
        CHECK(mint_rd_measure(data, MINT_DT_F64, 2, s172, cfg, n, &o, NULL, NULL, &res, &err) <
              0);
        CHECK(strstr(err.msg, "unsupported dtype F64"));
        mint_rd_result_release(&res);
    }
    /* best: cheapest >= 9 dB */
    {
        int64_t s2[2] = {R, C};
        CHECK(mint_rd_measure(data, MINT_DT_BF16, 2, s2, cfg, n, &o, NULL, NULL, &res, &err) ==
              0);
        int b = mint_rd_best(&res, 9.0);
        CHECK(b >= 0 && res.cfg[b].m.sqnr_db >= 9.0);
        for (int i = 0; i < b; i++)
            CHECK(res.cfg[i].m.sqnr_db < 9.0);
        CHECK(mint_rd_best(&res, 1000) == -1);
        mint_rd_result_release(&res);
    }
}

/* ---- 6. norm table ---- */

static void norm_names(void)
{
    static const struct {
        const char *t;
        int tied;
        const char *prefix, *want; /* NULL: none */
    } tv[] = {
        {"model.layers.3.self_attn.q_proj.weight", 0, "model.",
         "model.layers.3.input_layernorm.weight"},
        {"model.layers.3.self_attn.k_proj.weight", 0, "model.",
         "model.layers.3.input_layernorm.weight"},
        {"model.layers.12.self_attn.v_proj.weight", 0, "model.",
         "model.layers.12.input_layernorm.weight"},
        {"model.layers.3.self_attn.o_proj.weight", 0, "model.", NULL},
        {"model.layers.0.mlp.gate_proj.weight", 0, "model.",
         "model.layers.0.post_attention_layernorm.weight"},
        {"model.layers.0.mlp.up_proj.weight", 0, "model.",
         "model.layers.0.post_attention_layernorm.weight"},
        {"model.layers.0.mlp.down_proj.weight", 0, "model.", NULL},
        {"model.layers.2.mlp.experts.5.gate_proj.weight", 0, "model.",
         "model.layers.2.post_attention_layernorm.weight"},
        {"model.layers.2.mlp.experts.5.up_proj.weight", 0, "model.",
         "model.layers.2.post_attention_layernorm.weight"},
        {"model.layers.2.mlp.experts.5.down_proj.weight", 0, "model.", NULL},
        {"model.layers.1.block_sparse_moe.experts.0.w1.weight", 0, "model.",
         "model.layers.1.post_attention_layernorm.weight"},
        {"model.layers.1.block_sparse_moe.experts.0.w3.weight", 0, "model.",
         "model.layers.1.post_attention_layernorm.weight"},
        {"model.layers.1.block_sparse_moe.experts.0.w2.weight", 0, "model.", NULL},
        {"model.layers.1.block_sparse_moe.gate.weight", 0, "model.",
         "model.layers.1.post_attention_layernorm.weight"},
        {"model.layers.4.mlp.gate.weight", 0, "model.",
         "model.layers.4.post_attention_layernorm.weight"},
        {"model.layers.4.mlp.shared_expert.gate_proj.weight", 0, "model.",
         "model.layers.4.post_attention_layernorm.weight"},
        {"model.layers.4.mlp.shared_expert.up_proj.weight", 0, "model.",
         "model.layers.4.post_attention_layernorm.weight"},
        {"model.layers.4.mlp.shared_expert.down_proj.weight", 0, "model.", NULL},
        {"model.layers.4.mlp.shared_expert_gate.weight", 0, "model.",
         "model.layers.4.post_attention_layernorm.weight"},
        {"model.layers.4.mlp.switch_mlp.gate_proj.weight", 0, "model.",
         "model.layers.4.post_attention_layernorm.weight"},
        {"lm_head.weight", 0, "model.", "model.norm.weight"},
        {"model.embed_tokens.weight", 1, "model.", "model.norm.weight"},
        {"model.embed_tokens.weight", 0, "model.", NULL},
        {"model.language_model.layers.4.self_attn.q_proj.weight", 0, "model.language_model.",
         "model.language_model.layers.4.input_layernorm.weight"},
        {"lm_head.weight", 0, "model.language_model.", "model.language_model.norm.weight"},
        {"language_model.lm_head.weight", 0, "language_model.model.",
         "language_model.model.norm.weight"},
        {"model.vision_tower.layers.0.self_attn.q_proj.weight", 0, "model.", NULL},
        {"model.norm.weight", 0, "model.", NULL},
        {"model.layers.0.input_layernorm.weight", 0, "model.", NULL},
    };
    char out[256];
    for (size_t i = 0; i < sizeof tv / sizeof *tv; i++) {
        int r = mint_rd_norm_name(tv[i].t, tv[i].tied, tv[i].prefix, out, sizeof out);
        if (tv[i].want)
            CHECK_MSG(r == 1 && !strcmp(out, tv[i].want), "%s -> %s", tv[i].t, r ? out : "-");
        else
            CHECK_MSG(r == 0, "%s -> %s (want none)", tv[i].t, out);
    }
    CHECK(mint_rd_layers_prefix("language_model.model.layers.0.mlp.up_proj.weight", out,
                                sizeof out) &&
          !strcmp(out, "language_model.model."));
    CHECK(!mint_rd_layers_prefix("lm_head.weight", out, sizeof out));
    CHECK(!mint_rd_layers_prefix("model.mylayers.3.x", out, sizeof out));
}

int main(void)
{
    known();
    properties();
    gaussian_table();
    fast_vs_ref();
    passthrough_sweep();
    tensor_driver();
    norm_names();
    return CHECK_DONE();
}
