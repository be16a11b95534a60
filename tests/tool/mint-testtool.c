/* mint-testtool - fixtures and small checks for the test scripts.
 *
 *   mint-testtool bad OUTDIR              malformed model directories, one per reader rule:
 *                                         OUTDIR/<case>/{config.json, *.safetensors, ..., expect}
 *   mint-testtool model OUTDIR [opts]     a small valid model (see usage for the options)
 *   mint-testtool big OUTDIR MIB          a ~MIB MiB BF16 model, streamed (never held in RAM)
 *   mint-testtool jget FILE PATH          print one value of a JSON document
 *   mint-testtool jrows FILE PATH KEY...  one tab-separated line per element of an array
 *   mint-testtool flip FILE OFFSET        xor one byte of a file with 0xff (in place)
 *
 * expect files: line 1 is a substring the error message must contain (the cause), line 2 a
 * substring naming the offending file or directory.  Every case directory has a config.json
 * with num_hidden_layers unless the case is about config.json itself.
 *
 * JSON paths are '/'-separated: an object key, an array index, "name=V" (the first array
 * element whose "name" is V) or a final "#" (number of elements).  Strings print raw, other
 * values as compact JSON ([64,172], null, 3). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mint/dtype.h"
#include "mint/err.h"
#include "mint/hash.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/st.h"

static const char usage[] =
    "usage: mint-testtool bad OUTDIR\n"
    "       mint-testtool model OUTDIR [--family llama|qwen2|qwen3|qwen3moe|qwen2moe|mixtral|vlm]\n"
    "                     [--dtype F32|F16|BF16] [--layers N] [--hidden N] [--ffn N] [--vocab N]\n"
    "                     [--experts N] [--shards N] [--untied] [--lm-head-only] [--seed N]\n"
    "       mint-testtool big OUTDIR MIB      (BF16 [8192, 8192] tensors, streamed)\n"
    "       mint-testtool jget FILE PATH\n"
    "       mint-testtool jrows FILE PATH KEY...\n"
    "       mint-testtool flip FILE OFFSET\n"
    "       mint-testtool edit FILE rename OLD NEW | add NAME DTYPE D0[,D1...]\n"
    "       mint-testtool many OUTDIR N\n";

static void die(const char *fmt, const char *a)
{
    fprintf(stderr, "mint-testtool: ");
    fprintf(stderr, fmt, a);
    fputc('\n', stderr);
    exit(1);
}

static char *join(const char *dir, const char *name)
{
    char *p = mint_path_join(dir, name);
    if (!p)
        die("%s", "out of memory");
    return p;
}

static void put(const char *dir, const char *name, const void *buf, size_t len)
{
    char *p = join(dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || (len && fwrite(buf, 1, len, f) != len) || fclose(f) != 0)
        die("cannot write %s", p);
    free(p);
}

static void puts_file(const char *dir, const char *name, const char *s)
{
    put(dir, name, s, strlen(s));
}

static void put_json(const char *dir, const char *name, json_t *doc)
{
    char *t = json_dumps(doc, JSON_SORT_KEYS | JSON_INDENT(2));
    if (!t)
        die("%s", "cannot serialise json");
    puts_file(dir, name, t);
    free(t);
    json_decref(doc);
}

static void mkdir_p(const char *dir)
{
    struct mint_err err = {0};
    if (mint_mkdirs(dir, &err) < 0)
        die("%s", err.msg);
}

/* ---- deterministic data ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* n elements of dtype dt into buf: floats roughly uniform in (-0.1, 0.1), integers random. */
static void fill(enum mint_dtype dt, unsigned char *buf, size_t n, uint64_t *s)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rng_next(s);
        float v = (float)((double)(r >> 40) / (double)(1ull << 24) - 0.5) * 0.2f;
        switch (dt) {
        case MINT_DT_F32: memcpy(buf + 4 * i, &v, 4); break;
        case MINT_DT_F64: {
            double d = v;
            memcpy(buf + 8 * i, &d, 8);
            break;
        }
        case MINT_DT_F16: {
            uint16_t h = mint_f32_to_f16(v);
            memcpy(buf + 2 * i, &h, 2);
            break;
        }
        case MINT_DT_BF16: {
            uint16_t h = mint_f32_to_bf16(v);
            memcpy(buf + 2 * i, &h, 2);
            break;
        }
        default: {
            size_t sz = mint_dtype_size(dt);
            memcpy(buf + sz * i, &r, sz);
        }
        }
    }
}

/* ---- valid files through mint_st_plan ---- */

struct tspec {
    char name[200];
    enum mint_dtype dt;
    int ndim;
    int64_t shape[4];
};

/* Write one safetensors file with the given tensors (data derived from name and seed, streamed
 * in 1 MiB pieces). */
static void write_st(const char *path, const struct tspec *t, size_t n, const json_t *meta,
                     uint64_t seed)
{
    struct mint_st_wentry *e = calloc(n ? n : 1, sizeof *e);
    unsigned char *hdr, *buf;
    size_t hsize;
    uint64_t dsize;
    struct mint_err err = {0};
    FILE *f;
    const size_t chunk = 1u << 20;

    for (size_t i = 0; i < n; i++) {
        e[i].name = t[i].name;
        e[i].dtype = t[i].dt;
        e[i].ndim = t[i].ndim;
        memcpy(e[i].shape, t[i].shape, sizeof t[i].shape);
    }
    if (mint_st_plan(e, n, meta, &hdr, &hsize, &dsize, &err) < 0)
        die("%s", err.msg);
    f = fopen(path, "wb");
    if (!f || fwrite(hdr, 1, hsize, f) != hsize)
        die("cannot write %s", path);
    buf = malloc(chunk);
    for (size_t i = 0; i < n; i++) {
        size_t sz = mint_dtype_size(e[i].dtype);
        uint64_t left = e[i].nbytes / sz;
        uint64_t s = mint_hash64(e[i].name, strlen(e[i].name), seed) | 1;
        while (left) {
            size_t k = left > chunk / sz ? chunk / sz : (size_t)left;
            fill(e[i].dtype, buf, k, &s);
            if (fwrite(buf, sz, k, f) != k)
                die("cannot write %s", path);
            left -= k;
        }
    }
    if (fclose(f) != 0)
        die("cannot write %s", path);
    free(buf);
    free(hdr);
    free(e);
}

static json_t *meta_pt(void)
{
    return json_pack("{s:s}", "format", "pt");
}

/* Write tensors as one model.safetensors or as nshards shards + index (contiguous runs of the
 * given order). */
static void write_model_files(const char *dir, const struct tspec *t, size_t n, int nshards,
                              const json_t *meta, uint64_t seed)
{
    if (nshards <= 1) {
        char *p = join(dir, "model.safetensors");
        write_st(p, t, n, meta, seed);
        free(p);
        return;
    }
    json_t *wm = json_object();
    uint64_t total = 0;
    size_t per = (n + (size_t)nshards - 1) / (size_t)nshards;
    for (int s = 0; s < nshards; s++) {
        char fn[64];
        size_t a = (size_t)s * per, b = a + per < n ? a + per : n;
        snprintf(fn, sizeof fn, "model-%05d-of-%05d.safetensors", s + 1, nshards);
        char *p = join(dir, fn);
        write_st(p, t + (a < n ? a : n), a < n ? b - a : 0, meta, seed);
        free(p);
        for (size_t i = a; i < b; i++) {
            uint64_t nb = mint_dtype_size(t[i].dt);
            for (int d = 0; d < t[i].ndim; d++)
                nb *= (uint64_t)t[i].shape[d];
            total += nb;
            json_object_set_new(wm, t[i].name, json_string(fn));
        }
    }
    put_json(dir, "model.safetensors.index.json",
             json_pack("{s:{s:I},s:o}", "metadata", "total_size", (json_int_t)total,
                       "weight_map", wm));
}

/* ---- model specs ---- */

struct mspec {
    const char *family;
    enum mint_dtype dt;
    int layers, hidden, ffn, vocab, experts, shards, tied, lm_head_only;
    uint64_t seed;
};

struct tlist {
    struct tspec *t;
    size_t n, cap;
};

static void add(struct tlist *l, enum mint_dtype dt, int ndim, int64_t d0, int64_t d1,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#include <stdarg.h>
static void add(struct tlist *l, enum mint_dtype dt, int ndim, int64_t d0, int64_t d1,
                const char *fmt, ...)
{
    va_list ap;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->t = realloc(l->t, l->cap * sizeof *l->t);
        if (!l->t)
            die("%s", "out of memory");
    }
    struct tspec *t = &l->t[l->n++];
    memset(t, 0, sizeof *t);
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->dt = dt;
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
}

static int cmp_tspec(const void *a, const void *b)
{
    return strcmp(((const struct tspec *)a)->name, ((const struct tspec *)b)->name);
}

static void cmd_model(const char *dir, const struct mspec *s)
{
    struct tlist l = {0};
    const char *fam = s->family;
    int moe = !strcmp(fam, "qwen3moe") || !strcmp(fam, "qwen2moe") || !strcmp(fam, "mixtral");
    int vlm = !strcmp(fam, "vlm");
    int qk_norm = !strcmp(fam, "qwen3") || !strcmp(fam, "qwen3moe");
    int qkv_bias = !strcmp(fam, "qwen2") || !strcmp(fam, "qwen2moe");
    const char *pre = vlm ? "model.language_model" : "model";
    int H = s->hidden, F = s->ffn, V = s->vocab, hd = 8, kv = H / 2;
    enum mint_dtype dt = s->dt;
    json_t *cfg, *meta;

    if (!moe && !vlm && strcmp(fam, "llama") && strcmp(fam, "qwen2") && strcmp(fam, "qwen3"))
        die("unknown family '%s'", fam);
    if (s->lm_head_only && (!s->tied || vlm))
        die("%s", "--lm-head-only needs a tied non-VLM model");
    mkdir_p(dir);
    if (s->lm_head_only)
        add(&l, dt, 2, V, H, "lm_head.weight");
    else
        add(&l, dt, 2, V, H, "%s.embed_tokens.weight", pre);
    if (!s->tied)
        add(&l, dt, 2, V, H, "lm_head.weight");
    add(&l, dt, 1, H, 0, "%s.norm.weight", pre);
    for (int i = 0; i < s->layers; i++) {
        add(&l, dt, 1, H, 0, "%s.layers.%d.input_layernorm.weight", pre, i);
        add(&l, dt, 1, H, 0, "%s.layers.%d.post_attention_layernorm.weight", pre, i);
        add(&l, dt, 2, H, H, "%s.layers.%d.self_attn.q_proj.weight", pre, i);
        add(&l, dt, 2, kv, H, "%s.layers.%d.self_attn.k_proj.weight", pre, i);
        add(&l, dt, 2, kv, H, "%s.layers.%d.self_attn.v_proj.weight", pre, i);
        add(&l, dt, 2, H, H, "%s.layers.%d.self_attn.o_proj.weight", pre, i);
        if (qkv_bias) {
            add(&l, dt, 1, H, 0, "%s.layers.%d.self_attn.q_proj.bias", pre, i);
            add(&l, dt, 1, kv, 0, "%s.layers.%d.self_attn.k_proj.bias", pre, i);
            add(&l, dt, 1, kv, 0, "%s.layers.%d.self_attn.v_proj.bias", pre, i);
        }
        if (qk_norm) {
            add(&l, dt, 1, hd, 0, "%s.layers.%d.self_attn.q_norm.weight", pre, i);
            add(&l, dt, 1, hd, 0, "%s.layers.%d.self_attn.k_norm.weight", pre, i);
        }
        if (!strcmp(fam, "mixtral")) {
            add(&l, dt, 2, s->experts, H, "%s.layers.%d.block_sparse_moe.gate.weight", pre, i);
            for (int e = 0; e < s->experts; e++) {
                add(&l, dt, 2, F, H, "%s.layers.%d.block_sparse_moe.experts.%d.w1.weight", pre,
                    i, e);
                add(&l, dt, 2, H, F, "%s.layers.%d.block_sparse_moe.experts.%d.w2.weight", pre,
                    i, e);
                add(&l, dt, 2, F, H, "%s.layers.%d.block_sparse_moe.experts.%d.w3.weight", pre,
                    i, e);
            }
        } else if (moe) {
            add(&l, dt, 2, s->experts, H, "%s.layers.%d.mlp.gate.weight", pre, i);
            for (int e = 0; e < s->experts; e++) {
                add(&l, dt, 2, F, H, "%s.layers.%d.mlp.experts.%d.gate_proj.weight", pre, i, e);
                add(&l, dt, 2, F, H, "%s.layers.%d.mlp.experts.%d.up_proj.weight", pre, i, e);
                add(&l, dt, 2, H, F, "%s.layers.%d.mlp.experts.%d.down_proj.weight", pre, i, e);
            }
            if (!strcmp(fam, "qwen2moe")) {
                add(&l, dt, 2, 1, H, "%s.layers.%d.mlp.shared_expert_gate.weight", pre, i);
                add(&l, dt, 2, F, H, "%s.layers.%d.mlp.shared_expert.gate_proj.weight", pre, i);
                add(&l, dt, 2, F, H, "%s.layers.%d.mlp.shared_expert.up_proj.weight", pre, i);
                add(&l, dt, 2, H, F, "%s.layers.%d.mlp.shared_expert.down_proj.weight", pre, i);
            }
        } else {
            add(&l, dt, 2, F, H, "%s.layers.%d.mlp.gate_proj.weight", pre, i);
            add(&l, dt, 2, F, H, "%s.layers.%d.mlp.up_proj.weight", pre, i);
            add(&l, dt, 2, H, F, "%s.layers.%d.mlp.down_proj.weight", pre, i);
        }
    }
    if (vlm) {
        add(&l, dt, 2, H, 3 * 14 * 14, "model.vision_tower.embeddings.patch_embedding.weight");
        for (int i = 0; i < 2; i++) {
            add(&l, dt, 2, H, H, "model.vision_tower.encoder.layers.%d.self_attn.q_proj.weight", i);
            add(&l, dt, 2, H, H, "model.vision_tower.encoder.layers.%d.mlp.fc1.weight", i);
            add(&l, dt, 1, H, 0, "model.vision_tower.encoder.layers.%d.layer_norm1.weight", i);
        }
        add(&l, dt, 2, H, H, "model.multi_modal_projector.linear_1.weight");
    }
    qsort(l.t, l.n, sizeof *l.t, cmp_tspec);

    meta = meta_pt();
    if (s->lm_head_only)
        json_object_set_new(meta, "model.embed_tokens.weight", json_string("lm_head.weight"));
    write_model_files(dir, l.t, l.n, s->shards, meta, s->seed);
    json_decref(meta);

    {
        static const char *const mt[][2] = {
            {"llama", "llama"},       {"qwen2", "qwen2"},     {"qwen3", "qwen3"},
            {"qwen3moe", "qwen3_moe"}, {"qwen2moe", "qwen2_moe"}, {"mixtral", "mixtral"},
            {"vlm", "llava"},
        };
        const char *model_type = fam;
        for (size_t i = 0; i < sizeof mt / sizeof *mt; i++)
            if (!strcmp(mt[i][0], fam))
                model_type = mt[i][1];
        json_t *text = json_pack("{s:i,s:i,s:i,s:i,s:b,s:s}", "num_hidden_layers", s->layers,
                                 "hidden_size", H, "intermediate_size", F, "vocab_size", V,
                                 "tie_word_embeddings", s->tied, "torch_dtype",
                                 dt == MINT_DT_F32 ? "float32"
                                 : dt == MINT_DT_F16 ? "float16"
                                                     : "bfloat16");
        if (!strcmp(fam, "mixtral"))
            json_object_set_new(text, "num_local_experts", json_integer(s->experts));
        else if (moe)
            json_object_set_new(text, "num_experts", json_integer(s->experts));
        if (vlm) {
            cfg = json_pack("{s:s,s:o,s:{s:i},s:b}", "model_type", model_type, "text_config",
                            text, "vision_config", "num_hidden_layers", 2,
                            "tie_word_embeddings", s->tied);
        } else {
            cfg = text;
            json_object_set_new(cfg, "model_type", json_string(model_type));
        }
        put_json(dir, "config.json", cfg);
    }
    free(l.t);
}

/* ~mib MiB of BF16 [8192, 8192] matrices (128 MiB each, so mint-index hashes each in two
 * 64 MiB chunks), written in 1 MiB pieces. */
static void cmd_big(const char *dir, long mib)
{
    struct tlist l = {0};
    long n = mib / 128 > 0 ? mib / 128 : 1;
    static const char *const proj[] = {"mlp.down_proj", "mlp.gate_proj", "mlp.up_proj",
                                       "self_attn.o_proj"};
    mkdir_p(dir);
    for (long i = 0; i < n; i++)
        add(&l, MINT_DT_BF16, 2, 8192, 8192, "model.layers.%ld.%s.weight", i / 4,
            proj[i % 4]);
    json_t *meta = meta_pt();
    write_model_files(dir, l.t, l.n, 1, meta, 1);
    json_decref(meta);
    put_json(dir, "config.json",
             json_pack("{s:s,s:I,s:i,s:b}", "model_type", "llama", "num_hidden_layers",
                       (json_int_t)((n + 3) / 4), "hidden_size", 8192, "tie_word_embeddings",
                       1));
    free(l.t);
}

/* ---- the malformed corpus ---- */

struct corpus {
    const char *out;
    int count;
};

static char *case_dir(struct corpus *c, const char *name)
{
    char *d = join(c->out, name);
    mkdir_p(d);
    c->count++;
    return d;
}

static void expect(const char *dir, const char *cause, const char *file)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s\n%s\n", cause, file);
    puts_file(dir, "expect", buf);
}

static const char good_config[] = "{\"model_type\": \"llama\", \"num_hidden_layers\": 1}\n";

/* A safetensors file from raw header text: N = header padded with spaces to 8-byte alignment
 * (or hlen when hlen != UINT64_MAX, header then unpadded), then dlen data bytes. */
static void st_raw(const char *dir, const char *file, const char *hdr, size_t hdr_len,
                   uint64_t hlen, size_t dlen)
{
    size_t padded = (8 + hdr_len + 7) / 8 * 8 - 8;
    size_t total;
    unsigned char *b;
    if (hlen != UINT64_MAX)
        padded = hdr_len;
    else
        hlen = padded;
    total = 8 + padded + dlen;
    b = malloc(total);
    if (!b)
        die("%s", "out of memory");
    memcpy(b, &hlen, 8);
    memcpy(b + 8, hdr, hdr_len);
    memset(b + 8 + hdr_len, ' ', padded - hdr_len);
    for (size_t i = 0; i < dlen; i++)
        b[8 + padded + i] = (unsigned char)(i * 37 + 11);
    put(dir, file, b, total);
    free(b);
}

/* Most cases: config ok, model.safetensors from header text + dlen data bytes. */
static void st_case(struct corpus *c, const char *name, const char *hdr, size_t dlen,
                    const char *cause)
{
    char *d = case_dir(c, name);
    puts_file(d, "config.json", good_config);
    st_raw(d, "model.safetensors", hdr, strlen(hdr), UINT64_MAX, dlen);
    expect(d, cause, "model.safetensors");
    free(d);
}

/* Model-level cases: config.json text (NULL = none), then files via st_raw texts. */
static char *model_case(struct corpus *c, const char *name, const char *config)
{
    char *d = case_dir(c, name);
    if (config)
        puts_file(d, "config.json", config);
    return d;
}

#define W16 "\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}"
#define V16 "\"v\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}"
#define SH1 "model-00001-of-00002.safetensors"
#define SH2 "model-00002-of-00002.safetensors"

static void cmd_bad(const char *out)
{
    struct corpus c = {out, 0};
    char *d;
    mkdir_p(out);

    /* -- the 8-byte header length -- */
    d = model_case(&c, "hdr-len-beyond-file", good_config);
    st_raw(d, "model.safetensors", "{" W16 "}", strlen("{" W16 "}"), 1000, 16);
    expect(d, "header length 1000 but only", "model.safetensors");
    free(d);
    d = model_case(&c, "hdr-len-over-100mb", good_config);
    st_raw(d, "model.safetensors", "{" W16 "}", strlen("{" W16 "}"), 100000001, 16);
    expect(d, "exceeds 100 MB", "model.safetensors");
    free(d);
    d = model_case(&c, "hdr-len-max-u64", good_config);
    st_raw(d, "model.safetensors", "{}", 2, UINT64_MAX - 1, 0);
    expect(d, "exceeds 100 MB", "model.safetensors");
    free(d);
    d = model_case(&c, "hdr-len-zero", good_config);
    st_raw(d, "model.safetensors", "", 0, 0, 16);
    expect(d, "header length is 0", "model.safetensors");
    free(d);
    d = model_case(&c, "file-short", good_config);
    put(d, "model.safetensors", "\x10\0\0\0\0", 5);
    expect(d, "truncated: 5 bytes", "model.safetensors");
    free(d);
    d = model_case(&c, "file-empty", good_config);
    put(d, "model.safetensors", "", 0);
    expect(d, "truncated: 0 bytes", "model.safetensors");
    free(d);

    /* -- the header document -- */
    st_case(&c, "hdr-not-json", "{\"w\": {\"dtype\": ", 0, "header is not valid JSON");
    st_case(&c, "hdr-trailing-garbage", "{" W16 "} xx", 16, "header is not valid JSON");
    st_case(&c, "hdr-not-object", "[1, 2, 3]", 0, "header is not a JSON object");
    st_case(&c, "hdr-string", "\"model\"", 0, "header is not a JSON object");
    st_case(&c, "hdr-dup-key", "{" W16 "," W16 "}", 16, "duplicate");
    st_case(&c, "hdr-bad-utf8", "{\"w\xff\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
            16, "header is not valid JSON");
    st_case(&c, "hdr-nul-in-name",
            "{\"w\\u0000x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16,
            "header is not valid JSON");
    {
        /* padded with NUL bytes instead of spaces */
        static const char h[] = "{\"w\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}";
        char buf[64] = {0};
        memcpy(buf, h, strlen(h));
        d = model_case(&c, "hdr-nul-padding", good_config);
        st_raw(d, "model.safetensors", buf, 56, 56, 8);
        expect(d, "header is not valid JSON", "model.safetensors");
        free(d);
    }

    /* -- one entry -- */
    st_case(&c, "entry-not-object", "{\"w\": 5}", 0, "entry is not an object");
    st_case(&c, "dtype-unknown", "{\"w\":{\"dtype\":\"F12\",\"shape\":[4],\"data_offsets\":[0,16]}}",
            16, "unknown dtype 'F12'");
    st_case(&c, "dtype-lowercase",
            "{\"w\":{\"dtype\":\"f32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16,
            "unknown dtype 'f32'");
    st_case(&c, "dtype-missing", "{\"w\":{\"shape\":[4],\"data_offsets\":[0,16]}}", 16,
            "missing dtype");
    st_case(&c, "dtype-not-string", "{\"w\":{\"dtype\":4,\"shape\":[4],\"data_offsets\":[0,16]}}",
            16, "missing dtype");
    st_case(&c, "shape-missing", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,16]}}", 16,
            "missing shape");
    st_case(&c, "shape-not-array", "{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}",
            16, "missing shape");
    st_case(&c, "shape-negative",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[-2,-2],\"data_offsets\":[0,16]}}", 16,
            "shape: not a non-negative integer");
    st_case(&c, "shape-real", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0,2],\"data_offsets\":[0,16]}}",
            16, "shape: not a non-negative integer");
    st_case(&c, "shape-string",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\",2],\"data_offsets\":[0,16]}}", 16,
            "shape: not a non-negative integer");
    st_case(&c, "shape-too-many-dims",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,4],\"data_offsets\":[0,16]}}",
            16, "dimensions");
    st_case(&c, "shape-elem-overflow",
            "{\"w\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,2],\"data_offsets\":[0,16]}}",
            16, "element count overflows");
    st_case(&c, "shape-bytes-overflow",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,16]}}",
            16, "byte size overflows");
    st_case(&c, "offsets-missing", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4]}}", 16,
            "data_offsets: expected [begin, end]");
    st_case(&c, "offsets-short", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16]}}",
            16, "data_offsets: expected [begin, end]");
    st_case(&c, "offsets-negative",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[-16,0]}}", 16,
            "data_offsets: expected [begin, end]");
    st_case(&c, "offsets-real",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16.0]}}", 16,
            "data_offsets: expected [begin, end]");
    st_case(&c, "offsets-end-before-begin",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,0]}}", 16,
            "end before begin");
    st_case(&c, "bytes-mismatch", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}",
            12, "12 bytes, but shape and dtype need 16");
    st_case(&c, "bytes-mismatch-dtype",
            "{\"w\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 16,
            "need 8");

    /* -- the data section -- */
    st_case(&c, "offsets-huge",
            "{\"w\":{\"dtype\":\"U8\",\"shape\":[1152921504606846976],"
            "\"data_offsets\":[0,1152921504606846976]}}",
            16, "beyond the data section");
    st_case(&c, "tiling-gap-start",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24, "gap");
    st_case(&c, "tiling-gap-middle",
            "{" W16 ",\"v\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[20,36]}}", 36,
            "gap");
    st_case(&c, "tiling-overlap",
            "{" W16 ",\"v\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24,
            "overlap");
    st_case(&c, "tiling-same-range", "{" W16 "," V16 "}", 16, "overlap");
    st_case(&c, "trailing-bytes", "{" W16 "}", 20, "4 trailing bytes");
    st_case(&c, "truncated-data",
            "{" W16 ",\"v\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}", 20,
            "beyond the data section");
    {
        /* a valid planned file cut short in the middle of its data */
        struct tspec t[2] = {{"a", MINT_DT_F32, 2, {8, 8, 0, 0}}, {"b", MINT_DT_F16, 1, {64, 0, 0, 0}}};
        char *p;
        struct stat sb;
        d = model_case(&c, "truncated-file", good_config);
        p = join(d, "model.safetensors");
        write_st(p, t, 2, NULL, 7);
        if (stat(p, &sb) != 0 || truncate(p, sb.st_size - 100) != 0)
            die("cannot truncate %s", p);
        free(p);
        expect(d, "truncated file?", "model.safetensors");
        free(d);
    }
    st_case(&c, "metadata-not-object", "{\"__metadata__\":\"pt\"," W16 "}", 16,
            "__metadata__ is not an object");
    st_case(&c, "metadata-non-string", "{\"__metadata__\":{\"format\":1}," W16 "}", 16,
            "__metadata__: value of 'format' is not a string");
    st_case(&c, "name-newline",
            "{\"a\\nb\":{\"dtype\":\"Q4\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16,
            "unknown dtype 'Q4'");

    /* -- shards and the index -- */
    {
        static const char idx_missing[] =
            "{\"weight_map\":{\"w\":\"" SH1 "\",\"v\":\"" SH2 "\"}}";
        d = model_case(&c, "index-missing-file", good_config);
        puts_file(d, "model.safetensors.index.json", idx_missing);
        st_raw(d, SH1, "{" W16 "}", strlen("{" W16 "}"), UINT64_MAX, 16);
        expect(d, "named by model.safetensors.index.json", SH2);
        free(d);
    }
    d = model_case(&c, "index-tensor-absent", good_config);
    puts_file(d, "model.safetensors.index.json",
              "{\"weight_map\":{\"w\":\"" SH1 "\",\"v\":\"" SH1 "\"}}");
    st_raw(d, SH1, "{" W16 "}", strlen("{" W16 "}"), UINT64_MAX, 16);
    expect(d, "tensor 'v' named by the index is not in this file", SH1);
    free(d);
    d = model_case(&c, "index-tensor-elsewhere", good_config);
    st_raw(d, SH1, "{" W16 "}", strlen("{" W16 "}"), UINT64_MAX, 16);
    st_raw(d, SH2, "{" V16 ",\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}",
           strlen("{" V16 ",\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}"),
           UINT64_MAX, 32);
    puts_file(d, "model.safetensors.index.json",
              "{\"weight_map\":{\"w\":\"" SH1 "\",\"v\":\"" SH1 "\",\"x\":\"" SH2 "\"}}");
    expect(d, "tensor 'v' is not listed for this file", SH2);
    free(d);
    d = model_case(&c, "index-unlisted-tensor", good_config);
    puts_file(d, "model.safetensors.index.json", "{\"weight_map\":{\"w\":\"" SH1 "\"}}");
    st_raw(d, SH1,
           "{" W16 ",\"v\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}",
           strlen("{" W16 ",\"v\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}"),
           UINT64_MAX, 32);
    expect(d, "tensor 'v' is not listed for this file", SH1);
    free(d);
    d = model_case(&c, "dup-across-shards", good_config);
    puts_file(d, "model.safetensors.index.json",
              "{\"weight_map\":{\"w\":\"" SH1 "\",\"v\":\"" SH2 "\"}}");
    st_raw(d, SH1, "{" W16 "}", strlen("{" W16 "}"), UINT64_MAX, 16);
    st_raw(d, SH2, "{" W16 ",\"v\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}",
           strlen("{" W16 ",\"v\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}"),
           UINT64_MAX, 32);
    expect(d, "tensor 'w' appears twice", "model-0000");
    free(d);
    d = model_case(&c, "index-not-json", good_config);
    puts_file(d, "model.safetensors.index.json", "{\"weight_map\": {\"w\": ");
    st_raw(d, SH1, "{" W16 "}", strlen("{" W16 "}"), UINT64_MAX, 16);
    expect(d, "model.safetensors.index.json:1:", "model.safetensors.index.json");
    free(d);
    d = model_case(&c, "index-dup-key", good_config);
    puts_file(d, "model.safetensors.index.json",
              "{\"weight_map\":{\"w\":\"" SH1 "\",\"w\":\"" SH1 "\"}}");
    st_raw(d, SH1, "{" W16 "}", strlen("{" W16 "}"), UINT64_MAX, 16);
    expect(d, "duplicate", "model.safetensors.index.json");
    free(d);
    d = model_case(&c, "index-no-weight-map", good_config);
    puts_file(d, "model.safetensors.index.json", "{\"metadata\":{\"total_size\":16}}");
    st_raw(d, SH1, "{" W16 "}", strlen("{" W16 "}"), UINT64_MAX, 16);
    expect(d, "no weight_map object", "model.safetensors.index.json");
    free(d);
    d = model_case(&c, "index-bad-file-name", good_config);
    puts_file(d, "model.safetensors.index.json",
              "{\"weight_map\":{\"w\":\"../" SH1 "\"}}");
    st_raw(d, SH1, "{" W16 "}", strlen("{" W16 "}"), UINT64_MAX, 16);
    expect(d, "'w': bad file name", "model.safetensors.index.json");
    free(d);
    d = model_case(&c, "index-file-not-string", good_config);
    puts_file(d, "model.safetensors.index.json", "{\"weight_map\":{\"w\":1}}");
    st_raw(d, SH1, "{" W16 "}", strlen("{" W16 "}"), UINT64_MAX, 16);
    expect(d, "'w': bad file name", "model.safetensors.index.json");
    free(d);

    /* -- already quantized -- */
    {
        static const char h[] =
            "{\"__metadata__\":{\"format\":\"mlx\"},"
            "\"w.biases\":{\"data_offsets\":[16,18],\"dtype\":\"BF16\",\"shape\":[1,1]},"
            "\"w.scales\":{\"data_offsets\":[18,20],\"dtype\":\"BF16\",\"shape\":[1,1]},"
            "\"w.weight\":{\"data_offsets\":[0,16],\"dtype\":\"U32\",\"shape\":[1,4]}}";
        st_case(&c, "quantized-packed", h, 20, "already quantized (packed U32 'w.weight'");
    }
    d = model_case(&c, "quantized-config",
                   "{\"num_hidden_layers\": 1, \"quantization\": {\"group_size\": 64, \"bits\": 4}}");
    st_raw(d, "model.safetensors", "{" W16 "}", strlen("{" W16 "}"), UINT64_MAX, 16);
    expect(d, "already quantized (config has a quantization entry)", "config.json");
    free(d);
    d = model_case(&c, "quantized-config-hf",
                   "{\"num_hidden_layers\": 1, \"quantization_config\": {\"quant_method\": \"gptq\"}}");
    st_raw(d, "model.safetensors", "{" W16 "}", strlen("{" W16 "}"), UINT64_MAX, 16);
    expect(d, "already quantized", "config.json");
    free(d);

    /* -- the model directory and config.json -- */
    d = model_case(&c, "config-missing", NULL);
    st_raw(d, "model.safetensors", "{" W16 "}", strlen("{" W16 "}"), UINT64_MAX, 16);
    expect(d, "no config.json", "config-missing");
    free(d);
    d = model_case(&c, "config-not-json", "{\"num_hidden_layers\": 1,");
    st_raw(d, "model.safetensors", "{" W16 "}", strlen("{" W16 "}"), UINT64_MAX, 16);
    expect(d, "config.json:1:", "config.json");
    free(d);
    d = model_case(&c, "config-not-object", "[{\"num_hidden_layers\": 1}]");
    st_raw(d, "model.safetensors", "{" W16 "}", strlen("{" W16 "}"), UINT64_MAX, 16);
    expect(d, "not a JSON object", "config.json");
    free(d);
    d = model_case(&c, "config-dup-key", "{\"num_hidden_layers\": 1, \"num_hidden_layers\": 2}");
    st_raw(d, "model.safetensors", "{" W16 "}", strlen("{" W16 "}"), UINT64_MAX, 16);
    expect(d, "duplicate", "config.json");
    free(d);
    d = model_case(&c, "config-no-layers", "{\"model_type\": \"llama\", \"hidden_size\": 2}");
    st_raw(d, "model.safetensors", "{" W16 "}", strlen("{" W16 "}"), UINT64_MAX, 16);
    expect(d, "no num_hidden_layers", "config.json");
    free(d);
    d = model_case(&c, "config-layers-string", "{\"num_hidden_layers\": \"2\"}");
    st_raw(d, "model.safetensors", "{" W16 "}", strlen("{" W16 "}"), UINT64_MAX, 16);
    expect(d, "no num_hidden_layers", "config.json");
    free(d);
    d = model_case(&c, "no-safetensors", good_config);
    expect(d, "no model.safetensors or model.safetensors.index.json", "no-safetensors");
    free(d);
    d = model_case(&c, "safetensors-is-dir", good_config);
    {
        char *p = join(d, "model.safetensors");
        mkdir_p(p);
        free(p);
    }
    expect(d, "no model.safetensors or model.safetensors.index.json", "safetensors-is-dir");
    free(d);

    printf("%d cases\n", c.count);
}

/* ---- JSON queries ---- */

static json_t *jpath(json_t *v, const char *path, int *count)
{
    char *p = strdup(path), *save = NULL;
    *count = 0;
    for (char *tok = strtok_r(p, "/", &save); tok && v; tok = strtok_r(NULL, "/", &save)) {
        if (!strcmp(tok, "#")) {
            *count = 1;
            break;
        }
        if (json_is_object(v)) {
            v = json_object_get(v, tok);
        } else if (json_is_array(v)) {
            char *eq = strchr(tok, '='), *end;
            if (eq) {
                size_t i;
                json_t *x, *hit = NULL;
                *eq = 0;
                json_array_foreach(v, i, x) {
                    const char *s = json_string_value(json_object_get(x, tok));
                    if (s && !strcmp(s, eq + 1)) {
                        hit = x;
                        break;
                    }
                }
                v = hit;
            } else {
                long k = strtol(tok, &end, 10);
                v = *end || k < 0 ? NULL : json_array_get(v, (size_t)k);
            }
        } else {
            v = NULL;
        }
    }
    free(p);
    return v;
}

static void print_value(const json_t *v)
{
    if (json_is_string(v)) {
        fputs(json_string_value(v), stdout);
    } else {
        char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        fputs(t ? t : "?", stdout);
        free(t);
    }
}

static json_t *load(const char *file)
{
    struct mint_err err = {0};
    json_t *doc = mint_json_load(file, &err);
    if (!doc)
        die("%s", err.msg);
    return doc;
}

static int cmd_jget(const char *file, const char *path)
{
    json_t *doc = load(file);
    int count;
    json_t *v = jpath(doc, path, &count);
    if (!v) {
        json_decref(doc);
        die("no value at '%s'", path);
    }
    if (count)
        printf("%zu\n", json_is_array(v) ? json_array_size(v) : json_object_size(v));
    else {
        print_value(v);
        putchar('\n');
    }
    json_decref(doc);
    return 0;
}

static int cmd_jrows(const char *file, const char *path, int nkeys, char **keys)
{
    json_t *doc = load(file), *x;
    int count;
    size_t i;
    json_t *v = jpath(doc, path, &count);
    if (!json_is_array(v)) {
        json_decref(doc);
        die("no array at '%s'", path);
    }
    json_array_foreach(v, i, x) {
        for (int k = 0; k < nkeys; k++) {
            json_t *f = json_object_get(x, keys[k]);
            if (k)
                putchar('\t');
            if (f)
                print_value(f);
            else
                fputs("-", stdout);
        }
        putchar('\n');
    }
    json_decref(doc);
    return 0;
}

static int cmd_flip(const char *file, const char *off)
{
    FILE *f = fopen(file, "r+b");
    char *end;
    long long o = strtoll(off, &end, 10);
    int ch;
    if (!f || *end || o < 0 || fseeko(f, (off_t)o, SEEK_SET) != 0 || (ch = fgetc(f)) == EOF ||
        fseeko(f, (off_t)o, SEEK_SET) != 0 || fputc(ch ^ 0xff, f) == EOF || fclose(f) != 0)
        die("cannot flip a byte of %s", file);
    return 0;
}

/* Rewrite a safetensors file with a changed header: the old data section is copied verbatim,
 * an added tensor's bytes go after it.  Key order is kept (jansson preserves it). */
static int cmd_edit(int argc, char **argv)
{
    const char *file = argv[2], *op = argv[3];
    struct mint_err err = {0};
    struct mint_map m;
    uint64_t hl, dsize;
    json_t *hdr, *nh;
    json_error_t je;
    unsigned char *extra = NULL;
    size_t extra_len = 0;

    if (mint_map_open(&m, file, &err) < 0)
        die("%s", err.msg);
    if (m.size < 8)
        die("%s: not a safetensors file", file);
    memcpy(&hl, m.data, 8);
    if (hl > m.size - 8 || !(hdr = json_loadb((const char *)m.data + 8, hl, 0, &je)))
        die("%s: bad header", file);
    dsize = m.size - 8 - hl;
    if (!strcmp(op, "rename") && argc == 6) {
        const char *key;
        json_t *v;
        if (!json_object_get(hdr, argv[4]))
            die("no tensor '%s'", argv[4]);
        nh = json_object();
        json_object_foreach(hdr, key, v)
            json_object_set(nh, strcmp(key, argv[4]) ? key : argv[5], v);
    } else if (!strcmp(op, "add") && argc == 7) {
        enum mint_dtype dt = mint_dtype_parse(argv[5]);
        json_t *shape = json_array();
        uint64_t n = 1, s = mint_hash64(argv[4], strlen(argv[4]), 7) | 1;
        char *p = argv[6], *end;
        if (dt == MINT_DT_INVALID)
            die("unknown dtype '%s'", argv[5]);
        for (;;) {
            long long d = strtoll(p, &end, 10);
            if (end == p || d < 0)
                die("bad shape '%s'", argv[6]);
            json_array_append_new(shape, json_integer(d));
            n *= (uint64_t)d;
            if (*end != ',')
                break;
            p = end + 1;
        }
        extra_len = (size_t)(n * mint_dtype_size(dt));
        extra = malloc(extra_len ? extra_len : 1);
        fill(dt, extra, (size_t)n, &s);
        nh = json_deep_copy(hdr);
        json_object_set_new(nh, argv[4],
                            json_pack("{s:s,s:o,s:[I,I]}", "dtype", argv[5], "shape", shape,
                                      "data_offsets", (json_int_t)dsize,
                                      (json_int_t)(dsize + extra_len)));
    } else {
        die("%s", "usage: edit FILE rename OLD NEW | add NAME DTYPE D0[,D1...]");
        return 2;
    }
    {
        char *text = json_dumps(nh, JSON_COMPACT | JSON_PRESERVE_ORDER);
        size_t len = strlen(text), padded = (len + 7) / 8 * 8;
        char *tmp = malloc(strlen(file) + 8);
        FILE *f = NULL;
        uint64_t nl = padded;
        if (!tmp || sprintf(tmp, "%s.edit", file) < 0 || !(f = fopen(tmp, "wb")) || fwrite(&nl, 8, 1, f) != 1 || fwrite(text, 1, len, f) != len ||
            fwrite("        ", 1, padded - len, f) != padded - len ||
            (dsize && fwrite(m.data + 8 + hl, 1, dsize, f) != dsize) ||
            (extra_len && fwrite(extra, 1, extra_len, f) != extra_len) || fclose(f) != 0 ||
            rename(tmp, file) != 0)
            die("cannot rewrite %s", file);
        free(tmp);
        free(text);
    }
    free(extra);
    json_decref(nh);
    json_decref(hdr);
    mint_map_release(&m);
    return 0;
}

/* N BF16 [2, 4] tensors named like a many-expert MoE (64 experts x 3 projections per layer,
 * then as many layers as needed): the header grows like a real checkpoint's, the data stays
 * tiny.  Written directly (no JSON library), so a 600,000-tensor model takes a second. */
static void cmd_many(const char *dir, long n)
{
    static const char *const proj[] = {"down_proj", "gate_proj", "up_proj"};
    size_t cap = 1u << 20, len = 0;
    char *h = malloc(cap);
    char *p;
    FILE *f;
    uint64_t hl, dsize = (uint64_t)n * 16;
    long layers = (n + 191) / 192;

    mkdir_p(dir);
    len += (size_t)snprintf(h + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (long i = 0; i < n; i++) {
        if (cap - len < 256) {
            cap *= 2;
            if (!(h = realloc(h, cap)))
                die("%s", "out of memory");
        }
        len += (size_t)snprintf(h + len, cap - len,
                                ",\"model.layers.%ld.mlp.experts.%ld.%s.weight\":{\"dtype\":"
                                "\"BF16\",\"shape\":[2,4],\"data_offsets\":[%ld,%ld]}",
                                i / 192, i % 192 / 3, proj[i % 3], i * 16, i * 16 + 16);
    }
    len += (size_t)snprintf(h + len, cap - len, "}");
    while (len % 8)
        h[len++] = ' ';
    hl = len;
    p = join(dir, "model.safetensors");
    if (!(f = fopen(p, "wb")) || fwrite(&hl, 8, 1, f) != 1 || fwrite(h, 1, len, f) != len)
        die("cannot write %s", p);
    {
        unsigned char buf[4096];
        uint64_t s = 1;
        for (uint64_t left = dsize; left;) {
            size_t k = left > sizeof buf ? sizeof buf : (size_t)left;
            fill(MINT_DT_BF16, buf, k / 2, &s);
            if (fwrite(buf, 1, k, f) != k)
                die("cannot write %s", p);
            left -= k;
        }
    }
    if (fclose(f) != 0)
        die("cannot write %s", p);
    free(p);
    free(h);
    put_json(dir, "config.json",
             json_pack("{s:s,s:I,s:i,s:i}", "model_type", "qwen3_moe", "num_hidden_layers",
                       (json_int_t)layers, "hidden_size", 4, "num_experts", 64));
}

static long num_arg(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0)
        die("not a non-negative number: '%s'", s);
    return v;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "bad")) {
        cmd_bad(argv[2]);
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "model")) {
        struct mspec s = {"llama", MINT_DT_F32, 2, 32, 64, 64, 4, 1, 1, 0, 1};
        for (int i = 3; i < argc; i++) {
            const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
            if (!strcmp(a, "--untied"))
                s.tied = 0;
            else if (!strcmp(a, "--lm-head-only"))
                s.lm_head_only = 1;
            else if (!v)
                die("missing value or unknown flag '%s'", a);
            else if (!strcmp(a, "--family"))
                s.family = v, i++;
            else if (!strcmp(a, "--dtype")) {
                s.dt = mint_dtype_parse(v);
                if (!mint_dtype_is_float(s.dt))
                    die("not a float dtype: '%s'", v);
                i++;
            } else if (!strcmp(a, "--layers"))
                s.layers = (int)num_arg(v), i++;
            else if (!strcmp(a, "--hidden"))
                s.hidden = (int)num_arg(v), i++;
            else if (!strcmp(a, "--ffn"))
                s.ffn = (int)num_arg(v), i++;
            else if (!strcmp(a, "--vocab"))
                s.vocab = (int)num_arg(v), i++;
            else if (!strcmp(a, "--experts"))
                s.experts = (int)num_arg(v), i++;
            else if (!strcmp(a, "--shards"))
                s.shards = (int)num_arg(v), i++;
            else if (!strcmp(a, "--seed"))
                s.seed = (uint64_t)num_arg(v), i++;
            else
                die("unknown flag '%s'", a);
        }
        cmd_model(argv[2], &s);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "big")) {
        cmd_big(argv[2], num_arg(argv[3]));
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "jget"))
        return cmd_jget(argv[2], argv[3]);
    if (argc >= 5 && !strcmp(argv[1], "jrows"))
        return cmd_jrows(argv[2], argv[3], argc - 4, argv + 4);
    if (argc == 4 && !strcmp(argv[1], "flip"))
        return cmd_flip(argv[2], argv[3]);
    if (argc >= 4 && !strcmp(argv[1], "edit"))
        return cmd_edit(argc, argv);
    if (argc == 4 && !strcmp(argv[1], "many")) {
        cmd_many(argv[2], num_arg(argv[3]));
        return 0;
    }
    fputs(usage, stderr);
    return 2;
}
