/* mint-rd: rate-distortion curve of one tensor (algorithm.md §2-§4).
 *
 * usage: mint-rd INDEX TENSOR -o rd.json [--quantizer mlx|minmax] [--configs LIST]
 *                [--norm NAME|auto|none] [--dtype auto|bf16|f16] [--dump B:G --dump-out FILE] [-q]
 *
 * The tensor is found in INDEX (from mint-index) by canonical name, read from model.dir (as
 * written in the index, i.e. relative to the working directory if relative), and its XXH3-128
 * must equal the index's hash.  Rows are converted to float32 one at a time from the mapped
 * file and measured against every configuration in one pass (stages/common/rd.c), so memory
 * is a few rows plus the mapped pages, which are dropped every 64 MiB.
 *
 * Decisions where the issue and specs leave room (the merge stage reads exactly this):
 *  - 2-D [rows, cols]; 3-D [E, rows, cols] = stacked experts, measured per expert; > 3-D viewed
 *    as (shape[0], -1); 0-D and 1-D: one row, 16-bit only ("reason": "1-D tensor").
 *  - "group" is 0 for the 16-bit passthrough configuration (as struct mint_qcfg).
 *  - Unavailable configurations keep every metric key with null and carry a "reason".
 *    Besides g ∤ cols and 1-D tensors: a 16-bit F16 output with max |w| > 65504, and any
 *    configuration whose dequantized values are not finite (scale/bias overflow the dtype).
 *  - Stacked experts: nrmse and nrmse_w are the parameter-weighted means of the per-expert
 *    values, sqnr_db = min(100, -20 log10 nrmse) of that mean, mse pooled over all elements,
 *    nrmse_worst = max, sqnr_db_worst = min over experts, expert_nrmse per expert.
 *  - --norm auto with a norm whose length is not cols: no norm (a note on stderr).
 *  - --dump writes the dequantized tensor of one configuration (measured the same way, also
 *    if it is not in --configs) as raw little-endian float32, rows × cols in storage order. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/dtype.h"
#include "mint/err.h"
#include "mint/hash.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/quant.h"
#include "mint/rd.h"
#include "mint/st.h"

#define VETO_DB 9.0
#define MAP_CHUNK (64u << 20) /* drop mapped pages after this many source bytes */
#define DUMP_CHUNK (4u << 20) /* dump buffer, bytes of float32 */

static const char usage[] =
    "usage: mint-rd INDEX TENSOR -o rd.json [--quantizer mlx|minmax] [--configs LIST]\n"
    "              [--norm NAME|auto|none] [--dtype auto|bf16|f16] [--dump B:G --dump-out FILE] "
    "[-q]\n";

static const char help_text[] =
    "\n"
    "Measure quantization error of one tensor for every configuration and write rd.json.\n"
    "\n"
    "  -o FILE             output rd.json (written atomically, only on success)\n"
    "  --quantizer Q       mlx (default: MLX's affine quantizer, bit-exact, stored scale/bias)\n"
    "                      or minmax (MINT's float32 min/max simulation, for comparison)\n"
    "  --configs LIST      bits:group list, e.g. 2:64,3:64,4:64,16 (default: the 13 pairs\n"
    "                      of the spec plus 16-bit)\n"
    "  --norm N            auto (default: the RMSNorm that feeds the matrix, from the index),\n"
    "                      none, or a tensor name; adds nrmse_w per configuration\n"
    "  --dtype D           scales/biases and 16-bit dtype: auto (source if BF16/F16, else BF16),\n"
    "                      bf16 or f16\n"
    "  --dump B:G          also write the dequantized tensor of configuration B:G ...\n"
    "  --dump-out FILE     ... to FILE, raw little-endian float32 rows x cols\n"
    "  -q, --quiet         no summary line on stderr\n"
    "  -h, --help          this text\n";

struct cfg_out {
    struct mint_qcfg c;
    int avail;
    char reason[160];
};

static int usage_err(const char *msg)
{
    if (msg)
        fprintf(stderr, "mint-rd: %s\n", msg);
    fputs(usage, stderr);
    return MINT_EXIT_USAGE;
}

static const json_t *index_find(const json_t *tensors, const char *name)
{
    size_t i;
    const json_t *t;
    json_array_foreach(tensors, i, t) {
        const char *n = json_string_value(json_object_get(t, "name"));
        if (n && !strcmp(n, name))
            return t;
    }
    return NULL;
}

/* The prefix of the language-model layers ("model."): first index tensor with a layer. */
static void lm_prefix_of(const json_t *tensors, char *out, size_t cap)
{
    size_t i;
    const json_t *t;
    json_array_foreach(tensors, i, t) {
        const char *n = json_string_value(json_object_get(t, "name"));
        if (n && json_is_integer(json_object_get(t, "layer")) &&
            mint_rd_layers_prefix(n, out, cap))
            return;
    }
    snprintf(out, cap, "model.");
}

static void hash_data(const struct mint_st_model *m, const struct mint_st_tensor *t,
                      char out[MINT_HASH_HEX])
{
    const struct mint_map *map = &m->files[t->file].map;
    const unsigned char *p = map->data + t->offset;
    size_t off = (size_t)t->offset;
    uint64_t left = t->nbytes;
    struct mint_hasher h;
    MINT_ASSERT(mint_hasher_init(&h) == 0);
    while (left) {
        size_t n = left > MAP_CHUNK ? MAP_CHUNK : (size_t)left;
        mint_map_advise_seq(map, off, n);
        mint_hasher_update(&h, p, n);
        mint_map_advise_done(map, off, n);
        p += n;
        off += n;
        left -= n;
    }
    mint_hasher_hex(&h, out);
    mint_hasher_release(&h);
}

/* Find a tensor in the model and check it against its index entry. */
static const struct mint_st_tensor *open_checked(const struct mint_st_model *m,
                                                 const json_t *entry, const char *name,
                                                 struct mint_err *err)
{
    const struct mint_st_tensor *t = mint_st_model_find(m, name);
    const char *want = json_string_value(json_object_get(entry, "hash"));
    const json_t *shape = json_object_get(entry, "shape");
    const char *dt = json_string_value(json_object_get(entry, "dtype"));
    char got[MINT_HASH_HEX];
    int same = t && json_is_array(shape) && (int)json_array_size(shape) == t->ndim && dt &&
               mint_dtype_parse(dt) == t->dtype;

    if (!t) {
        mint_err_set(err, "%s: not in the model (model changed since indexing?)", name);
        return NULL;
    }
    for (int d = 0; same && d < t->ndim; d++)
        same = json_integer_value(json_array_get(shape, (size_t)d)) == t->shape[d];
    if (!same || !want) {
        mint_err_set(err, "%s: dtype or shape differs from the index (model changed since "
                          "indexing?)", name);
        return NULL;
    }
    hash_data(m, t, got);
    if (strcmp(got, want)) {
        mint_err_set(err, "%s: content hash differs from the index (model changed since "
                          "indexing?)", name);
        return NULL;
    }
    return t;
}

static int is_src_dtype(enum mint_dtype d)
{
    return d == MINT_DT_F32 || d == MINT_DT_BF16 || d == MINT_DT_F16;
}

/* Load the norm gain γ (length cols).  Returns 1 loaded, 0 none, -1 error. */
static int load_norm(const struct mint_st_model *m, const json_t *tensors, const char *mode,
                     const char *tensor, int tied, int64_t cols, int quiet, float **gamma,
                     char *name, size_t cap, struct mint_err *err)
{
    const struct mint_st_tensor *t;
    const json_t *entry;
    int explicit_name = strcmp(mode, "auto") != 0;
    char prefix[512];

    if (!strcmp(mode, "none"))
        return 0;
    if (explicit_name) {
        snprintf(name, cap, "%s", mode);
    } else {
        lm_prefix_of(tensors, prefix, sizeof prefix);
        if (!mint_rd_norm_name(tensor, tied, prefix, name, cap))
            return 0;
    }
    entry = index_find(tensors, name);
    if (!entry) {
        if (explicit_name)
            return mint_err_set(err, "%s: norm tensor '%s' is not in the index", tensor, name);
        return 0;
    }
    if (!(t = open_checked(m, entry, name, err)))
        return mint_err_prefix(err, "%s: norm", tensor);
    if (!is_src_dtype(t->dtype) || t->ndim != 1 || t->shape[0] != cols) {
        if (explicit_name)
            return mint_err_set(err, "%s: norm '%s' (%s, %d-D, %" PRIu64 " elements) is not a "
                                     "float vector of %" PRId64 " columns",
                                tensor, name, mint_dtype_name(t->dtype), t->ndim, t->nelem,
                                cols);
        if (!quiet)
            fprintf(stderr, "mint-rd: %s: note: norm '%s' has %" PRIu64 " elements, not %" PRId64
                            "; no norm weighting\n", tensor, name, t->nelem, cols);
        return 0;
    }
    *gamma = malloc((size_t)cols * sizeof **gamma + 1);
    if (!*gamma)
        return mint_err_setc(err, MINT_EXIT_IO, "%s: out of memory", tensor);
    if (mint_to_f32(t->dtype, mint_st_model_data(m, t), *gamma, (size_t)cols) >= 0) {
        free(*gamma);
        *gamma = NULL;
        return mint_err_set(err, "%s: norm '%s' has a non-finite value", tensor, name);
    }
    return 1;
}

static json_t *real_or_null(int ok, double v)
{
    return ok ? json_real(v) : json_null();
}

static void to_le(float *f, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, f + i, 4);
        u = __builtin_bswap32(u);
        memcpy(f + i, &u, 4);
    }
#else
    (void)f;
    (void)n;
#endif
}

int main(int argc, char **argv)
{
    const char *out = NULL, *qname = "mlx", *cfgs_arg = NULL, *norm_mode = "auto";
    const char *dtype_arg = "auto", *dump_arg = NULL, *dump_out = NULL, *index_path, *tname;
    int quiet = 0, c, rc = 0;
    struct mint_err err = {0};
    struct mint_qcfg cfg[MINT_RD_MAX_CFGS], dump_cfg = {0, 0};
    size_t ncfg, nint, dump_idx = (size_t)-1;
    enum mint_rd_quantizer quantizer;
    static const struct option lo[] = {
        {"quantizer", required_argument, 0, 'Q'}, {"configs", required_argument, 0, 'C'},
        {"norm", required_argument, 0, 'N'},      {"dtype", required_argument, 0, 'D'},
        {"dump", required_argument, 0, 'd'},      {"dump-out", required_argument, 0, 'O'},
        {"quiet", no_argument, 0, 'q'},           {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};

    while ((c = getopt_long(argc, argv, "o:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'Q': qname = optarg; break;
        case 'C': cfgs_arg = optarg; break;
        case 'N': norm_mode = optarg; break;
        case 'D': dtype_arg = optarg; break;
        case 'd': dump_arg = optarg; break;
        case 'O': dump_out = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(usage, stdout); fputs(help_text, stdout); return 0;
        default: return usage_err(NULL);
        }
    }
    if (optind + 2 != argc || !out)
        return usage_err(NULL);
    index_path = argv[optind];
    tname = argv[optind + 1];
    if (!strcmp(qname, "mlx"))
        quantizer = MINT_RD_MLX;
    else if (!strcmp(qname, "minmax"))
        quantizer = MINT_RD_MINMAX;
    else
        return usage_err("--quantizer must be mlx or minmax");
    if (cfgs_arg) {
        int n = mint_qcfg_parse(cfgs_arg, cfg, MINT_RD_MAX_CFGS - 1);
        if (n < 0) {
            fprintf(stderr, "mint-rd: bad --configs '%s' (bits:group with bits in "
                            "{2,3,4,5,6,8}, group in {32,64,128}, or 16; no duplicates)\n",
                    cfgs_arg);
            return usage_err(NULL);
        }
        ncfg = (size_t)n;
    } else {
        ncfg = mint_qcfg_default(cfg, MINT_RD_MAX_CFGS - 1);
    }
    if (strcmp(dtype_arg, "auto") && strcmp(dtype_arg, "bf16") && strcmp(dtype_arg, "f16"))
        return usage_err("--dtype must be auto, bf16 or f16");
    if (!*norm_mode)
        return usage_err("--norm needs a tensor name, auto or none");
    if (!dump_arg != !dump_out)
        return usage_err("--dump and --dump-out go together");
    if (dump_arg && mint_qcfg_parse(dump_arg, &dump_cfg, 1) != 1) {
        fprintf(stderr, "mint-rd: bad --dump '%s' (one bits:group, or 16)\n", dump_arg);
        return usage_err(NULL);
    }
    nint = ncfg;
    if (dump_arg) {
        for (size_t i = 0; i < ncfg; i++)
            if (cfg[i].bits == dump_cfg.bits && cfg[i].group == dump_cfg.group)
                dump_idx = i;
        if (dump_idx == (size_t)-1) {
            cfg[nint] = dump_cfg;
            dump_idx = nint++;
        }
    }

    double t0 = mint_now();
    json_t *index = NULL, *doc = NULL;
    struct mint_st_model model;
    int model_open = 0;
    float *gamma = NULL, *dbuf = NULL;
    struct mint_rd rd;
    int rd_open = 0;
    struct mint_rd_sums *sums = NULL; /* (E, nint) */
    struct cfg_out co[MINT_RD_MAX_CFGS];
    struct mint_afile af = {0};
    int af_open = 0;
    char norm_name[1024] = "";
    int has_norm = 0;

    index = mint_json_load(index_path, &err);
    if (!index)
        goto fail;
    const json_t *jmodel = json_object_get(index, "model");
    const json_t *tensors = json_object_get(index, "tensors");
    const char *dir = json_string_value(json_object_get(jmodel, "dir"));
    int tied = json_is_true(json_object_get(jmodel, "tied"));
    if (!dir || !json_is_array(tensors)) {
        mint_err_set(&err, "%s: not an index (no model.dir or tensors)", index_path);
        goto fail;
    }
    const json_t *entry = index_find(tensors, tname);
    if (!entry) {
        mint_err_set(&err, "%s: unknown tensor (not in %s)", tname, index_path);
        goto fail;
    }
    if (mint_st_model_open(&model, dir, &err) < 0)
        goto fail;
    model_open = 1;
    const struct mint_st_tensor *t = mint_st_model_find(&model, tname);
    if (t && !is_src_dtype(t->dtype)) {
        mint_err_set(&err, "%s: unsupported dtype %s (F32, F16 or BF16 only)", tname,
                     mint_dtype_name(t->dtype));
        goto fail;
    }
    if (!(t = open_checked(&model, entry, tname, &err)))
        goto fail;

    /* geometry */
    int64_t E = 1, rows, cols;
    int one_d = t->ndim <= 1, experts = t->ndim == 3;
    if (one_d) {
        rows = 1;
        cols = (int64_t)t->nelem;
    } else if (experts) {
        E = t->shape[0];
        rows = t->shape[1];
        cols = t->shape[2];
    } else {
        rows = t->shape[0];
        cols = rows ? (int64_t)(t->nelem / (uint64_t)rows) : 0;
        for (int d = 1; !rows && d < t->ndim; d++) /* zero rows: cols from the shape */
            cols = d == 1 ? t->shape[1] : cols * t->shape[d];
    }

    enum mint_dtype odt = !strcmp(dtype_arg, "bf16") ? MINT_DT_BF16
                          : !strcmp(dtype_arg, "f16") ? MINT_DT_F16
                          : (t->dtype == MINT_DT_F16 || t->dtype == MINT_DT_BF16) ? t->dtype
                                                                                   : MINT_DT_BF16;
    int gr = load_norm(&model, tensors, norm_mode, tname, tied, cols, quiet, &gamma, norm_name,
                       sizeof norm_name, &err);
    if (gr < 0)
        goto fail;
    has_norm = gr > 0;

    struct mint_rd_opts opt = {quantizer, t->dtype, odt, gamma, MINT_RD_KERNEL_AUTO};
    if (mint_rd_init(&rd, cols, cfg, nint, &opt, &err) < 0) {
        mint_err_prefix(&err, "%s", tname);
        goto fail;
    }
    rd_open = 1;
    for (size_t i = 0; i < nint; i++) {
        co[i].c = cfg[i];
        co[i].reason[0] = 0;
        if (cfg[i].bits != MINT_BITS_PASSTHROUGH && one_d) {
            rd.avail[i] = 0;
            snprintf(co[i].reason, sizeof co[i].reason, "1-D tensor");
        } else if (!rd.avail[i]) {
            snprintf(co[i].reason, sizeof co[i].reason, "group %d does not divide %" PRId64
                     " columns", cfg[i].group, cols);
        }
        co[i].avail = rd.avail[i];
    }
    if (dump_arg && !co[dump_idx].avail) {
        mint_err_set(&err, "%s: --dump %s: configuration unavailable (%s)", tname, dump_arg,
                     co[dump_idx].reason);
        goto fail;
    }
    sums = calloc((size_t)E * nint, sizeof *sums);
    if (!sums) {
        mint_err_setc(&err, MINT_EXIT_IO, "%s: out of memory", tname);
        goto fail;
    }
    if (dump_arg) {
        if (mint_afile_open(&af, dump_out, &err) < 0)
            goto fail;
        af_open = 1;
    }

    /* measure: rows in chunks of about MAP_CHUNK source bytes */
    {
        const struct mint_map *map = &model.files[t->file].map;
        const unsigned char *base = mint_st_model_data(&model, t);
        const size_t es = mint_dtype_size(t->dtype);
        const uint64_t row_bytes = (uint64_t)cols * es;
        int64_t chunk_rows = row_bytes ? (int64_t)(MAP_CHUNK / row_bytes) : 1;
        int64_t dump_rows = cols ? (int64_t)(DUMP_CHUNK / ((uint64_t)cols * 4)) : 1;
        if (chunk_rows < 1)
            chunk_rows = 1;
        if (dump_rows < 1)
            dump_rows = 1;
        if (dump_arg) {
            if (chunk_rows > dump_rows)
                chunk_rows = dump_rows;
            dbuf = malloc((size_t)chunk_rows * (size_t)cols * sizeof *dbuf + 1);
            if (!dbuf) {
                mint_err_setc(&err, MINT_EXIT_IO, "%s: out of memory", tname);
                goto fail;
            }
        }
        for (int64_t e = 0; e < E; e++) {
            for (int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
                int64_t nr = rows - r0 < chunk_rows ? rows - r0 : chunk_rows, bad;
                uint64_t off = ((uint64_t)e * (uint64_t)rows + (uint64_t)r0) * row_bytes;
                size_t moff = (size_t)(t->offset + off), mlen = (size_t)((uint64_t)nr * row_bytes);
                mint_map_advise_seq(map, moff, mlen);
                if (mint_rd_rows(&rd, base + off, nr, sums + e * (int64_t)nint, dump_idx, dbuf,
                                 &bad, &err) < 0) {
                    int64_t row = r0 + bad / (cols ? cols : 1);
                    if (experts)
                        mint_err_set(&err, "%s: non-finite weight at [%" PRId64 ", %" PRId64
                                     ", %" PRId64 "]", tname, e, row, bad % cols);
                    else if (one_d)
                        mint_err_set(&err, "%s: non-finite weight at [%" PRId64 "]", tname,
                                     bad);
                    else
                        mint_err_set(&err, "%s: non-finite weight at row %" PRId64
                                     ", column %" PRId64, tname, row, bad % cols);
                    goto fail;
                }
                mint_map_advise_done(map, moff, mlen);
                if (dump_arg) {
                    size_t n = (size_t)nr * (size_t)cols;
                    to_le(dbuf, n);
                    if (mint_afile_write(&af, dbuf, n * sizeof *dbuf, &err) < 0)
                        goto fail;
                }
            }
        }
    }

    /* availability after measuring */
    uint64_t n_all = t->nelem, n_e = (uint64_t)rows * (uint64_t)cols;
    for (size_t i = 0; i < nint; i++) {
        if (!co[i].avail)
            continue;
        if (cfg[i].bits == MINT_BITS_PASSTHROUGH && odt == MINT_DT_F16 &&
            t->dtype != MINT_DT_F16 && rd.absmax > 65504.0f) {
            co[i].avail = 0;
            snprintf(co[i].reason, sizeof co[i].reason,
                     "max |w| = %.9g exceeds the F16 range (65504)", (double)rd.absmax);
            continue;
        }
        for (int64_t e = 0; e < E; e++) {
            const struct mint_rd_sums *s = &sums[e * (int64_t)nint + (int64_t)i];
            if (!isfinite(s->se) || !isfinite(s->sew)) {
                co[i].avail = 0;
                snprintf(co[i].reason, sizeof co[i].reason,
                         "dequantized values are not finite (%s overflows %s)",
                         cfg[i].bits == MINT_BITS_PASSTHROUGH ? "a weight" : "a scale or bias",
                         mint_dtype_name(odt));
                break;
            }
        }
    }
    if (dump_arg && !co[dump_idx].avail) {
        mint_err_set(&err, "%s: --dump %s: configuration unavailable (%s)", tname, dump_arg,
                     co[dump_idx].reason);
        goto fail;
    }

    /* rd.json */
    json_t *jcfgs = json_array();
    int best = -1;
    double best_db = 0;
    for (size_t i = 0; i < ncfg; i++) {
        struct mint_rd_metrics m = {0, 0, 0, 0};
        double worst = 0, worst_db = MINT_RD_SQNR_CAP, nw = 0;
        json_t *o = json_object(), *ex = NULL;
        int ok = co[i].avail;
        json_object_set_new(o, "bits", json_integer(cfg[i].bits));
        json_object_set_new(o, "group", json_integer(cfg[i].group));
        json_object_set_new(o, "available", json_boolean(ok));
        json_object_set_new(o, "bytes", ok ? json_integer((json_int_t)mint_quant_bytes(
                                                 n_all, cfg[i]))
                                           : json_null());
        if (ok && !experts) {
            mint_rd_metrics(&sums[i], n_all, &m);
        } else if (ok) {
            struct mint_rd_sums tot = {0, 0, 0, 0};
            double wsum = 0, wsum_w = 0;
            ex = json_array();
            for (int64_t e = 0; e < E; e++) {
                struct mint_rd_metrics me;
                const struct mint_rd_sums *s = &sums[e * (int64_t)nint + (int64_t)i];
                mint_rd_metrics(s, n_e, &me);
                tot.se += s->se;
                wsum += (double)n_e * me.nrmse;
                wsum_w += (double)n_e * me.nrmse_w;
                worst = me.nrmse > worst ? me.nrmse : worst;
                worst_db = me.sqnr_db < worst_db ? me.sqnr_db : worst_db;
                json_array_append_new(ex, json_real(me.nrmse));
            }
            nw = (double)n_e * (double)E;
            m.nrmse = nw > 0 ? wsum / nw : 0;
            m.nrmse_w = nw > 0 ? wsum_w / nw : 0;
            m.sqnr_db = mint_rd_sqnr_of_nrmse(m.nrmse);
            m.mse = n_all ? tot.se / (double)n_all : 0;
        }
        json_object_set_new(o, "nrmse", real_or_null(ok, m.nrmse));
        json_object_set_new(o, "sqnr_db", real_or_null(ok, m.sqnr_db));
        json_object_set_new(o, "mse", real_or_null(ok, m.mse));
        if (has_norm)
            json_object_set_new(o, "nrmse_w", real_or_null(ok, m.nrmse_w));
        if (experts) {
            json_object_set_new(o, "nrmse_worst", real_or_null(ok, worst));
            json_object_set_new(o, "sqnr_db_worst", real_or_null(ok, worst_db));
            json_object_set_new(o, "expert_nrmse", ex ? ex : json_null());
        }
        if (!ok)
            json_object_set_new(o, "reason", json_string(co[i].reason));
        json_array_append_new(jcfgs, o);
        double veto_db = experts ? worst_db : m.sqnr_db;
        if (ok && veto_db >= VETO_DB &&
            (best < 0 || mint_quant_bytes(n_all, cfg[i]) < mint_quant_bytes(n_all, cfg[best]))) {
            best = (int)i;
            best_db = veto_db;
        }
    }
    json_t *jshape = json_array();
    for (int d = 0; d < t->ndim; d++)
        json_array_append_new(jshape, json_integer(t->shape[d]));
    doc = json_object();
    json_object_set_new(doc, "schema", json_integer(1));
    json_object_set_new(doc, "tensor", json_string(tname));
    json_object_set_new(doc, "hash", json_deep_copy(json_object_get(entry, "hash")));
    json_object_set_new(doc, "shape", jshape);
    json_object_set_new(doc, "params", json_integer((json_int_t)n_all));
    json_object_set_new(doc, "dtype", json_string(mint_dtype_name(t->dtype)));
    json_object_set_new(doc, "out_dtype", json_string(mint_dtype_name(odt)));
    json_object_set_new(doc, "quantizer", json_string(qname));
    json_object_set_new(doc, "norm", has_norm ? json_string(norm_name) : json_null());
    json_object_set_new(doc, "experts", experts ? json_integer(E) : json_null());
    json_object_set_new(doc, "configs", jcfgs);

    if (af_open) {
        if (mint_afile_commit(&af, 1, &err) < 0) {
            af_open = 0;
            goto fail;
        }
        af_open = 0;
    }
    if (mint_json_write(out, doc, &err) < 0)
        goto fail;
    if (!quiet) {
        char shp[128] = "";
        size_t l = 0;
        for (int d = 0; d < t->ndim && l < sizeof shp - 24; d++)
            l += (size_t)snprintf(shp + l, sizeof shp - l, "%s%" PRId64, d ? "x" : "",
                                  t->shape[d]);
        if (best >= 0 && cfg[best].bits != MINT_BITS_PASSTHROUGH)
            fprintf(stderr, "mint-rd: %s [%s] %s: cheapest >= %.0f dB: %d:%d (%.2f dB), %.3f s\n",
                    tname, shp, mint_dtype_name(t->dtype), VETO_DB, cfg[best].bits,
                    cfg[best].group, best_db, mint_now() - t0);
        else if (best >= 0)
            fprintf(stderr, "mint-rd: %s [%s] %s: cheapest >= %.0f dB: 16-bit, %.3f s\n", tname,
                    shp, mint_dtype_name(t->dtype), VETO_DB, mint_now() - t0);
        else
            fprintf(stderr, "mint-rd: %s [%s] %s: nothing >= %.0f dB, %.3f s\n", tname, shp,
                    mint_dtype_name(t->dtype), VETO_DB, mint_now() - t0);
    }
    goto done;

fail:
    rc = mint_err_report("mint-rd", &err);
done:
    if (af_open)
        mint_afile_abort(&af);
    json_decref(doc);
    json_decref(index);
    free(dbuf);
    free(sums);
    free(gamma);
    if (rd_open)
        mint_rd_release(&rd);
    if (model_open)
        mint_st_model_release(&model);
    return rc;
}
