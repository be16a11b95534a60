/* bench-solve: exact vs greedy MCKP on a realistic synthetic allocation problem.
 *
 * 20,000 groups x 14 options (the default configuration set of algorithm.md §4, 16-bit
 * included), RD curves from the §2.4 Gaussian reference NRMSEs times a per-tensor scale
 * (lognormal), 2% per-option noise, and 3% of the groups made non-convex (one mid option
 * worsened).  Group sizes 0.5M..64M parameters.  Priors 3 / 2 / 1 (first / last layer / other).
 * For several budgets (bits per weight over all parameters) it prints key=value lines: exact
 * time (best of R runs), gap, core size, states; greedy time, objective and the objective greedy
 * leaves on the table relative to the optimum.  Timings are wall-clock on this machine; run with
 * OPENBLAS_NUM_THREADS=1 (BLAS is not used) on an otherwise idle core for stable numbers.
 *
 * --shapes draws the group sizes from 6 fixed shapes instead (many equal byte counts, as in a
 * real MoE model).
 *
 * usage: bench-solve [GROUPS] [REPEATS] [--weight params] [--shapes] [--exact-only] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/err.h"
#include "mint/io.h"
#include "mint/knap.h"

#define NOPT 14

static const struct {
    int bits, group;
    double nrmse;
} cfg[NOPT] = {
    {2, 64, 0.395},  {2, 32, 0.363},  {3, 64, 0.191},  {3, 32, 0.171}, {4, 128, 0.101},
    {4, 64, 0.091},  {4, 32, 0.081},  {5, 64, 0.044},  {5, 32, 0.039}, {6, 64, 0.022},
    {6, 32, 0.020},  {8, 128, 0.0078}, {8, 64, 0.0073}, {16, 0, 0.0},
};

static uint64_t rng_state = 12345;

static double runif(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static double rnorm(void)
{
    return sqrt(-2 * log(runif())) * cos(6.283185307179586 * runif());
}

static uint64_t bytes_of(uint64_t n, int bits, int group)
{
    return bits == 16 ? 2 * n : n * (uint64_t)bits / 8 + 4 * n / (uint64_t)group;
}

int main(int argc, char **argv)
{
    size_t n = 20000;
    int reps = 5, wparams = 0, greedy = 1, shapes = 0;
    size_t *off;
    int64_t *w;
    double *c, nbar = 0;
    uint64_t *params, total_params = 0;
    struct mint_err err = {0};
    static const double bpw[] = {3.0, 3.5, 4.0, 4.25, 4.5, 5.0, 6.0, 8.0, 12.0};

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--shapes")) {
            shapes = 1;
        } else if (!strcmp(argv[i], "--exact-only")) {
            greedy = 0;
        } else if (!strcmp(argv[i], "--weight") && i + 1 < argc && !strcmp(argv[i + 1], "params")) {
            wparams = 1;
            i++;
        } else if (i == 1) {
            n = (size_t)strtoul(argv[i], NULL, 10);
        } else {
            reps = atoi(argv[i]);
        }
    }
    {
        /* the machine, as benchmarks must say */
        char line[256], cpu[256] = "unknown";
        FILE *f = fopen("/proc/cpuinfo", "r");
        while (f && fgets(line, sizeof line, f))
            if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
                snprintf(cpu, sizeof cpu, "%s", strchr(line, ':') + 2);
                cpu[strcspn(cpu, "\n")] = 0;
                break;
            }
        if (f)
            fclose(f);
        printf("machine cpu=\"%s\" openblas_num_threads=%s (BLAS unused) "
               "timing=best-of-repeats wall clock\n",
               cpu, getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "unset");
    }
    off = malloc((n + 1) * sizeof *off);
    w = malloc(n * NOPT * sizeof *w);
    c = malloc(n * NOPT * sizeof *c);
    params = malloc(n * sizeof *params);
    for (size_t i = 0; i < n; i++) {
        params[i] = (uint64_t)(4096 * (128 + (int)(runif() * 16) * 1024 * (runif() < 0.5 ? 1 : 0) +
                                       (int)(runif() * 4096)));
        if (shapes) {
            /* a real model: a few distinct shapes repeated (MoE experts, per-layer tensors) */
            static const uint64_t sh[] = {2048 * 768, 768 * 2048, 2048 * 512, 2048 * 4096,
                                          4096 * 2048, 512 * 2048};
            params[i] = sh[(size_t)(runif() * 6)];
        }
        total_params += params[i];
    }
    nbar = (double)total_params / (double)n;
    for (size_t i = 0; i < n; i++) {
        double scale = exp(0.25 * rnorm());
        double prior = i < n / 48 ? 3.0 : i >= n - n / 48 ? 2.0 : 1.0;
        int nonconvex = runif() < 0.03;
        double alpha = wparams ? (double)params[i] / nbar : 1.0;
        off[i] = i * NOPT;
        for (int j = 0; j < NOPT; j++) {
            double d = cfg[j].nrmse * scale * (1 + 0.02 * rnorm());
            if (cfg[j].bits == 16)
                d = 0.0017 * scale; /* F32 source rounded to BF16 */
            if (nonconvex && j >= 3 && j <= 9 && runif() < 0.3)
                d *= 1.6;
            w[i * NOPT + j] = (int64_t)bytes_of(params[i], cfg[j].bits, cfg[j].group);
            c[i * NOPT + j] = prior * alpha * d;
        }
    }
    off[n] = n * NOPT;
    {
        struct mint_knap k = {n, off, w, c};
        int64_t minw = 0, maxw = 0;
        for (size_t i = 0; i < n; i++) {
            minw += w[i * NOPT];
            maxw += w[i * NOPT + NOPT - 1];
        }
        printf("groups=%zu options=%d params=%llu weight=%s sizes=%s min_bytes=%lld "
               "max_bytes=%lld repeats=%d\n",
               n, NOPT, (unsigned long long)total_params, wparams ? "params" : "none",
               shapes ? "6-shapes" : "spread",
               (long long)minw, (long long)maxw, reps);
        for (size_t b = 0; b < sizeof bpw / sizeof *bpw; b++) {
            int64_t cap = (int64_t)(bpw[b] * (double)total_params / 8);
            struct mint_knap_result e, g;
            double te = INFINITY, tg = INFINITY;
            for (int r = 0; r < reps; r++) {
                double t0 = mint_now();
                if (mint_knap_exact(&k, cap, NULL, &e, &err) < 0) {
                    fprintf(stderr, "bench-solve: %s\n", err.msg);
                    return 1;
                }
                t0 = mint_now() - t0;
                if (t0 < te)
                    te = t0;
                if (r + 1 < reps)
                    mint_knap_result_release(&e);
            }
            for (int r = 0; r < (!greedy ? 1 : reps > 2 ? 2 : reps); r++) {
                double t0 = mint_now();
                if ((greedy ? mint_knap_greedy(&k, cap, &g, &err)
                            : mint_knap_exact(&k, cap, NULL, &g, &err)) < 0) {
                    fprintf(stderr, "bench-solve: %s\n", err.msg);
                    return 1;
                }
                t0 = mint_now() - t0;
                if (t0 < tg)
                    tg = t0;
                if (r + 1 < (!greedy ? 1 : reps > 2 ? 2 : reps))
                    mint_knap_result_release(&g);
            }
            printf("bpw=%.2f budget=%lld status=%s exact_ms=%.3f objective=%.10g bound=%.10g "
                   "lp_bound=%.10g gap_rel=%.3g core_groups=%zu max_states=%llu states=%llu "
                   "incumbent_rel=%.3g greedy_ms=%.3f greedy_objective=%.10g "
                   "greedy_left_rel=%.4g greedy_gap_lp_rel=%.4g exact_bytes=%lld greedy_bytes=%lld\n",
                   bpw[b], (long long)cap, mint_knap_status_name(e.status), te * 1e3, e.objective,
                   e.bound, e.lp_bound, (e.objective - e.bound) / fmax(fabs(e.objective), 1e-300),
                   e.core_groups, (unsigned long long)e.max_states,
                   (unsigned long long)e.states,
                   (e.ub_initial - e.objective) / fmax(fabs(e.objective), 1e-300), tg * 1e3,
                   g.objective, (g.objective - e.objective) / fmax(fabs(e.objective), 1e-300),
                   (g.objective - e.lp_bound) / fmax(fabs(g.objective), 1e-300),
                   (long long)e.weight, (long long)g.weight);
            fflush(stdout);
            mint_knap_result_release(&e);
            mint_knap_result_release(&g);
        }
    }
    free(off);
    free(w);
    free(c);
    free(params);
    return 0;
}
