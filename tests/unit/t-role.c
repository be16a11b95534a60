/* t-role: role, layer and expert from tensor names (algorithm.md §6.1) for Llama, Mistral,
 * Qwen2/3, Qwen2/3-MoE, Mixtral, packed experts and VLM wrappers; HF -> MLX names
 * (mlx-format.md §4). */
#include <string.h>

#include "check.h"
#include "mint/mlx.h"
#include "mint/role.h"

static void role_is(const char *name, const char *role, int64_t layer, int64_t expert, int line)
{
    int64_t l = -7, e = -7;
    enum mint_role r = mint_role_classify(name, &l, &e);
    CHECK_MSG(!strcmp(mint_role_name(r), role) && l == layer && e == expert,
              "line %d: %s: got %s/%lld/%lld, want %s/%lld/%lld", line, name, mint_role_name(r),
              (long long)l, (long long)e, role, (long long)layer, (long long)expert);
}
#define ROLE(n, r, l, e) role_is(n, r, l, e, __LINE__)

static void mlx_is(const char *hf, int tied, int want_rc, const char *want, int64_t expert,
                   int line)
{
    char out[256] = "";
    int64_t e = -7;
    int rc = mint_mlx_name(hf, tied, out, sizeof out, &e);
    CHECK_MSG(rc == want_rc && (rc != 1 || (!strcmp(out, want) && e == expert)),
              "line %d: %s: got %d '%s' %lld", line, hf, rc, rc == 1 ? out : "", (long long)e);
}
#define MLX(h, t, rc, w, e) mlx_is(h, t, rc, w, e, __LINE__)

int main(void)
{
    /* Llama / Mistral */
    ROLE("model.embed_tokens.weight", "embed", -1, -1);
    ROLE("lm_head.weight", "lm_head", -1, -1);
    ROLE("model.norm.weight", "norm", -1, -1);
    ROLE("model.layers.0.input_layernorm.weight", "norm", 0, -1);
    ROLE("model.layers.31.post_attention_layernorm.weight", "norm", 31, -1);
    ROLE("model.layers.3.self_attn.q_proj.weight", "attn_q", 3, -1);
    ROLE("model.layers.3.self_attn.k_proj.weight", "attn_k", 3, -1);
    ROLE("model.layers.3.self_attn.v_proj.weight", "attn_v", 3, -1);
    ROLE("model.layers.3.self_attn.o_proj.weight", "attn_o", 3, -1);
    ROLE("model.layers.3.mlp.gate_proj.weight", "mlp_gate", 3, -1);
    ROLE("model.layers.3.mlp.up_proj.weight", "mlp_up", 3, -1);
    ROLE("model.layers.3.mlp.down_proj.weight", "mlp_down", 3, -1);
    ROLE("model.layers.12.self_attn.rotary_emb.inv_freq", "other", 12, -1);
    /* Qwen2 biases, Qwen3 q_norm/k_norm */
    ROLE("model.layers.2.self_attn.q_proj.bias", "attn_q", 2, -1);
    ROLE("model.layers.2.self_attn.v_proj.bias", "attn_v", 2, -1);
    ROLE("model.layers.2.self_attn.q_norm.weight", "norm", 2, -1);
    ROLE("model.layers.2.self_attn.k_norm.weight", "norm", 2, -1);
    /* Qwen3-MoE / Qwen2-MoE */
    ROLE("model.layers.4.mlp.experts.7.up_proj.weight", "expert_up", 4, 7);
    ROLE("model.layers.4.mlp.experts.7.gate_proj.weight", "expert_gate", 4, 7);
    ROLE("model.layers.4.mlp.experts.127.down_proj.weight", "expert_down", 4, 127);
    ROLE("model.layers.4.mlp.gate.weight", "router", 4, -1);
    ROLE("model.layers.4.mlp.shared_expert_gate.weight", "router", 4, -1);
    ROLE("model.layers.4.mlp.shared_expert.gate_proj.weight", "mlp_gate", 4, -1);
    ROLE("model.layers.4.mlp.shared_expert.up_proj.weight", "mlp_up", 4, -1);
    ROLE("model.layers.4.mlp.shared_expert.down_proj.weight", "mlp_down", 4, -1);
    ROLE("model.layers.4.mlp.switch_mlp.down_proj.weight", "expert_down", 4, -1);
    /* Mixtral */
    ROLE("model.layers.9.block_sparse_moe.experts.3.w2.weight", "expert_down", 9, 3);
    ROLE("model.layers.9.block_sparse_moe.experts.3.w1.weight", "expert_gate", 9, 3);
    ROLE("model.layers.9.block_sparse_moe.experts.0.w3.weight", "expert_up", 9, 0);
    ROLE("model.layers.9.block_sparse_moe.gate.weight", "router", 9, -1);
    /* packed experts (3-D), router by name */
    ROLE("model.layers.1.mlp.experts.gate_up_proj", "expert_gate", 1, -1);
    ROLE("model.layers.1.mlp.experts.down_proj", "expert_down", 1, -1);
    ROLE("model.layers.1.mlp.router.weight", "router", 1, -1);
    /* "gate" elsewhere is not a router */
    ROLE("model.layers.1.self_attn.gate.weight", "other", 1, -1);
    /* VLM wrappers */
    ROLE("model.language_model.layers.5.self_attn.q_proj.weight", "attn_q", 5, -1);
    ROLE("model.language_model.layers.5.mlp.down_proj.weight", "mlp_down", 5, -1);
    ROLE("language_model.model.layers.6.mlp.up_proj.weight", "mlp_up", 6, -1);
    ROLE("model.language_model.embed_tokens.weight", "embed", -1, -1);
    ROLE("language_model.lm_head.weight", "lm_head", -1, -1);
    ROLE("model.vision_tower.encoder.layers.2.self_attn.q_proj.weight", "vision", -1, -1);
    ROLE("vision_model.encoder.layers.0.mlp.fc1.weight", "vision", -1, -1);
    ROLE("visual.blocks.3.attn.qkv.weight", "vision", -1, -1);
    ROLE("model.multi_modal_projector.linear_1.weight", "vision", -1, -1);
    ROLE("model.mm_projector.0.weight", "vision", -1, -1);
    ROLE("model.image_newline", "vision", -1, -1);
    ROLE("model.vision_tower.encoder.layers.2.layer_norm1.weight", "vision", -1, -1);
    /* other embedding spellings, GPT-style and llama2.c names */
    ROLE("transformer.wte.weight", "embed", -1, -1);
    ROLE("tok_embeddings.weight", "embed", -1, -1);
    ROLE("word_embeddings.weight", "embed", -1, -1);
    ROLE("layers.2.attention.wq.weight", "attn_q", 2, -1);
    ROLE("layers.2.feed_forward.w2.weight", "mlp_down", 2, -1);
    /* components are matched whole: "players" is not "layers", "xwte" not "wte" */
    ROLE("model.players.3.foo.weight", "other", -1, -1);
    ROLE("model.xwte.weight", "other", -1, -1);
    ROLE("model.layers.x.mlp.up_proj.weight", "mlp_up", -1, -1);
    ROLE("", "other", -1, -1);
    ROLE("weight", "other", -1, -1);
    {
        char longname[3000];
        memset(longname, 'a', sizeof longname - 1);
        longname[sizeof longname - 1] = 0;
        ROLE(longname, "other", -1, -1);
    }

    /* names and parse are inverse */
    for (int r = 0; r < MINT_ROLE_COUNT; r++)
        CHECK(mint_role_parse(mint_role_name((enum mint_role)r)) == (enum mint_role)r);
    CHECK(mint_role_parse("bogus") == MINT_ROLE_COUNT);
    CHECK_STR(mint_role_name(MINT_ROLE_COUNT), "other");

    /* HF -> MLX names */
    MLX("model.layers.1.mlp.experts.7.up_proj.weight", 0, 1,
        "model.layers.1.mlp.switch_mlp.up_proj.weight", 7);
    MLX("model.layers.1.mlp.experts.0.gate_proj.weight", 0, 1,
        "model.layers.1.mlp.switch_mlp.gate_proj.weight", 0);
    MLX("model.layers.1.mlp.experts.12.down_proj.bias", 0, 1,
        "model.layers.1.mlp.switch_mlp.down_proj.bias", 12);
    MLX("model.layers.2.block_sparse_moe.experts.3.w1.weight", 0, 1,
        "model.layers.2.block_sparse_moe.switch_mlp.gate_proj.weight", 3);
    MLX("model.layers.2.block_sparse_moe.experts.3.w2.weight", 0, 1,
        "model.layers.2.block_sparse_moe.switch_mlp.down_proj.weight", 3);
    MLX("model.layers.2.block_sparse_moe.experts.3.w3.weight", 0, 1,
        "model.layers.2.block_sparse_moe.switch_mlp.up_proj.weight", 3);
    MLX("model.layers.2.block_sparse_moe.gate.weight", 0, 1,
        "model.layers.2.block_sparse_moe.gate.weight", -1);
    MLX("model.layers.2.mlp.gate.weight", 0, 1, "model.layers.2.mlp.gate.weight", -1);
    MLX("model.layers.2.mlp.shared_expert.up_proj.weight", 0, 1,
        "model.layers.2.mlp.shared_expert.up_proj.weight", -1);
    MLX("model.layers.2.mlp.experts.gate_up_proj", 0, 1, "model.layers.2.mlp.experts.gate_up_proj",
        -1);
    MLX("model.layers.0.self_attn.q_proj.weight", 1, 1, "model.layers.0.self_attn.q_proj.weight",
        -1);
    MLX("model.layers.0.self_attn.rotary_emb.inv_freq", 0, 0, "", -1);
    MLX("lm_head.weight", 1, 0, "", -1);
    MLX("lm_head.weight", 0, 1, "lm_head.weight", -1);
    MLX("model.embed_tokens.weight", 1, 1, "model.embed_tokens.weight", -1);
    {
        char small[8];
        int64_t e;
        CHECK(mint_mlx_name("model.embed_tokens.weight", 0, small, sizeof small, &e) == -1);
        CHECK(mint_mlx_name("model.layers.1.mlp.experts.7.up_proj.weight", 0, small,
                            sizeof small, &e) == -1);
        char mod[64];
        mint_mlx_module("model.layers.0.mlp.up_proj.weight", mod, sizeof mod);
        CHECK_STR(mod, "model.layers.0.mlp.up_proj");
        mint_mlx_module("model.norm", mod, sizeof mod);
        CHECK_STR(mod, "model.norm");
        mint_mlx_module("model.layers.0.mlp.up_proj.weight", mod, 6);
        CHECK_STR(mod, "model");
    }
    return CHECK_DONE();
}
