/* mint-packcheck: validate a packed MLX model directory (mlx-format.md §9), or decode tensors.
 *
 * usage: mint-packcheck DIR [--index INDEX] [--budget BYTES] [--shard-size SIZE]
 *                           [--dump NAME -o FILE] [--dump-dir DIR2] [-q]
 *
 * Always: every model*.safetensors re-read with the strict reader, headers canonical, names
 * unique, shard names, index.json consistent, config.json rules (global default, overrides
 * exactly for the modules that differ, false for float quantizable modules, tied -> no lm_head).
 * --index: the tensor set follows from the index and the config, and every byte equals the
 * source re-quantized.  --budget: Σ shard file sizes <= BYTES.  --shard-size: the shards are
 * the greedy split at that limit.  --dump writes one tensor (a quantized module by its .weight
 * name) decoded to raw float32 LE; --dump-dir writes every module weight and float tensor as
 * DIR2/<name>.f32.
 *
 * Fixture mode: mint-packcheck --make-alloc INDEX -o alloc.json [--configs LIST]
 *                               [--set NAME=B:G]... [--budget BYTES] [--out-dtype BF16|F16]
 * writes an alloc.json for INDEX: the quantizable tensors (module weights, in output-name
 * order, experts of one module together) take the configurations of LIST round robin
 * (default 4:64), skipping those whose group does not divide the input dimension; 16-bit
 * when none fits.  --set pins one tensor.  budget_bytes defaults to total_bytes + 1 MiB. */
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/err.h"
#include "mint/mlx.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/pack.h"

static const char usage[] =
    "usage: mint-packcheck DIR [--index INDEX] [-j N] [--budget BYTES] [--shard-size SIZE] "
    "[--dump NAME -o FILE] [--dump-dir DIR2] [-q]\n"
    "       mint-packcheck --make-alloc INDEX -o alloc.json [--configs LIST] [--set NAME=B:G]... "
    "[--budget BYTES] [--out-dtype BF16|F16]\n";

static int make_alloc(const char *index_path, const char *out, const char *configs,
                      char **sets, int nsets, uint64_t budget, const char *odt,
                      struct mint_err *err)
{
    struct mint_pack_plan p;
    struct mint_qcfg list[32];
    json_t *index = mint_json_load(index_path, err), *ts, *doc;
    int nl = mint_qcfg_parse(configs ? configs : "4:64", list, 32), rr = 0, rc;
    uint64_t total = 0;
    char prev[4200] = "", buf[4200];
    size_t nbf = 0, nf = 0;

    if (!index)
        return -1;
    if (nl <= 0) {
        json_decref(index);
        return mint_err_setc(err, MINT_EXIT_USAGE, "--configs '%s': bad list", configs);
    }
    rc = mint_pack_index_load(&p, index, index_path, err);
    json_decref(index);
    if (rc < 0)
        return -1;
    ts = json_array();
    for (size_t i = 0; i < p.n_src; i++) {
        const struct mint_pack_src *s = &p.src[i];
        int64_t ex, l, e;
        int w = mint_mlx_name(s->name, p.tied, buf, sizeof buf, &ex);
        enum mint_role role = mint_role_classify(s->name, &l, &e);
        struct mint_qcfg c = {16, 0};
        int64_t cols = s->ndim ? s->shape[s->ndim - 1] : 1;
        json_t *o;
        if (s->dtype == MINT_DT_BF16)
            nbf++;
        else if (s->dtype == MINT_DT_F16)
            nf++;
        if (w == 1 && s->ndim >= 2 && role != MINT_ROLE_NORM && strlen(s->name) > 7 &&
            !strcmp(s->name + strlen(s->name) - 7, ".weight")) {
            if (strcmp(prev, buf)) { /* next module; experts of one module share a config */
                for (int k = 0; k < nl; k++) {
                    struct mint_qcfg t = list[(rr + k) % nl];
                    if (mint_qcfg_available(t, cols)) {
                        rr = (rr + k + 1) % nl;
                        break;
                    }
                }
                snprintf(prev, sizeof prev, "%s", buf);
            }
            for (int k = 0; k < nl; k++) {
                struct mint_qcfg t = list[(rr + nl - 1 - k) % nl];
                if (mint_qcfg_available(t, cols)) {
                    c = t;
                    break;
                }
            }
        }
        for (int k = 0; k < nsets; k++) {
            size_t n = strlen(s->name);
            if (!strncmp(sets[k], s->name, n) && sets[k][n] == '=') {
                struct mint_qcfg t[1];
                if (mint_qcfg_parse(sets[k] + n + 1, t, 1) != 1) {
                    json_decref(ts);
                    mint_pack_plan_release(&p);
                    return mint_err_setc(err, MINT_EXIT_USAGE, "--set '%s': bad config", sets[k]);
                }
                c = t[0];
            }
        }
        o = json_pack("{s:s,s:i,s:i,s:I}", "name", s->name, "bits", c.bits, "group", c.group,
                      "bytes", (json_int_t)(w == 1 ? mint_quant_bytes(s->nelem, c) : 0));
        if (w != 1)
            json_object_set_new(o, "dropped", json_true());
        else
            total += mint_quant_bytes(s->nelem, c);
        json_array_append_new(ts, o);
    }
    doc = json_pack("{s:i,s:I,s:I,s:I,s:f,s:s,s:o}", "schema", 1, "budget_bytes",
                    (json_int_t)(budget ? budget : total + (1u << 20)), "total_bytes",
                    (json_int_t)total, "reserve_bytes", (json_int_t)0, "objective", 0.0,
                    "out_dtype", odt ? odt : (nf > nbf ? "F16" : "BF16"), "tensors", ts);
    mint_pack_plan_release(&p);
    rc = mint_json_write(out, doc, err);
    json_decref(doc);
    return rc;
}

/* every tensor name of the directory's index.json except scales/biases */
static int dump_all(const char *dir, const char *to, struct mint_err *err)
{
    char *ip = mint_path_join(dir, "model.safetensors.index.json");
    json_t *doc = mint_json_load(ip, err), *v;
    const char *key;
    int rc = 0;
    free(ip);
    if (!doc)
        return -1;
    if (mint_mkdirs(to, err) < 0) {
        json_decref(doc);
        return -1;
    }
    json_object_foreach(json_object_get(doc, "weight_map"), key, v) {
        size_t n = strlen(key);
        char *path, *fn;
        if (n > 7 && (!strcmp(key + n - 7, ".scales") || !strcmp(key + n - 7, ".biases")))
            continue;
        fn = malloc(n + 5);
        snprintf(fn, n + 5, "%s.f32", key);
        path = mint_path_join(to, fn);
        rc = mint_pack_dump(dir, key, path, err);
        free(fn);
        free(path);
        if (rc < 0)
            break;
    }
    json_decref(doc);
    return rc;
}

int main(int argc, char **argv)
{
    const char *index_path = NULL, *dump = NULL, *dump_out = NULL, *dump_dir = NULL, *dir;
    struct mint_pack_check_opts o = {0};
    struct mint_pack_report r;
    struct mint_err err = {0};
    json_t *index = NULL;
    const char *make = NULL, *configs = NULL, *odt = NULL;
    char *sets[256];
    int nsets = 0;
    int quiet = 0, c, rc;
    static const struct option lo[] = {{"index", required_argument, 0, 'i'},
                                       {"budget", required_argument, 0, 'b'},
                                       {"shard-size", required_argument, 0, 's'},
                                       {"dump", required_argument, 0, 'd'},
                                       {"dump-dir", required_argument, 0, 'D'},
                                       {"make-alloc", required_argument, 0, 'm'},
                                       {"configs", required_argument, 0, 'c'},
                                       {"set", required_argument, 0, 'S'},
                                       {"out-dtype", required_argument, 0, 'T'},
                                       {"threads", required_argument, 0, 'j'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};

    o.threads = 1;
    while ((c = getopt_long(argc, argv, "o:j:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'j':
            o.threads = atoi(optarg);
            if (o.threads < 1 || o.threads > MINT_PACK_MAX_THREADS) {
                fputs(usage, stderr);
                return MINT_EXIT_USAGE;
            }
            break;
        case 'i': index_path = optarg; break;
        case 'b':
        case 's':
            if (mint_pack_parse_size(optarg, c == 'b' ? &o.budget : &o.shard_size) < 0) {
                fputs(usage, stderr);
                return MINT_EXIT_USAGE;
            }
            break;
        case 'd': dump = optarg; break;
        case 'o': dump_out = optarg; break;
        case 'D': dump_dir = optarg; break;
        case 'q': quiet = 1; break;
        case 'm': make = optarg; break;
        case 'c': configs = optarg; break;
        case 'T': odt = optarg; break;
        case 'S':
            if (nsets == 256) {
                fputs(usage, stderr);
                return MINT_EXIT_USAGE;
            }
            sets[nsets++] = optarg;
            break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return MINT_EXIT_USAGE;
        }
    }
    if (make) {
        if (optind != argc || !dump_out) {
            fputs(usage, stderr);
            return MINT_EXIT_USAGE;
        }
        if (make_alloc(make, dump_out, configs, sets, nsets, o.budget, odt, &err) < 0)
            return mint_err_report("mint-packcheck", &err);
        return 0;
    }
    if (optind + 1 != argc || !dump != !dump_out) {
        fputs(usage, stderr);
        return MINT_EXIT_USAGE;
    }
    dir = argv[optind];
    if (index_path && !(index = mint_json_load(index_path, &err)))
        return mint_err_report("mint-packcheck", &err);
    o.index = index;
    rc = mint_pack_check(dir, &o, &r, &err);
    json_decref(index);
    if (rc < 0)
        return mint_err_report("mint-packcheck", &err);
    if (dump && mint_pack_dump(dir, dump, dump_out, &err) < 0)
        return mint_err_report("mint-packcheck", &err);
    if (dump_dir && dump_all(dir, dump_dir, &err) < 0)
        return mint_err_report("mint-packcheck", &err);
    if (!quiet)
        printf("%s: ok: %zu tensors (%zu quantized modules, %zu float) in %zu shard%s, %" PRIu64
               " data bytes, %" PRIu64 " file bytes, %" PRIu64 " parameters%s\n",
               dir, r.n_tensors, r.n_quant, r.n_float, r.n_shards, r.n_shards == 1 ? "" : "s",
               r.data_bytes, r.file_bytes, r.params, index_path ? ", bytes match the source" : "");
    return 0;
}
