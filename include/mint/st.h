/* st.h - strict safetensors reader and canonical writer, and a model (shards + config).
 *
 * Reader: files are mmap'd read-only and never copied; every count and offset from a header is
 * checked (header length <= 100 MB and inside the file, JSON object without duplicate keys,
 * known dtype, non-negative shape whose byte size fits in 64 bits and equals end - begin,
 * offsets that tile the data section exactly, __metadata__ a string->string map).  Tensor data
 * pointers stay valid until the model/file is released.
 *
 * Writer: mint_st_plan lays out a file the MLX way (mlx-format.md §2): compact sorted JSON
 * header padded with spaces to 8-byte alignment, data ordered by itemsize descending then
 * name, offsets tiling the data section.  The caller then streams the data in plan order. */
#ifndef MINT_ST_H
#define MINT_ST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "mint/dtype.h"
#include "mint/io.h"

struct mint_err;

#define MINT_ST_MAX_DIMS 8
#define MINT_ST_MAX_HEADER 100000000ull /* 100 MB */

struct mint_st_tensor {
    char *name;             /* canonical name (see mint_st_model_open for the tied alias) */
    char *stored_name;      /* name in the file (usually == name) */
    enum mint_dtype dtype;
    int ndim;
    int64_t shape[MINT_ST_MAX_DIMS];
    uint64_t nelem;
    uint64_t nbytes;
    uint64_t offset;        /* absolute byte offset in its file */
    int file;               /* index into mint_st_model.files */
};

struct mint_st_file {
    char *path;
    char *name;             /* file name relative to the model directory */
    struct mint_map map;
    uint64_t header_len;
    uint64_t data_start;    /* 8 + header_len */
    json_t *metadata;       /* __metadata__ object or NULL */
    size_t n_tensors;
    struct mint_st_tensor *tensors; /* in header key order */
};

/* Open and validate one safetensors file. */
int  mint_st_file_open(struct mint_st_file *f, const char *path, struct mint_err *err);
void mint_st_file_release(struct mint_st_file *f);
const struct mint_st_tensor *mint_st_file_find(const struct mint_st_file *f, const char *name);

struct mint_st_model {
    char *dir;
    json_t *config;          /* config.json (owned) */
    size_t n_files;
    struct mint_st_file *files;
    size_t n_tensors;
    struct mint_st_tensor **tensors; /* sorted by canonical name, point into files[] */
    int tied;                /* tie_word_embeddings (config, else: no lm_head stored) */
    int64_t num_layers;      /* num_hidden_layers (top level or text_config), -1 if absent */
};

/* Open a model directory: model.safetensors.index.json (all shards it names, every tensor it
 * names present in the file it names) or a single model.safetensors, plus config.json.
 * A tied model whose matrix is stored only as lm_head.weight exposes it as
 * model.embed_tokens.weight (stored_name keeps the file's name).  Refuses quantized models. */
int  mint_st_model_open(struct mint_st_model *m, const char *dir, struct mint_err *err);
/* Same, with flags: MINT_ST_QUANTIZED also accepts an already-quantized (MLX-packed) model
 * (config `quantization`, U32 weights with scales/biases), as mint-eval reads it. */
#define MINT_ST_QUANTIZED 1u
int  mint_st_model_open_flags(struct mint_st_model *m, const char *dir, unsigned flags,
                              struct mint_err *err);
void mint_st_model_release(struct mint_st_model *m);
const struct mint_st_tensor *mint_st_model_find(const struct mint_st_model *m, const char *name);
const void *mint_st_model_data(const struct mint_st_model *m, const struct mint_st_tensor *t);
/* XXH3-128 of a tensor's raw bytes (32 hex digits + NUL), streamed 64 MiB at a time with each
 * chunk's pages dropped after use, so resident memory stays bounded. */
void mint_st_tensor_hash(const struct mint_st_model *m, const struct mint_st_tensor *t,
                         char out[33]);
/* The same for bytes [offset, offset + nbytes) of a mapped file (inside the map). */
void mint_st_range_hash(const struct mint_map *map, uint64_t offset, uint64_t nbytes,
                        char out[33]);

/* ---- writer ---- */
struct mint_st_wentry {
    const char *name;
    enum mint_dtype dtype;
    int ndim;
    int64_t shape[MINT_ST_MAX_DIMS];
    uint64_t nbytes;        /* filled by mint_st_plan */
    uint64_t begin;         /* filled by mint_st_plan: offset in the data section */
};

/* Sort entries into data order (itemsize desc, then name bytewise), assign offsets, and build
 * the header.  *header is malloc'd: 8-byte length prefix + JSON + padding (*header_size bytes,
 * a multiple of 8).  metadata: string->string object or NULL.  *data_size = total data bytes. */
int mint_st_plan(struct mint_st_wentry *e, size_t n, const json_t *metadata,
                 unsigned char **header, size_t *header_size, uint64_t *data_size,
                 struct mint_err *err);

/* Checked arithmetic helpers (return -1 on overflow). */
int mint_mul_u64(uint64_t a, uint64_t b, uint64_t *out);
int mint_add_u64(uint64_t a, uint64_t b, uint64_t *out);

#endif
