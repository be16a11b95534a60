/* mlx.h - Hugging Face tensor names -> the names mlx-lm expects after `sanitize`
 * (mlx-format.md §4).  Used by solve (header reserve), pack (writing) and eval (reading).
 *
 * Per-expert tensors map to their stacked SwitchLinear: Qwen-MoE
 * `mlp.experts.E.{gate,up,down}_proj.weight` -> `mlp.switch_mlp.{gate,up,down}_proj.weight`,
 * Mixtral `block_sparse_moe.experts.E.{w1,w2,w3}.weight` ->
 * `block_sparse_moe.switch_mlp.{gate,down,up}_proj.weight`, with *expert = E.
 * Dropped (return 0): `*.rotary_emb.inv_freq`, and `lm_head.weight` of a tied model. */
#ifndef MINT_MLX_H
#define MINT_MLX_H

#include <stddef.h>
#include <stdint.h>

/* Returns 1 and writes the MLX name (with the same suffix, e.g. ".weight") into out, 0 when
 * the tensor is not written at all, -1 when the name does not fit in cap. */
int mint_mlx_name(const char *hf, int tied, char *out, size_t cap, int64_t *expert);

/* The module path of a weight name: strips a trailing ".weight" (into out). */
void mint_mlx_module(const char *name, char *out, size_t cap);

#endif
