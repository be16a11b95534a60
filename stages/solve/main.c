/* mint-solve: choose bits and group size per decision group under a hard byte budget
 * (algorithm.md §8-§10).
 *
 * usage: mint-solve PROFILE --budget B -o alloc.json [--veto-db 9] [--solver exact|greedy]
 *                   [--loss nrmse|nrmse_w|mse] [--weight none|params] [--priors FILE]
 *                   [--time-limit SEC] [--max-states N] [--shard-size 5G] [--compare] [-q]
 *
 * Problem: minimise Σ π·α·D over the groups with a finite prior, one allowed option each,
 * subject to the real output bytes <= B.  Allowed options: 16-bit, plus every configuration whose
 * SQNR (the worst member's) is >= the veto; π = ∞ or a structurally fixed tensor allows 16-bit
 * only.  A group left with one allowed option is fixed: its bytes join F (and its loss, when its
 * prior is finite, a constant of the objective: objective = the model's total weighted
 * distortion, so figures compare across vetoes and budgets).  α = 1 (--weight none, MINT's
 * unweighted sum) or params_i / mean params over the finite-prior groups (--weight params).
 *
 * Budget: B caps Σ over the written safetensors files of (8 + header + data).  F = bytes of the
 * fixed groups + a header reserve: per module the longest header entry set over its allowed
 * options (MLX names, offsets counted at 20 digits) + 48 bytes per shard for at most
 * 2·B/shard + 3 shards (>= 2·ceil(B/shard) + 1 of algorithm.md §10.2, but smooth in B, so
 * B - F(B) never decreases as B grows and "feasible" is monotone in B).  bpw and min budgets are
 * the least B with B - F(B) >= floor(x·N_q/8) resp. Σ min bytes.  Below min-safe: the §10.3
 * message, exit 1, no output.  At or above the all-16-bit size: every group 16-bit, with a note.
 *
 * alloc.json (schema 1; canonical JSON, deterministic: no timings, those go to stderr):
 *   budget_bytes    B, the cap on Σ (8 + header + data) over the written safetensors files
 *   total_bytes     Σ tensor data bytes of the chosen options (tensors not written excluded)
 *   reserve_bytes   header reserve; total_bytes + reserve_bytes <= budget_bytes
 *   fixed_bytes, min_bytes (min-safe), all16_bytes, quantizable_params (N_q), groups
 *   objective       Σ π·α·D over the finite-prior groups (constant terms included)
 *   bound, lp_bound, gap, gap_rel, status ("optimal" | "limit" | "heuristic" for greedy |
 *                   "forced" when the all-16-bit choice is not the unconstrained optimum),
 *   lambda, core_groups, max_states, solver, loss, weight, agg, veto_db, priors (table name),
 *   out_dtype (BF16 | F16), shard_bytes, greedy_objective (--compare), exact_objective
 *   (--solver greedy --compare)
 *   tensors         EVERY index tensor, sorted by name: {"name","bits","group","bytes"};
 *                   16-bit = bits 16, group 0; not written: bytes 0 and "dropped": true.
 *                   Experts of one group carry the same bits/group, each its own bytes. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/budget.h"
#include "mint/err.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/knap.h"
#include "mint/prior.h"
#include "mint/profile.h"
#include "mint/quant.h"

static const char usage[] =
    "usage: mint-solve PROFILE --budget B -o alloc.json [--veto-db 9] [--solver exact|greedy]\n"
    "                  [--loss nrmse|nrmse_w|mse] [--weight none|params] [--priors FILE]\n"
    "                  [--time-limit SEC] [--max-states N] [--shard-size 5G] [--compare] [-q]\n"
    "budget: <number>[B|K|M|G|T|KiB|MiB|GiB|TiB|KB|MB|GB|TB], <number>bpw, or min\n";

enum loss { LOSS_NRMSE, LOSS_NRMSE_W, LOSS_MSE };
static const char *const loss_names[] = {"nrmse", "nrmse_w", "mse"};

struct opts {
    const char *profile, *out, *budget, *priors;
    double veto_db, time_limit;
    int greedy, compare, weight_params, quiet;
    enum loss loss;
    uint64_t shard, max_states;
};

struct sgroup {
    struct mint_pgroup *pg;
    double alpha, D[MINT_PROFILE_MAX_CONFIGS];
    size_t n_allowed;
    int allowed[MINT_PROFILE_MAX_CONFIGS]; /* indices into pg->opt, canonical order */
    int i16;                               /* index of the 16-bit option in pg->opt */
    int chosen;                            /* index into pg->opt */
    int finite;                            /* finite prior: enters the objective */
    size_t knap;                           /* index in the knapsack instance, or SIZE_MAX */
};

struct plan {
    struct mint_profile p;
    struct mint_pgroup *pg;
    size_t ng;
    struct sgroup *g;
    uint64_t fixed_bytes, entries, min_q, max_q, n_q, n_finite;
    uint64_t budget, reserve, min_safe, all16;
    double obj_const;
    /* results */
    struct mint_knap_result res;
    const char *status;
    double objective, bound, lp_bound, greedy_objective, exact_objective;
    int have_greedy, have_exact, forced16;
    double seconds, greedy_seconds;
};

/* ---------------------------------------------------------------- groups */

static double loss_of(const struct mint_popt *o, enum loss l)
{
    return l == LOSS_NRMSE ? o->nrmse : l == LOSS_NRMSE_W ? o->nrmse_w : o->mse;
}

static int apply_priors(struct mint_profile *p, const char *spec, struct mint_err *err)
{
    struct mint_prior_table t;
    if (mint_prior_load(spec, &t, err) < 0)
        return -1;
    p->priors = t;
    for (size_t i = 0; i < p->n; i++) {
        struct mint_ptensor *x = &p->t[i];
        int quant = 0;
        const char *r = x->fixed_reason;
        if (x->dropped || (x->fixed && strcmp(r, "prior") && strcmp(r, "unavailable")))
            continue; /* structural: stays 16-bit */
        x->prior = mint_prior_of(&t, x->role, x->layer, p->num_layers, x->ndim, p->tied);
        for (size_t j = 0; j < x->n_opt; j++)
            quant |= x->opt[j].bits != MINT_BITS_PASSTHROUGH;
        snprintf(x->fixed_reason, sizeof x->fixed_reason, "%s",
                 isinf(x->prior) ? "prior" : quant ? "" : "unavailable");
        x->fixed = x->fixed_reason[0] != 0;
    }
    return 0;
}

static int build_groups(struct plan *P, const struct opts *o, struct mint_err *err)
{
    double nsum = 0;
    if (mint_profile_groups(&P->p, &P->pg, &P->ng, err) < 0)
        return -1;
    P->g = calloc(P->ng ? P->ng : 1, sizeof *P->g);
    if (!P->g)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    for (size_t i = 0; i < P->ng; i++) {
        struct sgroup *g = &P->g[i];
        struct mint_pgroup *pg = &P->pg[i];
        g->pg = pg;
        g->knap = SIZE_MAX;
        g->i16 = -1;
        g->finite = !isinf(pg->prior);
        for (size_t j = 0; j < pg->n_opt; j++)
            if (pg->opt[j].bits == MINT_BITS_PASSTHROUGH)
                g->i16 = (int)j;
        g->n_allowed = mint_pgroup_allowed(pg, o->veto_db, g->allowed);
        if (g->i16 < 0)
            return mint_err_set(err, "group '%s': no 16-bit option", pg->key);
        if (g->finite) {
            P->n_finite++;
            nsum += (double)pg->params;
            for (size_t a = 0; a < g->n_allowed; a++) {
                double d = loss_of(&pg->opt[g->allowed[a]], o->loss);
                if (isnan(d))
                    return mint_err_set(err, "group '%s': no %s for configuration %d:%d (the rd "
                                             "file measured no norm-weighted loss)",
                                        pg->key, loss_names[o->loss],
                                        pg->opt[g->allowed[a]].bits,
                                        pg->opt[g->allowed[a]].group);
                g->D[g->allowed[a]] = d;
            }
        }
    }
    for (size_t i = 0; i < P->ng; i++) {
        struct sgroup *g = &P->g[i];
        g->alpha = o->weight_params && nsum > 0
                       ? (double)g->pg->params / (nsum / (double)P->n_finite)
                       : 1.0;
        if (g->n_allowed <= 1) {
            g->chosen = g->i16;
            P->fixed_bytes += g->pg->opt[g->i16].bytes;
            if (g->finite)
                P->obj_const += g->pg->prior * g->alpha * g->D[g->i16];
        } else {
            P->min_q += g->pg->opt[g->allowed[0]].bytes;
            P->max_q += g->pg->opt[g->i16].bytes;
            P->n_q += g->pg->params;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- header reserve */

static uint64_t option_entries(const struct mint_profile *p, const struct mint_pgroup *pg,
                               const struct mint_popt *op)
{
    const struct mint_ptensor *t = &p->t[pg->members[0]];
    int64_t shape[MINT_PROFILE_MAX_DIMS + 1];
    int nd = 0;
    const char *odt = mint_dtype_name(p->out_dtype);
    if (strstr(pg->key, ".experts.*."))
        shape[nd++] = (int64_t)pg->n_members; /* MLX stacks the experts */
    for (int d = 0; d < t->ndim; d++)
        shape[nd++] = t->shape[d];
    if (op->bits == MINT_BITS_PASSTHROUGH)
        return mint_budget_entry_len(t->mlx_name, mint_dtype_is_float(t->dtype)
                                                       ? odt : mint_dtype_name(t->dtype),
                                     nd, shape);
    {
        size_t n = strlen(t->mlx_name), base = n >= 7 && !strcmp(t->mlx_name + n - 7, ".weight")
                                                   ? n - 7 : n;
        char *name = malloc(base + 16);
        int64_t last = shape[nd - 1];
        uint64_t len = 0;
        memcpy(name, t->mlx_name, base);
        strcpy(name + base, ".weight");
        shape[nd - 1] = last * op->bits / 32;
        len += mint_budget_entry_len(name, "U32", nd, shape);
        shape[nd - 1] = last / op->group;
        strcpy(name + base, ".scales");
        len += mint_budget_entry_len(name, odt, nd, shape);
        strcpy(name + base, ".biases");
        len += mint_budget_entry_len(name, odt, nd, shape);
        free(name);
        return len;
    }
}

static void header_entries(struct plan *P)
{
    for (size_t i = 0; i < P->ng; i++) {
        const struct sgroup *g = &P->g[i];
        uint64_t mx = 0;
        for (size_t a = 0; a < g->n_allowed; a++) {
            uint64_t l = option_entries(&P->p, g->pg, &g->pg->opt[g->allowed[a]]);
            if (l > mx)
                mx = l;
        }
        P->entries += mx;
    }
}

/* F(B): fixed bytes + header entries + the per-shard reserve. */
static int fixed_of(const struct plan *P, uint64_t B, uint64_t S, uint64_t *out)
{
    unsigned __int128 v = (unsigned __int128)P->fixed_bytes + P->entries +
                          mint_budget_shard_reserve(B, S);
    if (v > INT64_MAX)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* The least B with B - F(B) >= q. */
static int least_budget(const struct plan *P, uint64_t q, uint64_t S, uint64_t *out)
{
    return mint_budget_least(P->fixed_bytes + P->entries, q, S, out);
}

/* ---------------------------------------------------------------- solve */

static int run_solver(struct plan *P, const struct opts *o, uint64_t cap, struct mint_err *err)
{
    size_t nk = 0, m = 0;
    size_t *off;
    int64_t *w;
    double *c;
    struct mint_knap k;
    int rc = -1;

    for (size_t i = 0; i < P->ng; i++)
        if (P->g[i].n_allowed > 1) {
            P->g[i].knap = nk++;
            m += P->g[i].n_allowed;
        }
    off = malloc((nk + 1) * sizeof *off);
    w = malloc((m ? m : 1) * sizeof *w);
    c = malloc((m ? m : 1) * sizeof *c);
    if (!off || !w || !c) {
        mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        goto out;
    }
    m = 0;
    for (size_t i = 0; i < P->ng; i++) {
        const struct sgroup *g = &P->g[i];
        if (g->knap == SIZE_MAX)
            continue;
        off[g->knap] = m;
        for (size_t a = 0; a < g->n_allowed; a++) {
            w[m] = (int64_t)g->pg->opt[g->allowed[a]].bytes;
            c[m] = g->pg->prior * g->alpha * g->D[g->allowed[a]];
            m++;
        }
    }
    off[nk] = m;
    k.n = nk;
    k.off = off;
    k.w = w;
    k.c = c;
    {
        struct mint_knap_opts ko = {o->time_limit, o->max_states};
        struct mint_knap_result other;
        double t0 = mint_now();
        if ((o->greedy ? mint_knap_greedy(&k, (int64_t)cap, &P->res, err)
                       : mint_knap_exact(&k, (int64_t)cap, &ko, &P->res, err)) < 0)
            goto out;
        P->seconds = mint_now() - t0;
        if (o->compare) {
            t0 = mint_now();
            if ((o->greedy ? mint_knap_exact(&k, (int64_t)cap, &ko, &other, err)
                           : mint_knap_greedy(&k, (int64_t)cap, &other, err)) < 0)
                goto out;
            P->greedy_seconds = mint_now() - t0;
            if (o->greedy) {
                P->have_exact = 1;
                P->exact_objective = other.objective + P->obj_const;
                P->greedy_objective = P->res.objective + P->obj_const;
            } else {
                P->greedy_objective = other.objective + P->obj_const;
            }
            P->have_greedy = 1;
            mint_knap_result_release(&other);
        }
    }
    MINT_ASSERT(P->res.status != MINT_KNAP_INFEASIBLE);
    for (size_t i = 0; i < P->ng; i++) {
        struct sgroup *g = &P->g[i];
        if (g->knap != SIZE_MAX)
            g->chosen = g->allowed[P->res.choice[g->knap]];
    }
    P->objective = P->res.objective + P->obj_const;
    P->bound = P->res.bound + P->obj_const;
    P->lp_bound = P->res.lp_bound + P->obj_const;
    P->status = mint_knap_status_name(P->res.status);
    rc = 0;
out:
    free(off);
    free(w);
    free(c);
    return rc;
}

static void force16(struct plan *P, int compare)
{
    double best = 0;
    P->objective = 0;
    for (size_t i = 0; i < P->ng; i++) {
        struct sgroup *g = &P->g[i];
        g->chosen = g->i16;
        if (g->finite) {
            double mn = INFINITY;
            P->objective += g->pg->prior * g->alpha * g->D[g->i16];
            for (size_t a = 0; a < g->n_allowed; a++)
                mn = fmin(mn, g->pg->prior * g->alpha * g->D[g->allowed[a]]);
            best += mn;
        }
    }
    /* the unconstrained optimum is a valid bound; it is 16-bit everywhere in practice */
    P->bound = P->lp_bound = best;
    P->status = P->objective <= best ? "optimal" : "forced";
    P->forced16 = 1;
    if (compare) {
        P->have_greedy = 1;
        P->greedy_objective = P->objective;
    }
}

/* ---------------------------------------------------------------- output */

static json_t *alloc_json(const struct plan *P, const struct opts *o, uint64_t *total)
{
    json_t *doc = json_object(), *tensors = json_array();
    struct mint_qcfg *cfg = calloc(P->p.n ? P->p.n : 1, sizeof *cfg);
    uint64_t *bytes = calloc(P->p.n ? P->p.n : 1, sizeof *bytes);
    double gap = P->objective - P->bound;

    *total = 0;
    for (size_t i = 0; i < P->ng; i++) {
        const struct sgroup *g = &P->g[i];
        const struct mint_popt *ch = &g->pg->opt[g->chosen];
        for (size_t k = 0; k < g->pg->n_members; k++) {
            size_t ti = g->pg->members[k];
            const struct mint_ptensor *t = &P->p.t[ti];
            for (size_t j = 0; j < t->n_opt; j++)
                if (t->opt[j].bits == ch->bits && t->opt[j].group == ch->group)
                    bytes[ti] = t->opt[j].bytes;
            cfg[ti].bits = ch->bits;
            cfg[ti].group = ch->group;
            *total += bytes[ti];
        }
    }
    for (size_t i = 0; i < P->p.n; i++) {
        const struct mint_ptensor *t = &P->p.t[i];
        json_t *e;
        if (t->dropped) {
            e = json_pack("{s:s,s:i,s:i,s:i,s:b}", "name", t->name, "bits", 16, "group", 0,
                          "bytes", 0, "dropped", 1);
        } else {
            e = json_pack("{s:s,s:i,s:i,s:I}", "name", t->name, "bits", cfg[i].bits, "group",
                          cfg[i].group, "bytes", (json_int_t)bytes[i]);
        }
        json_array_append_new(tensors, e);
    }
    free(cfg);
    free(bytes);
    if (gap < 0)
        gap = 0;
    json_object_set_new(doc, "schema", json_integer(1));
    json_object_set_new(doc, "budget_bytes", json_integer((json_int_t)P->budget));
    json_object_set_new(doc, "total_bytes", json_integer((json_int_t)*total));
    json_object_set_new(doc, "reserve_bytes", json_integer((json_int_t)P->reserve));
    json_object_set_new(doc, "fixed_bytes", json_integer((json_int_t)P->fixed_bytes));
    json_object_set_new(doc, "min_bytes", json_integer((json_int_t)P->min_safe));
    json_object_set_new(doc, "all16_bytes", json_integer((json_int_t)P->all16));
    json_object_set_new(doc, "quantizable_params", json_integer((json_int_t)P->n_q));
    json_object_set_new(doc, "objective", json_real(P->objective));
    json_object_set_new(doc, "bound", json_real(P->bound));
    json_object_set_new(doc, "lp_bound", json_real(P->lp_bound));
    json_object_set_new(doc, "gap", json_real(gap));
    json_object_set_new(doc, "gap_rel", json_real(gap / fmax(fabs(P->objective), 1e-300)));
    json_object_set_new(doc, "status", json_string(P->status));
    json_object_set_new(doc, "lambda", json_real(P->forced16 ? 0 : P->res.lambda));
    json_object_set_new(doc, "core_groups",
                        json_integer((json_int_t)(P->forced16 ? 0 : P->res.core_groups)));
    json_object_set_new(doc, "max_states",
                        json_integer((json_int_t)(P->forced16 ? 0 : P->res.max_states)));
    json_object_set_new(doc, "solver", json_string(o->greedy ? "greedy" : "exact"));
    json_object_set_new(doc, "loss", json_string(loss_names[o->loss]));
    json_object_set_new(doc, "weight", json_string(o->weight_params ? "params" : "none"));
    json_object_set_new(doc, "agg", json_string(P->p.agg_worst ? "worst" : "mean"));
    json_object_set_new(doc, "veto_db", json_real(o->veto_db));
    json_object_set_new(doc, "priors", json_string(P->p.priors.name));
    json_object_set_new(doc, "out_dtype", json_string(mint_dtype_name(P->p.out_dtype)));
    json_object_set_new(doc, "shard_bytes", json_integer((json_int_t)o->shard));
    json_object_set_new(doc, "groups", json_integer((json_int_t)P->ng));
    if (P->have_greedy)
        json_object_set_new(doc, "greedy_objective", json_real(P->greedy_objective));
    if (P->have_exact)
        json_object_set_new(doc, "exact_objective", json_real(P->exact_objective));
    json_object_set_new(doc, "tensors", tensors);
    return doc;
}

static void human(uint64_t b, char *out, size_t cap)
{
    mint_budget_human(b, out, cap);
}

static void plan_table(const struct plan *P, const struct opts *o, uint64_t total)
{
    struct row {
        int bits, group;
        uint64_t tensors, params, bytes;
    } rows[MINT_PROFILE_MAX_CONFIGS + 1];
    size_t nr = 0;
    uint64_t rparams[MINT_ROLE_COUNT] = {0}, rbytes[MINT_ROLE_COUNT] = {0},
             rtens[MINT_ROLE_COUNT] = {0}, allp = 0;
    char hb[32], hb2[32], hb3[32];

    for (size_t i = 0; i < P->ng; i++) {
        const struct sgroup *g = &P->g[i];
        const struct mint_popt *ch = &g->pg->opt[g->chosen];
        size_t r;
        for (r = 0; r < nr; r++)
            if (rows[r].bits == ch->bits && rows[r].group == ch->group)
                break;
        if (r == nr) {
            memset(&rows[nr], 0, sizeof rows[nr]);
            rows[nr].bits = ch->bits;
            rows[nr].group = ch->group;
            nr++;
        }
        rows[r].tensors += g->pg->n_members;
        rows[r].params += g->pg->params;
        rows[r].bytes += ch->bytes;
        rparams[g->pg->role] += g->pg->params;
        rbytes[g->pg->role] += ch->bytes;
        rtens[g->pg->role] += g->pg->n_members;
        allp += g->pg->params;
    }
    /* rows in canonical order: bytes per param, then bits */
    for (size_t a = 0; a < nr; a++)
        for (size_t b = a + 1; b < nr; b++) {
            struct mint_qcfg x = {rows[a].bits, rows[a].group}, y = {rows[b].bits, rows[b].group};
            if (mint_quant_bytes(1u << 20, x) > mint_quant_bytes(1u << 20, y)) {
                struct row t = rows[a];
                rows[a] = rows[b];
                rows[b] = t;
            }
        }
    human(P->budget, hb, sizeof hb);
    human(total + P->reserve, hb2, sizeof hb2);
    fprintf(stderr, "mint-solve: budget %s (%" PRIu64 " bytes): %s (%" PRIu64
                    " bytes) used = data %" PRIu64 " + header reserve %" PRIu64 "\n",
            hb, P->budget, hb2, total + P->reserve, total, P->reserve);
    fprintf(stderr, "  %-8s %8s %14s %7s %14s %6s\n", "config", "tensors", "params", "params%",
            "bytes", "bpw");
    for (size_t r = 0; r < nr; r++) {
        char name[16];
        struct mint_qcfg c = {rows[r].bits, rows[r].group};
        mint_qcfg_name(c, name, sizeof name);
        fprintf(stderr, "  %-8s %8" PRIu64 " %14" PRIu64 " %6.2f%% %14" PRIu64 " %6.3f\n", name,
                rows[r].tensors, rows[r].params,
                allp ? 100.0 * (double)rows[r].params / (double)allp : 0.0, rows[r].bytes,
                rows[r].params ? 8.0 * (double)rows[r].bytes / (double)rows[r].params : 0.0);
    }
    fprintf(stderr, "  %-12s %8s %14s %14s %6s\n", "role", "tensors", "params", "bytes", "bpw");
    for (int r = 0; r < MINT_ROLE_COUNT; r++)
        if (rtens[r])
            fprintf(stderr, "  %-12s %8" PRIu64 " %14" PRIu64 " %14" PRIu64 " %6.3f\n",
                    mint_role_name((enum mint_role)r), rtens[r], rparams[r], rbytes[r],
                    rparams[r] ? 8.0 * (double)rbytes[r] / (double)rparams[r] : 0.0);
    human(P->min_safe, hb3, sizeof hb3);
    fprintf(stderr,
            "  bpw %.3f over all %" PRIu64 " written params; min-safe %s; %s solver: %s, "
            "objective %.10g, bound %.10g, gap %.3g (rel %.3g), lambda %.4g, core %zu groups, "
            "%" PRIu64 " states, %.1f ms (loss %s, weight %s, agg %s, veto %.3g dB, priors %s)\n",
            allp ? 8.0 * (double)total / (double)allp : 0.0, allp, hb3,
            o->greedy ? "greedy" : "exact", P->status, P->objective, P->bound,
            fmax(0, P->objective - P->bound),
            fmax(0, P->objective - P->bound) / fmax(fabs(P->objective), 1e-300),
            P->forced16 ? 0.0 : P->res.lambda, P->forced16 ? (size_t)0 : P->res.core_groups,
            P->forced16 ? (uint64_t)0 : P->res.max_states, P->seconds * 1e3,
            loss_names[o->loss], o->weight_params ? "params" : "none",
            P->p.agg_worst ? "worst" : "mean", o->veto_db, P->p.priors.name);
    if (P->have_greedy && !o->greedy)
        fprintf(stderr, "  greedy (MINT): objective %.10g, %.3g above the exact optimum "
                        "(rel %.3g), %.1f ms\n",
                P->greedy_objective, P->greedy_objective - P->objective,
                (P->greedy_objective - P->objective) / fmax(fabs(P->objective), 1e-300),
                P->greedy_seconds * 1e3);
    if (P->have_exact && o->greedy)
        fprintf(stderr, "  exact: objective %.10g; greedy leaves %.3g (rel %.3g), %.1f ms\n",
                P->exact_objective, P->objective - P->exact_objective,
                (P->objective - P->exact_objective) / fmax(fabs(P->exact_objective), 1e-300),
                P->greedy_seconds * 1e3);
}

/* ---------------------------------------------------------------- main */

static int parse_double(const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return end == s || *end || isnan(*out) ? -1 : 0;
}

static int usage_err(const char *fmt, const char *arg)
{
    fprintf(stderr, "mint-solve: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    fputs(usage, stderr);
    return MINT_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    struct plan P;
    struct mint_err err = {0};
    struct mint_budget bud;
    uint64_t C, total, F;
    int c, rc = 0;
    static const struct option lo[] = {{"budget", required_argument, 0, 'b'},
                                       {"veto-db", required_argument, 0, 'v'},
                                       {"solver", required_argument, 0, 's'},
                                       {"loss", required_argument, 0, 'l'},
                                       {"weight", required_argument, 0, 'w'},
                                       {"priors", required_argument, 0, 'p'},
                                       {"time-limit", required_argument, 0, 't'},
                                       {"max-states", required_argument, 0, 'm'},
                                       {"shard-size", required_argument, 0, 'S'},
                                       {"compare", no_argument, 0, 'c'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};

    memset(&P, 0, sizeof P);
    o.veto_db = 9.0;
    o.shard = MINT_BUDGET_DEFAULT_SHARD;
    while ((c = getopt_long(argc, argv, "o:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'o': o.out = optarg; break;
        case 'b': o.budget = optarg; break;
        case 'v':
            if (parse_double(optarg, &o.veto_db) < 0)
                return usage_err("--veto-db '%s': expected a number of dB", optarg);
            break;
        case 's':
            if (!strcmp(optarg, "exact"))
                o.greedy = 0;
            else if (!strcmp(optarg, "greedy"))
                o.greedy = 1;
            else
                return usage_err("--solver '%s': expected exact or greedy", optarg);
            break;
        case 'l':
            if (!strcmp(optarg, "nrmse"))
                o.loss = LOSS_NRMSE;
            else if (!strcmp(optarg, "nrmse_w"))
                o.loss = LOSS_NRMSE_W;
            else if (!strcmp(optarg, "mse"))
                o.loss = LOSS_MSE;
            else
                return usage_err("--loss '%s': expected nrmse, nrmse_w or mse", optarg);
            break;
        case 'w':
            if (!strcmp(optarg, "none"))
                o.weight_params = 0;
            else if (!strcmp(optarg, "params"))
                o.weight_params = 1;
            else
                return usage_err("--weight '%s': expected none or params", optarg);
            break;
        case 'p': o.priors = optarg; break;
        case 't':
            if (parse_double(optarg, &o.time_limit) < 0 || o.time_limit <= 0)
                return usage_err("--time-limit '%s': expected seconds > 0", optarg);
            break;
        case 'm': {
            char *end;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (end == optarg || *end || v == 0 || optarg[0] == '-')
                return usage_err("--max-states '%s': expected a positive integer", optarg);
            o.max_states = v;
            break;
        }
        case 'S':
            if (mint_size_parse(optarg, "--shard-size", &o.shard, &err) < 0) {
                fprintf(stderr, "mint-solve: %s\n", err.msg);
                fputs(usage, stderr);
                return MINT_EXIT_USAGE;
            }
            if (o.shard < 4096)
                return usage_err("--shard-size '%s': at least 4096 bytes", optarg);
            break;
        case 'c': o.compare = 1; break;
        case 'q': o.quiet = 1; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return MINT_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || !o.out || !o.budget) {
        if (!o.budget && optind + 1 == argc && o.out)
            fprintf(stderr, "mint-solve: --budget is required\n");
        fputs(usage, stderr);
        return MINT_EXIT_USAGE;
    }
    o.profile = argv[optind];
    if (mint_budget_parse(o.budget, &bud, &err) < 0) {
        fprintf(stderr, "mint-solve: %s\n", err.msg);
        fputs(usage, stderr);
        return MINT_EXIT_USAGE;
    }
    if (mint_profile_load(&P.p, o.profile, &err) < 0)
        return mint_err_report("mint-solve", &err);
    if (o.priors && apply_priors(&P.p, o.priors, &err) < 0)
        goto fail;
    if (build_groups(&P, &o, &err) < 0) {
        mint_err_prefix(&err, "%s", o.profile);
        goto fail;
    }
    header_entries(&P);

    /* the budget */
    if (least_budget(&P, P.min_q, o.shard, &P.min_safe) < 0 ||
        least_budget(&P, P.max_q, o.shard, &P.all16) < 0) {
        mint_err_set(&err, "%s: model too large (sizes above 2^63-1 bytes)", o.profile);
        goto fail;
    }
    if (bud.kind == MINT_BUDGET_BYTES) {
        P.budget = bud.bytes;
    } else if (bud.kind == MINT_BUDGET_MIN) {
        P.budget = P.min_safe;
    } else {
        uint64_t q;
        if (mint_budget_bpw_bytes(&bud, P.n_q, &q, &err) < 0)
            goto fail;
        if (least_budget(&P, q, o.shard, &P.budget) < 0) {
            mint_err_set(&err, "budget '%s': exceeds 2^63-1 bytes", bud.text);
            goto fail;
        }
    }
    if (fixed_of(&P, P.budget, o.shard, &F) < 0) {
        mint_err_set(&err, "budget '%s': exceeds 2^63-1 bytes", bud.text);
        goto fail;
    }
    P.reserve = F - P.fixed_bytes;
    if (P.budget < F || P.budget - F < P.min_q) {
        mint_budget_below_min(&err, P.budget, P.min_safe);
        goto fail;
    }
    C = P.budget - F;
    if (C >= P.max_q) {
        force16(&P, o.compare);
    } else if (run_solver(&P, &o, C, &err) < 0) {
        goto fail;
    }
    {
        json_t *doc = alloc_json(&P, &o, &total);
        MINT_ASSERT(total + P.reserve <= P.budget);
        rc = mint_json_write(o.out, doc, &err);
        json_decref(doc);
        if (rc < 0)
            goto fail;
    }
    if (!o.quiet) {
        plan_table(&P, &o, total);
        if (P.forced16) {
            char a[32];
            human(P.all16, a, sizeof a);
            fprintf(stderr, "  note: the budget reaches the all-16-bit size %s (%" PRIu64
                            " bytes): every tensor stays 16-bit\n",
                    a, P.all16);
        }
        if (P.res.status == MINT_KNAP_LIMIT && !P.forced16)
            fprintf(stderr, "  note: search limit hit; the solution is within %.3g of optimal\n",
                    P.objective - P.bound);
    }
    goto done;
fail:
    rc = mint_err_report("mint-solve", &err);
done:
    mint_knap_result_release(&P.res);
    mint_profile_groups_free(P.pg, P.ng);
    free(P.g);
    mint_profile_release(&P.p);
    return rc;
}
