#include "mint/feat.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/err.h"
#include "mint/hash.h"
#include "mint/role.h"

#define NOISE_BLOCK_ROWS 64

uint64_t mint_feat_seed(uint64_t global_seed, const char *hash_hex, uint64_t slice)
{
    unsigned char buf[8 + 64];
    size_t n = strlen(hash_hex);
    if (n > 64)
        n = 64;
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(global_seed >> (8 * i));
    memcpy(buf + 8, hash_hex, n);
    return mint_hash64(buf, 8 + n, slice);
}

double mint_feat_percentile(const double *x, size_t n, double p)
{
    double h, t, a, b, d;
    size_t lo;
    MINT_ASSERT(n >= 1);
    h = (double)(n - 1) * p;
    lo = (size_t)floor(h);
    if (lo >= n - 1)
        return x[n - 1];
    t = h - (double)lo;
    a = x[lo];
    b = x[lo + 1];
    d = b - a;
    /* numpy _lerp: exact at both ends */
    return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

double mint_feat_beta2(const float *x, int64_t n, double *mu, double *m2)
{
    double s = 0, s2 = 0, s4 = 0;
    for (int64_t i = 0; i < n; i++)
        s += x[i];
    s /= (double)n;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)x[i] - s, d2 = d * d;
        s2 += d2;
        s4 += d2 * d2;
    }
    s2 /= (double)n;
    s4 /= (double)n;
    *mu = s;
    *m2 = s2;
    return s2 > 0 ? s4 / (s2 * s2) : 0.0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int mint_feat_kurtosis(const float *w, int64_t rows, int64_t cols, int g,
                       struct mint_feat_kurt *out, struct mint_err *err)
{
    int64_t per_row = (cols + g - 1) / g;
    double sq = 0, thr;
    double *beta;
    size_t nb = 0;

    memset(out, 0, sizeof *out);
    if (rows <= 0 || cols <= 0)
        return 0;
    for (int64_t i = 0; i < rows * cols; i++)
        sq += (double)w[i] * w[i];
    thr = MINT_FEAT_FLAT_REL * (sq / ((double)rows * (double)cols));
    beta = malloc((size_t)(rows * per_row) * sizeof *beta);
    if (!beta)
        return mint_err_set(err, "out of memory for %lld kurtosis groups",
                            (long long)(rows * per_row));
    for (int64_t r = 0; r < rows; r++) {
        const float *row = w + r * cols;
        for (int64_t g0 = 0; g0 < cols; g0 += g) {
            int64_t len = cols - g0 < g ? cols - g0 : g;
            double mu, m2, b2, lim;
            if (len < MINT_FEAT_KURT_MIN_TAIL)
                continue;
            b2 = mint_feat_beta2(row + g0, len, &mu, &m2);
            if (m2 <= thr) {
                out->flat++;
                continue;
            }
            beta[nb++] = b2;
            lim = MINT_FEAT_OUTLIER_SIGMAS * sqrt(m2);
            for (int64_t k = 0; k < len; k++)
                if (fabs((double)row[g0 + k] - mu) > lim)
                    out->outliers++;
            out->elems += (uint64_t)len;
        }
    }
    out->groups = nb;
    if (nb) {
        double p50, p90, p99;
        qsort(beta, nb, sizeof *beta, cmp_double);
        p50 = mint_feat_percentile(beta, nb, 0.50);
        p90 = mint_feat_percentile(beta, nb, 0.90);
        p99 = mint_feat_percentile(beta, nb, 0.99);
        out->valid = 1;
        out->p90 = p90;
        out->p99_p50 = p99 / p50; /* p50 >= 1: beta2 >= 1 for any non-flat group */
        out->outlier_frac = (double)out->outliers / (double)out->elems;
    }
    free(beta);
    return 0;
}

int mint_feat_noise(const float *w, int64_t rows, int64_t cols, const float *z, int probes,
                    const float *gamma, enum mint_dtype sdt, struct mint_feat_noise *out,
                    struct mint_err *err)
{
    const struct mint_qcfg c64 = {4, 64}, c32 = {4, 32};
    struct mint_qcfg c;
    float *x = NULL, *e = NULL, *deq = NULL, *ex = NULL, *wx = NULL;
    uint32_t *packed = NULL;
    uint16_t *sc = NULL, *bi = NULL;
    double se = 0, sw = 0, sex = 0, swx = 0;
    const int64_t rb_max = NOISE_BLOCK_ROWS;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (rows <= 0 || cols <= 0 || probes <= 0)
        return 0;
    if (mint_qcfg_available(c64, cols))
        c = c64;
    else if (mint_qcfg_available(c32, cols))
        c = c32;
    else
        return 0;
    out->ref = c;

    x = malloc((size_t)cols * (size_t)probes * sizeof *x);           /* (cols, P) */
    e = malloc((size_t)rb_max * (size_t)cols * sizeof *e);           /* (rb, cols) */
    deq = malloc((size_t)cols * sizeof *deq);                        /* (cols) */
    ex = malloc((size_t)rb_max * (size_t)probes * sizeof *ex);       /* (rb, P) */
    wx = malloc((size_t)rb_max * (size_t)probes * sizeof *wx);       /* (rb, P) */
    packed = malloc((size_t)(cols * c.bits / 32) * sizeof *packed);  /* (cols*b/32) */
    sc = malloc((size_t)(cols / c.group) * sizeof *sc);              /* (cols/g) */
    bi = malloc((size_t)(cols / c.group) * sizeof *bi);              /* (cols/g) */
    if (!x || !e || !deq || !ex || !wx || !packed || !sc || !bi) {
        mint_err_set(err, "out of memory for the noise probes");
        goto out;
    }
    for (int64_t j = 0; j < cols; j++) {
        float gj = gamma ? gamma[j] : 1.0f;
        for (int p = 0; p < probes; p++)
            x[j * probes + p] = gj * z[j * probes + p];
    }
    for (int64_t r0 = 0; r0 < rows; r0 += rb_max) {
        int64_t rb = rows - r0 < rb_max ? rows - r0 : rb_max;
        const float *wb = w + r0 * cols;
        for (int64_t r = 0; r < rb; r++) {
            const float *wr = wb + r * cols;
            float *er = e + r * cols;
            mint_quant_row_mlx(wr, cols, c, sdt, packed, sc, bi);
            mint_dequant_row(packed, sc, bi, cols, c, sdt, deq);
            for (int64_t j = 0; j < cols; j++) {
                double d = (double)deq[j] - (double)wr[j];
                se += d * d;
                sw += (double)wr[j] * wr[j];
                er[j] = deq[j] - wr[j];
            }
        }
        /* EX (rb, P) = E (rb, cols) X (cols, P); WX likewise */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rb, probes, (int)cols, 1.0f,
                    e, (int)cols, x, probes, 0.0f, ex, probes);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rb, probes, (int)cols, 1.0f,
                    wb, (int)cols, x, probes, 0.0f, wx, probes);
        for (int64_t i = 0; i < rb * probes; i++) {
            sex += (double)ex[i] * ex[i];
            swx += (double)wx[i] * wx[i];
        }
    }
    if (sw > 0 && swx > 0 && isfinite(sex) && isfinite(swx)) {
        out->valid = 1;
        out->nrmse_ref = sqrt(se / sw);
        out->delta = sqrt(sex / swx);
        if (out->nrmse_ref > 0) {
            out->amp_valid = 1;
            out->amp = out->delta / out->nrmse_ref;
        }
    }
    rc = 0;
out:
    free(bi);
    free(sc);
    free(packed);
    free(wx);
    free(ex);
    free(deq);
    free(e);
    free(x);
    return rc;
}

void mint_feat_spectral_from(double frob2, const double *sigma, int k_eff,
                             struct mint_feat_spectral *out)
{
    double s1, top = 0, lo;
    int t;
    out->valid = 0;
    out->k_eff = k_eff;
    out->stable_rank = out->tail_mass = out->log_cond = 0;
    if (!(frob2 > 0) || k_eff < 1 || !(sigma[0] > 0))
        return;
    s1 = sigma[0];
    t = k_eff / 10 > 1 ? k_eff / 10 : 1;
    for (int i = 0; i < t; i++)
        top += sigma[i] * sigma[i];
    out->stable_rank = frob2 / (s1 * s1);
    out->tail_mass = 1.0 - top / frob2;
    if (out->tail_mass < 0)
        out->tail_mass = 0;
    if (out->tail_mass > 1)
        out->tail_mass = 1;
    lo = sigma[k_eff - 1];
    if (lo < MINT_FEAT_MIN_SIGMA_REL * s1)
        lo = MINT_FEAT_MIN_SIGMA_REL * s1;
    out->log_cond = log(s1 / lo);
    out->valid = 1;
}

void mint_feat_opt_default(struct mint_feat_opt *o)
{
    o->rsvd.k = MINT_RSVD_RANK;
    o->rsvd.p = MINT_RSVD_OVERSAMPLE;
    o->rsvd.q = MINT_RSVD_POWER_ITERS;
    o->probes = MINT_FEAT_PROBES;
    o->kurt_group = MINT_FEAT_KURT_GROUP;
}

int mint_feat_slice_run(float *w, int64_t rows, int64_t cols, int matrix, const float *gamma,
                        enum mint_dtype sdt, const struct mint_feat_opt *opt, uint64_t seed,
                        struct mint_feat_slice *out, struct mint_err *err)
{
    struct mint_prng rng;
    float *z;
    int keff;

    memset(out, 0, sizeof *out);
    for (int64_t i = 0; i < rows * cols; i++)
        out->frob2 += (double)w[i] * w[i];
    if (mint_feat_kurtosis(w, rows, cols, opt->kurt_group, &out->kurt, err) < 0)
        return -1;
    if (!matrix || rows <= 0 || cols <= 0)
        return 0;

    mint_prng_seed(&rng, seed);
    z = malloc((size_t)cols * (size_t)opt->probes * sizeof *z); /* (cols, P) */
    if (!z)
        return mint_err_set(err, "out of memory for the noise probes");
    mint_prng_normal_f32(&rng, z, (size_t)cols * (size_t)opt->probes);
    if (mint_feat_noise(w, rows, cols, z, opt->probes, gamma, sdt, &out->noise, err) < 0) {
        free(z);
        return -1;
    }
    free(z);

    out->sigma = calloc((size_t)opt->rsvd.k, sizeof *out->sigma);
    if (!out->sigma)
        return mint_err_set(err, "out of memory");
    if (!(out->frob2 > 0))
        return 0; /* A = 0: spectral features null */
    keff = mint_rsvd_values(w, rows, cols, &opt->rsvd, &rng, out->sigma, &out->spec.exact, err);
    if (keff < 0)
        return -1;
    {
        int exact = out->spec.exact;
        mint_feat_spectral_from(out->frob2, out->sigma, keff, &out->spec);
        out->spec.exact = exact;
    }
    return 0;
}

void mint_feat_slice_release(struct mint_feat_slice *s)
{
    free(s->sigma);
    s->sigma = NULL;
}

/* Offset just past the "layers.<layer>." component of name, or -1. */
static long layer_prefix_end(const char *name, int64_t layer)
{
    char key[64];
    size_t n = (size_t)snprintf(key, sizeof key, "layers.%lld.", (long long)layer);
    for (const char *p = name; (p = strstr(p, key)); p++)
        if (p == name || p[-1] == '.')
            return (long)(p - name + (long)n);
    return -1;
}

/* Start of component 'comp' in name (matched between dots), or -1. */
static long comp_start(const char *name, const char *comp)
{
    size_t n = strlen(comp);
    for (const char *p = name; (p = strstr(p, comp)); p++)
        if ((p == name || p[-1] == '.') && (p[n] == 0 || p[n] == '.'))
            return (long)(p - name);
    return -1;
}

static int add(char (*out)[256], int *k, int max, long plen, const char *prefix,
               const char *suffix)
{
    if (*k >= max)
        return 0;
    if (snprintf(out[*k], 256, "%.*s%s", (int)plen, prefix, suffix) < 256)
        (*k)++;
    return 0;
}

int mint_feat_norm_candidates(const char *name, int tied, char (*out)[256], int max)
{
    int64_t layer, expert;
    enum mint_role r = mint_role_classify(name, &layer, &expert);
    int k = 0;
    long pe;

    switch (r) {
    case MINT_ROLE_ATTN_Q:
    case MINT_ROLE_ATTN_K:
    case MINT_ROLE_ATTN_V:
        if (layer < 0 || (pe = layer_prefix_end(name, layer)) < 0)
            return 0;
        add(out, &k, max, pe, name, "input_layernorm.weight");
        add(out, &k, max, pe, name, "attention_norm.weight");
        return k;
    case MINT_ROLE_MLP_GATE:
    case MINT_ROLE_MLP_UP:
    case MINT_ROLE_EXPERT_GATE:
    case MINT_ROLE_EXPERT_UP:
    case MINT_ROLE_ROUTER:
        if (layer < 0 || (pe = layer_prefix_end(name, layer)) < 0)
            return 0;
        add(out, &k, max, pe, name, "post_attention_layernorm.weight");
        add(out, &k, max, pe, name, "ffn_norm.weight");
        return k;
    case MINT_ROLE_EMBED: {
        static const char *const comps[] = {"embed_tokens", "tok_embeddings", "wte",
                                            "word_embeddings"};
        if (!tied)
            return 0;
        for (size_t i = 0; i < sizeof comps / sizeof *comps; i++)
            if ((pe = comp_start(name, comps[i])) >= 0) {
                add(out, &k, max, pe, name, "norm.weight");
                break;
            }
        return k;
    }
    case MINT_ROLE_LM_HEAD:
        if ((pe = comp_start(name, "lm_head")) < 0)
            return 0;
        add(out, &k, max, pe, name, "model.norm.weight");
        add(out, &k, max, pe, name, "model.language_model.norm.weight");
        add(out, &k, max, pe, name, "norm.weight");
        return k;
    default:
        return 0;
    }
}
