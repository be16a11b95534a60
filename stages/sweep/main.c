/* mint-sweep: one CSV row per budget of a sweep.
 *
 * usage: mint-sweep -o sweep.csv BUDGET=ALLOC_JSON:OUT_DIR ...
 *
 * Columns: budget, budget_bytes, total_bytes (tensor data chosen by solve), file_bytes (sum of
 * the model*.safetensors written by pack, headers included: the capped quantity), bpw (8 x
 * tensor bytes / parameters written), objective, bound, gap_rel, status, solver, loss, veto_db.
 * Rows keep the order of the arguments.  Written atomically, only when changed. */
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mint/err.h"
#include "mint/io.h"
#include "mint/json.h"

static const char usage[] = "usage: mint-sweep -o sweep.csv BUDGET=ALLOC_JSON:OUT_DIR ...\n";

static int file_bytes(const char *dir, uint64_t *out, struct mint_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    *out = 0;
    if (!d)
        return mint_err_set(err, "%s: cannot open directory", dir);
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (strncmp(de->d_name, "model", 5) || n < 12 || strcmp(de->d_name + n - 12, ".safetensors"))
            continue;
        char *p = mint_path_join(dir, de->d_name);
        struct stat sb;
        if (p && stat(p, &sb) == 0)
            *out += (uint64_t)sb.st_size;
        free(p);
    }
    closedir(d);
    return 0;
}

static double num(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : 0.0;
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    struct mint_err err = {0};
    int c;
    size_t cap = 4096, len = 0;
    char *buf;

    static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
        if (c == 'o')
            out = optarg;
        else if (c == 'h') {
            fputs(usage, stdout);
            return 0;
        } else {
            fputs(usage, stderr);
            return MINT_EXIT_USAGE;
        }
    }
    if (!out || optind >= argc) {
        fputs(usage, stderr);
        return MINT_EXIT_USAGE;
    }
    buf = malloc(cap);
    len = (size_t)snprintf(buf, cap,
                           "budget,budget_bytes,total_bytes,file_bytes,bpw,objective,bound,"
                           "gap_rel,status,solver,loss,veto_db\n");
    for (int i = optind; i < argc; i++) {
        char *arg = strdup(argv[i]), *eq = strchr(arg, '='), *colon;
        json_t *a, *t, *ts;
        uint64_t fb, params = 0, tb = 0;
        size_t k;
        if (!eq || !(colon = strchr(eq + 1, ':'))) {
            free(arg);
            fputs(usage, stderr);
            return MINT_EXIT_USAGE;
        }
        *eq = *colon = 0;
        a = mint_json_load(eq + 1, &err);
        if (!a || file_bytes(colon + 1, &fb, &err) < 0)
            return mint_err_report("mint-sweep", &err);
        ts = json_object_get(a, "tensors");
        json_array_foreach(ts, k, t) {
            int64_t b = json_integer_value(json_object_get(t, "bits"));
            int64_t g = json_integer_value(json_object_get(t, "group"));
            int64_t by = json_integer_value(json_object_get(t, "bytes"));
            if (by <= 0)
                continue;
            tb += (uint64_t)by;
            /* bytes = n*b/8 + 4n/g (quantized) or 2n (16-bit) */
            if (b == 16 || g == 0)
                params += (uint64_t)by / 2;
            else
                params += (uint64_t)((double)by / ((double)b / 8.0 + 4.0 / (double)g) + 0.5);
        }
        if (len + 1024 > cap)
            buf = realloc(buf, cap = cap * 2 + 1024);
        len += (size_t)snprintf(buf + len, cap - len,
                                "%s,%.0f,%" PRIu64 ",%" PRIu64 ",%.4f,%.9g,%.9g,%.3g,%s,%s,%s,%g\n",
                                arg, num(a, "budget_bytes"), tb, fb,
                                params ? 8.0 * (double)tb / (double)params : 0.0,
                                num(a, "objective"), num(a, "bound"), num(a, "gap_rel"),
                                str(a, "status"), str(a, "solver"), str(a, "loss"),
                                num(a, "veto_db"));
        json_decref(a);
        free(arg);
    }
    if (mint_write_file(out, buf, len, &err) < 0)
        return mint_err_report("mint-sweep", &err);
    fwrite(buf, 1, len, stderr);
    free(buf);
    return 0;
}
