/* t-st: the strict safetensors reader (every rule, in-process), the model layer (shards,
 * index, tied alias, quantized refusal) and the writer layout against the 260-byte worked
 * example of mlx-format.md §8. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "mint/err.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/st.h"

static char dir[64];

static char *P(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void put(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(b, 1, n, f) != n) || fclose(f)) {
        perror(path);
        exit(1);
    }
}

static void put_s(const char *path, const char *s)
{
    put(path, s, strlen(s));
}

/* header text padded with spaces (hlen = UINT64_MAX) or with an explicit length, then dlen
 * data bytes 0, 1, 2, ... */
static void put_st(const char *path, const char *hdr, uint64_t hlen, size_t dlen)
{
    size_t n = strlen(hdr), padded = (n + 7) / 8 * 8;
    if (hlen != UINT64_MAX)
        padded = n;
    else
        hlen = padded;
    unsigned char *b = calloc(1, 8 + padded + dlen);
    memcpy(b, &hlen, 8);
    memcpy(b + 8, hdr, n);
    memset(b + 8 + n, ' ', padded - n);
    for (size_t i = 0; i < dlen; i++)
        b[8 + padded + i] = (unsigned char)i;
    put(path, b, 8 + padded + dlen);
    free(b);
}

/* Open and expect failure with 'want' in the message (and the path). */
static void st_bad(const char *hdr, uint64_t hlen, size_t dlen, const char *want, int line)
{
    struct mint_st_file f;
    struct mint_err err = {0};
    put_st(P("bad.safetensors"), hdr, hlen, dlen);
    int rc = mint_st_file_open(&f, P("bad.safetensors"), &err);
    CHECK_MSG(rc == -1 && strstr(err.msg, want) && strstr(err.msg, "bad.safetensors") &&
                  err.code == MINT_EXIT_INPUT,
              "line %d: rc %d, '%s' lacks '%s'", line, rc, err.msg, want);
    if (rc == 0)
        mint_st_file_release(&f);
}
#define BAD(h, dlen, want) st_bad(h, UINT64_MAX, dlen, want, __LINE__)

#define W16 "\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}"

/* a model file from entries via the writer; data bytes = name-seeded pattern */
static void put_planned(const char *path, struct mint_st_wentry *e, size_t n, const json_t *meta)
{
    unsigned char *hdr;
    size_t hs;
    uint64_t ds;
    struct mint_err err = {0};
    if (mint_st_plan(e, n, meta, &hdr, &hs, &ds, &err) < 0) {
        fprintf(stderr, "plan: %s\n", err.msg);
        exit(1);
    }
    unsigned char *b = malloc(hs + ds + 1);
    memcpy(b, hdr, hs);
    for (size_t i = 0; i < n; i++)
        for (uint64_t k = 0; k < e[i].nbytes; k++)
            b[hs + e[i].begin + k] = (unsigned char)(e[i].name[0] + k);
    put(path, b, hs + ds);
    free(b);
    free(hdr);
}

static void test_reader_rules(void)
{
    struct mint_st_file f;
    struct mint_err err = {0};

    /* header length */
    st_bad("{" W16 "}", 1000, 16, "header length 1000 but only", __LINE__);
    st_bad("{" W16 "}", 100000001, 16, "exceeds 100 MB", __LINE__);
    st_bad("{}", UINT64_MAX - 1, 0, "exceeds 100 MB", __LINE__);
    st_bad("", 0, 16, "header length is 0", __LINE__);
    put(P("bad.safetensors"), "\x08\0\0", 3);
    CHECK(mint_st_file_open(&f, P("bad.safetensors"), &err) == -1 &&
          strstr(err.msg, "truncated: 3 bytes"));
    put(P("bad.safetensors"), "", 0);
    CHECK(mint_st_file_open(&f, P("bad.safetensors"), &err) == -1 &&
          strstr(err.msg, "truncated: 0 bytes"));
    err = (struct mint_err){0};
    CHECK(mint_st_file_open(&f, P("nonexistent.safetensors"), &err) == -1 &&
          strstr(err.msg, "nonexistent.safetensors"));
    /* the header document */
    BAD("{\"w\": ", 0, "header is not valid JSON");
    BAD("{" W16 "} x", 16, "header is not valid JSON");
    BAD("[1]", 0, "header is not a JSON object");
    BAD("7", 0, "header is not a JSON object");
    BAD("{" W16 "," W16 "}", 16, "duplicate object key");
    BAD("{\"w\xfe\":{}}", 0, "header is not valid JSON");
    BAD("{\"__metadata__\":[]," W16 "}", 16, "__metadata__ is not an object");
    BAD("{\"__metadata__\":{\"a\":\"b\",\"c\":null}," W16 "}", 16, "value of 'c' is not a string");
    {
        /* deep nesting is refused by the parser, not by the stack */
        char *deep = malloc(200002);
        memset(deep, '[', 100000);
        memset(deep + 100000, ']', 100000);
        deep[200000] = 0;
        BAD(deep, 0, "header is not valid JSON");
        deep[0] = '{';
        BAD(deep, 0, "header is not valid JSON");
        free(deep);
    }
    /* entries */
    BAD("{\"w\":[]}", 0, "entry is not an object");
    BAD("{\"w\":{\"dtype\":\"F17\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16,
        "unknown dtype 'F17'");
    BAD("{\"w\":{\"dtype\":\"C64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16, "unknown dtype");
    BAD("{\"w\":{\"shape\":[4],\"data_offsets\":[0,16]}}", 16, "missing dtype");
    BAD("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,16]}}", 16, "missing shape");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[4,-1],\"data_offsets\":[0,16]}}", 16,
        "not a non-negative integer");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[4.5],\"data_offsets\":[0,16]}}", 16,
        "not a non-negative integer");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[null],\"data_offsets\":[0,16]}}", 16,
        "not a non-negative integer");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
        "9 dimensions");
    BAD("{\"w\":{\"dtype\":\"BOOL\",\"shape\":[65536,65536,65536,65536],\"data_offsets\":[0,16]}}",
        16, "element count overflows");
    BAD("{\"w\":{\"dtype\":\"I64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,16]}}", 16,
        "byte size overflows");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[4]}}", 16, "data_offsets: expected [begin, end]");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16,32]}}", 16,
        "data_offsets: expected");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,-16]}}", 16,
        "data_offsets: expected");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":\"0-16\"}}", 16,
        "data_offsets: expected");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[16,8]}}", 16,
        "end before begin");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16,
        "16 bytes, but shape and dtype need 12");
    /* tiling */
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[4,20]}}", 20, "gap before");
    BAD("{" W16 ",\"v\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[17,21]}}", 21,
        "tensor 'v': gap before data_offsets begin 17");
    BAD("{" W16 ",\"v\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[15,19]}}", 19,
        "overlap");
    BAD("{" W16 ",\"v\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,8]}}", 16, "overlap");
    BAD("{" W16 "}", 17, "1 trailing bytes");
    BAD("{" W16 "}", 15, "beyond the data section (15 bytes)");
    BAD("{\"w\":{\"dtype\":\"U8\",\"shape\":[9223372036854775807],"
        "\"data_offsets\":[0,9223372036854775807]}}",
        16, "beyond the data section");
    BAD("{" W16 ",\"v\":{\"dtype\":\"U8\",\"shape\":[9223372036854775807],"
        "\"data_offsets\":[16,9223372036854775823]}}",
        16, "header is not valid JSON"); /* integer beyond int64 */

    /* valid: metadata, zero-size tensors, absolute offsets, header-order tensors */
    put_st(P("ok.safetensors"),
           "{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"BF16\",\"shape\":[3],"
           "\"data_offsets\":[16,22]},\"z\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[16,16]},"
           "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
           "\"e\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[22,23]}}",
           UINT64_MAX, 23);
    err = (struct mint_err){0};
    CHECK(mint_st_file_open(&f, P("ok.safetensors"), &err) == 0);
    if (!err.msg[0]) {
        CHECK(f.n_tensors == 4);
        CHECK(f.data_start == 8 + f.header_len && f.data_start % 8 == 0);
        CHECK_STR(json_string_value(json_object_get(f.metadata, "format")), "pt");
        const struct mint_st_tensor *a = mint_st_file_find(&f, "a"), *b = mint_st_file_find(&f, "b");
        const struct mint_st_tensor *z = mint_st_file_find(&f, "z"), *e = mint_st_file_find(&f, "e");
        CHECK(a && b && z && e && !mint_st_file_find(&f, "__metadata__") &&
              !mint_st_file_find(&f, "c"));
        if (a && b && z && e) {
            CHECK(a->dtype == MINT_DT_F32 && a->ndim == 2 && a->shape[0] == 2 && a->shape[1] == 2);
            CHECK(a->nelem == 4 && a->nbytes == 16 && a->offset == f.data_start);
            CHECK(b->dtype == MINT_DT_BF16 && b->nbytes == 6 && b->offset == f.data_start + 16);
            CHECK(f.map.data[b->offset] == 16);
            CHECK(z->nelem == 0 && z->nbytes == 0 && z->ndim == 2);
            CHECK(e->ndim == 0 && e->nelem == 1 && e->nbytes == 1); /* a scalar */
            CHECK_STR(a->name, "a");
            CHECK_STR(a->stored_name, "a");
        }
        CHECK(!strcmp(f.tensors[0].name, "b") || !strcmp(f.tensors[0].name, "z") ||
              !strcmp(f.tensors[0].name, "a")); /* header key order */
        mint_st_file_release(&f);
    }
    /* an empty header: no tensors, no data */
    put_st(P("empty.safetensors"), "{}", UINT64_MAX, 0);
    CHECK(mint_st_file_open(&f, P("empty.safetensors"), &err) == 0 && f.n_tensors == 0);
    mint_st_file_release(&f);
    /* exactly 100 MB header length is allowed by the length rule (then fails as truncated) */
    st_bad("{}", 100000000, 0, "truncated: header length 100000000", __LINE__);
}

static void test_writer(void)
{
    /* mlx-format.md §8: the 4-bit module `w`, 260 bytes */
    static const char json[] =
        "{\"__metadata__\":{\"format\":\"mlx\"},\"w.biases\":{\"data_offsets\":[16,18],"
        "\"dtype\":\"BF16\",\"shape\":[1,1]},\"w.scales\":{\"data_offsets\":[18,20],\"dtype\":"
        "\"BF16\",\"shape\":[1,1]},\"w.weight\":{\"data_offsets\":[0,16],\"dtype\":\"U32\","
        "\"shape\":[1,4]}}";
    static const unsigned char data[20] = {0x8f, 0xa1, 0xb3, 0xd4, 0xe6, 0x17, 0x29,
                                           0x4b, 0x5c, 0x7e, 0x80, 0xa2, 0xc3, 0xd5,
                                           0xf6, 0x18, 0x08, 0x3f, 0x72, 0xbd};
    struct mint_st_wentry e[3] = {
        {"w.scales", MINT_DT_BF16, 2, {1, 1}, 0, 0},
        {"w.weight", MINT_DT_U32, 2, {1, 4}, 0, 0},
        {"w.biases", MINT_DT_BF16, 2, {1, 1}, 0, 0},
    };
    json_t *meta = json_pack("{s:s}", "format", "mlx");
    unsigned char *hdr = NULL;
    size_t hs = 0;
    uint64_t ds = 0;
    struct mint_err err = {0};

    CHECK(strlen(json) == 226);
    CHECK(mint_st_plan(e, 3, meta, &hdr, &hs, &ds, &err) == 0);
    CHECK(hs == 240 && ds == 20);
    if (hdr && hs == 240) {
        static const unsigned char len8[8] = {0xe8, 0, 0, 0, 0, 0, 0, 0};
        CHECK(!memcmp(hdr, len8, 8));
        CHECK(!memcmp(hdr + 8, json, 226));
        CHECK(!memcmp(hdr + 234, "      ", 6));
    }
    /* data order: itemsize descending, then name */
    CHECK_STR(e[0].name, "w.weight");
    CHECK_STR(e[1].name, "w.biases");
    CHECK_STR(e[2].name, "w.scales");
    CHECK(e[0].begin == 0 && e[0].nbytes == 16 && e[1].begin == 16 && e[2].begin == 18);
    /* the whole file is the spec's 260 bytes and reads back */
    {
        unsigned char file[260];
        struct mint_st_file f;
        memcpy(file, hdr, 240);
        memcpy(file + 240, data, 20);
        put(P("w.safetensors"), file, 260);
        CHECK(mint_st_file_open(&f, P("w.safetensors"), &err) == 0);
        CHECK(f.n_tensors == 3 && f.map.size == 260 && f.data_start == 240);
        const struct mint_st_tensor *s = mint_st_file_find(&f, "w.scales");
        CHECK(s && s->offset == 258 && f.map.data[s->offset] == 0x72);
        mint_st_file_release(&f);
    }
    free(hdr);

    /* padding: every header size is a multiple of 8 with a space-padded tail */
    for (int len = 1; len <= 24; len++) {
        char name[32];
        memset(name, 'n', (size_t)len);
        name[len] = 0;
        struct mint_st_wentry one = {name, MINT_DT_F16, 1, {3}, 0, 0};
        CHECK(mint_st_plan(&one, 1, NULL, &hdr, &hs, &ds, &err) == 0);
        uint64_t n;
        memcpy(&n, hdr, 8);
        CHECK(hs % 8 == 0 && n == hs - 8 && ds == 6 && hdr[hs - 1] != 0);
        CHECK(hdr[8] == '{' && (hdr[hs - 1] == '}' || hdr[hs - 1] == ' '));
        free(hdr);
    }
    /* mixed dtypes: U32 / F32 first, then 2-byte, then 1-byte; names bytewise within */
    {
        struct mint_st_wentry m[5] = {
            {"b", MINT_DT_BF16, 1, {3}, 0, 0}, {"a", MINT_DT_U8, 1, {5}, 0, 0},
            {"c", MINT_DT_F32, 1, {1}, 0, 0},  {"B", MINT_DT_F16, 2, {1, 1}, 0, 0},
            {"z", MINT_DT_F32, 1, {0}, 0, 0},
        };
        CHECK(mint_st_plan(m, 5, NULL, &hdr, &hs, &ds, &err) == 0);
        CHECK_STR(m[0].name, "c");
        CHECK_STR(m[1].name, "z");
        CHECK_STR(m[2].name, "B");
        CHECK_STR(m[3].name, "b");
        CHECK_STR(m[4].name, "a");
        CHECK(m[1].begin == 4 && m[1].nbytes == 0 && m[2].begin == 4 && m[3].begin == 6 &&
              m[4].begin == 12 && ds == 17);
        free(hdr);
    }
    /* errors */
    {
        struct mint_st_wentry d[2] = {{"x", MINT_DT_F16, 1, {3}, 0, 0},
                                      {"x", MINT_DT_F16, 1, {2}, 0, 0}};
        err = (struct mint_err){0};
        CHECK(mint_st_plan(d, 2, NULL, &hdr, &hs, &ds, &err) == -1 && strstr(err.msg, "duplicate"));
        struct mint_st_wentry neg = {"n", MINT_DT_F16, 1, {-3}, 0, 0};
        err = (struct mint_err){0};
        CHECK(mint_st_plan(&neg, 1, NULL, &hdr, &hs, &ds, &err) == -1 && strstr(err.msg, "'n'"));
        struct mint_st_wentry big = {"o", MINT_DT_F64, 2, {INT64_MAX, 4}, 0, 0};
        err = (struct mint_err){0};
        CHECK(mint_st_plan(&big, 1, NULL, &hdr, &hs, &ds, &err) == -1);
    }
    json_decref(meta);
}

static void test_model(void)
{
    struct mint_st_model m;
    struct mint_err err = {0};
    const char *cfg_tied = "{\"num_hidden_layers\": 2, \"tie_word_embeddings\": true}";

    /* single file, tied via config, stored as lm_head.weight only: exposed as the embedding */
    mint_mkdirs(P("m1"), &err);
    put(P("m1/config.json"), cfg_tied, strlen(cfg_tied));
    {
        struct mint_st_wentry e[3] = {{"lm_head.weight", MINT_DT_F32, 2, {8, 4}, 0, 0},
                                      {"model.norm.weight", MINT_DT_F32, 1, {4}, 0, 0},
                                      {"model.layers.0.mlp.up_proj.weight", MINT_DT_F16, 2, {6, 4}, 0, 0}};
        put_planned(P("m1/model.safetensors"), e, 3, NULL);
    }
    CHECK(mint_st_model_open(&m, P("m1"), &err) == 0);
    if (!err.msg[0]) {
        CHECK(m.n_tensors == 3 && m.n_files == 1 && m.tied == 1 && m.num_layers == 2);
        CHECK_STR(m.tensors[0]->name, "model.embed_tokens.weight");
        CHECK_STR(m.tensors[1]->name, "model.layers.0.mlp.up_proj.weight");
        CHECK_STR(m.tensors[2]->name, "model.norm.weight");
        const struct mint_st_tensor *t = mint_st_model_find(&m, "model.embed_tokens.weight");
        CHECK(t && !strcmp(t->stored_name, "lm_head.weight"));
        CHECK(!mint_st_model_find(&m, "lm_head.weight"));
        CHECK(t && ((const unsigned char *)mint_st_model_data(&m, t))[0] == 'l');
        CHECK(mint_st_model_find(&m, "model.norm.weight") == m.tensors[2]);
        CHECK(!mint_st_model_find(&m, "zzz") && !mint_st_model_find(&m, ""));
        CHECK_STR(m.files[0].name, "model.safetensors");
        mint_st_model_release(&m);
    }
    /* no tie key in config: lm_head present -> untied, kept as is */
    put_s(P("m1/config.json"), "{\"num_hidden_layers\": 1}");
    CHECK(mint_st_model_open(&m, P("m1"), &err) == 0 && m.tied == 0 &&
          mint_st_model_find(&m, "lm_head.weight") && m.num_layers == 1);
    mint_st_model_release(&m);
    /* text_config (VLM): layers and tie from there; no layers at all -> -1 */
    put_s(P("m1/config.json"),
          "{\"text_config\": {\"num_hidden_layers\": 7, \"tie_word_embeddings\": false}}");
    CHECK(mint_st_model_open(&m, P("m1"), &err) == 0 && m.tied == 0 && m.num_layers == 7);
    mint_st_model_release(&m);
    put_s(P("m1/config.json"), "{}");
    CHECK(mint_st_model_open(&m, P("m1"), &err) == 0 && m.num_layers == -1);
    mint_st_model_release(&m);

    /* shards + index: files in index order, tensors sorted across files */
    mint_mkdirs(P("m2"), &err);
    put(P("m2/config.json"), cfg_tied, strlen(cfg_tied));
    {
        struct mint_st_wentry a[2] = {{"model.embed_tokens.weight", MINT_DT_BF16, 2, {8, 4}, 0, 0},
                                      {"model.layers.1.mlp.up_proj.weight", MINT_DT_BF16, 2, {2, 4}, 0, 0}};
        struct mint_st_wentry b[1] = {{"model.layers.0.mlp.up_proj.weight", MINT_DT_BF16, 2, {2, 4}, 0, 0}};
        put_planned(P("m2/model-00001-of-00002.safetensors"), a, 2, NULL);
        put_planned(P("m2/model-00002-of-00002.safetensors"), b, 1, NULL);
        const char *idx =
            "{\"metadata\":{},\"weight_map\":{"
            "\"model.embed_tokens.weight\":\"model-00001-of-00002.safetensors\","
            "\"model.layers.1.mlp.up_proj.weight\":\"model-00001-of-00002.safetensors\","
            "\"model.layers.0.mlp.up_proj.weight\":\"model-00002-of-00002.safetensors\"}}";
        put(P("m2/model.safetensors.index.json"), idx, strlen(idx));
    }
    CHECK(mint_st_model_open(&m, P("m2"), &err) == 0);
    if (!err.msg[0]) {
        CHECK(m.n_files == 2 && m.n_tensors == 3 && m.tied == 1);
        CHECK_STR(m.files[0].name, "model-00001-of-00002.safetensors");
        CHECK_STR(m.files[1].name, "model-00002-of-00002.safetensors");
        CHECK_STR(m.tensors[1]->name, "model.layers.0.mlp.up_proj.weight");
        CHECK(m.tensors[1]->file == 1 && m.tensors[2]->file == 0);
        mint_st_model_release(&m);
    }
    /* the index wins over a stray model.safetensors; an index naming a missing tensor fails */
    put(P("m2/model.safetensors"), "junk", 4);
    CHECK(mint_st_model_open(&m, P("m2"), &err) == 0);
    mint_st_model_release(&m);
    {
        const char *idx = "{\"weight_map\":{\"x\":\"model-00002-of-00002.safetensors\","
                          "\"model.embed_tokens.weight\":\"model-00001-of-00002.safetensors\","
                          "\"model.layers.1.mlp.up_proj.weight\":\"model-00001-of-00002.safetensors\","
                          "\"model.layers.0.mlp.up_proj.weight\":\"model-00002-of-00002.safetensors\"}}";
        put(P("m2/model.safetensors.index.json"), idx, strlen(idx));
        err = (struct mint_err){0};
        CHECK(mint_st_model_open(&m, P("m2"), &err) == -1 &&
              strstr(err.msg, "tensor 'x' named by the index is not in this file") &&
              strstr(err.msg, "model-00002-of-00002.safetensors"));
    }

    /* refusals */
    mint_mkdirs(P("q"), &err);
    put_s(P("q/config.json"), "{\"num_hidden_layers\": 1}");
    {
        struct mint_st_wentry e[3] = {{"w.weight", MINT_DT_U32, 2, {1, 4}, 0, 0},
                                      {"w.scales", MINT_DT_BF16, 2, {1, 1}, 0, 0},
                                      {"w.biases", MINT_DT_BF16, 2, {1, 1}, 0, 0}};
        put_planned(P("q/model.safetensors"), e, 3, NULL);
    }
    err = (struct mint_err){0};
    CHECK(mint_st_model_open(&m, P("q"), &err) == -1 && strstr(err.msg, "already quantized"));
    put_s(P("q/config.json"), "{\"quantization\": {\"bits\": 4}}");
    err = (struct mint_err){0};
    CHECK(mint_st_model_open(&m, P("q"), &err) == -1 && strstr(err.msg, "already quantized") &&
          strstr(err.msg, "config.json"));
    err = (struct mint_err){0};
    CHECK(mint_st_model_open(&m, P("nope"), &err) == -1 && strstr(err.msg, "nope"));
    err = (struct mint_err){0};
    CHECK(mint_st_model_open(&m, P("q/config.json"), &err) == -1 &&
          strstr(err.msg, "not a directory"));
    unlink(P("q/config.json"));
    err = (struct mint_err){0};
    CHECK(mint_st_model_open(&m, P("q"), &err) == -1 && strstr(err.msg, "no config.json"));
}

/* Mutations of a valid file (a byte of the header, a digit, a truncation): every one either
 * opens with all tensors inside the file or fails with a message naming the file; never a
 * crash or a sanitizer report. */
static void test_mutations(void)
{
    struct mint_st_wentry e[4] = {{"model.a.weight", MINT_DT_BF16, 2, {12, 10}, 0, 0},
                                  {"model.b.weight", MINT_DT_F32, 1, {33}, 0, 0},
                                  {"model.c", MINT_DT_U8, 3, {2, 3, 5}, 0, 0},
                                  {"z", MINT_DT_F16, 1, {0}, 0, 0}};
    json_t *meta = json_pack("{s:s}", "format", "pt");
    struct mint_err err = {0};
    struct mint_map orig;
    uint64_t s = 0x9e3779b97f4a7c15ull;
    int opened = 0, failed = 0, bad = 0;

    put_planned(P("base.safetensors"), e, 4, meta);
    json_decref(meta);
    if (mint_map_open(&orig, P("base.safetensors"), &err) < 0)
        return;
    unsigned char *buf = malloc(orig.size);
    uint64_t hlen;
    memcpy(&hlen, orig.data, 8);
    for (int it = 0; it < 3000; it++) {
        size_t len = orig.size;
        memcpy(buf, orig.data, orig.size);
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        size_t pos = (size_t)(s >> 20) % (8 + hlen);
        switch (it % 4) {
        case 0: buf[pos] = (unsigned char)(s >> 8); break;
        case 1: /* a digit becomes another digit, or a digit is inserted as a sign/dot */
            for (size_t k = 0; k < 8 + hlen; k++) {
                size_t q = (pos + k) % (8 + hlen);
                if (buf[q] >= '0' && buf[q] <= '9') {
                    buf[q] = "0123456789-.e9"[(s >> 4) % 14];
                    break;
                }
            }
            break;
        case 2: len = (size_t)(s >> 9) % orig.size; break;
        case 3: buf[pos] ^= (unsigned char)(1u << ((s >> 3) & 7)); break;
        }
        put(P("mut.safetensors"), buf, len);
        struct mint_st_file f;
        err = (struct mint_err){0};
        if (mint_st_file_open(&f, P("mut.safetensors"), &err) == 0) {
            opened++;
            for (size_t i = 0; i < f.n_tensors; i++)
                bad += f.tensors[i].offset < f.data_start ||
                       f.tensors[i].offset + f.tensors[i].nbytes > f.map.size;
            mint_st_file_release(&f);
        } else {
            failed++;
            bad += !strstr(err.msg, "mut.safetensors") || !err.code;
        }
    }
    CHECK_MSG(bad == 0, "%d bad outcomes (%d opened, %d failed)", bad, opened, failed);
    CHECK(failed > 1000); /* most mutations are caught */
    free(buf);
    mint_map_release(&orig);
}

int main(void)
{
    uint64_t r;
    snprintf(dir, sizeof dir, "/tmp/mint-t-st.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    CHECK(mint_mul_u64(1ull << 32, 1ull << 31, &r) == 0 && r == 1ull << 63);
    CHECK(mint_mul_u64(1ull << 32, 1ull << 32, &r) == -1);
    CHECK(mint_mul_u64(0, UINT64_MAX, &r) == 0 && r == 0);
    CHECK(mint_mul_u64(UINT64_MAX, 1, &r) == 0 && r == UINT64_MAX);
    CHECK(mint_add_u64(UINT64_MAX - 1, 1, &r) == 0 && r == UINT64_MAX);
    CHECK(mint_add_u64(UINT64_MAX, 1, &r) == -1);

    test_reader_rules();
    test_writer();
    test_model();
    test_mutations();
    mint_rmtree(dir);
    return CHECK_DONE();
}
