/* t-synth: layouts, generator statistics, determinism and the writer of mint-synth. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "mint/err.h"
#include "mint/hash.h"
#include "mint/io.h"
#include "mint/st.h"
#include "mint/synth.h"

/* XXH3-128 of three tensors of `mint-synth --arch tiny --seed 1` (BF16) */
#define GOLDEN_DOWN "a83b0b9961ddfe91c58bc1e16981b528"
#define GOLDEN_QNORM "befa35e187e5351be57a7b41daf16670"
#define GOLDEN_EMBED "24bc9e95a6ccd14f49b9d6e2c6227c86"

static int init(struct mint_synth_model *m, const char *arch, double scale, int64_t layers,
                uint64_t seed, enum mint_dtype dt)
{
    struct mint_synth_opts o = {0};
    struct mint_err err = {0};
    int rc;
    o.arch = arch;
    o.scale = scale;
    o.layers = layers;
    o.seed = seed;
    o.dtype = dt;
    rc = mint_synth_model_init(m, &o, &err);
    CHECK_MSG(rc == 0, "%s: %s", arch, err.msg);
    return rc;
}

static size_t index_of(const struct mint_synth_model *m, const char *name)
{
    const struct mint_synth_tensor *t = mint_synth_find(m, name);
    CHECK_MSG(t != NULL, "no tensor '%s'", name);
    return t ? (size_t)(t - m->t) : 0;
}

/* Pearson kurtosis and variance of x[0..n) (population moments, double) */
static double kurt(const float *x, size_t n, double *var)
{
    double mu = 0, m2 = 0, m4 = 0;
    for (size_t i = 0; i < n; i++)
        mu += x[i];
    mu /= n;
    for (size_t i = 0; i < n; i++) {
        double d = (x[i] - mu) * (x[i] - mu);
        m2 += d;
        m4 += d * d;
    }
    m2 /= n;
    m4 /= n;
    if (var)
        *var = m2;
    return m4 / (m2 * m2);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void test_layouts(void)
{
    static const struct {
        const char *arch;
        size_t n;
        uint64_t params;
        size_t files;
    } want[] = {
        {"llama-3-8b", 291, 8030261248ull, 4},
        {"qwen3-8b", 399, 8190735360ull, 4},
        {"qwen3-30b-a3b", 18867, 30532122624ull, 12},
        {"mixtral-8x7b", 995, 46702792704ull, 18},
    };
    struct mint_synth_model m;
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        if (init(&m, want[k].arch, 1.0, 0, 0, MINT_DT_BF16) < 0)
            continue;
        CHECK_MSG(m.n == want[k].n, "%s: %zu tensors", want[k].arch, m.n);
        CHECK_MSG(m.n_params == want[k].params, "%s: %llu params", want[k].arch,
                  (unsigned long long)m.n_params);
        CHECK_MSG(m.n_files == want[k].files, "%s: %zu files", want[k].arch, m.n_files);
        /* shards: contiguous runs in file order, each within 5 GiB (data alone) */
        {
            uint64_t cur = 0;
            int f = 0, ok = 1;
            for (size_t i = 0; i < m.n; i++) {
                if (m.t[i].file != f) {
                    ok &= m.t[i].file == f + 1;
                    f = m.t[i].file;
                    cur = 0;
                }
                cur += m.t[i].nbytes;
                ok &= cur <= MINT_SYNTH_SHARD_DEFAULT;
            }
            CHECK_MSG(ok, "%s: shard assignment", want[k].arch);
        }
        CHECK_STR(m.t[0].name, "model.embed_tokens.weight");
        CHECK_STR(m.t[m.n - 1].name, "lm_head.weight");
        CHECK(!json_is_true(json_object_get(m.config, "tie_word_embeddings")));
        mint_synth_model_release(&m);
    }

    if (init(&m, "qwen3-30b-a3b", 1.0, 0, 0, MINT_DT_BF16) == 0) {
        const struct mint_synth_tensor *t;
        t = mint_synth_find(&m, "model.layers.47.mlp.experts.127.down_proj.weight");
        CHECK(t && t->shape[0] == 2048 && t->shape[1] == 768);
        t = mint_synth_find(&m, "model.layers.0.mlp.gate.weight");
        CHECK(t && t->shape[0] == 128 && t->shape[1] == 2048);
        t = mint_synth_find(&m, "model.layers.3.self_attn.q_proj.weight");
        CHECK(t && t->shape[0] == 4096 && t->shape[1] == 2048);
        t = mint_synth_find(&m, "model.layers.3.self_attn.k_proj.weight");
        CHECK(t && t->shape[0] == 512 && t->shape[1] == 2048);
        t = mint_synth_find(&m, "model.layers.3.self_attn.k_norm.weight");
        CHECK(t && t->ndim == 1 && t->shape[0] == 128);
        CHECK(mint_synth_find(&m, "model.layers.48.input_layernorm.weight") == NULL);
        CHECK_STR(json_string_value(json_object_get(m.config, "model_type")), "qwen3_moe");
        CHECK(json_integer_value(json_object_get(m.config, "num_experts")) == 128);
        CHECK(json_integer_value(json_object_get(m.config, "moe_intermediate_size")) == 768);
        mint_synth_model_release(&m);
    }
    /* scaled: same names and count, dims multiples of 128 */
    if (init(&m, "qwen3-30b-a3b", 0.05, 0, 0, MINT_DT_BF16) == 0) {
        int ok = 1;
        CHECK(m.n == 18867);
        CHECK(m.d.hidden == 128 && m.d.moe_inter == 128 && m.d.heads == 2 && m.d.kv_heads == 1);
        for (size_t i = 0; i < m.n; i++)
            if (m.t[i].ndim == 2)
                ok &= m.t[i].shape[0] % 128 == 0 || m.t[i].shape[0] == 128 ||
                      strstr(m.t[i].name, "mlp.gate.") != NULL;
        for (size_t i = 0; i < m.n; i++)
            ok &= m.t[i].shape[m.t[i].ndim - 1] % 128 == 0;
        CHECK(ok);
        CHECK(json_integer_value(json_object_get(m.config, "hidden_size")) == 128);
        mint_synth_model_release(&m);
    }
    if (init(&m, "llama-3-8b", 0.25, 3, 0, MINT_DT_BF16) == 0) {
        CHECK(m.n == 3 + 3 * 9);
        CHECK(m.d.hidden == 1024 && m.d.heads == 8 && m.d.kv_heads == 2 && m.d.inter == 3584);
        CHECK(json_integer_value(json_object_get(m.config, "num_hidden_layers")) == 3);
        mint_synth_model_release(&m);
    }
    /* errors */
    {
        struct mint_synth_opts o = {0};
        struct mint_err err = {0};
        o.arch = "gpt-5";
        CHECK(mint_synth_model_init(&m, &o, &err) < 0);
        CHECK(err.code == MINT_EXIT_USAGE && strstr(err.msg, "unknown architecture 'gpt-5'"));
        o.arch = "tiny";
        o.layers = 3;
        memset(&err, 0, sizeof err);
        CHECK(mint_synth_model_init(&m, &o, &err) < 0);
        CHECK(err.code == MINT_EXIT_USAGE && strstr(err.msg, "--layers 3"));
    }
}

static void test_table_exp(void)
{
    struct mint_synth_model m;
    double var = 0, k;
    int asc = 1, sym = 1;
    if (init(&m, "tiny", 1.0, 0, 0, MINT_DT_BF16) < 0)
        return;
    for (uint32_t i = 1; i < MINT_SYNTH_TTABLE; i++)
        asc &= m.ttable[i] > m.ttable[i - 1];
    for (uint32_t i = 0; i < MINT_SYNTH_TTABLE; i++)
        sym &= m.ttable[i] == -m.ttable[MINT_SYNTH_TTABLE - 1 - i];
    CHECK(asc);
    CHECK(sym);
    k = kurt(m.ttable, MINT_SYNTH_TTABLE, &var);
    CHECK_NEAR(var, 1.0, 1e-5);
    CHECK_MSG(k > 6 && k < 9, "table kurtosis %g", k); /* t5: 9, truncated at the table ends */
    CHECK_MSG(m.ttable[MINT_SYNTH_TTABLE - 1] > 8, "max %g", m.ttable[MINT_SYNTH_TTABLE - 1]);
    /* t5 quantile at 0.75 / sqrt(5/3) (the table is truncated: slightly smaller variance) */
    CHECK_NEAR(m.ttable[MINT_SYNTH_TTABLE * 3 / 4], 0.72669 / 1.29099, 1e-3);
    mint_synth_model_release(&m);
    for (double x = -20; x <= 20; x += 0.37) {
        double e = exp(x), d = mint_synth_exp(x);
        CHECK_MSG(fabs(d - e) <= 4e-16 * e, "exp(%g): %.17g vs %.17g", x, d, e);
    }
    CHECK(mint_synth_exp(0) == 1.0);
}

static void test_stats(void)
{
    struct mint_synth_model m;
    struct mint_synth_gen g;
    struct mint_err err = {0};
    const int64_t R = 96;
    float *w;
    double *rk, *crms, *rrms, med, mean = 0, sd = 0;
    int64_t C, nout = 0;

    if (init(&m, "qwen3-8b", 1.0, 1, 7, MINT_DT_BF16) < 0)
        return;
    CHECK(mint_synth_gen_init(&g, &m, index_of(&m, "model.layers.0.mlp.gate_proj.weight"),
                              &err) == 0);
    C = g.cols;
    CHECK(C == 4096 && g.rows == 12288);
    w = malloc((size_t)(R * C) * sizeof *w);
    rk = malloc((size_t)R * sizeof *rk);
    crms = calloc((size_t)C, sizeof *crms);
    rrms = calloc((size_t)R, sizeof *rrms);
    mint_synth_gen_f32(&g, 1000, R, w);
    /* outlier columns: RMS over rows far above the median column */
    for (int64_t r = 0; r < R; r++)
        for (int64_t j = 0; j < C; j++)
            crms[j] += (double)w[r * C + j] * w[r * C + j];
    {
        double *s = malloc((size_t)C * sizeof *s);
        memcpy(s, crms, (size_t)C * sizeof *s);
        qsort(s, (size_t)C, sizeof *s, cmp_double);
        med = s[C / 2];
        free(s);
    }
    for (int64_t j = 0; j < C; j++)
        nout += crms[j] > 50 * med; /* x10 in amplitude = x100 in energy, with slack */
    CHECK_MSG(nout >= 15 && nout <= 25, "%lld outlier columns of %lld", (long long)nout,
              (long long)C);
    /* heavy-tailed rows: kurtosis of the body (outlier columns excluded) */
    {
        float *body = malloc((size_t)C * sizeof *body);
        for (int64_t r = 0; r < R; r++) {
            int64_t n = 0;
            for (int64_t j = 0; j < C; j++)
                if (crms[j] <= 50 * med)
                    body[n++] = w[r * C + j];
            rk[r] = kurt(body, (size_t)n, &rrms[r]);
        }
        free(body);
    }
    qsort(rk, (size_t)R, sizeof *rk, cmp_double);
    CHECK_MSG(rk[R / 2] > 4.5, "median row kurtosis %g", rk[R / 2]);
    CHECK_MSG(rk[0] > 3.0, "min row kurtosis %g", rk[0]);
    {
        double k = kurt(w, (size_t)C, NULL); /* one full row, outliers included */
        CHECK_MSG(k > 20, "row kurtosis with outliers %g", k);
    }
    /* row-norm variation */
    for (int64_t r = 0; r < R; r++)
        mean += sqrt(rrms[r]) / R;
    for (int64_t r = 0; r < R; r++)
        sd += (sqrt(rrms[r]) - mean) * (sqrt(rrms[r]) - mean) / R;
    sd = sqrt(sd);
    CHECK_MSG(sd / mean > 0.08 && sd / mean < 0.3, "row rms cv %g", sd / mean);
    CHECK_MSG(mean > 0.01 && mean < 0.04, "body std %g", mean);

    /* block independence: rows generated on their own equal the same rows of a larger block */
    {
        float *v = malloc((size_t)(3 * C) * sizeof *v);
        mint_synth_gen_f32(&g, 1010, 3, v);
        CHECK(memcmp(v, w + 10 * C, (size_t)(3 * C) * sizeof *v) == 0);
        free(v);
    }
    /* dtype paths are the RNE rounding of the float32 reference */
    {
        uint16_t *h = malloc((size_t)(R * C) * sizeof *h);
        float *scratch = malloc((size_t)C * sizeof *scratch);
        int ok = 1;
        mint_synth_gen_rows(&g, 1000, R, h, scratch);
        for (int64_t i = 0; i < R * C; i++)
            ok &= h[i] == mint_f32_to_bf16(w[i]);
        CHECK(ok);
        m.dtype = MINT_DT_F16;
        mint_synth_gen_rows(&g, 1000, R, h, scratch);
        ok = 1;
        for (int64_t i = 0; i < R * C; i++)
            ok &= h[i] == mint_f32_to_f16(w[i]);
        CHECK(ok);
        m.dtype = MINT_DT_BF16;
        free(h);
        free(scratch);
    }
    mint_synth_gen_release(&g);

    /* embeddings: stronger row-norm variation */
    CHECK(mint_synth_gen_init(&g, &m, index_of(&m, "model.embed_tokens.weight"), &err) == 0);
    mint_synth_gen_f32(&g, 5000, R, w);
    mean = sd = 0;
    for (int64_t r = 0; r < R; r++) {
        double v;
        kurt(w + r * C, (size_t)C, &v);
        rrms[r] = sqrt(v);
        mean += rrms[r] / R;
    }
    for (int64_t r = 0; r < R; r++)
        sd += (rrms[r] - mean) * (rrms[r] - mean) / R;
    CHECK_MSG(sqrt(sd) / mean > 0.25, "embedding row-norm cv %g", sqrt(sd) / mean);
    mint_synth_gen_release(&g);

    /* RMSNorm gains: positive, spread, a few large values */
    CHECK(mint_synth_gen_init(&g, &m, index_of(&m, "model.layers.0.input_layernorm.weight"),
                              &err) == 0);
    mint_synth_gen_f32(&g, 0, 1, w);
    {
        double *s = malloc((size_t)C * sizeof *s), v;
        int pos = 1;
        for (int64_t j = 0; j < C; j++) {
            pos &= w[j] > 0;
            s[j] = w[j];
        }
        qsort(s, (size_t)C, sizeof *s, cmp_double);
        CHECK(pos);
        CHECK_MSG(s[C - 1] > 4 * s[C / 2], "max gain %g, median %g", s[C - 1], s[C / 2]);
        CHECK_MSG(s[C * 9 / 10] > 1.2 * s[C / 10], "gain spread p10 %g p90 %g", s[C / 10],
                  s[C * 9 / 10]);
        kurt(w, (size_t)C, &v);
        CHECK(v > 0);
        free(s);
    }
    mint_synth_gen_release(&g);
    mint_synth_model_release(&m);

    /* per-layer drift: the last layer's q_proj is wider than the first's */
    if (init(&m, "qwen3-8b", 0.25, 0, 7, MINT_DT_BF16) == 0) {
        double v0, v1;
        CHECK(mint_synth_gen_init(&g, &m, index_of(&m, "model.layers.0.self_attn.q_proj.weight"),
                                  &err) == 0);
        mint_synth_gen_f32(&g, 0, 64, w);
        kurt(w, (size_t)(64 * g.cols), &v0);
        mint_synth_gen_release(&g);
        CHECK(mint_synth_gen_init(&g, &m, index_of(&m, "model.layers.35.self_attn.q_proj.weight"),
                                  &err) == 0);
        mint_synth_gen_f32(&g, 0, 64, w);
        kurt(w, (size_t)(64 * g.cols), &v1);
        mint_synth_gen_release(&g);
        CHECK_MSG(v1 > 1.1 * v0, "layer 0 var %g, layer 35 var %g", v0, v1);
        mint_synth_model_release(&m);
    }
    free(w);
    free(rk);
    free(crms);
    free(rrms);
}

static void hash_tensor(const struct mint_synth_model *m, const char *name, char hex[33])
{
    struct mint_synth_gen g;
    struct mint_err err = {0};
    void *buf;
    float *scratch;
    size_t es = mint_dtype_size(m->dtype);
    CHECK(mint_synth_gen_init(&g, m, index_of(m, name), &err) == 0);
    buf = malloc((size_t)(g.rows * g.cols) * es);
    scratch = malloc((size_t)g.cols * sizeof *scratch);
    mint_synth_gen_rows(&g, 0, g.rows, buf, scratch);
    mint_hash_hex(buf, (size_t)(g.rows * g.cols) * es, hex);
    free(buf);
    free(scratch);
    mint_synth_gen_release(&g);
}

static void test_determinism(void)
{
    struct mint_synth_model a, b, c;
    char ha[33], hb[33], hc[33];
    if (init(&a, "tiny", 1.0, 0, 1, MINT_DT_BF16) < 0 ||
        init(&b, "tiny", 1.0, 0, 1, MINT_DT_BF16) < 0 ||
        init(&c, "tiny", 1.0, 0, 2, MINT_DT_BF16) < 0)
        return;
    hash_tensor(&a, "model.layers.1.mlp.down_proj.weight", ha);
    hash_tensor(&b, "model.layers.1.mlp.down_proj.weight", hb);
    hash_tensor(&c, "model.layers.1.mlp.down_proj.weight", hc);
    CHECK_STR(ha, hb);
    CHECK(strcmp(ha, hc) != 0);
    /* golden bytes: the same on every machine (bump MINT_SYNTH_VERSION when they change) */
    printf("golden: %s\n", ha);
    CHECK_STR(ha, GOLDEN_DOWN);
    hash_tensor(&a, "model.layers.0.self_attn.q_norm.weight", ha);
    printf("golden: %s\n", ha);
    CHECK_STR(ha, GOLDEN_QNORM);
    hash_tensor(&a, "model.embed_tokens.weight", ha);
    printf("golden: %s\n", ha);
    CHECK_STR(ha, GOLDEN_EMBED);
    mint_synth_model_release(&a);
    mint_synth_model_release(&b);
    mint_synth_model_release(&c);
}

static void test_write(void)
{
    struct mint_synth_model m;
    struct mint_st_model st;
    struct mint_err err = {0};
    char tmpl[] = "/tmp/t-synth-XXXXXX", *dir, *sub, *marker;
    struct mint_synth_opts o = {0};

    dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir)
        return;
    sub = mint_path_join(dir, "m");
    o.arch = "tiny-moe";
    o.seed = 3;
    o.shard_size = 1u << 20; /* several shards */
    CHECK(mint_synth_model_init(&m, &o, &err) == 0);
    CHECK(m.n_files > 2);
    CHECK_MSG(mint_synth_write(&m, sub, 0, 2, &err) == 0, "%s", err.msg);
    CHECK_MSG(mint_st_model_open(&st, sub, &err) == 0, "%s", err.msg);
    if (st.n_tensors) {
        int ok = 1;
        CHECK(st.n_tensors == m.n);
        CHECK(st.n_files == m.n_files);
        for (size_t i = 0; i < m.n; i++) {
            const struct mint_st_tensor *t = mint_st_model_find(&st, m.t[i].name);
            struct mint_synth_gen g;
            void *buf;
            float *scratch;
            if (!t) {
                ok = 0;
                continue;
            }
            mint_synth_gen_init(&g, &m, i, &err);
            buf = malloc(m.t[i].nbytes);
            scratch = malloc((size_t)g.cols * sizeof *scratch);
            mint_synth_gen_rows(&g, 0, g.rows, buf, scratch);
            ok &= t->nbytes == m.t[i].nbytes &&
                  memcmp(buf, mint_st_model_data(&st, t), t->nbytes) == 0 &&
                  !strcmp(st.files[t->file].name, m.files[m.t[i].file]);
            free(buf);
            free(scratch);
            mint_synth_gen_release(&g);
        }
        CHECK(ok);
        CHECK(st.num_layers == 2);
        mint_st_model_release(&st);
    }
    /* an existing non-empty directory is kept unless forced */
    memset(&err, 0, sizeof err);
    CHECK(mint_synth_write(&m, sub, 0, 1, &err) < 0);
    CHECK_MSG(strstr(err.msg, "exists and is not empty") != NULL, "%s", err.msg);
    marker = mint_path_join(sub, "marker");
    CHECK(mint_write_file(marker, "x", 1, &err) == 0);
    CHECK(mint_synth_write(&m, sub, 1, 1, &err) == 0);
    CHECK(access(marker, F_OK) != 0); /* replaced */
    {
        char *cfg = mint_path_join(sub, "config.json");
        CHECK(access(cfg, F_OK) == 0);
        free(cfg);
    }
    free(marker);
    mint_synth_model_release(&m);
    free(sub);
    CHECK(mint_rmtree(dir) == 0);
}

int main(void)
{
    test_layouts();
    test_table_exp();
    test_stats();
    test_determinism();
    test_write();
    return CHECK_DONE();
}
