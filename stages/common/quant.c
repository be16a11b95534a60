#include "mint/quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct mint_qcfg default_cfgs[] = {
    {2, 64}, {2, 32}, {3, 64}, {3, 32}, {4, 128}, {4, 64}, {4, 32},
    {5, 64}, {5, 32}, {6, 64}, {6, 32}, {8, 128}, {8, 64}, {16, 0},
};

size_t mint_qcfg_default(struct mint_qcfg *out, size_t max)
{
    size_t n = sizeof default_cfgs / sizeof *default_cfgs;
    if (n > max)
        n = max;
    memcpy(out, default_cfgs, n * sizeof *out);
    return n;
}

int mint_qcfg_valid(struct mint_qcfg c)
{
    if (c.bits == MINT_BITS_PASSTHROUGH)
        return c.group == 0;
    if (c.bits != 2 && c.bits != 3 && c.bits != 4 && c.bits != 5 && c.bits != 6 && c.bits != 8)
        return 0;
    return c.group == 32 || c.group == 64 || c.group == 128;
}

int mint_qcfg_parse(const char *s, struct mint_qcfg *out, size_t max)
{
    size_t n = 0;
    const char *p = s;
    if (!s || !*s)
        return -1;
    while (*p) {
        char *end;
        long b = strtol(p, &end, 10), g = 0;
        if (end == p)
            return -1;
        p = end;
        if (*p == ':') {
            g = strtol(p + 1, &end, 10);
            if (end == p + 1)
                return -1;
            p = end;
        }
        if (n >= max)
            return -1;
        out[n].bits = (int)b;
        out[n].group = (int)g;
        if (!mint_qcfg_valid(out[n]))
            return -1;
        for (size_t i = 0; i < n; i++)
            if (out[i].bits == out[n].bits && out[i].group == out[n].group)
                return -1;
        n++;
        if (*p == ',') {
            if (!*++p)
                return -1; /* trailing comma */
        } else if (*p) {
            return -1;
        }
    }
    return (int)n;
}

int mint_qcfg_available(struct mint_qcfg c, int64_t cols)
{
    if (c.bits == MINT_BITS_PASSTHROUGH)
        return 1;
    return cols > 0 && cols % c.group == 0;
}

uint64_t mint_quant_bytes(uint64_t n, struct mint_qcfg c)
{
    if (c.bits == MINT_BITS_PASSTHROUGH)
        return 2 * n;
    return n * (uint64_t)c.bits / 8 + 4 * n / (uint64_t)c.group;
}

static inline uint16_t to_store(enum mint_dtype sdt, float f)
{
    return sdt == MINT_DT_F16 ? mint_f32_to_f16(f) : mint_f32_to_bf16(f);
}

static inline float from_store(enum mint_dtype sdt, uint16_t h)
{
    return sdt == MINT_DT_F16 ? mint_f16_to_f32(h) : mint_bf16_to_f32(h);
}

/* Append code q (b bits) at stream bit position 'bit' of a zeroed word array. */
static inline void put_bits(uint32_t *w, uint64_t bit, uint32_t q, int b)
{
    uint64_t word = bit >> 5;
    unsigned sh = (unsigned)(bit & 31);
    w[word] |= q << sh;
    if (sh + (unsigned)b > 32)
        w[word + 1] |= q >> (32 - sh);
}

static inline uint32_t get_bits(const uint32_t *w, uint64_t bit, int b)
{
    uint64_t word = bit >> 5;
    unsigned sh = (unsigned)(bit & 31);
    uint32_t v = w[word] >> sh;
    if (sh + (unsigned)b > 32)
        v |= w[word + 1] << (32 - sh);
    return v & ((1u << b) - 1);
}

void mint_quant_params_mlx(float lo, float hi, int bits, float *scale, float *bias)
{
    const float L = (float)((1 << bits) - 1);
    float s0 = (hi - lo) / L;
    if (!(s0 > 1e-7f))
        s0 = 1e-7f;
    float edge, s, z;
    if (fabsf(lo) > fabsf(hi)) {
        edge = lo;
        s = s0;
    } else {
        edge = hi;
        s = -s0;
    }
    float q0 = rintf(edge / s);
    if (q0 != 0.0f) {
        s = edge / q0;
        z = edge;
    } else {
        z = 0.0f;
    }
    *scale = s;
    *bias = z;
}

void mint_quant_row_mlx(const float *w, int64_t cols, struct mint_qcfg c, enum mint_dtype sdt,
                        uint32_t *packed, uint16_t *scales, uint16_t *biases)
{
    const int b = c.bits, g = c.group;
    const float L = (float)((1 << b) - 1);
    memset(packed, 0, (size_t)(cols * b / 32) * sizeof *packed);
    for (int64_t g0 = 0, gi = 0; g0 < cols; g0 += g, gi++) {
        const float *G = w + g0;
        float lo = G[0], hi = G[0];
        for (int k = 1; k < g; k++) {
            lo = G[k] < lo ? G[k] : lo;
            hi = G[k] > hi ? G[k] : hi;
        }
        float s, z;
        mint_quant_params_mlx(lo, hi, b, &s, &z);
        scales[gi] = to_store(sdt, s);
        biases[gi] = to_store(sdt, z);
        for (int k = 0; k < g; k++) {
            float q = rintf((G[k] - z) / s);
            q = q < 0.0f ? 0.0f : (q > L ? L : q);
            put_bits(packed, (uint64_t)(g0 + k) * (uint64_t)b, (uint32_t)q, b);
        }
    }
}

void mint_dequant_row(const uint32_t *packed, const uint16_t *scales, const uint16_t *biases,
                      int64_t cols, struct mint_qcfg c, enum mint_dtype sdt, float *out)
{
    const int b = c.bits, g = c.group;
    for (int64_t g0 = 0, gi = 0; g0 < cols; g0 += g, gi++) {
        const float s = from_store(sdt, scales[gi]), z = from_store(sdt, biases[gi]);
        for (int k = 0; k < g; k++) {
            uint32_t q = get_bits(packed, (uint64_t)(g0 + k) * (uint64_t)b, b);
            out[g0 + k] = s * (float)q + z;
        }
    }
}

void mint_quant_row_minmax(const float *w, int64_t cols, struct mint_qcfg c, float *out)
{
    const int g = c.group;
    const float L = (float)((1 << c.bits) - 1);
    for (int64_t g0 = 0; g0 < cols; g0 += g) {
        const float *G = w + g0;
        float lo = G[0], hi = G[0];
        for (int k = 1; k < g; k++) {
            lo = G[k] < lo ? G[k] : lo;
            hi = G[k] > hi ? G[k] : hi;
        }
        float s = (hi - lo) / L;
        if (!(s > 1e-12f))
            s = 1e-12f;
        for (int k = 0; k < g; k++) {
            float q = nearbyintf((G[k] - lo) / s);
            q = q < 0.0f ? 0.0f : (q > L ? L : q);
            out[g0 + k] = q * s + lo;
        }
    }
}
