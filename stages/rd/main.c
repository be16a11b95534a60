/* mint-rd: rate-distortion curve of one tensor (algorithm.md §2-§4).
 *
 * usage: mint-rd INDEX TENSOR -o rd.json [--quantizer mlx|minmax] [--configs LIST]
 *                [--norm NAME|auto|none] [--dtype auto|bf16|f16] [--dump B:G --dump-out FILE] [-q]
 *                [--hex]
 *
 * The tensor is found in INDEX (from mint-index) by canonical name through its sidecar
 * (srcidx.h: a binary search, not a parse of the whole index.json; the JSON when the sidecar is
 * missing or stale), read from the one shard of model.dir that holds it (as written in the
 * index, i.e. relative to the working directory if relative) at the index's offset, and its
 * XXH3-128 must equal the index's hash, which proves the bytes are those mint-index validated.
 * Startup therefore does not grow with the model's tensor or shard count.  mint_rd_measure
 * (stages/common/rd.c) converts rows to float32 one at a time from the mapped file and measures
 * every configuration in one pass per row, so memory is a few rows plus the mapped pages,
 * dropped every 64 MiB (an index parsed whole is released before measuring).  Output bytes do
 * not depend on the kernel (AVX2 or scalar).
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
 *  - --norm auto whose norm is absent or not a vector of cols: no norm (a note on stderr).
 *  - MINT_RD_KERNEL=scalar|avx2|ref (environment) forces a kernel, for tests: the output bytes
 *    are the same whatever the kernel.
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
#include "mint/srcidx.h"
#include "mint/st.h"

#define VETO_DB 9.0

static const char usage[] =
    "usage: mint-rd INDEX TENSOR -o rd.json [--quantizer mlx|minmax] [--configs LIST]\n"
    "              [--norm NAME|auto|none] [--dtype auto|bf16|f16] [--dump B:G --dump-out FILE] "
    "[-q]\n"
    "              [--hex]\n";

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
    "  --hex               TENSOR is given as the hex of its bytes (how the make pipeline\n"
    "                      passes names: safe in make and the shell whatever they hold)\n"
    "  -q, --quiet         no summary line on stderr\n"
    "  -h, --help          this text\n";

static int usage_err(const char *msg)
{
    if (msg)
        fprintf(stderr, "mint-rd: %s\n", msg);
    fputs(usage, stderr);
    return MINT_EXIT_USAGE;
}

/* Map the file holding e and check its bytes against the index's content hash. */
static int open_checked(const struct mint_srcidx *ix, const struct mint_srcent *e,
                        const char *name, struct mint_map *map, struct mint_err *err)
{
    char got[MINT_HASH_HEX];

    if (mint_srcidx_map(ix, e, map, err) < 0)
        return -1;
    mint_st_range_hash(map, e->offset, e->nbytes, got);
    if (strcmp(got, e->hash)) {
        mint_map_release(map);
        return mint_err_set(err, "%s: content hash differs from the index (model changed since "
                                 "indexing?)", name);
    }
    return 0;
}

static int is_src_dtype(enum mint_dtype d)
{
    return d == MINT_DT_F32 || d == MINT_DT_BF16 || d == MINT_DT_F16;
}

/* Load the norm gain γ (length cols).  Returns 1 loaded, 0 none, -1 error. */
static int load_norm(struct mint_srcidx *ix, const char *mode, const char *tensor, int64_t cols,
                     int quiet, float **gamma, char *name, size_t cap, struct mint_err *err)
{
    struct mint_srcent e;
    struct mint_map map;
    int explicit_name = strcmp(mode, "auto") != 0, found;

    if (!strcmp(mode, "none"))
        return 0;
    if (explicit_name) {
        snprintf(name, cap, "%s", mode);
    } else if (!mint_rd_norm_name(tensor, ix->tied, ix->lm_prefix, name, cap)) {
        return 0;
    }
    found = mint_srcidx_find(ix, name, &e, err);
    if (found < 0)
        return mint_err_prefix(err, "%s: norm", tensor);
    if (!found) {
        if (explicit_name)
            return mint_err_set(err, "%s: norm tensor '%s' is not in the index", tensor, name);
        if (!quiet)
            fprintf(stderr, "mint-rd: %s: note: norm '%s' not in the index; no norm weighting\n",
                    tensor, name);
        return 0;
    }
    if (open_checked(ix, &e, name, &map, err) < 0)
        return mint_err_prefix(err, "%s: norm", tensor);
    if (!is_src_dtype(e.dtype) || e.ndim != 1 || e.shape[0] != cols) {
        mint_map_release(&map);
        if (explicit_name)
            return mint_err_set(err, "%s: norm '%s' (%s, %d-D, %" PRIu64 " elements) is not a "
                                     "float vector of %" PRId64 " columns",
                                tensor, name, mint_dtype_name(e.dtype), e.ndim, e.nelem, cols);
        if (!quiet)
            fprintf(stderr, "mint-rd: %s: note: norm '%s' has %" PRIu64 " elements, not %" PRId64
                            "; no norm weighting\n", tensor, name, e.nelem, cols);
        return 0;
    }
    *gamma = malloc((size_t)cols * sizeof **gamma + 1);
    if (!*gamma) {
        mint_map_release(&map);
        return mint_err_setc(err, MINT_EXIT_IO, "%s: out of memory", tensor);
    }
    if (mint_to_f32(e.dtype, map.data + e.offset, *gamma, (size_t)cols) >= 0) {
        mint_map_release(&map);
        free(*gamma);
        *gamma = NULL;
        return mint_err_set(err, "%s: norm '%s' has a non-finite value", tensor, name);
    }
    mint_map_release(&map);
    return 1;
}

struct dump_ctx {
    struct mint_afile *af;
};

static int dump_write(void *ctx, const float *buf, size_t n, struct mint_err *err)
{
    struct dump_ctx *d = ctx;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, buf + i, 4);
        u = __builtin_bswap32(u);
        if (mint_afile_write(d->af, &u, 4, err) < 0)
            return -1;
    }
    return 0;
#else
    return mint_afile_write(d->af, buf, n * sizeof *buf, err);
#endif
}

int main(int argc, char **argv)
{
    const char *out = NULL, *qname = "mlx", *cfgs_arg = NULL, *norm_mode = "auto";
    const char *dtype_arg = "auto", *dump_arg = NULL, *dump_out = NULL, *index_path, *tname;
    int quiet = 0, c, rc = 0, hex = 0;
    char *tname_buf = NULL;
    struct mint_err err = {0};
    struct mint_qcfg cfg[MINT_RD_MAX_CFGS], dump_cfg = {0, 0};
    size_t ncfg;
    enum mint_rd_quantizer quantizer;
    static const struct option lo[] = {
        {"quantizer", required_argument, 0, 'Q'}, {"configs", required_argument, 0, 'C'},
        {"norm", required_argument, 0, 'N'},      {"dtype", required_argument, 0, 'D'},
        {"dump", required_argument, 0, 'd'},      {"dump-out", required_argument, 0, 'O'},
        {"quiet", no_argument, 0, 'q'},           {"help", no_argument, 0, 'h'},
        {"hex", no_argument, 0, 'x'},             {0, 0, 0, 0}};

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
        case 'x': hex = 1; break;
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
    if (hex && !(tname = tname_buf = mint_hex_decode(tname)))
        return usage_err("--hex: TENSOR must be the hex digits of a name");
    double t0 = mint_now();
    json_t *doc = NULL;
    struct mint_srcidx ix;
    struct mint_srcent ent;
    struct mint_map map = {0};
    int ix_open = 0, map_open = 0, af_open = 0, has_norm = 0, found;
    float *gamma = NULL;
    struct mint_rd_result res;
    struct mint_afile af = {0};
    struct dump_ctx dctx = {&af};
    struct mint_rd_dump dump = {dump_cfg, dump_write, &dctx};
    char norm_name[1024] = "";

    memset(&res, 0, sizeof res);
    /* the sidecar index: this tensor's entry without parsing the whole index.json */
    if (mint_srcidx_open(&ix, index_path, &err) < 0)
        goto fail;
    ix_open = 1;
    found = mint_srcidx_find(&ix, tname, &ent, &err);
    if (found < 0)
        goto fail;
    if (!found) {
        mint_err_set(&err, "%s: unknown tensor (not in %s)", tname, index_path);
        goto fail;
    }
    if (!is_src_dtype(ent.dtype)) {
        mint_err_set(&err, "%s: unsupported dtype %s (F32, F16 or BF16 only)", tname,
                     mint_dtype_name(ent.dtype));
        goto fail;
    }
    /* only the shard holding the tensor is opened; the hash proves the bytes */
    if (open_checked(&ix, &ent, tname, &map, &err) < 0)
        goto fail;
    map_open = 1;

    /* columns as mint_rd_measure sees them: last dim (2-D, 3-D), all (0/1-D), else (d0, -1) */
    int64_t cols = 1;
    if (ent.ndim == 3)
        cols = ent.shape[2];
    else
        for (int d = ent.ndim <= 1 ? 0 : 1; d < ent.ndim; d++)
            cols *= ent.shape[d];
    enum mint_dtype odt = !strcmp(dtype_arg, "bf16") ? MINT_DT_BF16
                          : !strcmp(dtype_arg, "f16") ? MINT_DT_F16
                          : (ent.dtype == MINT_DT_F16 || ent.dtype == MINT_DT_BF16) ? ent.dtype
                                                                                   : MINT_DT_BF16;
    int gr = load_norm(&ix, norm_mode, tname, cols, quiet, &gamma, norm_name, sizeof norm_name,
                       &err);
    if (gr < 0)
        goto fail;
    has_norm = gr > 0;
    /* an old index without a sidecar is parsed whole: drop it before measuring */
    mint_srcidx_release(&ix);
    ix_open = 0;

    if (dump_arg) {
        if (mint_afile_open(&af, dump_out, &err) < 0)
            goto fail;
        af_open = 1;
    }
    struct mint_rd_opts opt = {quantizer, ent.dtype, odt, gamma, MINT_RD_KERNEL_AUTO};
    const char *kenv = getenv("MINT_RD_KERNEL"); /* testing: results must not depend on it */
    if (kenv && !strcmp(kenv, "scalar"))
        opt.kernel = MINT_RD_KERNEL_SCALAR;
    else if (kenv && !strcmp(kenv, "ref"))
        opt.kernel = MINT_RD_KERNEL_REF;
    else if (kenv && !strcmp(kenv, "avx2"))
        opt.kernel = MINT_RD_KERNEL_AVX2;
    if (mint_rd_measure(map.data + ent.offset, ent.dtype, ent.ndim, ent.shape, cfg, ncfg, &opt,
                        dump_arg ? &dump : NULL, &map, &res, &err) < 0) {
        mint_err_prefix(&err, "%s", tname);
        goto fail;
    }
    doc = mint_rd_json(&res, tname, ent.hash, has_norm ? norm_name : NULL);
    if (af_open) {
        af_open = 0;
        if (mint_afile_commit(&af, 1, &err) < 0)
            goto fail;
    }
    if (mint_json_write(out, doc, &err) < 0)
        goto fail;
    if (!quiet) {
        char shp[160] = "";
        size_t l = 0;
        int best = mint_rd_best(&res, VETO_DB);
        for (int d = 0; d < ent.ndim && l < sizeof shp - 24; d++)
            l += (size_t)snprintf(shp + l, sizeof shp - l, "%s%" PRId64, d ? "x" : "",
                                  ent.shape[d]);
        fprintf(stderr, "mint-rd: %s [%s] %s: ", tname, shp, mint_dtype_name(ent.dtype));
        if (best < 0)
            fprintf(stderr, "nothing >= %.0f dB", VETO_DB);
        else if (res.cfg[best].c.bits == MINT_BITS_PASSTHROUGH)
            fprintf(stderr, "cheapest >= %.0f dB: 16-bit", VETO_DB);
        else
            fprintf(stderr, "cheapest >= %.0f dB: %d:%d (%.2f dB)", VETO_DB,
                    res.cfg[best].c.bits, res.cfg[best].c.group,
                    res.experts ? res.cfg[best].sqnr_db_worst : res.cfg[best].m.sqnr_db);
        fprintf(stderr, ", %.3f s\n", mint_now() - t0);
    }
    goto done;

fail:
    rc = mint_err_report("mint-rd", &err);
done:
    if (af_open)
        mint_afile_abort(&af);
    mint_rd_result_release(&res);
    json_decref(doc);
    free(gamma);
    if (map_open)
        mint_map_release(&map);
    if (ix_open)
        mint_srcidx_release(&ix);
    free(tname_buf);
    return rc;
}
