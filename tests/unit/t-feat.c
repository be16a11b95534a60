/* t-feat: per-group kurtosis (hand-computed groups, flat groups, tail groups, percentiles,
 * outliers), noise amplification against its closed form, spectral formulas, norm lookup,
 * seeds, and whole slices. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mint/err.h"
#include "mint/feat.h"
#include "mint/hash.h"
#include "mint/quant.h"
#include "mint/rsvd.h"

/* beta2 of n-1 equal values and one spike: ((n-1)^3 + 1) / (n (n-1)) = (n^2 - 3n + 3)/(n - 1) */
static double spike_beta2(int n)
{
    return ((double)n * n - 3.0 * n + 3.0) / (n - 1.0);
}

/* One group of n: value c everywhere, c + h at position pos. */
static void spike_group(float *g, int n, float c, float h, int pos)
{
    for (int i = 0; i < n; i++)
        g[i] = c;
    g[pos] = c + h;
}

static void test_percentile(void)
{
    const double x5[] = {1, 2, 3, 4, 5}, x2[] = {1, 10}, x4[] = {0, 1, 3, 7}, x1[] = {42};
    CHECK_NEAR(mint_feat_percentile(x5, 5, 0.90), 4.6, 1e-12);
    CHECK_NEAR(mint_feat_percentile(x5, 5, 0.99), 4.96, 1e-12);
    CHECK_NEAR(mint_feat_percentile(x5, 5, 0.50), 3.0, 0);
    CHECK_NEAR(mint_feat_percentile(x5, 5, 1.0), 5.0, 0);
    CHECK_NEAR(mint_feat_percentile(x5, 5, 0.0), 1.0, 0);
    CHECK_NEAR(mint_feat_percentile(x2, 2, 0.90), 9.1, 1e-12);
    CHECK_NEAR(mint_feat_percentile(x2, 2, 0.25), 3.25, 1e-12);
    CHECK_NEAR(mint_feat_percentile(x4, 4, 0.50), 2.0, 0);
    CHECK_NEAR(mint_feat_percentile(x4, 4, 0.90), 5.8, 1e-12); /* h = 2.7: 3 + 0.7*4 */
    CHECK_NEAR(mint_feat_percentile(x1, 1, 0.99), 42.0, 0);
}

static void test_beta2(void)
{
    float g[128];
    double mu, m2, b;
    struct mint_prng r;

    spike_group(g, 128, 0.0f, 1.0f, 17);
    b = mint_feat_beta2(g, 128, &mu, &m2);
    CHECK_NEAR(b, spike_beta2(128), 1e-9);
    CHECK_NEAR(mu, 1.0 / 128, 1e-15);
    /* shift- and scale-invariant */
    spike_group(g, 128, 3.0f, -0.5f, 0);
    CHECK_NEAR(mint_feat_beta2(g, 128, &mu, &m2), spike_beta2(128), 1e-6);
    /* two-point distribution: beta2 = 1, the minimum */
    for (int i = 0; i < 128; i++)
        g[i] = i % 2 ? 1.0f : -1.0f;
    CHECK_NEAR(mint_feat_beta2(g, 128, &mu, &m2), 1.0, 1e-12);
    CHECK_NEAR(m2, 1.0, 1e-12);
    /* uniform on a grid: beta2 -> 1.8 */
    for (int i = 0; i < 128; i++)
        g[i] = (float)i;
    CHECK_NEAR(mint_feat_beta2(g, 128, &mu, &m2), 1.8, 0.01);
    /* Gaussian: beta2 -> 3 */
    {
        const int n = 200000;
        float *x = malloc(n * sizeof *x);
        mint_prng_seed(&r, 3);
        mint_prng_normal_f32(&r, x, n);
        CHECK_NEAR(mint_feat_beta2(x, n, &mu, &m2), 3.0, 0.05);
        free(x);
    }
    /* constant: m2 = 0, reported 0 */
    for (int i = 0; i < 128; i++)
        g[i] = 2.5f;
    CHECK(mint_feat_beta2(g, 128, &mu, &m2) == 0.0 && m2 == 0.0);
}

static void test_kurtosis(void)
{
    struct mint_err err = {0};
    struct mint_feat_kurt k;
    struct mint_prng r;

    /* Gaussian groups: median beta2 a little under 3 (finite-sample), p90 above it */
    {
        const int rows = 200, cols = 512;
        float *w = malloc((size_t)rows * cols * sizeof *w);
        mint_prng_seed(&r, 4);
        mint_prng_normal_f32(&r, w, (size_t)rows * cols);
        CHECK(mint_feat_kurtosis(w, rows, cols, 128, &k, &err) == 0);
        CHECK(k.valid && k.groups == 800 && k.flat == 0 && k.elems == 102400);
        CHECK(k.p90 > 3.0 && k.p90 < 4.0);
        CHECK(k.p99_p50 > 1.1 && k.p99_p50 < 2.0);
        /* P(|z| > 6) is ~2e-9: no outliers */
        CHECK(k.outliers == 0 && k.outlier_frac == 0.0);
        free(w);
    }
    /* every group a spike group: p90 = p99/p50 * p50 = the known beta2, one outlier each */
    {
        const int rows = 3, cols = 256;
        float w[3 * 256];
        for (int i = 0; i < rows * cols / 128; i++)
            spike_group(w + i * 128, 128, 0.25f * i, 1.0f + i, (i * 37) % 128);
        CHECK(mint_feat_kurtosis(w, rows, cols, 128, &k, &err) == 0);
        CHECK(k.valid && k.groups == 6);
        CHECK_NEAR(k.p90, spike_beta2(128), 1e-6);
        CHECK_NEAR(k.p99_p50, 1.0, 1e-9);
        CHECK(k.outliers == 6);
        CHECK_NEAR(k.outlier_frac, 1.0 / 128, 1e-15);
    }
    /* flat groups: constant groups and a group 1e7 times quieter than the rest are excluded */
    {
        const int cols = 128 * 4;
        float w[128 * 4];
        mint_prng_seed(&r, 5);
        mint_prng_normal_f32(&r, w, 128);                  /* Gaussian group */
        for (int i = 128; i < 256; i++)                      /* constant group */
            w[i] = 0.75f;
        for (int i = 256; i < 384; i++)                      /* m2 ~ 1e-14 * ... : flat */
            w[i] = (float)(1e-7 * mint_prng_normal(&r));
        spike_group(w + 384, 128, 0.0f, 2.0f, 5);            /* spike group */
        CHECK(mint_feat_kurtosis(w, 1, cols, 128, &k, &err) == 0);
        CHECK(k.valid && k.groups == 2 && k.flat == 2 && k.elems == 256);
        {
            double mu, m2, bg = mint_feat_beta2(w, 128, &mu, &m2), bs = spike_beta2(128);
            double lo = bg < bs ? bg : bs, hi = bg < bs ? bs : bg, d = hi - lo;
            /* two values: h = 0.9 -> hi - d*0.1; h = 0.5 -> hi - d*0.5; h = 0.99 -> hi - d*0.01 */
            CHECK_NEAR(k.p90, hi - d * 0.1, 1e-9);
            CHECK_NEAR(k.p99_p50, (hi - d * 0.01) / (hi - d * 0.5), 1e-9);
        }
        CHECK(k.outliers == 1);
        CHECK_NEAR(k.outlier_frac, 1.0 / 256, 1e-15);
    }
    /* all flat (zeros): null */
    {
        float z[256] = {0};
        CHECK(mint_feat_kurtosis(z, 2, 128, 128, &k, &err) == 0);
        CHECK(!k.valid && k.flat == 2 && k.groups == 0);
    }
    /* tail groups: >= 4 elements used at true length, < 4 ignored */
    {
        float w[132];
        double bs = spike_beta2(128), d = bs - 1.0;
        spike_group(w, 128, 0.0f, 1.0f, 9);
        w[128] = 1; w[129] = -1; w[130] = 1; w[131] = -1;    /* beta2 = 1 over 4 elements */
        CHECK(mint_feat_kurtosis(w, 1, 132, 128, &k, &err) == 0);
        CHECK(k.valid && k.groups == 2 && k.elems == 132);
        CHECK_NEAR(k.p90, bs - d * 0.1, 1e-9);
        CHECK_NEAR(k.p99_p50, (bs - d * 0.01) / (bs - d * 0.5), 1e-9);
        CHECK(mint_feat_kurtosis(w, 1, 131, 128, &k, &err) == 0); /* tail of 3: ignored */
        CHECK(k.valid && k.groups == 1 && k.elems == 128);
        CHECK_NEAR(k.p90, bs, 1e-9);
        /* two rows of 131: each row's tail of 3 ignored, groups never span rows */
        {
            float w2[262];
            memcpy(w2, w, 131 * sizeof *w);
            memcpy(w2 + 131, w, 131 * sizeof *w);
            CHECK(mint_feat_kurtosis(w2, 2, 131, 128, &k, &err) == 0);
            CHECK(k.groups == 2 && k.elems == 256 && k.outliers == 2);
        }
        /* a short tail group of 6 with a spike: beta2 = (36 - 18 + 3)/5 = 4.2 */
        {
            float w3[6];
            spike_group(w3, 6, 1.0f, 3.0f, 2);
            CHECK(mint_feat_kurtosis(w3, 1, 6, 128, &k, &err) == 0);
            CHECK(k.groups == 1);
            CHECK_NEAR(k.p90, 4.2, 1e-9);
            /* z of the spike = sqrt(5) < 6: no outlier */
            CHECK(k.outliers == 0);
        }
    }
}

/* Closed-form NRMSE and NRMSE_w of the MLX (4, g) quantizer, for comparison. */
static void closed_form(const float *w, int rows, int cols, const float *gamma, int g,
                        enum mint_dtype sdt, double *nrmse, double *nrmse_w)
{
    struct mint_qcfg c = {4, g};
    uint32_t *pk = malloc((size_t)cols / 8 * sizeof *pk);
    uint16_t *sc = malloc((size_t)cols / g * sizeof *sc), *bi = malloc((size_t)cols / g * sizeof *bi);
    float *d = malloc((size_t)cols * sizeof *d);
    double e2 = 0, w2 = 0, e2w = 0, w2w = 0;
    for (int i = 0; i < rows; i++) {
        const float *wr = w + (size_t)i * cols;
        mint_quant_row_mlx(wr, cols, c, sdt, pk, sc, bi);
        mint_dequant_row(pk, sc, bi, cols, c, sdt, d);
        for (int j = 0; j < cols; j++) {
            double e = (double)d[j] - wr[j], gg = gamma ? (double)gamma[j] * gamma[j] : 1.0;
            e2 += e * e;
            w2 += (double)wr[j] * wr[j];
            e2w += e * e * gg;
            w2w += (double)wr[j] * wr[j] * gg;
        }
    }
    *nrmse = sqrt(e2 / w2);
    *nrmse_w = sqrt(e2w / w2w);
    free(pk);
    free(sc);
    free(bi);
    free(d);
}

static void test_noise(void)
{
    const int rows = 256, cols = 512, P = MINT_FEAT_PROBES;
    struct mint_err err = {0};
    struct mint_feat_noise nz;
    struct mint_prng r;
    float *w = malloc((size_t)rows * cols * sizeof *w), *z = malloc((size_t)cols * P * sizeof *z);
    float *gamma = malloc((size_t)cols * sizeof *gamma);
    double nr, nrw;

    mint_prng_seed(&r, 8);
    /* columns of two magnitudes inside every group, so NRMSE_w depends on gamma */
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            w[(size_t)i * cols + j] = (float)(mint_prng_normal(&r) * (j % 2 ? 0.05 : 1.0));
    for (size_t i = 0; i < (size_t)rows * cols; i++) /* BF16-representable, as a BF16 source */
        w[i] = mint_bf16_to_f32(mint_f32_to_bf16(w[i]));
    mint_prng_normal_f32(&r, z, (size_t)cols * P);

    /* gamma = 1: noise_delta estimates NRMSE, amp ~ 1 */
    CHECK(mint_feat_noise(w, rows, cols, z, P, NULL, MINT_DT_BF16, &nz, &err) == 0);
    closed_form(w, rows, cols, NULL, 64, MINT_DT_BF16, &nr, &nrw);
    CHECK(nz.valid && nz.amp_valid && nz.ref.bits == 4 && nz.ref.group == 64);
    CHECK_NEAR(nz.nrmse_ref, nr, 1e-12);
    CHECK_NEAR(nz.amp, 1.0, 0.1);
    CHECK_NEAR(nz.delta / nz.nrmse_ref, nz.amp, 1e-12);

    /* spread gamma favouring the small columns: amp ~ NRMSE_w / NRMSE >> 1 */
    for (int j = 0; j < cols; j++)
        gamma[j] = j % 2 ? 20.0f : 1.0f;
    CHECK(mint_feat_noise(w, rows, cols, z, P, gamma, MINT_DT_BF16, &nz, &err) == 0);
    closed_form(w, rows, cols, gamma, 64, MINT_DT_BF16, &nr, &nrw);
    CHECK_NEAR(nz.nrmse_ref, nr, 1e-12);
    CHECK(nrw / nr > 3.0);
    CHECK_MSG(fabs(nz.amp / (nrw / nr) - 1.0) < 0.1, "amp %g vs closed form %g", nz.amp, nrw / nr);
    CHECK_MSG(fabs(nz.delta / nrw - 1.0) < 0.1, "delta %g vs NRMSE_w %g", nz.delta, nrw);
    /* gamma favouring the large columns: amp < 1 */
    for (int j = 0; j < cols; j++)
        gamma[j] = j % 2 ? 0.05f : 1.0f;
    CHECK(mint_feat_noise(w, rows, cols, z, P, gamma, MINT_DT_BF16, &nz, &err) == 0);
    closed_form(w, rows, cols, gamma, 64, MINT_DT_BF16, &nr, &nrw);
    CHECK(nz.amp < 1.0);
    CHECK_MSG(fabs(nz.amp / (nrw / nr) - 1.0) < 0.1, "amp %g vs closed form %g", nz.amp, nrw / nr);

    /* 64 does not divide 96: (4,32); 32 does not divide 172: null */
    CHECK(mint_feat_noise(w, 8, 96, z, P, NULL, MINT_DT_BF16, &nz, &err) == 0);
    CHECK(nz.valid && nz.ref.group == 32);
    closed_form(w, 8, 96, NULL, 32, MINT_DT_BF16, &nr, &nrw);
    CHECK_NEAR(nz.nrmse_ref, nr, 1e-12);
    CHECK(mint_feat_noise(w, 8, 172, z, P, NULL, MINT_DT_BF16, &nz, &err) == 0);
    CHECK(!nz.valid);
    /* W = 0: null */
    {
        float *zero = calloc(8 * 64, sizeof *zero);
        CHECK(mint_feat_noise(zero, 8, 64, z, P, NULL, MINT_DT_BF16, &nz, &err) == 0);
        CHECK(!nz.valid && !nz.amp_valid);
        free(zero);
    }
    free(w);
    free(z);
    free(gamma);
}

static void test_spectral_from(void)
{
    struct mint_feat_spectral s;
    const double a[] = {3, 2, 1};
    double b[20], zero[2] = {0, 0};

    mint_feat_spectral_from(14.0, a, 3, &s);
    CHECK(s.valid && s.k_eff == 3);
    CHECK_NEAR(s.stable_rank, 14.0 / 9.0, 1e-15);
    CHECK_NEAR(s.tail_mass, 5.0 / 14.0, 1e-15); /* t = max(1, 0) = 1 */
    CHECK_NEAR(s.log_cond, log(3.0), 1e-15);
    /* k_eff = 20 -> t = 2; exact Frobenius denominator (not sum of computed sigma^2) */
    for (int i = 0; i < 20; i++)
        b[i] = 20 - i;
    mint_feat_spectral_from(5000.0, b, 20, &s);
    CHECK_NEAR(s.tail_mass, 1.0 - (400.0 + 361.0) / 5000.0, 1e-15);
    CHECK_NEAR(s.log_cond, log(20.0), 1e-15);
    /* a vanishing last value: log_cond capped at ln(1e12) */
    b[19] = 0;
    mint_feat_spectral_from(5000.0, b, 20, &s);
    CHECK_NEAR(s.log_cond, log(1e12), 1e-12);
    /* rank-1: stable rank 1, tail 0 (clamped, never negative) */
    mint_feat_spectral_from(9.0 * (1 + 1e-16), a, 1, &s);
    CHECK(s.valid && s.tail_mass >= 0.0);
    mint_feat_spectral_from(9.0 * (1 - 1e-9), a, 1, &s);
    CHECK(s.tail_mass == 0.0);
    /* A = 0 */
    mint_feat_spectral_from(0.0, zero, 2, &s);
    CHECK(!s.valid);
}

static void test_norm_candidates(void)
{
    char c[4][256];
    CHECK(mint_feat_norm_candidates("model.layers.3.self_attn.q_proj.weight", 0, c, 4) == 2);
    CHECK_STR(c[0], "model.layers.3.input_layernorm.weight");
    CHECK_STR(c[1], "model.layers.3.attention_norm.weight");
    CHECK(mint_feat_norm_candidates("model.layers.12.self_attn.v_proj.weight", 1, c, 4) == 2);
    CHECK_STR(c[0], "model.layers.12.input_layernorm.weight");
    CHECK(mint_feat_norm_candidates("model.language_model.layers.1.self_attn.k_proj.weight", 0,
                                    c, 4) == 2);
    CHECK_STR(c[0], "model.language_model.layers.1.input_layernorm.weight");
    CHECK(mint_feat_norm_candidates("model.layers.0.mlp.up_proj.weight", 0, c, 4) == 2);
    CHECK_STR(c[0], "model.layers.0.post_attention_layernorm.weight");
    CHECK(mint_feat_norm_candidates("model.layers.0.mlp.gate_proj.weight", 0, c, 1) == 1);
    CHECK_STR(c[0], "model.layers.0.post_attention_layernorm.weight");
    CHECK(mint_feat_norm_candidates("model.layers.7.mlp.experts.5.up_proj.weight", 0, c, 4) == 2);
    CHECK_STR(c[0], "model.layers.7.post_attention_layernorm.weight");
    CHECK(mint_feat_norm_candidates("model.layers.7.block_sparse_moe.experts.0.w1.weight", 0, c,
                                    4) == 2);
    CHECK_STR(c[0], "model.layers.7.post_attention_layernorm.weight");
    CHECK(mint_feat_norm_candidates("model.layers.2.mlp.gate.weight", 0, c, 4) == 2);
    CHECK_STR(c[0], "model.layers.2.post_attention_layernorm.weight");
    CHECK(mint_feat_norm_candidates("model.layers.2.mlp.shared_expert_gate.weight", 0, c, 4) == 2);
    CHECK(mint_feat_norm_candidates("model.layers.2.mlp.switch_mlp.gate_proj.weight", 0, c, 4) ==
          2);
    /* no norm feeds o_proj, down_proj, expert down, untied embeddings, norms */
    CHECK(mint_feat_norm_candidates("model.layers.0.self_attn.o_proj.weight", 0, c, 4) == 0);
    CHECK(mint_feat_norm_candidates("model.layers.0.mlp.down_proj.weight", 0, c, 4) == 0);
    CHECK(mint_feat_norm_candidates("model.layers.0.mlp.experts.1.down_proj.weight", 0, c, 4) ==
          0);
    CHECK(mint_feat_norm_candidates("model.embed_tokens.weight", 0, c, 4) == 0);
    CHECK(mint_feat_norm_candidates("model.norm.weight", 1, c, 4) == 0);
    /* output head: lm_head, or the tied embedding */
    CHECK(mint_feat_norm_candidates("lm_head.weight", 0, c, 4) == 3);
    CHECK_STR(c[0], "model.norm.weight");
    CHECK_STR(c[1], "model.language_model.norm.weight");
    CHECK(mint_feat_norm_candidates("model.embed_tokens.weight", 1, c, 4) == 1);
    CHECK_STR(c[0], "model.norm.weight");
    CHECK(mint_feat_norm_candidates("model.language_model.embed_tokens.weight", 1, c, 4) == 1);
    CHECK_STR(c[0], "model.language_model.norm.weight");
}

static void test_seed(void)
{
    const char *h1 = "780b90b03d1f957164ecb3e1498e6a1c", *h2 = "780b90b03d1f957164ecb3e1498e6a1d";
    unsigned char buf[40] = {7, 0, 0, 0, 0, 0, 0, 0};
    memcpy(buf + 8, h1, 32);
    CHECK(mint_feat_seed(7, h1, 0) == mint_hash64(buf, 40, 0));
    CHECK(mint_feat_seed(7, h1, 3) == mint_hash64(buf, 40, 3));
    CHECK(mint_feat_seed(7, h1, 0) == mint_feat_seed(7, h1, 0));
    CHECK(mint_feat_seed(7, h1, 0) != mint_feat_seed(8, h1, 0));
    CHECK(mint_feat_seed(7, h1, 0) != mint_feat_seed(7, h2, 0));
    CHECK(mint_feat_seed(7, h1, 0) != mint_feat_seed(7, h1, 1));
}

static void test_slice(void)
{
    struct mint_feat_opt o;
    struct mint_feat_slice s, s2;
    struct mint_err err = {0};
    struct mint_prng r;
    const int rows = 96, cols = 128;
    float *w = malloc((size_t)rows * cols * sizeof *w), *w2 = malloc((size_t)rows * cols * sizeof *w);
    double f = 0;

    mint_feat_opt_default(&o);
    o.rsvd.k = 16;
    mint_prng_seed(&r, 9);
    mint_prng_normal_f32(&r, w, (size_t)rows * cols);
    memcpy(w2, w, (size_t)rows * cols * sizeof *w);
    for (int i = 0; i < rows * cols; i++)
        f += (double)w[i] * w[i];
    /* min(96, 128) > 26: randomized path */
    CHECK(mint_feat_slice_run(w, rows, cols, 1, NULL, MINT_DT_BF16, &o, 1234, &s, &err) == 0);
    CHECK(s.frob2 == f);
    CHECK(s.spec.valid && !s.spec.exact && s.spec.k_eff == 16);
    CHECK(s.kurt.valid && s.noise.valid && s.noise.amp_valid);
    CHECK_NEAR(s.spec.stable_rank, f / (s.sigma[0] * s.sigma[0]), 1e-12);
    CHECK(mint_feat_slice_run(w2, rows, cols, 1, NULL, MINT_DT_BF16, &o, 1234, &s2, &err) == 0);
    CHECK(!memcmp(s.sigma, s2.sigma, 16 * sizeof *s.sigma));
    CHECK(s.noise.delta == s2.noise.delta && s.kurt.p90 == s2.kurt.p90);
    mint_feat_slice_release(&s);
    mint_feat_slice_release(&s2);

    /* 1-D: kurtosis only */
    mint_prng_normal_f32(&r, w, 300);
    CHECK(mint_feat_slice_run(w, 1, 300, 0, NULL, MINT_DT_BF16, &o, 1, &s, &err) == 0);
    CHECK(s.kurt.valid && s.kurt.groups == 3 && !s.spec.valid && !s.noise.valid);
    mint_feat_slice_release(&s);

    /* A = 0: everything null */
    memset(w, 0, (size_t)rows * cols * sizeof *w);
    CHECK(mint_feat_slice_run(w, rows, cols, 1, NULL, MINT_DT_BF16, &o, 1, &s, &err) == 0);
    CHECK(!s.spec.valid && !s.kurt.valid && !s.noise.valid);
    mint_feat_slice_release(&s);
    free(w);
    free(w2);
}

int main(void)
{
    mint_blas_single_thread();
    test_percentile();
    test_beta2();
    test_kurtosis();
    test_noise();
    test_spectral_from();
    test_norm_candidates();
    test_seed();
    test_slice();
    return CHECK_DONE();
}
