#include "mint/role.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const role_names[MINT_ROLE_COUNT] = {
    "embed", "lm_head", "attn_q", "attn_k", "attn_v", "attn_o", "mlp_gate", "mlp_up",
    "mlp_down", "expert_gate", "expert_up", "expert_down", "router", "norm", "vision", "other",
};

const char *mint_role_name(enum mint_role r)
{
    return r < MINT_ROLE_COUNT ? role_names[r] : "other";
}

enum mint_role mint_role_parse(const char *s)
{
    for (int i = 0; i < MINT_ROLE_COUNT; i++)
        if (!strcmp(s, role_names[i]))
            return (enum mint_role)i;
    return MINT_ROLE_COUNT;
}

/* Is 'comp' one of the dot-separated components of 'path'? */
static int has_comp(const char *path, const char *comp)
{
    size_t n = strlen(comp);
    for (const char *p = path; (p = strstr(p, comp)); p++) {
        int start = p == path || p[-1] == '.';
        int end = p[n] == 0 || p[n] == '.';
        if (start && end)
            return 1;
    }
    return 0;
}

/* Integer component right after "<key>." (key matched as a component), or -1. */
static int64_t int_after(const char *path, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = path; (p = strstr(p, key)); p++) {
        if ((p == path || p[-1] == '.') && p[n] == '.' && p[n + 1] >= '0' && p[n + 1] <= '9') {
            char *end;
            long long v = strtoll(p + n + 1, &end, 10);
            if (*end == 0 || *end == '.')
                return v;
        }
    }
    return -1;
}

enum mint_role mint_role_classify(const char *full, int64_t *layer, int64_t *expert)
{
    char name[1024];
    const char *last, *parent_end;
    size_t n = strlen(full);
    static const char *const vision_keys[] = {
        "vision_tower", "vision_model", "visual", "vision_encoder", "multi_modal_projector",
        "mm_projector", "aligner", "image_newline",
    };

    if (n >= sizeof name)
        n = sizeof name - 1;
    memcpy(name, full, n);
    name[n] = 0;
    if (n > 7 && !strcmp(name + n - 7, ".weight"))
        name[n - 7] = 0;
    else if (n > 5 && !strcmp(name + n - 5, ".bias"))
        name[n - 5] = 0;

    *layer = -1;
    *expert = -1;
    for (size_t i = 0; i < sizeof vision_keys / sizeof *vision_keys; i++)
        if (strstr(name, vision_keys[i]))
            return MINT_ROLE_VISION;

    *layer = int_after(name, "layers");
    *expert = int_after(name, "experts");

    last = strrchr(name, '.');
    last = last ? last + 1 : name;
    parent_end = last > name ? last - 1 : name;

    if (strstr(last, "norm"))
        return MINT_ROLE_NORM;
    if (has_comp(name, "embed_tokens") || has_comp(name, "tok_embeddings") ||
        has_comp(name, "wte") || has_comp(name, "word_embeddings"))
        return MINT_ROLE_EMBED;
    if (has_comp(name, "lm_head"))
        return MINT_ROLE_LM_HEAD;
    if (!strcmp(last, "gate") && parent_end > name) {
        /* parent component */
        const char *ps = parent_end;
        while (ps > name && ps[-1] != '.')
            ps--;
        size_t pl = (size_t)(parent_end - ps);
        if ((pl == 3 && !strncmp(ps, "mlp", 3)) || (pl == 16 && !strncmp(ps, "block_sparse_moe", 16)))
            return MINT_ROLE_ROUTER;
    }
    if (!strcmp(last, "router") || !strcmp(last, "shared_expert_gate"))
        return MINT_ROLE_ROUTER;
    if (*expert >= 0 || has_comp(name, "switch_mlp") || has_comp(name, "experts")) {
        if (!strcmp(last, "gate_proj") || !strcmp(last, "w1") || !strcmp(last, "gate_up_proj"))
            return MINT_ROLE_EXPERT_GATE;
        if (!strcmp(last, "up_proj") || !strcmp(last, "w3"))
            return MINT_ROLE_EXPERT_UP;
        if (!strcmp(last, "down_proj") || !strcmp(last, "w2"))
            return MINT_ROLE_EXPERT_DOWN;
    }
    if (!strcmp(last, "q_proj") || !strcmp(last, "wq"))
        return MINT_ROLE_ATTN_Q;
    if (!strcmp(last, "k_proj") || !strcmp(last, "wk"))
        return MINT_ROLE_ATTN_K;
    if (!strcmp(last, "v_proj") || !strcmp(last, "wv"))
        return MINT_ROLE_ATTN_V;
    if (!strcmp(last, "o_proj") || !strcmp(last, "wo"))
        return MINT_ROLE_ATTN_O;
    if (!strcmp(last, "gate_proj") || !strcmp(last, "w1"))
        return MINT_ROLE_MLP_GATE;
    if (!strcmp(last, "up_proj") || !strcmp(last, "w3"))
        return MINT_ROLE_MLP_UP;
    if (!strcmp(last, "down_proj") || !strcmp(last, "w2"))
        return MINT_ROLE_MLP_DOWN;
    return MINT_ROLE_OTHER;
}

