/* mint-synth: write a synthetic model with the names, shapes, dtypes and sharding of a real LLM.
 *
 * usage: mint-synth --arch NAME -o DIR [--seed S] [--scale F] [--dtype bf16|f16|f32]
 *                   [--layers N] [--vocab N] [--shard-size SIZE] [--jobs N] [--force] [-q]
 *        mint-synth --arch NAME --list [same shape options]
 *
 * The generator and the layouts are described in stages/common/synth.c.  Output: config.json
 * (the real Hugging Face config, sizes adjusted by --scale/--layers/--vocab, plus a "_mint_synth"
 * provenance object), model.safetensors or model-0000k-of-0000n.safetensors +
 * model.safetensors.index.json (metadata.total_size, weight_map).  Streaming: memory is one row
 * block per job (4 MiB) plus the tensor table.  Atomic: written to DIR.tmp.<pid>, renamed.
 * --list prints "name<TAB>dtype<TAB>[shape]<TAB>file" per tensor in file order and writes
 * nothing.  --shard-size takes bytes or K/M/G/T (binary) suffixes; default 5G. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/err.h"
#include "mint/io.h"
#include "mint/synth.h"

static const char usage[] =
    "usage: mint-synth --arch NAME -o DIR [--seed S] [--scale F] [--dtype bf16|f16|f32]\n"
    "                  [--layers N] [--vocab N] [--shard-size SIZE] [--jobs N] [--force] [-q]\n"
    "       mint-synth --arch NAME --list [--scale F] [--dtype D] [--layers N] [--vocab N]\n"
    "                  [--shard-size SIZE]\n";

static void help(void)
{
    fputs(usage, stdout);
    fputs("\narchitectures:", stdout);
    for (int i = 0; mint_synth_arch_names[i]; i++)
        printf(" %s", mint_synth_arch_names[i]);
    fputs("\n\n"
          "  --seed S        PRNG seed (default 0); same seed, same bytes on any machine\n"
          "  --scale F       0 < F <= 1: hidden/intermediate sizes x F (multiples of 128), head\n"
          "                  counts follow; tensor names and counts unchanged\n"
          "  --layers N      keep the first N layers (a prefix of the full model)\n"
          "  --vocab N       vocabulary size (default: the architecture's)\n"
          "  --dtype D       bf16 (default), f16 or f32\n"
          "  --shard-size S  maximum shard file size, e.g. 5G (default), 500M\n"
          "  --jobs N        generator threads (default 1; output identical for any N)\n"
          "  --force         replace DIR if it exists and is not empty\n"
          "  --list          print the tensor table (name, dtype, shape, file); write nothing\n",
          stdout);
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    double v;
    uint64_t mul = 1;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || !(v > 0))
        return -1;
    switch (*end) {
    case 'k': case 'K': mul = 1ull << 10; end++; break;
    case 'm': case 'M': mul = 1ull << 20; end++; break;
    case 'g': case 'G': mul = 1ull << 30; end++; break;
    case 't': case 'T': mul = 1ull << 40; end++; break;
    default: break;
    }
    if (mul > 1 && *end == 'i')
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || v * (double)mul >= 18e18)
        return -1;
    *out = (uint64_t)(v * (double)mul);
    return *out ? 0 : -1;
}

static void human(double b, char *out, size_t cap)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024 && i < 4) {
        b /= 1024;
        i++;
    }
    snprintf(out, cap, i ? "%.2f %s" : "%.0f %s", b, u[i]);
}

static int bad(const char *flag, const char *val)
{
    fprintf(stderr, "mint-synth: %s '%s': invalid value\n", flag, val);
    fputs(usage, stderr);
    return MINT_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    struct mint_synth_opts o = {0};
    struct mint_synth_model m;
    struct mint_err err = {0};
    const char *out = NULL;
    int list = 0, force = 0, quiet = 0, c;
    int64_t jobs = 1;
    double t0;
    char hb[32];
    enum {
        O_ARCH = 256, O_SEED, O_SCALE, O_DTYPE, O_LAYERS, O_VOCAB, O_SHARD, O_JOBS, O_FORCE,
        O_LIST
    };
    static const struct option lo[] = {
        {"arch", required_argument, 0, O_ARCH},   {"seed", required_argument, 0, O_SEED},
        {"scale", required_argument, 0, O_SCALE}, {"dtype", required_argument, 0, O_DTYPE},
        {"layers", required_argument, 0, O_LAYERS}, {"vocab", required_argument, 0, O_VOCAB},
        {"shard-size", required_argument, 0, O_SHARD}, {"jobs", required_argument, 0, O_JOBS},
        {"force", no_argument, 0, O_FORCE},       {"list", no_argument, 0, O_LIST},
        {"dry-run", no_argument, 0, O_LIST},      {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};

    o.scale = 1.0;
    o.dtype = MINT_DT_BF16;
    while ((c = getopt_long(argc, argv, "o:qhj:", lo, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': help(); return 0;
        case O_ARCH: o.arch = optarg; break;
        case O_SEED: {
            char *end;
            errno = 0;
            o.seed = strtoull(optarg, &end, 0);
            if (errno || end == optarg || *end || optarg[0] == '-')
                return bad("--seed", optarg);
            break;
        }
        case O_SCALE: {
            char *end;
            errno = 0;
            o.scale = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(o.scale > 0 && o.scale <= 1))
                return bad("--scale", optarg);
            break;
        }
        case O_DTYPE:
            if (!strcmp(optarg, "bf16") || !strcmp(optarg, "BF16"))
                o.dtype = MINT_DT_BF16;
            else if (!strcmp(optarg, "f16") || !strcmp(optarg, "F16"))
                o.dtype = MINT_DT_F16;
            else if (!strcmp(optarg, "f32") || !strcmp(optarg, "F32"))
                o.dtype = MINT_DT_F32;
            else
                return bad("--dtype", optarg);
            break;
        case O_LAYERS:
            if (parse_i64(optarg, &o.layers) < 0 || o.layers < 1)
                return bad("--layers", optarg);
            break;
        case O_VOCAB:
            if (parse_i64(optarg, &o.vocab) < 0 || o.vocab < 1)
                return bad("--vocab", optarg);
            break;
        case O_SHARD:
            if (parse_size(optarg, &o.shard_size) < 0)
                return bad("--shard-size", optarg);
            break;
        case 'j':
        case O_JOBS:
            if (parse_i64(optarg, &jobs) < 0 || jobs < 1 || jobs > 64)
                return bad("--jobs", optarg);
            break;
        case O_FORCE: force = 1; break;
        case O_LIST: list = 1; break;
        default: fputs(usage, stderr); return MINT_EXIT_USAGE;
        }
    }
    if (optind != argc || !o.arch || (!out && !list)) {
        fputs(usage, stderr);
        return MINT_EXIT_USAGE;
    }
    if (mint_synth_model_init(&m, &o, &err) < 0) {
        if (err.code == MINT_EXIT_USAGE) {
            fprintf(stderr, "mint-synth: %s\n", err.msg);
            fputs(usage, stderr);
            return MINT_EXIT_USAGE;
        }
        return mint_err_report("mint-synth", &err);
    }
    if (list) {
        for (size_t i = 0; i < m.n; i++) {
            const struct mint_synth_tensor *t = &m.t[i];
            if (t->ndim == 1)
                printf("%s\t%s\t[%" PRId64 "]\t%s\n", t->name, mint_dtype_name(m.dtype),
                       t->shape[0], m.files[t->file]);
            else
                printf("%s\t%s\t[%" PRId64 ",%" PRId64 "]\t%s\n", t->name,
                       mint_dtype_name(m.dtype), t->shape[0], t->shape[1], m.files[t->file]);
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
            mint_synth_model_release(&m);
            fprintf(stderr, "mint-synth: stdout: write error\n");
            return MINT_EXIT_IO;
        }
        human((double)m.n_bytes, hb, sizeof hb);
        if (!quiet)
            fprintf(stderr, "mint-synth: %s: %zu tensors in %zu file%s, %" PRIu64 " params, %s\n",
                    m.arch, m.n, m.n_files, m.n_files == 1 ? "" : "s", m.n_params, hb);
        mint_synth_model_release(&m);
        return 0;
    }
    t0 = mint_now();
    if (mint_synth_write(&m, out, force, (int)jobs, &err) < 0) {
        mint_synth_model_release(&m);
        return mint_err_report("mint-synth", &err);
    }
    t0 = mint_now() - t0;
    if (!quiet) {
        human((double)m.n_bytes, hb, sizeof hb);
        fprintf(stderr,
                "mint-synth: %s: %s, %zu tensors in %zu file%s, %" PRIu64 " params, %s in "
                "%.2f s (%.0f MB/s), peak RSS %.1f MiB\n",
                out, m.arch, m.n, m.n_files, m.n_files == 1 ? "" : "s", m.n_params, hb, t0,
                t0 > 0 ? m.n_bytes / 1e6 / t0 : 0.0, mint_peak_rss() / 1048576.0);
    }
    mint_synth_model_release(&m);
    return 0;
}
