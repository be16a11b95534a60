#include "mint/prior.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mint/err.h"
#include "mint/json.h"

static void base(struct mint_prior_table *t, const char *name)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->first_layer = 3.0;
    t->last_layer = 2.0;
    t->other = 1.0;
    for (int r = 0; r < MINT_ROLE_COUNT; r++)
        t->role[r] = NAN;
}

int mint_prior_preset(const char *name, struct mint_prior_table *t)
{
    if (!strcmp(name, "soft")) {
        base(t, "soft");
        t->embed = 10.0;
        t->lm_head = 10.0;
        t->router = 8.0;
        t->vision = 8.0;
        return 0;
    }
    if (!strcmp(name, "mint-code")) {
        base(t, "mint-code");
        t->embed = INFINITY;
        t->lm_head = INFINITY;
        t->router = INFINITY;
        t->vision = 1.0;
        return 0;
    }
    return -1;
}

json_t *mint_prior_value_json(double v)
{
    return isinf(v) ? json_string("inf") : json_real(v);
}

int mint_prior_value_parse(const json_t *v, double *out)
{
    if (json_is_null(v) || (json_is_string(v) && !strcmp(json_string_value(v), "inf"))) {
        *out = INFINITY;
        return 0;
    }
    if (!json_is_number(v))
        return -1;
    *out = json_number_value(v);
    return *out >= 0 && isfinite(*out) ? 0 : -1;
}

static int is_class_role(enum mint_role r)
{
    return r == MINT_ROLE_EMBED || r == MINT_ROLE_LM_HEAD || r == MINT_ROLE_ROUTER ||
           r == MINT_ROLE_VISION || r == MINT_ROLE_NORM;
}

int mint_prior_from_json(const json_t *j, const char *what, struct mint_prior_table *t,
                         struct mint_err *err)
{
    static const char *const keys[] = {"embed",       "lm_head",    "router", "vision",
                                       "first_layer", "last_layer", "default"};
    double *slots[7];
    const char *key;
    json_t *v;
    const char *bname = "soft";

    if (!json_is_object(j))
        return mint_err_set(err, "%s: priors must be a JSON object", what);
    v = json_object_get(j, "base");
    if (v) {
        if (!json_is_string(v))
            return mint_err_set(err, "%s: \"base\" must be \"soft\" or \"mint-code\"", what);
        bname = json_string_value(v);
    }
    if (mint_prior_preset(bname, t) < 0)
        return mint_err_set(err, "%s: unknown base '%s' (soft or mint-code)", what, bname);
    slots[0] = &t->embed;
    slots[1] = &t->lm_head;
    slots[2] = &t->router;
    slots[3] = &t->vision;
    slots[4] = &t->first_layer;
    slots[5] = &t->last_layer;
    slots[6] = &t->other;
    json_object_foreach((json_t *)j, key, v) {
        size_t k;
        if (!strcmp(key, "base"))
            continue;
        if (!strcmp(key, "name")) {
            if (!json_is_string(v))
                return mint_err_set(err, "%s: \"name\" must be a string", what);
            snprintf(t->name, sizeof t->name, "%s", json_string_value(v));
            continue;
        }
        if (!strcmp(key, "roles")) {
            const char *rk;
            json_t *rv;
            if (!json_is_object(v))
                return mint_err_set(err, "%s: \"roles\" must be an object", what);
            json_object_foreach(v, rk, rv) {
                enum mint_role r = mint_role_parse(rk);
                if (r == MINT_ROLE_COUNT)
                    return mint_err_set(err, "%s: roles: unknown role '%s'", what, rk);
                if (is_class_role(r))
                    return mint_err_set(err,
                                        "%s: roles: '%s' is a class; set it at the top level%s",
                                        what, rk, r == MINT_ROLE_NORM ? " (norms are 16-bit)" : "");
                if (mint_prior_value_parse(rv, &t->role[r]) < 0)
                    return mint_err_set(err, "%s: roles: '%s': a prior is a number >= 0 or \"inf\"",
                                        what, rk);
            }
            continue;
        }
        for (k = 0; k < 7; k++)
            if (!strcmp(key, keys[k]))
                break;
        if (k == 7)
            return mint_err_set(err, "%s: unknown key '%s' (embed, lm_head, router, vision, "
                                     "first_layer, last_layer, default, roles, base, name)",
                                what, key);
        if (mint_prior_value_parse(v, slots[k]) < 0)
            return mint_err_set(err, "%s: '%s': a prior is a number >= 0 or \"inf\"", what, key);
    }
    return 0;
}

int mint_prior_load(const char *spec, struct mint_prior_table *t, struct mint_err *err)
{
    json_t *j;
    int rc;
    if (mint_prior_preset(spec, t) == 0)
        return 0;
    j = mint_json_load(spec, err);
    if (!j)
        return mint_err_prefix(err, "priors '%s' (not soft, mint-code or a readable JSON file)",
                               spec);
    rc = mint_prior_from_json(j, spec, t, err);
    if (rc == 0 && !json_object_get(j, "name"))
        snprintf(t->name, sizeof t->name, "%s", spec);
    json_decref(j);
    return rc;
}

json_t *mint_prior_to_json(const struct mint_prior_table *t)
{
    json_t *j = json_object(), *roles = json_object();
    json_object_set_new(j, "name", json_string(t->name));
    json_object_set_new(j, "embed", mint_prior_value_json(t->embed));
    json_object_set_new(j, "lm_head", mint_prior_value_json(t->lm_head));
    json_object_set_new(j, "router", mint_prior_value_json(t->router));
    json_object_set_new(j, "vision", mint_prior_value_json(t->vision));
    json_object_set_new(j, "first_layer", mint_prior_value_json(t->first_layer));
    json_object_set_new(j, "last_layer", mint_prior_value_json(t->last_layer));
    json_object_set_new(j, "default", mint_prior_value_json(t->other));
    for (int r = 0; r < MINT_ROLE_COUNT; r++)
        if (!isnan(t->role[r]))
            json_object_set_new(roles, mint_role_name((enum mint_role)r),
                                mint_prior_value_json(t->role[r]));
    json_object_set_new(j, "roles", roles);
    return j;
}

double mint_prior_of(const struct mint_prior_table *t, enum mint_role role, int64_t layer,
                     int64_t num_layers, int ndim, int tied)
{
    if (ndim < 2 || role == MINT_ROLE_NORM)
        return INFINITY;
    switch (role) {
    case MINT_ROLE_EMBED:
        return tied ? fmax(t->embed, t->lm_head) : t->embed;
    case MINT_ROLE_LM_HEAD:
        return t->lm_head;
    case MINT_ROLE_ROUTER:
        return t->router;
    case MINT_ROLE_VISION:
        return t->vision;
    default:
        break;
    }
    if (layer == 0)
        return t->first_layer;
    if (num_layers > 0 && layer == num_layers - 1)
        return t->last_layer;
    if ((int)role >= 0 && role < MINT_ROLE_COUNT && !isnan(t->role[role]))
        return t->role[role];
    return t->other;
}
