/* t-srcidx: the index sidecar answers exactly as the index.json; stale, corrupt or unwritable
 * sidecars are not trusted; the shard map checks size and bounds. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "mint/err.h"
#include "mint/hash.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/srcidx.h"

static char dir[64];

static char *P(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static void hash_of(const char *s, char out[MINT_HASH_HEX])
{
    mint_hash_hex(s, strlen(s), out);
}

static json_t *tensor(const char *name, const char *dt, json_t *shape, const char *file,
                      int64_t off, int64_t nbytes, json_t *layer, json_t *expert)
{
    char h[MINT_HASH_HEX];
    hash_of(name, h);
    return json_pack("{s:s,s:s,s:o,s:s,s:I,s:I,s:s,s:s,s:o,s:o}", "name", name, "dtype", dt,
                     "shape", shape, "file", file, "offset", (json_int_t)off, "nbytes",
                     (json_int_t)nbytes, "hash", h, "role", "other", "layer", layer, "expert",
                     expert);
}

/* Write doc as index_path (+ sidecar); returns the text's length. */
static void write_index(const char *path, const json_t *doc)
{
    struct mint_err err = {0};
    char *t = mint_json_text(doc, MINT_JSON_FLAGS);
    CHECK(t && mint_write_file(path, t, strlen(t), &err) == 0);
    CHECK_MSG(mint_srcidx_write(path, doc, t, strlen(t), &err) == 0, "%s", err.msg);
    free(t);
}

static int same_entry(const struct mint_srcidx *a, const struct mint_srcent *x,
                      const struct mint_srcidx *b, const struct mint_srcent *y)
{
    if (x->dtype != y->dtype || x->ndim != y->ndim || x->nelem != y->nelem ||
        x->offset != y->offset || x->nbytes != y->nbytes || strcmp(x->hash, y->hash) ||
        x->role != y->role || x->layer != y->layer || x->expert != y->expert ||
        strcmp(a->files[x->file].name, b->files[y->file].name) ||
        a->files[x->file].size != b->files[y->file].size)
        return 0;
    for (int d = 0; d < x->ndim; d++)
        if (x->shape[d] != y->shape[d])
            return 0;
    return 1;
}

static void copy_file(const char *from, const char *to)
{
    struct mint_err err = {0};
    size_t n;
    char *b = mint_read_file(from, &n, &err);
    CHECK(b && mint_write_file(to, b, n, &err) == 0);
    free(b);
}

#define NBIG 3000

int main(void)
{
    struct mint_err err = {0};
    struct mint_srcidx fx, jx;
    struct mint_srcent e, f;
    json_t *doc, *ts, *files, *model;
    char name[64];

    snprintf(dir, sizeof dir, "/tmp/t-srcidx.XXXXXX");
    if (!mkdtemp(dir))
        return 1;

    /* two shard files: a.safetensors 4096 bytes, b.safetensors 100 bytes */
    {
        char buf[4096];
        memset(buf, 7, sizeof buf);
        CHECK(mint_write_file(P("a.safetensors"), buf, 4096, &err) == 0);
        CHECK(mint_write_file(P("b.safetensors"), buf, 100, &err) == 0);
    }
    ts = json_array();
    /* sorted bytewise: prefixes of each other, a 0-D, a 3-D, a layered tensor */
    json_array_append_new(ts, tensor("a", "F32", json_array(), "a.safetensors", 8, 4, json_null(),
                                     json_null()));
    json_array_append_new(ts, tensor("a.b", "BF16", json_pack("[I]", (json_int_t)3),
                                     "a.safetensors", 12, 6, json_null(), json_null()));
    json_array_append_new(ts, tensor("ab", "F16", json_pack("[I,I,I]", (json_int_t)2,
                                                            (json_int_t)2, (json_int_t)2),
                                     "b.safetensors", 20, 16, json_null(), json_null()));
    json_array_append_new(ts, tensor("lm.layers.0.mlp.experts.3.up_proj.weight", "BF16",
                                     json_pack("[I,I]", (json_int_t)4, (json_int_t)8),
                                     "a.safetensors", 64, 64, json_integer(0), json_integer(3)));
    json_array_append_new(ts, tensor("lm.layers.0.post_attention_layernorm.weight", "I32",
                                     json_pack("[I]", (json_int_t)8), "b.safetensors", 40, 32,
                                     json_integer(0), json_null()));
    for (int i = 0; i < NBIG; i++) {
        snprintf(name, sizeof name, "t.%05d.w", i * 7);
        json_array_append_new(ts, tensor(name, "BF16", json_pack("[I]", (json_int_t)(i % 50)),
                                         "a.safetensors", 128 + i, (i % 50) * 2, json_null(),
                                         json_null()));
    }
    json_array_append_new(ts, tensor("z\xc3\xa9", "F32", json_pack("[I]", (json_int_t)1),
                                     "b.safetensors", 96, 4, json_null(), json_null()));
    files = json_pack("[{s:s,s:I},{s:s,s:I}]", "name", "a.safetensors", "size",
                      (json_int_t)4096, "name", "b.safetensors", "size", (json_int_t)100);
    model = json_pack("{s:s,s:b,s:o}", "dir", dir, "tied", 1, "files", files);
    doc = json_pack("{s:i,s:o,s:o}", "schema", 1, "model", model, "tensors", ts);

    write_index(P("index.json"), doc);
    CHECK(exists(P("index.json.tsv")));
    copy_file(P("index.json"), P("plain.json")); /* no sidecar: the JSON path */
    CHECK(!exists(P("plain.json.tsv")));

    CHECK_MSG(mint_srcidx_open(&fx, P("index.json"), &err) == 0, "%s", err.msg);
    CHECK(mint_srcidx_open(&jx, P("plain.json"), &err) == 0);
    CHECK(mint_srcidx_fast(&fx) == 1);
    CHECK(mint_srcidx_fast(&jx) == 0);
    CHECK_STR(fx.dir, dir);
    CHECK_STR(jx.dir, dir);
    CHECK(fx.tied == 1 && jx.tied == 1);
    CHECK_STR(fx.lm_prefix, "lm.");
    CHECK_STR(jx.lm_prefix, "lm.");
    CHECK(fx.n_files == 2 && fx.files[1].size == 100);

    /* every tensor: same entry both ways */
    {
        size_t i;
        json_t *t;
        int all = 1, found = 1;
        json_array_foreach(ts, i, t) {
            const char *n = json_string_value(json_object_get(t, "name"));
            int a = mint_srcidx_find(&fx, n, &e, &err), b = mint_srcidx_find(&jx, n, &f, &err);
            found &= a == 1 && b == 1;
            all &= a == 1 && b == 1 && same_entry(&fx, &e, &jx, &f) &&
                   !strcmp(e.hash, json_string_value(json_object_get(t, "hash")));
        }
        CHECK(found);
        CHECK(all);
    }
    CHECK(mint_srcidx_find(&fx, "ab", &e, &err) == 1);
    CHECK(e.ndim == 3 && e.nelem == 8 && e.dtype == MINT_DT_F16 && e.offset == 20);
    CHECK_STR(fx.files[e.file].name, "b.safetensors");
    CHECK(mint_srcidx_find(&fx, "a", &e, &err) == 1 && e.ndim == 0 && e.nelem == 1);
    CHECK(mint_srcidx_find(&fx, "lm.layers.0.mlp.experts.3.up_proj.weight", &e, &err) == 1);
    CHECK(e.layer == 0 && e.expert == 3 && e.role == MINT_ROLE_OTHER);
    CHECK(mint_srcidx_find(&fx, "lm.layers.0.post_attention_layernorm.weight", &e, &err) == 1);
    CHECK(e.dtype == MINT_DT_I32 && e.expert == -1);
    /* absent names: before the first, after the last, between, prefixes */
    {
        static const char *const absent[] = {"", "0", "a.", "a.a", "a.bb", "aa", "b", "t.",
                                             "t.00001.w", "t.00007", "t.99999.w", "z", "zz",
                                             "\xff"};
        int none = 1;
        for (size_t i = 0; i < sizeof absent / sizeof *absent; i++)
            none &= mint_srcidx_find(&fx, absent[i], &e, &err) == 0 &&
                    mint_srcidx_find(&jx, absent[i], &e, &err) == 0;
        CHECK(none);
    }

    /* the shard map: bounds and recorded size */
    {
        struct mint_map m;
        CHECK(mint_srcidx_find(&fx, "ab", &e, &err) == 1);
        CHECK_MSG(mint_srcidx_map(&fx, &e, &m, &err) == 0, "%s", err.msg);
        CHECK(m.size == 100 && m.data[e.offset] == 7);
        mint_map_release(&m);
        e.offset = 90; /* 90 + 16 > 100 */
        CHECK(mint_srcidx_map(&fx, &e, &m, &err) < 0 && strstr(err.msg, "beyond the end"));
        CHECK(m.data == NULL);
        {
            char buf[101];
            memset(buf, 7, sizeof buf);
            CHECK(mint_write_file(P("b.safetensors"), buf, 101, &err) == 0);
        }
        e.offset = 20;
        CHECK(mint_srcidx_map(&fx, &e, &m, &err) < 0 &&
              strstr(err.msg, "101 bytes, the index says 100 (model changed since indexing?)"));
        CHECK(unlink(P("b.safetensors")) == 0);
        CHECK(mint_srcidx_map(&fx, &e, &m, &err) < 0 && strstr(err.msg, "No such file"));
    }
    mint_srcidx_release(&fx);
    mint_srcidx_release(&jx);

    /* stale: index.json changed after the sidecar was written -> the JSON is used */
    {
        json_t *t0 = json_array_get(ts, 0);
        char *t;
        json_object_set_new(t0, "offset", json_integer(16));
        t = mint_json_text(doc, MINT_JSON_FLAGS);
        CHECK(mint_write_file(P("index.json"), t, strlen(t), &err) == 0);
        free(t);
        CHECK(mint_srcidx_open(&fx, P("index.json"), &err) == 0);
        CHECK(mint_srcidx_fast(&fx) == 0);
        CHECK(mint_srcidx_find(&fx, "a", &e, &err) == 1 && e.offset == 16);
        mint_srcidx_release(&fx);
        write_index(P("index.json"), doc); /* fresh again */
        CHECK(mint_srcidx_open(&fx, P("index.json"), &err) == 0);
        CHECK(mint_srcidx_fast(&fx) == 1);
        CHECK(mint_srcidx_find(&fx, "a", &e, &err) == 1 && e.offset == 16);
        mint_srcidx_release(&fx);
    }
    /* corrupt: one byte of the body changed (the index hash still matches) */
    {
        size_t n;
        char *b = mint_read_file(P("index.json.tsv"), &n, &err), *p;
        CHECK(b && (p = strstr(b, "\nab\tF16")) != NULL);
        if (b && p) {
            p[2] = 'c'; /* rename "ab" to "ac" */
            CHECK(mint_write_file(P("index.json.tsv"), b, n, &err) == 0);
            CHECK(mint_srcidx_open(&fx, P("index.json"), &err) == 0);
            CHECK(mint_srcidx_fast(&fx) == 0);
            CHECK(mint_srcidx_find(&fx, "ab", &e, &err) == 1);
            CHECK(mint_srcidx_find(&fx, "ac", &e, &err) == 0);
            mint_srcidx_release(&fx);
            memcpy(b, "mint-srcidx\t2", 13); /* another version */
            CHECK(mint_write_file(P("index.json.tsv"), b, n, &err) == 0);
            CHECK(mint_srcidx_open(&fx, P("index.json"), &err) == 0);
            CHECK(mint_srcidx_fast(&fx) == 0);
            mint_srcidx_release(&fx);
        }
        free(b);
    }
    /* write-if-changed: an unchanged sidecar keeps its bytes; a tab in a name or unsorted
     * tensors: no sidecar (and the old one removed) */
    write_index(P("index.json"), doc);
    CHECK(exists(P("index.json.tsv")));
    {
        json_t *t0 = json_array_get(ts, 0);
        json_object_set_new(t0, "name", json_string("a\tx"));
        write_index(P("index.json"), doc);
        CHECK(!exists(P("index.json.tsv")));
        CHECK(mint_srcidx_open(&fx, P("index.json"), &err) == 0);
        CHECK(mint_srcidx_fast(&fx) == 0 && mint_srcidx_find(&fx, "a\tx", &e, &err) == 1);
        mint_srcidx_release(&fx);
        json_object_set_new(t0, "name", json_string("zzz")); /* first, but sorts last */
        write_index(P("index.json"), doc);
        CHECK(!exists(P("index.json.tsv")));
        json_object_set_new(t0, "name", json_string("a"));
        write_index(P("index.json"), doc);
        CHECK(exists(P("index.json.tsv")));
    }
    /* a malformed entry in the JSON path: -1 for it, the others still answer */
    {
        json_t *t1 = json_array_get(ts, 1);
        char *t;
        json_object_del(t1, "hash");
        t = mint_json_text(doc, MINT_JSON_FLAGS);
        CHECK(mint_write_file(P("bad.json"), t, strlen(t), &err) == 0);
        free(t);
        CHECK(mint_srcidx_open(&fx, P("bad.json"), &err) == 0);
        CHECK(mint_srcidx_find(&fx, "a.b", &e, &err) == -1 && strstr(err.msg, "no content hash"));
        CHECK(mint_srcidx_find(&fx, "ab", &e, &err) == 1);
        mint_srcidx_release(&fx);
        CHECK(mint_srcidx_write(P("bad.json"), doc, "x", 1, &err) == 0);
        CHECK(!exists(P("bad.json.tsv")));
    }
    /* errors of opening: missing, not an index */
    CHECK(mint_srcidx_open(&fx, P("none.json"), &err) < 0 && strstr(err.msg, "No such file"));
    CHECK(mint_write_file(P("x.json"), "{\"a\": 1}\n", 9, &err) == 0);
    CHECK(mint_srcidx_open(&fx, P("x.json"), &err) < 0 &&
          strstr(err.msg, "not an index (no model.dir or tensors)"));

    json_decref(doc);
    mint_rmtree(dir);
    return CHECK_DONE();
}
