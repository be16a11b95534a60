/* bench-feature: ns per parameter of the mint-feature computation on BF16 matrices generated
 * in memory (default 4096x4096 and 12288x4096), next to a read-only pass over the same bytes.
 *
 * usage: bench-feature [ROWSxCOLS ...]
 *
 * Heavy-tailed weights: w = z * exp(0.75 z') (a log-normal scale mixture of Gaussians), with
 * one column in 64 scaled by 8 (outlier input channels), rounded to BF16.  Timed per matrix:
 * read (sum of the raw 16-bit words), hash (XXH3-128), convert (BF16 -> f32), kurtosis, noise
 * (MLX (4,64) quantize + 2 x 32-probe sgemm), rsvd (k = 256, p = 10, q = 2: six sgemm passes
 * with 266 columns plus QR), and total = hash + convert + all features, i.e. what mint-feature
 * does per tensor after opening the file.  Prints key=value lines; never pass/fail.
 * BLAS is pinned to one thread (OPENBLAS_NUM_THREADS=1 and openblas_set_num_threads(1)). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "mint/dtype.h"
#include "mint/err.h"
#include "mint/feat.h"
#include "mint/hash.h"
#include "mint/io.h"
#include "mint/rsvd.h"

static void cpu_name(char *out, size_t cap)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    snprintf(out, cap, "unknown");
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *p = strchr(line, ':');
            if (p) {
                p += 1 + (p[1] == ' ');
                p[strcspn(p, "\n")] = 0;
                snprintf(out, cap, "%s", p);
            }
            break;
        }
    fclose(f);
}

static uint16_t *make_bf16(int64_t rows, int64_t cols, uint64_t seed)
{
    struct mint_prng r;
    uint16_t *h = malloc((size_t)(rows * cols) * sizeof *h);
    mint_prng_seed(&r, seed);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            double z = mint_prng_normal(&r), s = exp(0.75 * mint_prng_normal(&r));
            double v = 0.02 * z * s * (j % 64 == 7 ? 8.0 : 1.0);
            h[i * cols + j] = mint_f32_to_bf16((float)v);
        }
    return h;
}

static void bench(int64_t rows, int64_t cols)
{
    const double np = (double)rows * (double)cols;
    uint16_t *h = make_bf16(rows, cols, 1);
    float *a = malloc((size_t)(rows * cols) * sizeof *a);
    float *z;
    struct mint_feat_opt o;
    struct mint_feat_kurt k;
    struct mint_feat_noise nz;
    struct mint_feat_slice sl;
    struct mint_prng r;
    struct mint_err err = {0};
    char hex[MINT_HASH_HEX];
    double t, t_read, t_hash, t_conv, t_kurt, t_noise, t_rsvd, t_total, sig[MINT_RSVD_RANK];
    uint64_t sum = 0;
    int exact;

    mint_feat_opt_default(&o);
    /* read-only pass: every 16-bit word summed (the floor for touching the bytes) */
    t = mint_now();
    for (int64_t i = 0; i < rows * cols; i++)
        sum += h[i];
    t_read = mint_now() - t;
    t = mint_now();
    mint_hash_hex(h, (size_t)(rows * cols) * 2, hex);
    t_hash = mint_now() - t;
    t = mint_now();
    mint_to_f32(MINT_DT_BF16, h, a, (size_t)(rows * cols));
    t_conv = mint_now() - t;

    t = mint_now();
    mint_feat_kurtosis(a, rows, cols, o.kurt_group, &k, &err);
    t_kurt = mint_now() - t;
    z = malloc((size_t)cols * (size_t)o.probes * sizeof *z);
    mint_prng_seed(&r, 2);
    mint_prng_normal_f32(&r, z, (size_t)cols * (size_t)o.probes);
    t = mint_now();
    mint_feat_noise(a, rows, cols, z, o.probes, NULL, MINT_DT_BF16, &nz, &err);
    t_noise = mint_now() - t;
    free(z);
    t = mint_now();
    if (mint_rsvd_values(a, rows, cols, &o.rsvd, &r, sig, &exact, &err) < 0)
        fprintf(stderr, "bench-feature: %s\n", err.msg);
    t_rsvd = mint_now() - t;

    /* the whole per-tensor computation, as mint-feature runs it */
    t = mint_now();
    mint_hash_hex(h, (size_t)(rows * cols) * 2, hex);
    mint_to_f32(MINT_DT_BF16, h, a, (size_t)(rows * cols));
    if (mint_feat_slice_run(a, rows, cols, 1, NULL, MINT_DT_BF16, &o,
                            mint_feat_seed(0, hex, 0), &sl, &err) < 0)
        fprintf(stderr, "bench-feature: %s\n", err.msg);
    t_total = mint_now() - t;

    printf("shape=%lldx%lld dtype=BF16 params=%.0f\n", (long long)rows, (long long)cols, np);
    printf("read_ns_per_param=%.3f\n", t_read / np * 1e9);
    printf("hash_ns_per_param=%.3f\n", t_hash / np * 1e9);
    printf("convert_ns_per_param=%.3f\n", t_conv / np * 1e9);
    printf("kurtosis_ns_per_param=%.3f\n", t_kurt / np * 1e9);
    printf("noise_ns_per_param=%.3f\n", t_noise / np * 1e9);
    printf("rsvd_ns_per_param=%.3f\n", t_rsvd / np * 1e9);
    printf("rsvd_gflops=%.1f\n", 2.0 * (2 * o.rsvd.q + 2) * np * (o.rsvd.k + o.rsvd.p) / t_rsvd / 1e9);
    printf("feature_ns_per_param=%.3f\n", t_total / np * 1e9);
    printf("feature_seconds=%.3f\n", t_total);
    printf("stable_rank=%.4f tail_mass=%.4f log_cond=%.4f kurt_p90=%.4f outlier_frac=%.3g "
           "noise_amp=%.4f\n",
           sl.spec.stable_rank, sl.spec.tail_mass, sl.spec.log_cond, sl.kurt.p90,
           sl.kurt.outlier_frac, sl.noise.amp);
    printf("peak_rss_mib=%.1f\n", (double)mint_peak_rss() / 1048576.0);
    printf("checksum=%llu\n", (unsigned long long)(sum & 0xffff));
    fflush(stdout);
    mint_feat_slice_release(&sl);
    free(a);
    free(h);
}

int main(int argc, char **argv)
{
    char cpu[256];
    const char *env = getenv("OPENBLAS_NUM_THREADS");
    mint_blas_single_thread();
    cpu_name(cpu, sizeof cpu);
    printf("bench=feature cpu=\"%s\" OPENBLAS_NUM_THREADS=%s blas_threads=1\n", cpu,
           env ? env : "unset");
#ifdef OPENBLAS_VERSION
    printf("openblas=\"%s\"\n", openblas_get_config());
#endif
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            long long r, c;
            if (sscanf(argv[i], "%lldx%lld", &r, &c) != 2 || r < 1 || c < 1) {
                fprintf(stderr, "usage: bench-feature [ROWSxCOLS ...]\n");
                return 2;
            }
            bench(r, c);
        }
    } else {
        bench(4096, 4096);
        bench(12288, 4096);
    }
    return 0;
}
