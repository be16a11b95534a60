/* t-dtype: dtype names and sizes, exact F16/BF16 <-> F32 conversions.
 *
 * Oracles: every 16-bit pattern round-trips; at every rounding boundary (the exact float
 * midpoint between two neighbouring 16-bit values, and one float ulp either side) the result is
 * the nearer value, ties to even; a decoded value is checked against ldexp arithmetic; and,
 * where the compiler has _Float16, float -> F16 is compared with the compiler's conversion on
 * a sweep of float bit patterns. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "mint/dtype.h"

static float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static int f16_is_nan(uint16_t h)
{
    return (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
}

static int bf16_is_nan(uint16_t h)
{
    return (h & 0x7f80) == 0x7f80 && (h & 0x7f);
}

/* independent decode of a half: sign, exponent, mantissa with ldexp */
static double f16_ref(uint16_t h)
{
    int s = h >> 15, e = (h >> 10) & 31, m = h & 0x3ff;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

int main(void)
{
    int bad;

    /* names and sizes */
    static const struct {
        const char *n;
        size_t sz;
    } names[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"U16", 2},  {"I16", 2},     {"U32", 4},
                 {"I32", 4},  {"U64", 8}, {"I64", 8}, {"F16", 2},  {"BF16", 2},    {"F32", 4},
                 {"F64", 8},  {"F8_E4M3", 1}, {"F8_E5M2", 1}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        enum mint_dtype d = mint_dtype_parse(names[i].n);
        CHECK_MSG(d != MINT_DT_INVALID, "%s", names[i].n);
        CHECK_STR(mint_dtype_name(d), names[i].n);
        CHECK_MSG(mint_dtype_size(d) == names[i].sz, "%s", names[i].n);
    }
    CHECK(mint_dtype_parse("f32") == MINT_DT_INVALID);
    CHECK(mint_dtype_parse("") == MINT_DT_INVALID);
    CHECK(mint_dtype_parse("F8_E8M0") == MINT_DT_INVALID);
    CHECK(mint_dtype_parse("C64") == MINT_DT_INVALID);
    CHECK(mint_dtype_size(MINT_DT_INVALID) == 0);
    CHECK_STR(mint_dtype_name(MINT_DT_COUNT), "?");
    CHECK(mint_dtype_is_float(MINT_DT_BF16) && mint_dtype_is_float(MINT_DT_F64));
    CHECK(!mint_dtype_is_float(MINT_DT_U32) && !mint_dtype_is_float(MINT_DT_F8_E4M3));

    /* ---- BF16 ---- */
    CHECK(mint_f32_to_bf16(1.0f) == 0x3f80);
    CHECK(mint_f32_to_bf16(-2.0f) == 0xc000);
    CHECK(mint_f32_to_bf16(0.0f) == 0x0000);
    CHECK(mint_f32_to_bf16(-0.0f) == 0x8000);
    CHECK(mint_f32_to_bf16(u2f(0x3f808000)) == 0x3f80); /* tie, even below */
    CHECK(mint_f32_to_bf16(u2f(0x3f818000)) == 0x3f82); /* tie, odd below: up */
    CHECK(mint_f32_to_bf16(u2f(0x3f808001)) == 0x3f81); /* just above the tie */
    CHECK(mint_f32_to_bf16(u2f(0x3f807fff)) == 0x3f80);
    CHECK(mint_f32_to_bf16(u2f(0x3fff8000)) == 0x4000); /* carry into the exponent */
    CHECK(mint_f32_to_bf16(u2f(0x7f7fffff)) == 0x7f80); /* FLT_MAX rounds to inf */
    CHECK(mint_f32_to_bf16(u2f(0x7f7f7fff)) == 0x7f7f); /* largest that stays finite */
    CHECK(mint_f32_to_bf16(INFINITY) == 0x7f80);
    CHECK(mint_f32_to_bf16(-INFINITY) == 0xff80);
    CHECK(mint_f32_to_bf16(u2f(0x00000001)) == 0x0000); /* float subnormals */
    CHECK(mint_f32_to_bf16(u2f(0x00008000)) == 0x0000); /* tie to even 0 */
    CHECK(mint_f32_to_bf16(u2f(0x00018000)) == 0x0002); /* tie to even 2 */
    CHECK(mint_f32_to_bf16(u2f(0x007fffff)) == 0x0080); /* largest subnormal -> min normal */
    CHECK(mint_f32_to_bf16(u2f(0x80008001)) == 0x8001);
    CHECK(bf16_is_nan(mint_f32_to_bf16(NAN)));
    CHECK(bf16_is_nan(mint_f32_to_bf16(u2f(0x7f800001)))); /* payload only in low bits */
    CHECK(bf16_is_nan(mint_f32_to_bf16(u2f(0xffffffff))));
    CHECK(mint_f32_to_bf16(u2f(0xff800001)) & 0x8000);     /* sign kept */
    CHECK(mint_bf16_to_f32(0x3f80) == 1.0f);
    CHECK(mint_bf16_to_f32(0x0001) == u2f(0x00010000));
    CHECK(isnan(mint_bf16_to_f32(0x7fc0)));
    CHECK(mint_round_to(MINT_DT_BF16, 1.00390625f) == 1.0f);
    CHECK(mint_round_to(MINT_DT_F32, 1.00390625f) == 1.00390625f);
    /* every pattern round-trips exactly; every boundary rounds to the nearer, ties to even */
    bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = mint_bf16_to_f32((uint16_t)h);
        if (f2u(f) != h << 16)
            bad++;
        if (bf16_is_nan((uint16_t)h))
            bad += !isnan(f) || !bf16_is_nan(mint_f32_to_bf16(f));
        else if (mint_f32_to_bf16(f) != h)
            bad++;
        if ((h & 0x7fff) >= 0x7f80)
            continue; /* inf/nan: no upper neighbour */
        uint32_t mid = (h << 16) | 0x8000; /* halfway to h + 1 (same sign, larger magnitude) */
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        bad += mint_f32_to_bf16(u2f(mid)) != even;
        bad += mint_f32_to_bf16(u2f(mid - 1)) != h;
        bad += mint_f32_to_bf16(u2f(mid + 1)) != (uint16_t)(h + 1);
    }
    CHECK_MSG(bad == 0, "%d BF16 boundary/round-trip mismatches", bad);

    /* ---- F16 ---- */
    CHECK(mint_f32_to_f16(1.0f) == 0x3c00);
    CHECK(mint_f32_to_f16(-2.0f) == 0xc000);
    CHECK(mint_f32_to_f16(-0.0f) == 0x8000);
    CHECK(mint_f32_to_f16(65504.0f) == 0x7bff);         /* max half */
    CHECK(mint_f32_to_f16(65519.996f) == 0x7bff);       /* just below the overflow tie */
    CHECK(mint_f32_to_f16(65520.0f) == 0x7c00);         /* tie to even -> inf */
    CHECK(mint_f32_to_f16(1e6f) == 0x7c00);
    CHECK(mint_f32_to_f16(-1e30f) == 0xfc00);
    CHECK(mint_f32_to_f16(INFINITY) == 0x7c00);
    CHECK(mint_f32_to_f16(-INFINITY) == 0xfc00);
    CHECK(f16_is_nan(mint_f32_to_f16(NAN)));
    CHECK(f16_is_nan(mint_f32_to_f16(u2f(0x7f800001))));
    CHECK(mint_f32_to_f16(-NAN) & 0x8000);
    CHECK(mint_f32_to_f16(1.0f + 0x1p-11f) == 0x3c00);  /* tie, even below */
    CHECK(mint_f32_to_f16(1.0f + 0x3p-11f) == 0x3c02);  /* tie, odd below: up */
    CHECK(mint_f32_to_f16(2.0f - 0x1p-11f) == 0x4000);  /* carry into the exponent */
    CHECK(mint_f32_to_f16(0x1p-14f) == 0x0400);         /* min normal */
    CHECK(mint_f32_to_f16(0x1p-24f) == 0x0001);         /* min subnormal */
    CHECK(mint_f32_to_f16(0x1p-25f) == 0x0000);         /* tie to even 0 */
    CHECK(mint_f32_to_f16(0x1.000002p-25f) == 0x0001);  /* just above the tie */
    CHECK(mint_f32_to_f16(0x3p-25f) == 0x0002);         /* 1.5 ulp: tie to even 2 */
    CHECK(mint_f32_to_f16(0x1p-30f) == 0x0000);
    CHECK(mint_f32_to_f16(-0x1p-24f) == 0x8001);
    CHECK(mint_f32_to_f16(1023.5f * 0x1p-24f) == 0x0400); /* largest subnormal tie -> normal */
    CHECK(mint_f32_to_f16(u2f(0x00000001)) == 0x0000);  /* float subnormal */
    CHECK(mint_f16_to_f32(0x0001) == 0x1p-24f);
    CHECK(mint_f16_to_f32(0x03ff) == 1023 * 0x1p-24f);
    CHECK(mint_f16_to_f32(0x7bff) == 65504.0f);
    CHECK(mint_f16_to_f32(0xfc00) == -INFINITY);
    CHECK(isnan(mint_f16_to_f32(0x7e00)));
    CHECK(signbit(mint_f16_to_f32(0x8000)) && mint_f16_to_f32(0x8000) == 0.0f);
    CHECK(mint_round_to(MINT_DT_F16, 0.1f) == mint_f16_to_f32(0x2e66));
    bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = mint_f16_to_f32((uint16_t)h);
        double r = f16_ref((uint16_t)h);
        if (f16_is_nan((uint16_t)h)) {
            bad += !isnan(f) || !f16_is_nan(mint_f32_to_f16(f));
            continue;
        }
        bad += (double)f != r;
        bad += mint_f32_to_f16(f) != h;
        if ((h & 0x7fff) >= 0x7c00)
            continue;
        /* midpoint to the next larger magnitude (exact in float: 12 significant bits) */
        float mid = (float)((r + f16_ref((uint16_t)(h + 1))) / 2);
        if ((h & 0x7fff) == 0x7bff)
            mid = (h & 0x8000) ? -65520.0f : 65520.0f;
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        bad += mint_f32_to_f16(mid) != even;
        bad += mint_f32_to_f16(nextafterf(mid, 0.0f)) != h;
        bad += mint_f32_to_f16(nextafterf(mid, mid * 2)) != (uint16_t)(h + 1);
    }
    CHECK_MSG(bad == 0, "%d F16 boundary/round-trip mismatches", bad);
#ifdef __FLT16_MAX__
    bad = 0;
    for (uint64_t u = 0; u < 0x100000000ull; u += 4093) {
        float f = u2f((uint32_t)u);
        _Float16 c = (_Float16)f;
        uint16_t want;
        memcpy(&want, &c, 2);
        uint16_t got = mint_f32_to_f16(f);
        if (isnan(f))
            bad += !f16_is_nan(got) || (got & 0x8000) != (want & 0x8000);
        else
            bad += got != want;
    }
    CHECK_MSG(bad == 0, "%d F16 mismatches against _Float16", bad);
#endif

    /* ---- row conversion ---- */
    {
        unsigned char buf[1 + 8 * 4];
        float out[4];
        uint16_t h[4] = {0x3c00, 0xc000, 0x0001, 0x7bff};
        memcpy(buf + 1, h, sizeof h); /* unaligned source */
        CHECK(mint_to_f32(MINT_DT_F16, buf + 1, out, 4) == -1);
        CHECK(out[0] == 1.0f && out[1] == -2.0f && out[2] == 0x1p-24f && out[3] == 65504.0f);
        uint16_t b[4] = {0x3f80, 0x4040, 0x7f80, 0x0000};
        memcpy(buf + 1, b, sizeof b);
        CHECK(mint_to_f32(MINT_DT_BF16, buf + 1, out, 4) == 2); /* inf at index 2 */
        CHECK(out[0] == 1.0f && out[1] == 3.0f);
        double d[4] = {0.5, -1e300, 3.0, 0.1};
        memcpy(buf + 1, d, sizeof d);
        CHECK(mint_to_f32(MINT_DT_F64, buf + 1, out, 4) == 1); /* overflows float */
        CHECK(out[0] == 0.5f && out[2] == 3.0f && out[3] == 0.1f);
        float f[3] = {1.5f, NAN, 2.0f};
        CHECK(mint_to_f32(MINT_DT_F32, f, out, 3) == 1);
        CHECK(mint_to_f32(MINT_DT_F32, f, out, 1) == -1 && out[0] == 1.5f);
        CHECK(mint_to_f32(MINT_DT_F32, f, out, 0) == -1);
    }
    return CHECK_DONE();
}
