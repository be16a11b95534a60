/* knap.c - MCKP solvers (algorithm.md §9).
 *
 * exact: §9.2 steps 1-7.  The LP critical segment is found by a weighted quickselect over the
 * hull segments in the total order (e desc, group asc, segment asc): the result is the one the
 * sort of step 3 defines, in expected linear time.  Step 4 fills the LP's leftover with the
 * best-ratio single upgrade (ties: group, then option) until none fits.
 *
 * Step 6, decisions of this implementation (they change speed, never the optimum):
 * - Core groups are searched closest-first: by the distance between lambda* and the nearest
 *   upgrade/downgrade ratio among the group's surviving options (ties: group order), not by
 *   decreasing reduced-cost spread as §9.2 suggests.  On the 20,000 x 14 benchmark the spread
 *   order generates 10-20x more states; closest-first finds the optimum in the first layers.
 * - A state is pruned by the §9.2 test cost + lambda (W - C) + Σ later m_u >= UB - eps and by a
 *   tighter one: the LP of the later groups is convex in their capacity, equals Σ c at their
 *   lambda-best options at that options' bytes, and rises at least at the cheapest downgrade
 *   ratio to the left / falls at most at the best upgrade ratio to the right.
 * - Every new state is completed with the later groups at their lambda-best options; a feasible
 *   completion below UB becomes the incumbent at once, so pruning tightens during the search.
 * - Layers are k-way merges of the option-shifted state lists, ordered by (W asc, cost asc,
 *   option asc, parent asc); a state survives only with cost strictly below every state of
 *   smaller W, so of equal pairs the first merged is kept.
 *
 * Precision: costs are doubles, bytes int64.  "Optimal" means no solution is cheaper than the
 * returned one by more than eps = 1e-12 * max(1, |UB|) (the pruning tolerance of steps 5-6). */
#include "mint/knap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mint/err.h"
#include "mint/io.h"

#define EPS_REL 1e-12

void mint_knap_result_release(struct mint_knap_result *r)
{
    free(r->choice);
    r->choice = NULL;
}

const char *mint_knap_status_name(int status)
{
    switch (status) {
    case MINT_KNAP_OPTIMAL: return "optimal";
    case MINT_KNAP_LIMIT: return "limit";
    case MINT_KNAP_HEURISTIC: return "heuristic";
    case MINT_KNAP_INFEASIBLE: return "infeasible";
    }
    return "unknown";
}

int mint_knap_check(const struct mint_knap *k, struct mint_err *err)
{
    int64_t total = 0;
    if (k->n && (!k->off || !k->w || !k->c))
        return mint_err_set(err, "knapsack: missing arrays");
    for (size_t i = 0; i < k->n; i++) {
        int64_t mx = 0;
        if (k->off[i + 1] <= k->off[i])
            return mint_err_set(err, "knapsack: group %zu has no option", i);
        if (k->off[i + 1] - k->off[i] > 65535)
            return mint_err_set(err, "knapsack: group %zu has too many options", i);
        for (size_t j = k->off[i]; j < k->off[i + 1]; j++) {
            if (k->w[j] < 0 || k->w[j] > (INT64_C(1) << 61))
                return mint_err_set(err, "knapsack: group %zu option %zu: bad bytes", i,
                                    j - k->off[i]);
            if (!isfinite(k->c[j]))
                return mint_err_set(err, "knapsack: group %zu option %zu: non-finite cost", i,
                                    j - k->off[i]);
            if (j > k->off[i] && k->w[j] < k->w[j - 1])
                return mint_err_set(err, "knapsack: group %zu: options not in byte order", i);
            if (k->w[j] > mx)
                mx = k->w[j];
        }
        total += mx;
        if (total > (INT64_C(1) << 62))
            return mint_err_set(err, "knapsack: total bytes exceed 2^62");
    }
    return 0;
}

static int result_init(struct mint_knap_result *r, size_t n, struct mint_err *err)
{
    memset(r, 0, sizeof *r);
    r->choice = calloc(n ? n : 1, sizeof *r->choice);
    if (!r->choice)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    return 0;
}

/* Objective and weight of a choice, summed in group order. */
static void evaluate(const struct mint_knap *k, struct mint_knap_result *r)
{
    double obj = 0;
    int64_t w = 0;
    for (size_t i = 0; i < k->n; i++) {
        obj += k->c[k->off[i] + (size_t)r->choice[i]];
        w += k->w[k->off[i] + (size_t)r->choice[i]];
    }
    r->objective = obj;
    r->weight = w;
}

/* ---------------------------------------------------------------- steps 1-3 */

struct seg {
    double e;     /* Δc / Δw, > 0 */
    double dc;
    int64_t dw;
    uint32_t g;   /* group */
    uint32_t s;   /* segment index within the group's hull */
};

struct ctx {
    const struct mint_knap *k;
    size_t n;
    /* step 1: dominance-filtered options, w strictly up, c strictly down */
    size_t *doff;   /* (n + 1) */
    int *didx;      /* original option index within the group */
    int64_t *dw;
    double *dc;
    /* step 2: hull vertices as dominance-local indices */
    size_t *hoff;   /* (n + 1) */
    int *hv;
    /* step 3 */
    struct seg *seg;
    size_t nseg;
    int *pos;       /* (n) dominance-local index of the LP's integer part */
    int has_crit;
    struct seg crit;
    double lp, lambda;
    int64_t cap;
};

static void ctx_release(struct ctx *x)
{
    free(x->doff);
    free(x->didx);
    free(x->dw);
    free(x->dc);
    free(x->hoff);
    free(x->hv);
    free(x->seg);
    free(x->pos);
    memset(x, 0, sizeof *x);
}

static int seg_before(const struct seg *a, const struct seg *b)
{
    if (a->e != b->e)
        return a->e > b->e;
    if (a->g != b->g)
        return a->g < b->g;
    return a->s < b->s;
}

static void seg_swap(struct seg *a, struct seg *b)
{
    struct seg t = *a;
    *a = *b;
    *b = t;
}

/* Steps 1-2. */
static int build(struct ctx *x, const struct mint_knap *k, struct mint_err *err)
{
    size_t m = k->n ? k->off[k->n] : 0, nd = 0, nh = 0;
    memset(x, 0, sizeof *x);
    x->k = k;
    x->n = k->n;
    x->doff = malloc((k->n + 1) * sizeof *x->doff);
    x->didx = malloc((m ? m : 1) * sizeof *x->didx);
    x->dw = malloc((m ? m : 1) * sizeof *x->dw);
    x->dc = malloc((m ? m : 1) * sizeof *x->dc);
    x->hoff = malloc((k->n + 1) * sizeof *x->hoff);
    x->hv = malloc((m ? m : 1) * sizeof *x->hv);
    x->seg = malloc((m ? m : 1) * sizeof *x->seg);
    x->pos = malloc((k->n ? k->n : 1) * sizeof *x->pos);
    if (!x->doff || !x->didx || !x->dw || !x->dc || !x->hoff || !x->hv || !x->seg || !x->pos) {
        ctx_release(x);
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    }
    for (size_t i = 0; i < k->n; i++) {
        size_t start = nd;
        x->doff[i] = nd;
        for (size_t j = k->off[i]; j < k->off[i + 1]; j++) {
            if (nd > start && !(k->c[j] < x->dc[nd - 1]))
                continue; /* dominated by a lighter-or-equal, cheaper-or-equal option */
            if (nd > start && x->dw[nd - 1] == k->w[j])
                nd--;     /* same bytes, strictly cheaper: replaces the previous one */
            x->didx[nd] = (int)(j - k->off[i]);
            x->dw[nd] = k->w[j];
            x->dc[nd] = k->c[j];
            nd++;
        }
        /* lower convex hull: e strictly decreasing along it (computed e, as sorted later) */
        x->hoff[i] = nh;
        for (size_t j = start; j < nd; j++) {
            while (nh - x->hoff[i] >= 2) {
                size_t a = start + (size_t)x->hv[nh - 2], b = start + (size_t)x->hv[nh - 1];
                double eab = (x->dc[a] - x->dc[b]) / (double)(x->dw[b] - x->dw[a]);
                double ebj = (x->dc[b] - x->dc[j]) / (double)(x->dw[j] - x->dw[b]);
                if (eab > ebj)
                    break;
                nh--;
            }
            x->hv[nh++] = (int)(j - start);
        }
    }
    x->doff[k->n] = nd;
    x->hoff[k->n] = nh;
    return 0;
}

/* Step 3.  Returns 1 if infeasible. */
static int lp_solve(struct ctx *x, int64_t cap)
{
    const size_t n = x->n;
    int64_t R = cap;
    size_t ns = 0, lo, hi;
    int found = 0;

    x->cap = cap;
    for (size_t i = 0; i < n; i++)
        R -= x->dw[x->doff[i]];
    if (R < 0)
        return 1;
    for (size_t i = 0; i < n; i++) {
        const size_t d0 = x->doff[i];
        for (size_t h = x->hoff[i] + 1; h < x->hoff[i + 1]; h++) {
            size_t a = d0 + (size_t)x->hv[h - 1], b = d0 + (size_t)x->hv[h];
            struct seg *s = &x->seg[ns++];
            s->dw = x->dw[b] - x->dw[a];
            s->dc = x->dc[a] - x->dc[b];
            s->e = s->dc / (double)s->dw;
            s->g = (uint32_t)i;
            s->s = (uint32_t)(h - x->hoff[i] - 1);
        }
    }
    x->nseg = ns;
    /* weighted quickselect: positions [0, p) end up holding exactly the segments before the
     * critical one in the total order */
    lo = 0;
    hi = ns;
    while (lo < hi) {
        struct seg *a = x->seg;
        size_t mid = lo + (hi - lo) / 2, last = hi - 1, st = lo;
        int64_t sum = 0;
        /* median of three into position last */
        if (seg_before(&a[mid], &a[lo]))
            seg_swap(&a[mid], &a[lo]);
        if (seg_before(&a[last], &a[lo]))
            seg_swap(&a[last], &a[lo]);
        if (seg_before(&a[mid], &a[last]))
            seg_swap(&a[mid], &a[last]);
        for (size_t j = lo; j < last; j++)
            if (seg_before(&a[j], &a[last])) {
                seg_swap(&a[j], &a[st]);
                sum += a[st].dw;
                st++;
            }
        seg_swap(&a[st], &a[last]); /* pivot at st; [lo, st) before it, (st, hi) after */
        if (sum > R) {
            hi = st;
        } else if (sum + a[st].dw > R) {
            R -= sum;
            x->crit = a[st];
            x->nseg = st; /* the taken prefix */
            found = 1;
            break;
        } else {
            R -= sum + a[st].dw;
            lo = st + 1;
        }
    }
    x->has_crit = found;
    for (size_t i = 0; i < n; i++)
        x->pos[i] = found ? 0 : x->hv[x->hoff[i + 1] - 1];
    if (found) {
        /* the taken segments of a group are a prefix of its hull */
        int *cnt = x->pos;
        for (size_t j = 0; j < x->nseg; j++)
            cnt[x->seg[j].g]++;
        for (size_t i = 0; i < n; i++)
            x->pos[i] = x->hv[x->hoff[i] + (size_t)cnt[i]];
    }
    {
        double cost = 0;
        int64_t used = 0;
        for (size_t i = 0; i < n; i++) {
            cost += x->dc[x->doff[i] + (size_t)x->pos[i]];
            used += x->dw[x->doff[i] + (size_t)x->pos[i]];
        }
        if (found) {
            x->lp = cost - x->crit.dc * (double)(cap - used) / (double)x->crit.dw;
            x->lambda = x->crit.e;
        } else {
            x->lp = cost;
            x->lambda = 0;
        }
    }
    return 0;
}

int mint_knap_lp(const struct mint_knap *k, int64_t cap, double *lp, double *lambda,
                 struct mint_err *err)
{
    struct ctx x;
    int rc;
    if (mint_knap_check(k, err) < 0 || build(&x, k, err) < 0)
        return -1;
    rc = lp_solve(&x, cap);
    *lp = x.lp;
    *lambda = x.lambda;
    ctx_release(&x);
    return rc;
}

/* ---------------------------------------------------------------- step 4 */

struct cand {
    double ratio;
    int64_t dw;
    uint32_t g;
    uint32_t j;       /* dominance-local target */
    uint32_t ver;
};

static int cand_above(const struct cand *a, const struct cand *b)
{
    if (a->ratio != b->ratio)
        return a->ratio > b->ratio;
    if (a->g != b->g)
        return a->g < b->g;
    return a->j < b->j;
}

struct candlist {
    struct cand *a;
    size_t n, cap;
};

static int cand_push(struct candlist *h, struct cand c)
{
    if (h->n == h->cap) {
        size_t nc = h->cap ? 2 * h->cap : 1024;
        struct cand *na = realloc(h->a, nc * sizeof *na);
        if (!na)
            return -1;
        h->a = na;
        h->cap = nc;
    }
    h->a[h->n++] = c;
    return 0;
}

static int push_group(struct candlist *h, const struct ctx *x, uint32_t g, int cur, int64_t R,
                      uint32_t ver)
{
    const size_t d0 = x->doff[g], d1 = x->doff[g + 1];
    for (size_t j = d0 + (size_t)cur + 1; j < d1; j++) {
        struct cand c;
        c.dw = x->dw[j] - x->dw[d0 + (size_t)cur];
        if (c.dw > R)
            break; /* w increases along the dominance list */
        c.ratio = (x->dc[d0 + (size_t)cur] - x->dc[j]) / (double)c.dw;
        c.g = g;
        c.j = (uint32_t)(j - d0);
        c.ver = ver;
        if (cand_push(h, c) < 0)
            return -1;
    }
    return 0;
}

/* Integer part of the LP, then the best-ratio single upgrade that fits, repeatedly.  Only a
 * handful of upgrades ever fit the LP's leftover, so each round scans the candidate list once,
 * dropping candidates that no longer fit (R only shrinks) or whose group has moved. */
static int incumbent(const struct ctx *x, int *cur, struct mint_err *err)
{
    struct candlist h = {0};
    uint32_t *ver = calloc(x->n ? x->n : 1, sizeof *ver);
    int64_t R = x->cap;
    if (!ver)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    for (size_t i = 0; i < x->n; i++) {
        cur[i] = x->pos[i];
        R -= x->dw[x->doff[i] + (size_t)cur[i]];
    }
    for (size_t i = 0; i < x->n; i++)
        if (push_group(&h, x, (uint32_t)i, cur[i], R, 0) < 0)
            goto oom;
    for (;;) {
        size_t keep = 0, best = SIZE_MAX;
        for (size_t t = 0; t < h.n; t++) {
            const struct cand *c = &h.a[t];
            if (c->ver != ver[c->g] || c->dw > R)
                continue;
            h.a[keep] = *c;
            if (best == SIZE_MAX || cand_above(&h.a[keep], &h.a[best]))
                best = keep;
            keep++;
        }
        h.n = keep;
        if (best == SIZE_MAX)
            break;
        {
            struct cand c = h.a[best];
            R -= c.dw;
            cur[c.g] = (int)c.j;
            ver[c.g]++;
            if (push_group(&h, x, c.g, cur[c.g], R, ver[c.g]) < 0)
                goto oom;
        }
    }
    free(h.a);
    free(ver);
    return 0;
oom:
    free(h.a);
    free(ver);
    return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
}

/* ---------------------------------------------------------------- steps 5-7 */

struct core_group {
    uint32_t g;
    double close;     /* ordering key: distance of its nearest ratio to lambda */
    double m;         /* min r over survivors */
    uint16_t nopt;
    uint16_t *opt;    /* dominance-local survivors, w ascending */
};

static int core_cmp(const void *pa, const void *pb)
{
    const struct core_group *a = pa, *b = pb;
    if (a->close != b->close)
        return a->close < b->close ? -1 : 1;
    return a->g < b->g ? -1 : a->g > b->g;
}

struct dp {
    /* current and next layer */
    int64_t *W, *W2;
    double *C, *C2;
    size_t n, cap;
    /* all layers' back pointers */
    uint32_t *parent;
    uint16_t *opt;
    size_t total, tcap;
    size_t *layer_off;
};

/* Resize the array whose pointer is at *arrp to n elements of elem bytes; -1 leaves it. */
static int grow_array(void *arrp, size_t n, size_t elem)
{
    void *old, *p;
    memcpy(&old, arrp, sizeof old);
    if (!(p = realloc(old, n * elem)))
        return -1;
    memcpy(arrp, &p, sizeof p);
    return 0;
}

static int dp_reserve_layer(struct dp *d, size_t need)
{
    if (need > d->cap) {
        size_t nc = d->cap ? d->cap : 1024;
        while (nc < need)
            nc *= 2;
        if (grow_array(&d->W2, nc, sizeof *d->W2) < 0 ||
            grow_array(&d->C2, nc, sizeof *d->C2) < 0 ||
            grow_array(&d->W, nc, sizeof *d->W) < 0 || grow_array(&d->C, nc, sizeof *d->C) < 0)
            return -1;
        d->cap = nc;
    }
    return 0;
}

static int dp_push_back(struct dp *d, uint32_t parent, uint16_t opt)
{
    if (d->total == d->tcap) {
        size_t nc = d->tcap ? 2 * d->tcap : 4096;
        if (grow_array(&d->parent, nc, sizeof *d->parent) < 0 ||
            grow_array(&d->opt, nc, sizeof *d->opt) < 0)
            return -1;
        d->tcap = nc;
    }
    d->parent[d->total] = parent;
    d->opt[d->total] = opt;
    d->total++;
    return 0;
}

static void dp_release(struct dp *d)
{
    free(d->W);
    free(d->W2);
    free(d->C);
    free(d->C2);
    free(d->parent);
    free(d->opt);
    free(d->layer_off);
}

/* Lower bound on the final cost of a state (cost c, capacity left R) whose remaining groups
 * sit at their Lagrangian-best options (bytes sw, cost sc): the LP of the remaining groups is
 * convex in its capacity and equals sc at sw, with right slope -eu (best upgrade ratio) and
 * left slope -ed (cheapest downgrade ratio), so it lies above both tangents. */
static double tail_bound(double c, int64_t R, int64_t sw, double sc, double eu, double ed)
{
    if (R >= sw)
        return c + sc - eu * (double)(R - sw);
    if (isinf(ed))
        return INFINITY;
    return c + sc + ed * (double)(sw - R);
}

/* Step 6.  Returns 0 with an improved solution in cur, 2 if none beats the incumbent, 1 on a
 * limit, -1 on error.  Every new state is also completed with the remaining groups at their
 * Lagrangian-best options; a feasible completion below the incumbent replaces it at once, so
 * the pruning threshold tightens during the search. */
static int core_search(const struct ctx *x, const struct core_group *core, size_t ncore,
                       int64_t cap, double lam, double eps, double *ubp, int64_t W0, double C0,
                       int *cur, struct dp *d, struct mint_knap_result *r, double t0,
                       double tlim, uint64_t max_states, struct mint_err *err)
{
    double *rest = malloc((ncore + 1) * sizeof *rest);
    double *sc = malloc((ncore + 1) * sizeof *sc);
    int64_t *sw = malloc((ncore + 1) * sizeof *sw);
    uint16_t *am = malloc((ncore ? ncore : 1) * sizeof *am);
    double *eu = malloc((ncore + 1) * sizeof *eu), *ed = malloc((ncore + 1) * sizeof *ed);
    size_t rec_layer = SIZE_MAX, rec_idx = 0;
    double ub = *ubp;
    int rc = 2, limit = 0;

    if (!rest || !sc || !sw || !am || !eu || !ed || !(d->layer_off = malloc((ncore + 2) * sizeof *d->layer_off)))
        goto oom;
    rest[ncore] = 0;
    sc[ncore] = 0;
    sw[ncore] = 0;
    eu[ncore] = 0;
    ed[ncore] = INFINITY;
    for (size_t l = ncore; l-- > 0;) {
        const size_t d0 = x->doff[core[l].g];
        size_t bj = 0;
        double br = INFINITY;
        for (size_t q = 0; q < core[l].nopt; q++) {
            size_t j = d0 + core[l].opt[q];
            double rj = x->dc[j] + lam * (double)x->dw[j];
            if (rj < br) {
                br = rj;
                bj = q;
            }
        }
        am[l] = core[l].opt[bj];
        rest[l] = rest[l + 1] + core[l].m;
        eu[l] = eu[l + 1];
        ed[l] = ed[l + 1];
        {
            const size_t a = d0 + am[l];
            for (size_t q = 0; q < core[l].nopt; q++) {
                size_t j = d0 + core[l].opt[q];
                if (x->dw[j] > x->dw[a]) {
                    double e = (x->dc[a] - x->dc[j]) / (double)(x->dw[j] - x->dw[a]);
                    if (e > eu[l])
                        eu[l] = e;
                } else if (x->dw[j] < x->dw[a]) {
                    double e = (x->dc[j] - x->dc[a]) / (double)(x->dw[a] - x->dw[j]);
                    if (e < ed[l])
                        ed[l] = e;
                }
            }
        }
        sc[l] = sc[l + 1] + x->dc[d0 + am[l]];
        sw[l] = sw[l + 1] + x->dw[d0 + am[l]];
    }
    if (W0 > cap || C0 + lam * (double)(W0 - cap) + rest[0] >= ub - eps)
        goto done;
    if (dp_reserve_layer(d, 1) < 0 || dp_push_back(d, 0, 0) < 0)
        goto oom;
    d->W[0] = W0;
    d->C[0] = C0;
    d->n = 1;
    d->layer_off[0] = 0;
    r->max_states = 1;
    if (W0 + sw[0] <= cap && C0 + sc[0] < ub) {
        ub = C0 + sc[0];
        rec_layer = 0;
        rec_idx = 0;
    }
    for (size_t l = 0; l < ncore && d->n; l++) {
        const struct core_group *cg = &core[l];
        const size_t d0 = x->doff[cg->g];
        size_t head[16];
        size_t *hp = cg->nopt <= 16 ? head : malloc(cg->nopt * sizeof *hp);
        size_t nn = 0;
        double last = INFINITY;
        if (!hp)
            goto oom;
        d->layer_off[l + 1] = d->total;
        for (size_t q = 0; q < cg->nopt; q++)
            hp[q] = 0;
        for (;;) {
            size_t bq = SIZE_MAX;
            int64_t bw = 0;
            double bc = 0;
            for (size_t q = 0; q < cg->nopt; q++) {
                const size_t j = d0 + cg->opt[q];
                while (hp[q] < d->n) {
                    int64_t w = d->W[hp[q]] + x->dw[j];
                    double c = d->C[hp[q]] + x->dc[j];
                    if (w > cap) {
                        hp[q] = d->n; /* W ascending: the rest are heavier */
                        break;
                    }
                    if (c + lam * (double)(w - cap) + rest[l + 1] >= ub - eps ||
                        tail_bound(c, cap - w, sw[l + 1], sc[l + 1], eu[l + 1], ed[l + 1]) >=
                            ub - eps) {
                        hp[q]++;
                        continue;
                    }
                    if (bq == SIZE_MAX || w < bw || (w == bw && c < bc)) {
                        bq = q;
                        bw = w;
                        bc = c;
                    }
                    break;
                }
            }
            if (bq == SIZE_MAX)
                break;
            if (bc < last) {
                if (dp_reserve_layer(d, nn + 1) < 0 ||
                    dp_push_back(d, (uint32_t)hp[bq], cg->opt[bq]) < 0) {
                    if (hp != head)
                        free(hp);
                    goto oom;
                }
                d->W2[nn] = bw;
                d->C2[nn] = bc;
                if (bw + sw[l + 1] <= cap && bc + sc[l + 1] < ub) {
                    ub = bc + sc[l + 1];
                    rec_layer = l + 1;
                    rec_idx = nn;
                }
                nn++;
                last = bc;
                r->states++;
                if (r->states > max_states ||
                    (tlim > 0 && (r->states & 0xffff) == 0 && mint_now() - t0 > tlim)) {
                    limit = 1;
                    break;
                }
            }
            hp[bq]++;
        }
        if (hp != head)
            free(hp);
        if (limit || (tlim > 0 && mint_now() - t0 > tlim)) {
            limit = 1;
            break;
        }
        {
            int64_t *tw = d->W;
            double *tc = d->C;
            d->W = d->W2;
            d->C = d->C2;
            d->W2 = tw;
            d->C2 = tc;
            d->n = nn;
        }
        if (nn > r->max_states)
            r->max_states = nn;
    }
done:
    if (rec_layer != SIZE_MAX) {
        size_t idx = rec_idx;
        for (size_t l = ncore; l-- > rec_layer;)
            cur[core[l].g] = am[l];
        for (size_t l = rec_layer; l-- > 0;) {
            size_t at = d->layer_off[l + 1] + idx;
            cur[core[l].g] = d->opt[at];
            idx = d->parent[at];
        }
        *ubp = ub;
        rc = 0;
    }
    if (limit)
        rc = 1; /* the caller keeps the best known solution: see below */
    free(rest);
    free(sc);
    free(sw);
    free(am);
    free(eu);
    free(ed);
    return rc == 1 && rec_layer != SIZE_MAX ? 3 : rc;
oom:
    free(rest);
    free(sc);
    free(sw);
    free(am);
    free(eu);
    free(ed);
    return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
}

int mint_knap_exact(const struct mint_knap *k, int64_t cap, const struct mint_knap_opts *o,
                    struct mint_knap_result *r, struct mint_err *err)
{
    struct ctx x;
    int *cur = NULL, *inc = NULL;
    double t0 = mint_now(), ub = 0, eps = 0, L = 0, lam;
    double *rr = NULL, *mm = NULL;
    struct core_group *core = NULL;
    uint16_t *optbuf = NULL;
    size_t ncore = 0;
    uint64_t max_states = o && o->max_states ? o->max_states : MINT_KNAP_DEFAULT_MAX_STATES;
    double tlim = o ? o->time_limit : 0;
    int64_t W0 = 0;
    double C0 = 0;
    struct dp d = {0};
    int rc = -1, limit = 0;

    if (mint_knap_check(k, err) < 0 || result_init(r, k->n, err) < 0)
        return -1;
    if (build(&x, k, err) < 0) {
        mint_knap_result_release(r);
        return -1;
    }
    if (lp_solve(&x, cap)) {
        for (size_t i = 0; i < k->n; i++)
            r->choice[i] = 0;
        evaluate(k, r);
        r->status = MINT_KNAP_INFEASIBLE;
        r->bound = r->lp_bound = INFINITY;
        ctx_release(&x);
        return 0;
    }
    r->lp_bound = x.lp;
    r->lambda = lam = x.lambda;
    if (!x.has_crit) {
        /* the all-best choice fits: optimal */
        for (size_t i = 0; i < k->n; i++)
            r->choice[i] = x.didx[x.doff[i] + (size_t)x.pos[i]];
        evaluate(k, r);
        r->status = MINT_KNAP_OPTIMAL;
        r->bound = r->objective;
        r->ub_initial = r->objective;
        ctx_release(&x);
        return 0;
    }

    /* step 4 */
    cur = malloc(k->n * sizeof *cur);
    inc = malloc(k->n * sizeof *inc);
    if (!cur || !inc) {
        mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        goto out;
    }
    if (incumbent(&x, cur, err) < 0)
        goto out;
    ub = 0;
    for (size_t i = 0; i < k->n; i++)
        ub += x.dc[x.doff[i] + (size_t)cur[i]];
    r->ub_initial = ub;
    memcpy(inc, cur, k->n * sizeof *inc);
    eps = EPS_REL * fmax(1.0, fabs(ub));

    /* step 5: Lagrangian reduction */
    {
        size_t m = x.doff[k->n];
        rr = malloc((m ? m : 1) * sizeof *rr);
        mm = malloc(k->n * sizeof *mm);
        optbuf = malloc((m ? m : 1) * sizeof *optbuf);
        core = malloc(k->n * sizeof *core);
        if (!rr || !mm || !optbuf || !core) {
            mint_err_setc(err, MINT_EXIT_IO, "out of memory");
            goto out;
        }
        L = 0;
        for (size_t i = 0; i < k->n; i++) {
            double mi = INFINITY;
            for (size_t j = x.doff[i]; j < x.doff[i + 1]; j++) {
                rr[j] = x.dc[j] + lam * (double)x.dw[j];
                if (rr[j] < mi)
                    mi = rr[j];
            }
            mm[i] = mi;
            L += mi;
        }
        L -= lam * (double)cap;
    }
    if (ub - L <= eps)
        goto use_ub; /* the incumbent meets the bound */
    {
        size_t used = 0;
        int none = 0;
        for (size_t i = 0; i < k->n && !none; i++) {
            struct core_group *cg = &core[ncore];
            double mi = INFINITY;
            size_t am = 0;
            cg->g = (uint32_t)i;
            cg->opt = optbuf + used;
            cg->nopt = 0;
            for (size_t j = x.doff[i]; j < x.doff[i + 1]; j++) {
                if (L - mm[i] + rr[j] >= ub - eps)
                    continue;
                cg->opt[cg->nopt++] = (uint16_t)(j - x.doff[i]);
                if (rr[j] < mi) {
                    mi = rr[j];
                    am = j;
                }
            }
            if (cg->nopt == 0) {
                none = 1; /* no solution below UB - eps at all */
            } else if (cg->nopt == 1) {
                size_t j = x.doff[i] + cg->opt[0];
                W0 += x.dw[j];
                C0 += x.dc[j];
                cur[i] = cg->opt[0]; /* tentatively; restored from the incumbent on failure */
            } else {
                cg->close = INFINITY;
                for (size_t q = 0; q < cg->nopt; q++) {
                    size_t j = x.doff[i] + cg->opt[q];
                    double e;
                    if (j == am)
                        continue;
                    if (x.dw[j] > x.dw[am])
                        e = lam - (x.dc[am] - x.dc[j]) / (double)(x.dw[j] - x.dw[am]);
                    else
                        e = (x.dc[j] - x.dc[am]) / (double)(x.dw[am] - x.dw[j]) - lam;
                    if (e < cg->close)
                        cg->close = e;
                }
                cg->m = mi;
                used += cg->nopt;
                ncore++;
            }
        }
        if (none)
            goto restore_ub;
    }
    r->core_groups = ncore;
    qsort(core, ncore, sizeof *core, core_cmp);

    /* step 6: Pareto DP over the core */
    {
        int rc6 = core_search(&x, core, ncore, cap, lam, eps, &ub, W0, C0, cur, &d, r, t0,
                              tlim, max_states, err);
        if (rc6 < 0)
            goto out;
        if (rc6 == 1)
            goto restore_ub_limit;
        if (rc6 == 2)
            goto restore_ub;
        if (rc6 == 3) {
            limit = 1; /* limit hit, but a better solution than the incumbent was found */
            goto finish;
        }
        goto finish;
    }

restore_ub_limit:
    limit = 1;
restore_ub:
    memcpy(cur, inc, k->n * sizeof *cur);
use_ub:
finish:
    for (size_t i = 0; i < k->n; i++)
        r->choice[i] = x.didx[x.doff[i] + (size_t)cur[i]];
    evaluate(k, r);
    if (limit) {
        r->status = MINT_KNAP_LIMIT;
        r->bound = fmin(L, r->objective);
    } else {
        r->status = MINT_KNAP_OPTIMAL;
        r->bound = r->objective;
    }
    rc = 0;
out:
    dp_release(&d);
    free(core);
    free(optbuf);
    free(rr);
    free(mm);
    free(cur);
    free(inc);
    ctx_release(&x);
    if (rc < 0)
        mint_knap_result_release(r);
    return rc;
}

/* ---------------------------------------------------------------- greedy (§9.1) */

struct upg {
    double e;
    int64_t dw;
    uint32_t g;
    uint16_t a, b;
};

static int upg_cmp(const void *pa, const void *pb)
{
    const struct upg *x = pa, *y = pb;
    if (x->e != y->e)
        return x->e > y->e ? -1 : 1;
    if (x->g != y->g)
        return x->g < y->g ? -1 : 1;
    if (x->a != y->a)
        return x->a < y->a ? -1 : 1;
    return (x->b > y->b) - (x->b < y->b);
}

int mint_knap_greedy(const struct mint_knap *k, int64_t cap, struct mint_knap_result *r,
                     struct mint_err *err)
{
    size_t nu = 0, cu = 0;
    struct upg *u = NULL;
    int64_t used = 0;
    double lp, lam;
    int inf;

    if (mint_knap_check(k, err) < 0)
        return -1;
    inf = mint_knap_lp(k, cap, &lp, &lam, err);
    if (inf < 0 || result_init(r, k->n, err) < 0)
        return -1;
    for (size_t i = 0; i < k->n; i++) {
        r->choice[i] = 0; /* the cheapest: options are in byte order */
        used += k->w[k->off[i]];
    }
    if (used > cap || inf) {
        evaluate(k, r);
        r->status = MINT_KNAP_INFEASIBLE;
        r->bound = r->lp_bound = INFINITY;
        return 0;
    }
    for (size_t i = 0; i < k->n; i++) {
        size_t m = k->off[i + 1] - k->off[i];
        cu += m * (m - 1) / 2;
    }
    u = malloc((cu ? cu : 1) * sizeof *u);
    if (!u) {
        mint_knap_result_release(r);
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    }
    for (size_t i = 0; i < k->n; i++) {
        const size_t o = k->off[i], m = k->off[i + 1] - o;
        for (size_t a = 0; a < m; a++)
            for (size_t b = a + 1; b < m; b++) {
                double ca = k->c[o + a], cb = k->c[o + b];
                if (!(ca > cb))
                    continue;
                u[nu].dw = k->w[o + b] - k->w[o + a];
                u[nu].e = u[nu].dw > 0 ? (ca - cb) / (double)u[nu].dw : INFINITY;
                u[nu].g = (uint32_t)i;
                u[nu].a = (uint16_t)a;
                u[nu].b = (uint16_t)b;
                nu++;
            }
    }
    qsort(u, nu, sizeof *u, upg_cmp); /* keys make it the stable sort of MINT */
    for (size_t t = 0; t < nu; t++)
        if (r->choice[u[t].g] == u[t].a && used + u[t].dw <= cap) {
            r->choice[u[t].g] = u[t].b;
            used += u[t].dw;
        }
    free(u);
    evaluate(k, r);
    r->status = MINT_KNAP_HEURISTIC;
    r->lp_bound = lp;
    r->lambda = lam;
    r->bound = fmin(lp, r->objective);
    return 0;
}

/* ---------------------------------------------------------------- brute force */

struct brute {
    const struct mint_knap *k;
    int64_t cap;
    int64_t *minrest; /* (n + 1) Σ min w of groups i.. */
    int *cur;
    int *best;
    double best_c;
    int found;
};

static void brute_rec(struct brute *b, size_t i, int64_t w, double c)
{
    if (i == b->k->n) {
        if (!b->found || c < b->best_c) {
            b->found = 1;
            b->best_c = c;
            memcpy(b->best, b->cur, b->k->n * sizeof *b->cur);
        }
        return;
    }
    for (size_t j = b->k->off[i]; j < b->k->off[i + 1]; j++) {
        int64_t nw = w + b->k->w[j];
        if (nw + b->minrest[i + 1] > b->cap)
            continue;
        b->cur[i] = (int)(j - b->k->off[i]);
        brute_rec(b, i + 1, nw, c + b->k->c[j]);
    }
}

int mint_knap_brute(const struct mint_knap *k, int64_t cap, struct mint_knap_result *r,
                    struct mint_err *err)
{
    struct brute b = {0};
    if (mint_knap_check(k, err) < 0 || result_init(r, k->n, err) < 0)
        return -1;
    b.k = k;
    b.cap = cap;
    b.minrest = calloc(k->n + 1, sizeof *b.minrest);
    b.cur = calloc(k->n ? k->n : 1, sizeof *b.cur);
    b.best = r->choice;
    if (!b.minrest || !b.cur) {
        free(b.minrest);
        free(b.cur);
        mint_knap_result_release(r);
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    }
    for (size_t i = k->n; i-- > 0;) {
        int64_t mn = k->w[k->off[i]];
        for (size_t j = k->off[i]; j < k->off[i + 1]; j++)
            if (k->w[j] < mn)
                mn = k->w[j];
        b.minrest[i] = b.minrest[i + 1] + mn;
    }
    brute_rec(&b, 0, 0, 0);
    free(b.minrest);
    free(b.cur);
    evaluate(k, r);
    if (!b.found) {
        r->status = MINT_KNAP_INFEASIBLE;
        r->bound = r->lp_bound = INFINITY;
    } else {
        r->status = MINT_KNAP_OPTIMAL;
        r->bound = r->objective;
    }
    return 0;
}
