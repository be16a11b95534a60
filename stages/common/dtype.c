#include "mint/dtype.h"

#include <math.h>
#include <string.h>

static const struct {
    const char *name;
    size_t size;
} dt_info[MINT_DT_COUNT] = {
    [MINT_DT_INVALID] = {"?", 0},     [MINT_DT_BOOL] = {"BOOL", 1},
    [MINT_DT_U8] = {"U8", 1},         [MINT_DT_I8] = {"I8", 1},
    [MINT_DT_U16] = {"U16", 2},       [MINT_DT_I16] = {"I16", 2},
    [MINT_DT_U32] = {"U32", 4},       [MINT_DT_I32] = {"I32", 4},
    [MINT_DT_U64] = {"U64", 8},       [MINT_DT_I64] = {"I64", 8},
    [MINT_DT_F16] = {"F16", 2},       [MINT_DT_BF16] = {"BF16", 2},
    [MINT_DT_F32] = {"F32", 4},       [MINT_DT_F64] = {"F64", 8},
    [MINT_DT_F8_E4M3] = {"F8_E4M3", 1}, [MINT_DT_F8_E5M2] = {"F8_E5M2", 1},
};

enum mint_dtype mint_dtype_parse(const char *name)
{
    for (int i = 1; i < MINT_DT_COUNT; i++)
        if (!strcmp(dt_info[i].name, name))
            return (enum mint_dtype)i;
    return MINT_DT_INVALID;
}

const char *mint_dtype_name(enum mint_dtype dt)
{
    return dt > 0 && dt < MINT_DT_COUNT ? dt_info[dt].name : "?";
}

size_t mint_dtype_size(enum mint_dtype dt)
{
    return dt > 0 && dt < MINT_DT_COUNT ? dt_info[dt].size : 0;
}

int mint_dtype_is_float(enum mint_dtype dt)
{
    return dt == MINT_DT_F16 || dt == MINT_DT_BF16 || dt == MINT_DT_F32 || dt == MINT_DT_F64;
}

static inline uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float mint_bf16_to_f32(uint16_t h)
{
    return u2f((uint32_t)h << 16);
}

uint16_t mint_f32_to_bf16(float f)
{
    uint32_t u = f2u(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

float mint_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0) {
        /* zero or subnormal: man * 2^-24, exact in float */
        float v = (float)man * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    if (exp == 31)
        return u2f(sign | 0x7f800000u | (man << 13));
    return u2f(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t mint_f32_to_f16(float f)
{
    uint32_t u = f2u(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t au = u & 0x7fffffffu;
    if (au > 0x7f800000u)
        return sign | 0x7e00;
    if (au >= 0x477ff000u) /* >= 65520 rounds to inf */
        return sign | 0x7c00;
    if (au < 0x38800000u) { /* below 2^-14: subnormal half */
        /* value / 2^-24, rounded to nearest even, using float arithmetic (exact here) */
        float a = u2f(au) * 16777216.0f;
        float r = nearbyintf(a);
        return sign | (uint16_t)r;
    }
    uint32_t e = (au >> 23) - 112, m = au & 0x7fffff;
    uint32_t h = (e << 10) | (m >> 13);
    uint32_t rem = m & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
        h++;
    return sign | (uint16_t)h;
}

float mint_round_to(enum mint_dtype dt, float f)
{
    if (dt == MINT_DT_BF16)
        return mint_bf16_to_f32(mint_f32_to_bf16(f));
    if (dt == MINT_DT_F16)
        return mint_f16_to_f32(mint_f32_to_f16(f));
    return f;
}

/* Index of the first float32 in dst whose exponent bits are all ones (inf/NaN), or -1. */
static int64_t first_nonfinite(const float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((f2u(dst[i]) & 0x7f800000u) == 0x7f800000u)
            return (int64_t)i;
    return -1;
}

/* Element loads go through memcpy: tensor data in a mapped file need not be aligned.  The
 * finiteness test is fused into the conversion as an OR of exponent checks (branch-free, so
 * the loop vectorises) and only a failing block is searched again. */
int64_t mint_to_f32(enum mint_dtype dt, const void *src, float *dst, size_t n)
{
    const unsigned char *s = src;
    uint32_t bad = 0;
    size_t i;

    switch (dt) {
    case MINT_DT_F32:
        memcpy(dst, src, n * 4);
        for (i = 0; i < n; i++)
            bad |= (f2u(dst[i]) & 0x7f800000u) == 0x7f800000u;
        break;
    case MINT_DT_BF16:
        for (i = 0; i < n; i++) {
            uint16_t h;
            uint32_t u;
            memcpy(&h, s + 2 * i, 2);
            u = (uint32_t)h << 16;
            bad |= (h & 0x7f80u) == 0x7f80u;
            memcpy(&dst[i], &u, 4);
        }
        break;
    case MINT_DT_F16:
        for (i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            bad |= (h & 0x7c00u) == 0x7c00u;
            dst[i] = mint_f16_to_f32(h);
        }
        break;
    case MINT_DT_F64:
        for (i = 0; i < n; i++) {
            double d;
            memcpy(&d, s + 8 * i, 8);
            dst[i] = (float)d;
            bad |= (f2u(dst[i]) & 0x7f800000u) == 0x7f800000u;
        }
        break;
    default:
        return 0;
    }
    return bad ? first_nonfinite(dst, n) : -1;
}
