/* srcidx.h - one tensor's index entry and its bytes, without reading the whole index.
 *
 * mint-rd and mint-feature run once per tensor (tens of thousands of processes for a large
 * MoE), so their startup must not grow with the model.  mint-index writes, next to
 * index.json, a sidecar "<index.json>.tsv" (mint_srcidx_write); mint_srcidx_open maps it,
 * checks it describes the index.json bytes now on disk (size + XXH3-128, and its own body
 * hash) and mint_srcidx_find binary-searches it by name.  A sidecar that is missing, stale or
 * malformed is never trusted: the index.json is then parsed with jansson as before, with the
 * same results (both paths share the entry parser, so a sidecar cannot say anything the JSON
 * does not).  mint_srcidx_map maps only the shard holding a tensor; its bytes are checked by
 * the caller against the index's content hash (mint_st_range_hash).
 *
 * Sidecar format (text, '\t' between fields, '\n' after each line, UTF-8 bytes as in the JSON):
 *   mint-srcidx  1  <index.json XXH3-128>  <index.json bytes>  <XXH3-128 of all later lines>
 *   model  <tied 0|1>  <n_files>  <n_tensors>  <lm_prefix>  <dir>
 *   file  <size>  <name>                                        (n_files lines, index order)
 *   <name> <dtype> <d0,d1,..> <file#> <offset> <nbytes> <hash> <role> <layer> <expert>
 *                                       (n_tensors lines, sorted bytewise by name, strictly)
 * lm_prefix: the text before "layers.<N>." of the first tensor (in name order) with an integer
 * layer (mint_rd_layers_prefix), "model." when there is none.  layer/expert: -1 for null.
 * Empty shape field: 0-D.  Not written (and any old sidecar removed) when a name, file or dir
 * holds a control character, or the tensors are not strictly sorted or not well-formed. */
#ifndef MINT_SRCIDX_H
#define MINT_SRCIDX_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "mint/dtype.h"
#include "mint/hash.h"
#include "mint/io.h"
#include "mint/role.h"
#include "mint/st.h"

struct mint_err;

#define MINT_SRCIDX_SUFFIX ".tsv"

struct mint_srcent {
    enum mint_dtype dtype;
    int ndim;
    int64_t shape[MINT_ST_MAX_DIMS];
    uint64_t nelem;
    uint64_t offset;        /* absolute byte offset in its file */
    uint64_t nbytes;        /* nelem * dtype size */
    size_t file;            /* index into the srcidx's file table */
    char hash[MINT_HASH_HEX];
    enum mint_role role;
    int64_t layer, expert;  /* -1 when null */
};

struct mint_srcidx_file {
    char *name;             /* relative to dir */
    int64_t size;           /* recorded size, -1 if the index does not say */
};

struct mint_srcidx {
    char *path;             /* index.json */
    char *dir;              /* model.dir as written in the index */
    int tied;
    char *lm_prefix;
    size_t n_files;
    struct mint_srcidx_file *files;
    /* sidecar mode */
    struct mint_map side;
    const char *tbeg, *tend; /* the tensor lines */
    /* JSON mode (the sidecar is absent, stale or malformed) */
    json_t *doc;
};

/* Open INDEX (sidecar if trustworthy, else the JSON).  Errors are those of reading the JSON:
 * "<path>: No such file..." or "<path>: not an index (no model.dir or tensors)". */
int  mint_srcidx_open(struct mint_srcidx *ix, const char *index_path, struct mint_err *err);
void mint_srcidx_release(struct mint_srcidx *ix);
/* 1 when answering from the sidecar. */
int  mint_srcidx_fast(const struct mint_srcidx *ix);
/* Look a tensor up by canonical name: 1 found (*e filled), 0 not in the index, -1 its entry is
 * malformed (err set). */
int  mint_srcidx_find(struct mint_srcidx *ix, const char *name, struct mint_srcent *e,
                      struct mint_err *err);
/* Map the file holding e (dir/file; only that shard is opened), check its size against the
 * index and that the tensor's bytes lie inside.  The caller releases *map. */
int  mint_srcidx_map(const struct mint_srcidx *ix, const struct mint_srcent *e,
                     struct mint_map *map, struct mint_err *err);

/* Write "<index_path>.tsv" (atomic, write-if-changed) for the index document doc whose
 * serialised bytes text[0..len) are (or are about to be) index_path.  Returns 0 also when the
 * index cannot be expressed as a sidecar (then none is left at the path), -1 on I/O error. */
int  mint_srcidx_write(const char *index_path, const json_t *doc, const char *text, size_t len,
                       struct mint_err *err);
/* "<index_path>.tsv", malloc'd. */
char *mint_srcidx_side_path(const char *index_path);

#endif
