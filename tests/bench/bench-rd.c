/* bench-rd: ns per parameter·configuration of the rd measurement on BF16 matrices generated
 * in memory (default 4096x4096 and 12288x4096), next to a read-only pass over the same bytes.
 *
 * usage: bench-rd [ROWSxCOLS ...]
 *
 * Heavy-tailed weights: w = 0.02 z exp(0.75 z') (a log-normal scale mixture of Gaussians),
 * one column in 64 scaled by 8 (outlier input channels), rounded to BF16.  Timed per matrix,
 * single thread, best of REPEATS runs (the machine may be shared: treat figures as noisy):
 *   read      sum of the BF16 values converted to float (inline, 8 double lanes): the floor
 *             for touching the bytes once
 *   rd        mint_rd_measure over the 14 default configurations (MLX quantizer, BF16 scales),
 *             i.e. BF16 -> f32 row conversion + all configurations, as mint-rd runs it after
 *             hashing; per kernel (avx2 where the CPU has it, scalar)
 *   hash      XXH3-128 of the bytes (mint-rd checks it once per tensor)
 * Prints key=value lines; never pass/fail. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/dtype.h"
#include "mint/err.h"
#include "mint/hash.h"
#include "mint/io.h"
#include "mint/quant.h"
#include "mint/rd.h"

#define REPEATS 3

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

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double normal(uint64_t *s)
{
    double u = ((double)(splitmix(s) >> 11) + 0.5) / 9007199254740992.0;
    double v = ((double)(splitmix(s) >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static uint16_t *make_bf16(int64_t rows, int64_t cols, uint64_t seed)
{
    uint16_t *h = malloc((size_t)(rows * cols) * sizeof *h);
    if (!h)
        return NULL;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            double z = normal(&seed), sc = exp(0.75 * normal(&seed));
            double v = 0.02 * z * sc * (j % 64 == 7 ? 8.0 : 1.0);
            h[i * cols + j] = mint_f32_to_bf16((float)v);
        }
    return h;
}

static inline float bf16(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static double read_pass(const uint16_t *h, size_t n)
{
    double acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++)
            acc[l] += (double)bf16(h[i + (size_t)l]);
    for (; i < n; i++)
        acc[0] += (double)bf16(h[i]);
    return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

/* best-of-REPEATS seconds of one rd pass with a kernel; -1 if the kernel is not available */
static double time_rd(const uint16_t *h, int64_t rows, int64_t cols, enum mint_rd_kernel k,
                      enum mint_rd_quantizer qz, struct mint_rd_result *res)
{
    struct mint_qcfg cfg[16];
    size_t n = mint_qcfg_default(cfg, 16);
    struct mint_rd_opts o = {qz, MINT_DT_BF16, MINT_DT_BF16, NULL, k};
    int64_t shape[2] = {rows, cols};
    double best = -1;
    for (int r = 0; r < REPEATS; r++) {
        struct mint_err err = {0};
        double t = mint_now();
        if (mint_rd_measure(h, MINT_DT_BF16, 2, shape, cfg, n, &o, NULL, NULL, res, &err) < 0) {
            mint_rd_result_release(res);
            return -1;
        }
        t = mint_now() - t;
        if (r + 1 < REPEATS)
            mint_rd_result_release(res);
        best = best < 0 || t < best ? t : best;
    }
    return best;
}

static void bench(int64_t rows, int64_t cols)
{
    const double np = (double)rows * (double)cols;
    const int ncfg = 14;
    uint16_t *h = make_bf16(rows, cols, 1);
    struct mint_rd_result res;
    char hex[MINT_HASH_HEX];
    double t, t_read = -1, t_hash = -1, sum = 0;

    if (!h) {
        fprintf(stderr, "bench-rd: out of memory\n");
        return;
    }
    for (int r = 0; r < REPEATS; r++) {
        t = mint_now();
        sum += read_pass(h, (size_t)(rows * cols));
        t = mint_now() - t;
        t_read = t_read < 0 || t < t_read ? t : t_read;
        t = mint_now();
        mint_hash_hex(h, (size_t)(rows * cols) * 2, hex);
        t = mint_now() - t;
        t_hash = t_hash < 0 || t < t_hash ? t : t_hash;
    }
    printf("shape=%lldx%lld dtype=BF16 params=%.0f configs=%d\n", (long long)rows,
           (long long)cols, np, ncfg);
    printf("read_ns_per_param=%.3f\n", t_read / np * 1e9);
    printf("hash_ns_per_param=%.3f\n", t_hash / np * 1e9);
    fflush(stdout);

    double t_auto = time_rd(h, rows, cols, MINT_RD_KERNEL_AUTO, MINT_RD_MLX, &res);
    int best = mint_rd_best(&res, 9.0);
    printf("rd_kernel=%s\n", mint_rd_kernel_name(res.kernel));
    printf("rd_seconds=%.4f\n", t_auto);
    printf("rd_ns_per_param=%.3f\n", t_auto / np * 1e9);
    printf("rd_ns_per_param_config=%.3f\n", t_auto / np / ncfg * 1e9);
    printf("rd_over_read=%.2f\n", t_auto / t_read);
    printf("rd_per_config_over_read=%.3f\n", t_auto / ncfg / t_read);
    if (best >= 0)
        printf("rd_cheapest_9db=%d:%d rd_cheapest_sqnr_db=%.3f\n", res.cfg[best].c.bits,
               res.cfg[best].c.group, res.cfg[best].m.sqnr_db);
    printf("rd_4_64_sqnr_db=%.3f\n", res.cfg[5].m.sqnr_db);
    mint_rd_result_release(&res);
    fflush(stdout);

    double t_mm = time_rd(h, rows, cols, MINT_RD_KERNEL_AUTO, MINT_RD_MINMAX, &res);
    mint_rd_result_release(&res);
    printf("rd_minmax_ns_per_param_config=%.3f\n", t_mm / np / ncfg * 1e9);
    fflush(stdout);
    double t_sc = time_rd(h, rows, cols, MINT_RD_KERNEL_SCALAR, MINT_RD_MLX, &res);
    mint_rd_result_release(&res);
    printf("rd_scalar_ns_per_param_config=%.3f\n", t_sc / np / ncfg * 1e9);
    printf("rd_scalar_over_read=%.2f\n", t_sc / t_read);
    printf("peak_rss_mib=%.1f\n", (double)mint_peak_rss() / 1048576.0);
    printf("checksum=%.6g\n", sum);
    fflush(stdout);
    free(h);
}

int main(int argc, char **argv)
{
    char cpu[256];
    const char *env = getenv("OPENBLAS_NUM_THREADS");
    cpu_name(cpu, sizeof cpu);
    printf("bench=rd cpu=\"%s\" threads=1 OPENBLAS_NUM_THREADS=%s repeats=%d statistic=min\n",
           cpu, env ? env : "unset", REPEATS);
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            long long r, c;
            if (sscanf(argv[i], "%lldx%lld", &r, &c) != 2 || r <= 0 || c <= 0) {
                fprintf(stderr, "usage: bench-rd [ROWSxCOLS ...]\n");
                return 2;
            }
            bench(r, c);
        }
        return 0;
    }
    bench(4096, 4096);
    bench(12288, 4096);
    return 0;
}
