/* rd.h - rate-distortion measurement of one weight matrix (algorithm.md §2-§4).
 *
 * A struct mint_rd measures float32 rows of a fixed width against a list of configurations in
 * one pass per row: for every configuration it quantizes each group (MLX or MINT min/max),
 * dequantizes from the stored (BF16/F16-rounded) scale and bias, and adds ΣE², ΣW², ΣE²γ²,
 * ΣW²γ² (double) into caller-owned sums.  Bits are never packed.  The fast kernels (AVX2 with
 * runtime dispatch, and a portable scalar one that GCC vectorizes) give results bit-identical
 * to the reference path mint_quant_row_mlx + mint_dequant_row (MINT_RD_KERNEL_REF): same
 * dequantized values (minmax: up to the sign of a zero), same sums.  No global state; a
 * context is used by one thread at a time.  Errors fill struct mint_err and return -1. */
#ifndef MINT_RD_H
#define MINT_RD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "mint/dtype.h"
#include "mint/quant.h"

struct mint_err;
struct mint_map;

#define MINT_RD_MAX_CFGS 32
#define MINT_RD_MAX_DIMS 8
#define MINT_RD_SQNR_CAP 100.0   /* dB, MINT's cap (algorithm.md §3) */

enum mint_rd_quantizer { MINT_RD_MLX, MINT_RD_MINMAX };

enum mint_rd_kernel {
    MINT_RD_KERNEL_AUTO,    /* AVX2+F16C when the CPU has them, else scalar */
    MINT_RD_KERNEL_SCALAR,
    MINT_RD_KERNEL_AVX2,    /* refused by mint_rd_init on a CPU without AVX2/F16C */
    MINT_RD_KERNEL_REF,     /* mint_quant_row_mlx + mint_dequant_row: slow, the oracle */
};

/* Distortion sums of one configuration, in double.  Per row, element errors
 * e_k = fl32(ŵ_k - w_k) are squared in double and added into 8 lanes (lane = k mod 8), which
 * are combined as ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)); the row total is then added to
 * these sums.  So the sums are identical whatever kernel computed them. */
struct mint_rd_sums {
    double se;   /* Σ E² */
    double sw;   /* Σ W² */
    double sew;  /* Σ E² γ² (0 without γ) */
    double sww;  /* Σ W² γ² */
};

struct mint_rd_opts {
    enum mint_rd_quantizer quantizer;
    enum mint_dtype src_dtype;  /* F32, F16 or BF16: 16-bit error is 0 when == out_dtype */
    enum mint_dtype out_dtype;  /* BF16 or F16: stored scales/biases and 16-bit passthrough */
    const float *gamma;         /* (cols) RMSNorm gain over input columns, or NULL */
    enum mint_rd_kernel kernel;
};

struct mint_rd {
    int64_t cols;
    size_t ncfg;
    struct mint_qcfg cfg[MINT_RD_MAX_CFGS];
    int avail[MINT_RD_MAX_CFGS];      /* g | cols (quantized) or 16-bit */
    struct mint_rd_opts opt;          /* gamma not kept: copied into g2 */
    enum mint_rd_kernel kernel;       /* resolved: SCALAR, AVX2 or REF */
    float absmax;                     /* max |w| over all rows measured so far */
    /* per-row work buffers */
    float *w;        /* (cols) the row, 32-byte aligned */
    double *g2;      /* (cols) γ_j² in double, or NULL */
    float *lo, *hi;  /* group min/max: 32-, 64-, 128-groups, each region padded by 8 */
    float *s, *z, *sf, *zf; /* (cols/32 + 8) per-group code scale/bias and stored ones */
    float *deq;      /* (cols) reference-path scratch */
    uint32_t *packed;
    uint16_t *qs, *qb;
};

/* Can this CPU run kernel k?  Kernel name for reports ("avx2", "scalar", "ref"). */
int mint_rd_kernel_available(enum mint_rd_kernel k);
const char *mint_rd_kernel_name(enum mint_rd_kernel k);

/* cfgs: ncfg <= MINT_RD_MAX_CFGS valid configurations; unavailable ones (g ∤ cols) are kept
 * and skipped (their sums stay untouched). */
int  mint_rd_init(struct mint_rd *r, int64_t cols, const struct mint_qcfg *cfgs, size_t ncfg,
                  const struct mint_rd_opts *opt, struct mint_err *err);
void mint_rd_release(struct mint_rd *r);

/* Measure one finite float32 row (cols), adding into sums[ncfg].  If out is not NULL, the
 * dequantized row of configuration index out_cfg (as measured) is written to out (cols). */
void mint_rd_row(struct mint_rd *r, const float *w, struct mint_rd_sums *sums, size_t out_cfg,
                 float *out);

/* Convert 'rows' rows of source data (opt.src_dtype, row-major, rows × cols, unaligned is
 * fine) and measure them.  A non-finite value: returns -1, *bad = its element index within
 * this call, err set (no sums promised).  out: as mint_rd_row, (rows × cols) or NULL. */
int mint_rd_rows(struct mint_rd *r, const void *src, int64_t rows, struct mint_rd_sums *sums,
                 size_t out_cfg, float *out, int64_t *bad, struct mint_err *err);

/* One row, one configuration, through a chosen kernel: adds to *sums, optional out (cols).
 * For tests and benchmarks; c must be available for cols. */
void mint_rd_row_cfg(struct mint_rd *r, enum mint_rd_kernel k, const float *w,
                     struct mint_qcfg c, struct mint_rd_sums *sums, float *out);

/* Metrics from sums: nrmse = sqrt(se/sw) (0 if sw = 0), sqnr_db = min(100, 10 log10(sw/se))
 * (100 if se = 0), mse = se/n, nrmse_w = sqrt(sew/sww) (0 if sww = 0). */
struct mint_rd_metrics {
    double nrmse, sqnr_db, mse, nrmse_w;
};
void mint_rd_metrics(const struct mint_rd_sums *s, uint64_t n, struct mint_rd_metrics *m);
/* SQNR in dB from an NRMSE: min(100, -20 log10 nrmse), 100 for 0. */
double mint_rd_sqnr_of_nrmse(double nrmse);

/* The RMSNorm gain that feeds a matrix (algorithm.md §3.1): q/k/v -> same-layer
 * input_layernorm; mlp gate/up, expert gate/up, routers, shared-expert gate/up ->
 * post_attention_layernorm; lm_head and a tied embed_tokens -> "<lm_prefix>norm.weight";
 * anything else (o/down projections, untied embedding, vision, norms) none.  Writes the norm's
 * tensor name to out and returns 1, or returns 0.  lm_prefix: what precedes "layers.N." in
 * the model's language-model tensor names ("model." for "model.layers.N."). */
int mint_rd_norm_name(const char *tensor, int tied, const char *lm_prefix, char *out, size_t cap);
/* The text before the component "layers.<N>." in a tensor name (e.g. "model."), into out;
 * returns 1, or 0 if the name has no such component. */
int mint_rd_layers_prefix(const char *tensor, char *out, size_t cap);

/* ---- a whole tensor ---- */

/* Result of one configuration.  Stacked experts (3-D): m.nrmse and m.nrmse_w are the
 * parameter-weighted means of the per-expert values, m.sqnr_db = min(100, -20 log10 m.nrmse),
 * m.mse pooled; nrmse_worst = max and sqnr_db_worst = min over experts. */
struct mint_rd_cfg_result {
    struct mint_qcfg c;
    int available;
    char reason[160];            /* why not available */
    uint64_t bytes;              /* exact packed bytes (algorithm.md §4) */
    struct mint_rd_metrics m;
    double nrmse_worst, sqnr_db_worst;
    double *expert_nrmse;        /* (experts) or NULL */
};

struct mint_rd_result {
    int ndim;
    int64_t shape[MINT_RD_MAX_DIMS];
    enum mint_dtype dtype, out_dtype;
    enum mint_rd_quantizer quantizer;
    int has_norm;
    int64_t experts;             /* E for a 3-D tensor, else 0 */
    int64_t rows, cols;          /* per expert; 1-D: one row */
    uint64_t params;
    float absmax;                /* max |w| */
    enum mint_rd_kernel kernel;  /* the kernel that ran (resolved from AUTO) */
    size_t ncfg;
    struct mint_rd_cfg_result cfg[MINT_RD_MAX_CFGS];
};

/* Optional dequantized output of one configuration (as measured), handed over in row order,
 * a few MiB at a time. */
struct mint_rd_dump {
    struct mint_qcfg cfg;
    int (*write)(void *ctx, const float *buf, size_t n, struct mint_err *err);
    void *ctx;
};

/* Measure a tensor: data (dtype F32/F16/BF16, shape[ndim], row-major, may be unaligned).
 * 2-D [rows, cols]; 3-D [E, rows, cols] per expert; > 3-D viewed as (shape[0], -1); 0/1-D as
 * one row with 16-bit only.  opt: quantizer, out_dtype, gamma (cols) or NULL, kernel;
 * opt->src_dtype is ignored (dtype is used).  map: the mapping data lies in, or NULL; pages are
 * dropped after use.  Unavailable: g ∤ cols, 1-D, F16 passthrough with max |w| > 65504, or
 * non-finite dequantized values.  A non-finite weight, or a dump configuration that is
 * unavailable, is an error.  Release res with mint_rd_result_release (also after an error). */
int  mint_rd_measure(const void *data, enum mint_dtype dtype, int ndim, const int64_t *shape,
                     const struct mint_qcfg *cfgs, size_t ncfg, const struct mint_rd_opts *opt,
                     const struct mint_rd_dump *dump, const struct mint_map *map,
                     struct mint_rd_result *res, struct mint_err *err);
void mint_rd_result_release(struct mint_rd_result *res);

/* Index of the cheapest available configuration whose SQNR (worst expert for stacked
 * experts) is >= veto_db, or -1. */
int mint_rd_best(const struct mint_rd_result *res, double veto_db);

/* The rd.json document (schema 1): {"schema","tensor","hash","shape","params","dtype",
 * "out_dtype","quantizer","norm","experts","configs":[{"bits","group","available","bytes",
 * "nrmse","sqnr_db","mse","nrmse_w"(with a norm),"nrmse_worst","sqnr_db_worst",
 * "expert_nrmse"(stacked experts),"reason"(unavailable)}]}; unavailable: null metrics/bytes. */
json_t *mint_rd_json(const struct mint_rd_result *res, const char *tensor, const char *hash,
                     const char *norm);

#endif
