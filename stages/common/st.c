#define _GNU_SOURCE
#include "mint/st.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mint/err.h"
#include "mint/hash.h"
#include "mint/json.h"

int mint_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (b && a > UINT64_MAX / b)
        return -1;
    *out = a * b;
    return 0;
}

int mint_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a > UINT64_MAX - b)
        return -1;
    *out = a + b;
    return 0;
}

static int cmp_begin(const void *a, const void *b)
{
    const struct mint_st_tensor *x = *(const struct mint_st_tensor *const *)a;
    const struct mint_st_tensor *y = *(const struct mint_st_tensor *const *)b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    if (x->nbytes != y->nbytes)
        return x->nbytes < y->nbytes ? -1 : 1;
    return 0;
}

static int parse_entry(struct mint_st_tensor *t, const char *name, json_t *v, const char *path,
                       struct mint_err *err)
{
    json_t *dt, *shape, *offs, *x;
    size_t i;
    uint64_t nelem = 1, nbytes, begin, end;

    if (!json_is_object(v))
        return mint_err_set(err, "%s: tensor '%s': entry is not an object", path, name);
    dt = json_object_get(v, "dtype");
    shape = json_object_get(v, "shape");
    offs = json_object_get(v, "data_offsets");
    if (!json_is_string(dt))
        return mint_err_set(err, "%s: tensor '%s': missing dtype", path, name);
    t->dtype = mint_dtype_parse(json_string_value(dt));
    if (t->dtype == MINT_DT_INVALID)
        return mint_err_set(err, "%s: tensor '%s': unknown dtype '%s'", path, name,
                            json_string_value(dt));
    if (!json_is_array(shape))
        return mint_err_set(err, "%s: tensor '%s': missing shape", path, name);
    if (json_array_size(shape) > MINT_ST_MAX_DIMS)
        return mint_err_set(err, "%s: tensor '%s': shape has %zu dimensions (at most %d)", path,
                            name, json_array_size(shape), MINT_ST_MAX_DIMS);
    t->ndim = (int)json_array_size(shape);
    json_array_foreach(shape, i, x) {
        if (!json_is_integer(x) || json_integer_value(x) < 0)
            return mint_err_set(err, "%s: tensor '%s': shape: not a non-negative integer", path,
                                name);
        t->shape[i] = json_integer_value(x);
        if (mint_mul_u64(nelem, (uint64_t)t->shape[i], &nelem) < 0)
            return mint_err_set(err, "%s: tensor '%s': shape: element count overflows", path,
                                name);
    }
    if (mint_mul_u64(nelem, mint_dtype_size(t->dtype), &nbytes) < 0)
        return mint_err_set(err, "%s: tensor '%s': shape: byte size overflows", path, name);
    if (!json_is_array(offs) || json_array_size(offs) != 2 ||
        !json_is_integer(json_array_get(offs, 0)) || !json_is_integer(json_array_get(offs, 1)) ||
        json_integer_value(json_array_get(offs, 0)) < 0 ||
        json_integer_value(json_array_get(offs, 1)) < 0)
        return mint_err_set(err, "%s: tensor '%s': data_offsets: expected [begin, end]", path,
                            name);
    begin = (uint64_t)json_integer_value(json_array_get(offs, 0));
    end = (uint64_t)json_integer_value(json_array_get(offs, 1));
    if (end < begin)
        return mint_err_set(err, "%s: tensor '%s': data_offsets: end before begin", path, name);
    if (end - begin != nbytes)
        return mint_err_set(err,
                            "%s: tensor '%s': data_offsets: %llu bytes, but shape and dtype "
                            "need %llu",
                            path, name, (unsigned long long)(end - begin),
                            (unsigned long long)nbytes);
    t->name = strdup(name);
    t->stored_name = strdup(name);
    if (!t->name || !t->stored_name)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    t->nelem = nelem;
    t->nbytes = nbytes;
    t->offset = begin; /* relative for now */
    return 0;
}

int mint_st_file_open(struct mint_st_file *f, const char *path, struct mint_err *err)
{
    uint64_t n, data_size;
    json_t *hdr = NULL, *v;
    const char *key;
    struct mint_st_tensor **order = NULL;
    size_t i, k;

    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    f->name = strdup(mint_path_base(path));
    if (!f->path || !f->name)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    if (mint_map_open(&f->map, path, err) < 0)
        goto fail;
    if (f->map.size < 8) {
        mint_err_set(err, "%s: truncated: %zu bytes, no header length", path, f->map.size);
        goto fail;
    }
    memcpy(&n, f->map.data, 8); /* little-endian host assumed (x86-64, arm64) */
    if (n == 0) {
        mint_err_set(err, "%s: header length is 0", path);
        goto fail;
    }
    if (n > MINT_ST_MAX_HEADER) {
        mint_err_set(err, "%s: header length %llu exceeds 100 MB", path, (unsigned long long)n);
        goto fail;
    }
    if (n > f->map.size - 8) {
        mint_err_set(err, "%s: truncated: header length %llu but only %zu bytes follow", path,
                     (unsigned long long)n, f->map.size - 8);
        goto fail;
    }
    f->header_len = n;
    f->data_start = 8 + n;
    data_size = f->map.size - f->data_start;
    {
        json_error_t je;
        hdr = json_loadb((const char *)f->map.data + 8, n,
                         JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
        if (!hdr) {
            mint_err_set(err, "%s: header is not valid JSON: %s", path, je.text);
            goto fail;
        }
    }
    if (!json_is_object(hdr)) {
        mint_err_set(err, "%s: header is not a JSON object", path);
        goto fail;
    }
    f->n_tensors = json_object_size(hdr) - (json_object_get(hdr, "__metadata__") ? 1 : 0);
    f->tensors = calloc(f->n_tensors ? f->n_tensors : 1, sizeof *f->tensors);
    order = calloc(f->n_tensors ? f->n_tensors : 1, sizeof *order);
    if (!f->tensors || !order) {
        mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        goto fail;
    }
    k = 0;
    json_object_foreach(hdr, key, v) {
        if (!strcmp(key, "__metadata__")) {
            const char *mk;
            json_t *mv;
            if (!json_is_object(v)) {
                mint_err_set(err, "%s: __metadata__ is not an object", path);
                goto fail;
            }
            json_object_foreach(v, mk, mv) {
                if (!json_is_string(mv)) {
                    mint_err_set(err, "%s: __metadata__: value of '%s' is not a string", path,
                                 mk);
                    goto fail;
                }
            }
            f->metadata = json_incref(v);
            continue;
        }
        if (parse_entry(&f->tensors[k], key, v, path, err) < 0) {
            f->n_tensors = k + 1; /* release what was parsed */
            goto fail;
        }
        f->tensors[k].file = -1;
        order[k] = &f->tensors[k];
        k++;
    }
    /* tiling: sorted by begin, the entries cover [0, D) exactly */
    qsort(order, f->n_tensors, sizeof *order, cmp_begin);
    {
        uint64_t pos = 0;
        for (i = 0; i < f->n_tensors; i++) {
            if (order[i]->offset > pos) {
                mint_err_set(err, "%s: tensor '%s': gap before data_offsets begin %llu", path,
                             order[i]->name, (unsigned long long)order[i]->offset);
                goto fail;
            }
            if (order[i]->offset < pos) {
                mint_err_set(err, "%s: tensor '%s': data_offsets overlap another tensor", path,
                             order[i]->name);
                goto fail;
            }
            pos = order[i]->offset + order[i]->nbytes;
            if (pos > data_size) {
                mint_err_set(err,
                             "%s: tensor '%s': data_offsets end %llu beyond the data section "
                             "(%llu bytes): truncated file?",
                             path, order[i]->name, (unsigned long long)pos,
                             (unsigned long long)data_size);
                goto fail;
            }
        }
        if (pos != data_size) {
            mint_err_set(err, "%s: %llu trailing bytes after the last tensor", path,
                         (unsigned long long)(data_size - pos));
            goto fail;
        }
    }
    for (i = 0; i < f->n_tensors; i++)
        f->tensors[i].offset += f->data_start;
    free(order);
    json_decref(hdr);
    return 0;
fail:
    free(order);
    json_decref(hdr);
    mint_st_file_release(f);
    return -1;
}

void mint_st_file_release(struct mint_st_file *f)
{
    for (size_t i = 0; f->tensors && i < f->n_tensors; i++) {
        free(f->tensors[i].name);
        free(f->tensors[i].stored_name);
    }
    free(f->tensors);
    json_decref(f->metadata);
    mint_map_release(&f->map);
    free(f->path);
    free(f->name);
    memset(f, 0, sizeof *f);
}

const struct mint_st_tensor *mint_st_file_find(const struct mint_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n_tensors; i++)
        if (!strcmp(f->tensors[i].stored_name, name))
            return &f->tensors[i];
    return NULL;
}

static int cmp_name(const void *a, const void *b)
{
    const struct mint_st_tensor *x = *(const struct mint_st_tensor *const *)a;
    const struct mint_st_tensor *y = *(const struct mint_st_tensor *const *)b;
    return strcmp(x->name, y->name);
}

static int is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* List of shard file names from the index (sorted, unique), validated. */
static int load_index(struct mint_st_model *m, const char *ipath, json_t **wmap_out,
                      char ***names_out, size_t *n_out, struct mint_err *err)
{
    json_t *idx = mint_json_load(ipath, err), *wm, *v;
    const char *key;
    char **names = NULL;
    size_t n = 0;

    (void)m;
    if (!idx)
        return -1;
    wm = json_object_get(idx, "weight_map");
    if (!json_is_object(wm)) {
        json_decref(idx);
        return mint_err_set(err, "%s: no weight_map object", ipath);
    }
    names = calloc(json_object_size(wm) + 1, sizeof *names);
    if (!names) {
        json_decref(idx);
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    }
    json_object_foreach(wm, key, v) {
        const char *fn = json_string_value(v);
        if (!fn || !*fn || strstr(fn, "..") || fn[0] == '/') {
            mint_err_set(err, "%s: weight_map: '%s': bad file name", ipath, key);
            free(names);
            json_decref(idx); /* owns key */
            return -1;
        }
        names[n++] = (char *)fn;
    }
    qsort(names, n, sizeof *names, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || strcmp(names[u - 1], names[i]))
            names[u++] = names[i];
    for (size_t i = 0; i < u; i++)
        if (!(names[i] = strdup(names[i]))) {
            for (size_t j = 0; j < i; j++)
                free(names[j]);
            free(names);
            json_decref(idx);
            return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        }
    *wmap_out = json_incref(wm);
    json_decref(idx);
    *names_out = names;
    *n_out = u;
    return 0;
}

static int config_tied(const json_t *cfg, int *tied)
{
    json_t *v = json_object_get(cfg, "tie_word_embeddings");
    if (!json_is_boolean(v))
        v = json_object_get(json_object_get(cfg, "text_config"), "tie_word_embeddings");
    if (json_is_boolean(v)) {
        *tied = json_is_true(v);
        return 1;
    }
    return 0;
}

int mint_st_model_open(struct mint_st_model *m, const char *dir, struct mint_err *err)
{
    return mint_st_model_open_flags(m, dir, 0, err);
}

int mint_st_model_open_flags(struct mint_st_model *m, const char *dir, unsigned flags,
                             struct mint_err *err)
{
    struct stat sb;
    char *p = NULL;
    json_t *wmap = NULL;
    char **names = NULL;
    size_t n_names = 0, total = 0, k;

    memset(m, 0, sizeof *m);
    m->num_layers = -1;
    if (stat(dir, &sb) != 0)
        return mint_err_set(err, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return mint_err_set(err, "%s: not a directory", dir);
    m->dir = strdup(dir);

    p = mint_path_join(dir, "config.json");
    if (!is_file(p)) {
        mint_err_set(err, "%s: no config.json", dir);
        goto fail;
    }
    m->config = mint_json_load(p, err);
    if (!m->config)
        goto fail;
    if (!json_is_object(m->config)) {
        mint_err_set(err, "%s: not a JSON object", p);
        goto fail;
    }
    if (!(flags & MINT_ST_QUANTIZED) && (json_object_get(m->config, "quantization") ||
                                         json_object_get(m->config, "quantization_config"))) {
        mint_err_set(err, "%s: model is already quantized (config has a quantization entry)", p);
        goto fail;
    }
    {
        json_t *nl = json_object_get(m->config, "num_hidden_layers");
        if (!json_is_integer(nl))
            nl = json_object_get(json_object_get(m->config, "text_config"), "num_hidden_layers");
        if (json_is_integer(nl))
            m->num_layers = json_integer_value(nl);
    }
    free(p);

    p = mint_path_join(dir, "model.safetensors.index.json");
    if (is_file(p)) {
        if (load_index(m, p, &wmap, &names, &n_names, err) < 0)
            goto fail;
    } else {
        free(p);
        p = mint_path_join(dir, "model.safetensors");
        if (!is_file(p)) {
            mint_err_set(err, "%s: no model.safetensors or model.safetensors.index.json", dir);
            goto fail;
        }
        names = calloc(1, sizeof *names);
        names[0] = strdup("model.safetensors");
        n_names = 1;
    }
    free(p);
    p = NULL;

    m->files = calloc(n_names ? n_names : 1, sizeof *m->files);
    for (size_t i = 0; i < n_names; i++) {
        char *fp = mint_path_join(dir, names[i]);
        int rc;
        if (wmap && !is_file(fp)) {
            mint_err_set(err, "%s: named by model.safetensors.index.json but not a file", fp);
            free(fp);
            goto fail;
        }
        rc = mint_st_file_open(&m->files[i], fp, err);
        free(fp);
        if (rc < 0)
            goto fail;
        free(m->files[i].name);
        m->files[i].name = strdup(names[i]);
        m->n_files = i + 1;
        total += m->files[i].n_tensors;
        for (size_t j = 0; j < m->files[i].n_tensors; j++) {
            struct mint_st_tensor *t = &m->files[i].tensors[j];
            t->file = (int)i;
        }
    }

    m->tensors = calloc(total ? total : 1, sizeof *m->tensors);
    k = 0;
    for (size_t i = 0; i < m->n_files; i++)
        for (size_t j = 0; j < m->files[i].n_tensors; j++)
            m->tensors[k++] = &m->files[i].tensors[j];
    m->n_tensors = total;

    {
        int has_lm = 0, has_embed = 0;
        for (size_t i = 0; i < total; i++) {
            if (!strcmp(m->tensors[i]->name, "lm_head.weight"))
                has_lm = 1;
            if (!strcmp(m->tensors[i]->name, "model.embed_tokens.weight"))
                has_embed = 1;
        }
        if (!config_tied(m->config, &m->tied))
            m->tied = !has_lm;
        if (m->tied && has_lm && !has_embed)
            for (size_t i = 0; i < total; i++)
                if (!strcmp(m->tensors[i]->name, "lm_head.weight")) {
                    free(m->tensors[i]->name);
                    m->tensors[i]->name = strdup("model.embed_tokens.weight");
                }
    }
    qsort(m->tensors, total, sizeof *m->tensors, cmp_name);
    /* names unique across shards first (a duplicate is the clearer diagnosis), then every
     * stored tensor listed by the index for the file that holds it */
    for (size_t i = 1; i < total; i++)
        if (!strcmp(m->tensors[i - 1]->name, m->tensors[i]->name)) {
            mint_err_set(err, "%s: tensor '%s' appears twice (also in %s)",
                         m->files[m->tensors[i]->file].path, m->tensors[i]->name,
                         m->files[m->tensors[i - 1]->file].name);
            goto fail;
        }
    /* an MLX-quantized model: a packed U32 ".weight" with its ".scales", in any shard */
    for (size_t i = 0; !(flags & MINT_ST_QUANTIZED) && i < total; i++) {
        const struct mint_st_tensor *t = m->tensors[i];
        size_t n = strlen(t->name);
        char sc[1024];
        if (t->dtype != MINT_DT_U32 || n <= 7 || n - 7 + 8 >= sizeof sc ||
            strcmp(t->name + n - 7, ".weight"))
            continue;
        snprintf(sc, sizeof sc, "%.*s.scales", (int)(n - 7), t->name);
        if (mint_st_model_find(m, sc)) {
            mint_err_set(err, "%s: model is already quantized (packed U32 '%s' with scales)",
                         m->files[t->file].path, t->name);
            goto fail;
        }
    }
    for (size_t i = 0; wmap && i < total; i++) {
        const struct mint_st_tensor *t = m->tensors[i];
        const char *fn = json_string_value(json_object_get(wmap, t->stored_name));
        if (!fn || strcmp(fn, m->files[t->file].name)) {
            mint_err_set(err, "%s: tensor '%s' is not listed for this file in "
                              "model.safetensors.index.json",
                         m->files[t->file].path, t->stored_name);
            goto fail;
        }
    }
    /* every stored tensor is listed (keys unique), so equal counts mean the index names
     * nothing else; search (quadratic) only to name the culprit */
    if (wmap && json_object_size(wmap) != total) {
        const char *key;
        json_t *v;
        json_object_foreach(wmap, key, v) {
            const char *fn = json_string_value(v);
            size_t i;
            for (i = 0; i < n_names; i++)
                if (!strcmp(names[i], fn))
                    break;
            if (i == n_names || !mint_st_file_find(&m->files[i], key)) {
                mint_err_set(err, "%s: tensor '%s' named by the index is not in this file",
                             m->files[i < n_names ? i : 0].path, key);
                goto fail;
            }
        }
    }
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    json_decref(wmap);
    return 0;
fail:
    free(p);
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    json_decref(wmap);
    mint_st_model_release(m);
    return -1;
}

void mint_st_model_release(struct mint_st_model *m)
{
    for (size_t i = 0; i < m->n_files; i++)
        mint_st_file_release(&m->files[i]);
    free(m->files);
    free(m->tensors);
    json_decref(m->config);
    free(m->dir);
    memset(m, 0, sizeof *m);
}

const struct mint_st_tensor *mint_st_model_find(const struct mint_st_model *m, const char *name)
{
    size_t lo = 0, hi = m->n_tensors;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(m->tensors[mid]->name, name);
        if (c == 0)
            return m->tensors[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const void *mint_st_model_data(const struct mint_st_model *m, const struct mint_st_tensor *t)
{
    return m->files[t->file].map.data + t->offset;
}

#define HASH_CHUNK (64u << 20)

void mint_st_range_hash(const struct mint_map *map, uint64_t offset, uint64_t nbytes,
                        char out[33])
{
    const unsigned char *p = map->data + offset;
    size_t off = (size_t)offset;
    uint64_t left = nbytes;
    struct mint_hasher h;

    MINT_ASSERT(mint_hasher_init(&h) == 0);
    while (left) {
        size_t n = left > HASH_CHUNK ? HASH_CHUNK : (size_t)left;
        mint_map_advise_seq(map, off, n);
        mint_hasher_update(&h, p, n);
        mint_map_advise_done(map, off, n);
        p += n;
        off += n;
        left -= n;
    }
    mint_hasher_hex(&h, out);
    mint_hasher_release(&h);
}

void mint_st_tensor_hash(const struct mint_st_model *m, const struct mint_st_tensor *t,
                         char out[33])
{
    mint_st_range_hash(&m->files[t->file].map, t->offset, t->nbytes, out);
}

/* ---- writer ---- */

static int cmp_wentry(const void *a, const void *b)
{
    const struct mint_st_wentry *x = a, *y = b;
    size_t sx = mint_dtype_size(x->dtype), sy = mint_dtype_size(y->dtype);
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return strcmp(x->name, y->name);
}

int mint_st_plan(struct mint_st_wentry *e, size_t n, const json_t *metadata,
                 unsigned char **header, size_t *header_size, uint64_t *data_size,
                 struct mint_err *err)
{
    json_t *hdr = json_object();
    uint64_t pos = 0;
    char *text;
    size_t len, padded;
    unsigned char *buf;

    qsort(e, n, sizeof *e, cmp_wentry);
    if (metadata)
        json_object_set(hdr, "__metadata__", (json_t *)metadata);
    for (size_t i = 0; i < n; i++) {
        uint64_t nb = mint_dtype_size(e[i].dtype);
        json_t *shape = json_array();
        for (int d = 0; d < e[i].ndim; d++) {
            if (e[i].shape[d] < 0 || mint_mul_u64(nb, (uint64_t)e[i].shape[d], &nb) < 0) {
                json_decref(shape);
                json_decref(hdr);
                return mint_err_set(err, "tensor '%s': bad shape", e[i].name);
            }
            json_array_append_new(shape, json_integer(e[i].shape[d]));
        }
        e[i].nbytes = nb;
        e[i].begin = pos;
        if (json_object_get(hdr, e[i].name)) {
            json_decref(shape);
            json_decref(hdr);
            return mint_err_set(err, "tensor '%s': duplicate name", e[i].name);
        }
        json_object_set_new(hdr, e[i].name,
                            json_pack("{s:[I,I],s:s,s:o}", "data_offsets", (json_int_t)pos,
                                      (json_int_t)(pos + nb), "dtype",
                                      mint_dtype_name(e[i].dtype), "shape", shape));
        pos += nb;
    }
    text = json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(hdr);
    if (!text)
        return mint_err_setc(err, MINT_EXIT_IO, "cannot serialise safetensors header");
    len = strlen(text);
    padded = (8 + len + 7) / 8 * 8;
    buf = malloc(padded);
    if (!buf) {
        free(text);
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    }
    {
        uint64_t hl = padded - 8;
        memcpy(buf, &hl, 8);
    }
    memcpy(buf + 8, text, len);
    memset(buf + 8 + len, ' ', padded - 8 - len);
    free(text);
    *header = buf;
    *header_size = padded;
    *data_size = pos;
    return 0;
}
