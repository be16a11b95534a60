/* knap.h - multiple-choice knapsack solvers for the allocator (algorithm.md §8-§9).
 *
 * An instance is n groups; group i owns options off[i] .. off[i+1]-1 of the flat arrays w
 * (bytes, >= 0) and c (cost, finite), given in canonical order (bytes ascending, then bits, then
 * group: the caller's order is the tie-break).  Choose one option per group, minimise Σ c subject
 * to Σ w <= cap.  Results are option indices relative to their group.  Everything is
 * deterministic: groups and options are visited in the given order, ties never depend on memory
 * layout.  The caller owns the instance; results own their choice array (mint_knap_result_release).
 * Infeasibility (Σ min w > cap) is a status, not an error; errors are bad instances or memory. */
#ifndef MINT_KNAP_H
#define MINT_KNAP_H

#include <stddef.h>
#include <stdint.h>

struct mint_err;

struct mint_knap {
    size_t n;           /* groups */
    const size_t *off;  /* (n + 1) option offsets */
    const int64_t *w;   /* (off[n]) bytes */
    const double *c;    /* (off[n]) costs */
};

enum mint_knap_status {
    MINT_KNAP_OPTIMAL,    /* proven optimal (within eps = 1e-12 * max(1, |UB|)) */
    MINT_KNAP_LIMIT,      /* state cap or time limit hit: best found, bound = LP */
    MINT_KNAP_HEURISTIC,  /* greedy: no optimality claim, bound = LP */
    MINT_KNAP_INFEASIBLE, /* Σ min w > cap */
};

struct mint_knap_opts {
    double time_limit;  /* seconds for the core search; <= 0: none */
    uint64_t max_states; /* cap on DP states generated in total; 0: default */
};
#define MINT_KNAP_DEFAULT_MAX_STATES 20000000ull

struct mint_knap_result {
    int status;
    int *choice;          /* (n) option index within each group */
    int64_t weight;       /* Σ w of the choice */
    double objective;     /* Σ c of the choice, summed in group order */
    double bound;         /* lower bound: objective when optimal, else lp_bound */
    double lp_bound;      /* LP relaxation value L (= Lagrangian bound at lambda) */
    double lambda;        /* critical slope λ*, 0 if the all-best choice fits */
    size_t core_groups;   /* groups left for the exact core search */
    uint64_t max_states;  /* largest DP layer */
    uint64_t states;      /* DP states generated in total */
    double ub_initial;    /* incumbent before the core search */
};

void mint_knap_result_release(struct mint_knap_result *r);
const char *mint_knap_status_name(int status);

/* Check the instance (offsets, finite costs, w >= 0, w non-decreasing within a group, no
 * empty group, Σ max w < 2^62). */
int mint_knap_check(const struct mint_knap *k, struct mint_err *err);

/* The exact solver of §9.2: dominance, hulls, LP bound, incumbent, reduction, Pareto DP. */
int mint_knap_exact(const struct mint_knap *k, int64_t cap, const struct mint_knap_opts *o,
                    struct mint_knap_result *r, struct mint_err *err);
/* MINT's allocate_greedy (§9.1), exactly; bound/lp_bound/lambda from the LP relaxation. */
int mint_knap_greedy(const struct mint_knap *k, int64_t cap, struct mint_knap_result *r,
                     struct mint_err *err);
/* Enumeration of every combination (tests only: Π options must be small). */
int mint_knap_brute(const struct mint_knap *k, int64_t cap, struct mint_knap_result *r,
                    struct mint_err *err);
/* LP relaxation only (steps 1-3): returns 0 and fills *lp, *lambda; 1 if infeasible. */
int mint_knap_lp(const struct mint_knap *k, int64_t cap, double *lp, double *lambda,
                 struct mint_err *err);

#endif
