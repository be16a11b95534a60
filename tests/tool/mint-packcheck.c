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
 * DIR2/<name>.f32. */
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/err.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/pack.h"

static const char usage[] =
    "usage: mint-packcheck DIR [--index INDEX] [--budget BYTES] [--shard-size SIZE] "
    "[--dump NAME -o FILE] [--dump-dir DIR2] [-q]\n";

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
    int quiet = 0, c, rc;
    static const struct option lo[] = {{"index", required_argument, 0, 'i'},
                                       {"budget", required_argument, 0, 'b'},
                                       {"shard-size", required_argument, 0, 's'},
                                       {"dump", required_argument, 0, 'd'},
                                       {"dump-dir", required_argument, 0, 'D'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};

    while ((c = getopt_long(argc, argv, "o:qh", lo, NULL)) != -1) {
        switch (c) {
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
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return MINT_EXIT_USAGE;
        }
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
