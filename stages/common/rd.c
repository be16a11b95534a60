/* rd.c - rate-distortion measurement kernels (see rd.h).
 *
 * Per row: one preparation pass (ΣW², ΣW²γ², max |w|, min/max of every 32-element chunk, from
 * which the 64- and 128-element group extremes follow), then per configuration the per-group
 * parameters (MLX: mint_quant_params_mlx, then the stored BF16/F16 scale and bias; minmax: s,
 * lo) and one element pass: q = clamp(rint((w - z) / s), 0, L), ŵ = sf·q + zf, e = ŵ - w.
 *
 * Why this equals the reference bit for bit: every operation is the same IEEE float32
 * operation in the same order (real division, round-half-even, no FMA: the build uses
 * -ffp-contract=off and the intrinsics below never fuse).  Two details differ in form only:
 *  - the clamp keeps -0 where rint gives it; the reference decodes (float)(uint32)q = +0.  Then
 *    sf·(±0) + zf is zf for zf ≠ 0, and +0 for zf = +0 (zf is never -0: a non-zero bias has
 *    |z| ≥ 5e-8, which rounds to a non-zero BF16/F16), so ŵ is the same;
 *  - vector min/max may pick a different zero sign for lo/hi than the scalar running min/max.
 *    For MLX this changes nothing (hi - lo, |lo| > |hi| and the chosen edge are unaffected, and
 *    an edge of ±0 gives z = +0).  For minmax, z = lo, so a zero ŵ may differ in sign: the
 *    metrics are equal, a minmax dump may differ from mint_quant_row_minmax in zero signs only.
 */
#include "mint/rd.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/err.h"
#include "mint/io.h"
#include "mint/role.h"

#if defined(__x86_64__) || defined(__i386__)
#define RD_HAVE_AVX2 1
#include <cpuid.h>
#include <immintrin.h>
#define AVX2_FN __attribute__((target("avx2,f16c")))
#else
#define RD_HAVE_AVX2 0
#endif

#define CHUNK 32 /* smallest group: lo/hi are kept per 32 elements */

static int gidx(int g)
{
    return g == 32 ? 0 : g == 64 ? 1 : 2;
}

/* ---- lanes ---- */

static double lanes_sum(const double a[8])
{
    double t0 = a[0] + a[4], t1 = a[1] + a[5], t2 = a[2] + a[6], t3 = a[3] + a[7];
    return (t0 + t2) + (t1 + t3);
}

static inline float store_round(enum mint_dtype dt, float f)
{
    return dt == MINT_DT_F16 ? mint_f16_to_f32(mint_f32_to_f16(f))
                             : mint_bf16_to_f32(mint_f32_to_bf16(f));
}

/* Scalar accumulation of e = fl32(d - w) for k in [k0, k1), lanes by k mod 8. */
static void acc_err(const float *w, const float *d, int64_t k0, int64_t k1, const double *g2,
                    double se[8], double sew[8])
{
    for (int64_t k = k0; k < k1; k++) {
        float e = d[k] - w[k];
        double e2 = (double)e * (double)e;
        se[k & 7] += e2;
        if (g2)
            sew[k & 7] += e2 * g2[k];
    }
}

/* ---- preparation pass ---- */

struct prep {
    double sw[8], sww[8];
};

static void prep_scalar(struct mint_rd *r, const float *w, int want_lohi, struct prep *p)
{
    const int64_t n = r->cols;
    const double *g2 = r->g2;
    float amax = r->absmax;
    for (int64_t k = 0; k < n; k++) {
        double w2 = (double)w[k] * (double)w[k];
        p->sw[k & 7] += w2;
        if (g2)
            p->sww[k & 7] += w2 * g2[k];
        float a = fabsf(w[k]);
        amax = a > amax ? a : amax;
    }
    r->absmax = amax;
    if (!want_lohi)
        return;
    for (int64_t c = 0; c < n / CHUNK; c++) {
        const float *G = w + c * CHUNK;
        float lo = G[0], hi = G[0];
        for (int k = 1; k < CHUNK; k++) {
            lo = G[k] < lo ? G[k] : lo;
            hi = G[k] > hi ? G[k] : hi;
        }
        r->lo[c] = lo;
        r->hi[c] = hi;
    }
}

/* lo/hi of 64- and 128-groups from the 32-chunks (exact: min/max are order-free up to the
 * sign of zero, which does not matter, see the file comment). */
static void derive_lohi(struct mint_rd *r, int need64, int need128)
{
    const int64_t n32 = r->cols / CHUNK;
    float *lo64 = r->lo + (n32 + 8), *hi64 = r->hi + (n32 + 8);
    float *lo128 = lo64 + (n32 / 2 + 8), *hi128 = hi64 + (n32 / 2 + 8);
    if (need64 || need128)
        for (int64_t i = 0; i < n32 / 2; i++) {
            float a = r->lo[2 * i], b = r->lo[2 * i + 1];
            float c = r->hi[2 * i], d = r->hi[2 * i + 1];
            lo64[i] = b < a ? b : a;
            hi64[i] = d > c ? d : c;
        }
    if (need128)
        for (int64_t i = 0; i < n32 / 4; i++) {
            float a = lo64[2 * i], b = lo64[2 * i + 1];
            float c = hi64[2 * i], d = hi64[2 * i + 1];
            lo128[i] = b < a ? b : a;
            hi128[i] = d > c ? d : c;
        }
}

static void get_lohi(const struct mint_rd *r, int g, const float **lo, const float **hi)
{
    const int64_t n32 = r->cols / CHUNK;
    int gi = gidx(g);
    const float *l = r->lo, *h = r->hi;
    if (gi >= 1) {
        l += n32 + 8;
        h += n32 + 8;
    }
    if (gi >= 2) {
        l += n32 / 2 + 8;
        h += n32 / 2 + 8;
    }
    *lo = l;
    *hi = h;
}

/* ---- per-group parameters ---- */

static void params_scalar(struct mint_rd *r, struct mint_qcfg c, const float *lo, const float *hi,
                          int64_t ng)
{
    const enum mint_dtype sdt = r->opt.out_dtype;
    if (r->opt.quantizer == MINT_RD_MINMAX) {
        const float L = (float)((1 << c.bits) - 1);
        for (int64_t i = 0; i < ng; i++) {
            float s = (hi[i] - lo[i]) / L;
            if (!(s > 1e-12f))
                s = 1e-12f;
            r->s[i] = r->sf[i] = s;
            r->z[i] = r->zf[i] = lo[i];
        }
        return;
    }
    for (int64_t i = 0; i < ng; i++) {
        mint_quant_params_mlx(lo[i], hi[i], c.bits, &r->s[i], &r->z[i]);
        r->sf[i] = store_round(sdt, r->s[i]);
        r->zf[i] = store_round(sdt, r->z[i]);
    }
}

/* ---- element kernels, scalar ---- */

/* no-trapping-math only lets GCC if-convert the compares and vectorize the loop (we never read
 * FP exception flags): every value stays the same IEEE result.  fp-contract=off is repeated in
 * case the attribute resets it: a fused multiply-add would change sf·q + zf. */
#if defined(__GNUC__) && !defined(__clang__)
#define SCALAR_FN __attribute__((optimize("no-trapping-math", "fp-contract=off")))
#else
#define SCALAR_FN
#endif

/* rintf (round half to even, sign kept) without a libm call where float arithmetic is plain
 * IEEE single precision: for |x| < 2^22, (x + 1.5·2^23) - 1.5·2^23 rounds x to an integer in
 * the default mode, and copysignf restores rintf's -0; larger |x| are already integers.  NaN
 * passes through.  Lets the compiler keep (or vectorize) the loop where rintf is a call. */
SCALAR_FN static inline float rint_exact(float x)
{
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    const float magic = 12582912.0f;
    float r = copysignf((x + magic) - magic, x);
    return fabsf(x) < 4194304.0f ? r : x;
#else
    return rintf(x);
#endif
}

SCALAR_FN static inline __attribute__((always_inline)) void
cfg_scalar_body(const struct mint_rd *r, const float *w, struct mint_qcfg c, float *out,
                double se[8], double sew[8], const int with_g2, const int with_out)
{
    const int g = c.group;
    const int64_t ng = r->cols / g;
    const float L = (float)((1 << c.bits) - 1);
    const double *g2 = r->g2;
    double a[8], b[8];
    memcpy(a, se, sizeof a);
    memcpy(b, sew, sizeof b);
    for (int64_t gi = 0; gi < ng; gi++) {
        const float s = r->s[gi], z = r->z[gi], sf = r->sf[gi], zf = r->zf[gi];
        const int64_t base = gi * g;
        for (int k0 = 0; k0 < g; k0 += 8) {
            const float *W = w + base + k0;
            float d[8], e[8];
            for (int l = 0; l < 8; l++) {
                float q = rint_exact((W[l] - z) / s);
                q = q < 0.0f ? 0.0f : q;
                q = q > L ? L : q;
                d[l] = sf * q + zf;
                e[l] = d[l] - W[l];
            }
            for (int l = 0; l < 8; l++) {
                double e2 = (double)e[l] * (double)e[l];
                a[l] += e2;
                if (with_g2)
                    b[l] += e2 * g2[base + k0 + l];
            }
            if (with_out)
                for (int l = 0; l < 8; l++)
                    out[base + k0 + l] = d[l];
        }
    }
    memcpy(se, a, sizeof a);
    memcpy(sew, b, sizeof b);
}

SCALAR_FN static void cfg_scalar(const struct mint_rd *r, const float *w, struct mint_qcfg c, float *out,
                       double se[8], double sew[8])
{
    if (r->g2) {
        if (out)
            cfg_scalar_body(r, w, c, out, se, sew, 1, 1);
        else
            cfg_scalar_body(r, w, c, out, se, sew, 1, 0);
    } else {
        if (out)
            cfg_scalar_body(r, w, c, out, se, sew, 0, 1);
        else
            cfg_scalar_body(r, w, c, out, se, sew, 0, 0);
    }
}

static void pass_scalar(const struct mint_rd *r, const float *w, float *out, double se[8],
                        double sew[8])
{
    const enum mint_dtype dt = r->opt.out_dtype;
    const double *g2 = r->g2;
    for (int64_t k = 0; k < r->cols; k++) {
        float d = store_round(dt, w[k]);
        float e = d - w[k];
        double e2 = (double)e * (double)e;
        se[k & 7] += e2;
        if (g2)
            sew[k & 7] += e2 * g2[k];
        if (out)
            out[k] = d;
    }
}

/* ---- AVX2 ---- */
#if RD_HAVE_AVX2

AVX2_FN static inline __m256 avx_store_round(enum mint_dtype dt, __m256 x)
{
    if (dt == MINT_DT_F16)
        return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
    __m256i u = _mm256_castps_si256(x);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    u = _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb));
    u = _mm256_and_si256(u, _mm256_set1_epi32((int)0xffff0000u));
    return _mm256_castsi256_ps(u);
}

AVX2_FN static inline float hmin8(__m256 v)
{
    __m256 m = _mm256_min_ps(v, _mm256_permute2f128_ps(v, v, 1));
    m = _mm256_min_ps(m, _mm256_shuffle_ps(m, m, 0x4e));
    m = _mm256_min_ps(m, _mm256_shuffle_ps(m, m, 0xb1));
    return _mm256_cvtss_f32(m);
}

AVX2_FN static inline float hmax8(__m256 v)
{
    __m256 m = _mm256_max_ps(v, _mm256_permute2f128_ps(v, v, 1));
    m = _mm256_max_ps(m, _mm256_shuffle_ps(m, m, 0x4e));
    m = _mm256_max_ps(m, _mm256_shuffle_ps(m, m, 0xb1));
    return _mm256_cvtss_f32(m);
}

AVX2_FN static void prep_avx2(struct mint_rd *r, const float *w, int want_lohi, struct prep *p)
{
    const int64_t n = r->cols, n8 = n & ~(int64_t)7;
    const double *g2 = r->g2;
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, b0 = a0, b1 = a0;
    __m256 amax = _mm256_setzero_ps();
    for (int64_t k = 0; k < n8; k += 8) {
        __m256 v = _mm256_loadu_ps(w + k);
        __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
        __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
        lo = _mm256_mul_pd(lo, lo);
        hi = _mm256_mul_pd(hi, hi);
        a0 = _mm256_add_pd(a0, lo);
        a1 = _mm256_add_pd(a1, hi);
        if (g2) {
            b0 = _mm256_add_pd(b0, _mm256_mul_pd(lo, _mm256_loadu_pd(g2 + k)));
            b1 = _mm256_add_pd(b1, _mm256_mul_pd(hi, _mm256_loadu_pd(g2 + k + 4)));
        }
        amax = _mm256_max_ps(amax, _mm256_and_ps(v, absm));
    }
    _mm256_storeu_pd(p->sw, a0);
    _mm256_storeu_pd(p->sw + 4, a1);
    _mm256_storeu_pd(p->sww, b0);
    _mm256_storeu_pd(p->sww + 4, b1);
    float am = hmax8(amax);
    for (int64_t k = n8; k < n; k++) {
        double w2 = (double)w[k] * (double)w[k];
        p->sw[k & 7] += w2;
        if (g2)
            p->sww[k & 7] += w2 * g2[k];
        float a = fabsf(w[k]);
        am = a > am ? a : am;
    }
    r->absmax = am > r->absmax ? am : r->absmax;
    if (!want_lohi)
        return;
    for (int64_t c = 0; c < n / CHUNK; c++) {
        const float *G = w + c * CHUNK;
        __m256 v0 = _mm256_loadu_ps(G), v1 = _mm256_loadu_ps(G + 8);
        __m256 v2 = _mm256_loadu_ps(G + 16), v3 = _mm256_loadu_ps(G + 24);
        __m256 mn = _mm256_min_ps(_mm256_min_ps(v0, v1), _mm256_min_ps(v2, v3));
        __m256 mx = _mm256_max_ps(_mm256_max_ps(v0, v1), _mm256_max_ps(v2, v3));
        r->lo[c] = hmin8(mn);
        r->hi[c] = hmax8(mx);
    }
}

/* Groups are processed 8 at a time; the lo/hi arrays are padded with 8 finite slots. */
AVX2_FN static void params_avx2(struct mint_rd *r, struct mint_qcfg c, const float *lo,
                                const float *hi, int64_t ng)
{
    const enum mint_dtype sdt = r->opt.out_dtype;
    const __m256 L = _mm256_set1_ps((float)((1 << c.bits) - 1));
    const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
    const __m256 zero = _mm256_setzero_ps();
    if (r->opt.quantizer == MINT_RD_MINMAX) {
        const __m256 eps = _mm256_set1_ps(1e-12f);
        for (int64_t i = 0; i < ng; i += 8) {
            __m256 l = _mm256_loadu_ps(lo + i), h = _mm256_loadu_ps(hi + i);
            __m256 s = _mm256_div_ps(_mm256_sub_ps(h, l), L);
            s = _mm256_blendv_ps(eps, s, _mm256_cmp_ps(s, eps, _CMP_GT_OQ));
            _mm256_storeu_ps(r->s + i, s);
            _mm256_storeu_ps(r->sf + i, s);
            _mm256_storeu_ps(r->z + i, l);
            _mm256_storeu_ps(r->zf + i, l);
        }
        return;
    }
    const __m256 eps = _mm256_set1_ps(1e-7f);
    for (int64_t i = 0; i < ng; i += 8) {
        __m256 l = _mm256_loadu_ps(lo + i), h = _mm256_loadu_ps(hi + i);
        __m256 s0 = _mm256_div_ps(_mm256_sub_ps(h, l), L);
        s0 = _mm256_blendv_ps(eps, s0, _mm256_cmp_ps(s0, eps, _CMP_GT_OQ));
        __m256 uselo = _mm256_cmp_ps(_mm256_andnot_ps(sign, l), _mm256_andnot_ps(sign, h),
                                     _CMP_GT_OQ);
        __m256 edge = _mm256_blendv_ps(h, l, uselo);
        __m256 s = _mm256_blendv_ps(_mm256_xor_ps(s0, sign), s0, uselo);
        __m256 q0 = _mm256_round_ps(_mm256_div_ps(edge, s),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m256 nz = _mm256_cmp_ps(q0, zero, _CMP_NEQ_UQ);
        s = _mm256_blendv_ps(s, _mm256_div_ps(edge, q0), nz);
        __m256 z = _mm256_and_ps(edge, nz);
        _mm256_storeu_ps(r->s + i, s);
        _mm256_storeu_ps(r->z + i, z);
        _mm256_storeu_ps(r->sf + i, avx_store_round(sdt, s));
        _mm256_storeu_ps(r->zf + i, avx_store_round(sdt, z));
    }
}

/* Add e² (8 floats, widened to double) into a0:a1, and e²γ² into b0:b1 when g2 is given;
 * the fixed lane order keeps every kernel's sums identical. */
AVX2_FN static inline __attribute__((always_inline)) void
acc_err_avx2(__m256 e, const double *g2, __m256d *a0, __m256d *a1, __m256d *b0, __m256d *b1)
{
    __m256d elo = _mm256_cvtps_pd(_mm256_castps256_ps128(e));
    __m256d ehi = _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1));
    elo = _mm256_mul_pd(elo, elo);
    ehi = _mm256_mul_pd(ehi, ehi);
    *a0 = _mm256_add_pd(*a0, elo);
    *a1 = _mm256_add_pd(*a1, ehi);
    if (g2) {
        *b0 = _mm256_add_pd(*b0, _mm256_mul_pd(elo, _mm256_loadu_pd(g2)));
        *b1 = _mm256_add_pd(*b1, _mm256_mul_pd(ehi, _mm256_loadu_pd(g2 + 4)));
    }
}

AVX2_FN static inline __attribute__((always_inline)) void
cfg_avx2_body(const struct mint_rd *r, const float *w, struct mint_qcfg c, float *out,
              double se[8], double sew[8], const int with_g2, const int with_out)
{
    const int g = c.group;
    const int64_t ng = r->cols / g;
    const double *g2 = r->g2;
    const __m256 L = _mm256_set1_ps((float)((1 << c.bits) - 1));
    const __m256 zero = _mm256_setzero_ps();
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, b0 = a0, b1 = a0;
    for (int64_t gi = 0; gi < ng; gi++) {
        const __m256 s = _mm256_set1_ps(r->s[gi]), z = _mm256_set1_ps(r->z[gi]);
        const __m256 sf = _mm256_set1_ps(r->sf[gi]), zf = _mm256_set1_ps(r->zf[gi]);
        const int64_t end = (gi + 1) * g;
        for (int64_t k = gi * g; k < end; k += 8) {
            __m256 v = _mm256_loadu_ps(w + k);
            __m256 q = _mm256_round_ps(_mm256_div_ps(_mm256_sub_ps(v, z), s),
                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            /* max(a,b) = a > b ? a : b, min(a,b) = a < b ? a : b: this order keeps -0 and NaN
             * exactly like the C clamp q < 0 ? 0 : (q > L ? L : q) */
            q = _mm256_min_ps(L, _mm256_max_ps(zero, q));
            __m256 d = _mm256_add_ps(_mm256_mul_ps(sf, q), zf);
            acc_err_avx2(_mm256_sub_ps(d, v), with_g2 ? g2 + k : NULL, &a0, &a1, &b0, &b1);
            if (with_out)
                _mm256_storeu_ps(out + k, d);
        }
    }
    _mm256_storeu_pd(se, a0);
    _mm256_storeu_pd(se + 4, a1);
    _mm256_storeu_pd(sew, b0);
    _mm256_storeu_pd(sew + 4, b1);
}

AVX2_FN static void cfg_avx2(const struct mint_rd *r, const float *w, struct mint_qcfg c,
                             float *out, double se[8], double sew[8])
{
    if (r->g2) {
        if (out)
            cfg_avx2_body(r, w, c, out, se, sew, 1, 1);
        else
            cfg_avx2_body(r, w, c, out, se, sew, 1, 0);
    } else {
        if (out)
            cfg_avx2_body(r, w, c, out, se, sew, 0, 1);
        else
            cfg_avx2_body(r, w, c, out, se, sew, 0, 0);
    }
}

AVX2_FN static void pass_avx2(const struct mint_rd *r, const float *w, float *out, double se[8],
                              double sew[8])
{
    const int64_t n = r->cols, n8 = n & ~(int64_t)7;
    const enum mint_dtype dt = r->opt.out_dtype;
    const double *g2 = r->g2;
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, b0 = a0, b1 = a0;
    for (int64_t k = 0; k < n8; k += 8) {
        __m256 v = _mm256_loadu_ps(w + k);
        __m256 d = avx_store_round(dt, v);
        acc_err_avx2(_mm256_sub_ps(d, v), g2 ? g2 + k : NULL, &a0, &a1, &b0, &b1);
        if (out)
            _mm256_storeu_ps(out + k, d);
    }
    _mm256_storeu_pd(se, a0);
    _mm256_storeu_pd(se + 4, a1);
    _mm256_storeu_pd(sew, b0);
    _mm256_storeu_pd(sew + 4, b1);
    for (int64_t k = n8; k < n; k++) {
        float d = store_round(dt, w[k]);
        float e = d - w[k];
        double e2 = (double)e * (double)e;
        se[k & 7] += e2;
        if (g2)
            sew[k & 7] += e2 * g2[k];
        if (out)
            out[k] = d;
    }
}

static int cpu_has_avx2(void)
{
    unsigned a, b, c, d;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    return (c >> 29) & 1; /* F16C */
}
#else
static int cpu_has_avx2(void)
{
    return 0;
}
#endif

/* ---- reference path ---- */

static void cfg_ref(struct mint_rd *r, const float *w, struct mint_qcfg c, float *out,
                    double se[8], double sew[8])
{
    const int64_t n = r->cols;
    float *d = out ? out : r->deq;
    if (c.bits == MINT_BITS_PASSTHROUGH) {
        for (int64_t k = 0; k < n; k++)
            d[k] = mint_round_to(r->opt.out_dtype, w[k]);
    } else if (r->opt.quantizer == MINT_RD_MINMAX) {
        mint_quant_row_minmax(w, n, c, d);
    } else {
        mint_quant_row_mlx(w, n, c, r->opt.out_dtype, r->packed, r->qs, r->qb);
        mint_dequant_row(r->packed, r->qs, r->qb, n, c, r->opt.out_dtype, d);
    }
    acc_err(w, d, 0, n, r->g2, se, sew);
}

/* ---- public ---- */

int mint_rd_kernel_available(enum mint_rd_kernel k)
{
    return k != MINT_RD_KERNEL_AVX2 || cpu_has_avx2();
}

const char *mint_rd_kernel_name(enum mint_rd_kernel k)
{
    switch (k) {
    case MINT_RD_KERNEL_AVX2: return "avx2";
    case MINT_RD_KERNEL_SCALAR: return "scalar";
    case MINT_RD_KERNEL_REF: return "ref";
    default: return "auto";
    }
}

static void *aalloc(size_t n)
{
    void *p = NULL;
    n = (n + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, n ? n : 64))
        return NULL;
    memset(p, 0, n ? n : 64);
    return p;
}

void mint_rd_release(struct mint_rd *r)
{
    free(r->w);
    free(r->g2);
    free(r->lo);
    free(r->hi);
    free(r->s);
    free(r->z);
    free(r->sf);
    free(r->zf);
    free(r->deq);
    free(r->packed);
    free(r->qs);
    free(r->qb);
    memset(r, 0, sizeof *r);
}

int mint_rd_init(struct mint_rd *r, int64_t cols, const struct mint_qcfg *cfgs, size_t ncfg,
                 const struct mint_rd_opts *opt, struct mint_err *err)
{
    memset(r, 0, sizeof *r);
    if (cols < 0 || ncfg > MINT_RD_MAX_CFGS)
        return mint_err_set(err, "rd: bad arguments (cols %lld, %zu configurations)",
                            (long long)cols, ncfg);
    if (opt->out_dtype != MINT_DT_BF16 && opt->out_dtype != MINT_DT_F16)
        return mint_err_set(err, "rd: output dtype must be BF16 or F16, not %s",
                            mint_dtype_name(opt->out_dtype));
    if (opt->src_dtype != MINT_DT_F32 && opt->src_dtype != MINT_DT_BF16 &&
        opt->src_dtype != MINT_DT_F16)
        return mint_err_set(err, "unsupported dtype %s (F32, F16 or BF16 only)",
                            mint_dtype_name(opt->src_dtype));
    for (size_t i = 0; i < ncfg; i++)
        if (!mint_qcfg_valid(cfgs[i]))
            return mint_err_set(err, "rd: invalid configuration %d:%d", cfgs[i].bits,
                                cfgs[i].group);
    r->cols = cols;
    r->ncfg = ncfg;
    memcpy(r->cfg, cfgs, ncfg * sizeof *cfgs);
    for (size_t i = 0; i < ncfg; i++)
        r->avail[i] = mint_qcfg_available(cfgs[i], cols);
    r->opt = *opt;
    r->opt.gamma = NULL;
    switch (opt->kernel) {
    case MINT_RD_KERNEL_AUTO:
        r->kernel = cpu_has_avx2() ? MINT_RD_KERNEL_AVX2 : MINT_RD_KERNEL_SCALAR;
        break;
    case MINT_RD_KERNEL_AVX2:
        if (!cpu_has_avx2())
            return mint_err_set(err, "rd: this CPU has no AVX2/F16C");
        r->kernel = opt->kernel;
        break;
    default:
        r->kernel = opt->kernel;
    }
    size_t n = (size_t)cols, ng = (size_t)cols / CHUNK + 8;
    r->w = aalloc(n * sizeof *r->w);
    r->lo = aalloc(2 * ng * sizeof *r->lo + 64);
    r->hi = aalloc(2 * ng * sizeof *r->hi + 64);
    r->s = aalloc(ng * sizeof *r->s);
    r->z = aalloc(ng * sizeof *r->z);
    r->sf = aalloc(ng * sizeof *r->sf);
    r->zf = aalloc(ng * sizeof *r->zf);
    r->deq = aalloc(n * sizeof *r->deq);
    r->packed = aalloc(n / 4 * sizeof *r->packed + 8);
    r->qs = aalloc(ng * sizeof *r->qs);
    r->qb = aalloc(ng * sizeof *r->qb);
    if (opt->gamma) {
        r->g2 = aalloc(n * sizeof *r->g2);
        if (r->g2)
            for (size_t k = 0; k < n; k++)
                r->g2[k] = (double)opt->gamma[k] * (double)opt->gamma[k];
    }
    if (!r->w || !r->lo || !r->hi || !r->s || !r->z || !r->sf || !r->zf || !r->deq ||
        !r->packed || !r->qs || !r->qb || (opt->gamma && !r->g2)) {
        mint_rd_release(r);
        return mint_err_setc(err, MINT_EXIT_IO, "rd: out of memory (row of %lld)",
                             (long long)cols);
    }
    return 0;
}

static void run_cfg(struct mint_rd *r, enum mint_rd_kernel k, const float *w, struct mint_qcfg c,
                    float *out, double se[8], double sew[8])
{
    memset(se, 0, 8 * sizeof *se);
    memset(sew, 0, 8 * sizeof *sew);
    if (k == MINT_RD_KERNEL_REF) {
        cfg_ref(r, w, c, out, se, sew);
        return;
    }
    if (c.bits == MINT_BITS_PASSTHROUGH) {
        if (r->opt.src_dtype == r->opt.out_dtype) { /* exact: every e is 0 */
            if (out)
                memcpy(out, w, (size_t)r->cols * sizeof *out);
            return;
        }
#if RD_HAVE_AVX2
        if (k == MINT_RD_KERNEL_AVX2) {
            pass_avx2(r, w, out, se, sew);
            return;
        }
#endif
        pass_scalar(r, w, out, se, sew);
        return;
    }
    const float *lo, *hi;
    const int64_t ng = r->cols / c.group;
    get_lohi(r, c.group, &lo, &hi);
#if RD_HAVE_AVX2
    if (k == MINT_RD_KERNEL_AVX2) {
        params_avx2(r, c, lo, hi, ng);
        cfg_avx2(r, w, c, out, se, sew);
        return;
    }
#endif
    params_scalar(r, c, lo, hi, ng);
    cfg_scalar(r, w, c, out, se, sew);
}

static void prep_row(struct mint_rd *r, enum mint_rd_kernel k, const float *w, int quant,
                     int need64, int need128, struct prep *p)
{
    memset(p, 0, sizeof *p);
#if RD_HAVE_AVX2
    if (k == MINT_RD_KERNEL_AVX2)
        prep_avx2(r, w, quant, p);
    else
#endif
        prep_scalar(r, w, quant, p);
    (void)k;
    if (quant)
        derive_lohi(r, need64, need128);
}

void mint_rd_row_cfg(struct mint_rd *r, enum mint_rd_kernel k, const float *w,
                     struct mint_qcfg c, struct mint_rd_sums *sums, float *out)
{
    struct prep p;
    double se[8], sew[8];
    int quant = c.bits != MINT_BITS_PASSTHROUGH;
    if (k == MINT_RD_KERNEL_AUTO)
        k = r->kernel;
    prep_row(r, k, w, quant, c.group == 64 || c.group == 128, c.group == 128, &p);
    run_cfg(r, k, w, c, out, se, sew);
    sums->se += lanes_sum(se);
    sums->sew += lanes_sum(sew);
    sums->sw += lanes_sum(p.sw);
    sums->sww += lanes_sum(p.sww);
}

void mint_rd_row(struct mint_rd *r, const float *w, struct mint_rd_sums *sums, size_t out_cfg,
                 float *out)
{
    struct prep p;
    double se[8], sew[8], sw, sww;
    int quant = 0, n64 = 0, n128 = 0;
    for (size_t i = 0; i < r->ncfg; i++)
        if (r->avail[i] && r->cfg[i].bits != MINT_BITS_PASSTHROUGH) {
            quant = 1;
            n64 |= r->cfg[i].group == 64 || r->cfg[i].group == 128;
            n128 |= r->cfg[i].group == 128;
        }
    prep_row(r, r->kernel, w, quant, n64, n128, &p);
    sw = lanes_sum(p.sw);
    sww = lanes_sum(p.sww);
    for (size_t i = 0; i < r->ncfg; i++) {
        if (!r->avail[i])
            continue;
        run_cfg(r, r->kernel, w, r->cfg[i], out && i == out_cfg ? out : NULL, se, sew);
        sums[i].se += lanes_sum(se);
        sums[i].sew += lanes_sum(sew);
        sums[i].sw += sw;
        sums[i].sww += sww;
    }
}

int mint_rd_rows(struct mint_rd *r, const void *src, int64_t rows, struct mint_rd_sums *sums,
                 size_t out_cfg, float *out, int64_t *bad, struct mint_err *err)
{
    const size_t es = mint_dtype_size(r->opt.src_dtype);
    const unsigned char *p = src;
    for (int64_t i = 0; i < rows; i++) {
        int64_t b = mint_to_f32(r->opt.src_dtype, p + (size_t)i * (size_t)r->cols * es, r->w,
                                (size_t)r->cols);
        if (b >= 0) {
            *bad = i * r->cols + b;
            return mint_err_set(err, "non-finite weight at row %lld, column %lld",
                                (long long)i, (long long)b);
        }
        mint_rd_row(r, r->w, sums, out_cfg, out ? out + i * r->cols : NULL);
    }
    return 0;
}

double mint_rd_sqnr_of_nrmse(double nrmse)
{
    if (!(nrmse > 0))
        return MINT_RD_SQNR_CAP;
    double db = -20.0 * log10(nrmse);
    return db < MINT_RD_SQNR_CAP ? db : MINT_RD_SQNR_CAP;
}

void mint_rd_metrics(const struct mint_rd_sums *s, uint64_t n, struct mint_rd_metrics *m)
{
    m->nrmse = s->sw > 0 ? sqrt(s->se / s->sw) : 0.0;
    if (s->se > 0 && s->sw > 0) {
        double db = 10.0 * log10(s->sw / s->se);
        m->sqnr_db = db < MINT_RD_SQNR_CAP ? db : MINT_RD_SQNR_CAP;
    } else {
        m->sqnr_db = MINT_RD_SQNR_CAP;
    }
    m->mse = n ? s->se / (double)n : 0.0;
    m->nrmse_w = s->sww > 0 ? sqrt(s->sew / s->sww) : 0.0;
}

/* ---- which norm feeds a matrix ---- */

/* Length of the prefix up to and including "layers.<N>." (component match), or -1. */
static long layers_end(const char *name, size_t *start)
{
    for (const char *p = name; (p = strstr(p, "layers.")); p++) {
        const char *d = p + 7, *e = d;
        if (p != name && p[-1] != '.')
            continue;
        while (*e >= '0' && *e <= '9')
            e++;
        if (e > d && *e == '.') {
            *start = (size_t)(p - name);
            return (long)(e + 1 - name);
        }
    }
    return -1;
}

int mint_rd_layers_prefix(const char *tensor, char *out, size_t cap)
{
    size_t start;
    if (layers_end(tensor, &start) < 0 || start + 1 > cap)
        return 0;
    memcpy(out, tensor, start);
    out[start] = 0;
    return 1;
}

int mint_rd_norm_name(const char *tensor, int tied, const char *lm_prefix, char *out, size_t cap)
{
    int64_t layer, expert;
    enum mint_role r = mint_role_classify(tensor, &layer, &expert);
    const char *suffix = NULL;
    size_t start;
    long end;
    int n;

    switch (r) {
    case MINT_ROLE_ATTN_Q:
    case MINT_ROLE_ATTN_K:
    case MINT_ROLE_ATTN_V:
        suffix = "input_layernorm.weight";
        break;
    case MINT_ROLE_MLP_GATE:
    case MINT_ROLE_MLP_UP:
    case MINT_ROLE_EXPERT_GATE:
    case MINT_ROLE_EXPERT_UP:
    case MINT_ROLE_ROUTER:
        suffix = "post_attention_layernorm.weight";
        break;
    case MINT_ROLE_LM_HEAD:
        n = snprintf(out, cap, "%snorm.weight", lm_prefix ? lm_prefix : "model.");
        return n > 0 && (size_t)n < cap;
    case MINT_ROLE_EMBED:
        if (!tied)
            return 0;
        n = snprintf(out, cap, "%snorm.weight", lm_prefix ? lm_prefix : "model.");
        return n > 0 && (size_t)n < cap;
    default:
        return 0;
    }
    if (layer < 0 || (end = layers_end(tensor, &start)) < 0)
        return 0;
    n = snprintf(out, cap, "%.*s%s", (int)end, tensor, suffix);
    return n > 0 && (size_t)n < cap;
}

/* ---- a whole tensor ---- */

#define MAP_CHUNK (64u << 20)  /* drop mapped pages after this many source bytes */
#define DUMP_CHUNK (4u << 20)  /* dump buffer, bytes of float32 */

void mint_rd_result_release(struct mint_rd_result *res)
{
    for (size_t i = 0; i < MINT_RD_MAX_CFGS; i++) {
        free(res->cfg[i].expert_nrmse);
        res->cfg[i].expert_nrmse = NULL;
    }
}

static int same_cfg(struct mint_qcfg a, struct mint_qcfg b)
{
    return a.bits == b.bits && a.group == b.group;
}

static void advise_data(const struct mint_map *map, const void *p, size_t len, int done)
{
    if (!map || !map->data)
        return;
    const unsigned char *q = p;
    if (q < map->data || q > map->data + map->size)
        return;
    size_t off = (size_t)(q - map->data);
    if (done)
        mint_map_advise_done(map, off, len);
    else
        mint_map_advise_seq(map, off, len);
}

int mint_rd_measure(const void *data, enum mint_dtype dtype, int ndim, const int64_t *shape,
                    const struct mint_qcfg *cfgs, size_t ncfg, const struct mint_rd_opts *opt,
                    const struct mint_rd_dump *dump, const struct mint_map *map,
                    struct mint_rd_result *res, struct mint_err *err)
{
    struct mint_qcfg cfg[MINT_RD_MAX_CFGS];
    struct mint_rd_opts o = *opt;
    struct mint_rd rd;
    struct mint_rd_sums *sums = NULL; /* (E, nint) */
    float *dbuf = NULL;
    size_t nint = ncfg, dump_idx = 0;
    int64_t E = 1, rows, cols;
    uint64_t nelem = 1;
    int rc = -1, one_d = ndim <= 1, experts = ndim == 3;

    memset(res, 0, sizeof *res);
    if (ndim < 0 || ndim > MINT_RD_MAX_DIMS || ncfg >= MINT_RD_MAX_CFGS)
        return mint_err_set(err, "rd: bad arguments (%d dimensions, %zu configurations)", ndim,
                            ncfg);
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0)
            return mint_err_set(err, "rd: negative dimension");
        nelem *= (uint64_t)shape[d];
        res->shape[d] = shape[d];
    }
    res->ndim = ndim;
    res->dtype = dtype;
    res->out_dtype = opt->out_dtype;
    res->quantizer = opt->quantizer;
    res->has_norm = opt->gamma != NULL;
    res->params = nelem;
    if (one_d) {
        rows = 1;
        cols = (int64_t)nelem;
    } else if (experts) {
        E = shape[0];
        rows = shape[1];
        cols = shape[2];
    } else {
        rows = shape[0];
        cols = 1;
        for (int d = 1; d < ndim; d++)
            cols *= shape[d];
    }
    res->experts = experts ? E : 0;
    res->rows = rows;
    res->cols = cols;

    memcpy(cfg, cfgs, ncfg * sizeof *cfg);
    if (dump) {
        for (dump_idx = 0; dump_idx < ncfg && !same_cfg(cfg[dump_idx], dump->cfg); dump_idx++)
            ;
        if (dump_idx == ncfg)
            cfg[nint++] = dump->cfg;
    }
    o.src_dtype = dtype;
    if (mint_rd_init(&rd, cols, cfg, nint, &o, err) < 0)
        return -1;
    res->kernel = rd.kernel;
    res->ncfg = ncfg;
    for (size_t i = 0; i < nint; i++) {
        struct mint_rd_cfg_result *cr = &res->cfg[i];
        cr->c = cfg[i];
        if (cfg[i].bits != MINT_BITS_PASSTHROUGH && one_d) {
            rd.avail[i] = 0;
            snprintf(cr->reason, sizeof cr->reason, "1-D tensor");
        } else if (!rd.avail[i]) {
            snprintf(cr->reason, sizeof cr->reason, "group %d does not divide %lld columns",
                     cfg[i].group, (long long)cols);
        }
        cr->available = rd.avail[i];
    }
    if (dump && !res->cfg[dump_idx].available) {
        mint_err_set(err, "--dump %d:%d: configuration unavailable (%s)", dump->cfg.bits,
                     dump->cfg.group, res->cfg[dump_idx].reason);
        goto out;
    }
    sums = calloc((size_t)(E ? E : 1) * nint, sizeof *sums);
    if (!sums) {
        mint_err_setc(err, MINT_EXIT_IO, "rd: out of memory");
        goto out;
    }

    {
        const size_t es = mint_dtype_size(dtype);
        const uint64_t row_bytes = (uint64_t)cols * es;
        int64_t chunk = row_bytes ? (int64_t)(MAP_CHUNK / row_bytes) : 1;
        if (chunk < 1)
            chunk = 1;
        if (dump) {
            int64_t dr = cols ? (int64_t)(DUMP_CHUNK / ((uint64_t)cols * 4)) : 1;
            if (chunk > dr)
                chunk = dr > 0 ? dr : 1;
            dbuf = malloc((size_t)chunk * (size_t)cols * sizeof *dbuf + 1);
            if (!dbuf) {
                mint_err_setc(err, MINT_EXIT_IO, "rd: out of memory");
                goto out;
            }
        }
        for (int64_t e = 0; e < E; e++)
            for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
                int64_t nr = rows - r0 < chunk ? rows - r0 : chunk, bad;
                const unsigned char *p = (const unsigned char *)data +
                                         ((uint64_t)e * (uint64_t)rows + (uint64_t)r0) * row_bytes;
                size_t len = (size_t)((uint64_t)nr * row_bytes);
                advise_data(map, p, len, 0);
                if (mint_rd_rows(&rd, p, nr, sums + (size_t)e * nint, dump_idx, dbuf, &bad,
                                 err) < 0) {
                    int64_t row = r0 + bad / cols, col = bad % cols;
                    if (experts)
                        mint_err_set(err, "non-finite weight at [%lld, %lld, %lld]",
                                     (long long)e, (long long)row, (long long)col);
                    else if (one_d)
                        mint_err_set(err, "non-finite weight at [%lld]", (long long)col);
                    else
                        mint_err_set(err, "non-finite weight at row %lld, column %lld",
                                     (long long)row, (long long)col);
                    goto out;
                }
                advise_data(map, p, len, 1);
                if (dump && dump->write(dump->ctx, dbuf, (size_t)nr * (size_t)cols, err) < 0)
                    goto out;
            }
    }
    res->absmax = rd.absmax;

    /* availability after measuring, then metrics */
    for (size_t i = 0; i < nint; i++) {
        struct mint_rd_cfg_result *cr = &res->cfg[i];
        const uint64_t n_e = (uint64_t)rows * (uint64_t)cols;
        if (!cr->available)
            continue;
        if (cfg[i].bits == MINT_BITS_PASSTHROUGH && o.out_dtype == MINT_DT_F16 &&
            dtype != MINT_DT_F16 && rd.absmax > 65504.0f) {
            cr->available = 0;
            snprintf(cr->reason, sizeof cr->reason,
                     "max |w| = %.9g exceeds the F16 range (65504)", (double)rd.absmax);
            continue;
        }
        for (int64_t e = 0; e < E; e++) {
            const struct mint_rd_sums *s = &sums[(size_t)e * nint + i];
            if (!isfinite(s->se) || !isfinite(s->sew)) {
                cr->available = 0;
                snprintf(cr->reason, sizeof cr->reason,
                         "dequantized values are not finite (%s overflows %s)",
                         cfg[i].bits == MINT_BITS_PASSTHROUGH ? "a weight" : "a scale or bias",
                         mint_dtype_name(o.out_dtype));
                break;
            }
        }
        if (!cr->available)
            continue;
        cr->bytes = mint_quant_bytes(nelem, cfg[i]);
        if (!experts) {
            mint_rd_metrics(&sums[i], nelem, &cr->m);
            continue;
        }
        double wsum = 0, wsum_w = 0, se = 0, worst = 0, worst_db = MINT_RD_SQNR_CAP;
        cr->expert_nrmse = malloc((size_t)(E ? E : 1) * sizeof *cr->expert_nrmse);
        if (!cr->expert_nrmse) {
            mint_err_setc(err, MINT_EXIT_IO, "rd: out of memory");
            goto out;
        }
        for (int64_t e = 0; e < E; e++) {
            struct mint_rd_metrics me;
            const struct mint_rd_sums *s = &sums[(size_t)e * nint + i];
            mint_rd_metrics(s, n_e, &me);
            cr->expert_nrmse[e] = me.nrmse;
            se += s->se;
            wsum += (double)n_e * me.nrmse;
            wsum_w += (double)n_e * me.nrmse_w;
            worst = me.nrmse > worst ? me.nrmse : worst;
            worst_db = me.sqnr_db < worst_db ? me.sqnr_db : worst_db;
        }
        double nw = (double)n_e * (double)E;
        cr->m.nrmse = nw > 0 ? wsum / nw : 0;
        cr->m.nrmse_w = nw > 0 ? wsum_w / nw : 0;
        cr->m.sqnr_db = mint_rd_sqnr_of_nrmse(cr->m.nrmse);
        cr->m.mse = nelem ? se / (double)nelem : 0;
        cr->nrmse_worst = worst;
        cr->sqnr_db_worst = worst_db;
    }
    if (dump && !res->cfg[dump_idx].available) {
        mint_err_set(err, "--dump %d:%d: configuration unavailable (%s)", dump->cfg.bits,
                     dump->cfg.group, res->cfg[dump_idx].reason);
        goto out;
    }
    rc = 0;
out:
    /* an appended dump configuration is not part of the result */
    for (size_t i = ncfg; i < nint; i++) {
        free(res->cfg[i].expert_nrmse);
        memset(&res->cfg[i], 0, sizeof res->cfg[i]);
    }
    free(dbuf);
    free(sums);
    mint_rd_release(&rd);
    return rc;
}

int mint_rd_best(const struct mint_rd_result *res, double veto_db)
{
    int best = -1;
    for (size_t i = 0; i < res->ncfg; i++) {
        const struct mint_rd_cfg_result *c = &res->cfg[i];
        double db = res->experts ? c->sqnr_db_worst : c->m.sqnr_db;
        if (c->available && db >= veto_db && (best < 0 || c->bytes < res->cfg[best].bytes))
            best = (int)i;
    }
    return best;
}

static json_t *real_or_null(int ok, double v)
{
    return ok ? json_real(v) : json_null();
}

json_t *mint_rd_json(const struct mint_rd_result *res, const char *tensor, const char *hash,
                     const char *norm)
{
    json_t *doc = json_object(), *shape = json_array(), *cfgs = json_array();
    for (int d = 0; d < res->ndim; d++)
        json_array_append_new(shape, json_integer(res->shape[d]));
    for (size_t i = 0; i < res->ncfg; i++) {
        const struct mint_rd_cfg_result *c = &res->cfg[i];
        const int ok = c->available;
        json_t *o = json_object();
        json_object_set_new(o, "bits", json_integer(c->c.bits));
        json_object_set_new(o, "group", json_integer(c->c.group));
        json_object_set_new(o, "available", json_boolean(ok));
        json_object_set_new(o, "bytes", ok ? json_integer((json_int_t)c->bytes) : json_null());
        json_object_set_new(o, "nrmse", real_or_null(ok, c->m.nrmse));
        json_object_set_new(o, "sqnr_db", real_or_null(ok, c->m.sqnr_db));
        json_object_set_new(o, "mse", real_or_null(ok, c->m.mse));
        if (res->has_norm)
            json_object_set_new(o, "nrmse_w", real_or_null(ok, c->m.nrmse_w));
        if (res->experts || res->ndim == 3) {
            json_t *ex = json_null();
            if (ok && c->expert_nrmse) {
                ex = json_array();
                for (int64_t e = 0; e < res->experts; e++)
                    json_array_append_new(ex, json_real(c->expert_nrmse[e]));
            }
            json_object_set_new(o, "nrmse_worst", real_or_null(ok, c->nrmse_worst));
            json_object_set_new(o, "sqnr_db_worst", real_or_null(ok, c->sqnr_db_worst));
            json_object_set_new(o, "expert_nrmse", ex);
        }
        if (!ok)
            json_object_set_new(o, "reason", json_string(c->reason));
        json_array_append_new(cfgs, o);
    }
    json_object_set_new(doc, "schema", json_integer(1));
    json_object_set_new(doc, "tensor", json_string(tensor));
    json_object_set_new(doc, "hash", hash ? json_string(hash) : json_null());
    json_object_set_new(doc, "shape", shape);
    json_object_set_new(doc, "params", json_integer((json_int_t)res->params));
    json_object_set_new(doc, "dtype", json_string(mint_dtype_name(res->dtype)));
    json_object_set_new(doc, "out_dtype", json_string(mint_dtype_name(res->out_dtype)));
    json_object_set_new(doc, "quantizer",
                        json_string(res->quantizer == MINT_RD_MINMAX ? "minmax" : "mlx"));
    json_object_set_new(doc, "norm", norm ? json_string(norm) : json_null());
    json_object_set_new(doc, "experts", res->ndim == 3 ? json_integer(res->experts) : json_null());
    json_object_set_new(doc, "configs", cfgs);
    return doc;
}
