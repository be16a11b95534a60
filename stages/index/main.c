/* mint-index: validate a model directory and list every tensor.
 *
 * usage: mint-index MODEL_DIR -o index.json [--mk tensors.mk]
 *
 * Shards are mapped read-only and hashed in file order, 64 MiB at a time, each chunk dropped
 * from the page cache mapping after use, so resident memory stays bounded whatever the model
 * size.  Output is written atomically (temporary file + rename) and only on success.  Next to
 * index.json goes "<index.json>.tsv", a sorted one-line-per-tensor sidecar that lets mint-rd
 * and mint-feature find one tensor without parsing the whole index (include/mint/srcidx.h). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/budget.h"
#include "mint/err.h"
#include "mint/hash.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/role.h"
#include "mint/srcidx.h"
#include "mint/st.h"
#include "index.h"


static const char usage[] =
    "usage: mint-index MODEL_DIR -o index.json [--mk tensors.mk] [-q]\n"
    "       mint-index --emit-mk INDEX_JSON -o tensors.mk [--rd-params F] [--feat-params F] "
    "[--no-feat]\n";

struct entry {
    const struct mint_st_tensor *t;
    char hash[MINT_HASH_HEX];
};

static int cmp_file_offset(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->t->file != y->t->file)
        return x->t->file < y->t->file ? -1 : 1;
    return x->t->offset < y->t->offset ? -1 : x->t->offset > y->t->offset;
}

static int cmp_name(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    return strcmp(x->t->name, y->t->name);
}


/* make-safe key: [A-Za-z0-9._-] kept, anything else becomes '_' */
static void make_key(const char *name, char *out, size_t cap)
{
    size_t i = 0;
    for (; *name && i + 1 < cap; name++, i++) {
        char c = *name;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-' || c == '_';
        out[i] = ok ? c : '_';
    }
    out[i] = 0;
}

static json_t *shape_json(const struct mint_st_tensor *t)
{
    json_t *a = json_array();
    for (int d = 0; d < t->ndim; d++)
        json_array_append_new(a, json_integer(t->shape[d]));
    return a;
}

static void summary(const struct mint_st_model *m, const struct entry *e, size_t n, double secs,
                    uint64_t bytes)
{
    uint64_t by_dt[MINT_DT_COUNT] = {0}, by_role[MINT_ROLE_COUNT] = {0};
    uint64_t pr_role[MINT_ROLE_COUNT] = {0}, nt_role[MINT_ROLE_COUNT] = {0}, params = 0;
    char hb[32];
    for (size_t i = 0; i < n; i++) {
        int64_t l, x;
        enum mint_role r = mint_role_classify(e[i].t->name, &l, &x);
        by_dt[e[i].t->dtype] += e[i].t->nbytes;
        by_role[r] += e[i].t->nbytes;
        pr_role[r] += e[i].t->nelem;
        nt_role[r]++;
        params += e[i].t->nelem;
    }
    mint_budget_human((uint64_t)bytes, hb, sizeof hb);
    fprintf(stderr, "mint-index: %s: %zu tensors in %zu file%s, %" PRIu64 " params, %s%s\n",
            m->dir, n, m->n_files, m->n_files == 1 ? "" : "s", params, hb,
            m->tied ? ", tied embeddings" : "");
    for (int d = 1; d < MINT_DT_COUNT; d++)
        if (by_dt[d]) {
            mint_budget_human((uint64_t)by_dt[d], hb, sizeof hb);
            fprintf(stderr, "  dtype %-8s %12s\n", mint_dtype_name((enum mint_dtype)d), hb);
        }
    fprintf(stderr, "  %-12s %8s %14s %12s\n", "role", "tensors", "params", "bytes");
    for (int r = 0; r < MINT_ROLE_COUNT; r++)
        if (nt_role[r]) {
            mint_budget_human((uint64_t)by_role[r], hb, sizeof hb);
            fprintf(stderr, "  %-12s %8" PRIu64 " %14" PRIu64 " %12s\n",
                    mint_role_name((enum mint_role)r), nt_role[r], pr_role[r], hb);
        }
    if (secs > 0)
        fprintf(stderr, "  hashed %.2f GB in %.2f s (%.2f GB/s), peak RSS %.1f MiB\n",
                bytes / 1e9, secs, bytes / 1e9 / secs, mint_peak_rss() / 1048576.0);
}

int main(int argc, char **argv)
{
    const char *out = NULL, *mk = NULL, *dir, *emit = NULL, *rdp = NULL, *ftp = NULL;
    int quiet = 0, c, with_feat = 1;
    struct mint_err err = {0};
    struct mint_st_model m;
    struct entry *e;
    json_t *doc, *tensors, *model;
    uint64_t params = 0, bytes = 0;
    double t0;
    static const struct option lo[] = {{"mk", required_argument, 0, 'm'},
                                       {"help", no_argument, 0, 'h'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"emit-mk", required_argument, 0, 'E'},
                                       {"rd-params", required_argument, 0, 'R'},
                                       {"feat-params", required_argument, 0, 'F'},
                                       {"no-feat", no_argument, 0, 'N'},
                                       {0, 0, 0, 0}};

    while ((c = getopt_long(argc, argv, "o:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'm': mk = optarg; break;
        case 'q': quiet = 1; break;
        case 'E': emit = optarg; break;
        case 'R': rdp = optarg; break;
        case 'F': ftp = optarg; break;
        case 'N': with_feat = 0; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return MINT_EXIT_USAGE;
        }
    }
    if (emit) {
        if (optind != argc || !out) {
            fputs(usage, stderr);
            return MINT_EXIT_USAGE;
        }
        if (mint_index_emit_mk(emit, rdp, ftp, with_feat, out, &err) < 0)
            return mint_err_report("mint-index", &err);
        return 0;
    }
    if (optind + 1 != argc || !out) {
        fputs(usage, stderr);
        return MINT_EXIT_USAGE;
    }
    dir = argv[optind];
    if (mint_st_model_open(&m, dir, &err) < 0)
        return mint_err_report("mint-index", &err);
    if (m.num_layers < 0) {
        char *cp = mint_path_join(dir, "config.json");
        mint_err_set(&err, "%s: no num_hidden_layers (top level or text_config)", cp);
        free(cp);
        mint_st_model_release(&m);
        return mint_err_report("mint-index", &err);
    }

    e = calloc(m.n_tensors ? m.n_tensors : 1, sizeof *e);
    for (size_t i = 0; i < m.n_tensors; i++)
        e[i].t = m.tensors[i];
    qsort(e, m.n_tensors, sizeof *e, cmp_file_offset);
    t0 = mint_now();
    for (size_t i = 0; i < m.n_tensors; i++) {
        mint_st_tensor_hash(&m, e[i].t, e[i].hash);
        bytes += e[i].t->nbytes;
        params += e[i].t->nelem;
    }
    t0 = mint_now() - t0;
    qsort(e, m.n_tensors, sizeof *e, cmp_name);

    tensors = json_array();
    for (size_t i = 0; i < m.n_tensors; i++) {
        const struct mint_st_tensor *t = e[i].t;
        int64_t layer, expert;
        enum mint_role r = mint_role_classify(t->name, &layer, &expert);
        json_t *o = json_pack("{s:s,s:s,s:o,s:s,s:I,s:I,s:s,s:s}", "name", t->name, "dtype",
                              mint_dtype_name(t->dtype), "shape", shape_json(t), "file",
                              m.files[t->file].name, "offset", (json_int_t)t->offset, "nbytes",
                              (json_int_t)t->nbytes, "hash", e[i].hash, "role",
                              mint_role_name(r));
        json_object_set_new(o, "layer", layer >= 0 ? json_integer(layer) : json_null());
        json_object_set_new(o, "expert", expert >= 0 ? json_integer(expert) : json_null());
        if (strcmp(t->name, t->stored_name))
            json_object_set_new(o, "stored_name", json_string(t->stored_name));
        json_array_append_new(tensors, o);
    }
    model = json_pack("{s:s,s:O,s:I,s:I,s:I,s:b,s:I}", "dir", dir, "config", m.config,
                      "n_tensors", (json_int_t)m.n_tensors, "n_params", (json_int_t)params,
                      "n_bytes", (json_int_t)bytes, "tied", m.tied, "num_layers",
                      (json_int_t)m.num_layers);
    {
        json_t *files = json_array();
        for (size_t i = 0; i < m.n_files; i++)
            json_array_append_new(files, json_pack("{s:s,s:I}", "name", m.files[i].name, "size",
                                                   (json_int_t)m.files[i].map.size));
        json_object_set_new(model, "files", files);
    }
    doc = json_pack("{s:o,s:o,s:i}", "model", model, "tensors", tensors, "schema", 1);

    /* the make fragment first: a failure there leaves no index.json behind */
    if (mk) {
        size_t cap = 64 + m.n_tensors * 160, len = 0;
        char *buf = malloc(cap);
        len += (size_t)snprintf(buf + len, cap - len, "# generated by mint-index from %s\n", dir);
        for (size_t i = 0; i < m.n_tensors; i++) {
            char key[512];
            size_t need = strlen(e[i].t->name) * 2 + 128;
            if (len + need >= cap) {
                cap = cap * 2 + need;
                buf = realloc(buf, cap);
            }
            make_key(e[i].t->name, key, sizeof key);
            len += (size_t)snprintf(buf + len, cap - len, "MINT_TENSORS += %s\n", key);
        }
        if (mint_write_file(mk, buf, len, &err) < 0) {
            free(buf);
            json_decref(doc);
            free(e);
            mint_st_model_release(&m);
            return mint_err_report("mint-index", &err);
        }
        free(buf);
    }
    {
        /* index.json, then its sidecar for mint-rd / mint-feature (srcidx.h), which records the
         * hash of exactly these bytes; both write-if-changed */
        char *text = mint_json_text(doc, MINT_JSON_FLAGS);
        int rc = text ? 0 : mint_err_setc(&err, MINT_EXIT_IO, "%s: cannot serialise", out);
        if (rc == 0)
            rc = mint_write_file(out, text, strlen(text), &err);
        if (rc == 0)
            rc = mint_srcidx_write(out, doc, text, strlen(text), &err);
        free(text);
        if (rc < 0) {
            json_decref(doc);
            free(e);
            mint_st_model_release(&m);
            return mint_err_report("mint-index", &err);
        }
    }
    if (!quiet)
        summary(&m, e, m.n_tensors, t0, bytes);
    json_decref(doc);
    free(e);
    mint_st_model_release(&m);
    return 0;
}
