/* t-pack: the pack library on hand-made models: the exact 260-byte file of mlx-format.md §8,
 * a second file computed by hand, config override rules, shard splitting, index.json,
 * MoE stacking, strict alloc validation, atomic output, and the round trip through
 * mint_quant_row_mlx + mint_dequant_row. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "mint/err.h"
#include "mint/hash.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/pack.h"

static const int m8[32] = {-11, 2, 15, -1, 12, -4, 9, -7, 6, -10, 3, 16, 0, 13, -3, 10,
                           -6,  7, -9, 4,  17, 1,  14, -2, 11, -5, 8, -8, 5, -11, 2, 15};

struct tdef {
    const char *name;
    enum mint_dtype dt;
    int ndim;
    int64_t shape[3];
    const void *data;
};

static uint64_t tdef_bytes(const struct tdef *t)
{
    uint64_t n = mint_dtype_size(t->dt);
    for (int d = 0; d < t->ndim; d++)
        n *= (uint64_t)t->shape[d];
    return n;
}

/* Write dir/{config.json,model.safetensors} and return the matching index document. */
static json_t *make_model(const char *dir, const struct tdef *t, size_t n, const char *config)
{
    struct mint_st_wentry e[16];
    unsigned char *hdr;
    size_t hsz;
    uint64_t dsz;
    json_t *meta = json_pack("{s:s}", "format", "pt"), *tensors = json_array(), *cfg;
    struct mint_err err = {0};
    char *p;
    FILE *f;

    mint_mkdirs(dir, &err);
    p = mint_path_join(dir, "config.json");
    f = fopen(p, "w");
    fputs(config, f);
    fclose(f);
    free(p);
    for (size_t i = 0; i < n; i++) {
        e[i].name = t[i].name;
        e[i].dtype = t[i].dt;
        e[i].ndim = t[i].ndim;
        memcpy(e[i].shape, t[i].shape, sizeof t[i].shape);
    }
    MINT_ASSERT(mint_st_plan(e, n, meta, &hdr, &hsz, &dsz, &err) == 0);
    p = mint_path_join(dir, "model.safetensors");
    f = fopen(p, "wb");
    fwrite(hdr, 1, hsz, f);
    for (size_t i = 0; i < n; i++) /* plan order */
        for (size_t k = 0; k < n; k++)
            if (!strcmp(e[i].name, t[k].name))
                fwrite(t[k].data, 1, tdef_bytes(&t[k]), f);
    fclose(f);
    free(p);
    free(hdr);
    json_decref(meta);
    for (size_t i = 0; i < n; i++) {
        char hex[MINT_HASH_HEX];
        json_t *shape = json_array();
        mint_hash_hex(t[i].data, tdef_bytes(&t[i]), hex);
        for (int d = 0; d < t[i].ndim; d++)
            json_array_append_new(shape, json_integer(t[i].shape[d]));
        json_array_append_new(tensors, json_pack("{s:s,s:s,s:o,s:s}", "name", t[i].name, "dtype",
                                                 mint_dtype_name(t[i].dt), "shape", shape, "hash",
                                                 hex));
    }
    cfg = json_loads(config, 0, NULL);
    MINT_ASSERT(cfg);
    return json_pack("{s:i,s:{s:s,s:o,s:b},s:o}", "schema", 1, "model", "dir", dir, "config", cfg,
                     "tied", json_is_true(json_object_get(cfg, "tie_word_embeddings")), "tensors",
                     tensors);
}

/* alloc.json with one entry per "name=bits:group" (bytes computed from the index). */
static json_t *make_alloc(const json_t *index, const char *const *spec, size_t n, uint64_t budget)
{
    json_t *ts = json_array();
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(spec[i], '=');
        char name[256];
        int b = 16, g = 0;
        uint64_t nel = 1;
        size_t k;
        json_t *t;
        snprintf(name, sizeof name, "%.*s", (int)(eq - spec[i]), spec[i]);
        sscanf(eq + 1, "%d:%d", &b, &g);
        json_array_foreach(json_object_get(index, "tensors"), k, t) {
            if (strcmp(json_string_value(json_object_get(t, "name")), name))
                continue;
            size_t d;
            json_t *x;
            json_array_foreach(json_object_get(t, "shape"), d, x) nel *= (uint64_t)json_integer_value(x);
        }
        struct mint_qcfg c = {b, g};
        uint64_t by = mint_qcfg_valid(c) ? mint_quant_bytes(nel, c) : 0;
        total += by;
        json_array_append_new(ts, json_pack("{s:s,s:i,s:i,s:I}", "name", name, "bits", b, "group",
                                            g, "bytes", (json_int_t)by));
    }
    return json_pack("{s:i,s:I,s:I,s:I,s:s,s:o}", "schema", 1, "budget_bytes",
                     (json_int_t)(budget ? budget : total + 100000), "total_bytes",
                     (json_int_t)total, "reserve_bytes", (json_int_t)0, "out_dtype", "BF16",
                     "tensors", ts);
}

/* Load index + alloc into a plan and pack into out.  Returns 0 or -1 (err filled). */
static int pack_t(const json_t *index, const json_t *alloc, const char *out, uint64_t shard,
                  int threads, struct mint_pack_report *r, struct mint_err *err)
{
    struct mint_pack_plan p;
    struct mint_pack_opts o = {out, shard, 0, threads};
    struct mint_pack_report rr;
    int rc;
    if (mint_pack_index_load(&p, index, "index", err) < 0)
        return -1;
    rc = mint_pack_alloc_load(&p, alloc, MINT_DT_INVALID, "alloc", err);
    if (rc == 0)
        rc = mint_pack_write(&p, &o, r ? r : &rr, err);
    mint_pack_plan_release(&p);
    return rc;
}

static int pack(const json_t *index, const json_t *alloc, const char *out, uint64_t shard,
                struct mint_pack_report *r, struct mint_err *err)
{
    return pack_t(index, alloc, out, shard, 1, r, err);
}

static unsigned char *slurp(const char *dir, const char *name, size_t *len)
{
    struct mint_err err = {0};
    char *p = mint_path_join(dir, name);
    char *b = mint_read_file(p, len, &err);
    free(p);
    return (unsigned char *)b;
}

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static void test_section8(const char *tmp)
{
    uint16_t w[32];
    char src[512], out[512];
    json_t *index, *alloc;
    struct mint_err err = {0};
    size_t len;
    unsigned char *file;
    static const char *cfg = "{\"model_type\": \"llama\", \"tie_word_embeddings\": false, "
                             "\"torch_dtype\": \"bfloat16\", \"rms_norm_eps\": 1e-05}";
    static const char json[] =
        "{\"__metadata__\":{\"format\":\"mlx\"},\"w.biases\":{\"data_offsets\":[16,18],"
        "\"dtype\":\"BF16\",\"shape\":[1,1]},\"w.scales\":{\"data_offsets\":[18,20],\"dtype\":"
        "\"BF16\",\"shape\":[1,1]},\"w.weight\":{\"data_offsets\":[0,16],\"dtype\":\"U32\","
        "\"shape\":[1,4]}}";
    static const unsigned char data[20] = {0x8f, 0xa1, 0xb3, 0xd4, 0xe6, 0x17, 0x29,
                                           0x4b, 0x5c, 0x7e, 0x80, 0xa2, 0xc3, 0xd5,
                                           0xf6, 0x18, 0x08, 0x3f, 0x72, 0xbd};
    unsigned char want[260];

    for (int k = 0; k < 32; k++)
        w[k] = mint_f32_to_bf16((float)m8[k] / 32.0f);
    struct tdef t[] = {{"w.weight", MINT_DT_BF16, 2, {1, 32}, w}};
    snprintf(src, sizeof src, "%s/s8", tmp);
    snprintf(out, sizeof out, "%s/s8.out", tmp);
    index = make_model(src, t, 1, cfg);
    const char *spec[] = {"w.weight=4:32"};
    alloc = make_alloc(index, spec, 1, 0);
    CHECK_MSG(pack(index, alloc, out, 0, NULL, &err) == 0, "%s", err.msg);

    /* the 260 bytes of mlx-format.md §8, assembled from the spec's pieces */
    CHECK(strlen(json) == 226);
    memset(want, ' ', sizeof want);
    want[0] = 0xe8;
    memset(want + 1, 0, 7);
    memcpy(want + 8, json, 226);
    memcpy(want + 240, data, 20);
    file = slurp(out, "model.safetensors", &len);
    CHECK(file && len == 260);
    CHECK(file && len == 260 && !memcmp(file, want, 260));
    free(file);

    /* decode checks of §8 */
    {
        char p[600];
        float v[32];
        FILE *f;
        snprintf(p, sizeof p, "%s/s8.f32", tmp);
        CHECK_MSG(mint_pack_dump(out, "w.weight", p, &err) == 0, "%s", err.msg);
        f = fopen(p, "rb");
        CHECK(f && fread(v, 4, 32, f) == 32);
        if (f)
            fclose(f);
        CHECK(v[0] == -0.35498046875f);
        CHECK(v[20] == 0.53125f);
        CHECK(v[12] == -0.00048828125f);
    }
    /* config: the only module sets the global default; source keys kept; dtype; tie explicit */
    {
        char *c = (char *)slurp(out, "config.json", &len);
        CHECK(c && strstr(c, "    \"quantization\": {\n        \"bits\": 4,\n"
                             "        \"group_size\": 32,\n        \"mode\": \"affine\"\n    },"));
        CHECK(c && strstr(c, "\"rms_norm_eps\": 1e-05,"));
        CHECK(c && strstr(c, "\"tie_word_embeddings\": false,"));
        CHECK(c && strstr(c, "\"torch_dtype\": \"bfloat16\""));
        free(c);
    }
    {
        char *c = (char *)slurp(out, "model.safetensors.index.json", &len);
        CHECK_STR(c ? c : "", "{\n    \"metadata\": {\n        \"total_parameters\": 32,\n"
                              "        \"total_size\": 20\n    },\n    \"weight_map\": {\n"
                              "        \"w.biases\": \"model.safetensors\",\n"
                              "        \"w.scales\": \"model.safetensors\",\n"
                              "        \"w.weight\": \"model.safetensors\"\n    }\n}\n");
        free(c);
    }
    json_decref(index);
    json_decref(alloc);
}

/* §8's row plus an F32 1-D tensor whose BF16 rounding is worked out by hand. */
static void test_two_tensors(const char *tmp)
{
    uint16_t w[32];
    float nv[4] = {1.00390625f, -2.5f, 0.15625f, 1.01171875f};
    /* RNE: 1+2^-8 -> 1.0 (tie to even 0x3F80); 1+3*2^-8 -> 0x3F82 (tie to even) */
    static const unsigned char nb[8] = {0x80, 0x3f, 0x20, 0xc0, 0x20, 0x3e, 0x82, 0x3f};
    static const char json[] =
        "{\"__metadata__\":{\"format\":\"mlx\"},\"n.weight\":{\"data_offsets\":[16,24],\"dtype\":"
        "\"BF16\",\"shape\":[4]},\"w.biases\":{\"data_offsets\":[24,26],\"dtype\":\"BF16\","
        "\"shape\":[1,1]},\"w.scales\":{\"data_offsets\":[26,28],\"dtype\":\"BF16\",\"shape\":"
        "[1,1]},\"w.weight\":{\"data_offsets\":[0,16],\"dtype\":\"U32\",\"shape\":[1,4]}}";
    static const unsigned char wq[16] = {0x8f, 0xa1, 0xb3, 0xd4, 0xe6, 0x17, 0x29, 0x4b,
                                         0x5c, 0x7e, 0x80, 0xa2, 0xc3, 0xd5, 0xf6, 0x18};
    unsigned char want[400];
    size_t jl = strlen(json), hl = (8 + jl + 7) / 8 * 8 - 8, len;
    char src[512], out[512];
    struct mint_err err = {0};
    unsigned char *file;
    json_t *index, *alloc;

    for (int k = 0; k < 32; k++)
        w[k] = mint_f32_to_bf16((float)m8[k] / 32.0f);
    struct tdef t[] = {{"w.weight", MINT_DT_BF16, 2, {1, 32}, w},
                       {"n.weight", MINT_DT_F32, 1, {4}, nv}};
    snprintf(src, sizeof src, "%s/two", tmp);
    snprintf(out, sizeof out, "%s/two.out", tmp);
    index = make_model(src, t, 2, "{\"tie_word_embeddings\": false, \"dtype\": \"float32\"}");
    const char *spec[] = {"w.weight=4:32", "n.weight=16:0"};
    alloc = make_alloc(index, spec, 2, 0);
    CHECK_MSG(pack(index, alloc, out, 0, NULL, &err) == 0, "%s", err.msg);
    memset(want, ' ', sizeof want);
    memcpy(want, &hl, 8);
    memcpy(want + 8, json, jl);
    memcpy(want + 8 + hl, wq, 16);
    memcpy(want + 8 + hl + 16, nb, 8);
    memcpy(want + 8 + hl + 24, "\x08\x3f\x72\xbd", 4);
    file = slurp(out, "model.safetensors", &len);
    CHECK(file && len == 8 + hl + 28);
    CHECK(file && len == 8 + hl + 28 && !memcmp(file, want, len));
    free(file);
    {
        /* the source used "dtype", not "torch_dtype": only that key is set */
        char *c = (char *)slurp(out, "config.json", &len);
        CHECK(c && strstr(c, "\"dtype\": \"bfloat16\"") && !strstr(c, "torch_dtype"));
        free(c);
    }
    /* packcheck against the source: every byte re-derived */
    {
        struct mint_pack_check_opts co = {0, 0, index, 1};
        struct mint_pack_report r;
        CHECK_MSG(mint_pack_check(out, &co, &r, &err) == 0, "%s", err.msg);
        CHECK(r.n_tensors == 4 && r.n_quant == 1 && r.n_float == 1 && r.params == 36);
    }
    json_decref(index);
    json_decref(alloc);
}

static void test_three_bit_row(void)
{
    float w[32];
    uint32_t pk[3];
    uint16_t sc, bi;
    for (int k = 0; k < 32; k++)
        w[k] = (float)m8[k] / 32.0f;
    mint_quant_row_mlx(w, 32, (struct mint_qcfg){3, 32}, MINT_DT_BF16, pk, &sc, &bi);
    CHECK(pk[0] == 0xF3CA9827u && pk[1] == 0x079554C0u && pk[2] == 0x13BCA986u);
    CHECK(sc == 0xBE08 && bi == 0x3F08);
}

static void test_quant_json(void)
{
    struct mint_qcfg g;
    json_t *q;
    char *t;
    {
        /* tie in parameters: fewer bits wins */
        struct mint_pack_qmod m[] = {{"a", {4, 64}, 100, 1}, {"b", {3, 32}, 100, 1},
                                     {"c", {16, 0}, 50, 1},  {"d", {16, 0}, 50, 0}};
        q = mint_pack_quant_json(m, 4, &g);
        CHECK(g.bits == 3 && g.group == 32);
        t = json_dumps(q, JSON_COMPACT | JSON_SORT_KEYS);
        CHECK_STR(t, "{\"a\":{\"bits\":4,\"group_size\":64},\"bits\":3,\"c\":false,"
                     "\"group_size\":32,\"mode\":\"affine\"}");
        free(t);
        json_decref(q);
    }
    {
        /* same bits and parameters: larger group wins */
        struct mint_pack_qmod m[] = {{"a", {4, 64}, 100, 1}, {"b", {4, 128}, 100, 1}};
        q = mint_pack_quant_json(m, 2, &g);
        CHECK(g.bits == 4 && g.group == 128);
        CHECK(json_object_size(q) == 4 && json_object_get(q, "a") && !json_object_get(q, "b"));
        json_decref(q);
    }
    {
        /* most parameters wins over fewer bits; §8's module under a (4,64) default */
        struct mint_pack_qmod m[] = {{"x", {2, 32}, 200, 1}, {"y", {4, 64}, 300, 1},
                                     {"w", {4, 32}, 32, 0}};
        q = mint_pack_quant_json(m, 3, &g);
        CHECK(g.bits == 4 && g.group == 64);
        t = json_dumps(json_object_get(q, "w"), JSON_COMPACT | JSON_SORT_KEYS);
        CHECK_STR(t, "{\"bits\":4,\"group_size\":32}");
        free(t);
        json_decref(q);
    }
    {
        /* nothing quantized: no quantization at all */
        struct mint_pack_qmod m[] = {{"a", {16, 0}, 100, 1}};
        CHECK(mint_pack_quant_json(m, 1, &g) == NULL);
    }
}

static void test_shard_split(void)
{
    size_t so[8];
    {
        uint64_t s[] = {10, 10, 10};
        CHECK(mint_pack_shard_split(s, 3, 20, so) == 2 && so[0] == 0 && so[1] == 0 && so[2] == 1);
    }
    {
        uint64_t s[] = {5, 30, 5}; /* a tensor above the limit gets a shard of its own */
        CHECK(mint_pack_shard_split(s, 3, 20, so) == 3 && so[0] == 0 && so[1] == 1 && so[2] == 2);
    }
    {
        uint64_t s[] = {30, 30};
        CHECK(mint_pack_shard_split(s, 2, 20, so) == 2 && so[0] == 0 && so[1] == 1);
    }
    {
        uint64_t s[] = {20, 0, 1};
        CHECK(mint_pack_shard_split(s, 3, 20, so) == 2 && so[1] == 0 && so[2] == 1);
    }
    CHECK(mint_pack_shard_split(NULL, 0, 20, so) == 0);
    {
        char n[64];
        mint_pack_shard_name(0, 1, n, sizeof n);
        CHECK_STR(n, "model.safetensors");
        mint_pack_shard_name(2, 3, n, sizeof n);
        CHECK_STR(n, "model-00003-of-00003.safetensors");
    }
}

static void test_json_text(void)
{
    json_t *d = json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:[],s:{},s:[i,s],s:n}", "a", 1e-05, "b",
                          10000.0, "c", 0.02, "d", 1e16, "e", -0.5, "f", 1e-7, "g", 123.456, "h",
                          "i", "j", 1, "x\"y", "k");
    char *t = mint_pack_json_text(d);
    CHECK_STR(t, "{\n    \"a\": 1e-05,\n    \"b\": 10000.0,\n    \"c\": 0.02,\n    \"d\": 1e+16,\n"
                 "    \"e\": -0.5,\n    \"f\": 1e-07,\n    \"g\": 123.456,\n    \"h\": [],\n"
                 "    \"i\": {},\n    \"j\": [\n        1,\n        \"x\\\"y\"\n    ],\n"
                 "    \"k\": null\n}\n");
    free(t);
    json_decref(d);
}

static void test_parse_size(void)
{
    uint64_t v = 0;
    CHECK(mint_pack_parse_size("5G", &v) == 0 && v == 5ull << 30);
    CHECK(mint_pack_parse_size("512MiB", &v) == 0 && v == 512ull << 20);
    CHECK(mint_pack_parse_size("1.5KB", &v) == 0 && v == 1500);
    CHECK(mint_pack_parse_size("1.5k", &v) == 0 && v == 1536);
    CHECK(mint_pack_parse_size("1000", &v) == 0 && v == 1000);
    CHECK(mint_pack_parse_size("7b", &v) == 0 && v == 7);
    CHECK(mint_pack_parse_size("30X", &v) < 0);
    CHECK(mint_pack_parse_size("-1G", &v) < 0);
    CHECK(mint_pack_parse_size("", &v) < 0);
    CHECK(mint_pack_parse_size("9T9", &v) < 0);
    CHECK(mint_pack_parse_size("99999999999T", &v) < 0);
}

/* A small Llama-like model: mixed configs, several shards, index.json, errors. */
static float *randmat(int64_t n, uint64_t seed)
{
    float *w = malloc((size_t)n * sizeof *w);
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        w[i] = ((float)(s >> 40) / (float)(1u << 24) - 0.5f) * (1.0f + (float)(i % 7));
    }
    return w;
}

static void test_small_model(const char *tmp)
{
    float *emb = randmat(64 * 64, 1), *q = randmat(64 * 64, 2), *down = randmat(64 * 96, 3);
    float *up = randmat(96 * 64, 4), *odd = randmat(8 * 40, 5), norm[64];
    char src[512], out[512], p[700];
    struct mint_err err = {0};
    struct mint_pack_report r;
    json_t *index, *alloc;
    size_t len;

    for (int i = 0; i < 64; i++)
        norm[i] = 1.0f + (float)i / 64.0f;
    struct tdef t[] = {
        {"model.embed_tokens.weight", MINT_DT_F32, 2, {64, 64}, emb},
        {"model.layers.0.self_attn.q_proj.weight", MINT_DT_F32, 2, {64, 64}, q},
        {"model.layers.0.mlp.down_proj.weight", MINT_DT_F32, 2, {64, 96}, down},
        {"model.layers.0.mlp.up_proj.weight", MINT_DT_F32, 2, {96, 64}, up},
        {"model.layers.0.mlp.gate_proj.weight", MINT_DT_F32, 2, {8, 40}, odd},
        {"model.layers.0.input_layernorm.weight", MINT_DT_F32, 1, {64}, norm},
        {"model.norm.weight", MINT_DT_F32, 1, {64}, norm},
    };
    snprintf(src, sizeof src, "%s/small", tmp);
    snprintf(out, sizeof out, "%s/small.out", tmp);
    index = make_model(src, t, 7,
                       "{\"model_type\": \"llama\", \"tie_word_embeddings\": true, "
                       "\"num_hidden_layers\": 1}");
    {
        /* tokenizer files are copied byte for byte, others are not */
        FILE *f;
        snprintf(p, sizeof p, "%s/tokenizer.json", src);
        f = fopen(p, "w");
        fputs("{\"x\": 1}\r\n", f);
        fclose(f);
        snprintf(p, sizeof p, "%s/README.md", src);
        f = fopen(p, "w");
        fputs("hi", f);
        fclose(f);
    }
    const char *spec[] = {
        "model.embed_tokens.weight=4:64",   "model.layers.0.self_attn.q_proj.weight=4:64",
        "model.layers.0.mlp.down_proj.weight=3:32", "model.layers.0.mlp.up_proj.weight=16:0",
        "model.layers.0.mlp.gate_proj.weight=16:0", "model.layers.0.input_layernorm.weight=16:0",
        "model.norm.weight=16:0",
    };
    alloc = make_alloc(index, spec, 7, 0);
    CHECK_MSG(pack(index, alloc, out, 3000, &r, &err) == 0, "%s", err.msg);
    CHECK(r.n_shards >= 3);
    {
        struct mint_pack_check_opts co = {0, 3000, index, 2};
        struct mint_pack_report r2;
        CHECK_MSG(mint_pack_check(out, &co, &r2, &err) == 0, "%s", err.msg);
        CHECK(r2.n_shards == r.n_shards && r2.file_bytes == r.file_bytes);
        co.shard_size = 4000; /* a different split is detected */
        CHECK(mint_pack_check(out, &co, &r2, &err) < 0 && strstr(err.msg, "greedy"));
    }
    {
        char *c = (char *)slurp(out, "config.json", &len);
        /* up_proj kept float -> false; gate_proj (in-dim 40) too; norms get nothing */
        CHECK(c && strstr(c, "\"model.layers.0.mlp.down_proj\": {\n            \"bits\": 3,\n"
                             "            \"group_size\": 32\n        },"));
        CHECK(c && strstr(c, "\"model.layers.0.mlp.up_proj\": false"));
        CHECK(c && strstr(c, "\"model.layers.0.mlp.gate_proj\": false"));
        CHECK(c && !strstr(c, "norm\": "));
        CHECK(c && !strstr(c, "\"model.embed_tokens\""));
        CHECK(c && strstr(c, "\"tie_word_embeddings\": true"));
        CHECK(c && strstr(c, "\"torch_dtype\": \"bfloat16\""));
        free(c);
        c = (char *)slurp(out, "tokenizer.json", &len);
        CHECK(c && !strcmp(c, "{\"x\": 1}\r\n"));
        free(c);
        snprintf(p, sizeof p, "%s/README.md", out);
        CHECK(!exists(p));
    }
    {
        /* index.json: every tensor, in the shard that holds it; totals */
        json_t *ix;
        char *ip = mint_path_join(out, "model.safetensors.index.json");
        ix = mint_json_load(ip, &err);
        free(ip);
        CHECK(ix != NULL);
        json_t *wm = json_object_get(ix, "weight_map");
        CHECK(json_object_size(wm) == 3 + 3 + 3 + 4);
        CHECK(json_integer_value(json_object_get(json_object_get(ix, "metadata"),
                                                 "total_parameters")) ==
              64 * 64 * 2 + 64 * 96 + 96 * 64 + 8 * 40 + 64 * 2);
        const char *key;
        json_t *v;
        int ok = 1;
        json_object_foreach(wm, key, v) {
            struct mint_st_file f;
            char *fp = mint_path_join(out, json_string_value(v));
            if (mint_st_file_open(&f, fp, &err) < 0 || !mint_st_file_find(&f, key))
                ok = 0;
            else
                mint_st_file_release(&f);
            free(fp);
        }
        CHECK(ok);
        json_decref(ix);
    }
    /* round trip: decoding the file == mint_quant_row_mlx + mint_dequant_row of the source */
    {
        float *dec = malloc(64 * 96 * sizeof *dec), row[96];
        uint32_t pk[96];
        uint16_t sc[3], bi[3];
        FILE *f;
        int same = 1;
        snprintf(p, sizeof p, "%s/down.f32", tmp);
        CHECK_MSG(mint_pack_dump(out, "model.layers.0.mlp.down_proj.weight", p, &err) == 0, "%s",
                  err.msg);
        f = fopen(p, "rb");
        CHECK(f && fread(dec, sizeof *dec, 64 * 96, f) == 64 * 96);
        if (f)
            fclose(f);
        for (int r0 = 0; r0 < 64; r0++) {
            mint_quant_row_mlx(down + r0 * 96, 96, (struct mint_qcfg){3, 32}, MINT_DT_BF16, pk, sc,
                               bi);
            mint_dequant_row(pk, sc, bi, 96, (struct mint_qcfg){3, 32}, MINT_DT_BF16, row);
            same &= !memcmp(row, dec + r0 * 96, sizeof row);
        }
        CHECK(same);
        free(dec);
    }
    /* rerun: identical bytes, the previous packed directory replaced */
    {
        char out2[600];
        size_t l1, l2;
        unsigned char *a, *b;
        snprintf(out2, sizeof out2, "%s/small.out2", tmp);
        /* three threads: the same bytes as one */
        CHECK_MSG(pack_t(index, alloc, out2, 3000, 3, NULL, &err) == 0, "%s", err.msg);
        CHECK_MSG(pack(index, alloc, out, 3000, NULL, &err) == 0, "%s", err.msg);
        int same = 1;
        for (size_t k = 0; k < r.n_shards; k++) {
            char fn[64];
            mint_pack_shard_name(k, r.n_shards, fn, sizeof fn);
            a = slurp(out, fn, &l1);
            b = slurp(out2, fn, &l2);
            same &= a && b && l1 == l2 && !memcmp(a, b, l1);
            free(a);
            free(b);
        }
        CHECK(same);
    }
    /* a stale temporary directory of a dead process is removed */
    {
        snprintf(p, sizeof p, "%s.tmp.999999999", out);
        mint_mkdirs(p, &err);
        CHECK_MSG(pack(index, alloc, out, 3000, NULL, &err) == 0, "%s", err.msg);
        CHECK(!exists(p));
    }
    /* a directory that is not a packed model is not replaced */
    {
        char other[600];
        FILE *f;
        snprintf(other, sizeof other, "%s/precious", tmp);
        mint_mkdirs(other, &err);
        snprintf(p, sizeof p, "%s/notes.txt", other);
        f = fopen(p, "w");
        fputs("keep", f);
        fclose(f);
        CHECK(pack(index, alloc, other, 0, NULL, &err) < 0 && strstr(err.msg, "not replacing"));
        CHECK(exists(p));
        CHECK(pack(index, alloc, src, 0, NULL, &err) < 0);
    }
    /* the budget is a hard cap: over it, nothing is written, exit 4 */
    {
        json_t *a2 = json_deep_copy(alloc);
        char o3[600];
        snprintf(o3, sizeof o3, "%s/small.over", tmp);
        json_object_set_new(a2, "budget_bytes", json_integer((json_int_t)r.data_bytes));
        CHECK(pack(index, a2, o3, 3000, NULL, &err) < 0 && err.code == MINT_EXIT_NUMERIC &&
              strstr(err.msg, "over the budget"));
        CHECK(!exists(o3));
        json_decref(a2);
    }
    /* the source changed since mint-index: hash mismatch, no output */
    {
        json_t *i2 = json_deep_copy(index);
        char o4[600];
        snprintf(o4, sizeof o4, "%s/small.hash", tmp);
        json_object_set_new(json_array_get(json_object_get(i2, "tensors"), 2), "hash",
                            json_string("00000000000000000000000000000000"));
        CHECK(pack(i2, alloc, o4, 0, NULL, &err) < 0 && strstr(err.msg, "content hash"));
        CHECK(!exists(o4));
        json_decref(i2);
    }
    /* tampering is detected by the checker */
    {
        char fn[64], *fp;
        FILE *f;
        mint_pack_shard_name(0, r.n_shards, fn, sizeof fn);
        fp = mint_path_join(out, fn);
        f = fopen(fp, "r+b");
        MINT_ASSERT(f);
        struct mint_pack_check_opts co = {0, 0, index, 1};
        struct mint_pack_report r2;
        fseek(f, -1, SEEK_END);
        int ch = fgetc(f);
        fseek(f, -1, SEEK_END);
        fputc(ch ^ 1, f);
        fclose(f);
        free(fp);
        CHECK(mint_pack_check(out, &co, &r2, &err) < 0 && strstr(err.msg, "differs"));
        co.index = NULL; /* structure alone is still fine */
        CHECK(mint_pack_check(out, &co, &r2, &err) == 0);
    }
    json_decref(index);
    json_decref(alloc);
    free(emb);
    free(q);
    free(down);
    free(up);
    free(odd);
}

static void expect_alloc_error(const json_t *index, const char *const *spec, size_t n,
                               const char *msg, const char *tmp)
{
    struct mint_err err = {0};
    char out[600];
    json_t *alloc = make_alloc(index, spec, n, 0);
    snprintf(out, sizeof out, "%s/bad.out", tmp);
    CHECK_MSG(pack(index, alloc, out, 0, NULL, &err) < 0 && strstr(err.msg, msg),
              "want '%s', got '%s'", msg, err.msg);
    CHECK(!exists(out));
    json_decref(alloc);
}

static void test_moe_and_errors(const char *tmp)
{
    float *e0 = randmat(32 * 64, 11), *e1 = randmat(32 * 64, 12), *rt = randmat(2 * 64, 13);
    float *a1 = randmat(64, 14), *inv = randmat(4, 15);
    char src[512], out[512];
    struct mint_err err = {0};
    json_t *index, *alloc;

    struct tdef t[] = {
        {"model.layers.0.mlp.experts.0.gate_proj.weight", MINT_DT_F32, 2, {32, 64}, e0},
        {"model.layers.0.mlp.experts.1.gate_proj.weight", MINT_DT_F32, 2, {32, 64}, e1},
        {"model.layers.0.mlp.gate.weight", MINT_DT_F32, 2, {2, 64}, rt},
        {"model.layers.0.post_attention_layernorm.weight", MINT_DT_F32, 1, {64}, a1},
        {"model.layers.0.self_attn.rotary_emb.inv_freq", MINT_DT_F32, 1, {4}, inv},
    };
    snprintf(src, sizeof src, "%s/moe", tmp);
    snprintf(out, sizeof out, "%s/moe.out", tmp);
    index = make_model(src, t, 5, "{\"model_type\": \"qwen3_moe\", \"tie_word_embeddings\": false}");
    {
        const char *spec[] = {"model.layers.0.mlp.experts.0.gate_proj.weight=2:32",
                              "model.layers.0.mlp.experts.1.gate_proj.weight=2:32",
                              "model.layers.0.mlp.gate.weight=16:0",
                              "model.layers.0.post_attention_layernorm.weight=16:0",
                              "model.layers.0.self_attn.rotary_emb.inv_freq=16:0"};
        alloc = make_alloc(index, spec, 5, 0);
        /* inv_freq: dropped, its bytes not charged */
        json_object_set_new(json_array_get(json_object_get(alloc, "tensors"), 4), "dropped",
                            json_true());
        json_object_set_new(json_array_get(json_object_get(alloc, "tensors"), 4), "bytes",
                            json_integer(0));
        CHECK_MSG(pack(index, alloc, out, 0, NULL, &err) == 0, "%s", err.msg);
        struct mint_st_file f;
        char *fp = mint_path_join(out, "model.safetensors");
        CHECK_MSG(mint_st_file_open(&f, fp, &err) == 0, "%s", err.msg);
        free(fp);
        const struct mint_st_tensor *w =
            mint_st_file_find(&f, "model.layers.0.mlp.switch_mlp.gate_proj.weight");
        const struct mint_st_tensor *s =
            mint_st_file_find(&f, "model.layers.0.mlp.switch_mlp.gate_proj.scales");
        CHECK(w && w->ndim == 3 && w->shape[0] == 2 && w->shape[1] == 32 && w->shape[2] == 4);
        CHECK(s && s->ndim == 3 && s->shape[0] == 2 && s->shape[2] == 2);
        CHECK(!mint_st_file_find(&f, "model.layers.0.self_attn.rotary_emb.inv_freq"));
        CHECK(mint_st_file_find(&f, "model.layers.0.mlp.gate.weight") != NULL);
        if (w) {
            /* expert 1 at index 1 */
            uint32_t pk[4];
            uint16_t sc[2], bi[2];
            int same = 1;
            const uint32_t *fw = (const uint32_t *)(f.map.data + w->offset);
            for (int r0 = 0; r0 < 32; r0++) {
                mint_quant_row_mlx(e1 + r0 * 64, 64, (struct mint_qcfg){2, 32}, MINT_DT_BF16, pk,
                                   sc, bi);
                same &= !memcmp(pk, fw + (32 + r0) * 4, sizeof pk);
            }
            CHECK(same);
        }
        mint_st_file_release(&f);
        size_t len;
        char *c = (char *)slurp(out, "config.json", &len);
        /* the router is kept float: false; the SwitchLinear quantized at the default */
        CHECK(c && strstr(c, "\"model.layers.0.mlp.gate\": false"));
        CHECK(c && strstr(c, "\"bits\": 2,\n        \"group_size\": 32,\n        \"mode\""));
        free(c);
        struct mint_pack_check_opts co = {0, 0, index, 1};
        struct mint_pack_report r;
        CHECK_MSG(mint_pack_check(out, &co, &r, &err) == 0, "%s", err.msg);
        json_decref(alloc);
    }
    {
        const char *spec[] = {"model.layers.0.mlp.experts.0.gate_proj.weight=2:32",
                              "model.layers.0.mlp.experts.1.gate_proj.weight=3:32",
                              "model.layers.0.mlp.gate.weight=16:0",
                              "model.layers.0.post_attention_layernorm.weight=16:0",
                              "model.layers.0.self_attn.rotary_emb.inv_freq=16:0"};
        expect_alloc_error(index, spec, 5, "share one configuration", tmp);
        spec[1] = "model.layers.0.mlp.experts.1.gate_proj.weight=2:32";
        spec[3] = "model.layers.0.post_attention_layernorm.weight=4:32";
        expect_alloc_error(index, spec, 5, "cannot be quantized (fewer than 2 dimensions)", tmp);
        spec[3] = "model.layers.0.post_attention_layernorm.weight=16:0";
        spec[2] = "model.layers.0.mlp.gate.weight=4:128";
        expect_alloc_error(index, spec, 5, "group 128 does not divide the input dimension 64",
                           tmp);
        spec[2] = "model.layers.0.mlp.gate.weight=7:32";
        expect_alloc_error(index, spec, 5, "invalid configuration bits 7 group 32", tmp);
        spec[2] = "model.layers.0.mlp.gate.weight=16:64";
        expect_alloc_error(index, spec, 5, "invalid configuration bits 16 group 64", tmp);
        spec[2] = "model.layers.0.mlp.gate.weight=16:0";
        expect_alloc_error(index, spec, 4, "'model.layers.0.self_attn.rotary_emb.inv_freq' of "
                                           "the index is missing", tmp);
        const char *extra[] = {spec[0], spec[1], spec[2], spec[3], spec[4], "lm_head.weight=4:64"};
        expect_alloc_error(index, extra, 6, "'lm_head.weight': not in the index", tmp);
        const char *dup[] = {spec[0], spec[1], spec[2], spec[3], spec[4], spec[4]};
        expect_alloc_error(index, dup, 6, "listed twice", tmp);
    }
    {
        /* wrong bytes, dropped on a needed tensor, missing out_dtype */
        const char *spec[] = {"model.layers.0.mlp.experts.0.gate_proj.weight=2:32",
                              "model.layers.0.mlp.experts.1.gate_proj.weight=2:32",
                              "model.layers.0.mlp.gate.weight=16:0",
                              "model.layers.0.post_attention_layernorm.weight=16:0",
                              "model.layers.0.self_attn.rotary_emb.inv_freq=16:0"};
        json_t *a = make_alloc(index, spec, 5, 0);
        json_t *e2 = json_array_get(json_object_get(a, "tensors"), 2);
        struct mint_pack_plan p;
        json_object_set_new(e2, "bytes", json_integer(3));
        CHECK(mint_pack_index_load(&p, index, "index", &err) == 0);
        CHECK(mint_pack_alloc_load(&p, a, MINT_DT_INVALID, "alloc", &err) < 0 &&
              strstr(err.msg, "'bytes' 3 but 16-bit of 128 elements writes 256 bytes"));
        mint_pack_plan_release(&p);
        json_object_set_new(e2, "bytes", json_integer(256));
        json_object_set_new(e2, "dropped", json_true());
        CHECK(mint_pack_index_load(&p, index, "index", &err) == 0);
        CHECK(mint_pack_alloc_load(&p, a, MINT_DT_INVALID, "alloc", &err) < 0 &&
              strstr(err.msg, "marked dropped, but the MLX model needs it"));
        mint_pack_plan_release(&p);
        json_object_del(e2, "dropped");
        json_object_del(a, "out_dtype");
        CHECK(mint_pack_index_load(&p, index, "index", &err) == 0);
        CHECK(mint_pack_alloc_load(&p, a, MINT_DT_INVALID, "alloc", &err) < 0 &&
              strstr(err.msg, "out_dtype"));
        mint_pack_plan_release(&p);
        json_decref(a);
    }
    json_decref(index);
    free(e0);
    free(e1);
    free(rt);
    free(a1);
    free(inv);
}

/* Every configuration: the packed bytes decode to mint_quant_row_mlx + mint_dequant_row. */
static void test_round_trip_all(const char *tmp)
{
    static const struct mint_qcfg cf[] = {{2, 32}, {2, 64}, {2, 128}, {3, 32}, {3, 64},
                                          {3, 128}, {4, 32}, {4, 64}, {4, 128}, {5, 32},
                                          {5, 64}, {5, 128}, {6, 32}, {6, 64}, {6, 128},
                                          {8, 32}, {8, 64}, {8, 128}};
    float *w = randmat(16 * 128, 99);
    uint16_t wb[16 * 128];
    char src[512], out[512], p[600], spec0[64];
    struct mint_err err = {0};
    int all = 1;
    json_t *index;

    for (int i = 0; i < 16 * 128; i++)
        wb[i] = mint_f32_to_bf16(w[i]);
    struct tdef t[] = {{"model.layers.0.mlp.up_proj.weight", MINT_DT_BF16, 2, {16, 128}, wb}};
    snprintf(src, sizeof src, "%s/rt", tmp);
    index = make_model(src, t, 1, "{\"tie_word_embeddings\": false, \"torch_dtype\": \"bfloat16\"}");
    for (size_t c = 0; c < sizeof cf / sizeof *cf; c++) {
        const char *spec[1] = {spec0};
        float dec[16 * 128], f[128], row[128];
        uint32_t pk[128];
        uint16_t sc[4], bi[4];
        FILE *fp;
        for (int dt = 0; dt < 2; dt++) {
            enum mint_dtype sdt = dt ? MINT_DT_F16 : MINT_DT_BF16;
            snprintf(spec0, sizeof spec0, "model.layers.0.mlp.up_proj.weight=%d:%d", cf[c].bits,
                     cf[c].group);
            json_t *alloc = make_alloc(index, spec, 1, 0);
            json_object_set_new(alloc, "out_dtype", json_string(dt ? "F16" : "BF16"));
            snprintf(out, sizeof out, "%s/rt.out", tmp);
            if (pack(index, alloc, out, 0, NULL, &err) < 0) {
                CHECK_MSG(0, "%s", err.msg);
                json_decref(alloc);
                continue;
            }
            json_decref(alloc);
            snprintf(p, sizeof p, "%s/rt.f32", tmp);
            CHECK_MSG(mint_pack_dump(out, "model.layers.0.mlp.up_proj.weight", p, &err) == 0,
                      "%s", err.msg);
            fp = fopen(p, "rb");
            CHECK(fp && fread(dec, 4, 16 * 128, fp) == 16 * 128);
            if (fp)
                fclose(fp);
            for (int r0 = 0; r0 < 16; r0++) {
                mint_to_f32(MINT_DT_BF16, wb + r0 * 128, f, 128);
                mint_quant_row_mlx(f, 128, cf[c], sdt, pk, sc, bi);
                mint_dequant_row(pk, sc, bi, 128, cf[c], sdt, row);
                if (memcmp(row, dec + r0 * 128, sizeof row)) {
                    all = 0;
                    fprintf(stderr, "round trip differs: %d:%d %s row %d\n", cf[c].bits,
                            cf[c].group, dt ? "F16" : "BF16", r0);
                }
            }
        }
    }
    CHECK(all);
    json_decref(index);
    free(w);
}

int main(void)
{
    char tmpl[] = "/tmp/t-pack.XXXXXX";
    char *tmp = mkdtemp(tmpl);
    if (!tmp)
        return 1;
    test_three_bit_row();
    test_section8(tmp);
    test_two_tensors(tmp);
    test_quant_json();
    test_shard_split();
    test_json_text();
    test_parse_size();
    test_small_model(tmp);
    test_moe_and_errors(tmp);
    test_round_trip_all(tmp);
    mint_rmtree(tmp);
    return CHECK_DONE();
}
