/* llm.h - a Llama-family causal LM (Llama, Mistral, Qwen2, Qwen3) over dense or MLX-packed
 * weights, for perplexity.
 *
 * Weights stay in the mmap'd safetensors files: F32 matrices are used in place when aligned;
 * F16/BF16 and MLX-quantized matrices (U32 codes + BF16/F16 scales and biases, per-module
 * bits/group from config `quantization`, mlx-format.md §3-§5) are decoded a block of rows at a
 * time (mint_dequant_row, the one quantizer) into a small f32 buffer, so memory is the mapped
 * files plus activations, never the whole model in f32.  Matrix products are cblas_sgemm over
 * all positions of a window; activations are float32; reductions (norms, softmax sums, the
 * output log-sum-exp) accumulate in double over float32 exponentials (a vectorized exp with
 * relative error < 3e-7), so an NLL is within ~1e-6 of a float64 evaluation of the same
 * logits.  No KV cache: each call is one independent window. */
#ifndef MINT_LLM_H
#define MINT_LLM_H

#include <stddef.h>
#include <stdint.h>

#include "mint/dtype.h"
#include "mint/quant.h"
#include "mint/st.h"

struct mint_err;

enum mint_rope_kind { MINT_ROPE_DEFAULT, MINT_ROPE_LINEAR, MINT_ROPE_LLAMA3 };

struct mint_llm_cfg {
    char model_type[16];     /* llama, mistral, qwen2, qwen3 */
    int64_t hidden, n_layers, n_heads, n_kv_heads, head_dim, ffn, vocab;
    double rope_theta, eps;
    enum mint_rope_kind rope_kind;
    double rope_factor, rope_low, rope_high; /* linear: factor; llama3: all three */
    int64_t rope_orig_ctx;   /* llama3: original_max_position_embeddings */
    int64_t sliding_window;  /* 0: none in effect */
    int tied, qk_norm;
};

/* One [rows, cols] matrix in its stored form. */
struct mint_mat {
    char name[128];          /* module path, for messages */
    int64_t rows, cols;
    int quantized;
    enum mint_dtype dt;      /* float storage (F32/F16/BF16) when !quantized */
    const void *w;           /* (rows, cols) floats, or (rows, cols*bits/32) U32 codes */
    const uint16_t *scales;  /* (rows, cols/group) raw sdt values (quantized) */
    const uint16_t *biases;  /* (rows, cols/group) */
    enum mint_dtype sdt;
    struct mint_qcfg q;
    float *bias;             /* (rows) owned f32 copy of the Linear bias, or NULL */
};

struct mint_llm_layer {
    float *attn_norm, *mlp_norm;   /* (hidden) owned */
    float *q_norm, *k_norm;        /* (head_dim) owned, Qwen3 only */
    struct mint_mat q, k, v, o, gate, up, down;
};

struct mint_llm {
    struct mint_llm_cfg cfg;
    struct mint_st_model st;
    struct mint_mat embed;         /* (vocab, hidden) */
    struct mint_mat head;          /* (vocab, hidden); a copy of embed when tied */
    float *final_norm;             /* (hidden) owned */
    struct mint_llm_layer *layers; /* (n_layers) */
    double *inv_freq;              /* (head_dim/2) RoPE frequencies after scaling */
    uint64_t model_bytes;          /* sum of the sizes of the model*.safetensors files */
    int64_t n_quantized;           /* matrices stored quantized */
    uint64_t n_params;             /* logical parameter count (quantized: rows * cols) */
};

/* Open MODEL_DIR (config.json + safetensors, dense or MLX-quantized) and check every tensor's
 * presence, dtype and shape against the config. */
int  mint_llm_open(struct mint_llm *m, const char *dir, struct mint_err *err);
void mint_llm_release(struct mint_llm *m);

/* One window: tokens[0..n) at positions 0..n-1, causal.  nll (n-1 entries, or NULL):
 * nll[j] = -log softmax(logits_j)[tokens[j+1]], natural log.  logits (n * vocab floats, or
 * NULL): the raw output logits.  Returns 0, or -1 with err (bad token id, out of memory). */
int mint_llm_forward(const struct mint_llm *m, const int32_t *tokens, int64_t n, double *nll,
                     float *logits, struct mint_err *err);

/* Building blocks, exposed for tests.  Rows are contiguous. */
void mint_rmsnorm(const float *x, const float *w, int64_t dim, double eps, float *out);
/* Rotate-half RoPE of one head vector x (head_dim) at position pos, in place. */
void mint_rope(float *x, int64_t head_dim, const double *inv_freq, int64_t pos);
/* The same in two steps: cos/sin table of one position (head_dim floats), then apply it. */
void mint_rope_table(const double *inv_freq, int64_t head_dim, int64_t pos, float *cs);
void mint_rope_apply(float *x, int64_t head_dim, const float *cs);
/* exp(x) for x <= 0 as the attention softmax computes it (relative error < 2e-7). */
float mint_exp_neg(float x);
/* Y (n, rows) = X (n, cols) · Wᵀ (+ bias), W decoded in row blocks into buf. */
void mint_mat_mul(const struct mint_mat *w, const float *x, int64_t n, float *y, float *buf);
/* Floats needed by mint_mat_mul's buf for w. */
size_t mint_mat_buf_floats(const struct mint_mat *w);
/* Row r of w as f32 (embedding lookup). */
void mint_mat_row(const struct mint_mat *w, int64_t r, float *out);
/* Log-sum-exp of x (n) in double. */
double mint_logsumexp(const float *x, int64_t n);

#endif
