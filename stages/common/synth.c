/* synth.c - synthetic models with real LLM layouts (see synth.h).
 *
 * Generator (per weight tensor W, rows x cols, cols = input dimension):
 *   W[i][j] = T(u_ij) * (base * r_i) * c_j            (float32, then RNE to the output dtype)
 *   T       Student-t, 5 degrees of freedom, unit variance: inverse-CDF table of 65,536 quantiles
 *           (indexed by 16 random bits; tails reach ~9 sigma; Pearson kurtosis ~7)
 *   base    role sigma (0.01-0.025) x layer drift (0.75 -> 1.25 over depth, +-10 % per layer)
 *           x tensor jitter (+-15 %, so the experts of one layer differ)
 *   r_i     row scale exp(0.15 z) (embeddings exp(0.35 z)): row-norm variation
 *   c_j     column scale exp(0.2 z), and 0.5 % of the columns (at least one) x U(4, 12)
 *           (embeddings x U(3, 8)): outlier input channels
 *   RMSNorm gains: base (0.6 input, 0.8 post-attention, 1.0 q/k, 2.0 final) x drift x exp(0.25 z),
 *           0.5 % of the entries (at least one) x U(5, 20).
 *   z is approximately N(0,1): Irwin-Hall sum of four 16-bit uniforms, standardised (|z| < 3.47).
 * Randomness: key = XXH3-64(tensor name, seed); streams are splitmix64 finalisers of
 * (key-derived row seed + counter x golden gamma), so any row block can be generated on its own
 * (threads) with the same bytes.  The t table is built by Simpson integration of the t5 density
 * (1 + x^2/5)^-3 and exp by a fixed Taylor polynomial: only +, -, *, / and sqrt (all exactly
 * rounded in IEEE 754), in a fixed order, with -ffp-contract=off: no libm result in any value.
 *
 * Layouts (HF names; per layer N, in file order):
 *   llama-3-8b   input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_layernorm,
 *                mlp.{gate,up,down}_proj                                  9/layer, 291 in all
 *   qwen3-8b     as llama + self_attn.{q,k}_norm                           11/layer, 399 in all
 *   qwen3-30b-a3b (qwen3_moe) attention as qwen3, mlp.gate (router [128, 2048]),
 *                mlp.experts.E.{gate,up,down}_proj, E < 128           393/layer, 18,867 in all
 *   mixtral-8x7b attention as llama, block_sparse_moe.gate ([8, 4096]),
 *                block_sparse_moe.experts.E.{w1,w2,w3}, E < 8             31/layer, 995 in all
 *   plus model.embed_tokens.weight, model.norm.weight, lm_head.weight (all untied).
 * Shards: tensors in file order fill model-0000k-of-0000n.safetensors up to the shard size
 * (header included; a tensor larger than a shard gets its own); a single shard is
 * model.safetensors without index.  Inside a file: mint_st_plan (sorted header, MLX order),
 * __metadata__ {"format": "pt"}. */
#define _GNU_SOURCE
#include "mint/synth.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mint/err.h"
#include "mint/hash.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/st.h"

#define GAMMA 0x9e3779b97f4a7c15ull
#define TAG_ROW 0x524f5753u       /* "ROWS" */
#define TAG_ELEM 0x454c454du      /* "ELEM" */
#define TAG_COL 0x434f4c53u       /* "COLS" */
#define TAG_OUT 0x4f555453u       /* "OUTS" */
#define TAG_JIT 0x4a495454u       /* "JITT" */
#define OUTLIER_PERMILLE 5        /* 0.5 % of columns / norm entries */
#define BLOCK_BYTES (4u << 20)    /* row block generated and written at once */
#define HDR_BASE 64               /* 8-byte length, metadata, braces, padding */
#define HDR_PER_TENSOR 160        /* bound on one header entry beyond its name */

/* ---------------------------------------------------------------- random numbers */

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* i-th draw of the stream (key, tag) */
static inline uint64_t draw(uint64_t key, uint64_t tag, uint64_t i)
{
    return mix64(mix64(key ^ tag) + (i + 1) * GAMMA);
}

static inline double u01(uint64_t x)
{
    return (double)(x >> 11) * 0x1.0p-53;
}

/* Irwin-Hall(4) of the four 16-bit lanes, standardised: mean 0, variance 1, |z| < 3.47 */
static double irwin4(uint64_t x)
{
    double s = 0;
    for (int k = 0; k < 4; k++)
        s += ((double)((x >> (16 * k)) & 0xffff) + 0.5) * (1.0 / 65536.0);
    return (s - 2.0) * 1.7320508075688772;
}

double mint_synth_exp(double x)
{
    static const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    double kd, r, p;
    int k;

    if (x > 30)
        x = 30;
    if (x < -30)
        x = -30;
    kd = x * 1.44269504088896338700 + 0.5;
    k = (int)kd;
    if ((double)k > kd)
        k--; /* floor */
    r = (x - k * ln2_hi) - k * ln2_lo; /* |r| <= ~0.35 */
    p = 1.0;
    for (int n = 16; n >= 1; n--) /* Horner: sum r^n / n! */
        p = 1.0 + p * r / n;
    return ldexp(p, k);
}

/* ---------------------------------------------------------------- Student-t table */

static double t5_density(double x)
{
    double a = 1.0 + x * x / 5.0;
    return 1.0 / (a * a * a);
}

/* Unit-variance t5 quantiles at (i + 0.5) / N, ascending. */
static void build_ttable(float *tab)
{
    const double h = 1.0 / 4096, xmax = 64.0;
    const int64_t panels = (int64_t)(xmax / (2 * h));
    const uint32_t n = MINT_SYNTH_TTABLE, half = n / 2;
    double total = 0, cum = 0, var = 0, s;
    double *x = malloc(half * sizeof *x);
    int64_t p = 0;

    MINT_ASSERT(x);
    for (int64_t k = 0; k < panels; k++) {
        double a = 2 * h * k;
        total += h / 3 * (t5_density(a) + 4 * t5_density(a + h) + t5_density(a + 2 * h));
    }
    total += 25.0 / (xmax * xmax * xmax * xmax * xmax); /* tail beyond xmax ~ 25 / x^5 */
    for (uint32_t i = 0; i < half; i++) {
        double target = ((double)i + 0.5) / n * 2.0 * total; /* mass in [0, x_i] */
        for (;;) {
            double a = 2 * h * p;
            double m = h / 3 * (t5_density(a) + 4 * t5_density(a + h) + t5_density(a + 2 * h));
            if (cum + m >= target || p + 1 >= panels) {
                x[i] = a + 2 * h * ((target - cum) / m);
                break;
            }
            cum += m;
            p++;
        }
    }
    for (uint32_t i = 0; i < half; i++)
        var += 2 * x[i] * x[i];
    s = 1.0 / sqrt(var / n);
    for (uint32_t i = 0; i < half; i++) {
        tab[half + i] = (float)(x[i] * s);
        tab[half - 1 - i] = (float)(-x[i] * s);
    }
    free(x);
}

/* ---------------------------------------------------------------- architectures */

enum family { FAM_LLAMA, FAM_QWEN3, FAM_QWEN3_MOE, FAM_MIXTRAL };

struct arch {
    const char *name;
    enum family fam;
    int64_t layers, hidden, inter, moe_inter, heads, kv_heads, head_dim, vocab, experts, topk;
};

static const struct arch arches[] = {
    {"llama-3-8b", FAM_LLAMA, 32, 4096, 14336, 0, 32, 8, 128, 128256, 0, 0},
    {"qwen3-8b", FAM_QWEN3, 36, 4096, 12288, 0, 32, 8, 128, 151936, 0, 0},
    {"qwen3-30b-a3b", FAM_QWEN3_MOE, 48, 2048, 6144, 768, 32, 4, 128, 151936, 128, 8},
    {"mixtral-8x7b", FAM_MIXTRAL, 32, 4096, 14336, 0, 32, 8, 128, 32000, 8, 2},
    {"tiny", FAM_QWEN3, 2, 256, 512, 0, 4, 2, 64, 1024, 0, 0},
    {"tiny-moe", FAM_QWEN3_MOE, 2, 256, 512, 128, 4, 2, 64, 1024, 8, 2},
};

const char *const mint_synth_arch_names[] = {"llama-3-8b", "qwen3-8b", "qwen3-30b-a3b",
                                             "mixtral-8x7b", "tiny", "tiny-moe", NULL};

static int64_t round128(double x)
{
    int64_t k = (int64_t)(x / 128.0 + 0.5);
    return k < 1 ? 128 : k * 128;
}

static int64_t round_min1(double x)
{
    int64_t k = (int64_t)(x + 0.5);
    return k < 1 ? 1 : k;
}

static void scale_dims(const struct arch *a, double f, struct mint_synth_dims *d)
{
    d->full_layers = a->layers;
    d->layers = a->layers;
    d->hidden = a->hidden;
    d->inter = a->inter;
    d->moe_inter = a->moe_inter;
    d->heads = a->heads;
    d->kv_heads = a->kv_heads;
    d->head_dim = a->head_dim;
    d->vocab = a->vocab;
    d->experts = a->experts;
    d->topk = a->topk;
    if (f >= 1.0)
        return;
    /* head_dim is kept; head counts follow the rounded hidden size, so llama-style models
     * (hidden = heads x head_dim) stay consistent without an explicit head_dim */
    d->hidden = round128(a->hidden * f);
    d->inter = round128(a->inter * f);
    if (a->moe_inter)
        d->moe_inter = round128(a->moe_inter * f);
    d->heads = round_min1((double)a->heads * d->hidden / a->hidden);
    d->kv_heads = round_min1((double)a->kv_heads * d->hidden / a->hidden);
    while (d->heads % d->kv_heads)
        d->kv_heads--;
}

static const char *torch_dtype(enum mint_dtype dt)
{
    return dt == MINT_DT_F32 ? "float32" : dt == MINT_DT_F16 ? "float16" : "bfloat16";
}

static json_t *make_config(const struct arch *a, const struct mint_synth_dims *d,
                           const struct mint_synth_opts *o, enum mint_dtype dt)
{
    json_t *c = json_object(), *prov;
    const char *td = torch_dtype(dt);

    json_object_set_new(c, "attention_dropout", json_real(0.0));
    json_object_set_new(c, "hidden_act", json_string("silu"));
    json_object_set_new(c, "hidden_size", json_integer(d->hidden));
    json_object_set_new(c, "initializer_range", json_real(0.02));
    json_object_set_new(c, "intermediate_size", json_integer(d->inter));
    json_object_set_new(c, "num_attention_heads", json_integer(d->heads));
    json_object_set_new(c, "num_hidden_layers", json_integer(d->layers));
    json_object_set_new(c, "num_key_value_heads", json_integer(d->kv_heads));
    json_object_set_new(c, "tie_word_embeddings", json_false());
    json_object_set_new(c, "torch_dtype", json_string(td));
    json_object_set_new(c, "use_cache", json_true());
    json_object_set_new(c, "vocab_size", json_integer(d->vocab));
    switch (a->fam) {
    case FAM_LLAMA: /* meta-llama/Meta-Llama-3-8B */
        json_object_set_new(c, "architectures", json_pack("[s]", "LlamaForCausalLM"));
        json_object_set_new(c, "attention_bias", json_false());
        json_object_set_new(c, "bos_token_id", json_integer(128000));
        json_object_set_new(c, "eos_token_id", json_integer(128001));
        json_object_set_new(c, "max_position_embeddings", json_integer(8192));
        json_object_set_new(c, "model_type", json_string("llama"));
        json_object_set_new(c, "pretraining_tp", json_integer(1));
        json_object_set_new(c, "rms_norm_eps", json_real(1e-05));
        json_object_set_new(c, "rope_scaling", json_null());
        json_object_set_new(c, "rope_theta", json_real(500000.0));
        json_object_set_new(c, "transformers_version", json_string("4.40.0.dev0"));
        break;
    case FAM_QWEN3: /* Qwen/Qwen3-8B */
    case FAM_QWEN3_MOE: /* Qwen/Qwen3-30B-A3B */
        json_object_set_new(c, "architectures",
                            json_pack("[s]", a->fam == FAM_QWEN3 ? "Qwen3ForCausalLM"
                                                                 : "Qwen3MoeForCausalLM"));
        json_object_set_new(c, "attention_bias", json_false());
        json_object_set_new(c, "bos_token_id", json_integer(151643));
        json_object_set_new(c, "eos_token_id", json_integer(151645));
        json_object_set_new(c, "head_dim", json_integer(d->head_dim));
        json_object_set_new(c, "max_position_embeddings", json_integer(40960));
        json_object_set_new(c, "max_window_layers", json_integer(d->layers));
        json_object_set_new(c, "model_type",
                            json_string(a->fam == FAM_QWEN3 ? "qwen3" : "qwen3_moe"));
        json_object_set_new(c, "rms_norm_eps", json_real(1e-06));
        json_object_set_new(c, "rope_scaling", json_null());
        json_object_set_new(c, "sliding_window", json_null());
        json_object_set_new(c, "transformers_version", json_string("4.51.0"));
        json_object_set_new(c, "use_sliding_window", json_false());
        if (a->fam == FAM_QWEN3) {
            json_object_set_new(c, "rope_theta", json_integer(1000000));
        } else {
            json_object_set_new(c, "rope_theta", json_real(1000000.0));
            json_object_set_new(c, "decoder_sparse_step", json_integer(1));
            json_object_set_new(c, "mlp_only_layers", json_array());
            json_object_set_new(c, "moe_intermediate_size", json_integer(d->moe_inter));
            json_object_set_new(c, "norm_topk_prob", json_true());
            json_object_set_new(c, "num_experts", json_integer(d->experts));
            json_object_set_new(c, "num_experts_per_tok", json_integer(d->topk));
            json_object_set_new(c, "output_router_logits", json_false());
            json_object_set_new(c, "router_aux_loss_coef", json_real(0.001));
        }
        break;
    case FAM_MIXTRAL: /* mistralai/Mixtral-8x7B-v0.1 */
        json_object_set_new(c, "architectures", json_pack("[s]", "MixtralForCausalLM"));
        json_object_set_new(c, "bos_token_id", json_integer(1));
        json_object_set_new(c, "eos_token_id", json_integer(2));
        json_object_set_new(c, "max_position_embeddings", json_integer(32768));
        json_object_set_new(c, "model_type", json_string("mixtral"));
        json_object_set_new(c, "num_experts_per_tok", json_integer(d->topk));
        json_object_set_new(c, "num_local_experts", json_integer(d->experts));
        json_object_set_new(c, "output_router_logits", json_false());
        json_object_set_new(c, "rms_norm_eps", json_real(1e-05));
        json_object_set_new(c, "rope_theta", json_real(1000000.0));
        json_object_set_new(c, "router_aux_loss_coef", json_real(0.02));
        json_object_set_new(c, "sliding_window", json_null());
        json_object_set_new(c, "transformers_version", json_string("4.36.0.dev0"));
        break;
    }
    /* provenance (a key HF loaders ignore) */
    prov = json_pack("{s:s,s:f,s:I,s:I,s:i}", "arch", a->name, "scale", o->scale > 0 ? o->scale : 1.0,
                     "layers", (json_int_t)d->layers, "vocab", (json_int_t)d->vocab, "version",
                     MINT_SYNTH_VERSION);
    if (o->seed <= (uint64_t)INT64_MAX)
        json_object_set_new(prov, "seed", json_integer((json_int_t)o->seed));
    else {
        char s[32];
        snprintf(s, sizeof s, "%" PRIu64, o->seed);
        json_object_set_new(prov, "seed", json_string(s));
    }
    json_object_set_new(c, "_mint_synth", prov);
    return c;
}

/* ---------------------------------------------------------------- tensor table */

struct builder {
    struct mint_synth_model *m;
    size_t cap;
    int oom;
};

static void add(struct builder *b, enum mint_synth_kind kind, int64_t layer, float sigma,
                int64_t rows, int64_t cols, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void add(struct builder *b, enum mint_synth_kind kind, int64_t layer, float sigma,
                int64_t rows, int64_t cols, const char *fmt, ...)
{
    struct mint_synth_model *m = b->m;
    struct mint_synth_tensor *t;
    char name[256];
    va_list ap;

    if (b->oom)
        return;
    if (m->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 512;
        void *p = realloc(m->t, nc * sizeof *m->t);
        if (!p) {
            b->oom = 1;
            return;
        }
        m->t = p;
        b->cap = nc;
    }
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    t = &m->t[m->n];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    if (!t->name) {
        b->oom = 1;
        return;
    }
    m->n++;
    t->kind = kind;
    t->layer = layer;
    t->sigma = sigma;
    if (kind == MINT_SYNTH_NORM) {
        t->ndim = 1;
        t->shape[0] = cols;
        t->nelem = (uint64_t)cols;
        t->col_spread = 0.25f;
        t->out_lo = 5;
        t->out_hi = 20;
    } else {
        t->ndim = 2;
        t->shape[0] = rows;
        t->shape[1] = cols;
        t->nelem = (uint64_t)rows * (uint64_t)cols;
        t->row_spread = kind == MINT_SYNTH_EMBED ? 0.35f : 0.15f;
        t->col_spread = kind == MINT_SYNTH_EMBED ? 0.1f : 0.2f;
        t->out_lo = kind == MINT_SYNTH_EMBED ? 3 : 4;
        t->out_hi = kind == MINT_SYNTH_EMBED ? 8 : 12;
    }
    t->nbytes = t->nelem * mint_dtype_size(m->dtype);
}

static void build_tensors(struct builder *b, const struct arch *a)
{
    const struct mint_synth_dims *d = &b->m->d;
    const int64_t H = d->hidden, Q = d->heads * d->head_dim, KV = d->kv_heads * d->head_dim;

    add(b, MINT_SYNTH_EMBED, -1, 0.02f, d->vocab, H, "model.embed_tokens.weight");
    for (int64_t l = 0; l < d->layers; l++) {
        const char *p = "model.layers.";
        add(b, MINT_SYNTH_NORM, l, 0.6f, 1, H, "%s%" PRId64 ".input_layernorm.weight", p, l);
        add(b, MINT_SYNTH_LINEAR, l, 0.025f, Q, H, "%s%" PRId64 ".self_attn.q_proj.weight", p, l);
        add(b, MINT_SYNTH_LINEAR, l, 0.025f, KV, H, "%s%" PRId64 ".self_attn.k_proj.weight", p, l);
        add(b, MINT_SYNTH_LINEAR, l, 0.015f, KV, H, "%s%" PRId64 ".self_attn.v_proj.weight", p, l);
        add(b, MINT_SYNTH_LINEAR, l, 0.015f, H, Q, "%s%" PRId64 ".self_attn.o_proj.weight", p, l);
        if (a->fam == FAM_QWEN3 || a->fam == FAM_QWEN3_MOE) {
            add(b, MINT_SYNTH_NORM, l, 1.0f, 1, d->head_dim, "%s%" PRId64 ".self_attn.q_norm.weight",
                p, l);
            add(b, MINT_SYNTH_NORM, l, 1.0f, 1, d->head_dim, "%s%" PRId64 ".self_attn.k_norm.weight",
                p, l);
        }
        add(b, MINT_SYNTH_NORM, l, 0.8f, 1, H, "%s%" PRId64 ".post_attention_layernorm.weight", p,
            l);
        switch (a->fam) {
        case FAM_LLAMA:
        case FAM_QWEN3:
            add(b, MINT_SYNTH_LINEAR, l, 0.02f, d->inter, H, "%s%" PRId64 ".mlp.gate_proj.weight",
                p, l);
            add(b, MINT_SYNTH_LINEAR, l, 0.02f, d->inter, H, "%s%" PRId64 ".mlp.up_proj.weight", p,
                l);
            add(b, MINT_SYNTH_LINEAR, l, 0.015f, H, d->inter, "%s%" PRId64 ".mlp.down_proj.weight",
                p, l);
            break;
        case FAM_QWEN3_MOE:
            add(b, MINT_SYNTH_LINEAR, l, 0.01f, d->experts, H, "%s%" PRId64 ".mlp.gate.weight", p,
                l);
            for (int64_t e = 0; e < d->experts; e++) {
                const char *f = "%s%" PRId64 ".mlp.experts.%" PRId64 ".%s_proj.weight";
                add(b, MINT_SYNTH_LINEAR, l, 0.02f, d->moe_inter, H, f, p, l, e, "gate");
                add(b, MINT_SYNTH_LINEAR, l, 0.02f, d->moe_inter, H, f, p, l, e, "up");
                add(b, MINT_SYNTH_LINEAR, l, 0.015f, H, d->moe_inter, f, p, l, e, "down");
            }
            break;
        case FAM_MIXTRAL:
            add(b, MINT_SYNTH_LINEAR, l, 0.01f, d->experts, H,
                "%s%" PRId64 ".block_sparse_moe.gate.weight", p, l);
            for (int64_t e = 0; e < d->experts; e++) {
                const char *f = "%s%" PRId64 ".block_sparse_moe.experts.%" PRId64 ".%s.weight";
                add(b, MINT_SYNTH_LINEAR, l, 0.02f, d->inter, H, f, p, l, e, "w1");
                add(b, MINT_SYNTH_LINEAR, l, 0.015f, H, d->inter, f, p, l, e, "w2");
                add(b, MINT_SYNTH_LINEAR, l, 0.02f, d->inter, H, f, p, l, e, "w3");
            }
            break;
        }
    }
    add(b, MINT_SYNTH_NORM, -1, 2.0f, 1, H, "model.norm.weight");
    add(b, MINT_SYNTH_LINEAR, -1, 0.015f, d->vocab, H, "lm_head.weight");
}

struct name_ix {
    const char *name;
    size_t i;
};

static int cmp_name_ix(const void *a, const void *b)
{
    return strcmp(((const struct name_ix *)a)->name, ((const struct name_ix *)b)->name);
}

static int assign_shards(struct mint_synth_model *m, uint64_t shard, struct mint_err *err)
{
    uint64_t cur = HDR_BASE;
    size_t count = 0, files = 0;

    for (size_t i = 0; i < m->n; i++) {
        uint64_t est = m->t[i].nbytes + strlen(m->t[i].name) + HDR_PER_TENSOR;
        if (count && cur + est > shard) {
            files++;
            cur = HDR_BASE;
            count = 0;
        }
        m->t[i].file = (int)files;
        cur += est;
        count++;
    }
    m->n_files = files + 1;
    m->files = calloc(m->n_files, sizeof *m->files);
    if (!m->files)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    for (size_t f = 0; f < m->n_files; f++) {
        char buf[64];
        if (m->n_files == 1)
            snprintf(buf, sizeof buf, "model.safetensors");
        else
            snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", f + 1, m->n_files);
        m->files[f] = strdup(buf);
        if (!m->files[f])
            return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    }
    return 0;
}

int mint_synth_model_init(struct mint_synth_model *m, const struct mint_synth_opts *o,
                          struct mint_err *err)
{
    const struct arch *a = NULL;
    struct builder b = {m, 0, 0};
    double f = o->scale > 0 ? o->scale : 1.0;

    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++)
        if (o->arch && !strcmp(arches[i].name, o->arch))
            a = &arches[i];
    if (!a)
        return mint_err_setc(err, MINT_EXIT_USAGE,
                             "unknown architecture '%s' (known: llama-3-8b qwen3-8b "
                             "qwen3-30b-a3b mixtral-8x7b tiny tiny-moe)",
                             o->arch ? o->arch : "");
    if (!(f > 0 && f <= 1.0))
        return mint_err_setc(err, MINT_EXIT_USAGE, "--scale %g: expected 0 < F <= 1", o->scale);
    if (o->layers < 0 || o->layers > a->layers)
        return mint_err_setc(err, MINT_EXIT_USAGE, "--layers %" PRId64 ": %s has 1..%" PRId64,
                             o->layers, a->name, a->layers);
    if (o->vocab < 0)
        return mint_err_setc(err, MINT_EXIT_USAGE, "--vocab %" PRId64 ": expected >= 1", o->vocab);
    m->dtype = o->dtype == MINT_DT_INVALID ? MINT_DT_BF16 : o->dtype;
    if (m->dtype != MINT_DT_BF16 && m->dtype != MINT_DT_F16 && m->dtype != MINT_DT_F32)
        return mint_err_setc(err, MINT_EXIT_USAGE, "--dtype: expected bf16, f16 or f32");
    snprintf(m->arch, sizeof m->arch, "%s", a->name);
    m->seed = o->seed;
    scale_dims(a, f, &m->d);
    if (o->layers)
        m->d.layers = o->layers;
    if (o->vocab)
        m->d.vocab = o->vocab;

    build_tensors(&b, a);
    if (b.oom) {
        mint_synth_model_release(m);
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    }
    for (size_t i = 0; i < m->n; i++) {
        m->n_params += m->t[i].nelem;
        m->n_bytes += m->t[i].nbytes;
    }
    m->by_name = malloc(m->n * sizeof *m->by_name);
    m->ttable = malloc(MINT_SYNTH_TTABLE * sizeof *m->ttable);
    m->config = make_config(a, &m->d, o, m->dtype);
    if (!m->by_name || !m->ttable || !m->config ||
        assign_shards(m, o->shard_size ? o->shard_size : MINT_SYNTH_SHARD_DEFAULT, err) < 0) {
        mint_synth_model_release(m);
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    }
    {
        struct name_ix *v = malloc(m->n * sizeof *v);
        if (!v) {
            mint_synth_model_release(m);
            return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        }
        for (size_t i = 0; i < m->n; i++)
            v[i] = (struct name_ix){m->t[i].name, i};
        qsort(v, m->n, sizeof *v, cmp_name_ix);
        for (size_t i = 0; i < m->n; i++)
            m->by_name[i] = v[i].i;
        free(v);
    }
    build_ttable(m->ttable);
    return 0;
}

void mint_synth_model_release(struct mint_synth_model *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->t[i].name);
    free(m->t);
    for (size_t f = 0; f < m->n_files && m->files; f++)
        free(m->files[f]);
    free(m->files);
    free(m->by_name);
    free(m->ttable);
    if (m->config)
        json_decref(m->config);
    memset(m, 0, sizeof *m);
}

const struct mint_synth_tensor *mint_synth_find(const struct mint_synth_model *m,
                                                const char *name)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->t[m->by_name[mid]].name, name);
        if (!c)
            return &m->t[m->by_name[mid]];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---------------------------------------------------------------- generator */

int mint_synth_gen_init(struct mint_synth_gen *g, const struct mint_synth_model *m, size_t i,
                        struct mint_err *err)
{
    const struct mint_synth_tensor *t = &m->t[i];
    double drift = 1.0, jit;
    int64_t nout;
    unsigned char *mark;

    memset(g, 0, sizeof *g);
    g->m = m;
    g->t = t;
    g->key = mint_hash64(t->name, strlen(t->name), m->seed);
    g->rows = t->ndim == 1 ? 1 : t->shape[0];
    g->cols = t->ndim == 1 ? t->shape[0] : t->shape[1];
    if (t->layer >= 0) {
        /* per-layer drift: depth trend over the architecture's full depth (a --layers cut is
         * a prefix of the full model) and a per-layer jitter shared by the layer's tensors */
        uint64_t lk = mint_hash64("layer", 5, m->seed);
        double frac = m->d.full_layers > 1 ? (double)t->layer / (double)(m->d.full_layers - 1) : 0;
        drift = (0.75 + 0.5 * frac) * (1.0 + 0.1 * (2 * u01(draw(lk, TAG_JIT, (uint64_t)t->layer)) - 1));
    }
    jit = 1.0 + 0.15 * (2 * u01(draw(g->key, TAG_JIT, 0)) - 1);
    g->base = (float)(t->sigma * drift * (t->kind == MINT_SYNTH_NORM ? 1.0 : jit));
    g->col = malloc((size_t)(g->cols ? g->cols : 1) * sizeof *g->col);
    mark = calloc((size_t)(g->cols ? g->cols : 1), 1);
    if (!g->col || !mark) {
        free(mark);
        mint_synth_gen_release(g);
        return mint_err_setc(err, MINT_EXIT_IO, "tensor '%s': out of memory", t->name);
    }
    for (int64_t j = 0; j < g->cols; j++)
        g->col[j] = (float)mint_synth_exp(t->col_spread * irwin4(draw(g->key, TAG_COL, (uint64_t)j)));
    nout = (g->cols * OUTLIER_PERMILLE + 500) / 1000;
    if (nout < 1 && g->cols > 0)
        nout = 1;
    for (int64_t o = 0; o < nout; o++) {
        uint64_t x = draw(g->key, TAG_OUT, (uint64_t)o);
        int64_t j = (int64_t)(x % (uint64_t)g->cols);
        while (mark[j])
            j = (j + 1) % g->cols;
        mark[j] = 1;
        g->col[j] = (float)(g->col[j] * (t->out_lo + (t->out_hi - t->out_lo) * u01(mix64(x))));
    }
    free(mark);
    if (t->kind == MINT_SYNTH_NORM)
        for (int64_t j = 0; j < g->cols; j++)
            g->col[j] = g->base * g->col[j];
    return 0;
}

void mint_synth_gen_release(struct mint_synth_gen *g)
{
    free(g->col);
    g->col = NULL;
}

static inline float row_scale(const struct mint_synth_gen *g, int64_t i)
{
    return (float)(g->base * mint_synth_exp(g->t->row_spread *
                                            irwin4(draw(g->key, TAG_ROW, (uint64_t)i))));
}

static inline uint64_t row_seed(const struct mint_synth_gen *g, int64_t i)
{
    return draw(g->key, TAG_ELEM, (uint64_t)i);
}

void mint_synth_gen_f32(const struct mint_synth_gen *g, int64_t row0, int64_t nrows, float *out)
{
    const float *T = g->m->ttable;
    const int64_t C = g->cols;

    if (g->t->kind == MINT_SYNTH_NORM) {
        memcpy(out, g->col, (size_t)C * sizeof *out);
        return;
    }
    for (int64_t r = 0; r < nrows; r++) {
        const float a = row_scale(g, row0 + r);
        const uint64_t s = row_seed(g, row0 + r);
        float *o = out + r * C;
        for (int64_t j = 0; j < C; j++) {
            uint64_t x = mix64(s + (uint64_t)(j / 4 + 1) * GAMMA);
            uint32_t idx = (uint32_t)(x >> (16 * (j % 4))) & 0xffff;
            o[j] = T[idx] * (a * g->col[j]);
        }
    }
}

static inline uint16_t bf16_rne(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

static void row_bf16(const struct mint_synth_gen *g, int64_t i, uint16_t *o, float *rc)
{
    const float *T = g->m->ttable, *col = g->col;
    const int64_t C = g->cols, C4 = C & ~(int64_t)3;
    const float a = row_scale(g, i);
    const uint64_t s = row_seed(g, i);
    int64_t j = 0;

    for (j = 0; j < C; j++) /* same product as mint_synth_gen_f32, hoisted */
        rc[j] = a * col[j];
    for (j = 0; j < C4; j += 4) {
        uint64_t x = mix64(s + (uint64_t)(j / 4 + 1) * GAMMA);
        o[j] = bf16_rne(T[x & 0xffff] * rc[j]);
        o[j + 1] = bf16_rne(T[(x >> 16) & 0xffff] * rc[j + 1]);
        o[j + 2] = bf16_rne(T[(x >> 32) & 0xffff] * rc[j + 2]);
        o[j + 3] = bf16_rne(T[x >> 48] * rc[j + 3]);
    }
    if (j < C) {
        uint64_t x = mix64(s + (uint64_t)(j / 4 + 1) * GAMMA);
        for (int k = 0; j < C; j++, k++)
            o[j] = bf16_rne(T[(x >> (16 * k)) & 0xffff] * rc[j]);
    }
}

void mint_synth_gen_rows(const struct mint_synth_gen *g, int64_t row0, int64_t nrows, void *out,
                         float *scratch)
{
    const int64_t C = g->cols;
    enum mint_dtype dt = g->m->dtype;

    if (dt == MINT_DT_F32) {
        mint_synth_gen_f32(g, row0, nrows, out);
        return;
    }
    for (int64_t r = 0; r < nrows; r++) {
        uint16_t *o = (uint16_t *)out + r * C;
        if (dt == MINT_DT_BF16 && g->t->kind != MINT_SYNTH_NORM) {
            row_bf16(g, row0 + r, o, scratch);
            continue;
        }
        mint_synth_gen_f32(g, row0 + r, 1, scratch);
        for (int64_t j = 0; j < C; j++)
            o[j] = dt == MINT_DT_BF16 ? mint_f32_to_bf16(scratch[j]) : mint_f32_to_f16(scratch[j]);
    }
}

/* ---------------------------------------------------------------- writer
 *
 * The main thread generates (with --jobs N, each buffer's rows are split over N threads) into a
 * ring of NBUF buffers; a writer thread writes filled buffers in order, so generation and I/O
 * overlap.  A buffer holds consecutive bytes of one file: small tensors share buffers. */

#define NBUF 3
#define MAX_JOBS 64

struct wbuf {
    unsigned char *data;
    size_t used;
    int fd;
    const char *path;
    int filled;
};

struct wpipe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct wbuf buf[NBUF];
    size_t cap;              /* bytes per buffer */
    unsigned head, tail;     /* next to fill, next to write (monotonic) */
    int stop, failed;
    struct mint_err err;     /* writer's first error */
    pthread_t th;
    int nthreads;
    float *scratch[MAX_JOBS]; /* (max cols) per generator thread, F16 and norms */
};

static int write_all(int fd, const void *buf, size_t len, const char *path, struct mint_err *err)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len > (1u << 30) ? (1u << 30) : len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return mint_err_setc(err, MINT_EXIT_IO, "%s: write: %s", path, strerror(errno));
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static void *writer_main(void *arg)
{
    struct wpipe *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        struct wbuf *b;
        while (!w->stop && w->tail == w->head)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->tail == w->head && w->stop)
            break;
        b = &w->buf[w->tail % NBUF];
        pthread_mutex_unlock(&w->mu);
        {
            struct mint_err e = {0};
            int rc = w->failed ? 0 : write_all(b->fd, b->data, b->used, b->path, &e);
            pthread_mutex_lock(&w->mu);
            if (rc < 0 && !w->failed) {
                w->failed = 1;
                w->err = e;
            }
        }
        b->filled = 0;
        b->used = 0;
        w->tail++;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* The buffer being filled, waiting for the writer to free it if need be. */
static struct wbuf *pipe_cur(struct wpipe *w)
{
    struct wbuf *b;
    pthread_mutex_lock(&w->mu);
    while (w->head - w->tail >= NBUF)
        pthread_cond_wait(&w->cv, &w->mu);
    b = &w->buf[w->head % NBUF];
    pthread_mutex_unlock(&w->mu);
    return b;
}

static void pipe_submit(struct wpipe *w)
{
    pthread_mutex_lock(&w->mu);
    if (w->buf[w->head % NBUF].used) {
        w->buf[w->head % NBUF].filled = 1;
        w->head++;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
}

/* Submit the partial buffer and wait until everything is written. */
static int pipe_drain(struct wpipe *w, struct mint_err *err)
{
    int failed;
    pipe_submit(w);
    pthread_mutex_lock(&w->mu);
    while (w->tail != w->head)
        pthread_cond_wait(&w->cv, &w->mu);
    failed = w->failed;
    if (failed)
        *err = w->err;
    pthread_mutex_unlock(&w->mu);
    return failed ? -1 : 0;
}

static int pipe_failed(struct wpipe *w)
{
    int f;
    pthread_mutex_lock(&w->mu);
    f = w->failed;
    pthread_mutex_unlock(&w->mu);
    return f;
}

static int pipe_init(struct wpipe *w, const struct mint_synth_model *m, int nthreads,
                     struct mint_err *err)
{
    size_t maxrow = 0, maxcols = 1;
    memset(w, 0, sizeof *w);
    w->nthreads = nthreads < 1 ? 1 : nthreads > MAX_JOBS ? MAX_JOBS : nthreads;
    for (size_t i = 0; i < m->n; i++) {
        size_t cols = (size_t)(m->t[i].ndim == 1 ? m->t[i].shape[0] : m->t[i].shape[1]);
        if (cols > maxcols)
            maxcols = cols;
    }
    maxrow = maxcols * mint_dtype_size(m->dtype);
    w->cap = maxrow > BLOCK_BYTES ? maxrow : BLOCK_BYTES;
    for (int k = 0; k < NBUF; k++)
        if (!(w->buf[k].data = malloc(w->cap)))
            goto oom;
    for (int k = 0; k < w->nthreads; k++)
        if (!(w->scratch[k] = malloc(maxcols * sizeof(float))))
            goto oom;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->th, NULL, writer_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        goto oom;
    }
    return 0;
oom:
    for (int k = 0; k < NBUF; k++)
        free(w->buf[k].data);
    for (int k = 0; k < w->nthreads; k++)
        free(w->scratch[k]);
    return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
}

static void pipe_release(struct wpipe *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    for (int k = 0; k < NBUF; k++)
        free(w->buf[k].data);
    for (int k = 0; k < w->nthreads; k++)
        free(w->scratch[k]);
}

struct job {
    const struct mint_synth_gen *g;
    int64_t row0, nrows;
    unsigned char *out;
    float *scratch;
};

static void *job_run(void *arg)
{
    struct job *j = arg;
    mint_synth_gen_rows(j->g, j->row0, j->nrows, j->out, j->scratch);
    return NULL;
}

/* rows [row0, row0 + n) into out, split over the pipe's threads */
static void gen_parallel(struct wpipe *w, const struct mint_synth_gen *g, int64_t row0, int64_t n,
                         unsigned char *out, size_t rowb)
{
    struct job jobs[MAX_JOBS];
    pthread_t th[MAX_JOBS];
    int started[MAX_JOBS] = {0}, nj = w->nthreads;
    int64_t per;

    if ((int64_t)nj > n)
        nj = (int)n;
    if (nj <= 1 || (uint64_t)n * rowb < (256u << 10)) {
        mint_synth_gen_rows(g, row0, n, out, w->scratch[0]);
        return;
    }
    per = (n + nj - 1) / nj;
    for (int k = 0; k < nj; k++) {
        int64_t a = row0 + k * per, e = a + per > row0 + n ? row0 + n : a + per;
        jobs[k] = (struct job){g, a, e > a ? e - a : 0, out + (size_t)(a - row0) * rowb,
                               w->scratch[k]};
    }
    for (int k = 1; k < nj; k++)
        started[k] = pthread_create(&th[k], NULL, job_run, &jobs[k]) == 0;
    job_run(&jobs[0]);
    for (int k = 1; k < nj; k++) {
        if (started[k])
            pthread_join(th[k], NULL);
        else
            job_run(&jobs[k]);
    }
}

static int write_tensor(struct wpipe *w, const struct mint_synth_model *m, size_t i, int fd,
                        const char *path, struct mint_err *err)
{
    struct mint_synth_gen g;
    const size_t rowb = (size_t)(m->t[i].ndim == 1 ? m->t[i].shape[0] : m->t[i].shape[1]) *
                        mint_dtype_size(m->dtype);

    if (mint_synth_gen_init(&g, m, i, err) < 0)
        return -1;
    for (int64_t r0 = 0; r0 < g.rows;) {
        struct wbuf *b = pipe_cur(w);
        int64_t n = rowb ? (int64_t)((w->cap - b->used) / rowb) : g.rows - r0;
        if (n > g.rows - r0)
            n = g.rows - r0;
        if (n == 0) {
            pipe_submit(w);
            continue;
        }
        b->fd = fd;
        b->path = path;
        gen_parallel(w, &g, r0, n, b->data + b->used, rowb);
        b->used += (size_t)n * rowb;
        r0 += n;
        if (w->cap - b->used < rowb)
            pipe_submit(w);
    }
    mint_synth_gen_release(&g);
    return pipe_failed(w) ? pipe_drain(w, err) : 0;
}

static int write_shard(struct wpipe *w, const struct mint_synth_model *m, size_t f,
                       const char *tmpdir, struct mint_err *err)
{
    struct mint_st_wentry *e;
    size_t ne = 0, hsize;
    unsigned char *hdr = NULL;
    uint64_t dsize;
    json_t *meta;
    char *path;
    int fd, rc = -1;

    e = calloc(m->n, sizeof *e);
    path = mint_path_join(tmpdir, m->files[f]);
    if (!e || !path) {
        free(e);
        free(path);
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    }
    for (size_t i = 0; i < m->n; i++) {
        const struct mint_synth_tensor *t = &m->t[i];
        if (t->file != (int)f)
            continue;
        e[ne].name = t->name;
        e[ne].dtype = m->dtype;
        e[ne].ndim = t->ndim;
        e[ne].shape[0] = t->shape[0];
        e[ne].shape[1] = t->shape[1];
        ne++;
    }
    meta = json_pack("{s:s}", "format", "pt");
    if (mint_st_plan(e, ne, meta, &hdr, &hsize, &dsize, err) < 0) {
        json_decref(meta);
        free(e);
        free(path);
        return -1;
    }
    json_decref(meta);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        mint_err_setc(err, MINT_EXIT_IO, "%s: cannot create: %s", path, strerror(errno));
        goto out;
    }
    if (write_all(fd, hdr, hsize, path, err) < 0)
        goto out_fd;
    for (size_t k = 0; k < ne; k++) {
        const struct mint_synth_tensor *t = mint_synth_find(m, e[k].name);
        MINT_ASSERT(t && t->nbytes == e[k].nbytes);
        if (write_tensor(w, m, (size_t)(t - m->t), fd, path, err) < 0)
            goto out_fd;
    }
    if (pipe_drain(w, err) < 0)
        goto out_fd;
    if (fsync(fd) != 0) {
        mint_err_setc(err, MINT_EXIT_IO, "%s: fsync: %s", path, strerror(errno));
        goto out_fd;
    }
    rc = 0;
out_fd:
    if (rc < 0) {
        struct mint_err ignore = {0};
        pipe_drain(w, &ignore); /* nothing may still write to fd */
    }
    if (close(fd) != 0 && rc == 0)
        rc = mint_err_setc(err, MINT_EXIT_IO, "%s: close: %s", path, strerror(errno));
out:
    free(hdr);
    free(e);
    free(path);
    return rc;
}

static int write_json(const char *dir, const char *name, const json_t *doc, size_t flags,
                      struct mint_err *err)
{
    char *path = mint_path_join(dir, name), *text = mint_json_text(doc, flags);
    int rc;
    if (!path || !text)
        rc = mint_err_setc(err, MINT_EXIT_IO, "%s: cannot serialise", name);
    else
        rc = mint_write_file(path, text, strlen(text), err);
    free(path);
    free(text);
    return rc;
}

static int dir_state(const char *dir) /* -1 absent, 0 empty dir, 1 non-empty dir, 2 not a dir */
{
    struct stat sb;
    DIR *d;
    struct dirent *de;
    int r = 0;
    if (lstat(dir, &sb) != 0)
        return -1;
    if (!S_ISDIR(sb.st_mode))
        return 2;
    d = opendir(dir);
    if (!d)
        return 1;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            r = 1;
            break;
        }
    closedir(d);
    return r;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int mint_synth_write(const struct mint_synth_model *m, const char *dir_in, int force,
                     int nthreads, struct mint_err *err)
{
    struct wpipe w;
    int piped = 0;
    char *dir, *tmp = NULL, *old = NULL, *parent;
    size_t len;
    int st, rc = -1;

    dir = strdup(dir_in);
    if (!dir)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        dir[--len] = 0;
    st = dir_state(dir);
    if (st == 2 || (st == 1 && !force)) {
        mint_err_set(err, "%s: %s", dir,
                     st == 2 ? "exists and is not a directory"
                             : "exists and is not empty (--force replaces it)");
        free(dir);
        return -1;
    }
    parent = strdup(dir);
    if (parent) {
        char *s = strrchr(parent, '/');
        if (s && s != parent) {
            *s = 0;
            if (mint_mkdirs(parent, err) < 0) {
                free(parent);
                free(dir);
                return -1;
            }
        } else if (s) {
            parent[1] = 0;
        } else {
            strcpy(parent, ".");
        }
    }
    tmp = malloc(len + 64);
    old = malloc(len + 64);
    if (!parent || !tmp || !old) {
        mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        goto out;
    }
    if (pipe_init(&w, m, nthreads, err) < 0)
        goto out;
    piped = 1;
    snprintf(tmp, len + 64, "%s.tmp.%ld", dir, (long)getpid());
    snprintf(old, len + 64, "%s.old.%ld", dir, (long)getpid());
    mint_rmtree(tmp);
    if (mkdir(tmp, 0777) != 0) {
        mint_err_setc(err, MINT_EXIT_IO, "%s: mkdir: %s", tmp, strerror(errno));
        goto out;
    }
    if (write_json(tmp, "config.json", m->config,
                   JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15), err) < 0)
        goto fail;
    if (m->n_files > 1) {
        json_t *wm = json_object(), *doc;
        for (size_t i = 0; i < m->n; i++)
            json_object_set_new(wm, m->t[i].name, json_string(m->files[m->t[i].file]));
        doc = json_pack("{s:{s:I},s:o}", "metadata", "total_size", (json_int_t)m->n_bytes,
                        "weight_map", wm);
        rc = write_json(tmp, "model.safetensors.index.json", doc, JSON_INDENT(2) | JSON_SORT_KEYS,
                        err);
        json_decref(doc);
        if (rc < 0)
            goto fail;
        rc = -1;
    }
    for (size_t f = 0; f < m->n_files; f++)
        if (write_shard(&w, m, f, tmp, err) < 0)
            goto fail;
    fsync_dir(tmp);
    st = dir_state(dir);
    if (st == 2 || (st == 1 && !force)) {
        mint_err_set(err, "%s: appeared while writing; output left in %s", dir, tmp);
        goto out;
    }
    if (st == 0 && rmdir(dir) != 0) {
        mint_err_setc(err, MINT_EXIT_IO, "%s: rmdir: %s", dir, strerror(errno));
        goto fail;
    }
    if (st == 1 && rename(dir, old) != 0) {
        mint_err_setc(err, MINT_EXIT_IO, "%s: rename: %s", dir, strerror(errno));
        goto fail;
    }
    if (rename(tmp, dir) != 0) {
        mint_err_setc(err, MINT_EXIT_IO, "%s: rename: %s", dir, strerror(errno));
        if (st == 1)
            rename(old, dir);
        goto fail;
    }
    if (st == 1)
        mint_rmtree(old);
    fsync_dir(parent);
    rc = 0;
    goto out;
fail:
    mint_rmtree(tmp);
out:
    if (piped)
        pipe_release(&w);
    free(parent);
    free(tmp);
    free(old);
    free(dir);
    return rc;
}
