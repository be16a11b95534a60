/* prior.h - importance priors π per tensor class (algorithm.md §6.2).
 *
 * Two presets, "soft" (default; the articles' table) and "mint-code" (what every MINT version
 * ships), and user tables in JSON.  π = INFINITY means "16-bit only"; in JSON it is written "inf"
 * (null is accepted on input).  Precedence: 1-D tensors and norms -> ∞; embed (a tied embedding:
 * max(embed, lm_head)), lm_head, router, vision -> their class; else layer 0 -> first_layer,
 * layer num_layers-1 -> last_layer, else roles[role] if the table sets it, else default.
 * User file: {"name"?, "base"?: "soft"|"mint-code", "embed"?, "lm_head"?, "router"?, "vision"?,
 * "first_layer"?, "last_layer"?, "default"?, "roles"?: {"attn_v": 1.5, ...}}; missing keys come
 * from the base preset (soft); unknown keys, negative values and class roles are errors. */
#ifndef MINT_PRIOR_H
#define MINT_PRIOR_H

#include <jansson.h>
#include <stdint.h>

#include "mint/role.h"

struct mint_err;

struct mint_prior_table {
    char name[128];
    double embed, lm_head, router, vision;
    double first_layer, last_layer, other;
    double role[MINT_ROLE_COUNT]; /* NAN: not set (use other) */
};

/* "soft" or "mint-code"; returns -1 for an unknown name. */
int mint_prior_preset(const char *name, struct mint_prior_table *t);
/* A preset name or a JSON file path. */
int mint_prior_load(const char *spec, struct mint_prior_table *t, struct mint_err *err);
/* Parse a table object ('what' names it in messages); the serialised form reads back. */
int mint_prior_from_json(const json_t *j, const char *what, struct mint_prior_table *t,
                         struct mint_err *err);
json_t *mint_prior_to_json(const struct mint_prior_table *t);

/* π of a tensor. ndim < 2 -> ∞. tied: the model ties embed and lm_head. */
double mint_prior_of(const struct mint_prior_table *t, enum mint_role role, int64_t layer,
                     int64_t num_layers, int ndim, int tied);

/* A prior as JSON (number, or "inf") and back (number, "inf" or null -> ∞; < 0 -> -1). */
json_t *mint_prior_value_json(double v);
int mint_prior_value_parse(const json_t *v, double *out);

#endif
