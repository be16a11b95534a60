/* role.h - what a tensor is, from its name (algorithm.md §6.1), and its prior (§6.2).
 *
 * Classification is by name only and deterministic; the first matching rule wins.  Layer is the
 * integer after "layers." in a language-model path, expert the integer after ".experts.";
 * both -1 when absent.  Vision paths never get a layer. */
#ifndef MINT_ROLE_H
#define MINT_ROLE_H

#include <stddef.h>
#include <stdint.h>

enum mint_role {
    MINT_ROLE_EMBED, MINT_ROLE_LM_HEAD,
    MINT_ROLE_ATTN_Q, MINT_ROLE_ATTN_K, MINT_ROLE_ATTN_V, MINT_ROLE_ATTN_O,
    MINT_ROLE_MLP_GATE, MINT_ROLE_MLP_UP, MINT_ROLE_MLP_DOWN,
    MINT_ROLE_EXPERT_GATE, MINT_ROLE_EXPERT_UP, MINT_ROLE_EXPERT_DOWN,
    MINT_ROLE_ROUTER, MINT_ROLE_NORM, MINT_ROLE_VISION, MINT_ROLE_OTHER,
    MINT_ROLE_COUNT
};

enum mint_role mint_role_classify(const char *name, int64_t *layer, int64_t *expert);
const char *mint_role_name(enum mint_role r);
enum mint_role mint_role_parse(const char *s); /* MINT_ROLE_COUNT if unknown */


#endif
