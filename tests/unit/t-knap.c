/* t-knap: the MCKP solvers against brute force and a pseudo-polynomial DP oracle. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mint/err.h"
#include "mint/knap.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int64_t rint_(int64_t lo, int64_t hi) /* [lo, hi] */
{
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

static double runif(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

struct inst {
    size_t n;
    size_t off[257];
    int64_t w[256 * 16];
    double c[256 * 16];
};

static struct mint_knap view(const struct inst *I)
{
    struct mint_knap k = {I->n, I->off, I->w, I->c};
    return k;
}

/* Random instance; mode 0: arbitrary costs, 1: convex-ish curves, 2: many ties. */
static void gen(struct inst *I, size_t n, int maxopt, int64_t maxw, int mode)
{
    size_t m = 0;
    I->n = n;
    for (size_t i = 0; i < n; i++) {
        int k = (int)rint_(1, maxopt);
        int64_t w = rint_(0, maxw / 4);
        double base = 1 + 9 * runif();
        I->off[i] = m;
        for (int j = 0; j < k; j++) {
            I->w[m] = w;
            if (mode == 0)
                I->c[m] = (double)rint_(0, 20) + (rnd() % 3 ? 0.0 : runif());
            else if (mode == 1)
                I->c[m] = base * pow(0.5, j) * (0.8 + 0.4 * runif());
            else
                I->c[m] = (double)rint_(0, 4);
            m++;
            w += rint_(mode == 2 ? 0 : 1, maxw / 3 + 1);
        }
    }
    I->off[n] = m;
}

static int64_t sum_min(const struct inst *I)
{
    int64_t s = 0;
    for (size_t i = 0; i < I->n; i++)
        s += I->w[I->off[i]];
    return s;
}

static int64_t sum_max(const struct inst *I)
{
    int64_t s = 0;
    for (size_t i = 0; i < I->n; i++)
        s += I->w[I->off[i + 1] - 1];
    return s;
}

/* Exact oracle by DP over total weight (weights small). Returns INFINITY if infeasible. */
static double dp_oracle(const struct inst *I, int64_t cap)
{
    double *f, *g, best = INFINITY;
    if (cap < 0)
        return INFINITY;
    f = malloc((size_t)(cap + 1) * sizeof *f);
    g = malloc((size_t)(cap + 1) * sizeof *g);
    for (int64_t w = 0; w <= cap; w++)
        f[w] = w == 0 ? 0 : INFINITY;
    for (size_t i = 0; i < I->n; i++) {
        for (int64_t w = 0; w <= cap; w++) {
            double b = INFINITY;
            for (size_t j = I->off[i]; j < I->off[i + 1]; j++)
                if (I->w[j] <= w && f[w - I->w[j]] + I->c[j] < b)
                    b = f[w - I->w[j]] + I->c[j];
            g[w] = b;
        }
        memcpy(f, g, (size_t)(cap + 1) * sizeof *f);
    }
    for (int64_t w = 0; w <= cap; w++)
        if (f[w] < best)
            best = f[w];
    free(f);
    free(g);
    return best;
}

static double product(const struct inst *I)
{
    double p = 1;
    for (size_t i = 0; i < I->n; i++)
        p *= (double)(I->off[i + 1] - I->off[i]);
    return p;
}

static int64_t choice_weight(const struct inst *I, const int *ch)
{
    int64_t s = 0;
    for (size_t i = 0; i < I->n; i++)
        s += I->w[I->off[i] + (size_t)ch[i]];
    return s;
}

static void test_counterexample(void)
{
    /* algorithm.md §9.1: A (0 B, 10) | (10 B, 0); B (0 B, 2) | (1 B, 0); capacity 10 */
    struct inst I = {.n = 2, .off = {0, 2, 4}, .w = {0, 10, 0, 1}, .c = {10, 0, 2, 0}};
    struct mint_knap k = view(&I);
    struct mint_knap_result e, g;
    struct mint_err err = {0};
    double lp, lam;
    CHECK(mint_knap_exact(&k, 10, NULL, &e, &err) == 0);
    CHECK(mint_knap_greedy(&k, 10, &g, &err) == 0);
    CHECK(mint_knap_lp(&k, 10, &lp, &lam, &err) == 0);
    CHECK(e.status == MINT_KNAP_OPTIMAL);
    CHECK_NEAR(e.objective, 2, 0);
    CHECK(e.choice[0] == 1 && e.choice[1] == 0);
    CHECK_NEAR(g.objective, 10, 0);
    CHECK(g.choice[0] == 0 && g.choice[1] == 1);
    CHECK_NEAR(lp, 1, 1e-15);
    CHECK_NEAR(e.lp_bound, 1, 1e-15);
    CHECK_NEAR(g.lp_bound, 1, 1e-15);
    CHECK_NEAR(lam, 1, 0);
    CHECK_NEAR(e.bound, 2, 0);
    CHECK(g.status == MINT_KNAP_HEURISTIC);
    CHECK_STR(mint_knap_status_name(e.status), "optimal");
    mint_knap_result_release(&e);
    mint_knap_result_release(&g);
}

static void test_edges(void)
{
    struct mint_err err = {0};
    struct mint_knap_result r;
    /* no groups */
    struct mint_knap k0 = {0, (size_t[]){0}, NULL, NULL};
    CHECK(mint_knap_exact(&k0, 0, NULL, &r, &err) == 0);
    CHECK(r.status == MINT_KNAP_OPTIMAL && r.objective == 0);
    mint_knap_result_release(&r);
    CHECK(mint_knap_exact(&k0, -1, NULL, &r, &err) == 0);
    CHECK(r.status == MINT_KNAP_INFEASIBLE);
    mint_knap_result_release(&r);
    /* infeasible */
    {
        struct inst I = {.n = 2, .off = {0, 2, 4}, .w = {5, 10, 6, 7}, .c = {3, 1, 2, 0}};
        struct mint_knap k = view(&I);
        CHECK(mint_knap_exact(&k, 10, NULL, &r, &err) == 0);
        CHECK(r.status == MINT_KNAP_INFEASIBLE);
        mint_knap_result_release(&r);
        CHECK(mint_knap_greedy(&k, 10, &r, &err) == 0);
        CHECK(r.status == MINT_KNAP_INFEASIBLE);
        mint_knap_result_release(&r);
        CHECK(mint_knap_exact(&k, 11, NULL, &r, &err) == 0);
        CHECK(r.status == MINT_KNAP_OPTIMAL && r.objective == 5 && r.weight == 11);
        mint_knap_result_release(&r);
        CHECK(mint_knap_exact(&k, 17, NULL, &r, &err) == 0);
        CHECK(r.status == MINT_KNAP_OPTIMAL && r.objective == 1 && r.lambda == 0);
        mint_knap_result_release(&r);
    }
    /* bad instances */
    {
        struct inst I = {.n = 1, .off = {0, 2}, .w = {5, 4}, .c = {1, 0}};
        struct mint_knap k = view(&I);
        CHECK(mint_knap_exact(&k, 10, NULL, &r, &err) < 0);
        CHECK(strstr(err.msg, "byte order") != NULL);
        I.w[1] = 6;
        I.c[1] = NAN;
        CHECK(mint_knap_exact(&k, 10, NULL, &r, &err) < 0);
        CHECK(strstr(err.msg, "non-finite") != NULL);
        I.off[1] = 0;
        CHECK(mint_knap_exact(&k, 10, NULL, &r, &err) < 0);
        CHECK(strstr(err.msg, "no option") != NULL);
    }
    /* dominance with equal bytes: the cheaper of two equal-byte options wins */
    {
        struct inst I = {.n = 2, .off = {0, 3, 5}, .w = {1, 3, 3, 1, 2}, .c = {9, 5, 4, 3, 1}};
        struct mint_knap k = view(&I);
        CHECK(mint_knap_exact(&k, 5, NULL, &r, &err) == 0);
        CHECK(r.status == MINT_KNAP_OPTIMAL && r.objective == 5 && r.choice[0] == 2);
        mint_knap_result_release(&r);
    }
}

/* Limits: a state cap of 1 returns the incumbent with the LP bound. */
static void test_limit(void)
{
    struct inst *I = calloc(1, sizeof *I);
    struct mint_err err = {0};
    int hit = 0;
    for (int t = 0; t < 50; t++) {
        struct mint_knap k;
        struct mint_knap_result r, e;
        struct mint_knap_opts o = {0, 1};
        int64_t cap;
        gen(I, 40, 8, 200, 0);
        k = view(I);
        cap = (sum_min(I) + sum_max(I)) / 2;
        CHECK(mint_knap_exact(&k, cap, &o, &r, &err) == 0);
        CHECK(mint_knap_exact(&k, cap, NULL, &e, &err) == 0);
        CHECK(r.weight <= cap);
        CHECK(r.objective >= e.objective - 1e-9);
        CHECK(r.bound <= e.objective + 1e-9);
        if (r.status == MINT_KNAP_LIMIT) {
            hit++;
            CHECK(r.bound == fmin(r.objective, r.bound));
        }
        mint_knap_result_release(&r);
        mint_knap_result_release(&e);
    }
    CHECK(hit > 0);
    free(I);
}

int main(void)
{
    struct inst *I = calloc(1, sizeof *I);
    struct mint_err err = {0};
    int n_brute = 0, n_dp = 0, n_infeasible = 0, n_greedy_worse = 0, n_core = 0;

    test_counterexample();
    test_edges();
    test_limit();

    /* Acceptance: >= 1,000 random instances with <= 12 groups and <= 6 options. */
    for (int t = 0; t < 1500; t++) {
        size_t n = (size_t)rint_(1, 12);
        int mode = t % 3;
        struct mint_knap k;
        struct mint_knap_result e, g, b;
        int64_t lo, hi, cap;
        double oracle;
        gen(I, n, 6, 30, mode);
        k = view(I);
        lo = sum_min(I);
        hi = sum_max(I);
        cap = rint_(lo - 3, hi + 3);
        CHECK(mint_knap_exact(&k, cap, NULL, &e, &err) == 0);
        CHECK(mint_knap_greedy(&k, cap, &g, &err) == 0);
        oracle = dp_oracle(I, cap);
        n_dp++;
        if (isinf(oracle)) {
            n_infeasible++;
            CHECK(e.status == MINT_KNAP_INFEASIBLE);
            CHECK(g.status == MINT_KNAP_INFEASIBLE);
        } else {
            CHECK_MSG(e.status == MINT_KNAP_OPTIMAL, "instance %d", t);
            CHECK_MSG(fabs(e.objective - oracle) <= 1e-9 * fmax(1, fabs(oracle)),
                      "instance %d: exact %.17g oracle %.17g", t, e.objective, oracle);
            CHECK(e.weight <= cap && choice_weight(I, e.choice) == e.weight);
            CHECK(g.weight <= cap && choice_weight(I, g.choice) == g.weight);
            CHECK(e.bound <= e.objective && e.lp_bound <= e.objective + 1e-9);
            CHECK(g.objective >= e.objective - 1e-9);
            CHECK(g.lp_bound <= e.objective + 1e-9);
            n_greedy_worse += g.objective > e.objective + 1e-9;
            n_core += e.core_groups > 0;
            if (product(I) <= 20000) {
                CHECK(mint_knap_brute(&k, cap, &b, &err) == 0);
                CHECK_MSG(fabs(e.objective - b.objective) <= 1e-9 * fmax(1, fabs(b.objective)),
                          "instance %d: exact %.17g brute %.17g", t, e.objective, b.objective);
                CHECK(b.weight <= cap);
                mint_knap_result_release(&b);
                n_brute++;
            }
        }
        /* determinism: the same instance gives the same choice */
        {
            struct mint_knap_result e2;
            CHECK(mint_knap_exact(&k, cap, NULL, &e2, &err) == 0);
            CHECK(memcmp(e.choice, e2.choice, n * sizeof *e.choice) == 0);
            mint_knap_result_release(&e2);
        }
        mint_knap_result_release(&e);
        mint_knap_result_release(&g);
    }
    /* Larger instances: bigger cores for the DP, against the oracle. */
    for (int t = 0; t < 60; t++) {
        struct mint_knap k;
        struct mint_knap_result e, g;
        int64_t cap;
        double oracle;
        gen(I, 50, 10, 120, t % 3);
        k = view(I);
        cap = rint_(sum_min(I), sum_max(I));
        CHECK(mint_knap_exact(&k, cap, NULL, &e, &err) == 0);
        CHECK(mint_knap_greedy(&k, cap, &g, &err) == 0);
        oracle = dp_oracle(I, cap);
        CHECK_MSG(fabs(e.objective - oracle) <= 1e-9 * fmax(1, fabs(oracle)),
                  "large %d: exact %.17g oracle %.17g (core %zu)", t, e.objective, oracle,
                  e.core_groups);
        CHECK(e.weight <= cap && e.status == MINT_KNAP_OPTIMAL);
        CHECK(g.objective >= e.objective - 1e-9);
        mint_knap_result_release(&e);
        mint_knap_result_release(&g);
    }
    printf("instances: %d vs dp oracle, %d vs brute force, %d infeasible, greedy worse in %d, "
           "core search in %d\n",
           n_dp, n_brute, n_infeasible, n_greedy_worse, n_core);
    CHECK(n_dp >= 1000 && n_brute >= 500);
    free(I);
    return CHECK_DONE();
}
