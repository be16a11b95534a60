/* dtype.h - safetensors dtypes and exact float conversions.
 *
 * Conversions to float32 are exact for F16/BF16/F32.  Conversions from float32 round to
 * nearest, ties to even (as MLX and PyTorch do); NaN stays NaN, overflow to F16 gives inf. */
#ifndef MINT_DTYPE_H
#define MINT_DTYPE_H

#include <stddef.h>
#include <stdint.h>

enum mint_dtype {
    MINT_DT_INVALID = 0,
    MINT_DT_BOOL,
    MINT_DT_U8, MINT_DT_I8,
    MINT_DT_U16, MINT_DT_I16,
    MINT_DT_U32, MINT_DT_I32,
    MINT_DT_U64, MINT_DT_I64,
    MINT_DT_F16, MINT_DT_BF16, MINT_DT_F32, MINT_DT_F64,
    MINT_DT_F8_E4M3, MINT_DT_F8_E5M2,
    MINT_DT_COUNT
};

enum mint_dtype mint_dtype_parse(const char *name); /* MINT_DT_INVALID if unknown */
const char *mint_dtype_name(enum mint_dtype dt);
size_t mint_dtype_size(enum mint_dtype dt);          /* bytes per element */
int mint_dtype_is_float(enum mint_dtype dt);          /* F16, BF16, F32, F64 */

float    mint_bf16_to_f32(uint16_t h);
uint16_t mint_f32_to_bf16(float f);
float    mint_f16_to_f32(uint16_t h);
uint16_t mint_f32_to_f16(float f);
/* Round a float32 through a 2-byte dtype (F16 or BF16) and back. */
float mint_round_to(enum mint_dtype dt, float f);

/* Convert n elements of a float source (F16, BF16, F32, F64) to float32.
 * Returns the index of the first non-finite value, or -1 if all are finite. */
int64_t mint_to_f32(enum mint_dtype dt, const void *src, float *dst, size_t n);

#endif
