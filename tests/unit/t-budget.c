/* t-budget: budget units, malformed input, human sizes, min-safe, the header reserve. */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mint/budget.h"
#include "mint/err.h"
#include "mint/st.h"

static void ok_bytes(const char *s, uint64_t want)
{
    struct mint_budget b;
    struct mint_err err = {0};
    int rc = mint_budget_parse(s, &b, &err);
    CHECK_MSG(rc == 0 && b.kind == MINT_BUDGET_BYTES && b.bytes == want,
              "'%s': rc %d kind %d bytes %" PRIu64 " want %" PRIu64 " (%s)", s, rc, b.kind,
              b.bytes, want, err.msg);
}

static void bad(const char *s, const char *msg)
{
    struct mint_budget b;
    struct mint_err err = {0};
    int rc = mint_budget_parse(s, &b, &err);
    CHECK_MSG(rc < 0 && err.code == MINT_EXIT_USAGE && strstr(err.msg, msg),
              "'%s': rc %d code %d msg '%s' (want '%s')", s, rc, err.code, err.msg, msg);
}

static void test_units(void)
{
    ok_bytes("0", 0);
    ok_bytes("1", 1);
    ok_bytes("123B", 123);
    ok_bytes("123b", 123);
    ok_bytes("1K", 1024);
    ok_bytes("1k", 1024);
    ok_bytes("1M", 1u << 20);
    ok_bytes("1G", 1u << 30);
    ok_bytes("1T", 1ull << 40);
    ok_bytes("1KiB", 1024);
    ok_bytes("1kib", 1024);
    ok_bytes("1MiB", 1u << 20);
    ok_bytes("2GiB", 2ull << 30);
    ok_bytes("1TiB", 1ull << 40);
    ok_bytes("1KB", 1000);
    ok_bytes("1kb", 1000);
    ok_bytes("1MB", 1000000);
    ok_bytes("1GB", 1000000000);
    ok_bytes("1TB", 1000000000000ull);
    ok_bytes("30G", 32212254720ull);
    ok_bytes("30GB", 30000000000ull);
    ok_bytes("1.5G", 1610612736ull);
    ok_bytes("0.1K", 102);                  /* floor(102.4) */
    ok_bytes("1.20GiB", 1288490188ull);     /* floor(1288490188.8) */
    ok_bytes("0.0000000001T", 109);         /* floor(109.95...) exactly */
    ok_bytes("0.999999999999999999999K", 1023);
    ok_bytes("15.3GB", 15300000000ull);
    ok_bytes("0000000000000000000000000000000001G", 1u << 30);
    ok_bytes("9223372036854775807", INT64_MAX);
    ok_bytes("8589934591.99999999999999999999999G", INT64_MAX); /* 2^63 - 1e-23 GiB */
    ok_bytes("8388607.99999999999T", 9223372036854775797ull); /* 2^63 - 10.99 */
    {
        struct mint_budget b;
        struct mint_err err = {0};
        uint64_t v;
        CHECK(mint_budget_parse("4.5bpw", &b, &err) == 0 && b.kind == MINT_BUDGET_BPW);
        CHECK(mint_budget_bpw_bytes(&b, 655360, &v, &err) == 0 && v == 368640);
        CHECK(mint_budget_bpw_bytes(&b, 3, &v, &err) == 0 && v == 1); /* floor(13.5 / 8) */
        CHECK(mint_budget_bpw_bytes(&b, 0, &v, &err) == 0 && v == 0);
        CHECK(mint_budget_parse("16BPW", &b, &err) == 0 && b.kind == MINT_BUDGET_BPW);
        CHECK(mint_budget_bpw_bytes(&b, 1000, &v, &err) == 0 && v == 2000);
        CHECK(mint_budget_parse("0.125bpw", &b, &err) == 0);
        CHECK(mint_budget_bpw_bytes(&b, 64, &v, &err) == 0 && v == 1);
        CHECK(mint_budget_bpw_bytes(&b, 63, &v, &err) == 0 && v == 0);
        CHECK(mint_budget_parse("99999999999bpw", &b, &err) == 0);
        CHECK(mint_budget_bpw_bytes(&b, 1ull << 62, &v, &err) < 0 &&
              strstr(err.msg, "exceeds 2^63-1"));
        CHECK(mint_budget_parse("min", &b, &err) == 0 && b.kind == MINT_BUDGET_MIN);
        CHECK(mint_budget_parse("MIN", &b, &err) == 0 && b.kind == MINT_BUDGET_MIN);
    }
}

static void test_malformed(void)
{
    bad("30X", "budget '30X': unknown unit 'X'");
    bad("30GiBs", "unknown unit 'GiBs'");
    bad("1KIB ", "unknown unit 'KIB '");
    bad("1 G", "unknown unit ' G'");
    bad("-1G", "budget '-1G': not a number");
    bad("+1G", "not a number");
    bad("", "budget '': empty");
    bad("G", "not a number");
    bad("1.G", "not a number");
    bad(".5G", "not a number");
    bad("1..5G", "not a number");
    bad("1.5.5G", "unknown unit '.5G'");
    bad("1e9", "unknown unit 'e9'");
    bad("0x10", "unknown unit 'x10'");
    bad("nan", "not a number");
    bad("inf", "not a number");
    bad("bpw", "not a number");
    bad("4.5 bpw", "unknown unit ' bpw'");
    bad("minimum", "not a number");
    bad("9223372036854775808", "budget '9223372036854775808': exceeds 2^63-1 bytes");
    bad("8589934592G", "exceeds 2^63-1 bytes");
    bad("8388608T", "exceeds 2^63-1 bytes");
    bad("99999999999999999999999999999999999999999999999999TB", "exceeds 2^63-1 bytes");
    {
        char big[400];
        memset(big, '9', sizeof big - 1);
        big[sizeof big - 1] = 0;
        bad(big, "too long");
    }
    {
        struct mint_err err = {0};
        uint64_t v;
        CHECK(mint_size_parse("5G", "--shard-size", &v, &err) == 0 && v == 5368709120ull);
        CHECK(mint_size_parse("4.5bpw", "--shard-size", &v, &err) < 0 &&
              strstr(err.msg, "--shard-size '4.5bpw': unknown unit 'bpw'"));
        CHECK(mint_size_parse("min", "--shard-size", &v, &err) < 0);
    }
}

static void test_human(void)
{
    char b[32];
    mint_budget_human(1288490188ull, b, sizeof b);
    CHECK_STR(b, "1.20 GiB");
    mint_budget_human(1535450808ull, b, sizeof b);
    CHECK_STR(b, "1.43 GiB");
    mint_budget_human(0, b, sizeof b);
    CHECK_STR(b, "0.00 B");
    mint_budget_human(1023, b, sizeof b);
    CHECK_STR(b, "1023.00 B");
    mint_budget_human(1024, b, sizeof b);
    CHECK_STR(b, "1.00 KiB");
    mint_budget_human(277260, b, sizeof b);
    CHECK_STR(b, "270.76 KiB");
    mint_budget_human(INT64_MAX, b, sizeof b);
    CHECK_STR(b, "8.00 EiB");
    {
        struct mint_err err = {0};
        CHECK(mint_budget_below_min(&err, 1288490188ull, 1535450808ull) < 0);
        CHECK_STR(err.msg, "budget 1.20 GiB (1288490188 bytes) is below the minimum 1.43 GiB "
                           "(1535450808 bytes) (every tensor at its lowest allowed "
                           "configuration)");
        CHECK(err.code == MINT_EXIT_INPUT);
    }
}

/* min-safe and bpw resolution: the least B with B >= base + reserve(B) + q. */
static void test_min_safe(void)
{
    static const uint64_t shards[] = {4096, 1u << 20, 5368709120ull};
    uint64_t s = 88172645463325252ull;
    CHECK(mint_budget_shard_reserve(0, 5368709120ull) == 144);
    CHECK(mint_budget_shard_reserve(5368709120ull, 5368709120ull) == 240);
    CHECK(mint_budget_shard_reserve(1, 5368709120ull) == 145);
    for (int t = 0; t < 3000; t++) {
        uint64_t S = shards[t % 3], base, q, B, r;
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        base = s % 1000000;
        q = (s >> 20) % (t % 2 ? 100000000000ull : 100000ull);
        CHECK(mint_budget_least(base, q, S, &B) == 0);
        r = mint_budget_shard_reserve(B, S);
        CHECK(B >= base + q + r);
        CHECK(B == 0 || B - 1 < base + q + mint_budget_shard_reserve(B - 1, S));
        /* the reserve covers 2*ceil(B/S)+1 shards */
        CHECK(r >= MINT_BUDGET_SHARD_OVERHEAD * (2 * ((B + S - 1) / S) + 1));
        /* feasibility is monotone: B - reserve(B) never decreases */
        CHECK(B + 1 - mint_budget_shard_reserve(B + 1, S) >= B - r);
        CHECK(B + 977 - mint_budget_shard_reserve(B + 977, S) >= B - r);
    }
    {
        uint64_t B;
        CHECK(mint_budget_least(INT64_MAX - 10, 100, 4096, &B) < 0);
    }
}

/* The entry lengths bound the real header that mint_st_plan writes. */
static void test_reserve_vs_header(void)
{
    static const char *const names[] = {"model.layers.0.mlp.switch_mlp.gate_proj",
                                        "we\"ird\\name\x01", "caf\xc3\xa9.proj"};
    struct mint_st_wentry e[9];
    json_t *meta = json_pack("{s:s}", "format", "mlx");
    uint64_t sum = 0, data;
    unsigned char *hdr;
    size_t hsz;
    struct mint_err err = {0};
    char nb[3][3][128];
    for (int i = 0; i < 3; i++) {
        int64_t w[3] = {8, 4096, 2048 * 4 / 32}, s[3] = {8, 4096, 2048 / 64};
        snprintf(nb[i][0], sizeof nb[i][0], "%s.weight", names[i]);
        snprintf(nb[i][1], sizeof nb[i][1], "%s.scales", names[i]);
        snprintf(nb[i][2], sizeof nb[i][2], "%s.biases", names[i]);
        for (int k = 0; k < 3; k++) {
            struct mint_st_wentry *x = &e[3 * i + k];
            memset(x, 0, sizeof *x);
            x->name = nb[i][k];
            x->dtype = k == 0 ? MINT_DT_U32 : MINT_DT_BF16;
            x->ndim = 3;
            memcpy(x->shape, k == 0 ? w : s, sizeof w);
            sum += mint_budget_entry_len(x->name, mint_dtype_name(x->dtype), 3, x->shape);
        }
    }
    CHECK(mint_st_plan(e, 9, meta, &hdr, &hsz, &data, &err) == 0);
    /* 8 + 33 + 7 per shard, plus the entries */
    CHECK_MSG(sum + MINT_BUDGET_SHARD_OVERHEAD >= hsz, "reserve %" PRIu64 " header %zu",
              sum + MINT_BUDGET_SHARD_OVERHEAD, hsz);
    /* and it is tight up to the 20-digit offsets */
    CHECK_MSG(sum + MINT_BUDGET_SHARD_OVERHEAD - hsz <= 9 * 2 * 20 + 7, "slack %" PRIu64,
              sum + MINT_BUDGET_SHARD_OVERHEAD - hsz);
    CHECK(strlen("{\"__metadata__\":{\"format\":\"mlx\"}}") + 8 + 7 == MINT_BUDGET_SHARD_OVERHEAD);
    CHECK(mint_budget_entry_len("a", "BF16", 1, (int64_t[]){5}) ==
          strlen(",\"a\":{\"data_offsets\":[00000000000000000000,00000000000000000000],"
                 "\"dtype\":\"BF16\",\"shape\":[5]}"));
    CHECK(mint_budget_entry_len("a", "F16", 0, NULL) ==
          strlen(",\"a\":{\"data_offsets\":[00000000000000000000,00000000000000000000],"
                 "\"dtype\":\"F16\",\"shape\":[]}"));
    free(hdr);
    json_decref(meta);
}

int main(void)
{
    test_units();
    test_malformed();
    test_human();
    test_min_safe();
    test_reserve_vs_header();
    return CHECK_DONE();
}
