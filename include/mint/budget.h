/* budget.h - byte budgets: parsing (algorithm.md §10.1), human sizes, and the safetensors header
 * reserve that makes the budget a hard cap on the real output bytes (§10.2).
 *
 * Parsing is exact: the decimal digits are multiplied by the unit in integer arithmetic (per-digit
 * carries in 128 bits), then floored; a result above 2^63 - 1 is an error.  Units are
 * case-insensitive: none or B = bytes; K M G T and KiB MiB GiB TiB = 2^10..2^40; KB MB GB TB =
 * 10^3..10^12; "<x>bpw" and "min" are resolved later by the solver, which knows F and N_q.
 * Errors carry code MINT_EXIT_USAGE and quote the input: "budget '30X': unknown unit 'X' ...". */
#ifndef MINT_BUDGET_H
#define MINT_BUDGET_H

#include <stddef.h>
#include <stdint.h>

struct mint_err;

#define MINT_BUDGET_MAX_TEXT 256
/* Per shard: 8-byte length + {"__metadata__":{"format":"mlx"}} (33) + up to 7 padding bytes. */
#define MINT_BUDGET_SHARD_OVERHEAD 48u
/* Offsets in a header entry are reserved at this many digits (2^64 has 20). */
#define MINT_BUDGET_OFFSET_DIGITS 20
#define MINT_BUDGET_DEFAULT_SHARD 5368709120ull /* 5 GiB, mlx-lm's MAX_FILE_SIZE_GB */

enum mint_budget_kind { MINT_BUDGET_BYTES, MINT_BUDGET_BPW, MINT_BUDGET_MIN };

struct mint_budget {
    enum mint_budget_kind kind;
    uint64_t bytes;                       /* BYTES: the value (<= INT64_MAX) */
    char digits[MINT_BUDGET_MAX_TEXT];    /* BPW: the number without its dot */
    int frac;                             /* BPW: digits after the dot */
    char text[MINT_BUDGET_MAX_TEXT];      /* the input, for messages */
};

/* Parse "<number>[unit]", "<number>bpw" or "min". */
int mint_budget_parse(const char *s, struct mint_budget *b, struct mint_err *err);
/* A plain size (no bpw/min), e.g. --shard-size 5G; 'what' names the option in messages. */
int mint_size_parse(const char *s, const char *what, uint64_t *out, struct mint_err *err);
/* floor(x * n_params / 8) for a BPW budget; error if above INT64_MAX. */
int mint_budget_bpw_bytes(const struct mint_budget *b, uint64_t n_params, uint64_t *out,
                          struct mint_err *err);
/* "1.20 GiB": the largest binary unit >= 1 (B, KiB, ... EiB), two decimals. */
void mint_budget_human(uint64_t bytes, char *out, size_t cap);

/* Bytes reserved for the per-shard overhead under budget B: 48 per shard for 2*B/shard + 3
 * shards, rounded up.  This bounds algorithm.md §10.2's 2*ceil(B/shard) + 1 shards and grows
 * smoothly (at most 1 byte per budget byte for shard >= 96), so B - reserve(B) never decreases
 * and "feasible" is monotone in B.  UINT64_MAX on overflow. */
uint64_t mint_budget_shard_reserve(uint64_t budget, uint64_t shard_size);
/* The least B with B >= base + mint_budget_shard_reserve(B) + q (min-safe when q = Σ min
 * bytes, a bpw budget when q = floor(x*N_q/8)); -1 if above INT64_MAX. */
int mint_budget_least(uint64_t base, uint64_t q, uint64_t shard_size, uint64_t *out);
/* The infeasible-budget error of algorithm.md §10.3 (code MINT_EXIT_INPUT): "budget 1.20 GiB
 * (1288490188 bytes) is below the minimum 1.43 GiB (1535450808 bytes) (every tensor at its
 * lowest allowed configuration)".  Always returns -1. */
int mint_budget_below_min(struct mint_err *err, uint64_t budget, uint64_t minimum);
/* Length of one compact header entry plus its separating comma:
 * ,"<name>":{"data_offsets":[<20 digits>,<20 digits>],"dtype":"<dtype>","shape":[d0,...]}
 * The name is measured JSON-escaped, exactly as the safetensors writer emits it. */
uint64_t mint_budget_entry_len(const char *name, const char *dtype, int ndim,
                               const int64_t *shape);

#endif
