/* profile.h - the merged profile (merge -> solve): every index tensor with its role, prior and
 * measured options, and the decision groups built from them (algorithm.md §7).
 *
 * JSON (profile.json, schema 1): {"schema":1, "agg":"mean"|"worst", "priors":{table},
 * "model":{"dir","n_tensors","n_params","tied","num_layers","out_dtype","configs":["2:64",..,"16"]},
 * "tensors":[{"name","hash","dtype","shape","params","role","layer","expert","mlx_name",
 *   "group_key" (null when dropped),"prior" (number or "inf"),"fixed","fixed_reason" (null, "1-D",
 *   "norm","dtype","name","unavailable","prior"),"dropped","features"?:{..},
 *   "options":[{"bits","group","bytes","sqnr_db","loss":{"nrmse","nrmse_w" (null if unknown),
 *   "mse","nrmse_worst"}}]}]} sorted by name; options are the available configurations in
 * canonical order (bytes, bits, group), the 16-bit option always present (except dropped).
 * sqnr_db is the veto statistic (the worst expert's for stacked 3-D tensors).  The structures
 * own their strings; pair _load with _release. */
#ifndef MINT_PROFILE_H
#define MINT_PROFILE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "mint/dtype.h"
#include "mint/prior.h"
#include "mint/quant.h"
#include "mint/role.h"

struct mint_err;

#define MINT_PROFILE_MAX_CONFIGS 32
#define MINT_PROFILE_MAX_DIMS 8

struct mint_popt {
    int bits, group;          /* 16, 0 = passthrough */
    uint64_t bytes;
    double nrmse, nrmse_w, mse; /* nrmse_w NAN when unknown */
    double nrmse_worst;       /* worst expert of a stacked tensor; = nrmse otherwise */
    double sqnr_db;           /* veto statistic */
};

struct mint_ptensor {
    char *name, *hash, *mlx_name, *group_key; /* mlx_name, group_key NULL when dropped */
    enum mint_dtype dtype;
    int ndim;
    int64_t shape[MINT_PROFILE_MAX_DIMS];
    uint64_t params;
    enum mint_role role;
    int64_t layer, expert;
    double prior;             /* INFINITY = 16-bit only */
    int fixed, dropped;
    char fixed_reason[16];    /* "" when not fixed */
    size_t n_opt;
    struct mint_popt *opt;
    json_t *features;         /* owned, may be NULL */
};

struct mint_profile {
    char *dir;
    uint64_t n_params;
    int tied;
    int64_t num_layers;
    enum mint_dtype out_dtype; /* BF16 or F16 */
    int agg_worst;
    struct mint_prior_table priors;
    size_t n_configs;
    struct mint_qcfg configs[MINT_PROFILE_MAX_CONFIGS];
    size_t n;
    struct mint_ptensor *t;   /* sorted by name */
};

/* A decision group: experts of one layer x projection, or one tensor. */
struct mint_pgroup {
    const char *key;          /* points into the first member */
    size_t n_members;
    size_t *members;          /* indices into profile.t, ascending */
    uint64_t params;
    enum mint_role role;
    int64_t layer;
    double prior;
    int fixed;
    size_t n_opt;
    struct mint_popt *opt;    /* bytes summed; loss aggregated (mean or worst); sqnr min */
};

/* Load a profile; the tensors are parsed one at a time (memory: the text plus the structures,
 * never the whole JSON tree). */
int  mint_profile_load(struct mint_profile *p, const char *path, struct mint_err *err);
/* Write the canonical compact text of mint_profile_to_json, tensor by tensor, atomically and
 * only if changed. */
int  mint_profile_save(const struct mint_profile *p, const char *path, struct mint_err *err);
int  mint_profile_from_json(struct mint_profile *p, const json_t *doc, const char *what,
                            struct mint_err *err);
json_t *mint_profile_to_json(const struct mint_profile *p);
void mint_profile_release(struct mint_profile *p);
void mint_ptensor_release(struct mint_ptensor *t);

/* Sort a tensor's options canonically and check them (unique, 16-bit present, finite). */
int mint_ptensor_check_options(struct mint_ptensor *t, struct mint_err *err);

/* Decision groups of the written (non-dropped) tensors, sorted by key (strcmp).  Members must
 * agree on role, layer, prior and fixedness, else an error names the group.  Options: the
 * configurations available for every member (bytes summed, loss aggregated, SQNR the minimum);
 * merge has already refused rd files whose configuration *sets* differ (pitfall 3). */
int  mint_profile_groups(const struct mint_profile *p, struct mint_pgroup **out, size_t *n,
                         struct mint_err *err);
void mint_profile_groups_free(struct mint_pgroup *g, size_t n);

/* Allowed options of a group (algorithm.md §8): 16-bit always; a quantized configuration iff
 * the group is not fixed, its prior is finite and its sqnr_db (the worst member's) >= veto_db.
 * Writes indices into g->opt (canonical order) and returns their count. */
size_t mint_pgroup_allowed(const struct mint_pgroup *g, double veto_db, int *idx);

/* Group key of a tensor: ".experts.<E>." replaced by ".experts.*." for per-expert tensors
 * (those mint_mlx_name maps to a stacked switch_mlp), else the name itself.  malloc'd. */
char *mint_profile_group_key(const char *name, int tied);

/* "2:64" / "16" */
void mint_qcfg_name(struct mint_qcfg c, char *out, size_t cap);

#endif
