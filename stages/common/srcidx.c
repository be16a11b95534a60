/* srcidx.c - see include/mint/srcidx.h for the contract and the sidecar format. */
#define _GNU_SOURCE
#include "mint/srcidx.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mint/err.h"
#include "mint/json.h"
#include "mint/rd.h"

#define MAGIC "mint-srcidx\t1\t"
#define PREFIX_CAP 512 /* as mint-rd always looked the prefix up */

char *mint_srcidx_side_path(const char *index_path)
{
    size_t n = strlen(index_path);
    char *p = malloc(n + sizeof MINT_SRCIDX_SUFFIX);
    if (p) {
        memcpy(p, index_path, n);
        memcpy(p + n, MINT_SRCIDX_SUFFIX, sizeof MINT_SRCIDX_SUFFIX);
    }
    return p;
}

static int is_hex32(const char *s, size_t n)
{
    if (n != 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static int file_name_ok(const char *fn)
{
    return fn && *fn && fn[0] != '/' && !strstr(fn, "..");
}

/* ---- the file table ---- */

static void files_free(struct mint_srcidx *ix)
{
    for (size_t i = 0; i < ix->n_files; i++)
        free(ix->files[i].name);
    free(ix->files);
    ix->files = NULL;
    ix->n_files = 0;
}

/* Index of file 'name' in the table, appended (size 'size') if absent; -1 out of memory. */
static int64_t file_slot(struct mint_srcidx *ix, const char *name, int64_t size)
{
    struct mint_srcidx_file *nf;
    for (size_t i = 0; i < ix->n_files; i++)
        if (!strcmp(ix->files[i].name, name))
            return (int64_t)i;
    nf = realloc(ix->files, (ix->n_files + 1) * sizeof *nf);
    if (!nf)
        return -1;
    ix->files = nf;
    if (!(nf[ix->n_files].name = strdup(name)))
        return -1;
    nf[ix->n_files].size = size;
    return (int64_t)ix->n_files++;
}

/* ---- entries ---- */

/* nelem and nbytes from dtype and shape; -1 on overflow. */
static int entry_sizes(struct mint_srcent *e)
{
    uint64_t n = 1;
    for (int d = 0; d < e->ndim; d++)
        if (e->shape[d] < 0 || mint_mul_u64(n, (uint64_t)e->shape[d], &n) < 0)
            return -1;
    e->nelem = n;
    return mint_mul_u64(n, mint_dtype_size(e->dtype), &n) < 0 || n != e->nbytes ? -1 : 0;
}

/* An index.json tensor object -> entry.  Shared by JSON mode and the sidecar writer, so both
 * paths agree by construction. */
static int entry_from_json(struct mint_srcidx *ix, const json_t *t, const char *name,
                           struct mint_srcent *e, struct mint_err *err)
{
    const json_t *shape = json_object_get(t, "shape"), *x;
    const char *dt = json_string_value(json_object_get(t, "dtype"));
    const char *hash = json_string_value(json_object_get(t, "hash"));
    const char *fn = json_string_value(json_object_get(t, "file"));
    const char *role = json_string_value(json_object_get(t, "role"));
    const json_t *off = json_object_get(t, "offset"), *nb = json_object_get(t, "nbytes");
    const json_t *layer = json_object_get(t, "layer"), *expert = json_object_get(t, "expert");
    size_t i;
    int64_t slot;

    memset(e, 0, sizeof *e);
    if (!dt || (e->dtype = mint_dtype_parse(dt)) == MINT_DT_INVALID)
        return mint_err_set(err, "%s: %s: index entry has no known dtype", ix->path, name);
    if (!json_is_array(shape) || json_array_size(shape) > MINT_ST_MAX_DIMS)
        return mint_err_set(err, "%s: %s: index entry has no shape", ix->path, name);
    e->ndim = (int)json_array_size(shape);
    json_array_foreach(shape, i, x) {
        if (!json_is_integer(x) || json_integer_value(x) < 0)
            return mint_err_set(err, "%s: %s: index entry has a bad shape", ix->path, name);
        e->shape[i] = json_integer_value(x);
    }
    if (!json_is_integer(off) || json_integer_value(off) < 0 || !json_is_integer(nb) ||
        json_integer_value(nb) < 0)
        return mint_err_set(err, "%s: %s: index entry has no offset or nbytes", ix->path,
                            name);
    e->offset = (uint64_t)json_integer_value(off);
    e->nbytes = (uint64_t)json_integer_value(nb);
    if (entry_sizes(e) < 0)
        return mint_err_set(err, "%s: %s: index entry's nbytes does not match dtype and shape",
                            ix->path, name);
    if (!hash || !is_hex32(hash, strlen(hash)))
        return mint_err_set(err, "%s: %s: index entry has no content hash", ix->path, name);
    memcpy(e->hash, hash, 33);
    if (!file_name_ok(fn))
        return mint_err_set(err, "%s: %s: index entry has no usable file name", ix->path, name);
    if ((slot = file_slot(ix, fn, -1)) < 0)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    e->file = (size_t)slot;
    e->role = role ? mint_role_parse(role) : MINT_ROLE_COUNT;
    {
        int64_t l, xx;
        enum mint_role r = mint_role_classify(name, &l, &xx);
        if (e->role == MINT_ROLE_COUNT)
            e->role = r;
    }
    e->layer = json_is_integer(layer) ? json_integer_value(layer) : -1;
    e->expert = json_is_integer(expert) ? json_integer_value(expert) : -1;
    return 0;
}

/* rd's language-model prefix: first tensor (array order) with an integer layer. */
static char *prefix_of(const json_t *tensors)
{
    size_t i;
    const json_t *t;
    char out[PREFIX_CAP];
    json_array_foreach(tensors, i, t) {
        const char *n = json_string_value(json_object_get(t, "name"));
        if (n && json_is_integer(json_object_get(t, "layer")) &&
            mint_rd_layers_prefix(n, out, sizeof out))
            return strdup(out);
    }
    return strdup("model.");
}

/* Model facts and the file table from an index document. */
static int facts_from_json(struct mint_srcidx *ix, const json_t *doc, struct mint_err *err)
{
    const json_t *model = json_object_get(doc, "model"), *files, *f;
    const json_t *tensors = json_object_get(doc, "tensors");
    const char *dir = json_string_value(json_object_get(model, "dir"));
    size_t i;

    if (!dir || !json_is_array(tensors))
        return mint_err_set(err, "%s: not an index (no model.dir or tensors)", ix->path);
    ix->tied = json_is_true(json_object_get(model, "tied"));
    ix->dir = strdup(dir);
    ix->lm_prefix = prefix_of(tensors);
    if (!ix->dir || !ix->lm_prefix)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    files = json_object_get(model, "files");
    json_array_foreach(files, i, f) {
        const char *fn = json_string_value(json_object_get(f, "name"));
        const json_t *sz = json_object_get(f, "size");
        if (!file_name_ok(fn))
            continue;
        if (file_slot(ix, fn, json_is_integer(sz) ? json_integer_value(sz) : -1) < 0)
            return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    }
    return 0;
}

/* ---- sidecar reading ---- */

struct cursor {
    const char *p, *end;
};

/* Next field (up to '\t' or '\n'); *last says whether it ended the line. */
static int field(struct cursor *c, const char **s, size_t *n, int *last)
{
    const char *q = c->p;
    while (q < c->end && *q != '\t' && *q != '\n')
        q++;
    if (q >= c->end)
        return -1;
    *s = c->p;
    *n = (size_t)(q - c->p);
    *last = *q == '\n';
    c->p = q + 1;
    return 0;
}

/* Field expected not to end the line (want_last 0) or to end it (1). */
static int fld(struct cursor *c, const char **s, size_t *n, int want_last)
{
    int last;
    return field(c, s, n, &last) < 0 || last != want_last ? -1 : 0;
}

static int num(const char *s, size_t n, int64_t lo, int64_t *out)
{
    char buf[24], *end;
    long long v;
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (!((buf[0] >= '0' && buf[0] <= '9') || buf[0] == '-'))
        return -1;
    errno = 0;
    v = strtoll(buf, &end, 10);
    if (errno || *end || v < lo)
        return -1;
    *out = v;
    return 0;
}

static int fnum(struct cursor *c, int64_t lo, int64_t *out, int want_last)
{
    const char *s;
    size_t n;
    return fld(c, &s, &n, want_last) < 0 ? -1 : num(s, n, lo, out);
}

static char *fstr(struct cursor *c, int want_last)
{
    const char *s;
    size_t n;
    return fld(c, &s, &n, want_last) < 0 ? NULL : strndup(s, n);
}

/* Establish sidecar mode: 1 done, 0 not trustworthy (ix left clean), -1 out of memory. */
static int side_open(struct mint_srcidx *ix)
{
    char *sp = mint_srcidx_side_path(ix->path);
    struct mint_err e = {0};
    struct mint_map im = {0};
    struct cursor c;
    const char *s;
    size_t n;
    int64_t isize, tied, nf, nt;
    char got[MINT_HASH_HEX], want[MINT_HASH_HEX];

    if (!sp)
        return -1;
    if (mint_map_open(&ix->side, sp, &e) < 0) {
        free(sp);
        return 0;
    }
    free(sp);
    c.p = (const char *)ix->side.data;
    c.end = c.p + ix->side.size;
    if (ix->side.size < sizeof MAGIC || memcmp(c.p, MAGIC, sizeof MAGIC - 1))
        goto untrusted;
    c.p += sizeof MAGIC - 1;
    if (fld(&c, &s, &n, 0) < 0 || !is_hex32(s, n))
        goto untrusted;
    memcpy(want, s, 32);
    want[32] = 0;
    if (fnum(&c, 0, &isize, 0) < 0)
        goto untrusted;
    /* the sidecar describes exactly the index.json bytes on disk */
    if (mint_map_open(&im, ix->path, &e) < 0 || (int64_t)im.size != isize)
        goto untrusted;
    mint_hash_hex(im.data, im.size, got);
    mint_map_release(&im);
    if (strcmp(got, want))
        goto untrusted;
    /* and is itself intact */
    if (fld(&c, &s, &n, 1) < 0 || !is_hex32(s, n))
        goto untrusted;
    memcpy(want, s, 32);
    mint_hash_hex(c.p, (size_t)(c.end - c.p), got);
    if (strcmp(got, want))
        goto untrusted;
    if (fld(&c, &s, &n, 0) < 0 || n != 5 || memcmp(s, "model", 5) ||
        fnum(&c, 0, &tied, 0) < 0 || tied > 1 || fnum(&c, 0, &nf, 0) < 0 ||
        fnum(&c, 0, &nt, 0) < 0 || !(ix->lm_prefix = fstr(&c, 0)) || !(ix->dir = fstr(&c, 1)))
        goto untrusted;
    ix->tied = (int)tied;
    for (int64_t i = 0; i < nf; i++) {
        int64_t size;
        char *name;
        if (fld(&c, &s, &n, 0) < 0 || n != 4 || memcmp(s, "file", 4) ||
            fnum(&c, -1, &size, 0) < 0 || !(name = fstr(&c, 1)))
            goto untrusted;
        if (!file_name_ok(name) || file_slot(ix, name, size) != i) {
            free(name);
            goto untrusted;
        }
        free(name);
    }
    ix->tbeg = c.p;
    ix->tend = c.end;
    return 1;
untrusted:
    mint_map_release(&im);
    mint_map_release(&ix->side);
    free(ix->dir);
    free(ix->lm_prefix);
    ix->dir = ix->lm_prefix = NULL;
    files_free(ix);
    return 0;
}

/* Parse a tensor line (after its name) into e; -1 malformed. */
static int entry_from_line(const struct mint_srcidx *ix, struct cursor *c, struct mint_srcent *e)
{
    const char *s;
    size_t n;
    int64_t v, fileno_, off, nb;
    char buf[32];

    memset(e, 0, sizeof *e);
    if (fld(c, &s, &n, 0) < 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    if ((e->dtype = mint_dtype_parse(buf)) == MINT_DT_INVALID)
        return -1;
    if (fld(c, &s, &n, 0) < 0)
        return -1;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        if (e->ndim == MINT_ST_MAX_DIMS || num(s + i, j - i, 0, &v) < 0)
            return -1;
        e->shape[e->ndim++] = v;
        i = j + 1;
        if (j + 1 == n) /* trailing comma */
            return -1;
    }
    if (fnum(c, 0, &fileno_, 0) < 0 || (uint64_t)fileno_ >= ix->n_files ||
        fnum(c, 0, &off, 0) < 0 || fnum(c, 0, &nb, 0) < 0)
        return -1;
    e->file = (size_t)fileno_;
    e->offset = (uint64_t)off;
    e->nbytes = (uint64_t)nb;
    if (entry_sizes(e) < 0)
        return -1;
    if (fld(c, &s, &n, 0) < 0 || !is_hex32(s, n))
        return -1;
    memcpy(e->hash, s, 32);
    e->hash[32] = 0;
    if (fld(c, &s, &n, 0) < 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    if ((e->role = mint_role_parse(buf)) == MINT_ROLE_COUNT)
        return -1;
    if (fnum(c, -1, &e->layer, 0) < 0 || fnum(c, -1, &e->expert, 1) < 0)
        return -1;
    return 0;
}

/* bytewise compare of the name field [s, s+n) with a NUL-terminated name, as strcmp */
static int cmp_field(const char *s, size_t n, const char *name)
{
    size_t m = strlen(name);
    int c = memcmp(s, name, n < m ? n : m);
    if (c)
        return c;
    return n < m ? -1 : n > m;
}

static int side_find(struct mint_srcidx *ix, const char *name, struct mint_srcent *e,
                     struct mint_err *err)
{
    const char *lo = ix->tbeg, *hi = ix->tend;
    while (lo < hi) {
        const char *mid = lo + (hi - lo) / 2, *ls = mid, *tab, *le;
        while (ls > lo && ls[-1] != '\n')
            ls--;
        le = memchr(ls, '\n', (size_t)(ix->tend - ls));
        tab = memchr(ls, '\t', (size_t)(ix->tend - ls));
        if (!le || !tab || tab > le)
            break;
        int c = cmp_field(ls, (size_t)(tab - ls), name);
        if (c == 0) {
            struct cursor cur = {tab + 1, le + 1};
            if (entry_from_line(ix, &cur, e) < 0)
                break;
            return 1;
        }
        if (c < 0)
            lo = le + 1;
        else
            hi = ls;
    }
    if (lo < hi) {
        char *sp = mint_srcidx_side_path(ix->path);
        mint_err_set(err, "%s: malformed line (delete it; %s is used then)", sp ? sp : ix->path,
                     ix->path);
        free(sp);
        return -1;
    }
    return 0;
}

/* ---- the API ---- */

int mint_srcidx_open(struct mint_srcidx *ix, const char *index_path, struct mint_err *err)
{
    int r;
    memset(ix, 0, sizeof *ix);
    if (!(ix->path = strdup(index_path)))
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    r = side_open(ix);
    if (r > 0)
        return 0;
    if (r < 0) {
        mint_srcidx_release(ix);
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    }
    ix->doc = mint_json_load(index_path, err);
    if (!ix->doc || facts_from_json(ix, ix->doc, err) < 0) {
        mint_srcidx_release(ix);
        return -1;
    }
    return 0;
}

void mint_srcidx_release(struct mint_srcidx *ix)
{
    mint_map_release(&ix->side);
    json_decref(ix->doc);
    files_free(ix);
    free(ix->dir);
    free(ix->lm_prefix);
    free(ix->path);
    memset(ix, 0, sizeof *ix);
}

int mint_srcidx_fast(const struct mint_srcidx *ix)
{
    return ix->doc == NULL && ix->side.data != NULL;
}

int mint_srcidx_find(struct mint_srcidx *ix, const char *name, struct mint_srcent *e,
                     struct mint_err *err)
{
    const json_t *tensors, *t;
    size_t i;

    if (!ix->doc)
        return side_find(ix, name, e, err);
    tensors = json_object_get(ix->doc, "tensors");
    json_array_foreach(tensors, i, t) {
        const char *n = json_string_value(json_object_get(t, "name"));
        if (n && !strcmp(n, name))
            return entry_from_json(ix, t, name, e, err) < 0 ? -1 : 1;
    }
    return 0;
}

int mint_srcidx_map(const struct mint_srcidx *ix, const struct mint_srcent *e,
                    struct mint_map *map, struct mint_err *err)
{
    const struct mint_srcidx_file *f;
    char *p;
    uint64_t end;

    MINT_ASSERT(e->file < ix->n_files);
    f = &ix->files[e->file];
    if (!(p = mint_path_join(ix->dir, f->name)))
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    if (mint_map_open(map, p, err) < 0) {
        free(p);
        return -1;
    }
    if (f->size >= 0 && (uint64_t)f->size != map->size) {
        mint_err_set(err, "%s: %zu bytes, the index says %" PRId64 " (model changed since "
                          "indexing?)", p, map->size, f->size);
        goto fail;
    }
    if (mint_add_u64(e->offset, e->nbytes, &end) < 0 || end > map->size) {
        mint_err_set(err, "%s: tensor bytes [%" PRIu64 ", %" PRIu64 ") beyond the end of the "
                          "file (%zu bytes) (model changed since indexing?)",
                     p, e->offset, e->offset + e->nbytes, map->size);
        goto fail;
    }
    free(p);
    return 0;
fail:
    free(p);
    mint_map_release(map);
    return -1;
}

/* ---- writing ---- */

struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (b->oom)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t nc = b->cap * 2 + (size_t)n + 4096;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
}

/* The body (everything after line 1) for doc, or 0 when doc cannot be a sidecar. */
static int side_body(const char *index_path, const json_t *doc, struct buf *tb,
                     struct mint_err *err)
{
    struct mint_srcidx ix;
    struct mint_err ignore = {0};
    const json_t *tensors = json_object_get(doc, "tensors"), *t;
    const char *prev = NULL;
    size_t i;
    int ok = 1;

    memset(&ix, 0, sizeof ix);
    ix.path = (char *)index_path;
    if (facts_from_json(&ix, doc, &ignore) < 0 || has_ctl(ix.dir))
        ok = 0;
    json_array_foreach(tensors, i, t) {
        const char *n = json_string_value(json_object_get(t, "name"));
        struct mint_srcent e;
        if (!ok)
            break;
        if (!n || !*n || has_ctl(n) || (prev && strcmp(prev, n) >= 0) ||
            entry_from_json(&ix, t, n, &e, &ignore) < 0) {
            ok = 0;
            break;
        }
        prev = n;
        bprintf(tb, "%s\t%s\t", n, mint_dtype_name(e.dtype));
        for (int d = 0; d < e.ndim; d++)
            bprintf(tb, "%s%" PRId64, d ? "," : "", e.shape[d]);
        bprintf(tb, "\t%zu\t%" PRIu64 "\t%" PRIu64 "\t%s\t%s\t%" PRId64 "\t%" PRId64 "\n", e.file,
                e.offset, e.nbytes, e.hash, mint_role_name(e.role), e.layer, e.expert);
    }
    for (i = 0; ok && i < ix.n_files; i++)
        if (has_ctl(ix.files[i].name))
            ok = 0;
    if (ok) {
        /* the header lines go before the tensors: build them, then splice */
        struct buf hb = {0};
        bprintf(&hb, "model\t%d\t%zu\t%zu\t%s\t%s\n", ix.tied, ix.n_files,
                json_array_size(tensors), ix.lm_prefix, ix.dir);
        for (i = 0; i < ix.n_files; i++)
            bprintf(&hb, "file\t%" PRId64 "\t%s\n", ix.files[i].size, ix.files[i].name);
        if (!hb.oom && !tb->oom) {
            char *np = realloc(hb.p, hb.len + tb->len + 1);
            if (np) {
                if (tb->len)
                    memcpy(np + hb.len, tb->p, tb->len);
                free(tb->p);
                tb->p = np;
                tb->len += hb.len;
                tb->cap = tb->len + 1;
                hb.p = NULL;
            } else {
                tb->oom = 1;
            }
        }
        free(hb.p);
    }
    ix.path = NULL;
    mint_srcidx_release(&ix);
    if (tb->oom)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    return ok;
}

int mint_srcidx_write(const char *index_path, const json_t *doc, const char *text, size_t len,
                      struct mint_err *err)
{
    char *sp = mint_srcidx_side_path(index_path);
    struct buf body = {0};
    struct mint_afile af;
    char ih[MINT_HASH_HEX], bh[MINT_HASH_HEX], head[160];
    int r, rc = 0;

    if (!sp)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    r = side_body(index_path, doc, &body, err);
    if (r < 0) {
        rc = -1;
    } else if (r == 0) {
        if (unlink(sp) != 0 && errno != ENOENT)
            rc = mint_err_setc(err, MINT_EXIT_IO, "%s: cannot remove: %s", sp, strerror(errno));
    } else {
        mint_hash_hex(text, len, ih);
        mint_hash_hex(body.p, body.len, bh);
        snprintf(head, sizeof head, MAGIC "%s\t%zu\t%s\n", ih, len, bh);
        if (mint_afile_open(&af, sp, err) < 0) {
            rc = -1;
        } else if (mint_afile_write(&af, head, strlen(head), err) < 0 ||
                   mint_afile_write(&af, body.p, body.len, err) < 0) {
            mint_afile_abort(&af);
            rc = -1;
        } else if (mint_afile_commit(&af, 1, err) < 0) {
            rc = -1;
        }
    }
    free(body.p);
    free(sp);
    return rc;
}
