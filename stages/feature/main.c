/* mint-feature: spectral, kurtosis and noise-amplification features of one tensor
 * (algorithm.md §5).
 *
 * usage: mint-feature INDEX TENSOR -o feat.json [--rank K] [--seed S] [--norm NAME|auto|none] [-q]
 *                     [--hex]
 *
 * The tensor is found by canonical name in INDEX through its sidecar (srcidx.h: a binary search
 * instead of parsing the whole index.json, which is read only when the sidecar is missing or
 * stale), read at the index's offset from the one shard of model.dir that holds it (as written
 * by mint-index, relative to the working directory) and must hash (XXH3-128) to the index's
 * "hash", so startup does not grow with the model.  It is read
 * in 64 MiB chunks, converted to float32 and hashed in the same pass, each chunk's pages dropped
 * after use, so peak memory is the tensor as float32 plus the (m + n)·(k + 10)-float sketches.
 *
 * Decisions the spec leaves open (algorithm.md §5 binds the rest):
 * - 1-D tensors: spectral and noise features null; kurtosis over the vector as one row.
 * - 3-D tensors are stacked experts [E, rows, cols]: features per slice; the top-level value is
 *   the mean over the slices where it is defined, "per_slice" holds the arrays (null where
 *   undefined), top-level "sigma" is null and per_slice.sigma the per-slice spectra.  > 3-D
 *   tensors are viewed as (shape[0], -1) (§3.2).
 * - --norm auto (default): the norm of §3.1, Llama-family names (also attention_norm/ffn_norm);
 *   a norm that is absent or not a finite vector of length cols gives gamma = 1 and "norm": null
 *   (with a note on stderr).  An explicit NAME must exist and fit, else it is an error.  Gains
 *   are used as stored (Gemma's 1 + w is not applied).  The norm's hash is checked too.
 * - Randomness: slice s uses xoshiro256** seeded with XXH3-64(seed as 8 LE bytes || the 32 hex
 *   digits of the content hash) with XXH3 seed s; the probes are drawn before the sketch.
 * - Noise: scales/biases in the source dtype if BF16/F16, else BF16 (as pack writes them).
 * - --seed is 0 .. 2^63-1 (default 0); --rank 1 .. 65536 (default 256).
 * - MINT_FEATURE_CHUNK=BYTES (environment, for tests) reads in chunks of that size instead of
 *   64 MiB: the output bytes must not depend on it. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/dtype.h"
#include "mint/err.h"
#include "mint/feat.h"
#include "mint/hash.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/rsvd.h"
#include "mint/srcidx.h"
#include "mint/st.h"

#define STAGE "mint-feature"
#define READ_CHUNK (64u << 20)
#define MAX_RANK 65536

static const char usage[] =
    "usage: mint-feature INDEX TENSOR -o feat.json [--rank K] [--seed S] "
    "[--norm NAME|auto|none] [-q] [--hex]\n";

static const char help[] =
    "\n"
    "Spectral (randomized SVD, k = --rank), per-group kurtosis (g = 128) and norm-guided\n"
    "noise-amplification features of one tensor, as algorithm.md section 5 defines them.\n"
    "\n"
    "  INDEX          index.json written by mint-index\n"
    "  TENSOR         canonical tensor name as listed in the index\n"
    "  -o FILE        output feat.json (written atomically, only on success)\n"
    "  --rank K       singular values computed (default 256)\n"
    "  --seed S       global seed, 0 .. 2^63-1 (default 0)\n"
    "  --norm NAME    gamma for the noise probes: auto (default, the norm feeding this\n"
    "                 matrix), none (gamma = 1) or a norm tensor name\n"
    "  --hex          TENSOR is given as the hex of its bytes (how the make pipeline passes\n"
    "                 names: safe in make and the shell whatever they hold)\n"
    "  -q, --quiet    no summary on stderr\n"
    "  -h, --help     this text\n";

/* Read, hash and convert a tensor to float32 (dst: nelem floats), dropping pages as it goes.
 * Returns the first non-finite index (or -1) in *bad. */
static void load_tensor(const struct mint_map *map, const struct mint_srcent *e, float *dst,
                        char hash[MINT_HASH_HEX], int64_t *bad)
{
    const unsigned char *p = map->data + e->offset;
    const char *env = getenv("MINT_FEATURE_CHUNK"); /* testing: results must not depend on it */
    size_t es = mint_dtype_size(e->dtype), want = READ_CHUNK, chunk;

    if (env && atol(env) > 0)
        want = (size_t)atol(env);
    chunk = want / es * es;
    if (!chunk)
        chunk = es;
    uint64_t left = e->nbytes, done = 0;
    size_t off = (size_t)e->offset;
    struct mint_hasher h;

    *bad = -1;
    MINT_ASSERT(mint_hasher_init(&h) == 0);
    while (left) {
        size_t n = left > chunk ? chunk : (size_t)left;
        int64_t b;
        mint_map_advise_seq(map, off, n);
        mint_hasher_update(&h, p, n);
        b = mint_to_f32(e->dtype, p, dst + done, n / es);
        if (b >= 0 && *bad < 0)
            *bad = (int64_t)done + b;
        mint_map_advise_done(map, off, n);
        p += n;
        off += n;
        left -= n;
        done += n / es;
    }
    mint_hasher_hex(&h, hash);
    mint_hasher_release(&h);
}

/* The index entry of 'name' (1), or 0 with err set ("not in the index"), or -1. */
static int entry_of(struct mint_srcidx *ix, const char *name, const char *index_path,
                    struct mint_srcent *e, struct mint_err *err)
{
    int f = mint_srcidx_find(ix, name, e, err);
    if (f == 0)
        mint_err_set(err, "%s: not in the index %s", name, index_path);
    return f > 0 ? 1 : -1;
}

/* Read the tensor of entry e from the one shard holding it, check it against the index's
 * content hash and return it as float32 (malloc'd). */
static float *load_checked(const struct mint_srcidx *ix, const struct mint_srcent *e,
                           const char *name, struct mint_err *err)
{
    struct mint_map map;
    char got[MINT_HASH_HEX];
    float *a;
    int64_t bad;

    if (e->dtype != MINT_DT_F32 && e->dtype != MINT_DT_F16 && e->dtype != MINT_DT_BF16) {
        mint_err_set(err, "%s: unsupported dtype %s (F32, F16 and BF16 only)", name,
                     mint_dtype_name(e->dtype));
        return NULL;
    }
    if (mint_srcidx_map(ix, e, &map, err) < 0)
        return NULL;
    a = malloc(e->nelem ? e->nelem * sizeof *a : 1);
    if (!a) {
        mint_map_release(&map);
        mint_err_set(err, "%s: out of memory for %" PRIu64 " float32 values", name, e->nelem);
        return NULL;
    }
    load_tensor(&map, e, a, got, &bad);
    mint_map_release(&map);
    if (strcmp(got, e->hash)) {
        free(a);
        mint_err_set(err, "%s: content hash differs from the index", name);
        return NULL;
    }
    if (bad >= 0) {
        free(a);
        mint_err_set(err, "%s: non-finite value at element %" PRId64, name, bad);
        return NULL;
    }
    return a;
}

/* gamma for the noise probes; *gamma NULL means gamma = 1.  *used: the norm's name or NULL. */
static int resolve_norm(struct mint_srcidx *ix, const char *name, const char *mode,
                        int64_t cols, int quiet, float **gamma, char *used, size_t used_cap,
                        struct mint_err *err)
{
    char cand[4][256];
    int nc = 0, expl = 0;

    *gamma = NULL;
    used[0] = 0;
    if (!strcmp(mode, "none"))
        return 0;
    if (!strcmp(mode, "auto")) {
        nc = mint_feat_norm_candidates(name, ix->tied, cand, 4);
    } else {
        expl = 1;
        snprintf(cand[0], sizeof cand[0], "%s", mode);
        nc = 1;
    }
    for (int i = 0; i < nc; i++) {
        struct mint_srcent e;
        float *g;
        int f = mint_srcidx_find(ix, cand[i], &e, err);
        if (f < 0)
            return mint_err_prefix(err, "%s: norm", name);
        if (!f)
            continue;
        if (e.ndim != 1 || e.shape[0] != cols ||
            (e.dtype != MINT_DT_F32 && e.dtype != MINT_DT_F16 && e.dtype != MINT_DT_BF16)) {
            if (expl)
                return mint_err_set(err, "%s: norm '%s' is not a float vector of length %lld",
                                    name, cand[i], (long long)cols);
            if (!quiet)
                fprintf(stderr, STAGE ": %s: note: norm '%s' does not fit (%d-D, %lld), gamma = 1\n",
                        name, cand[i], e.ndim, (long long)e.shape[0]);
            return 0;
        }
        g = load_checked(ix, &e, cand[i], err);
        if (!g)
            return mint_err_prefix(err, "%s: norm", name);
        *gamma = g;
        snprintf(used, used_cap, "%s", cand[i]);
        return 0;
    }
    if (expl)
        return mint_err_set(err, "%s: norm '%s' not in the model", name, mode);
    if (nc && !quiet)
        fprintf(stderr, STAGE ": %s: note: norm '%s' not in the model, gamma = 1\n", name,
                cand[0]);
    return 0;
}

static json_t *real_or_null(int valid, double v)
{
    return valid && isfinite(v) ? json_real(v) : json_null();
}

static const char *parse_opts(int argc, char **argv, const char **out, int *rank, uint64_t *seed,
                              const char **norm, int *quiet, int *hex, int *help_asked)
{
    static const struct option lo[] = {{"rank", required_argument, 0, 'r'},
                                       {"seed", required_argument, 0, 's'},
                                       {"norm", required_argument, 0, 'n'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {"hex", no_argument, 0, 'x'},
                                       {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:qh", lo, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'o': *out = optarg; break;
        case 'q': *quiet = 1; break;
        case 'x': *hex = 1; break;
        case 'h': *help_asked = 1; return NULL;
        case 'r': {
            long v;
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 1 || v > MAX_RANK)
                return "--rank: expected an integer 1..65536";
            *rank = (int)v;
            break;
        }
        case 's': {
            unsigned long long v;
            if (optarg[0] < '0' || optarg[0] > '9')
                return "--seed: expected an integer 0..9223372036854775807";
            errno = 0;
            v = strtoull(optarg, &end, 10);
            if (errno || *end || v > (unsigned long long)INT64_MAX)
                return "--seed: expected an integer 0..9223372036854775807";
            *seed = v;
            break;
        }
        case 'n':
            if (!optarg[0])
                return "--norm: expected a tensor name, auto or none";
            *norm = optarg;
            break;
        default: return "";
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *out = NULL, *norm_mode = "auto", *index_path, *name, *hash, *bad;
    int rank = MINT_RSVD_RANK, quiet = 0, help_asked = 0, rc = 1, hex = 0;
    char *name_buf = NULL;
    uint64_t seed = 0;
    struct mint_err err = {0};
    struct mint_srcidx ix;
    struct mint_srcent ent;
    const struct mint_srcent *t = &ent;
    struct mint_feat_opt opt;
    struct mint_feat_slice *sl = NULL;
    json_t *doc = NULL;
    float *a = NULL, *gamma = NULL;
    char norm_used[256];
    int64_t nslice = 1, rows, cols;
    int matrix, stacked = 0;
    enum mint_dtype sdt;
    double t0 = mint_now();

    bad = parse_opts(argc, argv, &out, &rank, &seed, &norm_mode, &quiet, &hex, &help_asked);
    if (help_asked) {
        fputs(usage, stdout);
        fputs(help, stdout);
        return 0;
    }
    if (bad || optind + 2 != argc || !out) {
        if (bad && *bad)
            fprintf(stderr, STAGE ": %s\n", bad);
        fputs(usage, stderr);
        return MINT_EXIT_USAGE;
    }
    index_path = argv[optind];
    name = argv[optind + 1];
    if (hex && !(name = name_buf = mint_hex_decode(name))) {
        fprintf(stderr, STAGE ": --hex: TENSOR must be the hex digits of a name\n");
        fputs(usage, stderr);
        return MINT_EXIT_USAGE;
    }
    mint_blas_single_thread();
    mint_feat_opt_default(&opt);
    opt.rsvd.k = rank;

    /* the sidecar index: this tensor's entry without parsing the whole index.json; only the
     * shard holding the tensor is opened, and the content hash proves its bytes */
    if (mint_srcidx_open(&ix, index_path, &err) < 0) {
        free(name_buf);
        return mint_err_report(STAGE, &err);
    }
    if (entry_of(&ix, name, index_path, &ent, &err) < 0)
        goto fail;
    hash = ent.hash;
    a = load_checked(&ix, &ent, name, &err);
    if (!a)
        goto fail;

    /* view */
    if (t->ndim <= 1) {
        rows = 1;
        cols = (int64_t)t->nelem;
        matrix = 0;
    } else if (t->ndim == 3) {
        stacked = 1;
        nslice = t->shape[0];
        rows = t->shape[1];
        cols = t->shape[2];
        matrix = 1;
    } else {
        rows = t->shape[0];
        cols = rows ? (int64_t)(t->nelem / (uint64_t)rows) : 0;
        matrix = 1;
    }
    if (t->nelem == 0)
        rows = cols = 0;
    sdt = t->dtype == MINT_DT_F16 ? MINT_DT_F16 : MINT_DT_BF16;

    norm_used[0] = 0;
    if (matrix && resolve_norm(&ix, name, norm_mode, cols, quiet, &gamma, norm_used,
                               sizeof norm_used, &err) < 0)
        goto fail;
    mint_srcidx_release(&ix); /* an index parsed whole can be large */

    sl = calloc((size_t)(nslice > 0 ? nslice : 1), sizeof *sl);
    if (!sl) {
        mint_err_set(&err, "%s: out of memory", name);
        goto fail;
    }
    for (int64_t s = 0; s < nslice; s++) {
        uint64_t sseed = mint_feat_seed(seed, hash, (uint64_t)s);
        if (mint_feat_slice_run(a + s * rows * cols, rows, cols, matrix, gamma, sdt, &opt, sseed,
                                &sl[s], &err) < 0) {
            if (stacked)
                mint_err_prefix(&err, "%s: expert %lld", name, (long long)s);
            else
                mint_err_prefix(&err, "%s", name);
            goto fail;
        }
    }
    free(a);
    a = NULL;

    /* document */
    {
        json_t *shape = json_array(), *ps = NULL;
        const struct mint_feat_slice *s0 = &sl[0];
        int spec_any = 0;
        char refc[16];

        for (int d = 0; d < t->ndim; d++)
            json_array_append_new(shape, json_integer(t->shape[d]));
        doc = json_pack("{s:i,s:s,s:s,s:o,s:s,s:i,s:I,s:i}", "schema", 1, "tensor", name, "hash",
                        hash, "shape", shape, "dtype", mint_dtype_name(t->dtype), "rank", rank,
                        "seed", (json_int_t)seed, "probes", opt.probes);
        json_object_set_new(doc, "norm", norm_used[0] ? json_string(norm_used) : json_null());

#define SLICE_FIELDS(X)                                                                     \
    X("stable_rank", spec.valid, spec.stable_rank)                                          \
    X("tail_mass", spec.valid, spec.tail_mass)                                              \
    X("log_cond", spec.valid, spec.log_cond)                                                \
    X("kurt_p90", kurt.valid, kurt.p90)                                                     \
    X("kurt_p99_p50", kurt.valid, kurt.p99_p50)                                             \
    X("outlier_frac", kurt.valid, kurt.outlier_frac)                                        \
    X("noise_delta", noise.valid, noise.delta)                                              \
    X("noise_amp", noise.amp_valid, noise.amp)                                              \
    X("nrmse_ref", noise.valid, noise.nrmse_ref)
#define EMIT(key, okf, valf)                                                                \
    {                                                                                       \
        double sum = 0;                                                                     \
        int64_t cnt = 0;                                                                    \
        json_t *arr = stacked ? json_array() : NULL;                                        \
        for (int64_t s = 0; s < nslice; s++) {                                              \
            int ok_ = sl[s].okf && isfinite(sl[s].valf);                                    \
            if (ok_) {                                                                      \
                sum += sl[s].valf;                                                          \
                cnt++;                                                                      \
            }                                                                               \
            if (arr)                                                                        \
                json_array_append_new(arr, real_or_null(ok_, sl[s].valf));                  \
        }                                                                                   \
        json_object_set_new(doc, key, real_or_null(cnt > 0, cnt ? sum / (double)cnt : 0));  \
        if (arr)                                                                            \
            json_object_set_new(ps, key, arr);                                              \
    }
        if (stacked)
            ps = json_object();
        SLICE_FIELDS(EMIT)
#undef EMIT
#undef SLICE_FIELDS

        for (int64_t s = 0; s < nslice; s++)
            spec_any |= sl[s].spec.valid;
        json_object_set_new(doc, "k_eff", spec_any ? json_integer(s0->spec.k_eff) : json_null());
        json_object_set_new(doc, "svd",
                            spec_any ? json_string(s0->spec.exact ? "exact" : "randomized")
                                     : json_null());
        if (!stacked) {
            json_t *sg = json_null();
            if (s0->spec.valid) {
                sg = json_array();
                for (int i = 0; i < s0->spec.k_eff; i++)
                    json_array_append_new(sg, json_real(s0->sigma[i]));
            }
            json_object_set_new(doc, "sigma", sg);
        } else {
            json_t *all = json_array();
            for (int64_t s = 0; s < nslice; s++) {
                json_t *sg = json_null();
                if (sl[s].spec.valid) {
                    sg = json_array();
                    for (int i = 0; i < sl[s].spec.k_eff; i++)
                        json_array_append_new(sg, json_real(sl[s].sigma[i]));
                }
                json_array_append_new(all, sg);
            }
            json_object_set_new(ps, "sigma", all);
            json_object_set_new(doc, "sigma", json_null());
            json_object_set_new(doc, "per_slice", ps);
        }
        if (nslice > 0 && matrix && rows > 0 && cols > 0 && (cols % 32) == 0) {
            snprintf(refc, sizeof refc, "%d:%d", s0->noise.ref.bits, s0->noise.ref.group);
            json_object_set_new(doc, "ref_config", json_string(refc));
        } else {
            json_object_set_new(doc, "ref_config", json_null());
        }
    }
    if (mint_json_write(out, doc, &err) < 0)
        goto fail;
    if (!quiet) {
        json_t *v;
        fprintf(stderr, STAGE ": %s: %s", name, mint_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++)
            fprintf(stderr, "%s%lld", d ? "x" : " ", (long long)t->shape[d]);
        static const char *const keys[] = {"stable_rank", "tail_mass",  "log_cond",
                                           "kurt_p90",    "outlier_frac", "noise_amp"};
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
            v = json_object_get(doc, keys[i]);
            if (json_is_real(v))
                fprintf(stderr, " %s %.4g", keys[i], json_real_value(v));
        }
        fprintf(stderr, " (%.2f s, peak RSS %.1f MiB)\n", mint_now() - t0,
                (double)mint_peak_rss() / 1048576.0);
    }
    rc = 0;
    goto done;
fail:
    rc = mint_err_report(STAGE, &err);
done:
    if (sl)
        for (int64_t s = 0; s < nslice; s++)
            mint_feat_slice_release(&sl[s]);
    free(sl);
    free(gamma);
    free(a);
    json_decref(doc);
    mint_srcidx_release(&ix);
    free(name_buf);
    return rc;
}
