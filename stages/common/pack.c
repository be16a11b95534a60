/* pack.c - allocation -> MLX model directory; and the checker for such a directory.
 *
 * Decisions where the specs leave room (documented here, binding for mint):
 * - A tensor may be quantized iff it is a ".weight" of >= 2 dimensions whose role is not
 *   "norm" (a Linear, Embedding or SwitchLinear weight in every supported family; a tensor of
 *   role "other" such as mlx-format.md §8's module "w" is treated as a Linear).  It gets a
 *   "false" config entry when kept float only if its role is embed, lm_head, attn_*, mlp_*,
 *   expert_* or router: for those mint knows the module has to_quantized.
 * - alloc.json: every index tensor exactly once; bits 16 must have group 0; "bytes" must equal
 *   the bytes pack writes for written tensors (the budget is charged exactly); "dropped": true
 *   is accepted only for the tensors MLX does not load (rotary inv_freq, a tied lm_head),
 *   which are not written whether the flag is present or not; "dropped": false on such a
 *   tensor is a contradiction and an error.
 * - Output dtype: --dtype, else alloc's out_dtype (required).  Scales, biases and float
 *   tensors are all in it; a value that overflows it is an error (exit 4), never clamped.
 * - config.json: source config from the index; tie_word_embeddings set at the top level;
 *   torch_dtype and/or dtype (whichever the source has; torch_dtype if neither) set to the
 *   output dtype; JSON written like Python's json.dump(indent=4, sort_keys=True).
 * - An existing OUT_DIR is replaced only if it is empty or looks like a packed model
 *   (model.safetensors.index.json plus mlx-format shards) and is not the source directory.
 * - Stale "<OUT_DIR>.tmp.<pid>" / "<OUT_DIR>.old.<pid>" directories whose process is gone
 *   are removed on the next run. */
#define _GNU_SOURCE
#include "mint/pack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mint/err.h"
#include "mint/hash.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/mlx.h"

#define BLOCK_ELEMS (1u << 20)          /* rows per streaming block: ~4 MiB of float32 */
#define HEADER_SOFT_MAX 25000000ull     /* huggingface_hub refuses larger remote headers */
#define MLX_META "{\"__metadata__\":{\"format\":\"mlx\"}"

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static int cfg_eq(struct mint_qcfg a, struct mint_qcfg b)
{
    return a.bits == b.bits && a.group == b.group;
}

static const char *cfg_str(struct mint_qcfg c, char *buf, size_t cap)
{
    if (c.bits == MINT_BITS_PASSTHROUGH)
        snprintf(buf, cap, "16-bit");
    else
        snprintf(buf, cap, "%d:%d", c.bits, c.group);
    return buf;
}

/* ---------------------------------------------------------------- JSON text (Python style) */

struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 4096;
        while (nc < b->n + n + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_puts(struct sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_indent(struct sbuf *b, int level)
{
    for (int i = 0; i < level; i++)
        sb_put(b, "    ", 4);
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void sb_string(struct sbuf *b, const char *s)
{
    json_t *j = json_string(s);
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
    if (!t)
        b->oom = 1;
    else
        sb_puts(b, t);
    free(t);
    json_decref(j);
}

/* The shortest digits that read back as the same double, laid out as Python's repr does:
 * fixed notation for exponents -4..15 (with ".0" on integral values), else d.ddde+XX. */
static void real_text(double v, char *out, size_t cap)
{
    char e[40], dig[24];
    int nd = 0, ex, prec;
    const char *p;
    char *q = out;

    if (v == 0) {
        snprintf(out, cap, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    for (prec = 1; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    p = e;
    if (*p == '-')
        *q++ = *p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            dig[nd++] = *p;
    ex = atoi(p + 1);
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    dig[nd] = 0;
    if (ex >= -4 && ex < 16) {
        if (ex < 0) {
            q += sprintf(q, "0.");
            for (int i = 0; i < -ex - 1; i++)
                *q++ = '0';
            q += sprintf(q, "%s", dig);
        } else {
            for (int i = 0; i <= ex; i++)
                *q++ = i < nd ? dig[i] : '0';
            *q++ = '.';
            if (nd > ex + 1)
                q += sprintf(q, "%s", dig + ex + 1);
            else
                *q++ = '0';
        }
        *q = 0;
    } else {
        *q++ = dig[0];
        if (nd > 1)
            q += sprintf(q, ".%s", dig + 1);
        sprintf(q, "e%c%02d", ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
    }
    (void)cap;
}

static void emit_json(struct sbuf *b, const json_t *v, int level)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), k = 0;
        const char **keys;
        const char *key;
        json_t *x;
        if (!n) {
            sb_puts(b, "{}");
            return;
        }
        keys = malloc(n * sizeof *keys);
        if (!keys) {
            b->oom = 1;
            return;
        }
        json_object_foreach((json_t *)v, key, x) keys[k++] = key;
        qsort(keys, n, sizeof *keys, cmp_cstr);
        sb_puts(b, "{\n");
        for (size_t i = 0; i < n; i++) {
            sb_indent(b, level + 1);
            sb_string(b, keys[i]);
            sb_puts(b, ": ");
            emit_json(b, json_object_get(v, keys[i]), level + 1);
            sb_puts(b, i + 1 < n ? ",\n" : "\n");
        }
        sb_indent(b, level);
        sb_puts(b, "}");
        free(keys);
        return;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (!n) {
            sb_puts(b, "[]");
            return;
        }
        sb_puts(b, "[\n");
        for (size_t i = 0; i < n; i++) {
            sb_indent(b, level + 1);
            emit_json(b, json_array_get(v, i), level + 1);
            sb_puts(b, i + 1 < n ? ",\n" : "\n");
        }
        sb_indent(b, level);
        sb_puts(b, "]");
        return;
    }
    case JSON_STRING:
        sb_string(b, json_string_value(v));
        return;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        sb_puts(b, num);
        return;
    case JSON_REAL:
        real_text(json_real_value(v), num, sizeof num);
        sb_puts(b, num);
        return;
    case JSON_TRUE:
        sb_puts(b, "true");
        return;
    case JSON_FALSE:
        sb_puts(b, "false");
        return;
    case JSON_NULL:
        sb_puts(b, "null");
        return;
    }
}

char *mint_pack_json_text(const json_t *doc)
{
    struct sbuf b = {0};
    emit_json(&b, doc, 0);
    sb_puts(&b, "\n");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ---------------------------------------------------------------- sizes */

int mint_pack_parse_size(const char *s, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t mul;
    } units[] = {
        {"", 1},
        {"b", 1},
        {"k", 1ull << 10},
        {"m", 1ull << 20},
        {"g", 1ull << 30},
        {"t", 1ull << 40},
        {"kib", 1ull << 10},
        {"mib", 1ull << 20},
        {"gib", 1ull << 30},
        {"tib", 1ull << 40},
        {"kb", 1000ull},
        {"mb", 1000000ull},
        {"gb", 1000000000ull},
        {"tb", 1000000000000ull},
    };
    unsigned __int128 ip = 0, fp = 0, fden = 1, v;
    const char *p = s;
    char unit[8];
    size_t ul = 0;
    int nd = 0;

    if (!s)
        return -1;
    while (*p >= '0' && *p <= '9') {
        ip = ip * 10 + (unsigned)(*p++ - '0');
        if (ip > ((unsigned __int128)1 << 64))
            return -1;
        nd++;
    }
    if (!nd)
        return -1;
    if (*p == '.') {
        int fd = 0;
        p++;
        while (*p >= '0' && *p <= '9') {
            if (fd < 30) {
                fp = fp * 10 + (unsigned)(*p - '0');
                fden *= 10;
            }
            p++;
            fd++;
        }
        if (!fd)
            return -1;
    }
    while (*p && ul + 1 < sizeof unit) {
        char c = *p++;
        unit[ul++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    if (*p)
        return -1;
    unit[ul] = 0;
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (!strcmp(unit, units[i].unit)) {
            v = ip * units[i].mul + fp * units[i].mul / fden;
            if (v > (unsigned __int128)INT64_MAX)
                return -1;
            *out = (uint64_t)v;
            return 0;
        }
    return -1;
}

/* ---------------------------------------------------------------- index and alloc */

void mint_pack_plan_release(struct mint_pack_plan *p)
{
    for (size_t i = 0; i < p->n_src; i++) {
        free(p->src[i].name);
        free(p->src[i].hash);
    }
    free(p->src);
    free(p->choice);
    for (size_t i = 0; i < p->n_items; i++) {
        free(p->items[i].name);
        free(p->items[i].module);
        free(p->items[i].src);
    }
    free(p->items);
    for (size_t i = 0; i < p->n_out; i++)
        free(p->out[i].name);
    free(p->out);
    free(p->model_dir);
    json_decref(p->config);
    memset(p, 0, sizeof *p);
}

static int cmp_src_name(const void *a, const void *b)
{
    return strcmp(((const struct mint_pack_src *)a)->name, ((const struct mint_pack_src *)b)->name);
}

int mint_pack_index_load(struct mint_pack_plan *p, const json_t *index, const char *what,
                         struct mint_err *err)
{
    json_t *model, *tensors, *v, *cfg, *tied;
    const char *dir;
    size_t i;

    memset(p, 0, sizeof *p);
    if (!json_is_object(index))
        return mint_err_set(err, "%s: not a JSON object", what);
    v = json_object_get(index, "schema");
    if (!json_is_integer(v) || json_integer_value(v) != 1)
        return mint_err_set(err, "%s: 'schema': expected 1 (an index.json from mint-index)", what);
    model = json_object_get(index, "model");
    tensors = json_object_get(index, "tensors");
    if (!json_is_object(model) || !json_is_array(tensors))
        return mint_err_set(err, "%s: expected 'model' object and 'tensors' array", what);
    dir = json_string_value(json_object_get(model, "dir"));
    cfg = json_object_get(model, "config");
    tied = json_object_get(model, "tied");
    if (!dir || !json_is_object(cfg) || !json_is_boolean(tied))
        return mint_err_set(err, "%s: 'model' needs 'dir', 'config' and 'tied'", what);
    p->model_dir = strdup(dir);
    p->config = json_deep_copy(cfg);
    p->tied = json_is_true(tied);
    p->n_src = json_array_size(tensors);
    p->src = calloc(p->n_src ? p->n_src : 1, sizeof *p->src);
    if (!p->model_dir || !p->config || !p->src) {
        mint_pack_plan_release(p);
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    }
    json_array_foreach(tensors, i, v) {
        struct mint_pack_src *s = &p->src[i];
        const char *name = json_string_value(json_object_get(v, "name"));
        const char *dt = json_string_value(json_object_get(v, "dtype"));
        const char *hash = json_string_value(json_object_get(v, "hash"));
        json_t *shape = json_object_get(v, "shape"), *x;
        size_t d;
        if (!name || !dt || !hash || !json_is_array(shape)) {
            mint_pack_plan_release(p);
            return mint_err_set(err, "%s: tensors[%zu]: needs 'name', 'dtype', 'shape', 'hash'",
                                what, i);
        }
        s->name = strdup(name);
        s->hash = strdup(hash);
        s->dtype = mint_dtype_parse(dt);
        if (!s->name || !s->hash) {
            mint_pack_plan_release(p);
            return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        }
        if (s->dtype == MINT_DT_INVALID || json_array_size(shape) > MINT_ST_MAX_DIMS) {
            mint_err_set(err, "%s: tensor '%s': bad dtype or shape", what, name);
            mint_pack_plan_release(p);
            return -1;
        }
        s->ndim = (int)json_array_size(shape);
        s->nelem = 1;
        json_array_foreach(shape, d, x) {
            if (!json_is_integer(x) || json_integer_value(x) < 0 ||
                mint_mul_u64(s->nelem, (uint64_t)json_integer_value(x), &s->nelem) < 0) {
                mint_err_set(err, "%s: tensor '%s': bad shape", what, name);
                mint_pack_plan_release(p);
                return -1;
            }
            s->shape[d] = json_integer_value(x);
        }
    }
    /* index.json is sorted by name; keep that order (binary search below relies on it) */
    qsort(p->src, p->n_src, sizeof *p->src, cmp_src_name);
    for (i = 1; i < p->n_src; i++)
        if (!strcmp(p->src[i - 1].name, p->src[i].name)) {
            mint_err_set(err, "%s: tensor '%s' listed twice", what, p->src[i].name);
            mint_pack_plan_release(p);
            return -1;
        }
    return 0;
}

/* Binary search by name in an array sorted by name whose elements start with 'char *name'
 * (struct mint_pack_src, struct mint_pack_out). */
static long find_by_name(const void *base, size_t n, size_t size, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *mn;
        memcpy(&mn, (const char *)base + mid * size, sizeof mn);
        int c = strcmp(mn, name);
        if (!c)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static long find_src(const struct mint_pack_plan *p, const char *name)
{
    return find_by_name(p->src, p->n_src, sizeof *p->src, name);
}

static int get_u64(const json_t *o, const char *key, uint64_t *out, const char *what,
                   struct mint_err *err)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return mint_err_set(err, "%s: '%s': expected a non-negative integer", what, key);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int mint_pack_alloc_load(struct mint_pack_plan *p, const json_t *alloc, enum mint_dtype dtype,
                         const char *what, struct mint_err *err)
{
    json_t *tensors, *v;
    const char *od;
    char *seen;
    size_t i;

    if (!json_is_object(alloc))
        return mint_err_set(err, "%s: not a JSON object", what);
    v = json_object_get(alloc, "schema");
    if (!json_is_integer(v) || json_integer_value(v) != 1)
        return mint_err_set(err, "%s: 'schema': expected 1", what);
    if (get_u64(alloc, "budget_bytes", &p->alloc_budget, what, err) < 0 ||
        get_u64(alloc, "total_bytes", &p->alloc_total, what, err) < 0)
        return -1;
    if (!p->alloc_budget)
        return mint_err_set(err, "%s: 'budget_bytes' is 0", what);
    od = json_string_value(json_object_get(alloc, "out_dtype"));
    if (!od || (strcmp(od, "BF16") && strcmp(od, "F16")))
        return mint_err_set(err, "%s: 'out_dtype': expected \"BF16\" or \"F16\"", what);
    p->dtype = dtype != MINT_DT_INVALID ? dtype : mint_dtype_parse(od);
    tensors = json_object_get(alloc, "tensors");
    if (!json_is_array(tensors))
        return mint_err_set(err, "%s: 'tensors': expected an array", what);
    free(p->choice);
    p->choice = calloc(p->n_src ? p->n_src : 1, sizeof *p->choice);
    seen = calloc(p->n_src ? p->n_src : 1, 1);
    if (!p->choice || !seen) {
        free(seen);
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    }
    json_array_foreach(tensors, i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        json_t *b = json_object_get(v, "bits"), *g = json_object_get(v, "group");
        json_t *dr = json_object_get(v, "dropped");
        struct mint_pack_choice *c;
        char tw[256];
        long k;
        if (!name) {
            free(seen);
            return mint_err_set(err, "%s: tensors[%zu]: no 'name'", what, i);
        }
        snprintf(tw, sizeof tw, "%s: tensor '%s'", what, name);
        k = find_src(p, name);
        if (k < 0) {
            free(seen);
            return mint_err_set(err, "%s: not in the index (unknown tensor)", tw);
        }
        if (seen[k]) {
            free(seen);
            return mint_err_set(err, "%s: listed twice", tw);
        }
        seen[k] = 1;
        c = &p->choice[k];
        if (!json_is_integer(b) || !json_is_integer(g)) {
            free(seen);
            return mint_err_set(err, "%s: 'bits' and 'group' must be integers", tw);
        }
        if (json_integer_value(b) < 0 || json_integer_value(b) > 64 ||
            json_integer_value(g) < 0 || json_integer_value(g) > 1 << 20) {
            free(seen);
            return mint_err_set(err, "%s: invalid configuration bits %" JSON_INTEGER_FORMAT
                                     " group %" JSON_INTEGER_FORMAT,
                                tw, json_integer_value(b), json_integer_value(g));
        }
        c->cfg.bits = (int)json_integer_value(b);
        c->cfg.group = (int)json_integer_value(g);
        if (!mint_qcfg_valid(c->cfg)) {
            free(seen);
            return mint_err_set(err,
                                "%s: invalid configuration bits %d group %d (bits 2,3,4,5,6,8 "
                                "with group 32,64,128, or bits 16 with group 0)",
                                tw, c->cfg.bits, c->cfg.group);
        }
        if (dr && !json_is_boolean(dr)) {
            free(seen);
            return mint_err_set(err, "%s: 'dropped' must be a boolean", tw);
        }
        c->dropped = dr ? (json_is_true(dr) ? 1 : 0) : -1;
        if (get_u64(v, "bytes", &c->bytes, tw, err) < 0) {
            free(seen);
            return -1;
        }
    }
    for (i = 0; i < p->n_src; i++)
        if (!seen[i]) {
            size_t missing = 0;
            for (size_t j = 0; j < p->n_src; j++)
                missing += !seen[j];
            free(seen);
            return mint_err_set(err, "%s: tensor '%s' of the index is missing (%zu missing)",
                                what, p->src[i].name, missing);
        }
    free(seen);
    if (mint_pack_plan_build(p, err) < 0)
        return mint_err_prefix(err, "%s", what);
    p->alloc_tensor_bytes = 0;
    for (i = 0; i < p->n_src; i++) {
        char a[16];
        uint64_t want;
        if (p->choice[i].dropped == 1)
            continue;
        want = mint_quant_bytes(p->src[i].nelem, p->choice[i].cfg);
        if (p->choice[i].bytes != want)
            return mint_err_set(err,
                                "%s: tensor '%s': 'bytes' %" PRIu64 " but %s of %" PRIu64
                                " elements writes %" PRIu64 " bytes",
                                what, p->src[i].name, p->choice[i].bytes,
                                cfg_str(p->choice[i].cfg, a, sizeof a), p->src[i].nelem, want);
        p->alloc_tensor_bytes += want;
    }
    return 0;
}

/* ---------------------------------------------------------------- plan */

struct pending {
    char *mlx;
    int64_t expert;
    size_t src;
};

static int cmp_pending(const void *a, const void *b)
{
    const struct pending *x = a, *y = b;
    int c = strcmp(x->mlx, y->mlx);
    if (c)
        return c;
    return x->expert < y->expert ? -1 : x->expert > y->expert;
}

static int cmp_out(const void *a, const void *b)
{
    return strcmp(((const struct mint_pack_out *)a)->name, ((const struct mint_pack_out *)b)->name);
}

static int role_falseable(enum mint_role r)
{
    switch (r) {
    case MINT_ROLE_EMBED: case MINT_ROLE_LM_HEAD:
    case MINT_ROLE_ATTN_Q: case MINT_ROLE_ATTN_K: case MINT_ROLE_ATTN_V: case MINT_ROLE_ATTN_O:
    case MINT_ROLE_MLP_GATE: case MINT_ROLE_MLP_UP: case MINT_ROLE_MLP_DOWN:
    case MINT_ROLE_EXPERT_GATE: case MINT_ROLE_EXPERT_UP: case MINT_ROLE_EXPERT_DOWN:
    case MINT_ROLE_ROUTER:
        return 1;
    default:
        return 0;
    }
}

static int add_out(struct mint_pack_plan *p, size_t item, int part, const char *suffix,
                   enum mint_dtype dt, int64_t last)
{
    struct mint_pack_item *it = &p->items[item];
    struct mint_pack_out *o = &p->out[p->n_out];
    size_t n = strlen(it->name) + strlen(suffix) + 1;
    o->name = malloc(n);
    if (!o->name)
        return -1;
    if (part == MINT_PACK_PART_FLOAT)
        snprintf(o->name, n, "%s", it->name);
    else
        snprintf(o->name, n, "%s%s", it->module, suffix);
    o->dtype = dt;
    o->ndim = it->ndim;
    memcpy(o->shape, it->shape, sizeof o->shape);
    if (it->ndim)
        o->shape[it->ndim - 1] = last;
    o->nbytes = mint_dtype_size(dt);
    for (int d = 0; d < o->ndim; d++)
        o->nbytes *= (uint64_t)o->shape[d]; /* bounded by the source size (checked) */
    o->item = item;
    o->part = part;
    p->n_out++;
    return 0;
}

int mint_pack_plan_build(struct mint_pack_plan *p, struct mint_err *err)
{
    struct pending *pend = NULL;
    size_t np = 0, i, j;
    char buf[4096], a[16], b[16];
    int rc = -1;

    if (p->dtype != MINT_DT_BF16 && p->dtype != MINT_DT_F16)
        return mint_err_set(err, "output dtype must be BF16 or F16");
    pend = calloc(p->n_src ? p->n_src : 1, sizeof *pend);
    if (!pend)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    for (i = 0; i < p->n_src; i++) {
        int64_t expert;
        int r = mint_mlx_name(p->src[i].name, p->tied, buf, sizeof buf, &expert);
        if (r < 0) {
            mint_err_set(err, "tensor '%s': name too long", p->src[i].name);
            goto out;
        }
        if (r == 0) {
            if (p->choice[i].dropped == 0) {
                mint_err_set(err, "tensor '%s': 'dropped' is false, but MLX does not load it "
                                  "(rotary inv_freq or the lm_head of a tied model)",
                             p->src[i].name);
                goto out;
            }
            p->choice[i].dropped = 1;
            continue;
        }
        if (p->choice[i].dropped == 1) {
            mint_err_set(err,
                         "tensor '%s': marked dropped, but the MLX model needs it (only rotary "
                         "inv_freq and a tied lm_head are not written)",
                         p->src[i].name);
            goto out;
        }
        if (!mint_dtype_is_float(p->src[i].dtype)) {
            mint_err_set(err, "tensor '%s': dtype %s cannot be written (float tensors only)",
                         p->src[i].name, mint_dtype_name(p->src[i].dtype));
            goto out;
        }
        pend[np].mlx = strdup(buf);
        pend[np].expert = expert;
        pend[np].src = i;
        if (!pend[np++].mlx) {
            mint_err_setc(err, MINT_EXIT_IO, "out of memory");
            goto out;
        }
    }
    if (!np) {
        mint_err_set(err, "no tensor to write");
        goto out;
    }
    qsort(pend, np, sizeof *pend, cmp_pending);
    p->items = calloc(np, sizeof *p->items);
    p->out = calloc(3 * np, sizeof *p->out);
    if (!p->items || !p->out) {
        mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        goto out;
    }
    for (i = 0; i < np; i = j) {
        struct mint_pack_item *it = &p->items[p->n_items];
        const struct mint_pack_src *s0 = &p->src[pend[i].src];
        struct mint_qcfg cfg = p->choice[pend[i].src].cfg;
        int64_t l, e, cols;
        for (j = i + 1; j < np && !strcmp(pend[j].mlx, pend[i].mlx); j++)
            ;
        /* members i..j-1 */
        for (size_t k = i; k < j; k++) {
            const struct mint_pack_src *s = &p->src[pend[k].src];
            if (j - i > 1 && pend[k].expert != (int64_t)(k - i)) {
                if (pend[k].expert < 0 || pend[i].expert < 0)
                    mint_err_set(err, "tensors '%s' and '%s' both map to '%s'", s0->name,
                                 s->name, pend[i].mlx);
                else
                    mint_err_set(err, "stacked module '%s': expert %lld missing or repeated "
                                      "(experts must be 0..E-1)",
                                 pend[i].mlx, (long long)(k - i));
                goto out;
            }
            if (s->ndim != s0->ndim || memcmp(s->shape, s0->shape, sizeof s->shape)) {
                mint_err_set(err, "stacked module '%s': '%s' and '%s' differ in shape",
                             pend[i].mlx, s0->name, s->name);
                goto out;
            }
            if (!cfg_eq(p->choice[pend[k].src].cfg, cfg)) {
                mint_err_set(err,
                             "stacked module '%s': '%s' is %s but '%s' is %s (all experts of "
                             "one SwitchLinear share one configuration)",
                             pend[i].mlx, s0->name, cfg_str(cfg, a, sizeof a), s->name,
                             cfg_str(p->choice[pend[k].src].cfg, b, sizeof b));
                goto out;
            }
        }
        it->name = pend[i].mlx;
        pend[i].mlx = NULL;
        it->module = malloc(strlen(it->name) + 1);
        it->src = malloc((j - i) * sizeof *it->src);
        if (!it->module || !it->src) {
            p->n_items++;
            mint_err_setc(err, MINT_EXIT_IO, "out of memory");
            goto out;
        }
        mint_mlx_module(it->name, it->module, strlen(it->name) + 1);
        it->n_src = j - i;
        for (size_t k = i; k < j; k++)
            it->src[k - i] = pend[k].src;
        it->cfg = cfg;
        it->role = mint_role_classify(s0->name, &l, &e);
        if (pend[i].expert >= 0) {
            if (s0->ndim + 1 > MINT_ST_MAX_DIMS) {
                p->n_items++;
                mint_err_set(err, "tensor '%s': too many dimensions to stack", s0->name);
                goto out;
            }
            it->ndim = s0->ndim + 1;
            it->shape[0] = (int64_t)(j - i);
            memcpy(it->shape + 1, s0->shape, (size_t)s0->ndim * sizeof *s0->shape);
        } else {
            it->ndim = s0->ndim;
            memcpy(it->shape, s0->shape, sizeof it->shape);
        }
        it->params = s0->nelem * (uint64_t)(j - i);
        p->n_items++;
        cols = s0->ndim ? s0->shape[s0->ndim - 1] : 1;
        if (ends_with(it->name, ".weight") && s0->ndim >= 2 && it->role != MINT_ROLE_NORM)
            it->flags |= MINT_PACK_QUANTIZABLE;
        if ((it->flags & MINT_PACK_QUANTIZABLE) && role_falseable(it->role))
            it->flags |= MINT_PACK_FALSEABLE;
        if ((it->flags & MINT_PACK_QUANTIZABLE) && cols > 0 && cols % 32)
            it->flags |= MINT_PACK_NOGROUP;
        if (cfg.bits != MINT_BITS_PASSTHROUGH) {
            if (!(it->flags & MINT_PACK_QUANTIZABLE)) {
                mint_err_set(err, "tensor '%s': %s, but %s cannot be quantized (%s)", s0->name,
                             cfg_str(cfg, a, sizeof a), s0->name,
                             s0->ndim < 2 ? "fewer than 2 dimensions"
                             : it->role == MINT_ROLE_NORM ? "a norm"
                                                          : "not a module weight");
                goto out;
            }
            if (!mint_qcfg_available(cfg, cols)) {
                mint_err_set(err,
                             "tensor '%s': %s is not available: group %d does not divide the "
                             "input dimension %lld",
                             s0->name, cfg_str(cfg, a, sizeof a), cfg.group, (long long)cols);
                goto out;
            }
            if (add_out(p, p->n_items - 1, MINT_PACK_PART_WEIGHT, ".weight", MINT_DT_U32,
                        cols * cfg.bits / 32) < 0 ||
                add_out(p, p->n_items - 1, MINT_PACK_PART_SCALES, ".scales", p->dtype,
                        cols / cfg.group) < 0 ||
                add_out(p, p->n_items - 1, MINT_PACK_PART_BIASES, ".biases", p->dtype,
                        cols / cfg.group) < 0) {
                mint_err_setc(err, MINT_EXIT_IO, "out of memory");
                goto out;
            }
        } else if (add_out(p, p->n_items - 1, MINT_PACK_PART_FLOAT, "", p->dtype, cols) < 0) {
            mint_err_setc(err, MINT_EXIT_IO, "out of memory");
            goto out;
        }
    }
    qsort(p->out, p->n_out, sizeof *p->out, cmp_out);
    p->data_bytes = 0;
    p->params = 0;
    for (i = 0; i < p->n_out; i++) {
        if (i && !strcmp(p->out[i - 1].name, p->out[i].name)) {
            mint_err_set(err, "two output tensors named '%s'", p->out[i].name);
            goto out;
        }
        p->data_bytes += p->out[i].nbytes;
    }
    for (i = 0; i < p->n_items; i++) {
        p->params += p->items[i].params;
        for (int k = 0; k < 4; k++)
            p->items[i].out[k] = SIZE_MAX;
    }
    for (i = 0; i < p->n_out; i++)
        p->items[p->out[i].item].out[p->out[i].part] = i;
    rc = 0;
out:
    for (i = 0; i < np; i++)
        free(pend[i].mlx);
    free(pend);
    return rc;
}

size_t mint_pack_shard_split(const uint64_t *sizes, size_t n, uint64_t limit, size_t *shard_of)
{
    size_t shard = 0;
    uint64_t cur = 0;
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        if (any && (cur + sizes[i] > limit || cur + sizes[i] < cur)) {
            shard++;
            cur = 0;
        }
        cur += sizes[i];
        any = 1;
        shard_of[i] = shard;
    }
    return n ? shard + 1 : 0;
}

int mint_pack_plan_shards(struct mint_pack_plan *p, uint64_t limit, struct mint_err *err)
{
    uint64_t *sz = calloc(p->n_out ? p->n_out : 1, sizeof *sz);
    size_t *so = malloc((p->n_out ? p->n_out : 1) * sizeof *so);
    if (!sz || !so) {
        free(sz);
        free(so);
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    }
    if (!limit)
        limit = MINT_PACK_SHARD_DEFAULT;
    for (size_t i = 0; i < p->n_out; i++)
        sz[i] = p->out[i].nbytes;
    p->n_shards = mint_pack_shard_split(sz, p->n_out, limit, so);
    for (size_t i = 0; i < p->n_out; i++)
        p->out[i].shard = so[i];
    free(sz);
    free(so);
    if (p->n_shards > 99999)
        return mint_err_set(err, "%zu shards: more than 99999 (raise --shard-size)", p->n_shards);
    return 0;
}

void mint_pack_shard_name(size_t shard, size_t n, char *out, size_t cap)
{
    if (n == 1)
        snprintf(out, cap, "model.safetensors");
    else
        snprintf(out, cap, "model-%05zu-of-%05zu.safetensors", shard + 1, n);
}

/* ---------------------------------------------------------------- config and index */

json_t *mint_pack_quant_json(const struct mint_pack_qmod *m, size_t n, struct mint_qcfg *global)
{
    struct {
        struct mint_qcfg c;
        uint64_t params;
    } tally[64];
    size_t nt = 0, best = 0;
    json_t *q;

    for (size_t i = 0; i < n; i++) {
        size_t k;
        if (m[i].cfg.bits == MINT_BITS_PASSTHROUGH)
            continue;
        for (k = 0; k < nt; k++)
            if (cfg_eq(tally[k].c, m[i].cfg))
                break;
        if (k == nt) {
            MINT_ASSERT(nt < sizeof tally / sizeof *tally);
            tally[nt].c = m[i].cfg;
            tally[nt++].params = 0;
        }
        tally[k].params += m[i].params;
    }
    if (!nt)
        return NULL;
    for (size_t k = 1; k < nt; k++) {
        const struct mint_qcfg c = tally[k].c, bc = tally[best].c;
        if (tally[k].params > tally[best].params ||
            (tally[k].params == tally[best].params &&
             (c.bits < bc.bits || (c.bits == bc.bits && c.group > bc.group))))
            best = k;
    }
    if (global)
        *global = tally[best].c;
    q = json_pack("{s:i,s:i,s:s}", "group_size", tally[best].c.group, "bits", tally[best].c.bits,
                  "mode", "affine");
    for (size_t i = 0; i < n; i++) {
        if (m[i].cfg.bits == MINT_BITS_PASSTHROUGH) {
            if (m[i].falseable)
                json_object_set_new(q, m[i].module, json_false());
        } else if (!cfg_eq(m[i].cfg, tally[best].c)) {
            json_object_set_new(q, m[i].module, json_pack("{s:i,s:i}", "group_size",
                                                          m[i].cfg.group, "bits", m[i].cfg.bits));
        }
    }
    return q;
}

static const char *dtype_torch(enum mint_dtype dt)
{
    return dt == MINT_DT_F16 ? "float16" : "bfloat16";
}

json_t *mint_pack_config(const struct mint_pack_plan *p)
{
    json_t *c = json_deep_copy(p->config), *q;
    struct mint_pack_qmod *m = calloc(p->n_items ? p->n_items : 1, sizeof *m);
    size_t n = 0;
    int has_t, has_d;

    if (!c || !m) {
        json_decref(c);
        free(m);
        return NULL;
    }
    for (size_t i = 0; i < p->n_items; i++) {
        const struct mint_pack_item *it = &p->items[i];
        if (!(it->flags & MINT_PACK_QUANTIZABLE))
            continue;
        m[n].module = it->module;
        m[n].cfg = it->cfg;
        m[n].params = it->params;
        m[n].falseable = (it->flags & MINT_PACK_FALSEABLE) != 0;
        n++;
    }
    q = mint_pack_quant_json(m, n, NULL);
    free(m);
    json_object_del(c, "quantization");
    json_object_del(c, "quantization_config");
    if (q) {
        json_object_set_new(c, "quantization_config", json_deep_copy(q));
        json_object_set_new(c, "quantization", q);
    }
    json_object_set_new(c, "tie_word_embeddings", json_boolean(p->tied));
    has_t = json_object_get(c, "torch_dtype") != NULL;
    has_d = json_object_get(c, "dtype") != NULL;
    if (has_t || !has_d)
        json_object_set_new(c, "torch_dtype", json_string(dtype_torch(p->dtype)));
    if (has_d)
        json_object_set_new(c, "dtype", json_string(dtype_torch(p->dtype)));
    return c;
}

json_t *mint_pack_index_json(const struct mint_pack_plan *p)
{
    json_t *wm = json_object();
    char fn[64];
    for (size_t i = 0; i < p->n_out; i++) {
        mint_pack_shard_name(p->out[i].shard, p->n_shards, fn, sizeof fn);
        json_object_set_new(wm, p->out[i].name, json_string(fn));
    }
    return json_pack("{s:{s:I,s:I},s:o}", "metadata", "total_size", (json_int_t)p->data_bytes,
                     "total_parameters", (json_int_t)p->params, "weight_map", wm);
}

/* ---------------------------------------------------------------- streaming one item */

/* Receives the bytes of one output tensor, at 'off' within that tensor. */
struct sink {
    int (*put)(void *ctx, size_t out, uint64_t off, const void *buf, size_t len,
               struct mint_err *err);
    void *ctx;
};

static int is_inf16(enum mint_dtype dt, uint16_t h)
{
    return dt == MINT_DT_F16 ? (h & 0x7c00) == 0x7c00 : (h & 0x7f80) == 0x7f80;
}

/* Check the source tensors of every item against the opened model (dtype, shape). */
static int match_model(const struct mint_pack_plan *p, const struct mint_st_model *m,
                       struct mint_err *err)
{
    for (size_t i = 0; i < p->n_items; i++)
        for (size_t e = 0; e < p->items[i].n_src; e++) {
            const struct mint_pack_src *s = &p->src[p->items[i].src[e]];
            const struct mint_st_tensor *t = mint_st_model_find(m, s->name);
            if (!t)
                return mint_err_set(err, "%s: tensor '%s' of the index is not in the model",
                                    m->dir, s->name);
            if (t->dtype != s->dtype || t->ndim != s->ndim ||
                memcmp(t->shape, s->shape, (size_t)s->ndim * sizeof *s->shape))
                return mint_err_set(err,
                                    "%s: tensor '%s': dtype or shape differs from the index "
                                    "(model changed since mint-index?)",
                                    m->dir, s->name);
        }
    return 0;
}

/* One worker's share of a block: rows [r0, r1) converted to float32, then quantized or
 * rounded to the output dtype, into the block buffers (disjoint rows, so threads never share
 * a byte and the result does not depend on the thread count). */
struct work {
    const struct mint_pack_item *it;
    enum mint_dtype sdt, odt;
    const unsigned char *raw; /* first byte of the block in the source */
    int64_t cols;
    size_t wpr, gpr;
    uint64_t r0, r1;
    float *f;                 /* (rows, cols) */
    uint32_t *pk;             /* (rows, wpr) */
    uint16_t *sc, *bi;        /* (rows, gpr) */
    uint16_t *h;              /* (rows, cols) */
    int64_t bad;              /* first non-finite element of the block, or -1 */
    int64_t ovf;              /* first overflow: element (float) or row*gpr+group, or -1 */
};

static void *work_run(void *arg)
{
    struct work *w = arg;
    const uint64_t c = (uint64_t)w->cols;
    const size_t isz = mint_dtype_size(w->sdt);
    int64_t bad;

    w->bad = w->ovf = -1;
    if (w->r1 <= w->r0)
        return NULL;
    bad = mint_to_f32(w->sdt, w->raw + w->r0 * c * isz, w->f + w->r0 * c,
                      (size_t)((w->r1 - w->r0) * c));
    if (bad >= 0) {
        w->bad = (int64_t)(w->r0 * c) + bad;
        return NULL;
    }
    if (w->it->cfg.bits != MINT_BITS_PASSTHROUGH) {
        for (uint64_t i = w->r0; i < w->r1; i++) {
            mint_quant_row_mlx(w->f + i * c, w->cols, w->it->cfg, w->odt, w->pk + i * w->wpr,
                               w->sc + i * w->gpr, w->bi + i * w->gpr);
            for (size_t g = 0; g < w->gpr; g++)
                if (is_inf16(w->odt, w->sc[i * w->gpr + g]) ||
                    is_inf16(w->odt, w->bi[i * w->gpr + g])) {
                    w->ovf = (int64_t)(i * w->gpr + g);
                    return NULL;
                }
        }
    } else {
        for (uint64_t k = w->r0 * c; k < w->r1 * c; k++) {
            w->h[k] = w->odt == MINT_DT_F16 ? mint_f32_to_f16(w->f[k]) : mint_f32_to_bf16(w->f[k]);
            if (is_inf16(w->odt, w->h[k])) {
                w->ovf = (int64_t)k;
                return NULL;
            }
        }
    }
    return NULL;
}

/* Run rows [0, nr) of a block on 'threads' workers (the caller's thread is one of them). */
static void work_block(struct work *w, int threads, uint64_t nr)
{
    pthread_t tid[MINT_PACK_MAX_THREADS];
    int started[MINT_PACK_MAX_THREADS] = {0};
    const uint64_t per = (nr + (uint64_t)threads - 1) / (uint64_t)threads;

    for (int t = 0; t < threads; t++) {
        if (t)
            w[t] = w[0];
        w[t].r0 = (uint64_t)t * per < nr ? (uint64_t)t * per : nr;
        w[t].r1 = w[t].r0 + per < nr ? w[t].r0 + per : nr;
    }
    for (int t = 1; t < threads; t++)
        started[t] = w[t].r1 > w[t].r0 && pthread_create(&tid[t], NULL, work_run, &w[t]) == 0;
    work_run(&w[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            work_run(&w[t]); /* no thread (or nothing to do): inline */
    }
}

/* Quantize / convert item 'ii' block by block and hand the parts whose want[part] is set to
 * the sink.  Each source tensor's bytes are hashed on the way and compared with the index. */
static int stream_item(const struct mint_pack_plan *p, const struct mint_st_model *m, size_t ii,
                       const int want[4], const struct sink *sk, int threads,
                       struct mint_err *err)
{
    const struct mint_pack_item *it = &p->items[ii];
    const struct mint_pack_src *s0 = &p->src[it->src[0]];
    const int quant = it->cfg.bits != MINT_BITS_PASSTHROUGH;
    const int64_t cols = s0->ndim ? s0->shape[s0->ndim - 1] : 1;
    const uint64_t rows = cols ? s0->nelem / (uint64_t)cols : 0;
    const uint64_t block = (uint64_t)BLOCK_ELEMS * (uint64_t)threads;
    const uint64_t brows = cols ? (block / (uint64_t)cols ? block / (uint64_t)cols : 1) : 1;
    const size_t wpr = quant ? (size_t)(cols * it->cfg.bits / 32) : 0; /* words per row */
    const size_t gpr = quant ? (size_t)(cols / it->cfg.group) : 0;     /* groups per row */
    const size_t *out_idx = it->out;
    struct work w[MINT_PACK_MAX_THREADS];
    float *f = NULL;             /* (brows, cols) */
    uint32_t *pk = NULL;         /* (brows, wpr) */
    uint16_t *sc = NULL, *bi = NULL; /* (brows, gpr) */
    uint16_t *h = NULL;          /* (brows, cols) float output */
    int rc = -1;

    MINT_ASSERT(threads >= 1 && threads <= MINT_PACK_MAX_THREADS);
    if (rows) {
        f = malloc(brows * (size_t)cols * sizeof *f);
        if (quant) {
            pk = malloc(brows * wpr * sizeof *pk);
            sc = malloc(brows * gpr * sizeof *sc);
            bi = malloc(brows * gpr * sizeof *bi);
        } else {
            h = malloc(brows * (size_t)cols * sizeof *h);
        }
        if (!f || (quant ? !pk || !sc || !bi : !h)) {
            mint_err_setc(err, MINT_EXIT_IO, "out of memory");
            goto out;
        }
    }
    for (size_t e = 0; e < it->n_src; e++) {
        const struct mint_pack_src *s = &p->src[it->src[e]];
        const struct mint_st_tensor *t = mint_st_model_find(m, s->name);
        const struct mint_map *map = &m->files[t->file].map;
        const unsigned char *data = mint_st_model_data(m, t);
        const size_t isz = mint_dtype_size(t->dtype);
        const uint64_t row0 = (uint64_t)e * rows;
        struct mint_hasher hs;
        char hex[MINT_HASH_HEX];

        if (mint_hasher_init(&hs) < 0) {
            mint_err_setc(err, MINT_EXIT_IO, "out of memory");
            goto out;
        }
        for (uint64_t r = 0; r < rows; r += brows) {
            const uint64_t nr = rows - r < brows ? rows - r : brows;
            const size_t n = (size_t)(nr * (uint64_t)cols);
            const unsigned char *raw = data + r * (uint64_t)cols * isz;
            const size_t roff = (size_t)(t->offset + r * (uint64_t)cols * isz);
            int64_t bad = -1, ovf = -1;

            mint_map_advise_seq(map, roff, n * isz);
            mint_hasher_update(&hs, raw, n * isz);
            w[0] = (struct work){it, t->dtype, p->dtype, raw, cols, wpr, gpr, 0, 0,
                                 f, pk, sc, bi, h, -1, -1};
            work_block(w, threads, nr);
            mint_map_advise_done(map, roff, n * isz);
            /* the same error whatever the thread count: non-finite input first, then overflow */
            for (int k = 0; k < threads && bad < 0; k++)
                bad = w[k].bad;
            for (int k = 0; k < threads && ovf < 0; k++)
                ovf = w[k].ovf;
            if (bad >= 0) {
                uint64_t k = r * (uint64_t)cols + (uint64_t)bad;
                mint_hasher_release(&hs);
                mint_err_set(err,
                             "tensor '%s': non-finite value at element %" PRIu64 " (row %" PRIu64
                             ", column %" PRIu64 ")",
                             s->name, k, k / (uint64_t)cols, k % (uint64_t)cols);
                goto out;
            }
            if (ovf >= 0) {
                mint_hasher_release(&hs);
                if (quant)
                    mint_err_setc(err, MINT_EXIT_NUMERIC,
                                  "tensor '%s': row %" PRIu64 " group %" PRIu64 ": scale or bias "
                                  "overflows %s (use --dtype bf16)",
                                  s->name, r + (uint64_t)ovf / gpr, (uint64_t)ovf % gpr,
                                  mint_dtype_name(p->dtype));
                else
                    mint_err_setc(err, MINT_EXIT_NUMERIC,
                                  "tensor '%s': element %" PRIu64 " (%g) overflows %s (use "
                                  "--dtype bf16)",
                                  s->name, r * (uint64_t)cols + (uint64_t)ovf, (double)f[ovf],
                                  mint_dtype_name(p->dtype));
                goto out;
            }
            if (quant) {
                if ((want[MINT_PACK_PART_WEIGHT] &&
                     sk->put(sk->ctx, out_idx[MINT_PACK_PART_WEIGHT], (row0 + r) * wpr * 4, pk,
                             (size_t)nr * wpr * 4, err) < 0) ||
                    (want[MINT_PACK_PART_SCALES] &&
                     sk->put(sk->ctx, out_idx[MINT_PACK_PART_SCALES], (row0 + r) * gpr * 2, sc,
                             (size_t)nr * gpr * 2, err) < 0) ||
                    (want[MINT_PACK_PART_BIASES] &&
                     sk->put(sk->ctx, out_idx[MINT_PACK_PART_BIASES], (row0 + r) * gpr * 2, bi,
                             (size_t)nr * gpr * 2, err) < 0)) {
                    mint_hasher_release(&hs);
                    goto out;
                }
            } else if (want[MINT_PACK_PART_FLOAT] &&
                       sk->put(sk->ctx, out_idx[MINT_PACK_PART_FLOAT],
                               (row0 + r) * (uint64_t)cols * 2, h, n * 2, err) < 0) {
                mint_hasher_release(&hs);
                goto out;
            }
        }
        mint_hasher_hex(&hs, hex);
        mint_hasher_release(&hs);
        if (strcmp(hex, s->hash)) {
            mint_err_set(err,
                         "tensor '%s': content hash %s differs from the index (%s): model "
                         "changed since mint-index?",
                         s->name, hex, s->hash);
            goto out;
        }
    }
    rc = 0;
out:
    free(f);
    free(pk);
    free(sc);
    free(bi);
    free(h);
    return rc;
}

/* ---------------------------------------------------------------- writing */

static int write_all(int fd, const void *buf, size_t len, uint64_t off, const char *path,
                     struct mint_err *err)
{
    const unsigned char *b = buf;
    while (len) {
        ssize_t w = pwrite(fd, b, len, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return mint_err_setc(err, MINT_EXIT_IO, "%s: write: %s", path, strerror(errno));
        }
        b += w;
        len -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

struct wctx {
    int fd;
    uint64_t data_start;
    const uint64_t *begin; /* (n_out) data-section offset of each output tensor */
    const char *path;
};

static int put_file(void *ctx, size_t out, uint64_t off, const void *buf, size_t len,
                    struct mint_err *err)
{
    const struct wctx *w = ctx;
    return write_all(w->fd, buf, len, w->data_start + w->begin[out] + off, w->path, err);
}

static long find_out(const struct mint_pack_plan *p, const char *name)
{
    return find_by_name(p->out, p->n_out, sizeof *p->out, name);
}

static json_t *mlx_metadata(void)
{
    return json_pack("{s:s}", "format", "mlx");
}

static int write_shard(const struct mint_pack_plan *p, const struct mint_st_model *m, size_t s,
                       const char *dir, uint64_t *begin, int threads, struct mint_err *err)
{
    struct mint_st_wentry *e = NULL;
    unsigned char *hdr = NULL, *used = NULL;
    size_t n = 0, hsz = 0;
    uint64_t dsz = 0;
    json_t *meta = mlx_metadata();
    char fn[64], *path = NULL;
    int fd = -1, rc = -1;
    struct stat sb;

    mint_pack_shard_name(s, p->n_shards, fn, sizeof fn);
    path = mint_path_join(dir, fn);
    e = calloc(p->n_out, sizeof *e);
    used = calloc(p->n_items, 1);
    if (!path || !e || !used || !meta) {
        mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < p->n_out; i++) {
        const struct mint_pack_out *o = &p->out[i];
        if (o->shard != s)
            continue;
        e[n].name = o->name;
        e[n].dtype = o->dtype;
        e[n].ndim = o->ndim;
        memcpy(e[n].shape, o->shape, sizeof o->shape);
        n++;
        used[o->item] |= (unsigned char)(1u << o->part);
    }
    if (mint_st_plan(e, n, meta, &hdr, &hsz, &dsz, err) < 0)
        goto out;
    if (hsz - 8 >= HEADER_SOFT_MAX) {
        mint_err_set(err, "%s: header of %zu bytes is too large (lower --shard-size)", fn, hsz - 8);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        long k = find_out(p, e[i].name);
        MINT_ASSERT(k >= 0 && p->out[k].nbytes == e[i].nbytes);
        begin[k] = e[i].begin;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        mint_err_setc(err, MINT_EXIT_IO, "%s: cannot create: %s", path, strerror(errno));
        goto out;
    }
    if (write_all(fd, hdr, hsz, 0, path, err) < 0)
        goto out;
    {
        struct wctx w = {fd, hsz, begin, path};
        struct sink sk = {put_file, &w};
        for (size_t i = 0; i < p->n_items; i++) {
            int want[4];
            if (!used[i])
                continue;
            for (int k = 0; k < 4; k++)
                want[k] = (used[i] >> k) & 1;
            if (stream_item(p, m, i, want, &sk, threads, err) < 0)
                goto out;
        }
    }
    if (fstat(fd, &sb) < 0 || (uint64_t)sb.st_size != hsz + dsz) {
        mint_err_setc(err, MINT_EXIT_IO, "%s: size %lld, expected %llu", path,
                      (long long)sb.st_size, (unsigned long long)(hsz + dsz));
        goto out;
    }
    if (fsync(fd) < 0) {
        mint_err_setc(err, MINT_EXIT_IO, "%s: fsync: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0 && close(fd) < 0 && rc == 0)
        rc = mint_err_setc(err, MINT_EXIT_IO, "%s: close: %s", path, strerror(errno));
    json_decref(meta);
    free(hdr);
    free(used);
    free(e);
    free(path);
    return rc;
}

static int write_new(const char *dir, const char *name, const void *buf, size_t len,
                     struct mint_err *err)
{
    char *path = mint_path_join(dir, name);
    int fd, rc;
    if (!path)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = mint_err_setc(err, MINT_EXIT_IO, "%s: cannot create: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    rc = write_all(fd, buf, len, 0, path, err);
    if (rc == 0 && fsync(fd) < 0)
        rc = mint_err_setc(err, MINT_EXIT_IO, "%s: fsync: %s", path, strerror(errno));
    if (close(fd) < 0 && rc == 0)
        rc = mint_err_setc(err, MINT_EXIT_IO, "%s: close: %s", path, strerror(errno));
    free(path);
    return rc;
}

static int write_json(const char *dir, const char *name, json_t *doc, struct mint_err *err)
{
    char *t = doc ? mint_pack_json_text(doc) : NULL;
    int rc;
    json_decref(doc);
    if (!t)
        return mint_err_setc(err, MINT_EXIT_IO, "%s: cannot serialise", name);
    rc = write_new(dir, name, t, strlen(t), err);
    free(t);
    return rc;
}

/* mlx-format.md §7: copied byte for byte when present. */
static int is_copied(const char *name)
{
    static const char *const exact[] = {
        "tokenizer.json",      "tokenizer_config.json", "special_tokens_map.json",
        "tokenizer.model",     "vocab.json",            "merges.txt",
        "added_tokens.json",   "chat_template.jinja",   "chat_template.json",
        "generation_config.json",
    };
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        if (!strcmp(name, exact[i]))
            return 1;
    return !fnmatch("*.tiktoken", name, 0) || !fnmatch("*.py", name, 0);
}

static int copy_files(const char *src, const char *dst, struct mint_err *err)
{
    DIR *d = opendir(src);
    struct dirent *de;
    int rc = 0;
    if (!d)
        return mint_err_setc(err, MINT_EXIT_IO, "%s: %s", src, strerror(errno));
    while (rc == 0 && (de = readdir(d))) {
        char *path;
        struct stat sb;
        if (de->d_name[0] == '.' || !is_copied(de->d_name))
            continue;
        path = mint_path_join(src, de->d_name);
        if (path && stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
            size_t len;
            char *buf = mint_read_file(path, &len, err);
            rc = buf ? write_new(dst, de->d_name, buf, len, err) : -1;
            free(buf);
        }
        free(path);
    }
    closedir(d);
    return rc;
}

static int fsync_dir(const char *dir, struct mint_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
    if (fd < 0)
        return mint_err_setc(err, MINT_EXIT_IO, "%s: %s", dir, strerror(errno));
    if (fsync(fd) < 0 && errno != EINVAL)
        rc = mint_err_setc(err, MINT_EXIT_IO, "%s: fsync: %s", dir, strerror(errno));
    close(fd);
    return rc;
}

/* Does the header of a safetensors file start with the MLX metadata (as MLX and mint write)? */
static int mlx_header(const char *path)
{
    char buf[8 + sizeof MLX_META];
    int fd = open(path, O_RDONLY | O_CLOEXEC), ok;
    if (fd < 0)
        return 0;
    ok = read(fd, buf, sizeof buf - 1) == (ssize_t)(sizeof buf - 1) &&
         !memcmp(buf + 8, MLX_META, sizeof MLX_META - 1);
    close(fd);
    return ok;
}

/* An existing OUT_DIR may be replaced if it is empty or holds a packed model. */
static int replaceable(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0, has_index = 0, shards = 0, bad = 0;
    if (!d)
        return 0;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        n++;
        if (!strcmp(de->d_name, "model.safetensors.index.json"))
            has_index = 1;
        if (!fnmatch("model*.safetensors", de->d_name, 0)) {
            char *p = mint_path_join(dir, de->d_name);
            if (p && mlx_header(p))
                shards++;
            else
                bad++;
            free(p);
        }
    }
    closedir(d);
    return n == 0 || (has_index && shards > 0 && !bad);
}

/* Remove "<base>.tmp.<pid>" and "<base>.old.<pid>" left by a process that is gone. */
static void clean_stale(const char *parent, const char *base)
{
    DIR *d = opendir(parent);
    struct dirent *de;
    size_t bl = strlen(base);
    if (!d)
        return;
    while ((de = readdir(d))) {
        const char *r = de->d_name;
        char *end, *path;
        long pid;
        if (strncmp(r, base, bl) || (strncmp(r + bl, ".tmp.", 5) && strncmp(r + bl, ".old.", 5)))
            continue;
        r += bl + 5;
        if (*r < '0' || *r > '9')
            continue;
        pid = strtol(r, &end, 10);
        if (*end || pid <= 0)
            continue;
        if (pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
            continue; /* a live process (maybe another mint-pack) owns it */
        path = mint_path_join(parent, de->d_name);
        if (path)
            mint_rmtree(path);
        free(path);
    }
    closedir(d);
}

static int same_dir(const char *a, const char *b)
{
    struct stat x, y;
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

static int install_dir(const char *tmp, const char *out, const char *old, struct mint_err *err)
{
    struct stat sb;
    if (lstat(out, &sb) != 0)
        return rename(tmp, out) == 0
                   ? 0
                   : mint_err_setc(err, MINT_EXIT_IO, "%s: rename: %s", out, strerror(errno));
#ifdef RENAME_EXCHANGE
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out, RENAME_EXCHANGE) == 0) {
        mint_rmtree(tmp); /* now holds the previous model */
        return 0;
    }
#endif
    if (rename(out, old) != 0)
        return mint_err_setc(err, MINT_EXIT_IO, "%s: rename: %s", out, strerror(errno));
    if (rename(tmp, out) != 0) {
        int e = errno;
        (void)rename(old, out); /* put the previous model back (else it stays under 'old') */
        return mint_err_setc(err, MINT_EXIT_IO, "%s: rename: %s", out, strerror(e));
    }
    mint_rmtree(old);
    return 0;
}

int mint_pack_write(struct mint_pack_plan *p, const struct mint_pack_opts *o,
                    struct mint_pack_report *r, struct mint_err *err)
{
    struct mint_st_model m;
    char *out = NULL, *parent = NULL, *tmp = NULL, *old = NULL;
    const char *base;
    uint64_t *begin = NULL;
    uint64_t limit = o->shard_size ? o->shard_size : MINT_PACK_SHARD_DEFAULT;
    const int threads = o->threads < 1                       ? 1
                        : o->threads > MINT_PACK_MAX_THREADS ? MINT_PACK_MAX_THREADS
                                                             : o->threads;
    struct mint_pack_report rep;
    struct stat sb;
    size_t n;
    int rc = -1, have_model = 0, made_tmp = 0;

    memset(r, 0, sizeof *r);
    if (mint_pack_plan_shards(p, limit, err) < 0)
        return -1;
    out = strdup(o->out_dir);
    if (!out)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    for (n = strlen(out); n > 1 && out[n - 1] == '/'; n--)
        out[n - 1] = 0;
    base = mint_path_base(out);
    if (!*base || !strcmp(base, ".") || !strcmp(base, "..") || !strcmp(out, "/")) {
        mint_err_set(err, "%s: not a usable output directory name", o->out_dir);
        goto done;
    }
    parent = strdup(out);
    if (!parent)
        goto oom;
    if (base == out)
        strcpy(parent, ".");
    else
        parent[base - out - (base - out > 1 ? 1 : 0)] = 0;
    tmp = malloc(strlen(out) + 32);
    old = malloc(strlen(out) + 32);
    begin = calloc(p->n_out ? p->n_out : 1, sizeof *begin);
    if (!tmp || !old || !begin)
        goto oom;
    snprintf(tmp, strlen(out) + 32, "%s.tmp.%ld", out, (long)getpid());
    snprintf(old, strlen(out) + 32, "%s.old.%ld", out, (long)getpid());

    if (mint_st_model_open(&m, p->model_dir, err) < 0)
        goto done;
    have_model = 1;
    if (match_model(p, &m, err) < 0)
        goto done;
    if (lstat(out, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) {
            mint_err_set(err, "%s: exists and is not a directory", out);
            goto done;
        }
        if (same_dir(out, p->model_dir)) {
            mint_err_set(err, "%s: is the source model directory", out);
            goto done;
        }
        if (!replaceable(out)) {
            mint_err_set(err, "%s: exists and is not a packed model (no "
                              "model.safetensors.index.json with MLX shards); not replacing it",
                         out);
            goto done;
        }
    }
    if (mint_mkdirs(parent, err) < 0)
        goto done;
    clean_stale(parent, base);
    if (mkdir(tmp, 0755) != 0) {
        mint_err_setc(err, MINT_EXIT_IO, "%s: mkdir: %s", tmp, strerror(errno));
        goto done;
    }
    made_tmp = 1;
    for (size_t s = 0; s < p->n_shards; s++) {
        if (write_shard(p, &m, s, tmp, begin, threads, err) < 0)
            goto done;
        if (o->crash_after_shard && s + 1 == (size_t)o->crash_after_shard)
            abort(); /* test hook: a crash mid-pack */
    }
    if (write_json(tmp, "model.safetensors.index.json", mint_pack_index_json(p), err) < 0 ||
        write_json(tmp, "config.json", mint_pack_config(p), err) < 0 ||
        copy_files(p->model_dir, tmp, err) < 0 || fsync_dir(tmp, err) < 0)
        goto done;
    {
        struct mint_pack_check_opts co = {0, limit, NULL, 1};
        if (mint_pack_check(tmp, &co, &rep, err) < 0) {
            mint_err_prefix(err, "internal error: the output does not validate");
            err->code = MINT_EXIT_NUMERIC;
            goto done;
        }
    }
    if (rep.data_bytes != p->data_bytes || rep.n_tensors != p->n_out || rep.params != p->params) {
        mint_err_setc(err, MINT_EXIT_NUMERIC,
                      "internal error: re-read output has %zu tensors, %" PRIu64
                      " data bytes, %" PRIu64 " parameters; planned %zu, %" PRIu64 ", %" PRIu64,
                      rep.n_tensors, rep.data_bytes, rep.params, p->n_out, p->data_bytes,
                      p->params);
        goto done;
    }
    if (p->alloc_budget && rep.file_bytes > p->alloc_budget) {
        mint_err_setc(err, MINT_EXIT_NUMERIC,
                      "internal error: model*.safetensors total %" PRIu64
                      " bytes, over the budget of %" PRIu64 " bytes by %" PRIu64
                      " (alloc.json total_bytes %" PRIu64 "); nothing written",
                      rep.file_bytes, p->alloc_budget, rep.file_bytes - p->alloc_budget,
                      p->alloc_total);
        goto done;
    }
    if (install_dir(tmp, out, old, err) < 0)
        goto done;
    made_tmp = 0;
    if (fsync_dir(parent, err) < 0)
        goto done;
    *r = rep;
    rc = 0;
    goto done;
oom:
    mint_err_setc(err, MINT_EXIT_IO, "out of memory");
done:
    if (made_tmp)
        mint_rmtree(tmp);
    if (have_model)
        mint_st_model_release(&m);
    free(begin);
    free(tmp);
    free(old);
    free(parent);
    free(out);
    return rc;
}

/* ---------------------------------------------------------------- checking */

struct ptensor {
    const struct mint_st_tensor *t;
    size_t file;
    int quant;              /* 1: a quantized module's .weight */
    struct mint_qcfg cfg;   /* effective configuration of a quantized weight */
    long scales, biases;    /* indices of the companions of a quantized weight */
    int64_t in;             /* logical input dimension of a quantized weight */
};

struct packed {
    const char *dir;
    size_t n_files;
    struct mint_st_file *files;
    size_t n;
    struct ptensor *t;      /* sorted by name */
    json_t *config;
    json_t *quant;          /* borrowed from config, NULL when absent */
    struct mint_qcfg global;
    enum mint_dtype fdt;    /* float dtype; MINT_DT_INVALID if no float tensor */
};

static void packed_release(struct packed *pk)
{
    for (size_t i = 0; i < pk->n_files; i++)
        mint_st_file_release(&pk->files[i]);
    free(pk->files);
    free(pk->t);
    json_decref(pk->config);
    memset(pk, 0, sizeof *pk);
}

static int cmp_ptensor(const void *a, const void *b)
{
    return strcmp(((const struct ptensor *)a)->t->name, ((const struct ptensor *)b)->t->name);
}

static long packed_find(const struct packed *pk, const char *name)
{
    size_t lo = 0, hi = pk->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(pk->t[mid].t->name, name);
        if (!c)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Open every model*.safetensors of dir (strictly), check names, headers, dtypes, uniqueness. */
static int packed_open(struct packed *pk, const char *dir, struct mint_err *err)
{
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t nn = 0, cap = 0, total = 0;
    json_t *meta = mlx_metadata();
    int rc = -1;

    memset(pk, 0, sizeof *pk);
    pk->dir = dir;
    d = opendir(dir);
    if (!d) {
        json_decref(meta);
        return mint_err_setc(err, MINT_EXIT_IO, "%s: %s", dir, strerror(errno));
    }
    while ((de = readdir(d))) {
        if (fnmatch("model*.safetensors", de->d_name, 0))
            continue;
        if (nn == cap) {
            char **nb = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof *names);
            if (!nb)
                break;
            names = nb;
        }
        if (!(names[nn] = strdup(de->d_name)))
            break;
        nn++;
    }
    closedir(d);
    if (nn)
        qsort(names, nn, sizeof *names, cmp_cstr);
    if (!nn) {
        mint_err_set(err, "%s: no model*.safetensors", dir);
        goto out;
    }
    for (size_t i = 0; i < nn; i++) {
        char want[64];
        mint_pack_shard_name(i, nn, want, sizeof want);
        if (strcmp(names[i], want)) {
            mint_err_set(err, "%s: shard files must be %s (found '%s' among %zu files)", dir,
                         nn == 1 ? "model.safetensors" : "model-%05d-of-%05d.safetensors",
                         names[i], nn);
            goto out;
        }
    }
    pk->files = calloc(nn, sizeof *pk->files);
    if (!pk->files)
        goto oom;
    for (size_t i = 0; i < nn; i++) {
        struct mint_st_file *f = &pk->files[i];
        char *path = mint_path_join(dir, names[i]);
        struct mint_st_wentry *e;
        unsigned char *hdr = NULL;
        size_t hsz;
        uint64_t dsz;
        int ok;
        if (!path)
            goto oom;
        ok = mint_st_file_open(f, path, err) == 0;
        free(path);
        if (!ok)
            goto out;
        pk->n_files = i + 1;
        if (!f->metadata || !json_equal(f->metadata, meta)) {
            mint_err_set(err, "%s: __metadata__ must be {\"format\": \"mlx\"}", f->path);
            goto out;
        }
        if (f->header_len >= HEADER_SOFT_MAX) {
            mint_err_set(err, "%s: header of %llu bytes (limit 25,000,000)", f->path,
                         (unsigned long long)f->header_len);
            goto out;
        }
        /* the header must be exactly the canonical one (compact, sorted, padded, data order) */
        e = calloc(f->n_tensors ? f->n_tensors : 1, sizeof *e);
        if (!e)
            goto oom;
        for (size_t k = 0; k < f->n_tensors; k++) {
            e[k].name = f->tensors[k].name;
            e[k].dtype = f->tensors[k].dtype;
            e[k].ndim = f->tensors[k].ndim;
            memcpy(e[k].shape, f->tensors[k].shape, sizeof e[k].shape);
        }
        ok = mint_st_plan(e, f->n_tensors, meta, &hdr, &hsz, &dsz, err) == 0;
        free(e);
        if (!ok)
            goto out;
        ok = hsz == f->data_start && !memcmp(hdr, f->map.data, hsz);
        free(hdr);
        if (!ok) {
            mint_err_set(err,
                         "%s: header is not canonical (compact sorted JSON, space padding to 8 "
                         "bytes, data ordered by itemsize then name)",
                         f->path);
            goto out;
        }
        total += f->n_tensors;
    }
    pk->t = calloc(total ? total : 1, sizeof *pk->t);
    if (!pk->t)
        goto oom;
    for (size_t i = 0; i < pk->n_files; i++)
        for (size_t k = 0; k < pk->files[i].n_tensors; k++) {
            struct ptensor *t = &pk->t[pk->n++];
            t->t = &pk->files[i].tensors[k];
            t->file = i;
            t->scales = t->biases = -1;
            if (t->t->dtype != MINT_DT_U32 && t->t->dtype != MINT_DT_BF16 &&
                t->t->dtype != MINT_DT_F16) {
                mint_err_set(err, "%s: tensor '%s': dtype %s (only U32, BF16, F16)",
                             pk->files[i].path, t->t->name, mint_dtype_name(t->t->dtype));
                goto out;
            }
            if (t->t->dtype != MINT_DT_U32) {
                if (pk->fdt == MINT_DT_INVALID)
                    pk->fdt = t->t->dtype;
                else if (pk->fdt != t->t->dtype) {
                    mint_err_set(err, "%s: tensor '%s': %s, but other tensors are %s",
                                 pk->files[i].path, t->t->name, mint_dtype_name(t->t->dtype),
                                 mint_dtype_name(pk->fdt));
                    goto out;
                }
            }
        }
    qsort(pk->t, pk->n, sizeof *pk->t, cmp_ptensor);
    for (size_t i = 1; i < pk->n; i++)
        if (!strcmp(pk->t[i - 1].t->name, pk->t[i].t->name)) {
            mint_err_set(err, "%s: tensor '%s' appears in %s and %s", dir, pk->t[i].t->name,
                         pk->files[pk->t[i - 1].file].name, pk->files[pk->t[i].file].name);
            goto out;
        }
    {
        char *cp = mint_path_join(dir, "config.json");
        pk->config = cp ? mint_json_load(cp, err) : NULL;
        free(cp);
        if (!pk->config)
            goto out;
        if (!json_is_object(pk->config)) {
            mint_err_set(err, "%s/config.json: not a JSON object", dir);
            goto out;
        }
    }
    rc = 0;
    goto out;
oom:
    mint_err_setc(err, MINT_EXIT_IO, "out of memory");
out:
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    json_decref(meta);
    if (rc < 0)
        packed_release(pk);
    return rc;
}

static int parse_qentry(const json_t *v, struct mint_qcfg *c)
{
    json_t *b = json_object_get(v, "bits"), *g = json_object_get(v, "group_size");
    if (!json_is_object(v) || json_object_size(v) != 2 || !json_is_integer(b) ||
        !json_is_integer(g) || json_integer_value(b) > 64 || json_integer_value(g) > 1 << 20)
        return -1;
    c->bits = (int)json_integer_value(b);
    c->group = (int)json_integer_value(g);
    return mint_qcfg_valid(*c) && c->bits != MINT_BITS_PASSTHROUGH ? 0 : -1;
}

/* Pair quantized weights with scales/biases, resolve their configuration from config.json and
 * check the config rules of mlx-format.md §5 (and §4.2 for tied models).  *params = total. */
static int packed_modules(struct packed *pk, uint64_t *params, struct mint_err *err)
{
    const char *dir = pk->dir;
    json_t *q = json_object_get(pk->config, "quantization");
    json_t *qc = json_object_get(pk->config, "quantization_config");
    json_t *tie = json_object_get(pk->config, "tie_word_embeddings"), *v;
    const char *key;
    size_t nq = 0;
    char nb[4300];
    struct {
        struct mint_qcfg c;
        uint64_t params;
    } tally[64];
    size_t nt = 0, best = 0;

    *params = 0;
    if (!json_is_boolean(tie))
        return mint_err_set(err, "%s/config.json: 'tie_word_embeddings' missing", dir);
    if (!q != !qc || (q && !json_equal(q, qc)))
        return mint_err_set(err, "%s/config.json: 'quantization' and 'quantization_config' "
                                 "must both be present and identical, or both absent",
                            dir);
    {
        json_t *td = json_object_get(pk->config, "torch_dtype");
        json_t *dd = json_object_get(pk->config, "dtype");
        const char *want = pk->fdt == MINT_DT_F16 ? "float16" : "bfloat16";
        if ((!td && !dd) || (td && (!json_is_string(td) || strcmp(json_string_value(td), want))) ||
            (dd && (!json_is_string(dd) || strcmp(json_string_value(dd), want))))
            return mint_err_set(err, "%s/config.json: torch_dtype/dtype must be \"%s\"", dir, want);
    }
    pk->quant = q;
    if (q) {
        json_t *m = json_object_get(q, "mode");
        struct mint_qcfg g;
        json_t *gq = json_pack("{s:O,s:O}", "bits", json_object_get(q, "bits"), "group_size",
                               json_object_get(q, "group_size"));
        int ok = gq && parse_qentry(gq, &g) == 0;
        json_decref(gq);
        if (!ok || !json_is_string(m) || strcmp(json_string_value(m), "affine"))
            return mint_err_set(err, "%s/config.json: quantization: need valid 'bits', "
                                     "'group_size' and \"mode\": \"affine\"",
                                dir);
        pk->global = g;
        json_object_foreach(q, key, v) {
            struct mint_qcfg c;
            if (!strcmp(key, "bits") || !strcmp(key, "group_size") || !strcmp(key, "mode"))
                continue;
            if (!json_is_false(v) && parse_qentry(v, &c) < 0)
                return mint_err_set(err,
                                    "%s/config.json: quantization: '%s': expected false or "
                                    "{\"group_size\": G, \"bits\": B}",
                                    dir, key);
        }
    }
    for (size_t i = 0; i < pk->n; i++) {
        struct ptensor *t = &pk->t[i];
        const char *name = t->t->name;
        size_t len = strlen(name);
        if (t->t->dtype == MINT_DT_U32) {
            long s, b;
            int64_t lead = 1, W, S;
            json_t *ent;
            char mod[4200];
            if (!ends_with(name, ".weight") || len - 7 >= sizeof mod)
                return mint_err_set(err, "%s: U32 tensor '%s' is not a module weight", dir, name);
            snprintf(mod, sizeof mod, "%.*s", (int)(len - 7), name);
            snprintf(nb, sizeof nb, "%s.scales", mod);
            s = packed_find(pk, nb);
            snprintf(nb, sizeof nb, "%s.biases", mod);
            b = packed_find(pk, nb);
            if (s < 0 || b < 0)
                return mint_err_set(err, "%s: quantized '%s' needs '%s.scales' and '%s.biases'",
                                    dir, name, mod, mod);
            if (pk->t[s].t->ndim != t->t->ndim || pk->t[b].t->ndim != t->t->ndim ||
                t->t->ndim < 2 ||
                memcmp(pk->t[s].t->shape, pk->t[b].t->shape, sizeof t->t->shape) ||
                memcmp(pk->t[s].t->shape, t->t->shape,
                       (size_t)(t->t->ndim - 1) * sizeof *t->t->shape))
                return mint_err_set(err, "%s: module '%s': weight, scales and biases shapes "
                                         "do not match",
                                    dir, mod);
            if (!q)
                return mint_err_set(err, "%s: module '%s' is quantized but config.json has no "
                                         "'quantization'",
                                    dir, mod);
            ent = json_object_get(q, mod);
            if (json_is_false(ent))
                return mint_err_set(err, "%s/config.json: module '%s' is quantized but its "
                                         "entry is false",
                                    dir, mod);
            t->cfg = pk->global;
            if (ent) {
                parse_qentry(ent, &t->cfg);
                if (cfg_eq(t->cfg, pk->global))
                    return mint_err_set(err, "%s/config.json: module '%s' has an entry equal "
                                             "to the global default",
                                        dir, mod);
            }
            {
                int64_t l, e;
                if (mint_role_classify(name, &l, &e) == MINT_ROLE_NORM)
                    return mint_err_set(err, "%s: norm '%s' is quantized", dir, mod);
            }
            W = t->t->shape[t->t->ndim - 1];
            S = pk->t[s].t->shape[t->t->ndim - 1];
            if ((W * 32) % t->cfg.bits || (W * 32 / t->cfg.bits) != S * t->cfg.group || S <= 0) {
                char a[16];
                return mint_err_set(err,
                                    "%s: module '%s': weight last dim %lld and scales last dim "
                                    "%lld do not fit %s",
                                    dir, mod, (long long)W, (long long)S,
                                    cfg_str(t->cfg, a, sizeof a));
            }
            t->in = W * 32 / t->cfg.bits;
            t->quant = 1;
            t->scales = s;
            t->biases = b;
            for (int d = 0; d < t->t->ndim - 1; d++)
                lead *= t->t->shape[d];
            {
                uint64_t mp = (uint64_t)lead * (uint64_t)t->in;
                size_t k;
                *params += mp;
                for (k = 0; k < nt; k++)
                    if (cfg_eq(tally[k].c, t->cfg))
                        break;
                if (k == nt) {
                    MINT_ASSERT(nt < sizeof tally / sizeof *tally);
                    tally[nt].c = t->cfg;
                    tally[nt++].params = 0;
                }
                tally[k].params += mp;
            }
            pk->t[s].quant = pk->t[b].quant = 2; /* companions */
            nq++;
        }
    }
    for (size_t i = 0; i < pk->n; i++) {
        struct ptensor *t = &pk->t[i];
        const char *name = t->t->name;
        if (t->quant)
            continue;
        if (ends_with(name, ".scales") || ends_with(name, ".biases"))
            return mint_err_set(err, "%s: '%s' belongs to no quantized module", dir, name);
        *params += t->t->nelem;
        if (q && ends_with(name, ".weight") && t->t->ndim >= 2) {
            int64_t l, e;
            enum mint_role role = mint_role_classify(name, &l, &e);
            snprintf(nb, sizeof nb, "%.*s", (int)(strlen(name) - 7), name);
            if (role != MINT_ROLE_NORM && role_falseable(role) &&
                !json_is_false(json_object_get(q, nb)))
                return mint_err_set(err, "%s/config.json: module '%s' is kept float but has no "
                                         "false entry",
                                    dir, nb);
        }
    }
    if (q) {
        json_object_foreach(q, key, v) {
            long w;
            if (!strcmp(key, "bits") || !strcmp(key, "group_size") || !strcmp(key, "mode"))
                continue;
            snprintf(nb, sizeof nb, "%s.weight", key);
            w = packed_find(pk, nb);
            if (json_is_false(v)) {
                int64_t l, e;
                if (w < 0 || pk->t[w].quant || pk->t[w].t->ndim < 2 ||
                    mint_role_classify(nb, &l, &e) == MINT_ROLE_NORM)
                    return mint_err_set(err, "%s/config.json: false entry '%s' names no float "
                                             "module weight",
                                        dir, key);
            } else if (w < 0 || pk->t[w].quant != 1) {
                return mint_err_set(err, "%s/config.json: entry '%s' names no quantized module",
                                    dir, key);
            }
        }
        if (!nq)
            return mint_err_set(err, "%s/config.json: 'quantization' present but no module is "
                                     "quantized",
                                dir);
        for (size_t k = 1; k < nt; k++) {
            const struct mint_qcfg c = tally[k].c, bc = tally[best].c;
            if (tally[k].params > tally[best].params ||
                (tally[k].params == tally[best].params &&
                 (c.bits < bc.bits || (c.bits == bc.bits && c.group > bc.group))))
                best = k;
        }
        if (!cfg_eq(tally[best].c, pk->global)) {
            char a[16], b[16];
            return mint_err_set(err,
                                "%s/config.json: global default %s, but %s covers the most "
                                "parameters",
                                dir, cfg_str(pk->global, a, sizeof a),
                                cfg_str(tally[best].c, b, sizeof b));
        }
    }
    if (json_is_true(tie))
        for (size_t i = 0; i < pk->n; i++)
            if (!strncmp(pk->t[i].t->name, "lm_head.", 8))
                return mint_err_set(err, "%s: tied model has tensor '%s'", dir,
                                    pk->t[i].t->name);
    return 0;
}

struct cctx {
    const unsigned char **where; /* (n_out) first byte of each output tensor in its mapping */
    const struct mint_pack_plan *p;
};

static int put_cmp(void *ctx, size_t out, uint64_t off, const void *buf, size_t len,
                   struct mint_err *err)
{
    const struct cctx *c = ctx;
    const unsigned char *a = c->where[out] + off, *b = buf;
    if (!memcmp(a, b, len))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (a[i] != b[i])
            return mint_err_set(err,
                                "tensor '%s': byte %" PRIu64 " differs from the source "
                                "re-quantized (file %02x, expected %02x)",
                                c->p->out[out].name, off + i, a[i], b[i]);
    return 0;
}

/* With an index: the tensor set must be what the index and the output config imply, and every
 * byte must equal the source re-quantized. */
static int check_against_index(struct packed *pk, const json_t *index, int threads,
                               struct mint_err *err)
{
    struct mint_pack_plan p;
    struct mint_st_model m;
    const unsigned char **where = NULL;
    char buf[4300], mod[4200];
    int rc = -1, have_model = 0;
    json_t *tie = json_object_get(pk->config, "tie_word_embeddings");

    if (mint_pack_index_load(&p, index, "index", err) < 0)
        return -1;
    if (p.tied != json_is_true(tie)) {
        mint_err_set(err, "%s/config.json: tie_word_embeddings %s, but the index says %s",
                     pk->dir, json_is_true(tie) ? "true" : "false", p.tied ? "tied" : "untied");
        goto out;
    }
    p.dtype = pk->fdt != MINT_DT_INVALID ? pk->fdt : MINT_DT_BF16;
    p.choice = calloc(p.n_src ? p.n_src : 1, sizeof *p.choice);
    if (!p.choice) {
        mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < p.n_src; i++) {
        int64_t e;
        long w;
        p.choice[i].cfg.bits = MINT_BITS_PASSTHROUGH;
        p.choice[i].dropped = -1;
        if (mint_mlx_name(p.src[i].name, p.tied, buf, sizeof buf, &e) != 1)
            continue;
        mint_mlx_module(buf, mod, sizeof mod);
        snprintf(buf, sizeof buf, "%s.weight", mod);
        w = packed_find(pk, buf);
        if (w >= 0 && pk->t[w].quant == 1)
            p.choice[i].cfg = pk->t[w].cfg;
    }
    if (mint_pack_plan_build(&p, err) < 0)
        goto out;
    for (size_t i = 0; i < p.n_out || i < pk->n; i++) {
        const struct mint_pack_out *o = i < p.n_out ? &p.out[i] : NULL;
        const struct mint_st_tensor *t = i < pk->n ? pk->t[i].t : NULL;
        if (!o || !t || strcmp(o->name, t->name)) {
            if (o && packed_find(pk, o->name) < 0)
                mint_err_set(err, "%s: tensor '%s' is missing", pk->dir, o->name);
            else
                mint_err_set(err, "%s: tensor '%s' does not follow from the index", pk->dir,
                             t ? t->name : o->name);
            goto out;
        }
        if (o->dtype != t->dtype || o->ndim != t->ndim ||
            memcmp(o->shape, t->shape, (size_t)o->ndim * sizeof *o->shape)) {
            mint_err_set(err, "%s: tensor '%s': dtype or shape differs from what the index "
                              "implies",
                         pk->dir, t->name);
            goto out;
        }
    }
    if (mint_st_model_open(&m, p.model_dir, err) < 0)
        goto out;
    have_model = 1;
    if (match_model(&p, &m, err) < 0)
        goto out;
    where = calloc(p.n_out ? p.n_out : 1, sizeof *where);
    if (!where) {
        mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < p.n_out; i++)
        where[i] = pk->files[pk->t[i].file].map.data + pk->t[i].t->offset;
    {
        struct cctx c = {where, &p};
        struct sink sk = {put_cmp, &c};
        const int all[4] = {1, 1, 1, 1};
        for (size_t i = 0; i < p.n_items; i++)
            if (stream_item(&p, &m, i, all, &sk, threads, err) < 0)
                goto out;
    }
    rc = 0;
out:
    free(where);
    if (have_model)
        mint_st_model_release(&m);
    mint_pack_plan_release(&p);
    return rc;
}

static int check_index_json(const struct packed *pk, uint64_t data, uint64_t params,
                            struct mint_err *err)
{
    char *path = mint_path_join(pk->dir, "model.safetensors.index.json");
    json_t *doc = path ? mint_json_load(path, err) : NULL, *md, *wm, *ts, *tp;
    int rc = -1;
    free(path);
    if (!doc)
        return -1;
    md = json_object_get(doc, "metadata");
    wm = json_object_get(doc, "weight_map");
    ts = json_object_get(md, "total_size");
    tp = json_object_get(md, "total_parameters");
    if (!json_is_object(doc) || json_object_size(doc) != 2 || !json_is_object(md) ||
        json_object_size(md) != 2 || !json_is_integer(ts) || !json_is_integer(tp) ||
        !json_is_object(wm)) {
        mint_err_set(err, "%s/model.safetensors.index.json: expected {\"metadata\": "
                          "{\"total_size\", \"total_parameters\"}, \"weight_map\"}",
                     pk->dir);
        goto out;
    }
    if ((uint64_t)json_integer_value(ts) != data || (uint64_t)json_integer_value(tp) != params) {
        mint_err_set(err,
                     "%s/model.safetensors.index.json: total_size %" JSON_INTEGER_FORMAT
                     ", total_parameters %" JSON_INTEGER_FORMAT "; the shards hold %" PRIu64
                     " bytes, %" PRIu64 " parameters",
                     pk->dir, json_integer_value(ts), json_integer_value(tp), data, params);
        goto out;
    }
    if (json_object_size(wm) != pk->n) {
        mint_err_set(err, "%s/model.safetensors.index.json: weight_map has %zu names, the shards "
                          "%zu tensors",
                     pk->dir, json_object_size(wm), pk->n);
        goto out;
    }
    for (size_t i = 0; i < pk->n; i++) {
        const char *fn = json_string_value(json_object_get(wm, pk->t[i].t->name));
        if (!fn || strcmp(fn, pk->files[pk->t[i].file].name)) {
            mint_err_set(err, "%s/model.safetensors.index.json: weight_map['%s'] should be '%s'",
                         pk->dir, pk->t[i].t->name, pk->files[pk->t[i].file].name);
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

int mint_pack_check(const char *dir, const struct mint_pack_check_opts *o,
                    struct mint_pack_report *r, struct mint_err *err)
{
    struct packed pk;
    uint64_t data = 0, files = 0, params = 0;
    int rc = -1;

    memset(r, 0, sizeof *r);
    if (packed_open(&pk, dir, err) < 0)
        return -1;
    for (size_t i = 0; i < pk.n_files; i++) {
        files += pk.files[i].map.size;
        for (size_t k = 0; k < pk.files[i].n_tensors; k++)
            data += pk.files[i].tensors[k].nbytes;
    }
    if (o->shard_size) {
        uint64_t *sz = calloc(pk.n ? pk.n : 1, sizeof *sz);
        size_t *so = malloc((pk.n ? pk.n : 1) * sizeof *so), ns;
        int bad = !sz || !so;
        for (size_t i = 0; !bad && i < pk.n; i++)
            sz[i] = pk.t[i].t->nbytes;
        ns = bad ? 0 : mint_pack_shard_split(sz, pk.n, o->shard_size, so);
        for (size_t i = 0; !bad && i < pk.n; i++)
            bad = so[i] != pk.t[i].file;
        free(sz);
        free(so);
        if (bad || ns != pk.n_files) {
            mint_err_set(err, "%s: shards are not the greedy name-order split at %" PRIu64
                              " bytes",
                         dir, o->shard_size);
            goto out;
        }
    }
    if (packed_modules(&pk, &params, err) < 0 || check_index_json(&pk, data, params, err) < 0)
        goto out;
    if (o->budget && files > o->budget) {
        mint_err_setc(err, MINT_EXIT_NUMERIC,
                      "%s: model*.safetensors total %" PRIu64 " bytes, over the budget of %" PRIu64,
                      dir, files, o->budget);
        goto out;
    }
    if (o->index &&
        check_against_index(&pk, o->index,
                            o->threads < 1 ? 1
                            : o->threads > MINT_PACK_MAX_THREADS ? MINT_PACK_MAX_THREADS
                                                                 : o->threads,
                            err) < 0)
        goto out;
    r->n_tensors = pk.n;
    r->n_shards = pk.n_files;
    r->data_bytes = data;
    r->file_bytes = files;
    r->params = params;
    for (size_t i = 0; i < pk.n; i++) {
        r->n_quant += pk.t[i].quant == 1;
        r->n_float += pk.t[i].quant == 0;
    }
    rc = 0;
out:
    packed_release(&pk);
    return rc;
}

int mint_pack_dump(const char *dir, const char *name, const char *path, struct mint_err *err)
{
    struct packed pk;
    struct mint_afile af;
    uint64_t params;
    float *row = NULL;
    long k;
    int rc = -1, open_af = 0;

    if (packed_open(&pk, dir, err) < 0)
        return -1;
    if (packed_modules(&pk, &params, err) < 0)
        goto out;
    k = packed_find(&pk, name);
    if (k < 0 || pk.t[k].quant == 2) {
        mint_err_set(err, "%s: no tensor '%s'%s", dir, name,
                     k >= 0 ? " (name the module's .weight)" : "");
        goto out;
    }
    if (mint_afile_open(&af, path, err) < 0)
        goto out;
    open_af = 1;
    {
        const struct ptensor *t = &pk.t[k];
        const unsigned char *base = pk.files[t->file].map.data + t->t->offset;
        int64_t cols = t->quant ? t->in : (t->t->ndim ? t->t->shape[t->t->ndim - 1] : 1);
        uint64_t rows = 1;
        for (int d = 0; d < t->t->ndim - 1; d++)
            rows *= (uint64_t)t->t->shape[d];
        if (!t->t->ndim || !cols)
            rows = t->t->nelem ? 1 : 0;
        row = malloc((size_t)(cols ? cols : 1) * sizeof *row);
        if (!row) {
            mint_err_setc(err, MINT_EXIT_IO, "out of memory");
            goto out;
        }
        for (uint64_t r = 0; r < rows; r++) {
            if (t->quant) {
                const size_t wpr = (size_t)(cols * t->cfg.bits / 32);
                const size_t gpr = (size_t)(cols / t->cfg.group);
                const struct ptensor *s = &pk.t[t->scales], *b = &pk.t[t->biases];
                const uint16_t *sc = (const uint16_t *)(pk.files[s->file].map.data + s->t->offset);
                const uint16_t *bi = (const uint16_t *)(pk.files[b->file].map.data + b->t->offset);
                mint_dequant_row((const uint32_t *)base + r * wpr, sc + r * gpr, bi + r * gpr,
                                 cols, t->cfg, s->t->dtype, row);
            } else {
                mint_to_f32(t->t->dtype, base + r * (uint64_t)cols * 2, row, (size_t)cols);
            }
            if (mint_afile_write(&af, row, (size_t)cols * sizeof *row, err) < 0)
                goto out;
        }
    }
    open_af = 0;
    if (mint_afile_commit(&af, 0, err) < 0)
        goto out;
    rc = 0;
out:
    if (open_af)
        mint_afile_abort(&af);
    free(row);
    packed_release(&pk);
    return rc;
}
