/* llm.c - Llama-family forward pass for perplexity (see llm.h).
 *
 * Per layer, for a window of n positions (x: (n, hidden) residual stream, float32):
 *   h = RMSNorm(x) * w_in                       (mean of squares in double)
 *   q, k, v = h Wqᵀ (+bq), h Wkᵀ (+bk), h Wvᵀ (+bv)   (Qwen2 biases; any `.bias` is used)
 *   Qwen3: q, k per head RMSNorm'd with q_norm / k_norm (eps = rms_norm_eps)
 *   RoPE rotate-half at position = index, angle = pos * inv_freq in double
 *   per head: softmax(q kᵀ / sqrt(head_dim), causal) v, key/value head = head / (H / KV)
 *   x += (attention) Woᵀ;  h = RMSNorm(x) * w_post;  x += (silu(h Wgᵀ) * h Wuᵀ) Wdᵀ
 * then RMSNorm(x) * w_final and the output head (lm_head, or the embedding when tied), whose
 * logits are produced a block of vocabulary rows at a time and folded into a running
 * log-sum-exp per position, so (n, vocab) logits are never stored unless asked for.
 *
 * Quantized modules follow mlx-lm's load rule (mlx-format.md §5): the config `quantization`
 * entry of the module path decides (dict: its bits/group; false: float); without an entry the
 * module is quantized with the global bits/group iff `<path>.scales` exists.  RoPE scaling:
 * none/default, linear, llama3; anything else (yarn, dynamic, ...) is refused.  A sliding
 * window is recorded in cfg for the caller to check against its context length. */
#include "mint/llm.h"

#include <cblas.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mint/err.h"
#include "mint/io.h"
#include "mint/json.h"

#define MAT_BLOCK_FLOATS (256u * 1024u) /* decode buffer: 1 MiB of f32 rows */

/* ---------------------------------------------------------------- kernels */

void mint_rmsnorm(const float *x, const float *w, int64_t dim, double eps, float *out)
{
    double ss = 0.0;
    for (int64_t i = 0; i < dim; i++)
        ss += (double)x[i] * (double)x[i];
    float r = (float)(1.0 / sqrt(ss / (double)dim + eps));
    for (int64_t i = 0; i < dim; i++)
        out[i] = w[i] * (x[i] * r);
}

void mint_rope_table(const double *inv_freq, int64_t head_dim, int64_t pos, float *cs)
{
    for (int64_t i = 0; i < head_dim / 2; i++) {
        double a = (double)pos * inv_freq[i];
        cs[2 * i] = (float)cos(a);
        cs[2 * i + 1] = (float)sin(a);
    }
}

void mint_rope_apply(float *x, int64_t head_dim, const float *cs)
{
    int64_t half = head_dim / 2;
    for (int64_t i = 0; i < half; i++) {
        float c = cs[2 * i], s = cs[2 * i + 1];
        float x1 = x[i], x2 = x[i + half];
        x[i] = x1 * c - x2 * s;
        x[i + half] = x2 * c + x1 * s;
    }
}

void mint_rope(float *x, int64_t head_dim, const double *inv_freq, int64_t pos)
{
    float cs[2 * 512];
    MINT_ASSERT(head_dim <= 1024);
    mint_rope_table(inv_freq, head_dim, pos, cs);
    mint_rope_apply(x, head_dim, cs);
}

double mint_logsumexp(const float *x, int64_t n)
{
    float mx = -INFINITY;
    double s = 0.0;
    for (int64_t i = 0; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    for (int64_t i = 0; i < n; i++)
        s += exp((double)x[i] - (double)mx);
    return (double)mx + log(s);
}

static int64_t block_rows(const struct mint_mat *w)
{
    int64_t rb = (int64_t)MAT_BLOCK_FLOATS / (w->cols ? w->cols : 1);
    if (rb < 1)
        rb = 1;
    return rb < w->rows ? rb : w->rows;
}

static int in_place(const struct mint_mat *w)
{
    return !w->quantized && w->dt == MINT_DT_F32 && ((uintptr_t)w->w & 3) == 0;
}

size_t mint_mat_buf_floats(const struct mint_mat *w)
{
    return in_place(w) ? 1 : (size_t)(block_rows(w) * w->cols);
}

void mint_mat_row(const struct mint_mat *w, int64_t r, float *out)
{
    if (w->quantized) {
        int64_t wpr = w->cols * w->q.bits / 32, gpr = w->cols / w->q.group;
        mint_dequant_row((const uint32_t *)w->w + r * wpr, w->scales + r * gpr,
                         w->biases + r * gpr, w->cols, w->q, w->sdt, out);
    } else {
        size_t es = mint_dtype_size(w->dt);
        mint_to_f32(w->dt, (const unsigned char *)w->w + (size_t)(r * w->cols) * es, out,
                    (size_t)w->cols);
    }
}

static void mat_rows(const struct mint_mat *w, int64_t r0, int64_t nr, float *buf)
{
    if (!w->quantized) {
        size_t es = mint_dtype_size(w->dt);
        mint_to_f32(w->dt, (const unsigned char *)w->w + (size_t)(r0 * w->cols) * es, buf,
                    (size_t)(nr * w->cols));
        return;
    }
    for (int64_t r = 0; r < nr; r++)
        mint_mat_row(w, r0 + r, buf + r * w->cols);
}

void mint_mat_mul(const struct mint_mat *w, const float *x, int64_t n, float *y, float *buf)
{
    if (in_place(w)) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)w->rows, (int)w->cols,
                    1.0f, x, (int)w->cols, (const float *)w->w, (int)w->cols, 0.0f, y,
                    (int)w->rows);
    } else {
        int64_t rb = block_rows(w);
        for (int64_t r0 = 0; r0 < w->rows; r0 += rb) {
            int64_t nr = w->rows - r0 < rb ? w->rows - r0 : rb;
            mat_rows(w, r0, nr, buf);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)nr, (int)w->cols,
                        1.0f, x, (int)w->cols, buf, (int)w->cols, 0.0f, y + r0, (int)w->rows);
        }
    }
    if (w->bias)
        for (int64_t i = 0; i < n; i++)
            for (int64_t r = 0; r < w->rows; r++)
                y[i * w->rows + r] += w->bias[r];
}

/* ---------------------------------------------------------------- loading */

static int cfg_int(const json_t *c, const char *key, int64_t *out, int64_t dflt, int required,
                   const char *what, struct mint_err *err)
{
    const json_t *v = json_object_get(c, key);
    if (!v || json_is_null(v)) {
        if (required)
            return mint_err_set(err, "%s: missing '%s'", what, key);
        *out = dflt;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
        json_integer_value(v) > ((json_int_t)1 << 40))
        return mint_err_set(err, "%s: '%s' must be a positive integer", what, key);
    *out = json_integer_value(v);
    return 0;
}

static int cfg_real(const json_t *c, const char *key, double *out, double dflt,
                    const char *what, struct mint_err *err)
{
    const json_t *v = json_object_get(c, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return 0;
    }
    if (!json_is_number(v) || !(mint_json_number(v) > 0.0))
        return mint_err_set(err, "%s: '%s' must be a positive number", what, key);
    *out = mint_json_number(v);
    return 0;
}

static int parse_config(struct mint_llm *m, const char *what, struct mint_err *err)
{
    const json_t *c = m->st.config;
    struct mint_llm_cfg *g = &m->cfg;
    const char *mt = json_string_value(json_object_get(c, "model_type"));
    const json_t *arch = json_object_get(c, "architectures");
    static const char *archs[] = {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM",
                                  "Qwen3ForCausalLM"};
    static const char *types[] = {"llama", "mistral", "qwen2", "qwen3"};
    int ok = 0;

    if (!mt)
        return mint_err_set(err, "%s: no model_type", what);
    for (int i = 0; i < 4; i++)
        ok |= !strcmp(mt, types[i]);
    if (!ok)
        return mint_err_set(err, "%s: unsupported model_type '%s' (supported: llama, mistral, "
                                 "qwen2, qwen3)", what, mt);
    snprintf(g->model_type, sizeof g->model_type, "%s", mt);
    if (json_is_array(arch) && json_array_size(arch) > 0) {
        const char *a = json_string_value(json_array_get(arch, 0));
        ok = 0;
        for (int i = 0; a && i < 4; i++)
            ok |= !strcmp(a, archs[i]);
        if (!ok || json_array_size(arch) != 1)
            return mint_err_set(err, "%s: unsupported architecture '%s'", what, a ? a : "?");
    }
    {
        const char *act = json_string_value(json_object_get(c, "hidden_act"));
        if (act && strcmp(act, "silu"))
            return mint_err_set(err, "%s: unsupported hidden_act '%s' (only silu)", what, act);
    }
    if (cfg_int(c, "hidden_size", &g->hidden, 0, 1, what, err) < 0 ||
        cfg_int(c, "num_hidden_layers", &g->n_layers, 0, 1, what, err) < 0 ||
        cfg_int(c, "num_attention_heads", &g->n_heads, 0, 1, what, err) < 0 ||
        cfg_int(c, "num_key_value_heads", &g->n_kv_heads, g->n_heads, 0, what, err) < 0 ||
        cfg_int(c, "intermediate_size", &g->ffn, 0, 1, what, err) < 0 ||
        cfg_int(c, "vocab_size", &g->vocab, 0, 1, what, err) < 0 ||
        cfg_int(c, "head_dim", &g->head_dim, g->hidden / g->n_heads, 0, what, err) < 0 ||
        cfg_real(c, "rms_norm_eps", &g->eps, 1e-6, what, err) < 0 ||
        cfg_real(c, "rope_theta", &g->rope_theta, 10000.0, what, err) < 0)
        return -1;
    if (g->n_heads % g->n_kv_heads)
        return mint_err_set(err, "%s: num_attention_heads %lld is not a multiple of "
                                 "num_key_value_heads %lld", what, (long long)g->n_heads,
                            (long long)g->n_kv_heads);
    if (g->head_dim % 2 || g->head_dim < 2)
        return mint_err_set(err, "%s: head_dim %lld must be even", what, (long long)g->head_dim);
    g->tied = m->st.tied;
    g->qk_norm = !strcmp(mt, "qwen3");
    {
        const json_t *rs = json_object_get(c, "rope_scaling");
        g->rope_kind = MINT_ROPE_DEFAULT;
        if (rs && !json_is_null(rs)) {
            const char *ty = json_string_value(json_object_get(rs, "rope_type"));
            if (!ty)
                ty = json_string_value(json_object_get(rs, "type"));
            if (!ty || !strcmp(ty, "default")) {
                g->rope_kind = MINT_ROPE_DEFAULT;
            } else if (!strcmp(ty, "linear")) {
                g->rope_kind = MINT_ROPE_LINEAR;
                if (cfg_real(rs, "factor", &g->rope_factor, 1.0, what, err) < 0)
                    return -1;
            } else if (!strcmp(ty, "llama3")) {
                g->rope_kind = MINT_ROPE_LLAMA3;
                if (cfg_real(rs, "factor", &g->rope_factor, 8.0, what, err) < 0 ||
                    cfg_real(rs, "low_freq_factor", &g->rope_low, 1.0, what, err) < 0 ||
                    cfg_real(rs, "high_freq_factor", &g->rope_high, 4.0, what, err) < 0 ||
                    cfg_int(rs, "original_max_position_embeddings", &g->rope_orig_ctx, 8192, 0,
                            what, err) < 0)
                    return -1;
                if (!(g->rope_high > g->rope_low))
                    return mint_err_set(err, "%s: rope_scaling high_freq_factor must exceed "
                                             "low_freq_factor", what);
            } else {
                return mint_err_set(err, "%s: unsupported rope_scaling type '%s'", what, ty);
            }
        }
    }
    {
        const json_t *sw = json_object_get(c, "sliding_window");
        const json_t *use = json_object_get(c, "use_sliding_window");
        g->sliding_window = 0;
        if (json_is_integer(sw) && json_integer_value(sw) > 0 &&
            (!strcmp(mt, "mistral") || json_is_true(use)))
            g->sliding_window = json_integer_value(sw);
    }
    return 0;
}

static void rope_freqs(struct mint_llm *m)
{
    const struct mint_llm_cfg *g = &m->cfg;
    int64_t half = g->head_dim / 2;
    for (int64_t i = 0; i < half; i++) {
        double f = pow(g->rope_theta, -(double)(2 * i) / (double)g->head_dim);
        if (g->rope_kind == MINT_ROPE_LINEAR) {
            f /= g->rope_factor;
        } else if (g->rope_kind == MINT_ROPE_LLAMA3) {
            double old = (double)g->rope_orig_ctx, wl = 2.0 * M_PI / f;
            double low_wl = old / g->rope_low, high_wl = old / g->rope_high;
            if (wl > low_wl) {
                f /= g->rope_factor;
            } else if (wl >= high_wl) {
                double sm = (old / wl - g->rope_low) / (g->rope_high - g->rope_low);
                f = (1.0 - sm) * f / g->rope_factor + sm * f;
            }
        }
        m->inv_freq[i] = f;
    }
}

static const json_t *quant_cfg(const struct mint_llm *m)
{
    const json_t *q = json_object_get(m->st.config, "quantization");
    if (!json_is_object(q))
        q = json_object_get(m->st.config, "quantization_config");
    return json_is_object(q) ? q : NULL;
}

static int shape_is(const struct mint_st_tensor *t, int64_t a, int64_t b)
{
    return b < 0 ? (t->ndim == 1 && t->shape[0] == a)
                 : (t->ndim == 2 && t->shape[0] == a && t->shape[1] == b);
}

static const struct mint_st_tensor *need(const struct mint_llm *m, const char *name,
                                         struct mint_err *err)
{
    const struct mint_st_tensor *t = mint_st_model_find(&m->st, name);
    if (!t)
        mint_err_set(err, "%s: missing tensor '%s'", m->st.dir, name);
    return t;
}

static float *load_vec(const struct mint_llm *m, const char *name, int64_t dim, int optional,
                       struct mint_err *err)
{
    const struct mint_st_tensor *t = mint_st_model_find(&m->st, name);
    float *v;
    if (!t) {
        if (!optional)
            mint_err_set(err, "%s: missing tensor '%s'", m->st.dir, name);
        return NULL;
    }
    if (!mint_dtype_is_float(t->dtype) || !shape_is(t, dim, -1)) {
        mint_err_set(err, "%s: tensor '%s' must be a float vector of %lld", m->st.dir, name,
                     (long long)dim);
        return NULL;
    }
    v = malloc((size_t)dim * sizeof *v);
    if (!v) {
        mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        return NULL;
    }
    if (mint_to_f32(t->dtype, mint_st_model_data(&m->st, t), v, (size_t)dim) >= 0) {
        free(v);
        mint_err_set(err, "%s: tensor '%s' has a non-finite value", m->st.dir, name);
        return NULL;
    }
    return v;
}

/* Resolve module `path` ([rows, cols] Linear or Embedding) into mat. */
static int load_mat(struct mint_llm *m, const char *path, int64_t rows, int64_t cols,
                    struct mint_mat *mat, struct mint_err *err)
{
    char name[1024];
    const json_t *qc = quant_cfg(m), *entry = NULL;
    const struct mint_st_tensor *w, *sc = NULL, *bi = NULL, *bs;
    int quant = 0;
    struct mint_qcfg q = {0, 0};

    memset(mat, 0, sizeof *mat);
    snprintf(mat->name, sizeof mat->name, "%s", path);
    mat->rows = rows;
    mat->cols = cols;
    snprintf(name, sizeof name, "%s.scales", path);
    sc = mint_st_model_find(&m->st, name);
    if (qc) {
        entry = json_object_get(qc, path);
        if (json_is_object(entry)) {
            int64_t b = 0, g = 0;
            if (mint_json_get_int(entry, "bits", &b, path, err) < 0 ||
                mint_json_get_int(entry, "group_size", &g, path, err) < 0)
                return mint_err_prefix(err, "%s: config quantization", m->st.dir);
            q.bits = (int)b;
            q.group = (int)g;
            quant = 1;
        } else if (json_is_false(entry)) {
            quant = 0;
        } else if (entry) {
            return mint_err_set(err, "%s: config quantization entry '%s' must be an object or "
                                     "false", m->st.dir, path);
        } else if (sc) {
            const json_t *b = json_object_get(qc, "bits"), *g = json_object_get(qc, "group_size");
            if (!json_is_integer(b) || !json_is_integer(g))
                return mint_err_set(err, "%s: config quantization needs global bits and "
                                         "group_size", m->st.dir);
            q.bits = (int)json_integer_value(b);
            q.group = (int)json_integer_value(g);
            quant = 1;
        }
        const char *mode = json_string_value(json_object_get(qc, "mode"));
        if (quant && mode && strcmp(mode, "affine"))
            return mint_err_set(err, "%s: unsupported quantization mode '%s' (only affine)",
                                m->st.dir, mode);
    } else if (sc) {
        return mint_err_set(err, "%s: tensor '%s' exists but config.json has no quantization",
                            m->st.dir, name);
    }
    snprintf(name, sizeof name, "%s.weight", path);
    if (!(w = need(m, name, err)))
        return -1;
    if (quant) {
        if (!mint_qcfg_valid(q) || q.bits == MINT_BITS_PASSTHROUGH || cols % q.group)
            return mint_err_set(err, "%s: '%s': invalid quantization bits %d group %d for %lld "
                                     "columns", m->st.dir, path, q.bits, q.group,
                                (long long)cols);
        snprintf(name, sizeof name, "%s.scales", path);
        if (!(sc = need(m, name, err)))
            return -1;
        snprintf(name, sizeof name, "%s.biases", path);
        if (!(bi = need(m, name, err)))
            return -1;
        if (w->dtype != MINT_DT_U32 || !shape_is(w, rows, cols * q.bits / 32))
            return mint_err_set(err, "%s: '%s.weight' must be U32 [%lld, %lld] for %d-bit",
                                m->st.dir, path, (long long)rows,
                                (long long)(cols * q.bits / 32), q.bits);
        if ((sc->dtype != MINT_DT_BF16 && sc->dtype != MINT_DT_F16) || bi->dtype != sc->dtype ||
            !shape_is(sc, rows, cols / q.group) || !shape_is(bi, rows, cols / q.group))
            return mint_err_set(err, "%s: '%s' scales/biases must be BF16 or F16 [%lld, %lld] "
                                     "for group %d", m->st.dir, path, (long long)rows,
                                (long long)(cols / q.group), q.group);
        mat->quantized = 1;
        mat->q = q;
        mat->sdt = sc->dtype;
        mat->w = mint_st_model_data(&m->st, w);
        mat->scales = mint_st_model_data(&m->st, sc);
        mat->biases = mint_st_model_data(&m->st, bi);
        if (((uintptr_t)mat->w & 3) || ((uintptr_t)mat->scales & 1) ||
            ((uintptr_t)mat->biases & 1))
            return mint_err_set(err, "%s: '%s' tensors are not naturally aligned", m->st.dir,
                                path);
        m->n_quantized++;
    } else {
        if (sc)
            return mint_err_set(err, "%s: '%s' has scales but config.json says it is not "
                                     "quantized", m->st.dir, path);
        if ((w->dtype != MINT_DT_F32 && w->dtype != MINT_DT_F16 && w->dtype != MINT_DT_BF16) ||
            !shape_is(w, rows, cols))
            return mint_err_set(err, "%s: '%s.weight' must be F32/F16/BF16 [%lld, %lld] (is %s "
                                     "with %d dims)", m->st.dir, path, (long long)rows,
                                (long long)cols, mint_dtype_name(w->dtype), w->ndim);
        mat->dt = w->dtype;
        mat->w = mint_st_model_data(&m->st, w);
        if (mat->dt != MINT_DT_F32 && ((uintptr_t)mat->w & 1))
            return mint_err_set(err, "%s: '%s.weight' is not 2-byte aligned", m->st.dir, path);
    }
    snprintf(name, sizeof name, "%s.bias", path);
    bs = mint_st_model_find(&m->st, name);
    if (bs) {
        mat->bias = load_vec(m, name, rows, 0, err);
        if (!mat->bias)
            return -1;
    }
    return 0;
}

static uint64_t model_file_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    uint64_t total = 0;
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l >= 17 && !strncmp(e->d_name, "model", 5) &&
            !strcmp(e->d_name + l - 12, ".safetensors")) {
            char *p = mint_path_join(dir, e->d_name);
            struct stat sb;
            if (p && stat(p, &sb) == 0 && S_ISREG(sb.st_mode))
                total += (uint64_t)sb.st_size;
            free(p);
        }
    }
    closedir(d);
    return total;
}

int mint_llm_open(struct mint_llm *m, const char *dir, struct mint_err *err)
{
    char what[1100], path[128], name[160];
    const struct mint_llm_cfg *g = &m->cfg;
    int64_t qd, kvd;

    memset(m, 0, sizeof *m);
    if (mint_st_model_open_flags(&m->st, dir, MINT_ST_QUANTIZED, err) < 0)
        return -1;
    snprintf(what, sizeof what, "%s/config.json", dir);
    if (parse_config(m, what, err) < 0)
        goto fail;
    qd = g->n_heads * g->head_dim;
    kvd = g->n_kv_heads * g->head_dim;
    m->layers = calloc((size_t)g->n_layers, sizeof *m->layers);
    m->inv_freq = calloc((size_t)(g->head_dim / 2), sizeof *m->inv_freq);
    if (!m->layers || !m->inv_freq) {
        mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        goto fail;
    }
    rope_freqs(m);
    if (load_mat(m, "model.embed_tokens", g->vocab, g->hidden, &m->embed, err) < 0)
        goto fail;
    if (g->tied) {
        if (mint_st_model_find(&m->st, "lm_head.weight")) {
            mint_err_set(err, "%s: tied model also stores lm_head.weight", dir);
            goto fail;
        }
        m->head = m->embed;
        m->head.bias = NULL;
    } else if (load_mat(m, "lm_head", g->vocab, g->hidden, &m->head, err) < 0) {
        goto fail;
    }
    if (!(m->final_norm = load_vec(m, "model.norm.weight", g->hidden, 0, err)))
        goto fail;
    for (int64_t l = 0; l < g->n_layers; l++) {
        struct mint_llm_layer *L = &m->layers[l];
        static const char *mods[7] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                      "self_attn.o_proj", "mlp.gate_proj",    "mlp.up_proj",
                                      "mlp.down_proj"};
        struct mint_mat *mats[7] = {&L->q, &L->k, &L->v, &L->o, &L->gate, &L->up, &L->down};
        int64_t rows[7] = {qd, kvd, kvd, g->hidden, g->ffn, g->ffn, g->hidden};
        int64_t cols[7] = {g->hidden, g->hidden, g->hidden, qd, g->hidden, g->hidden, g->ffn};
        for (int k = 0; k < 7; k++) {
            snprintf(path, sizeof path, "model.layers.%lld.%s", (long long)l, mods[k]);
            if (load_mat(m, path, rows[k], cols[k], mats[k], err) < 0)
                goto fail;
        }
        snprintf(name, sizeof name, "model.layers.%lld.input_layernorm.weight", (long long)l);
        if (!(L->attn_norm = load_vec(m, name, g->hidden, 0, err)))
            goto fail;
        snprintf(name, sizeof name, "model.layers.%lld.post_attention_layernorm.weight",
                 (long long)l);
        if (!(L->mlp_norm = load_vec(m, name, g->hidden, 0, err)))
            goto fail;
        if (g->qk_norm) {
            snprintf(name, sizeof name, "model.layers.%lld.self_attn.q_norm.weight",
                     (long long)l);
            if (!(L->q_norm = load_vec(m, name, g->head_dim, 0, err)))
                goto fail;
            snprintf(name, sizeof name, "model.layers.%lld.self_attn.k_norm.weight",
                     (long long)l);
            if (!(L->k_norm = load_vec(m, name, g->head_dim, 0, err)))
                goto fail;
        }
    }
    m->model_bytes = model_file_bytes(dir);
    {
        uint64_t np = (uint64_t)(g->vocab * g->hidden) * (g->tied ? 1u : 2u) + (uint64_t)g->hidden;
        for (int64_t l = 0; l < g->n_layers; l++) {
            const struct mint_llm_layer *L = &m->layers[l];
            const struct mint_mat *mats[7] = {&L->q, &L->k, &L->v, &L->o, &L->gate, &L->up,
                                              &L->down};
            for (int k = 0; k < 7; k++)
                np += (uint64_t)(mats[k]->rows * mats[k]->cols) +
                      (mats[k]->bias ? (uint64_t)mats[k]->rows : 0u);
            np += 2u * (uint64_t)g->hidden + (g->qk_norm ? 2u * (uint64_t)g->head_dim : 0u);
        }
        m->n_params = np;
    }
    return 0;
fail:
    mint_llm_release(m);
    return -1;
}

void mint_llm_release(struct mint_llm *m)
{
    if (m->layers)
        for (int64_t l = 0; l < m->cfg.n_layers; l++) {
            struct mint_llm_layer *L = &m->layers[l];
            struct mint_mat *mats[7] = {&L->q, &L->k, &L->v, &L->o, &L->gate, &L->up, &L->down};
            for (int k = 0; k < 7; k++)
                free(mats[k]->bias);
            free(L->attn_norm);
            free(L->mlp_norm);
            free(L->q_norm);
            free(L->k_norm);
        }
    free(m->layers);
    free(m->embed.bias);
    if (!m->cfg.tied)
        free(m->head.bias);
    free(m->final_norm);
    free(m->inv_freq);
    mint_st_model_release(&m->st);
    memset(m, 0, sizeof *m);
}

/* ---------------------------------------------------------------- forward */

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

#define ATT_BLOCK 64 /* query rows per attention block (causal: keys 0..block end only) */

/* exp(x) for x <= 0 (softmax after max subtraction), four at a time with GCC/Clang vector
 * extensions (portable; lowered to scalar code where there is no SIMD): 2^k * p(r),
 * r = x - k ln2 (Cody-Waite split), degree-6 polynomial, k by the 1.5 * 2^23 rounding trick;
 * relative error < 3e-7 for x >= -87 (t-llm checks it against exp()); below -87 it returns
 * exp(-87) ~ 1.6e-38 instead of underflowing. */
typedef float mint_v4f __attribute__((vector_size(16)));
typedef int32_t mint_v4i __attribute__((vector_size(16)));

static inline mint_v4f exp_neg4(mint_v4f x)
{
    const mint_v4f magic = {12582912.0f, 12582912.0f, 12582912.0f, 12582912.0f};
    const mint_v4f lim = {-87.0f, -87.0f, -87.0f, -87.0f};
    mint_v4i keep = x > lim;
    x = (mint_v4f)(((mint_v4i)x & keep) | ((mint_v4i)lim & ~keep));
    mint_v4f t = x * 1.44269504f + magic;
    mint_v4f k = t - magic;
    mint_v4f r = (x - k * 0.693359375f) + k * 2.12194440e-4f;
    mint_v4f p = r * 1.3981999507e-3f + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    mint_v4i sb = ((mint_v4i)t - 0x4B400000 + 127) << 23;
    return p * (mint_v4f)sb;
}

float mint_exp_neg(float x)
{
    mint_v4f v = {x, x, x, x};
    return exp_neg4(v)[0];
}

/* x[k] = exp(x[k] - max x) for k < n; returns the sum (four float lanes, added in double). */
static double softmax_exp(float *x, int64_t n)
{
    float m = -INFINITY;
    int64_t k, n4 = n & ~(int64_t)3;
    mint_v4f acc = {0.0f, 0.0f, 0.0f, 0.0f};
    double s = 0.0;
    for (k = 0; k < n; k++)
        m = x[k] > m ? x[k] : m;
    const mint_v4f mv = {m, m, m, m};
    for (k = 0; k < n4; k += 4) {
        mint_v4f v;
        memcpy(&v, x + k, sizeof v);
        v = exp_neg4(v - mv);
        memcpy(x + k, &v, sizeof v);
        acc += v;
    }
    if (k < n) {
        mint_v4f v = {0.0f, 0.0f, 0.0f, 0.0f};
        memcpy(&v, x + k, (size_t)(n - k) * sizeof *x);
        v = exp_neg4(v - mv);
        for (int64_t l = 0; k + l < n; l++) {
            x[k + l] = v[l];
            s += v[l];
        }
    }
    return s + (double)acc[0] + (double)acc[1] + (double)acc[2] + (double)acc[3];
}

/* sum of exp(x[k] - m) for k < n, with m >= max x (x unchanged) */
static double sum_exp_below(const float *x, int64_t n, float m)
{
    int64_t k, n4 = n & ~(int64_t)3;
    const mint_v4f mv = {m, m, m, m};
    mint_v4f acc = {0.0f, 0.0f, 0.0f, 0.0f};
    double s = 0.0;
    for (k = 0; k < n4; k += 4) {
        mint_v4f v;
        memcpy(&v, x + k, sizeof v);
        acc += exp_neg4(v - mv);
    }
    for (; k < n; k++)
        s += (double)mint_exp_neg(x[k] - m);
    return s + (double)acc[0] + (double)acc[1] + (double)acc[2] + (double)acc[3];
}

static void attention(const struct mint_llm *m, const float *q, const float *k, const float *v,
                      int64_t n, float *scores, float *out)
{
    const struct mint_llm_cfg *g = &m->cfg;
    int64_t hd = g->head_dim, qs = g->n_heads * hd, ks = g->n_kv_heads * hd;
    int64_t grp = g->n_heads / g->n_kv_heads, W = g->sliding_window;
    float scale = (float)(1.0 / sqrt((double)hd));
    for (int64_t h = 0; h < g->n_heads; h++) {
        int64_t kh = h / grp;
        for (int64_t i0 = 0; i0 < n; i0 += ATT_BLOCK) {
            int64_t bs = n - i0 < ATT_BLOCK ? n - i0 : ATT_BLOCK, nk = i0 + bs;
            /* scores (bs, nk): block rows i0.. against keys 0..nk-1 */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bs, (int)nk, (int)hd,
                        scale, q + i0 * qs + h * hd, (int)qs, k + kh * hd, (int)ks, 0.0f,
                        scores, (int)nk);
            for (int64_t r = 0; r < bs; r++) {
                int64_t i = i0 + r, j0 = W && i >= W ? i - W + 1 : 0;
                float *row = scores + r * nk;
                float inv = (float)(1.0 / softmax_exp(row + j0, i + 1 - j0));
                for (int64_t j = 0; j < j0; j++)
                    row[j] = 0.0f;
                for (int64_t j = j0; j <= i; j++)
                    row[j] *= inv;
                for (int64_t j = i + 1; j < nk; j++)
                    row[j] = 0.0f;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)bs, (int)hd, (int)nk,
                        1.0f, scores, (int)nk, v + kh * hd, (int)ks, 0.0f,
                        out + i0 * qs + h * hd, (int)qs);
        }
    }
}

int mint_llm_forward(const struct mint_llm *m, const int32_t *tokens, int64_t n, double *nll,
                     float *logits, struct mint_err *err)
{
    const struct mint_llm_cfg *g = &m->cfg;
    int64_t H = g->hidden, hd = g->head_dim, qd = g->n_heads * hd, kvd = g->n_kv_heads * hd;
    int64_t F = g->ffn, V = g->vocab;
    size_t nb = mint_mat_buf_floats(&m->head);
    float *x = NULL, *h = NULL, *q = NULL, *k = NULL, *v = NULL, *att = NULL, *sc = NULL,
          *gt = NULL, *up = NULL, *buf = NULL, *lg = NULL, *rt = NULL;
    double *mx = NULL, *sum = NULL, *tgt = NULL;
    int64_t hrb;
    int rc = -1;

    if (n < 1)
        return mint_err_set(err, "empty window");
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= V)
            return mint_err_set(err, "token id %d out of range (vocab %lld)", (int)tokens[i],
                                (long long)V);
    for (int64_t l = 0; l < g->n_layers; l++) {
        const struct mint_llm_layer *L = &m->layers[l];
        const struct mint_mat *mats[7] = {&L->q, &L->k, &L->v, &L->o, &L->gate, &L->up, &L->down};
        for (int j = 0; j < 7; j++)
            nb = max_sz(nb, mint_mat_buf_floats(mats[j]));
    }
    hrb = m->head.rows; /* head block rows: as mint_mat_mul would decode them */
    {
        int64_t rb = (int64_t)MAT_BLOCK_FLOATS / H;
        hrb = rb < 1 ? 1 : (rb < V ? rb : V);
        nb = max_sz(nb, (size_t)(hrb * H));
    }
    x = malloc((size_t)(n * H) * sizeof *x);
    h = malloc((size_t)(n * H) * sizeof *h);
    q = malloc((size_t)(n * qd) * sizeof *q);
    k = malloc((size_t)(n * kvd) * sizeof *k);
    v = malloc((size_t)(n * kvd) * sizeof *v);
    att = malloc((size_t)(n * qd) * sizeof *att);
    sc = malloc((size_t)(ATT_BLOCK * n) * sizeof *sc);
    rt = malloc((size_t)(n * hd) * sizeof *rt);
    gt = malloc((size_t)(n * F) * sizeof *gt);
    up = malloc((size_t)(n * F) * sizeof *up);
    buf = malloc(nb * sizeof *buf);
    lg = malloc((size_t)(n * hrb) * sizeof *lg);
    mx = malloc((size_t)n * sizeof *mx);
    sum = malloc((size_t)n * sizeof *sum);
    tgt = malloc((size_t)n * sizeof *tgt);
    if (!x || !h || !q || !k || !v || !att || !sc || !gt || !up || !buf || !lg || !mx || !sum ||
        !tgt || !rt) {
        mint_err_setc(err, MINT_EXIT_IO, "out of memory (window of %lld positions)",
                      (long long)n);
        goto out;
    }
    for (int64_t i = 0; i < n; i++) {
        mint_mat_row(&m->embed, tokens[i], x + i * H);
        mint_rope_table(m->inv_freq, hd, i, rt + i * hd);
    }
    for (int64_t l = 0; l < g->n_layers; l++) {
        const struct mint_llm_layer *L = &m->layers[l];
        for (int64_t i = 0; i < n; i++)
            mint_rmsnorm(x + i * H, L->attn_norm, H, g->eps, h + i * H);
        mint_mat_mul(&L->q, h, n, q, buf);
        mint_mat_mul(&L->k, h, n, k, buf);
        mint_mat_mul(&L->v, h, n, v, buf);
        for (int64_t i = 0; i < n; i++) {
            for (int64_t a = 0; a < g->n_heads; a++) {
                float *p = q + i * qd + a * hd;
                if (L->q_norm)
                    mint_rmsnorm(p, L->q_norm, hd, g->eps, p);
                mint_rope_apply(p, hd, rt + i * hd);
            }
            for (int64_t a = 0; a < g->n_kv_heads; a++) {
                float *p = k + i * kvd + a * hd;
                if (L->k_norm)
                    mint_rmsnorm(p, L->k_norm, hd, g->eps, p);
                mint_rope_apply(p, hd, rt + i * hd);
            }
        }
        attention(m, q, k, v, n, sc, att);
        mint_mat_mul(&L->o, att, n, h, buf);
        for (int64_t i = 0; i < n * H; i++)
            x[i] += h[i];
        for (int64_t i = 0; i < n; i++)
            mint_rmsnorm(x + i * H, L->mlp_norm, H, g->eps, h + i * H);
        mint_mat_mul(&L->gate, h, n, gt, buf);
        mint_mat_mul(&L->up, h, n, up, buf);
        for (int64_t i = 0; i < n * F; i++) {
            float a = gt[i];
            gt[i] = a / (1.0f + expf(-a)) * up[i];
        }
        mint_mat_mul(&L->down, gt, n, h, buf);
        for (int64_t i = 0; i < n * H; i++)
            x[i] += h[i];
    }
    for (int64_t i = 0; i < n; i++)
        mint_rmsnorm(x + i * H, m->final_norm, H, g->eps, h + i * H);

    /* output head, a block of vocabulary rows at a time, folded into log-sum-exp */
    for (int64_t i = 0; i < n; i++) {
        mx[i] = -INFINITY;
        sum[i] = 0.0;
        tgt[i] = NAN;
    }
    for (int64_t r0 = 0; r0 < V; r0 += hrb) {
        int64_t nr = V - r0 < hrb ? V - r0 : hrb;
        const float *wb;
        if (in_place(&m->head)) {
            wb = (const float *)m->head.w + r0 * H;
        } else {
            mat_rows(&m->head, r0, nr, buf);
            wb = buf;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)nr, (int)H, 1.0f, h,
                    (int)H, wb, (int)H, 0.0f, lg, (int)nr);
        for (int64_t i = 0; i < n; i++) {
            const float *row = lg + i * nr;
            float bm = -INFINITY;
            if (logits)
                memcpy(logits + i * V + r0, row, (size_t)nr * sizeof *row);
            if (!nll)
                continue;
            for (int64_t j = 0; j < nr; j++)
                bm = row[j] > bm ? row[j] : bm;
            double ref = bm > mx[i] ? (double)bm : mx[i];
            double s = sum_exp_below(row, nr, (float)ref);
            sum[i] = sum[i] * exp(mx[i] - ref) + s;
            mx[i] = ref;
            if (i + 1 < n && tokens[i + 1] >= r0 && tokens[i + 1] < r0 + nr)
                tgt[i] = row[tokens[i + 1] - r0];
        }
    }
    if (nll)
        for (int64_t i = 0; i + 1 < n; i++)
            nll[i] = mx[i] + log(sum[i]) - tgt[i];
    rc = 0;
out:
    free(x);
    free(h);
    free(q);
    free(k);
    free(v);
    free(att);
    free(sc);
    free(gt);
    free(up);
    free(buf);
    free(lg);
    free(mx);
    free(sum);
    free(tgt);
    free(rt);
    return rc;
}
