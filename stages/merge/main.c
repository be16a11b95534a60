/* mint-merge: join the index, every tensor's rd and feature files, and the priors into one
 * profile (algorithm.md §6.2, §7; include/mint/profile.h has the format).
 *
 * usage: mint-merge INDEX [FILE... | @LISTFILE...] -o profile.json [--priors soft|mint-code|FILE]
 *                   [--agg mean|worst] [-q]
 *
 * Files are told apart by content: an rd file has "configs", a feature file does not.  A list
 * file holds paths separated by whitespace (so 20,000 tensors never hit the argument limit).
 * Refused, naming the file: a tensor not in the index, a hash that differs from the index's, a
 * second rd or feature file for one tensor, a shape, byte count or output dtype that disagrees,
 * and a configuration set that differs from the other tensors' (MINT pitfall 3: a configuration
 * missing from one tensor's RD data must be an error, never a silent veto).  A written tensor
 * without an rd file is refused too, unless it is 16-bit anyway (1-D, norm, non-float dtype, a
 * name not ending in ".weight" (only Linear/Embedding weights quantize), or prior ∞): those
 * cost 2 bytes per element (their own itemsize if not float).  Tensors pack never writes
 * (mint_mlx_name returns 0: rotary inv_freq, lm_head of a tied model) are kept with
 * "dropped": true and no options.  Decisions of this stage:
 * - Groups: per-expert tensors <p>.experts.<E>.<proj>.weight share the key
 *   <p>.experts.*.<proj>.weight; the experts must be 0..E-1 with one shape (MLX stacks them).
 * - nrmse_w absent from an rd file: equal to nrmse when the rd file names no norm (γ ≡ 1,
 *   algorithm.md §3.1), else unknown (null); solve --loss nrmse_w then refuses the tensor.
 * - The veto statistic sqnr_db is sqnr_db_worst when the rd file has it (stacked experts).
 * - The output float dtype is F16 when every float tensor of the index is F16, else BF16; an rd
 *   file with another out_dtype is refused.
 * Features are copied into the profile for reporting only; they never enter the objective. */
#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/err.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/mlx.h"
#include "mint/prior.h"
#include "mint/profile.h"
#include "mint/quant.h"
#include "mint/role.h"

static const char usage[] =
    "usage: mint-merge INDEX [FILE... | @LISTFILE...] -o profile.json "
    "[--priors soft|mint-code|FILE] [--agg mean|worst] [-q]\n";

struct files {
    char **v;
    size_t n, cap;
};

static int files_add(struct files *f, const char *s)
{
    if (f->n == f->cap) {
        size_t nc = f->cap ? 2 * f->cap : 64;
        char **nv = realloc(f->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        f->v = nv;
        f->cap = nc;
    }
    f->v[f->n] = strdup(s);
    return f->v[f->n++] ? 0 : -1;
}

static int files_add_list(struct files *f, const char *path, struct mint_err *err)
{
    size_t len;
    char *buf = mint_read_file(path, &len, err), *p;
    if (!buf)
        return mint_err_prefix(err, "list file");
    p = buf;
    for (;;) {
        char *s;
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        s = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (*p)
            *p++ = 0;
        if (files_add(f, s) < 0) {
            free(buf);
            return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        }
    }
    free(buf);
    return 0;
}

/* Per index tensor: where its rd and feature data came from. */
struct slot {
    const char *rd_file, *feat_file;
};

struct merge {
    struct mint_profile p;
    struct slot *slot;
    /* the model-wide configuration set, from the first rd file of a quantizable tensor */
    struct mint_qcfg cfg[MINT_PROFILE_MAX_CONFIGS];
    size_t n_cfg;
    const char *cfg_file;
    size_t n_rd, n_feat;
};

static int find_tensor(const struct mint_profile *p, const char *name)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(p->t[mid].name, name);
        if (c == 0)
            return (int)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* Structural reason to keep a tensor at 16 bits, or NULL. */
static const char *structural_fixed(const struct mint_ptensor *t)
{
    if (t->ndim < 2)
        return "1-D";
    if (t->role == MINT_ROLE_NORM)
        return "norm";
    if (!mint_dtype_is_float(t->dtype))
        return "dtype";
    if (!ends_with(t->name, ".weight"))
        return "name";
    return NULL;
}

static int load_index(struct merge *m, const char *path, struct mint_err *err)
{
    json_t *doc = mint_json_load(path, err), *model, *tensors, *v;
    struct mint_profile *p = &m->p;
    int64_t iv;
    int all_f16 = 1, any_float = 0;

    if (!doc)
        return -1;
    if (mint_json_get_int(doc, "schema", &iv, path, err) < 0)
        goto fail;
    if (iv != 1) {
        mint_err_set(err, "%s: schema %lld (expected 1)", path, (long long)iv);
        goto fail;
    }
    model = json_object_get(doc, "model");
    tensors = json_object_get(doc, "tensors");
    if (!json_is_object(model) || !json_is_array(tensors)) {
        mint_err_set(err, "%s: not an index (no model or tensors)", path);
        goto fail;
    }
    v = json_object_get(model, "dir");
    p->dir = strdup(json_is_string(v) ? json_string_value(v) : "");
    p->tied = json_is_true(json_object_get(model, "tied"));
    if (mint_json_get_int(model, "num_layers", &p->num_layers, path, err) < 0)
        goto fail;
    p->n = json_array_size(tensors);
    p->t = calloc(p->n ? p->n : 1, sizeof *p->t);
    m->slot = calloc(p->n ? p->n : 1, sizeof *m->slot);
    if (!p->t || !m->slot) {
        mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < p->n; i++) {
        json_t *o = json_array_get(tensors, i), *shape;
        struct mint_ptensor *t = &p->t[i];
        const char *s;
        t->layer = t->expert = -1;
        if (!(s = mint_json_get_str(o, "name", path, err)))
            goto fail;
        t->name = strdup(s);
        if (i > 0 && strcmp(p->t[i - 1].name, t->name) >= 0) {
            mint_err_set(err, "%s: tensors not sorted by name or duplicated at '%s'", path, s);
            goto fail;
        }
        if (!(s = mint_json_get_str(o, "hash", path, err)))
            goto fail;
        t->hash = strdup(s);
        if (!(s = mint_json_get_str(o, "dtype", path, err)))
            goto fail;
        t->dtype = mint_dtype_parse(s);
        if (t->dtype == MINT_DT_INVALID) {
            mint_err_set(err, "%s: tensor '%s': unknown dtype '%s'", path, t->name, s);
            goto fail;
        }
        if (mint_dtype_is_float(t->dtype)) {
            any_float = 1;
            all_f16 &= t->dtype == MINT_DT_F16;
        }
        shape = json_object_get(o, "shape");
        if (!json_is_array(shape) || json_array_size(shape) > MINT_PROFILE_MAX_DIMS) {
            mint_err_set(err, "%s: tensor '%s': bad shape", path, t->name);
            goto fail;
        }
        t->ndim = (int)json_array_size(shape);
        t->params = 1;
        for (int d = 0; d < t->ndim; d++) {
            json_t *x = json_array_get(shape, (size_t)d);
            if (!json_is_integer(x) || json_integer_value(x) < 0) {
                mint_err_set(err, "%s: tensor '%s': bad shape", path, t->name);
                goto fail;
            }
            t->shape[d] = json_integer_value(x);
            t->params *= (uint64_t)t->shape[d];
        }
        p->n_params += t->params;
        v = json_object_get(o, "role");
        t->role = json_is_string(v) ? mint_role_parse(json_string_value(v)) : MINT_ROLE_COUNT;
        if (t->role == MINT_ROLE_COUNT) {
            int64_t l, e;
            t->role = mint_role_classify(t->name, &l, &e);
        }
        v = json_object_get(o, "layer");
        t->layer = json_is_integer(v) ? json_integer_value(v) : -1;
        v = json_object_get(o, "expert");
        t->expert = json_is_integer(v) ? json_integer_value(v) : -1;
    }
    p->out_dtype = any_float && all_f16 ? MINT_DT_F16 : MINT_DT_BF16;
    json_decref(doc);
    return 0;
fail:
    json_decref(doc);
    return -1;
}

static int num_field(const json_t *o, const char *key, double *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        return -1;
    *out = json_number_value(v);
    return 0;
}

/* An rd file's configurations -> the tensor's options. */
static int take_rd(struct merge *m, struct mint_ptensor *t, const json_t *doc, const char *path,
                   struct mint_err *err)
{
    json_t *configs = json_object_get(doc, "configs"), *v, *c;
    struct mint_qcfg set[MINT_PROFILE_MAX_CONFIGS];
    size_t n, k;
    int has_norm, structural = structural_fixed(t) != NULL;

    v = json_object_get(doc, "shape");
    if (v) {
        int ok = json_is_array(v) && json_array_size(v) == (size_t)t->ndim;
        for (int d = 0; ok && d < t->ndim; d++)
            ok = json_integer_value(json_array_get(v, (size_t)d)) == t->shape[d];
        if (!ok)
            return mint_err_set(err, "%s: tensor '%s': shape differs from the index", path,
                                t->name);
    }
    v = json_object_get(doc, "params");
    if (v && (!json_is_integer(v) || (uint64_t)json_integer_value(v) != t->params))
        return mint_err_set(err, "%s: tensor '%s': params differ from the index", path, t->name);
    v = json_object_get(doc, "out_dtype");
    if (v && json_is_string(v) && mint_dtype_parse(json_string_value(v)) != m->p.out_dtype)
        return mint_err_set(err, "%s: tensor '%s': out_dtype %s differs from the model's %s",
                            path, t->name, json_string_value(v),
                            mint_dtype_name(m->p.out_dtype));
    v = json_object_get(doc, "norm");
    has_norm = v && json_is_string(v);
    if (!json_is_array(configs) || !(n = json_array_size(configs)))
        return mint_err_set(err, "%s: tensor '%s': 'configs': expected a non-empty array", path,
                            t->name);
    if (n > MINT_PROFILE_MAX_CONFIGS)
        return mint_err_set(err, "%s: tensor '%s': too many configs", path, t->name);
    t->opt = calloc(n, sizeof *t->opt);
    if (!t->opt)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    t->n_opt = 0;
    json_array_foreach(configs, k, c) {
        struct mint_popt *o = &t->opt[t->n_opt];
        json_t *av = json_object_get(c, "available");
        int64_t by;
        double worst;
        if (!json_is_object(c) || !json_is_integer(json_object_get(c, "bits")) ||
            !json_is_integer(json_object_get(c, "group")))
            return mint_err_set(err, "%s: tensor '%s': config %zu: no bits/group", path,
                                t->name, k);
        set[k].bits = (int)json_integer_value(json_object_get(c, "bits"));
        set[k].group = (int)json_integer_value(json_object_get(c, "group"));
        if (!mint_qcfg_valid(set[k]))
            return mint_err_set(err, "%s: tensor '%s': config %zu: invalid bits %d group %d",
                                path, t->name, k, set[k].bits, set[k].group);
        for (size_t q = 0; q < k; q++)
            if (set[q].bits == set[k].bits && set[q].group == set[k].group)
                return mint_err_set(err, "%s: tensor '%s': config %d:%d listed twice", path,
                                    t->name, set[k].bits, set[k].group);
        if (av && !json_is_boolean(av))
            return mint_err_set(err, "%s: tensor '%s': config %zu: 'available' must be a boolean",
                                path, t->name, k);
        if (av && json_is_false(av)) {
            if (set[k].bits == MINT_BITS_PASSTHROUGH)
                return mint_err_set(err, "%s: tensor '%s': 16-bit config marked unavailable",
                                    path, t->name);
            continue;
        }
        if (structural && set[k].bits != MINT_BITS_PASSTHROUGH)
            continue; /* 16-bit anyway: keep only that option */
        o->bits = set[k].bits;
        o->group = set[k].group;
        if (!json_is_integer(json_object_get(c, "bytes")) || num_field(c, "nrmse", &o->nrmse) ||
            num_field(c, "sqnr_db", &o->sqnr_db) || num_field(c, "mse", &o->mse))
            return mint_err_set(err, "%s: tensor '%s': config %d:%d: bytes, nrmse, sqnr_db and "
                                     "mse must be numbers",
                                path, t->name, o->bits, o->group);
        by = json_integer_value(json_object_get(c, "bytes"));
        if (by < 0 || (uint64_t)by != mint_quant_bytes(t->params, set[k]))
            return mint_err_set(err, "%s: tensor '%s': config %d:%d: bytes %lld, expected %llu",
                                path, t->name, o->bits, o->group, (long long)by,
                                (unsigned long long)mint_quant_bytes(t->params, set[k]));
        o->bytes = (uint64_t)by;
        v = json_object_get(c, "nrmse_w");
        if (json_is_number(v))
            o->nrmse_w = json_number_value(v);
        else if (!v || json_is_null(v))
            o->nrmse_w = has_norm ? NAN : o->nrmse;
        else
            return mint_err_set(err, "%s: tensor '%s': config %d:%d: bad nrmse_w", path,
                                t->name, o->bits, o->group);
        o->nrmse_worst = num_field(c, "nrmse_worst", &worst) == 0 ? worst : o->nrmse;
        if (num_field(c, "sqnr_db_worst", &worst) == 0)
            o->sqnr_db = worst;
        t->n_opt++;
    }
    if (!structural) {
        if (!m->cfg_file) {
            memcpy(m->cfg, set, n * sizeof *set);
            m->n_cfg = n;
            m->cfg_file = path;
        } else {
            int same = n == m->n_cfg;
            for (size_t q = 0; same && q < n; q++)
                same = set[q].bits == m->cfg[q].bits && set[q].group == m->cfg[q].group;
            if (!same)
                return mint_err_set(err, "%s: tensor '%s': configuration set differs from %s "
                                         "(every rd file must measure the same configurations)",
                                    path, t->name, m->cfg_file);
        }
    }
    if (mint_ptensor_check_options(t, err) < 0)
        return mint_err_prefix(err, "%s", path);
    return 0;
}

static int take_file(struct merge *m, const char *path, struct mint_err *err)
{
    json_t *doc = mint_json_load(path, err), *v;
    const char *name, *hash;
    int64_t schema;
    int i, is_rd;
    struct mint_ptensor *t;

    if (!doc)
        return -1;
    if (!json_is_object(doc)) {
        mint_err_set(err, "%s: not a JSON object", path);
        goto fail;
    }
    if (mint_json_get_int(doc, "schema", &schema, path, err) < 0)
        goto fail;
    if (schema != 1) {
        mint_err_set(err, "%s: schema %lld (expected 1)", path, (long long)schema);
        goto fail;
    }
    if (!(name = mint_json_get_str(doc, "tensor", path, err)) ||
        !(hash = mint_json_get_str(doc, "hash", path, err)))
        goto fail;
    i = find_tensor(&m->p, name);
    if (i < 0) {
        mint_err_set(err, "%s: tensor '%s' is not in the index", path, name);
        goto fail;
    }
    t = &m->p.t[i];
    if (strcmp(hash, t->hash)) {
        mint_err_set(err, "%s: tensor '%s': hash %s does not match the index (%s)", path, name,
                     hash, t->hash);
        goto fail;
    }
    is_rd = json_object_get(doc, "configs") != NULL;
    if (is_rd) {
        if (m->slot[i].rd_file) {
            mint_err_set(err, "%s: second rd file for tensor '%s' (first: %s)", path, name,
                         m->slot[i].rd_file);
            goto fail;
        }
        m->slot[i].rd_file = path;
        m->n_rd++;
        if (!t->dropped && take_rd(m, t, doc, path, err) < 0)
            goto fail;
    } else {
        const char *k;
        json_t *f;
        if (m->slot[i].feat_file) {
            mint_err_set(err, "%s: second feature file for tensor '%s' (first: %s)", path, name,
                         m->slot[i].feat_file);
            goto fail;
        }
        m->slot[i].feat_file = path;
        m->n_feat++;
        f = json_object();
        json_object_foreach(doc, k, v) {
            if (strcmp(k, "schema") && strcmp(k, "tensor") && strcmp(k, "hash"))
                json_object_set(f, k, v);
        }
        t->features = f;
    }
    json_decref(doc);
    return 0;
fail:
    json_decref(doc);
    return -1;
}

/* Per-expert groups: experts 0..E-1, one shape. */
static int check_groups(const struct mint_profile *p, struct mint_err *err)
{
    struct mint_pgroup *g;
    size_t ng;
    int rc = 0;
    if (mint_profile_groups(p, &g, &ng, err) < 0)
        return -1;
    for (size_t i = 0; i < ng && rc == 0; i++) {
        const struct mint_ptensor *t0 = &p->t[g[i].members[0]];
        unsigned char *seen;
        if (g[i].n_members == 1 && !strstr(g[i].key, ".experts.*."))
            continue;
        seen = calloc(g[i].n_members, 1);
        for (size_t k = 0; k < g[i].n_members && rc == 0; k++) {
            const struct mint_ptensor *t = &p->t[g[i].members[k]];
            if (t->ndim != t0->ndim || memcmp(t->shape, t0->shape, sizeof t->shape))
                rc = mint_err_set(err, "group '%s': experts '%s' and '%s' differ in shape",
                                  g[i].key, t0->name, t->name);
            else if (t->expert < 0 || (uint64_t)t->expert >= g[i].n_members ||
                     seen[t->expert])
                rc = mint_err_set(err, "group '%s': expert indices must be 0..%zu without gaps "
                                       "('%s')",
                                  g[i].key, g[i].n_members - 1, t->name);
            else
                seen[t->expert] = 1;
        }
        free(seen);
    }
    mint_profile_groups_free(g, ng);
    return rc;
}

static void summary(const struct merge *m)
{
    const struct mint_profile *p = &m->p;
    size_t fixed = 0, dropped = 0, quant = 0, ng = 0;
    uint64_t qparams = 0;
    struct mint_pgroup *g;
    struct mint_err err = {0};
    for (size_t i = 0; i < p->n; i++) {
        if (p->t[i].dropped)
            dropped++;
        else if (p->t[i].fixed)
            fixed++;
        else {
            quant++;
            qparams += p->t[i].params;
        }
    }
    if (mint_profile_groups(p, &g, &ng, &err) == 0)
        mint_profile_groups_free(g, ng);
    fprintf(stderr,
            "mint-merge: %zu tensors (%zu quantizable, %llu params; %zu fixed at 16-bit; %zu not "
            "written), %zu decision groups, %zu rd + %zu feature files, priors %s, agg %s\n",
            p->n, quant, (unsigned long long)qparams, fixed, dropped, ng, m->n_rd, m->n_feat,
            p->priors.name, p->agg_worst ? "worst" : "mean");
}

int main(int argc, char **argv)
{
    const char *out = NULL, *priors = "soft", *index;
    int quiet = 0, c, rc = 0;
    struct files files = {0};
    struct mint_err err = {0};
    struct merge m;
    static const struct option lo[] = {{"priors", required_argument, 0, 'p'},
                                       {"agg", required_argument, 0, 'a'},
                                       {"help", no_argument, 0, 'h'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {0, 0, 0, 0}};

    memset(&m, 0, sizeof m);
    while ((c = getopt_long(argc, argv, "o:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'p': priors = optarg; break;
        case 'a':
            if (!strcmp(optarg, "mean"))
                m.p.agg_worst = 0;
            else if (!strcmp(optarg, "worst"))
                m.p.agg_worst = 1;
            else {
                fprintf(stderr, "mint-merge: --agg '%s': expected mean or worst\n", optarg);
                fputs(usage, stderr);
                return MINT_EXIT_USAGE;
            }
            break;
        case 'q': quiet = 1; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return MINT_EXIT_USAGE;
        }
    }
    if (optind >= argc || !out) {
        fputs(usage, stderr);
        return MINT_EXIT_USAGE;
    }
    index = argv[optind];
    if (mint_prior_load(priors, &m.p.priors, &err) < 0) {
        err.code = MINT_EXIT_USAGE;
        return mint_err_report("mint-merge", &err);
    }
    {
        int agg = m.p.agg_worst;
        struct mint_prior_table pt = m.p.priors;
        if (load_index(&m, index, &err) < 0)
            goto fail;
        m.p.agg_worst = agg;
        m.p.priors = pt;
    }
    for (int i = optind + 1; i < argc; i++) {
        if (argv[i][0] == '@') {
            if (files_add_list(&files, argv[i] + 1, &err) < 0)
                goto fail;
        } else if (files_add(&files, argv[i]) < 0) {
            mint_err_setc(&err, MINT_EXIT_IO, "out of memory");
            goto fail;
        }
    }
    /* which tensors are written, and their priors (take_rd needs them) */
    for (size_t i = 0; i < m.p.n; i++) {
        struct mint_ptensor *t = &m.p.t[i];
        char mlx[4096];
        int64_t e;
        int r = mint_mlx_name(t->name, m.p.tied, mlx, sizeof mlx, &e);
        if (r < 0) {
            mint_err_set(&err, "tensor '%.200s': name too long", t->name);
            goto fail;
        }
        if (r == 0) {
            t->dropped = 1;
            t->prior = INFINITY;
            continue;
        }
        t->mlx_name = strdup(mlx);
        t->group_key = mint_profile_group_key(t->name, m.p.tied);
        t->prior = mint_prior_of(&m.p.priors, t->role, t->layer, m.p.num_layers, t->ndim,
                                 m.p.tied);
    }
    for (size_t i = 0; i < files.n; i++)
        if (take_file(&m, files.v[i], &err) < 0)
            goto fail;
    for (size_t i = 0; i < m.p.n; i++) {
        struct mint_ptensor *t = &m.p.t[i];
        const char *why = structural_fixed(t);
        int quant = 0;
        if (t->dropped)
            continue;
        if (!m.slot[i].rd_file) {
            if (!why && !isinf(t->prior)) {
                mint_err_set(&err, "tensor '%s': no rd file (only 1-D, norm, non-float and "
                                   "prior-inf tensors may go without)",
                             t->name);
                goto fail;
            }
            t->opt = calloc(1, sizeof *t->opt);
            t->n_opt = 1;
            t->opt->bits = MINT_BITS_PASSTHROUGH;
            t->opt->bytes = mint_dtype_is_float(t->dtype)
                                ? 2 * t->params
                                : t->params * mint_dtype_size(t->dtype);
            t->opt->sqnr_db = 100;
        }
        for (size_t j = 0; j < t->n_opt; j++)
            quant |= t->opt[j].bits != MINT_BITS_PASSTHROUGH;
        if (why)
            snprintf(t->fixed_reason, sizeof t->fixed_reason, "%s", why);
        else if (isinf(t->prior))
            snprintf(t->fixed_reason, sizeof t->fixed_reason, "prior");
        else if (!quant)
            snprintf(t->fixed_reason, sizeof t->fixed_reason, "unavailable");
        t->fixed = t->fixed_reason[0] != 0;
        if (why)
            t->prior = INFINITY;
    }
    if (m.cfg_file) {
        memcpy(m.p.configs, m.cfg, m.n_cfg * sizeof *m.cfg);
        m.p.n_configs = m.n_cfg;
    } else {
        m.p.n_configs = mint_qcfg_default(m.p.configs, MINT_PROFILE_MAX_CONFIGS);
    }
    if (check_groups(&m.p, &err) < 0)
        goto fail;
    {
        /* compact, canonical, streamed tensor by tensor */
        if (mint_profile_save(&m.p, out, &err) < 0)
            goto fail;
    }
    if (!quiet)
        summary(&m);
    goto done;
fail:
    rc = mint_err_report("mint-merge", &err);
done:
    for (size_t i = 0; i < files.n; i++)
        free(files.v[i]);
    free(files.v);
    free(m.slot);
    mint_profile_release(&m.p);
    return rc;
}
