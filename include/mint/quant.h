/* quant.h - the MLX affine quantizer (bit-exact with MLX's CPU kernel), MINT's min/max
 * simulation, bit packing, and the byte model (algorithm.md §2, §4; mlx-format.md §3).
 *
 * One implementation serves rd (measuring), pack (writing) and eval (decoding).  All
 * arithmetic of the MLX path is IEEE float32 without reassociation; scales and biases are
 * stored in a 2-byte output dtype (MINT_DT_BF16 or MINT_DT_F16) as raw uint16 bits, and
 * distortion is always measured from the stored values, exactly as a loader decodes. */
#ifndef MINT_QUANT_H
#define MINT_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "mint/dtype.h"

#define MINT_BITS_PASSTHROUGH 16

struct mint_qcfg {
    int bits;   /* 2,3,4,5,6,8; 16 = passthrough in the output dtype */
    int group;  /* 32, 64, 128; 0 for passthrough */
};

/* The default configuration set: the 13 (bits, group) pairs of algorithm.md §4 plus 16-bit,
 * ordered by bytes ascending.  Returns the count written (<= max). */
size_t mint_qcfg_default(struct mint_qcfg *out, size_t max);
/* Parse "2:64,3:64,...,16" (bits:group, 16 alone = passthrough). Returns count or -1. */
int mint_qcfg_parse(const char *s, struct mint_qcfg *out, size_t max);
int mint_qcfg_valid(struct mint_qcfg c);
/* Does configuration c apply to a row of 'cols' elements (g | cols)? */
int mint_qcfg_available(struct mint_qcfg c, int64_t cols);

/* Exact packed bytes for n elements with 'cols' per row: n*b/8 + 4*n/g, or 2n for 16-bit. */
uint64_t mint_quant_bytes(uint64_t n, struct mint_qcfg c);

/* Quantize one row with the MLX kernel. w: (cols) finite floats; c.group divides cols.
 * packed: (cols*bits/32) uint32 words, LSB-first stream; scales, biases: (cols/group) raw
 * 2-byte values in dtype sdt. */
void mint_quant_row_mlx(const float *w, int64_t cols, struct mint_qcfg c, enum mint_dtype sdt,
                        uint32_t *packed, uint16_t *scales, uint16_t *biases);
/* The MLX per-group parameters from the group's true min and max, float32 exactly as
 * mint_quant_row_mlx computes them (algorithm.md §2.1): *scale is the float32 scale s the
 * codes are computed with, *bias the float32 bias z; both still unrounded to the storage dtype. */
void mint_quant_params_mlx(float lo, float hi, int bits, float *scale, float *bias);
/* Decode a packed row: out[k] = float(scale)*q + float(bias). */
void mint_dequant_row(const uint32_t *packed, const uint16_t *scales, const uint16_t *biases,
                      int64_t cols, struct mint_qcfg c, enum mint_dtype sdt, float *out);
/* MINT's min/max simulation (quantize + dequantize in one step, float32). */
void mint_quant_row_minmax(const float *w, int64_t cols, struct mint_qcfg c, float *out);

#endif
