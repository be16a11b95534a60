/* mint-pack: write an allocation as a ready-to-load MLX model directory.
 *
 * usage: mint-pack INDEX ALLOC -o OUT_DIR [--shard-size 5G] [--dtype auto|bf16|f16] [-j N] [-q]
 *
 * Reads the source tensors named by INDEX (hash-checked while streaming), quantizes each with
 * its (bits, group) from ALLOC using the one MLX quantizer, and writes shards, index.json,
 * config.json and the tokenizer files into OUT_DIR.tmp.<pid>, validates that directory with
 * the strict reader and the budget (Σ model*.safetensors sizes <= budget_bytes), then renames
 * it into place.  The summary goes to stderr.  Test hook: MINT_PACK_TEST_CRASH_AFTER_SHARD=N
 * aborts after N shards are written (a crash mid-pack). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mint/budget.h"
#include "mint/err.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/pack.h"

static const char usage[] =
    "usage: mint-pack INDEX ALLOC -o OUT_DIR [--shard-size 5G] [--dtype auto|bf16|f16] [-j N] "
    "[--report FILE] [-q]\n";

static const char help[] =
    "\n"
    "Write the allocation ALLOC (alloc.json from mint-solve) for the model of INDEX (index.json\n"
    "from mint-index) as an MLX model directory that mlx_lm.load reads unchanged.\n"
    "\n"
    "  -o OUT_DIR          output directory; written atomically (a previous packed model there\n"
    "                      is replaced, anything else is refused)\n"
    "  --shard-size SIZE   tensor data per shard (default 5G = 5 GiB; units B K M G T, KiB..TiB,\n"
    "                      KB..TB)\n"
    "  --dtype D           float dtype of scales, biases and 16-bit tensors: auto (alloc's\n"
    "                      out_dtype, default), bf16 or f16\n"
    "  -j, --threads N     quantizer threads (default: online CPUs, at most 16); the output\n"
    "                      bytes do not depend on it\n"
    "  --report FILE       also write FILE (JSON): the allocation (solver, objective, bound,\n"
    "                      gap, every tensor's configuration) plus what was written\n"
    "  -q, --quiet         no summary\n"
    "  -h, --help          this text\n";

static void summary(const char *out, const struct mint_pack_plan *p,
                    const struct mint_pack_report *r, enum mint_dtype alloc_dt, double secs)
{
    struct {
        struct mint_qcfg c;
        size_t n;
        uint64_t params, bytes;
    } h[32];
    size_t nh = 0;
    char a[32], b[32], c[32];

    mint_budget_human((uint64_t)r->file_bytes, a, sizeof a);
    mint_budget_human((uint64_t)p->alloc_budget, b, sizeof b);
    fprintf(stderr,
            "mint-pack: %s: %zu tensors (%zu source) in %zu shard%s, %" PRIu64
            " parameters, %s, %.1f s\n",
            out, r->n_tensors, p->n_src, r->n_shards, r->n_shards == 1 ? "" : "s", r->params,
            mint_dtype_name(p->dtype), secs);
    fprintf(stderr,
            "  written %" PRIu64 " bytes (%s: tensor data %" PRIu64 " + headers %" PRIu64
            "); alloc total_bytes %" PRIu64 "; budget %" PRIu64 " (%s, %.2f%% used)\n",
            r->file_bytes, a, r->data_bytes, r->file_bytes - r->data_bytes, p->alloc_total,
            p->alloc_budget, b,
            p->alloc_budget ? 100.0 * (double)r->file_bytes / (double)p->alloc_budget : 0);
    if (r->data_bytes != p->alloc_tensor_bytes)
        fprintf(stderr, "  note: alloc tensor bytes %" PRIu64 " vs written %" PRIu64 "\n",
                p->alloc_tensor_bytes, r->data_bytes);
    fprintf(stderr, "  %.3f bits per weight (file bytes x 8 / parameters)\n",
            r->params ? 8.0 * (double)r->file_bytes / (double)r->params : 0.0);
    for (size_t i = 0; i < p->n_items; i++) {
        const struct mint_pack_item *it = &p->items[i];
        size_t k;
        uint64_t bytes = 0;
        for (int part = 0; part < 4; part++)
            if (it->out[part] != SIZE_MAX)
                bytes += p->out[it->out[part]].nbytes;
        for (k = 0; k < nh; k++)
            if (h[k].c.bits == it->cfg.bits && h[k].c.group == it->cfg.group)
                break;
        if (k == nh && nh < sizeof h / sizeof *h) {
            h[nh].c = it->cfg;
            h[nh].n = 0;
            h[nh].params = h[nh].bytes = 0;
            nh++;
        }
        if (k < nh) {
            h[k].n++;
            h[k].params += it->params;
            h[k].bytes += bytes;
        }
    }
    fprintf(stderr, "  %-8s %8s %14s %8s %12s\n", "config", "modules", "params", "share", "bytes");
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < nh; k++) {
            if ((h[k].c.bits == 16) != pass)
                continue;
            if (h[k].c.bits == 16)
                snprintf(c, sizeof c, "16-bit");
            else
                snprintf(c, sizeof c, "%d:%d", h[k].c.bits, h[k].c.group);
            mint_budget_human((uint64_t)h[k].bytes, a, sizeof a);
            fprintf(stderr, "  %-8s %8zu %14" PRIu64 " %7.2f%% %12s\n", c, h[k].n, h[k].params,
                    p->params ? 100.0 * (double)h[k].params / (double)p->params : 0.0, a);
        }
    if (alloc_dt != p->dtype)
        fprintf(stderr, "  note: output dtype %s (--dtype) instead of alloc's out_dtype %s\n",
                mint_dtype_name(p->dtype), mint_dtype_name(alloc_dt));
    for (size_t i = 0; i < p->n_items; i++) {
        const struct mint_pack_item *it = &p->items[i];
        if ((it->flags & MINT_PACK_NOGROUP) && it->cfg.bits == 16)
            fprintf(stderr,
                    "  note: %s: kept 16-bit: input dimension %lld is not divisible by any "
                    "group size (32, 64, 128)\n",
                    it->name, (long long)it->shape[it->ndim - 1]);
    }
}

/* report.json: the allocation as solved plus what was actually written. */
static int write_report(const char *path, json_t *alloc,
                        const struct mint_pack_plan *p, const struct mint_pack_report *r,
                        struct mint_err *err)
{
    json_t *doc = json_deep_copy(alloc), *hist = json_array();
    int rc;
    for (size_t i = 0; i < p->n_items; i++) {
        const struct mint_pack_item *it = &p->items[i];
        uint64_t bytes = 0;
        size_t k;
        json_t *h = NULL;
        for (int part = 0; part < 4; part++)
            if (it->out[part] != SIZE_MAX)
                bytes += p->out[it->out[part]].nbytes;
        json_array_foreach(hist, k, h) {
            if (json_integer_value(json_object_get(h, "bits")) == it->cfg.bits &&
                json_integer_value(json_object_get(h, "group")) == it->cfg.group)
                break;
        }
        if (k == json_array_size(hist)) {
            h = json_pack("{s:i,s:i,s:I,s:I,s:I}", "bits", it->cfg.bits, "group", it->cfg.group,
                          "modules", (json_int_t)0, "params", (json_int_t)0, "bytes",
                          (json_int_t)0);
            json_array_append_new(hist, h);
        }
        json_object_set_new(h, "modules",
                            json_integer(json_integer_value(json_object_get(h, "modules")) + 1));
        json_object_set_new(h, "params", json_integer(json_integer_value(json_object_get(
                                                          h, "params")) + (json_int_t)it->params));
        json_object_set_new(h, "bytes", json_integer(json_integer_value(json_object_get(
                                                         h, "bytes")) + (json_int_t)bytes));
    }
    json_object_set_new(doc, "configs", hist);
    json_object_set_new(
        doc, "written",
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:f}", "file_bytes",
                  (json_int_t)r->file_bytes, "data_bytes", (json_int_t)r->data_bytes, "shards",
                  (json_int_t)r->n_shards, "tensors", (json_int_t)r->n_tensors, "params",
                  (json_int_t)r->params, "bpw",
                  r->params ? 8.0 * (double)r->file_bytes / (double)r->params : 0.0));
    rc = mint_json_write(path, doc, err);
    json_decref(doc);
    return rc;
}

int main(int argc, char **argv)
{
    const char *out = NULL, *index_path, *alloc_path, *hook, *report = NULL;
    enum mint_dtype dtype = MINT_DT_INVALID, alloc_dt;
    struct mint_pack_opts opts = {0};
    struct mint_pack_report rep;
    struct mint_pack_plan plan;
    struct mint_err err = {0};
    json_t *index, *alloc;
    int quiet = 0, c;
    double t0 = mint_now();
    static const struct option lo[] = {{"shard-size", required_argument, 0, 's'},
                                       {"dtype", required_argument, 0, 'd'},
                                       {"threads", required_argument, 0, 'j'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"report", required_argument, 0, 'r'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};

    {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        opts.threads = nc < 1 ? 1 : nc > 16 ? 16 : (int)nc;
    }
    while ((c = getopt_long(argc, argv, "o:j:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'j': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || end == optarg || v < 1 || v > MINT_PACK_MAX_THREADS) {
                fprintf(stderr, "mint-pack: --threads '%s': expected 1..%d\n", optarg,
                        MINT_PACK_MAX_THREADS);
                fputs(usage, stderr);
                return MINT_EXIT_USAGE;
            }
            opts.threads = (int)v;
            break;
        }
        case 'q': quiet = 1; break;
        case 'r': report = optarg; break;
        case 's':
            if (mint_pack_parse_size(optarg, &opts.shard_size) < 0 || !opts.shard_size) {
                fprintf(stderr, "mint-pack: --shard-size '%s': expected a positive size such as "
                                "5G, 512MiB or 1000000\n", optarg);
                fputs(usage, stderr);
                return MINT_EXIT_USAGE;
            }
            break;
        case 'd':
            if (!strcmp(optarg, "auto"))
                dtype = MINT_DT_INVALID;
            else if (!strcmp(optarg, "bf16"))
                dtype = MINT_DT_BF16;
            else if (!strcmp(optarg, "f16"))
                dtype = MINT_DT_F16;
            else {
                fprintf(stderr, "mint-pack: --dtype '%s': expected auto, bf16 or f16\n", optarg);
                fputs(usage, stderr);
                return MINT_EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            fputs(help, stdout);
            return 0;
        default: fputs(usage, stderr); return MINT_EXIT_USAGE;
        }
    }
    if (optind + 2 != argc || !out) {
        fputs(usage, stderr);
        return MINT_EXIT_USAGE;
    }
    index_path = argv[optind];
    alloc_path = argv[optind + 1];
    hook = getenv("MINT_PACK_TEST_CRASH_AFTER_SHARD");
    if (hook && *hook)
        opts.crash_after_shard = atoi(hook);
    opts.out_dir = out;

    index = mint_json_load(index_path, &err);
    if (!index)
        return mint_err_report("mint-pack", &err);
    if (mint_pack_index_load(&plan, index, index_path, &err) < 0) {
        json_decref(index);
        return mint_err_report("mint-pack", &err);
    }
    json_decref(index);
    alloc = mint_json_load(alloc_path, &err);
    if (!alloc || mint_pack_alloc_load(&plan, alloc, dtype, alloc_path, &err) < 0) {
        json_decref(alloc);
        mint_pack_plan_release(&plan);
        return mint_err_report("mint-pack", &err);
    }
    alloc_dt = mint_dtype_parse(json_string_value(json_object_get(alloc, "out_dtype")));
    if (mint_pack_write(&plan, &opts, &rep, &err) < 0 ||
        (report && write_report(report, alloc, &plan, &rep, &err) < 0)) {
        json_decref(alloc);
        mint_pack_plan_release(&plan);
        return mint_err_report("mint-pack", &err);
    }
    json_decref(alloc);
    if (!quiet)
        summary(out, &plan, &rep, alloc_dt, mint_now() - t0);
    mint_pack_plan_release(&plan);
    return 0;
}
