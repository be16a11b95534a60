/* pack.h - write an allocation as a ready-to-load MLX model directory, and check one
 * (mlx-format.md; algorithm.md §2.1, §4, §10.2).
 *
 * A plan maps every index tensor, with its (bits, group) from alloc.json, to output tensors:
 * MLX names (mint_mlx_name), per-expert tensors stacked into switch_mlp, quantized modules as
 * <module>.weight (U32) + .scales + .biases, everything else in the output float dtype.  Data
 * is streamed a block of rows at a time (memory: ~8 MiB per thread plus the plan), quantized
 * with the one MLX quantizer (mint_quant_row_mlx; rows of a block split over threads, so the
 * bytes never depend on the thread count) and written into a temporary directory that is
 * validated and then renamed into place, so OUT_DIR is either absent/old or complete.
 * Library code fills struct mint_err and never prints; outputs are deterministic bytes. */
#ifndef MINT_PACK_H
#define MINT_PACK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "mint/dtype.h"
#include "mint/quant.h"
#include "mint/role.h"
#include "mint/st.h"

struct mint_err;

#define MINT_PACK_SHARD_DEFAULT (5ull << 30) /* mlx-lm MAX_FILE_SIZE_GB = 5, i.e. 5 GiB */
#define MINT_PACK_MAX_THREADS 64

/* One source tensor, as listed by index.json. */
struct mint_pack_src {
    char *name;             /* canonical HF name */
    char *hash;             /* XXH3-128 hex of the raw bytes */
    enum mint_dtype dtype;
    int ndim;
    int64_t shape[MINT_ST_MAX_DIMS];
    uint64_t nelem;
};

/* Per source tensor: the allocated configuration. */
struct mint_pack_choice {
    struct mint_qcfg cfg;   /* bits 16 / group 0 = float in the output dtype */
    int dropped;            /* 1: alloc says "dropped": true */
    uint64_t bytes;         /* alloc's byte figure (checked against mint_quant_bytes) */
};

enum {
    MINT_PACK_QUANTIZABLE = 1, /* a Linear/Embedding/SwitchLinear weight: may be quantized */
    MINT_PACK_FALSEABLE = 2,   /* gets "false" in the config when kept float (§5 rule 3) */
    MINT_PACK_NOGROUP = 4,     /* quantizable role, but no group size divides its last dim */
};

/* One output module (quantized weight) or float tensor. */
struct mint_pack_item {
    char *name;             /* MLX name, e.g. "model.layers.0.mlp.switch_mlp.up_proj.weight" */
    char *module;           /* name without ".weight" (the config key) */
    struct mint_qcfg cfg;
    enum mint_role role;
    unsigned flags;         /* MINT_PACK_* */
    int ndim;
    int64_t shape[MINT_ST_MAX_DIMS]; /* logical shape (stacked experts: [E, ...]) */
    uint64_t params;        /* logical elements */
    size_t n_src;
    size_t *src;            /* (n_src) indices into plan.src; expert e at position e */
    size_t out[4];          /* index into plan.out per MINT_PACK_PART_*, SIZE_MAX if none */
};

/* One tensor of the output files. */
enum { MINT_PACK_PART_WEIGHT, MINT_PACK_PART_SCALES, MINT_PACK_PART_BIASES, MINT_PACK_PART_FLOAT };
struct mint_pack_out {
    char *name;
    enum mint_dtype dtype;
    int ndim;
    int64_t shape[MINT_ST_MAX_DIMS];
    uint64_t nbytes;
    size_t item;            /* index into plan.items */
    int part;               /* MINT_PACK_PART_* */
    size_t shard;           /* 0-based shard number (mint_pack_plan_shards) */
};

struct mint_pack_plan {
    char *model_dir;
    json_t *config;         /* source config (owned) */
    int tied;
    enum mint_dtype dtype;  /* output float dtype: MINT_DT_BF16 or MINT_DT_F16 */
    size_t n_src;
    struct mint_pack_src *src;         /* index order */
    struct mint_pack_choice *choice;   /* (n_src) */
    size_t n_items;
    struct mint_pack_item *items;      /* sorted by name */
    size_t n_out;
    struct mint_pack_out *out;         /* sorted by name */
    size_t n_shards;        /* 0 until mint_pack_plan_shards */
    uint64_t data_bytes;    /* Σ out[].nbytes */
    uint64_t params;        /* total_parameters (mlx-format.md §6) */
    uint64_t alloc_budget, alloc_total, alloc_tensor_bytes; /* from alloc.json (0 if none) */
};

/* Read index.json (mint-index output) into plan->src, model_dir, config, tied. */
int mint_pack_index_load(struct mint_pack_plan *p, const json_t *index, const char *what,
                         struct mint_err *err);
/* Validate alloc.json against the loaded index strictly and fill plan->choice and dtype
 * (out_dtype, or 'dtype' when not MINT_DT_INVALID), then build the plan (mint_pack_plan_build). */
int mint_pack_alloc_load(struct mint_pack_plan *p, const json_t *alloc, enum mint_dtype dtype,
                         const char *what, struct mint_err *err);
/* Build items and output tensors from src + choice (+ dtype): names, stacking, shapes,
 * availability rules.  Errors name the tensor. */
int mint_pack_plan_build(struct mint_pack_plan *p, struct mint_err *err);
/* Assign shards: greedy in name order, never split a tensor, no empty shard.
 * sizes[i] -> shard_of[i]; returns the number of shards. */
size_t mint_pack_shard_split(const uint64_t *sizes, size_t n, uint64_t limit, size_t *shard_of);
int  mint_pack_plan_shards(struct mint_pack_plan *p, uint64_t limit, struct mint_err *err);
void mint_pack_plan_release(struct mint_pack_plan *p);

/* Shard file name: "model.safetensors" (n == 1) or "model-%05d-of-%05d.safetensors". */
void mint_pack_shard_name(size_t shard, size_t n, char *out, size_t cap);

/* The "quantization" object for a set of modules (mlx-format.md §5), or NULL when none is
 * quantized.  Global default: most parameters, ties fewer bits, then larger group. */
struct mint_pack_qmod {
    const char *module;
    struct mint_qcfg cfg;   /* bits 16 = kept float */
    uint64_t params;
    int falseable;          /* kept float -> "false" entry */
};
json_t *mint_pack_quant_json(const struct mint_pack_qmod *m, size_t n, struct mint_qcfg *global);
/* The output config.json document (new reference). */
json_t *mint_pack_config(const struct mint_pack_plan *p);
/* model.safetensors.index.json document (after mint_pack_plan_shards). */
json_t *mint_pack_index_json(const struct mint_pack_plan *p);

/* JSON text as Python's json.dump(indent=4, sort_keys=True) writes it, with shortest
 * round-trip reals and a trailing newline (malloc'd). */
char *mint_pack_json_text(const json_t *doc);

/* Parse a size "5G", "512MiB", "1000000", "1.5GB" (algorithm.md §10.1 units). */
int mint_pack_parse_size(const char *s, uint64_t *out);

struct mint_pack_opts {
    const char *out_dir;
    uint64_t shard_size;    /* 0 = MINT_PACK_SHARD_DEFAULT */
    int crash_after_shard;  /* test hook: abort() after writing this many shards (0 = never) */
    int threads;            /* quantizer threads (rows of a block split; same bytes); 0 = 1 */
};

struct mint_pack_report {
    size_t n_tensors;       /* output tensors */
    size_t n_shards;
    uint64_t data_bytes;    /* Σ tensor data bytes */
    uint64_t file_bytes;    /* Σ sizes of model*.safetensors (the budgeted quantity) */
    uint64_t params;
    size_t n_quant, n_float;
};

/* Write the plan to opts->out_dir atomically (temporary directory, validate, rename). */
int mint_pack_write(struct mint_pack_plan *p, const struct mint_pack_opts *o,
                    struct mint_pack_report *r, struct mint_err *err);

/* Validate a packed directory (mlx-format.md §9 rules 1, 3, 4 and the layout of §2, §6).
 * With index: the output's tensor set and shapes follow from the index and the output config,
 * and every output byte equals the source re-quantized (and each source hash is checked). */
struct mint_pack_check_opts {
    uint64_t budget;        /* 0 = not checked */
    uint64_t shard_size;    /* 0 = not checked */
    const json_t *index;    /* NULL = no source comparison */
    int threads;            /* for the source comparison; 0 = 1 */
};
int mint_pack_check(const char *dir, const struct mint_pack_check_opts *o,
                    struct mint_pack_report *r, struct mint_err *err);

/* Decode one output tensor (a quantized module by its ".weight" name, or a float tensor) of a
 * packed directory to float32, written raw little-endian row-major to 'path'. */
int mint_pack_dump(const char *dir, const char *name, const char *path, struct mint_err *err);

#endif
