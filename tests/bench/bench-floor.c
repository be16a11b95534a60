/* bench-floor: the floor a stage is compared with - one read-only pass over tensor bytes.
 *
 * usage: bench-floor MODEL_DIR [@LIST | TENSOR ...]
 *
 * Opens the model as every stage does (mint_st_model_open: headers checked, shards mapped
 * read-only), then reads every byte of the named tensors (all tensors without names; @LIST: a
 * file with one name per line), summing 64-bit words so the reads cannot be optimised away, and
 * dropping each 64 MiB chunk after use as the stages do.  One thread; the page cache is left as
 * it is (the stage measured next to it sees the same cache).  Prints key=value lines:
 *   floor_tensors= floor_params= floor_bytes= floor_seconds= floor_gbps= open_seconds=
 *   checksum= peak_rss_mib=
 * open_seconds (headers, mapping) is reported apart and not included in floor_seconds. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/err.h"
#include "mint/io.h"
#include "mint/st.h"

#define CHUNK (64u << 20)

static uint64_t sum_bytes(const unsigned char *p, size_t n)
{
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, w[4];
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        memcpy(w, p + i, 32);
        s0 += w[0];
        s1 += w[1];
        s2 += w[2];
        s3 += w[3];
    }
    for (; i < n; i++)
        s0 += p[i];
    return s0 + s1 + s2 + s3;
}

static int read_tensor(const struct mint_st_model *m, const struct mint_st_tensor *t,
                       uint64_t *sum)
{
    const struct mint_map *map = &m->files[t->file].map;
    size_t off = (size_t)t->offset, left = (size_t)t->nbytes;
    while (left) {
        size_t n = left > CHUNK ? CHUNK : left;
        mint_map_advise_seq(map, off, n);
        *sum += sum_bytes(map->data + off, n);
        mint_map_advise_done(map, off, n);
        off += n;
        left -= n;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct mint_st_model m;
    struct mint_err err = {0};
    uint64_t sum = 0, params = 0, bytes = 0, ntensors = 0;
    double t0, t_open, t_read;
    char **names = NULL;
    size_t nnames = 0;

    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs("usage: bench-floor MODEL_DIR [@LIST | TENSOR ...]\n", argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 2; i < argc; i++) {
        if (argv[i][0] == '@') {
            size_t len;
            char *buf = mint_read_file(argv[i] + 1, &len, &err), *line, *save = NULL;
            if (!buf)
                return mint_err_report("bench-floor", &err);
            for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                names = realloc(names, (nnames + 1) * sizeof *names);
                names[nnames++] = strdup(line);
            }
            free(buf);
        } else {
            names = realloc(names, (nnames + 1) * sizeof *names);
            names[nnames++] = strdup(argv[i]);
        }
    }
    t0 = mint_now();
    if (mint_st_model_open(&m, argv[1], &err) < 0)
        return mint_err_report("bench-floor", &err);
    t_open = mint_now() - t0;
    t0 = mint_now();
    if (argc == 2) {
        for (size_t i = 0; i < m.n_tensors; i++) {
            read_tensor(&m, m.tensors[i], &sum);
            params += m.tensors[i]->nelem;
            bytes += m.tensors[i]->nbytes;
            ntensors++;
        }
    } else {
        for (size_t i = 0; i < nnames; i++) {
            const struct mint_st_tensor *t = mint_st_model_find(&m, names[i]);
            if (!t) {
                fprintf(stderr, "bench-floor: %s: no tensor '%s'\n", argv[1], names[i]);
                mint_st_model_release(&m);
                return 1;
            }
            read_tensor(&m, t, &sum);
            params += t->nelem;
            bytes += t->nbytes;
            ntensors++;
        }
    }
    t_read = mint_now() - t0;
    printf("floor_tensors=%" PRIu64 " floor_params=%" PRIu64 " floor_bytes=%" PRIu64
           " floor_seconds=%.6f floor_gbps=%.3f open_seconds=%.6f checksum=%016" PRIx64
           " peak_rss_mib=%.1f\n",
           ntensors, params, bytes, t_read, t_read > 0 ? bytes / t_read / 1e9 : 0.0, t_open, sum,
           mint_peak_rss() / 1048576.0);
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    mint_st_model_release(&m);
    return 0;
}
