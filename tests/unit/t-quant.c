/* t-quant: the MLX quantizer against hand-computed vectors (mlx-format.md §8, algorithm.md
 * §2.1 edge cases), bit packing for every width, the byte model (algorithm.md §4 table) and
 * configuration lists. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "mint/dtype.h"
#include "mint/quant.h"

static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* stream bit k = bit (k mod 8) of byte k/8, bytes of each word little-endian */
static uint32_t code_at(const uint32_t *words, int64_t k, int b)
{
    uint32_t v = 0;
    for (int j = 0; j < b; j++) {
        int64_t bit = k * b + j;
        uint32_t byte = (words[bit / 32] >> (8 * ((bit % 32) / 8))) & 0xff;
        v |= ((byte >> (bit % 8)) & 1u) << j;
    }
    return v;
}

static double row_nrmse(const float *w, const float *d, int n)
{
    double se = 0, sw = 0;
    for (int k = 0; k < n; k++) {
        double e = (double)d[k] - (double)w[k];
        se += e * e;
        sw += (double)w[k] * (double)w[k];
    }
    return sqrt(se / sw);
}

static const int ex_m[32] = {-11, 2, 15, -1, 12, -4, 9, -7, 6, -10, 3, 16, 0, 13, -3, 10,
                             -6,  7, -9, 4,  17, 1,  14, -2, 11, -5, 8, -8, 5, -11, 2, 15};

static void worked_example(void)
{
    float w[32], d[32], s, z;
    uint32_t packed[8];
    uint16_t sc, bi;
    for (int k = 0; k < 32; k++)
        w[k] = (float)ex_m[k] / 32.0f;

    /* 4-bit, group 32 */
    {
        static const uint32_t codes[32] = {15, 8, 1, 10, 3, 11, 4, 13, 6, 14, 7, 1, 9, 2, 11, 4,
                                           12, 5, 14, 7, 0, 8, 2, 10, 3, 12, 5, 13, 6, 15, 8, 1};
        static const uint32_t words[4] = {0xD4B3A18Fu, 0x4B2917E6u, 0xA2807E5Cu, 0x18F6D5C3u};
        static const unsigned char bytes[16] = {0x8f, 0xa1, 0xb3, 0xd4, 0xe6, 0x17, 0x29, 0x4b,
                                                0x5c, 0x7e, 0x80, 0xa2, 0xc3, 0xd5, 0xf6, 0x18};
        struct mint_qcfg c = {4, 32};
        mint_quant_params_mlx(-0.34375f, 0.53125f, 4, &s, &z);
        CHECK_MSG(f2u(s) == 0xBD71C71Cu, "s bits %08x", f2u(s));
        CHECK(z == 0.53125f);
        mint_quant_row_mlx(w, 32, c, MINT_DT_BF16, packed, &sc, &bi);
        CHECK_MSG(sc == 0xBD72, "scale %04x", sc);
        CHECK_MSG(bi == 0x3F08, "bias %04x", bi);
        for (int j = 0; j < 4; j++)
            CHECK_MSG(packed[j] == words[j], "word %d: %08x", j, packed[j]);
        for (int k = 0; k < 16; k++)
            CHECK((packed[k / 4] >> (8 * (k % 4)) & 0xff) == bytes[k]);
        for (int k = 0; k < 32; k++)
            CHECK_MSG(code_at(packed, k, 4) == codes[k], "code %d", k);
        mint_dequant_row(packed, &sc, &bi, 32, c, MINT_DT_BF16, d);
        CHECK(d[0] == -0.35498046875f);
        CHECK(d[20] == 0.53125f);
        CHECK(d[12] == -0.00048828125f);
        CHECK_NEAR(row_nrmse(w, d, 32), 0.05634, 5e-6);
        CHECK_NEAR(-20 * log10(row_nrmse(w, d, 32)), 24.98, 0.005);
    }
    /* 3-bit, group 32: code 10 straddles words 0 and 1 */
    {
        static const uint32_t codes[32] = {7, 4, 0, 4, 1, 5, 2, 6, 3, 6, 3, 0, 4, 1, 5, 2,
                                           5, 2, 6, 3, 0, 4, 1, 4, 1, 5, 2, 6, 3, 7, 4, 0};
        static const uint32_t words[3] = {0xF3CA9827u, 0x079554C0u, 0x13BCA986u};
        struct mint_qcfg c = {3, 32};
        mint_quant_params_mlx(-0.34375f, 0.53125f, 3, &s, &z);
        CHECK(s == -0.1328125f);
        mint_quant_row_mlx(w, 32, c, MINT_DT_BF16, packed, &sc, &bi);
        CHECK_MSG(sc == 0xBE08, "scale %04x", sc);
        CHECK_MSG(bi == 0x3F08, "bias %04x", bi);
        for (int j = 0; j < 3; j++)
            CHECK_MSG(packed[j] == words[j], "word %d: %08x", j, packed[j]);
        for (int k = 0; k < 32; k++)
            CHECK_MSG(code_at(packed, k, 3) == codes[k], "code %d", k);
        CHECK(codes[10] == 3 && (packed[0] >> 30) == 3 && (packed[1] & 1) == 0);
        mint_dequant_row(packed, &sc, &bi, 32, c, MINT_DT_BF16, d);
        CHECK(d[12] == 0.0f);
        CHECK_NEAR(row_nrmse(w, d, 32), 0.1441, 5e-5);
        CHECK_NEAR(-20 * log10(row_nrmse(w, d, 32)), 16.82, 0.005);
    }
}

static void edge_cases(void)
{
    float w[64], d[64];
    uint32_t packed[16];
    uint16_t sc[2], bi[2];
    struct mint_qcfg c4 = {4, 32};

    /* all-zero group: s = -1e-7, stored BF16 0xB3D7, bias 0, exact zeros */
    memset(w, 0, sizeof w);
    mint_quant_row_mlx(w, 32, c4, MINT_DT_BF16, packed, sc, bi);
    CHECK_MSG(sc[0] == 0xB3D7, "zero-group scale %04x", sc[0]);
    CHECK(bi[0] == 0);
    CHECK(packed[0] == 0 && packed[1] == 0 && packed[2] == 0 && packed[3] == 0);
    mint_dequant_row(packed, sc, bi, 32, c4, MINT_DT_BF16, d);
    for (int k = 0; k < 32; k++)
        CHECK(d[k] == 0.0f);
    CHECK_NEAR(mint_bf16_to_f32(0xB3D7), -1.0012e-7, 1e-11);

    /* constant groups decode to the constant (BF16-exact), all codes 0 */
    static const float consts[] = {0.375f, -0.375f, 1.0f, -2.5f, 9.765625e-4f, -7.8125e-3f, 300.0f};
    for (size_t i = 0; i < sizeof consts / sizeof *consts; i++) {
        for (int k = 0; k < 64; k++)
            w[k] = consts[i];
        for (int b = 2; b <= 8; b++) {
            struct mint_qcfg c = {b == 7 ? 8 : b, 32};
            mint_quant_row_mlx(w, 64, c, MINT_DT_BF16, packed, sc, bi);
            mint_dequant_row(packed, sc, bi, 64, c, MINT_DT_BF16, d);
            int all = 1;
            for (int k = 0; k < 64; k++)
                all &= d[k] == consts[i] && code_at(packed, k, c.bits) == 0;
            CHECK_MSG(all, "constant %g at %d bits", consts[i], c.bits);
            CHECK(mint_bf16_to_f32(bi[0]) == consts[i]);
        }
    }
    /* |c| < 5e-8: q0 = 0, decodes to 0; F16 storage likewise */
    for (int k = 0; k < 32; k++)
        w[k] = 4e-8f;
    mint_quant_row_mlx(w, 32, c4, MINT_DT_BF16, packed, sc, bi);
    mint_dequant_row(packed, sc, bi, 32, c4, MINT_DT_BF16, d);
    CHECK(d[0] == 0.0f && bi[0] == 0);
    mint_quant_row_mlx(w, 32, c4, MINT_DT_F16, packed, sc, bi);
    mint_dequant_row(packed, sc, bi, 32, c4, MINT_DT_F16, d);
    CHECK(d[31] == 0.0f && bi[0] == 0);
    /* F16 storage of the all-zero group: -1e-7 is an F16 subnormal (2 * 2^-24) */
    memset(w, 0, sizeof w);
    mint_quant_row_mlx(w, 32, c4, MINT_DT_F16, packed, sc, bi);
    CHECK_MSG(sc[0] == 0x8002, "F16 zero-group scale %04x", sc[0]);

    /* tie |lo| = |hi| goes to the else branch: edge = hi, negative scale */
    for (int k = 0; k < 32; k++)
        w[k] = (float)((k % 9) - 4) / 8.0f; /* -0.5 .. 0.5 */
    {
        float s, z;
        mint_quant_params_mlx(-0.5f, 0.5f, 4, &s, &z);
        CHECK(z == 0.5f && s < 0);
        mint_quant_params_mlx(-0.5f, 0.25f, 4, &s, &z);
        CHECK(z == -0.5f && s > 0);
    }
    /* the edge extreme is exact */
    mint_quant_row_mlx(w, 32, c4, MINT_DT_BF16, packed, sc, bi);
    mint_dequant_row(packed, sc, bi, 32, c4, MINT_DT_BF16, d);
    CHECK(d[8] == 0.5f);

    /* MINT min/max: exact on a ramp */
    for (int k = 0; k < 32; k++)
        w[k] = (float)k / 8.0f;
    {
        struct mint_qcfg c5 = {5, 32};
        mint_quant_row_minmax(w, 32, c5, d);
        int same = 1;
        for (int k = 0; k < 32; k++)
            same &= fabsf(d[k] - w[k]) < 1e-6f;
        CHECK(same);
    }
}

/* codes c_k = L - ((7k + 3) mod (L + 1)) with 0 and L in every group: exact round trip */
static void packing(void)
{
    static const int bits[] = {2, 3, 4, 5, 6, 8};
    for (size_t bi_ = 0; bi_ < sizeof bits / sizeof *bits; bi_++) {
        const int b = bits[bi_], L = (1 << b) - 1;
        for (int g = 32; g <= 128; g *= 2) {
            enum { N = 256 };
            float w[N], d[N];
            uint32_t packed[N * 8 / 32];
            uint16_t sc[N / 32], bq[N / 32];
            int c[N], ok = 1, okd = 1;
            const float t = 1.0f / 64;
            struct mint_qcfg cfg = {b, g};
            for (int k = 0; k < N; k++) {
                c[k] = (7 * k + 3) % (L + 1);
                if (k % g == 0)
                    c[k] = 0;
                if (k % g == 5)
                    c[k] = L;
                w[k] = (float)c[k] * t;
            }
            mint_quant_row_mlx(w, N, cfg, MINT_DT_BF16, packed, sc, bq);
            for (int k = 0; k < N; k++)
                ok &= code_at(packed, k, b) == (uint32_t)(L - c[k]);
            mint_dequant_row(packed, sc, bq, N, cfg, MINT_DT_BF16, d);
            for (int k = 0; k < N; k++)
                okd &= d[k] == w[k];
            CHECK_MSG(ok, "codes at %d:%d", b, g);
            CHECK_MSG(okd, "round trip at %d:%d", b, g);
            /* exactly N*b/32 words are written: nothing beyond */
            CHECK(sizeof packed / sizeof *packed == (size_t)N * 8 / 32);
        }
    }
}

static void bytes_table(void)
{
    static const struct {
        uint64_t rows, cols;
        int64_t bytes[14]; /* default order; -1 = unavailable */
    } tv[] = {
        {4096, 4096, {5242880, 6291456, 7340032, 8388608, 8912896, 9437184, 10485760, 11534336,
                      12582912, 13631488, 14680064, 17301504, 17825792, 33554432}},
        {172, 64, {3440, 4128, 4816, 5504, -1, 6192, 6880, 7568, 8256, 8944, 9632, -1, 11696,
                   22016}},
        {11008, 4096, {14090240, 16908288, 19726336, 22544384, 23953408, 25362432, 28180480,
                       30998528, 33816576, 36634624, 39452672, 46497792, 47906816, 90177536}},
        {64, 172, {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 22016}},
    };
    struct mint_qcfg cfg[16];
    size_t n = mint_qcfg_default(cfg, 16);
    CHECK(n == 14);
    CHECK(cfg[13].bits == 16 && cfg[13].group == 0);
    for (size_t i = 1; i < n; i++)
        CHECK(mint_quant_bytes(4096, cfg[i - 1]) < mint_quant_bytes(4096, cfg[i]));
    for (size_t t = 0; t < sizeof tv / sizeof *tv; t++)
        for (size_t i = 0; i < n; i++) {
            int avail = mint_qcfg_available(cfg[i], (int64_t)tv[t].cols);
            CHECK_MSG(avail == (tv[t].bytes[i] >= 0), "%llux%llu %d:%d availability",
                      (unsigned long long)tv[t].rows, (unsigned long long)tv[t].cols,
                      cfg[i].bits, cfg[i].group);
            if (avail)
                CHECK_MSG(mint_quant_bytes(tv[t].rows * tv[t].cols, cfg[i]) ==
                              (uint64_t)tv[t].bytes[i],
                          "%llux%llu %d:%d bytes", (unsigned long long)tv[t].rows,
                          (unsigned long long)tv[t].cols, cfg[i].bits, cfg[i].group);
        }
    /* bytes = weight words + 2 B scale + 2 B bias per group */
    struct mint_qcfg c = {3, 64};
    CHECK(mint_quant_bytes(64 * 128, c) == 64 * (128 * 3 / 32) * 4 + 2 * 2 * 64 * 2);
}

static void qcfg_parse(void)
{
    struct mint_qcfg c[16];
    CHECK(mint_qcfg_parse("2:64,2:32,3:64,16", c, 16) == 4);
    CHECK(c[0].bits == 2 && c[0].group == 64 && c[1].group == 32 && c[3].bits == 16 &&
          c[3].group == 0);
    CHECK(mint_qcfg_parse("8:128", c, 16) == 1 && c[0].bits == 8 && c[0].group == 128);
    CHECK(mint_qcfg_parse("16", c, 16) == 1);
    CHECK(mint_qcfg_parse("2:128,3:128,5:128,6:128,8:32", c, 16) == 5);
    static const char *bad[] = {"", "7:64", "4:48", "4:64,4:64", "16:64", "4", "4:", ":64",
                                "4:64,", "4:64x", "abc", "4:64,,3:64", "4;64", "1:32", "16,16"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_MSG(mint_qcfg_parse(bad[i], c, 16) < 0, "'%s' accepted", bad[i]);
    CHECK(mint_qcfg_parse("2:64,2:32,3:64", c, 2) < 0); /* over max */
    struct mint_qcfg ok = {4, 64}, p16 = {16, 0};
    CHECK(mint_qcfg_valid(ok) && mint_qcfg_valid(p16));
    CHECK(mint_qcfg_available(p16, 172) && !mint_qcfg_available(ok, 172) &&
          mint_qcfg_available(ok, 128));
}

int main(void)
{
    worked_example();
    edge_cases();
    packing();
    bytes_table();
    qcfg_parse();
    return CHECK_DONE();
}
