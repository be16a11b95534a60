#include "mint/profile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/err.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/mlx.h"

void mint_qcfg_name(struct mint_qcfg c, char *out, size_t cap)
{
    if (c.bits == MINT_BITS_PASSTHROUGH)
        snprintf(out, cap, "16");
    else
        snprintf(out, cap, "%d:%d", c.bits, c.group);
}

char *mint_profile_group_key(const char *name, int tied)
{
    char mlx[4096];
    int64_t e = -1;
    const char *p;
    char *key;
    int rc = mint_mlx_name(name, tied, mlx, sizeof mlx, &e);
    if (rc == 1 && e >= 0 && (p = strstr(name, ".experts."))) {
        const char *q = p + 9;
        while (*q >= '0' && *q <= '9')
            q++;
        key = malloc(strlen(name) + 4);
        if (!key)
            return NULL;
        sprintf(key, "%.*s.experts.*%s", (int)(p - name), name, q);
        return key;
    }
    return strdup(name);
}

void mint_ptensor_release(struct mint_ptensor *t)
{
    free(t->name);
    free(t->hash);
    free(t->mlx_name);
    free(t->group_key);
    free(t->opt);
    json_decref(t->features);
    memset(t, 0, sizeof *t);
}

void mint_profile_release(struct mint_profile *p)
{
    for (size_t i = 0; i < p->n; i++)
        mint_ptensor_release(&p->t[i]);
    free(p->t);
    free(p->dir);
    memset(p, 0, sizeof *p);
}

static int opt_cmp(const void *pa, const void *pb)
{
    const struct mint_popt *a = pa, *b = pb;
    if (a->bytes != b->bytes)
        return a->bytes < b->bytes ? -1 : 1;
    if (a->bits != b->bits)
        return a->bits < b->bits ? -1 : 1;
    return (a->group > b->group) - (a->group < b->group);
}

int mint_ptensor_check_options(struct mint_ptensor *t, struct mint_err *err)
{
    int has16 = 0;
    qsort(t->opt, t->n_opt, sizeof *t->opt, opt_cmp);
    for (size_t j = 0; j < t->n_opt; j++) {
        const struct mint_popt *o = &t->opt[j];
        struct mint_qcfg c = {o->bits, o->group};
        if (!mint_qcfg_valid(c))
            return mint_err_set(err, "tensor '%s': invalid configuration bits %d group %d",
                                t->name, o->bits, o->group);
        if (!isfinite(o->nrmse) || !isfinite(o->mse) || !isfinite(o->nrmse_worst) ||
            isnan(o->sqnr_db) || o->nrmse < 0 || o->mse < 0 || isinf(o->nrmse_w))
            return mint_err_set(err, "tensor '%s': configuration %d:%d: bad metrics", t->name,
                                o->bits, o->group);
        for (size_t k = 0; k < j; k++)
            if (t->opt[k].bits == o->bits && t->opt[k].group == o->group)
                return mint_err_set(err, "tensor '%s': configuration %d:%d listed twice",
                                    t->name, o->bits, o->group);
        has16 |= o->bits == MINT_BITS_PASSTHROUGH;
    }
    if (!t->dropped && !has16)
        return mint_err_set(err, "tensor '%s': no 16-bit option", t->name);
    return 0;
}

/* ---------------------------------------------------------------- JSON */

static json_t *num_or_null(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

static json_t *tensor_json(const struct mint_ptensor *t)
{
    json_t *o = json_object(), *shape = json_array(), *opts = json_array();
    for (int d = 0; d < t->ndim; d++)
        json_array_append_new(shape, json_integer(t->shape[d]));
    json_object_set_new(o, "name", json_string(t->name));
    json_object_set_new(o, "hash", t->hash ? json_string(t->hash) : json_null());
    json_object_set_new(o, "dtype", json_string(mint_dtype_name(t->dtype)));
    json_object_set_new(o, "shape", shape);
    json_object_set_new(o, "params", json_integer((json_int_t)t->params));
    json_object_set_new(o, "role", json_string(mint_role_name(t->role)));
    json_object_set_new(o, "layer", t->layer >= 0 ? json_integer(t->layer) : json_null());
    json_object_set_new(o, "expert", t->expert >= 0 ? json_integer(t->expert) : json_null());
    json_object_set_new(o, "mlx_name", t->mlx_name ? json_string(t->mlx_name) : json_null());
    json_object_set_new(o, "group_key", t->group_key ? json_string(t->group_key) : json_null());
    json_object_set_new(o, "prior", mint_prior_value_json(t->prior));
    json_object_set_new(o, "fixed", json_boolean(t->fixed));
    json_object_set_new(o, "fixed_reason",
                        t->fixed_reason[0] ? json_string(t->fixed_reason) : json_null());
    json_object_set_new(o, "dropped", json_boolean(t->dropped));
    if (t->features)
        json_object_set(o, "features", t->features);
    for (size_t j = 0; j < t->n_opt; j++) {
        const struct mint_popt *p = &t->opt[j];
        json_t *loss = json_object();
        json_object_set_new(loss, "nrmse", json_real(p->nrmse));
        json_object_set_new(loss, "nrmse_w", num_or_null(p->nrmse_w));
        json_object_set_new(loss, "mse", json_real(p->mse));
        json_object_set_new(loss, "nrmse_worst", json_real(p->nrmse_worst));
        json_array_append_new(opts, json_pack("{s:i,s:i,s:I,s:o,s:f}", "bits", p->bits,
                                              "group", p->group, "bytes", (json_int_t)p->bytes,
                                              "loss", loss, "sqnr_db", p->sqnr_db));
    }
    json_object_set_new(o, "options", opts);
    return o;
}

/* Everything but the tensors. */
static json_t *mint_profile_to_json_head(const struct mint_profile *p)
{
    json_t *doc = json_object(), *model = json_object(), *cfgs = json_array();
    for (size_t i = 0; i < p->n_configs; i++) {
        char b[16];
        mint_qcfg_name(p->configs[i], b, sizeof b);
        json_array_append_new(cfgs, json_string(b));
    }
    json_object_set_new(model, "dir", json_string(p->dir ? p->dir : ""));
    json_object_set_new(model, "n_tensors", json_integer((json_int_t)p->n));
    json_object_set_new(model, "n_params", json_integer((json_int_t)p->n_params));
    json_object_set_new(model, "tied", json_boolean(p->tied));
    json_object_set_new(model, "num_layers", json_integer(p->num_layers));
    json_object_set_new(model, "out_dtype", json_string(mint_dtype_name(p->out_dtype)));
    json_object_set_new(model, "configs", cfgs);
    json_object_set_new(doc, "schema", json_integer(1));
    json_object_set_new(doc, "agg", json_string(p->agg_worst ? "worst" : "mean"));
    json_object_set_new(doc, "priors", mint_prior_to_json(&p->priors));
    json_object_set_new(doc, "model", model);
    return doc;
}

json_t *mint_profile_to_json(const struct mint_profile *p)
{
    json_t *doc = mint_profile_to_json_head(p), *tensors = json_array();
    for (size_t i = 0; i < p->n; i++)
        json_array_append_new(tensors, tensor_json(&p->t[i]));
    json_object_set_new(doc, "tensors", tensors);
    return doc;
}

/* The compact canonical text of mint_profile_to_json, written tensor by tensor so that memory
 * stays at one tensor's JSON tree whatever the model size.  Top-level keys in sorted order:
 * agg, model, priors, schema, tensors. */
#define PROFILE_DUMP (JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17))

static int put_json(struct mint_afile *a, const char *prefix, const json_t *v, struct mint_err *err)
{
    char *t = v ? json_dumps(v, PROFILE_DUMP | JSON_ENCODE_ANY) : NULL;
    int rc;
    if (v && !t)
        return mint_err_setc(err, MINT_EXIT_IO, "cannot serialise the profile");
    rc = mint_afile_write(a, prefix, strlen(prefix), err);
    if (rc == 0 && t)
        rc = mint_afile_write(a, t, strlen(t), err);
    free(t);
    return rc;
}

int mint_profile_save(const struct mint_profile *p, const char *path, struct mint_err *err)
{
    struct mint_afile a;
    json_t *doc, *v;
    int rc = 0;

    doc = mint_profile_to_json_head(p);
    if (mint_afile_open(&a, path, err) < 0) {
        json_decref(doc);
        return -1;
    }
    rc |= put_json(&a, "{\"agg\":", json_object_get(doc, "agg"), err);
    rc |= put_json(&a, ",\"model\":", json_object_get(doc, "model"), err);
    rc |= put_json(&a, ",\"priors\":", json_object_get(doc, "priors"), err);
    rc |= put_json(&a, ",\"schema\":", json_object_get(doc, "schema"), err);
    rc |= put_json(&a, ",\"tensors\":[", NULL, err);
    json_decref(doc);
    for (size_t i = 0; i < p->n && rc == 0; i++) {
        v = tensor_json(&p->t[i]);
        rc |= put_json(&a, i ? "," : "", v, err);
        json_decref(v);
    }
    rc |= put_json(&a, "]}\n", NULL, err);
    if (rc) {
        mint_afile_abort(&a);
        return -1;
    }
    return mint_afile_commit(&a, 1, err);
}

/* Optional number: absent/null -> NAN. */
static int opt_num(const json_t *o, const char *key, double *out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = NAN;
        return 0;
    }
    if (!json_is_number(v))
        return -1;
    *out = json_number_value(v);
    return 0;
}

static int tensor_from_json(struct mint_ptensor *t, const json_t *o, const char *what,
                            struct mint_err *err)
{
    json_t *v, *shape, *opts;
    const char *s;
    int64_t iv;

    memset(t, 0, sizeof *t);
    t->layer = t->expert = -1;
    if (!json_is_object(o))
        return mint_err_set(err, "%s: tensors: expected objects", what);
    if (!(s = mint_json_get_str(o, "name", what, err)))
        return -1;
    t->name = strdup(s);
    v = json_object_get(o, "hash");
    if (json_is_string(v))
        t->hash = strdup(json_string_value(v));
    v = json_object_get(o, "dtype");
    t->dtype = json_is_string(v) ? mint_dtype_parse(json_string_value(v)) : MINT_DT_BF16;
    if (t->dtype == MINT_DT_INVALID)
        return mint_err_set(err, "%s: tensor '%s': unknown dtype", what, t->name);
    shape = json_object_get(o, "shape");
    if (!json_is_array(shape) || json_array_size(shape) > MINT_PROFILE_MAX_DIMS)
        return mint_err_set(err, "%s: tensor '%s': 'shape': expected an array", what, t->name);
    t->ndim = (int)json_array_size(shape);
    t->params = 1;
    for (int d = 0; d < t->ndim; d++) {
        json_t *x = json_array_get(shape, (size_t)d);
        if (!json_is_integer(x) || json_integer_value(x) < 0)
            return mint_err_set(err, "%s: tensor '%s': bad shape", what, t->name);
        t->shape[d] = json_integer_value(x);
        t->params *= (uint64_t)t->shape[d];
    }
    if (mint_json_get_int(o, "params", &iv, what, err) < 0)
        return mint_err_prefix(err, "tensor '%s'", t->name);
    if ((uint64_t)iv != t->params)
        return mint_err_set(err, "%s: tensor '%s': params %lld does not match its shape", what,
                            t->name, (long long)iv);
    v = json_object_get(o, "role");
    t->role = json_is_string(v) ? mint_role_parse(json_string_value(v)) : MINT_ROLE_COUNT;
    if (t->role == MINT_ROLE_COUNT)
        return mint_err_set(err, "%s: tensor '%s': unknown role", what, t->name);
    v = json_object_get(o, "layer");
    t->layer = json_is_integer(v) ? json_integer_value(v) : -1;
    v = json_object_get(o, "expert");
    t->expert = json_is_integer(v) ? json_integer_value(v) : -1;
    v = json_object_get(o, "dropped");
    t->dropped = json_is_true(v);
    v = json_object_get(o, "mlx_name");
    if (json_is_string(v))
        t->mlx_name = strdup(json_string_value(v));
    v = json_object_get(o, "group_key");
    if (json_is_string(v))
        t->group_key = strdup(json_string_value(v));
    else if (!t->dropped)
        t->group_key = strdup(t->name);
    v = json_object_get(o, "prior");
    if (!v)
        return mint_err_set(err, "%s: tensor '%s': no prior", what, t->name);
    if (mint_prior_value_parse(v, &t->prior) < 0)
        return mint_err_set(err, "%s: tensor '%s': prior must be a number >= 0 or \"inf\"",
                            what, t->name);
    v = json_object_get(o, "fixed");
    t->fixed = json_is_true(v);
    v = json_object_get(o, "fixed_reason");
    if (json_is_string(v))
        snprintf(t->fixed_reason, sizeof t->fixed_reason, "%s", json_string_value(v));
    else if (t->fixed)
        snprintf(t->fixed_reason, sizeof t->fixed_reason, "fixed");
    v = json_object_get(o, "features");
    if (json_is_object(v))
        t->features = json_incref(v);
    opts = json_object_get(o, "options");
    if (!json_is_array(opts))
        return mint_err_set(err, "%s: tensor '%s': 'options': expected an array", what, t->name);
    t->n_opt = json_array_size(opts);
    if (t->n_opt > MINT_PROFILE_MAX_CONFIGS)
        return mint_err_set(err, "%s: tensor '%s': more than %d options", what, t->name,
                            MINT_PROFILE_MAX_CONFIGS);
    t->opt = calloc(t->n_opt ? t->n_opt : 1, sizeof *t->opt);
    if (!t->opt)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    for (size_t j = 0; j < t->n_opt; j++) {
        json_t *x = json_array_get(opts, j), *loss;
        struct mint_popt *p = &t->opt[j];
        int64_t b, g, by;
        if (mint_json_get_int(x, "bits", &b, what, err) < 0 ||
            mint_json_get_int(x, "group", &g, what, err) < 0 ||
            mint_json_get_int(x, "bytes", &by, what, err) < 0)
            return mint_err_prefix(err, "tensor '%s': option %zu", t->name, j);
        p->bits = (int)b;
        p->group = (int)g;
        p->bytes = (uint64_t)by;
        loss = json_object_get(x, "loss");
        if (!json_is_object(loss) || opt_num(loss, "nrmse", &p->nrmse) < 0 ||
            opt_num(loss, "nrmse_w", &p->nrmse_w) < 0 || opt_num(loss, "mse", &p->mse) < 0 ||
            opt_num(loss, "nrmse_worst", &p->nrmse_worst) < 0 ||
            opt_num(x, "sqnr_db", &p->sqnr_db) < 0)
            return mint_err_set(err, "%s: tensor '%s': option %zu: bad loss or sqnr_db", what,
                                t->name, j);
        if (isnan(p->nrmse_worst))
            p->nrmse_worst = p->nrmse;
        if (by < 0)
            return mint_err_set(err, "%s: tensor '%s': option %zu: bad bytes", what, t->name, j);
        if (!t->dropped) {
            struct mint_qcfg c = {p->bits, p->group};
            if (mint_qcfg_valid(c) && by != (int64_t)mint_quant_bytes(t->params, c) &&
                !(c.bits == MINT_BITS_PASSTHROUGH && !mint_dtype_is_float(t->dtype)))
                return mint_err_set(err, "%s: tensor '%s': option %d:%d: bytes %lld, expected "
                                         "%llu",
                                    what, t->name, p->bits, p->group, (long long)by,
                                    (unsigned long long)mint_quant_bytes(t->params, c));
        }
    }
    if (mint_ptensor_check_options(t, err) < 0)
        return mint_err_prefix(err, "%s", what);
    return 0;
}

/* Everything but the tensors. */
static int head_from_json(struct mint_profile *p, const json_t *doc, const char *what,
                          struct mint_err *err)
{
    json_t *model, *v;
    int64_t iv;

    if (!json_is_object(doc))
        return mint_err_set(err, "%s: not a JSON object", what);
    if (mint_json_get_int(doc, "schema", &iv, what, err) < 0)
        return -1;
    if (iv != 1)
        return mint_err_set(err, "%s: schema %lld (expected 1)", what, (long long)iv);
    v = json_object_get(doc, "agg");
    if (v && !(json_is_string(v) && (!strcmp(json_string_value(v), "mean") ||
                                     !strcmp(json_string_value(v), "worst"))))
        return mint_err_set(err, "%s: 'agg': expected \"mean\" or \"worst\"", what);
    p->agg_worst = v && !strcmp(json_string_value(v), "worst");
    v = json_object_get(doc, "priors");
    if (v) {
        if (mint_prior_from_json(v, what, &p->priors, err) < 0)
            return -1;
    } else {
        mint_prior_preset("soft", &p->priors);
    }
    model = json_object_get(doc, "model");
    if (!json_is_object(model))
        return mint_err_set(err, "%s: 'model': expected an object", what);
    v = json_object_get(model, "dir");
    p->dir = strdup(json_is_string(v) ? json_string_value(v) : "");
    p->tied = json_is_true(json_object_get(model, "tied"));
    if (mint_json_get_int(model, "num_layers", &p->num_layers, what, err) < 0)
        return mint_err_prefix(err, "model");
    v = json_object_get(model, "out_dtype");
    p->out_dtype = json_is_string(v) ? mint_dtype_parse(json_string_value(v)) : MINT_DT_BF16;
    if (p->out_dtype != MINT_DT_BF16 && p->out_dtype != MINT_DT_F16)
        return mint_err_set(err, "%s: model: out_dtype must be BF16 or F16", what);
    v = json_object_get(model, "configs");
    if (json_is_array(v)) {
        size_t k;
        json_t *c;
        json_array_foreach(v, k, c) {
            if (!json_is_string(c) || k >= MINT_PROFILE_MAX_CONFIGS ||
                mint_qcfg_parse(json_string_value(c), &p->configs[k], 1) != 1)
                return mint_err_set(err, "%s: model: bad configs", what);
        }
        p->n_configs = json_array_size(v);
    }
    return 0;
}

/* Append one tensor object (checked, MLX name filled in, names strictly ascending). */
static int add_tensor(struct mint_profile *p, size_t *cap, const json_t *o, const char *what,
                      struct mint_err *err)
{
    struct mint_ptensor *t;
    if (p->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 256;
        struct mint_ptensor *nt = realloc(p->t, nc * sizeof *nt);
        if (!nt)
            return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        p->t = nt;
        *cap = nc;
    }
    t = &p->t[p->n++];
    if (tensor_from_json(t, o, what, err) < 0)
        return -1;
    p->n_params += t->params;
    if (p->n > 1 && strcmp(p->t[p->n - 2].name, t->name) >= 0)
        return mint_err_set(err, "%s: tensors not sorted by name or duplicated at '%s'", what,
                            t->name);
    if (!t->mlx_name && !t->dropped) {
        char mlx[4096];
        int64_t e;
        if (mint_mlx_name(t->name, p->tied, mlx, sizeof mlx, &e) == 1)
            t->mlx_name = strdup(mlx);
        else
            t->dropped = 1;
    }
    return 0;
}

int mint_profile_from_json(struct mint_profile *p, const json_t *doc, const char *what,
                           struct mint_err *err)
{
    json_t *tensors;
    size_t cap = 0;

    memset(p, 0, sizeof *p);
    if (head_from_json(p, doc, what, err) < 0)
        return -1;
    tensors = json_object_get(doc, "tensors");
    if (!json_is_array(tensors))
        return mint_err_set(err, "%s: 'tensors': expected an array", what);
    for (size_t i = 0; i < json_array_size(tensors); i++)
        if (add_tensor(p, &cap, json_array_get(tensors, i), what, err) < 0)
            return -1;
    return 0;
}

/* ---- streaming load: the tensors array is parsed one element at a time ---- */

static size_t skip_ws(const char *b, size_t i, size_t n)
{
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'))
        i++;
    return i;
}

/* End of the JSON value starting at i (not validated here: jansson does that), or n. */
static size_t skip_value(const char *b, size_t i, size_t n)
{
    int depth = 0;
    if (i < n && b[i] != '{' && b[i] != '[' && b[i] != '"') {
        while (i < n && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' &&
               b[i] != '\n' && b[i] != '\t' && b[i] != '\r')
            i++;
        return i;
    }
    for (; i < n; i++) {
        char c = b[i];
        if (c == '"') {
            for (i++; i < n && b[i] != '"'; i++)
                if (b[i] == '\\')
                    i++;
            if (depth == 0)
                return i + 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return i + 1;
        }
    }
    return n;
}

/* Span [*s, *e) of the top-level "tensors" array; -1 if the layout is not understood. */
static int find_tensors(const char *b, size_t n, size_t *s, size_t *e)
{
    size_t i = skip_ws(b, 0, n);
    if (i >= n || b[i] != '{')
        return -1;
    i++;
    for (;;) {
        size_t k0, k1;
        i = skip_ws(b, i, n);
        if (i >= n || b[i] != '"')
            return -1;
        k0 = i + 1;
        i = skip_value(b, i, n);
        if (i > n || i < k0 + 1)
            return -1;
        k1 = i - 1;
        i = skip_ws(b, i, n);
        if (i >= n || b[i] != ':')
            return -1;
        i = skip_ws(b, i + 1, n);
        if (i >= n)
            return -1;
        if (k1 - k0 == 7 && !memcmp(b + k0, "tensors", 7)) {
            *s = i;
            *e = skip_value(b, i, n);
            return b[i] == '[' && *e <= n && b[*e - 1] == ']' ? 0 : -1;
        }
        i = skip_ws(b, skip_value(b, i, n), n);
        if (i >= n || b[i] != ',')
            return -1;
        i++;
    }
}

int mint_profile_load(struct mint_profile *p, const char *path, struct mint_err *err)
{
    size_t len, s, e, cap = 0;
    char *buf = mint_read_file(path, &len, err);
    int rc = -1;

    memset(p, 0, sizeof *p);
    if (!buf)
        return -1;
    if (find_tensors(buf, len, &s, &e) < 0) {
        /* not the usual layout: parse it whole (and report what is wrong) */
        json_t *doc = mint_json_loadb(buf, len, path, err);
        if (doc)
            rc = mint_profile_from_json(p, doc, path, err);
        json_decref(doc);
        goto out;
    }
    {
        /* the document without its tensors: "tensors":[] */
        size_t hl = s + 2 + (len - e);
        char *head = malloc(hl + 1);
        json_t *doc;
        if (!head) {
            mint_err_setc(err, MINT_EXIT_IO, "out of memory");
            goto out;
        }
        memcpy(head, buf, s);
        memcpy(head + s, "[]", 2);
        memcpy(head + s + 2, buf + e, len - e);
        head[hl] = 0;
        doc = mint_json_loadb(head, hl, path, err);
        free(head);
        if (!doc)
            goto out;
        if (head_from_json(p, doc, path, err) < 0) {
            json_decref(doc);
            goto out;
        }
        json_decref(doc);
    }
    {
        size_t i = skip_ws(buf, s + 1, e);
        while (i < e && buf[i] != ']') {
            json_error_t je;
            json_t *o = json_loadb(buf + i, e - i,
                                   JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &je);
            if (!o) {
                mint_err_set(err, "%s: byte %zu: %s", path, i + (size_t)je.position, je.text);
                goto out;
            }
            if (add_tensor(p, &cap, o, path, err) < 0) {
                json_decref(o);
                goto out;
            }
            json_decref(o);
            i = skip_ws(buf, i + (size_t)je.position, e);
            if (i < e && buf[i] == ',')
                i = skip_ws(buf, i + 1, e);
            else if (i >= e || buf[i] != ']') {
                mint_err_set(err, "%s: byte %zu: expected ',' or ']' in 'tensors'", path, i);
                goto out;
            }
        }
    }
    rc = 0;
out:
    free(buf);
    if (rc < 0)
        mint_profile_release(p);
    return rc;
}

/* ---------------------------------------------------------------- groups */

struct keyref {
    const char *key;
    size_t idx;
};

static int keyref_cmp(const void *pa, const void *pb)
{
    const struct keyref *a = pa, *b = pb;
    int c = strcmp(a->key, b->key);
    if (c)
        return c;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

void mint_profile_groups_free(struct mint_pgroup *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(g[i].members);
        free(g[i].opt);
    }
    free(g);
}

static const struct mint_popt *find_opt(const struct mint_ptensor *t, int bits, int group)
{
    for (size_t j = 0; j < t->n_opt; j++)
        if (t->opt[j].bits == bits && t->opt[j].group == group)
            return &t->opt[j];
    return NULL;
}

int mint_profile_groups(const struct mint_profile *p, struct mint_pgroup **out, size_t *nout,
                        struct mint_err *err)
{
    struct keyref *kr = malloc((p->n ? p->n : 1) * sizeof *kr);
    struct mint_pgroup *g = calloc(p->n ? p->n : 1, sizeof *g);
    size_t nk = 0, ng = 0;

    *out = NULL;
    *nout = 0;
    if (!kr || !g) {
        free(kr);
        free(g);
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    }
    for (size_t i = 0; i < p->n; i++)
        if (!p->t[i].dropped) {
            kr[nk].key = p->t[i].group_key;
            kr[nk].idx = i;
            nk++;
        }
    qsort(kr, nk, sizeof *kr, keyref_cmp);
    for (size_t a = 0; a < nk;) {
        size_t b = a + 1;
        struct mint_pgroup *G = &g[ng++];
        const struct mint_ptensor *t0 = &p->t[kr[a].idx];
        while (b < nk && !strcmp(kr[b].key, kr[a].key))
            b++;
        G->key = t0->group_key;
        G->n_members = b - a;
        G->members = malloc(G->n_members * sizeof *G->members);
        G->n_opt = t0->n_opt;
        G->opt = calloc(G->n_opt ? G->n_opt : 1, sizeof *G->opt);
        if (!G->members || !G->opt) {
            mint_profile_groups_free(g, ng);
            free(kr);
            return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        }
        G->role = t0->role;
        G->layer = t0->layer;
        G->prior = t0->prior;
        G->fixed = t0->fixed;
        for (size_t m = a; m < b; m++) {
            const struct mint_ptensor *t = &p->t[kr[m].idx];
            G->members[m - a] = kr[m].idx;
            G->params += t->params;
            if (t->role != t0->role || t->layer != t0->layer ||
                !(t->prior == t0->prior) || t->fixed != t0->fixed) {
                mint_err_set(err, "group '%s': members '%s' and '%s' differ in role, layer, "
                                  "prior or fixedness",
                             G->key, t0->name, t->name);
                goto fail;
            }
        }
        /* options: the configurations available for every member */
        G->n_opt = 0;
        for (size_t j = 0; j < t0->n_opt; j++) {
            struct mint_popt *o = &G->opt[G->n_opt];
            double sn = 0, sw = 0, sm = 0, wn = 0, ww = 0, wm = 0, sqnr = INFINITY;
            int w_unknown = 0, everywhere = 1;
            o->bits = t0->opt[j].bits;
            o->group = t0->opt[j].group;
            for (size_t m = 0; m < G->n_members && everywhere; m++)
                everywhere = find_opt(&p->t[G->members[m]], o->bits, o->group) != NULL;
            if (!everywhere)
                continue;
            G->n_opt++;
            for (size_t m = 0; m < G->n_members; m++) {
                const struct mint_ptensor *t = &p->t[G->members[m]];
                const struct mint_popt *q = find_opt(t, o->bits, o->group);
                double n = (double)t->params;
                o->bytes += q->bytes;
                sn += n * q->nrmse;
                sw += n * (isnan(q->nrmse_w) ? 0 : q->nrmse_w);
                sm += n * q->mse;
                wn = fmax(wn, q->nrmse_worst);
                ww = fmax(ww, q->nrmse_w);
                wm = fmax(wm, q->mse);
                w_unknown |= isnan(q->nrmse_w);
                sqnr = fmin(sqnr, q->sqnr_db);
            }
            if (p->agg_worst) {
                o->nrmse = wn;
                o->nrmse_w = ww;
                o->mse = wm;
            } else if (G->params > 0) {
                o->nrmse = sn / (double)G->params;
                o->nrmse_w = sw / (double)G->params;
                o->mse = sm / (double)G->params;
            } else {
                o->nrmse = o->mse = 0;
                o->nrmse_w = 0;
            }
            if (w_unknown)
                o->nrmse_w = NAN;
            o->nrmse_worst = wn;
            o->sqnr_db = sqnr;
        }
        qsort(G->opt, G->n_opt, sizeof *G->opt, opt_cmp); /* canonical, whatever the members */
        a = b;
    }
    free(kr);
    *out = g;
    *nout = ng;
    return 0;
fail:
    mint_profile_groups_free(g, ng);
    free(kr);
    return -1;
}

size_t mint_pgroup_allowed(const struct mint_pgroup *g, double veto_db, int *idx)
{
    size_t n = 0;
    for (size_t j = 0; j < g->n_opt; j++) {
        const struct mint_popt *o = &g->opt[j];
        if (o->bits == MINT_BITS_PASSTHROUGH ||
            (!g->fixed && !isinf(g->prior) && o->sqnr_db >= veto_db))
            idx[n++] = (int)j;
    }
    return n;
}
