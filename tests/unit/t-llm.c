/* t-llm: the forward pass.
 *
 * 1. Kernels on hand-computed cases: RMSNorm, RoPE (rotate-half), log-sum-exp, the softmax
 *    exponential against exp(), mint_mat_mul for F32/BF16/F16/quantized storage and a bias.
 * 2. Tiny models written here (random weights, fixed seed) in three families -- Llama (GQA,
 *    tied), Qwen2 (q/k/v biases, untied head), Qwen3 (q_norm/k_norm, head_dim != hidden/heads,
 *    llama3 RoPE scaling) -- against a naive float64 forward pass written out below.
 * 3. A tiny MLX-quantized model (mint_quant_row_mlx, mixed bits/groups with per-module config
 *    overrides, one module left float, quantized tied embedding) gives the same logits as the
 *    dense model holding its dequantized weights.
 * 4. The bundled models: window 0 of the reference ids (tests/data/reference) reproduces the
 *    float64 mean NLL and first logits of window0.json.
 * 5. Bad models are refused with a message (model_type, missing tensor, shape, quantization). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "mint/err.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/llm.h"
#include "mint/quant.h"
#include "mint/st.h"

/* ------------------------------------------------------------------ kernels */

static void test_kernels(void)
{
    float x[4] = {1, 2, 3, 4}, w[4] = {1, 1, 2, 0.5f}, y[4];
    mint_rmsnorm(x, w, 4, 0.0, y);
    double r = 1.0 / sqrt(7.5);
    CHECK_NEAR(y[0], r, 1e-6);
    CHECK_NEAR(y[1], 2 * r, 1e-6);
    CHECK_NEAR(y[2], 6 * r, 1e-6);
    CHECK_NEAR(y[3], 2 * r, 1e-6);
    mint_rmsnorm(x, w, 4, 1.0, y); /* eps enters under the root */
    CHECK_NEAR(y[0], 1.0 / sqrt(8.5), 1e-6);

    double inv[2] = {1.0, 0.01};
    float v[4] = {1, 0, 0, 1};
    mint_rope(v, 4, inv, 1); /* pairs (0,2) and (1,3) */
    CHECK_NEAR(v[0], cos(1.0), 1e-6);
    CHECK_NEAR(v[2], sin(1.0), 1e-6);
    CHECK_NEAR(v[1], -sin(0.01), 1e-6);
    CHECK_NEAR(v[3], cos(0.01), 1e-6);
    float u[4] = {0.5f, -1, 2, 3};
    mint_rope(u, 4, inv, 0); /* position 0 is the identity */
    CHECK(u[0] == 0.5f && u[1] == -1 && u[2] == 2 && u[3] == 3);

    float l[3] = {1, 2, 3};
    CHECK_NEAR(mint_logsumexp(l, 3), log(exp(1.0) + exp(2.0) + exp(3.0)), 1e-9);
    float big[2] = {1000, 1000};
    CHECK_NEAR(mint_logsumexp(big, 2), 1000 + log(2.0), 1e-9);

    double worst = 0;
    for (int i = 0; i <= 870000; i++) {
        float t = -(float)i * 1e-4f;
        double e = exp((double)t), rel = fabs(mint_exp_neg(t) - e) / e;
        worst = rel > worst ? rel : worst;
    }
    CHECK_MSG(worst < 3e-7, "exp_neg relative error %g", worst);
    CHECK(mint_exp_neg(0.0f) == 1.0f);
    CHECK(mint_exp_neg(-1e30f) < 1e-37f && mint_exp_neg(-INFINITY) < 1e-37f);
}

/* deterministic uniform [-1, 1) */
static float rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(*s >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
}

static void test_matmul(void)
{
    enum { R = 40, C = 64, N = 3 };
    static float w[R * C], x[N * C], y[N * R], buf[R * C], bias[R];
    static uint16_t wb[R * C], wh[R * C], sc[R * C / 32], bi[R * C / 32];
    static uint32_t pk[R * C * 4 / 32];
    static float deq[R * C];
    uint64_t s = 7;
    for (int i = 0; i < R * C; i++) {
        w[i] = mint_round_to(MINT_DT_BF16, rnd(&s)); /* exact in BF16 and (range) F16 */
        wb[i] = mint_f32_to_bf16(w[i]);
        wh[i] = mint_f32_to_f16(w[i]);
    }
    for (int i = 0; i < N * C; i++)
        x[i] = rnd(&s);
    for (int i = 0; i < R; i++)
        bias[i] = rnd(&s);
    struct mint_mat m = {.rows = R, .cols = C, .dt = MINT_DT_F32, .w = w};
    for (int pass = 0; pass < 4; pass++) {
        const float *ref = w;
        if (pass == 1)
            m.dt = MINT_DT_BF16, m.w = wb;
        if (pass == 2)
            m.dt = MINT_DT_F16, m.w = wh;
        if (pass == 3) {
            struct mint_qcfg q = {4, 32};
            for (int r = 0; r < R; r++) {
                mint_quant_row_mlx(w + r * C, C, q, MINT_DT_BF16, pk + r * C * 4 / 32,
                                   sc + r * C / 32, bi + r * C / 32);
                mint_dequant_row(pk + r * C * 4 / 32, sc + r * C / 32, bi + r * C / 32, C, q,
                                 MINT_DT_BF16, deq + r * C);
            }
            m.quantized = 1, m.q = q, m.sdt = MINT_DT_BF16, m.w = pk, m.scales = sc,
            m.biases = bi, m.bias = bias;
            ref = deq;
        }
        CHECK(mint_mat_buf_floats(&m) <= R * C);
        mint_mat_mul(&m, x, N, y, buf);
        double err = 0;
        for (int i = 0; i < N; i++)
            for (int r = 0; r < R; r++) {
                double d = pass == 3 ? bias[r] : 0.0;
                for (int k = 0; k < C; k++)
                    d += (double)x[i * C + k] * ref[r * C + k];
                err = fmax(err, fabs(d - y[i * R + r]));
            }
        CHECK_MSG(err < 1e-4, "matmul pass %d error %g", pass, err);
        float row[C];
        mint_mat_row(&m, 5, row);
        CHECK(!memcmp(row, ref + 5 * C, sizeof row));
    }
}

/* ------------------------------------------------------------------ tiny models */

struct tensor {
    char name[128];
    enum mint_dtype dt;
    int ndim;
    int64_t shape[2];
    void *data;
    size_t nbytes;
};

struct tmodel {
    struct tensor t[128];
    int n;
};

static struct tensor *tm_add(struct tmodel *tm, const char *name, enum mint_dtype dt, int ndim,
                             int64_t a, int64_t b)
{
    struct tensor *t = &tm->t[tm->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dt = dt;
    t->ndim = ndim;
    t->shape[0] = a;
    t->shape[1] = b;
    t->nbytes = (size_t)(a * (ndim > 1 ? b : 1)) * mint_dtype_size(dt);
    t->data = calloc(1, t->nbytes);
    return t;
}

static void tm_free(struct tmodel *tm)
{
    for (int i = 0; i < tm->n; i++)
        free(tm->t[i].data);
    tm->n = 0;
}

static int tm_write(const struct tmodel *tm, const char *dir, const char *config)
{
    struct mint_st_wentry e[128];
    unsigned char *hdr;
    size_t hs;
    uint64_t ds;
    struct mint_err err = {0};
    char *p;
    FILE *f;
    mint_mkdirs(dir, &err);
    for (int i = 0; i < tm->n; i++) {
        memset(&e[i], 0, sizeof e[i]);
        e[i].name = tm->t[i].name;
        e[i].dtype = tm->t[i].dt;
        e[i].ndim = tm->t[i].ndim;
        e[i].shape[0] = tm->t[i].shape[0];
        e[i].shape[1] = tm->t[i].shape[1];
    }
    json_t *meta = json_pack("{s:s}", "format", "mlx");
    if (mint_st_plan(e, (size_t)tm->n, meta, &hdr, &hs, &ds, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        json_decref(meta);
        return -1;
    }
    json_decref(meta);
    p = mint_path_join(dir, "model.safetensors");
    f = fopen(p, "wb");
    free(p);
    fwrite(hdr, 1, hs, f);
    free(hdr);
    for (int i = 0; i < tm->n; i++)
        for (int j = 0; j < tm->n; j++)
            if (!strcmp(e[i].name, tm->t[j].name))
                fwrite(tm->t[j].data, 1, tm->t[j].nbytes, f);
    fclose(f);
    p = mint_path_join(dir, "config.json");
    mint_write_file(p, config, strlen(config), &err);
    free(p);
    return 0;
}

struct arch {
    const char *type;
    int64_t hidden, layers, heads, kv, hd, ffn, vocab;
    int tied, biases, qk_norm, llama3_rope;
    int sliding; /* mistral sliding_window (0: none) */
};

static float *tm_find(struct tmodel *tm, const char *name)
{
    for (int i = 0; i < tm->n; i++)
        if (!strcmp(tm->t[i].name, name))
            return tm->t[i].data;
    return NULL;
}

static void build_dense(struct tmodel *tm, const struct arch *a, uint64_t seed)
{
    char n[160];
    int64_t qd = a->heads * a->hd, kvd = a->kv * a->hd;
    uint64_t s = seed;
#define RAND(t, scale)                                                                       \
    do {                                                                                     \
        float *d_ = (t)->data;                                                               \
        for (size_t i_ = 0; i_ < (t)->nbytes / 4; i_++)                                      \
            d_[i_] = rnd(&s) * (scale);                                                      \
    } while (0)
#define NORM(t)                                                                              \
    do {                                                                                     \
        float *d_ = (t)->data;                                                               \
        for (size_t i_ = 0; i_ < (t)->nbytes / 4; i_++)                                      \
            d_[i_] = 1.0f + 0.2f * rnd(&s);                                                  \
    } while (0)
    struct tensor *t = tm_add(tm, "model.embed_tokens.weight", MINT_DT_F32, 2, a->vocab,
                              a->hidden);
    RAND(t, 1.0f);
    if (!a->tied) {
        t = tm_add(tm, "lm_head.weight", MINT_DT_F32, 2, a->vocab, a->hidden);
        RAND(t, 0.5f);
    }
    t = tm_add(tm, "model.norm.weight", MINT_DT_F32, 1, a->hidden, 0);
    NORM(t);
    for (int64_t l = 0; l < a->layers; l++) {
        static const char *mods[7] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                      "self_attn.o_proj", "mlp.gate_proj",    "mlp.up_proj",
                                      "mlp.down_proj"};
        int64_t rows[7] = {qd, kvd, kvd, a->hidden, a->ffn, a->ffn, a->hidden};
        int64_t cols[7] = {a->hidden, a->hidden, a->hidden, qd, a->hidden, a->hidden, a->ffn};
        for (int k = 0; k < 7; k++) {
            snprintf(n, sizeof n, "model.layers.%lld.%s.weight", (long long)l, mods[k]);
            t = tm_add(tm, n, MINT_DT_F32, 2, rows[k], cols[k]);
            RAND(t, (float)(1.5 / sqrt((double)cols[k])));
            if (a->biases && k < 3) {
                snprintf(n, sizeof n, "model.layers.%lld.%s.bias", (long long)l, mods[k]);
                t = tm_add(tm, n, MINT_DT_F32, 1, rows[k], 0);
                RAND(t, 0.3f);
            }
        }
        snprintf(n, sizeof n, "model.layers.%lld.input_layernorm.weight", (long long)l);
        t = tm_add(tm, n, MINT_DT_F32, 1, a->hidden, 0);
        NORM(t);
        snprintf(n, sizeof n, "model.layers.%lld.post_attention_layernorm.weight", (long long)l);
        t = tm_add(tm, n, MINT_DT_F32, 1, a->hidden, 0);
        NORM(t);
        if (a->qk_norm) {
            snprintf(n, sizeof n, "model.layers.%lld.self_attn.q_norm.weight", (long long)l);
            t = tm_add(tm, n, MINT_DT_F32, 1, a->hd, 0);
            NORM(t);
            snprintf(n, sizeof n, "model.layers.%lld.self_attn.k_norm.weight", (long long)l);
            t = tm_add(tm, n, MINT_DT_F32, 1, a->hd, 0);
            NORM(t);
        }
    }
#undef RAND
#undef NORM
}

static char *arch_config(const struct arch *a, const char *extra)
{
    static const char *archs[][2] = {{"llama", "LlamaForCausalLM"},
                                     {"qwen2", "Qwen2ForCausalLM"},
                                     {"qwen3", "Qwen3ForCausalLM"},
                                     {"mistral", "MistralForCausalLM"}};
    const char *an = "?";
    for (int i = 0; i < 4; i++)
        if (!strcmp(archs[i][0], a->type))
            an = archs[i][1];
    char *c = malloc(4096);
    snprintf(c, 4096,
             "{\"architectures\": [\"%s\"], \"model_type\": \"%s\", \"hidden_size\": %lld, "
             "\"num_hidden_layers\": %lld, \"num_attention_heads\": %lld, "
             "\"num_key_value_heads\": %lld, \"head_dim\": %lld, \"intermediate_size\": %lld, "
             "\"vocab_size\": %lld, \"rms_norm_eps\": 1e-05, \"rope_theta\": 500.0, "
             "\"hidden_act\": \"silu\", \"tie_word_embeddings\": %s%s%s%s}",
             an, a->type, (long long)a->hidden, (long long)a->layers, (long long)a->heads,
             (long long)a->kv, (long long)a->hd, (long long)a->ffn, (long long)a->vocab,
             a->tied ? "true" : "false",
             a->llama3_rope ? ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, "
                              "\"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, "
                              "\"original_max_position_embeddings\": 64}"
                            : "",
             a->sliding ? ", \"sliding_window\": 8" : "", extra ? extra : "");
    return c;
}

/* naive float64 forward; logits (n, vocab) */
static void ref_forward(struct tmodel *tm, const struct arch *a, const int32_t *tok, int n,
                        double *logits)
{
    int64_t H = a->hidden, hd = a->hd, qd = a->heads * hd, kvd = a->kv * hd, F = a->ffn;
    double *x = calloc((size_t)(n * H), 8), *h = calloc((size_t)(n * H), 8);
    double *q = calloc((size_t)(n * qd), 8), *k = calloc((size_t)(n * kvd), 8);
    double *v = calloc((size_t)(n * kvd), 8), *o = calloc((size_t)(n * qd), 8);
    double *g = calloc((size_t)(n * F), 8), *u = calloc((size_t)(n * F), 8);
    double inv[64];
    char nm[160];
    for (int64_t i = 0; i < hd / 2; i++) {
        double f = pow(500.0, -(double)(2 * i) / (double)hd);
        if (a->llama3_rope) {
            double wl = 2 * M_PI / f, lo = 64.0 / 1.0, hi = 64.0 / 4.0;
            if (wl > lo)
                f /= 8.0;
            else if (wl >= hi) {
                double sm = (64.0 / wl - 1.0) / 3.0;
                f = (1 - sm) * f / 8.0 + sm * f;
            }
        }
        inv[i] = f;
    }
    const float *E = tm_find(tm, "model.embed_tokens.weight");
    for (int i = 0; i < n; i++)
        for (int64_t c = 0; c < H; c++)
            x[i * H + c] = E[tok[i] * H + c];
#define W(fmt, ...) (snprintf(nm, sizeof nm, fmt, __VA_ARGS__), tm_find(tm, nm))
    for (int64_t l = 0; l < a->layers; l++) {
        const float *an = W("model.layers.%lld.input_layernorm.weight", (long long)l);
        for (int i = 0; i < n; i++) {
            double ss = 0;
            for (int64_t c = 0; c < H; c++)
                ss += x[i * H + c] * x[i * H + c];
            double r = 1 / sqrt(ss / H + 1e-5);
            for (int64_t c = 0; c < H; c++)
                h[i * H + c] = x[i * H + c] * r * an[c];
        }
        double *outs[3] = {q, k, v};
        int64_t rows[3] = {qd, kvd, kvd};
        const char *pn[3] = {"q", "k", "v"};
        for (int p = 0; p < 3; p++) {
            const float *Wm = W("model.layers.%lld.self_attn.%s_proj.weight", (long long)l, pn[p]);
            const float *B = W("model.layers.%lld.self_attn.%s_proj.bias", (long long)l, pn[p]);
            for (int i = 0; i < n; i++)
                for (int64_t r = 0; r < rows[p]; r++) {
                    double d = B ? B[r] : 0;
                    for (int64_t c = 0; c < H; c++)
                        d += h[i * H + c] * Wm[r * H + c];
                    outs[p][i * rows[p] + r] = d;
                }
        }
        for (int p = 0; p < 2; p++) {
            const float *qn = a->qk_norm ? W("model.layers.%lld.self_attn.%s_norm.weight",
                                             (long long)l, pn[p])
                                         : NULL;
            int64_t nh = p == 0 ? a->heads : a->kv;
            for (int i = 0; i < n; i++)
                for (int64_t hh = 0; hh < nh; hh++) {
                    double *z = outs[p] + i * rows[p] + hh * hd;
                    if (qn) {
                        double ss = 0;
                        for (int64_t c = 0; c < hd; c++)
                            ss += z[c] * z[c];
                        double r = 1 / sqrt(ss / hd + 1e-5);
                        for (int64_t c = 0; c < hd; c++)
                            z[c] = z[c] * r * qn[c];
                    }
                    for (int64_t c = 0; c < hd / 2; c++) {
                        double an2 = i * inv[c], x1 = z[c], x2 = z[c + hd / 2];
                        z[c] = x1 * cos(an2) - x2 * sin(an2);
                        z[c + hd / 2] = x2 * cos(an2) + x1 * sin(an2);
                    }
                }
        }
        for (int64_t hh = 0; hh < a->heads; hh++) {
            int64_t kh = hh / (a->heads / a->kv);
            for (int i = 0; i < n; i++) {
                double sc[512], mx = -1e300, sum = 0;
                int j0 = a->sliding && i >= a->sliding ? i - a->sliding + 1 : 0;
                for (int j = 0; j < j0; j++)
                    sc[j] = -INFINITY;
                for (int j = j0; j <= i; j++) {
                    double d = 0;
                    for (int64_t c = 0; c < hd; c++)
                        d += q[i * qd + hh * hd + c] * k[j * kvd + kh * hd + c];
                    sc[j] = d / sqrt((double)hd);
                    mx = fmax(mx, sc[j]);
                }
                for (int j = 0; j <= i; j++)
                    sum += (sc[j] = exp(sc[j] - mx));
                for (int64_t c = 0; c < hd; c++) {
                    double d = 0;
                    for (int j = 0; j <= i; j++)
                        d += sc[j] / sum * v[j * kvd + kh * hd + c];
                    o[i * qd + hh * hd + c] = d;
                }
            }
        }
        const float *Wo = W("model.layers.%lld.self_attn.o_proj.weight", (long long)l);
        for (int i = 0; i < n; i++)
            for (int64_t r = 0; r < H; r++) {
                double d = 0;
                for (int64_t c = 0; c < qd; c++)
                    d += o[i * qd + c] * Wo[r * qd + c];
                x[i * H + r] += d;
            }
        const float *pn2 = W("model.layers.%lld.post_attention_layernorm.weight", (long long)l);
        for (int i = 0; i < n; i++) {
            double ss = 0;
            for (int64_t c = 0; c < H; c++)
                ss += x[i * H + c] * x[i * H + c];
            double r = 1 / sqrt(ss / H + 1e-5);
            for (int64_t c = 0; c < H; c++)
                h[i * H + c] = x[i * H + c] * r * pn2[c];
        }
        const float *Wg = W("model.layers.%lld.mlp.gate_proj.weight", (long long)l);
        const float *Wu = W("model.layers.%lld.mlp.up_proj.weight", (long long)l);
        const float *Wd = W("model.layers.%lld.mlp.down_proj.weight", (long long)l);
        for (int i = 0; i < n; i++)
            for (int64_t r = 0; r < F; r++) {
                double dg = 0, du = 0;
                for (int64_t c = 0; c < H; c++) {
                    dg += h[i * H + c] * Wg[r * H + c];
                    du += h[i * H + c] * Wu[r * H + c];
                }
                g[i * F + r] = dg / (1 + exp(-dg)) * du;
            }
        for (int i = 0; i < n; i++)
            for (int64_t r = 0; r < H; r++) {
                double d = 0;
                for (int64_t c = 0; c < F; c++)
                    d += g[i * F + c] * Wd[r * F + c];
                x[i * H + r] += d;
            }
    }
    const float *fn = tm_find(tm, "model.norm.weight");
    const float *Hd = a->tied ? E : tm_find(tm, "lm_head.weight");
    for (int i = 0; i < n; i++) {
        double ss = 0;
        for (int64_t c = 0; c < H; c++)
            ss += x[i * H + c] * x[i * H + c];
        double r = 1 / sqrt(ss / H + 1e-5);
        for (int64_t c = 0; c < H; c++)
            h[i * H + c] = x[i * H + c] * r * fn[c];
        for (int64_t t = 0; t < a->vocab; t++) {
            double d = 0;
            for (int64_t c = 0; c < H; c++)
                d += h[i * H + c] * Hd[t * H + c];
            logits[i * a->vocab + t] = d;
        }
    }
#undef W
    free(x), free(h), free(q), free(k), free(v), free(o), free(g), free(u);
}

static void test_arch(const struct arch *a, const char *root)
{
    struct tmodel tm = {0};
    char dir[512];
    struct mint_err err = {0};
    struct mint_llm m;
    enum { N = 40 };
    int32_t tok[N];
    uint64_t s = 99;
    snprintf(dir, sizeof dir, "%s/%s", root, a->type);
    build_dense(&tm, a, 1234);
    char *cfg = arch_config(a, NULL);
    CHECK(tm_write(&tm, dir, cfg) == 0);
    free(cfg);
    for (int i = 0; i < N; i++)
        tok[i] = (int32_t)((rnd(&s) + 1.0f) * 0.5f * (float)a->vocab) % (int32_t)a->vocab;
    int rc = mint_llm_open(&m, dir, &err);
    CHECK_MSG(rc == 0, "%s: %s", a->type, err.msg);
    if (rc == 0) {
        float *lg = malloc((size_t)(N * a->vocab) * sizeof *lg);
        double *ref = malloc((size_t)(N * a->vocab) * sizeof *ref), nll[N], worst = 0, wn = 0;
        CHECK(mint_llm_forward(&m, tok, N, nll, lg, &err) == 0);
        ref_forward(&tm, a, tok, N, ref);
        for (int i = 0; i < N * a->vocab; i++)
            worst = fmax(worst, fabs(ref[i] - lg[i]));
        for (int i = 0; i + 1 < N; i++) {
            double ls = mint_logsumexp(lg + i * a->vocab, a->vocab);
            wn = fmax(wn, fabs(nll[i] - (ls - lg[i * a->vocab + tok[i + 1]])));
        }
        CHECK_MSG(worst < 2e-4, "%s: logits differ from the float64 reference by %g", a->type,
                  worst);
        CHECK_MSG(wn < 1e-6, "%s: nll vs logits %g", a->type, wn); /* float exp: 3e-7 */
        CHECK(m.cfg.tied == a->tied && m.cfg.qk_norm == a->qk_norm);
        CHECK(m.model_bytes > 0 && m.n_quantized == 0);
        free(lg);
        free(ref);
        mint_llm_release(&m);
    }
    tm_free(&tm);
}

/* quantize every matrix (per-module bits/group), write both the packed model and the dense
 * model of its dequantized weights, and compare their logits */
static void test_quantized(const char *root)
{
    const struct arch a = {"llama", 64, 2, 4, 2, 16, 128, 96, 1, 0, 0, 0, 0};
    struct tmodel dense = {0}, packed = {0}, deq = {0};
    char qdir[512], ddir[512];
    struct mint_err err = {0};
    build_dense(&dense, &a, 4321);
    /* per-module choices: default (4, 64); overrides below; down_proj of layer 1 float */
    struct {
        const char *mod;
        int bits, group;
    } over[] = {{"model.layers.0.self_attn.v_proj", 8, 32},
                {"model.layers.0.mlp.up_proj", 3, 32},
                {"model.layers.1.self_attn.q_proj", 2, 64},
                {"model.layers.1.mlp.gate_proj", 5, 32},
                {"model.layers.0.mlp.down_proj", 4, 128},
                {"model.layers.1.self_attn.o_proj", 6, 32},
                {"model.layers.1.mlp.down_proj", 0, 0}};
    for (int i = 0; i < dense.n; i++) {
        struct tensor *t = &dense.t[i];
        char mod[128];
        struct mint_qcfg q = {4, 64};
        int quant = t->ndim == 2;
        snprintf(mod, sizeof mod, "%.*s", (int)(strlen(t->name) - 7), t->name);
        for (size_t k = 0; k < sizeof over / sizeof *over; k++)
            if (!strcmp(mod, over[k].mod)) {
                q.bits = over[k].bits;
                q.group = over[k].group;
                quant = q.bits > 0;
            }
        struct tensor *dt = tm_add(&deq, t->name, MINT_DT_F32, t->ndim, t->shape[0], t->shape[1]);
        if (!quant) {
            memcpy(dt->data, t->data, t->nbytes);
            struct tensor *pt = tm_add(&packed, t->name, MINT_DT_BF16, t->ndim, t->shape[0],
                                       t->shape[1]);
            /* float modules are stored in BF16 as a pack would; the dense twin holds the
             * same BF16 values */
            for (size_t e = 0; e < t->nbytes / 4; e++) {
                ((uint16_t *)pt->data)[e] = mint_f32_to_bf16(((float *)t->data)[e]);
                ((float *)dt->data)[e] = mint_bf16_to_f32(((uint16_t *)pt->data)[e]);
            }
            continue;
        }
        int64_t R = t->shape[0], C = t->shape[1], wpr = C * q.bits / 32, gpr = C / q.group;
        char n[160];
        struct tensor *pw = tm_add(&packed, t->name, MINT_DT_U32, 2, R, wpr);
        snprintf(n, sizeof n, "%s.scales", mod);
        struct tensor *ps = tm_add(&packed, n, MINT_DT_BF16, 2, R, gpr);
        snprintf(n, sizeof n, "%s.biases", mod);
        struct tensor *pb = tm_add(&packed, n, MINT_DT_BF16, 2, R, gpr);
        for (int64_t r = 0; r < R; r++) {
            uint32_t *w = (uint32_t *)pw->data + r * wpr;
            uint16_t *sc = (uint16_t *)ps->data + r * gpr, *bi = (uint16_t *)pb->data + r * gpr;
            mint_quant_row_mlx((float *)t->data + r * C, C, q, MINT_DT_BF16, w, sc, bi);
            mint_dequant_row(w, sc, bi, C, q, MINT_DT_BF16, (float *)dt->data + r * C);
        }
    }
    snprintf(qdir, sizeof qdir, "%s/packed", root);
    snprintf(ddir, sizeof ddir, "%s/dequant", root);
    const char *qextra =
        ", \"quantization\": {\"group_size\": 64, \"bits\": 4, \"mode\": \"affine\", "
        "\"model.layers.0.self_attn.v_proj\": {\"group_size\": 32, \"bits\": 8}, "
        "\"model.layers.0.mlp.up_proj\": {\"group_size\": 32, \"bits\": 3}, "
        "\"model.layers.1.self_attn.q_proj\": {\"group_size\": 64, \"bits\": 2}, "
        "\"model.layers.1.mlp.gate_proj\": {\"group_size\": 32, \"bits\": 5}, "
        "\"model.layers.0.mlp.down_proj\": {\"group_size\": 128, \"bits\": 4}, "
        "\"model.layers.1.self_attn.o_proj\": {\"group_size\": 32, \"bits\": 6}, "
        "\"model.layers.1.mlp.down_proj\": false}";
    char *qcfg = arch_config(&a, qextra), *dcfg = arch_config(&a, NULL);
    CHECK(tm_write(&packed, qdir, qcfg) == 0);
    CHECK(tm_write(&deq, ddir, dcfg) == 0);
    struct mint_llm mq, md;
    int rq = mint_llm_open(&mq, qdir, &err);
    CHECK_MSG(rq == 0, "packed: %s", err.msg);
    int rd = mint_llm_open(&md, ddir, &err);
    CHECK_MSG(rd == 0, "dequant: %s", err.msg);
    if (rq == 0 && rd == 0) {
        enum { N = 33 };
        int32_t tok[N];
        for (int i = 0; i < N; i++)
            tok[i] = (i * 37 + 5) % 96;
        float *lq = malloc(N * 96 * sizeof *lq), *ld = malloc(N * 96 * sizeof *ld);
        double nq[N], nd[N], worst = 0, wn = 0;
        CHECK(mint_llm_forward(&mq, tok, N, nq, lq, &err) == 0);
        CHECK(mint_llm_forward(&md, tok, N, nd, ld, &err) == 0);
        for (int i = 0; i < N * 96; i++)
            worst = fmax(worst, fabs(lq[i] - ld[i]));
        for (int i = 0; i + 1 < N; i++)
            wn = fmax(wn, fabs(nq[i] - nd[i]));
        CHECK_MSG(worst < 1e-4, "packed vs dequantized logits differ by %g", worst);
        CHECK_MSG(wn < 1e-5, "packed vs dequantized nll differ by %g", wn);
        CHECK(mq.n_quantized == 2 * 7 - 1 + 1); /* 13 layer matrices + embedding */
        CHECK(mq.embed.quantized && mq.embed.q.bits == 4 && mq.embed.q.group == 64);
        CHECK(mq.layers[0].v.q.bits == 8 && mq.layers[0].v.q.group == 32);
        CHECK(mq.layers[1].gate.q.bits == 5 && mq.layers[1].gate.q.group == 32);
        CHECK(mq.layers[0].down.q.bits == 4 && mq.layers[0].down.q.group == 128);
        CHECK(!mq.layers[1].down.quantized && mq.layers[1].down.dt == MINT_DT_BF16);
        CHECK(mq.n_params == md.n_params);
        CHECK(mq.model_bytes < md.model_bytes);
        free(lq);
        free(ld);
    }
    if (rq == 0)
        mint_llm_release(&mq);
    if (rd == 0)
        mint_llm_release(&md);

    /* config overrides that contradict the tensors are refused */
    {
        char *bad = arch_config(&a, ", \"quantization\": {\"group_size\": 64, \"bits\": 4, "
                                    "\"model.layers.0.self_attn.v_proj\": {\"group_size\": 64, "
                                    "\"bits\": 8}, \"model.layers.0.mlp.up_proj\": {"
                                    "\"group_size\": 32, \"bits\": 3}}");
        char p[600];
        snprintf(p, sizeof p, "%s/config.json", qdir);
        mint_write_file(p, bad, strlen(bad), &err);
        memset(&err, 0, sizeof err);
        CHECK(mint_llm_open(&mq, qdir, &err) < 0);
        CHECK_MSG(strstr(err.msg, "v_proj") && strstr(err.msg, "scales/biases"), "%s", err.msg);
        free(bad);
        bad = arch_config(&a, NULL); /* scales present but no quantization in config */
        mint_write_file(p, bad, strlen(bad), &err);
        memset(&err, 0, sizeof err);
        CHECK(mint_llm_open(&mq, qdir, &err) < 0);
        CHECK_MSG(strstr(err.msg, "no quantization"), "%s", err.msg);
        free(bad);
    }
    free(qcfg);
    free(dcfg);
    tm_free(&dense);
    tm_free(&packed);
    tm_free(&deq);
}

static void test_errors(const char *root)
{
    const struct arch a = {"llama", 64, 1, 4, 2, 16, 128, 96, 1, 0, 0, 0, 0};
    struct tmodel tm = {0};
    struct mint_err err = {0};
    struct mint_llm m;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/bad", root);
    build_dense(&tm, &a, 5);
    const struct arch g = {"gemma", 64, 1, 4, 2, 16, 128, 96, 1, 0, 0, 0, 0};
    char *cfg = arch_config(&g, NULL);
    tm_write(&tm, dir, cfg);
    free(cfg);
    CHECK(mint_llm_open(&m, dir, &err) < 0);
    CHECK_MSG(strstr(err.msg, "unsupported model_type 'gemma'"), "%s", err.msg);
    const struct arch q3 = {"qwen3", 64, 1, 4, 2, 16, 128, 96, 1, 0, 0, 0, 0};
    cfg = arch_config(&q3, NULL); /* qwen3 without q_norm */
    tm_write(&tm, dir, cfg);
    free(cfg);
    memset(&err, 0, sizeof err);
    CHECK(mint_llm_open(&m, dir, &err) < 0);
    CHECK_MSG(strstr(err.msg, "q_norm"), "%s", err.msg);
    const struct arch wide = {"llama", 64, 1, 4, 2, 16, 256, 96, 1, 0, 0, 0, 0};
    cfg = arch_config(&wide, NULL); /* intermediate_size disagrees with the tensors */
    tm_write(&tm, dir, cfg);
    free(cfg);
    memset(&err, 0, sizeof err);
    CHECK(mint_llm_open(&m, dir, &err) < 0);
    CHECK_MSG(strstr(err.msg, "gate_proj.weight' must be"), "%s", err.msg);
    cfg = arch_config(&a, ", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}");
    tm_write(&tm, dir, cfg);
    free(cfg);
    memset(&err, 0, sizeof err);
    CHECK(mint_llm_open(&m, dir, &err) < 0);
    CHECK_MSG(strstr(err.msg, "rope_scaling type 'yarn'"), "%s", err.msg);
    cfg = arch_config(&a, NULL);
    tm_write(&tm, dir, cfg);
    free(cfg);
    memset(&err, 0, sizeof err);
    CHECK(mint_llm_open(&m, dir, &err) == 0);
    if (!err.msg[0]) {
        int32_t t[2] = {1, 96};
        CHECK(mint_llm_forward(&m, t, 2, NULL, NULL, &err) < 0);
        CHECK_MSG(strstr(err.msg, "out of range"), "%s", err.msg);
        mint_llm_release(&m);
    }
    tm_free(&tm);
}

/* ------------------------------------------------------------------ bundled models */

static void test_window0(const char *model, const char *dir, const char *text)
{
    char p[512], key[128];
    struct mint_err err = {0};
    struct mint_llm m;
    json_t *ref, *w0;
    snprintf(p, sizeof p, "tests/data/reference/%s.%s.tokens.json", model, text);
    ref = mint_json_load(p, &err);
    w0 = mint_json_load("tests/data/reference/window0.json", &err);
    CHECK_MSG(ref && w0, "%s", err.msg);
    if (!ref || !w0)
        return;
    snprintf(key, sizeof key, "%s.%s", model, text);
    const json_t *exp = json_object_get(w0, key), *ids = json_object_get(ref, "ids");
    int rc = mint_llm_open(&m, dir, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc == 0 && exp) {
        enum { N = 512 };
        int32_t tok[N];
        double nll[N - 1], s = 0;
        float *lg = malloc((size_t)N * (size_t)m.cfg.vocab * sizeof *lg);
        tok[0] = 1;
        for (int i = 1; i < N; i++)
            tok[i] = (int32_t)json_integer_value(json_array_get(ids, (size_t)i - 1));
        CHECK(mint_llm_forward(&m, tok, N, nll, lg, &err) == 0);
        for (int i = 0; i < N - 1; i++)
            s += nll[i];
        double want = mint_json_number(json_object_get(exp, "window0_mean_nll"));
        CHECK_MSG(fabs(s / (N - 1) - want) < 2e-5, "%s: window 0 mean NLL %.7f vs %.6f", key,
                  s / (N - 1), want);
        const json_t *l5 = json_object_get(exp, "window0_logits_pos0_first5");
        for (int i = 0; i < 5; i++)
            CHECK_MSG(fabs(lg[i] - mint_json_number(json_array_get(l5, (size_t)i))) < 5e-5,
                      "%s: logit %d %.6f vs %.5f", key, i, lg[i],
                      mint_json_number(json_array_get(l5, (size_t)i)));
        free(lg);
    }
    if (rc == 0)
        mint_llm_release(&m);
    json_decref(ref);
    json_decref(w0);
}

int main(void)
{
    char root[] = "/tmp/mint-t-llm-XXXXXX";
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    test_kernels();
    test_matmul();
    const struct arch archs[] = {
        {"llama", 64, 2, 4, 2, 16, 96, 77, 1, 0, 0, 0, 0},
        {"qwen2", 48, 2, 6, 2, 8, 80, 50, 0, 1, 0, 0, 0},
        {"qwen3", 32, 2, 4, 1, 16, 64, 40, 1, 0, 1, 1, 0},
        {"mistral", 32, 2, 4, 2, 8, 64, 40, 0, 0, 0, 0, 8},
    };
    for (size_t i = 0; i < sizeof archs / sizeof *archs; i++)
        test_arch(&archs[i], root);
    test_quantized(root);
    test_errors(root);
    test_window0("stories260K", "tests/data/models/stories260K", "tinystories");
    test_window0("stories260K", "tests/data/models/stories260K", "wikitext2");
    test_window0("tinystories-656k", "tests/data/models/tinystories-656k/f32", "tinystories");
    test_window0("tinystories-656k", "tests/data/models/tinystories-656k", "wikitext2");
    mint_rmtree(root);
    return CHECK_DONE();
}
