/* t-merge: decision groups (MoE), loss aggregation, the veto (worst expert), group keys and the
 * profile's JSON round trip (algorithm.md §7, §8). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "mint/err.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/profile.h"

#define NCFG 4
static const struct mint_qcfg cfgs[NCFG] = {{2, 64}, {3, 64}, {4, 64}, {16, 0}};

/* A tensor [rows, cols] with options NCFG whose NRMSE = base * {0.4, 0.2, 0.1, 0}. */
static void mk(struct mint_ptensor *t, const char *name, int64_t rows, int64_t cols,
               enum mint_role role, int64_t layer, int64_t expert, double base, int tied)
{
    static const double f[NCFG] = {0.4, 0.2, 0.1, 0};
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->mlx_name = strdup(name);
    t->group_key = mint_profile_group_key(name, tied);
    t->dtype = MINT_DT_BF16;
    t->ndim = 2;
    t->shape[0] = rows;
    t->shape[1] = cols;
    t->params = (uint64_t)(rows * cols);
    t->role = role;
    t->layer = layer;
    t->expert = expert;
    t->prior = 1.0;
    t->n_opt = NCFG;
    t->opt = calloc(NCFG, sizeof *t->opt);
    for (int j = 0; j < NCFG; j++) {
        struct mint_popt *o = &t->opt[j];
        o->bits = cfgs[j].bits;
        o->group = cfgs[j].group;
        o->bytes = mint_quant_bytes(t->params, cfgs[j]);
        o->nrmse = base * f[j];
        o->nrmse_worst = o->nrmse;
        o->nrmse_w = 2 * o->nrmse;
        o->mse = o->nrmse * o->nrmse;
        o->sqnr_db = o->nrmse > 0 ? -20 * log10(o->nrmse) : 100;
    }
}

static void test_keys(void)
{
    char *k;
    k = mint_profile_group_key("model.layers.3.mlp.experts.17.gate_proj.weight", 0);
    CHECK_STR(k, "model.layers.3.mlp.experts.*.gate_proj.weight");
    free(k);
    k = mint_profile_group_key("model.layers.0.block_sparse_moe.experts.7.w1.weight", 0);
    CHECK_STR(k, "model.layers.0.block_sparse_moe.experts.*.w1.weight");
    free(k);
    k = mint_profile_group_key("model.layers.0.mlp.experts.7.down_proj.bias", 0);
    CHECK_STR(k, "model.layers.0.mlp.experts.*.down_proj.bias");
    free(k);
    k = mint_profile_group_key("model.layers.0.mlp.shared_expert.gate_proj.weight", 0);
    CHECK_STR(k, "model.layers.0.mlp.shared_expert.gate_proj.weight");
    free(k);
    k = mint_profile_group_key("model.layers.0.mlp.experts.gate_up_proj", 0);
    CHECK_STR(k, "model.layers.0.mlp.experts.gate_up_proj");
    free(k);
    k = mint_profile_group_key("model.layers.0.self_attn.q_proj.weight", 0);
    CHECK_STR(k, "model.layers.0.self_attn.q_proj.weight");
    free(k);
    {
        char b[16];
        mint_qcfg_name(cfgs[0], b, sizeof b);
        CHECK_STR(b, "2:64");
        mint_qcfg_name(cfgs[3], b, sizeof b);
        CHECK_STR(b, "16");
    }
}

static void setup(struct mint_profile *p, int agg_worst)
{
    memset(p, 0, sizeof *p);
    p->num_layers = 2;
    p->out_dtype = MINT_DT_BF16;
    p->agg_worst = agg_worst;
    mint_prior_preset("soft", &p->priors);
    p->dir = strdup("model");
    p->n = 5;
    p->t = calloc(p->n, sizeof *p->t);
    /* sorted by name; 3 experts of layer 1 (expert 2 noisy), one dense tensor, one norm */
    mk(&p->t[0], "model.layers.1.mlp.experts.0.up_proj.weight", 64, 128, MINT_ROLE_EXPERT_UP,
       1, 0, 0.5, 0);
    mk(&p->t[1], "model.layers.1.mlp.experts.1.up_proj.weight", 64, 128, MINT_ROLE_EXPERT_UP,
       1, 1, 0.6, 0);
    mk(&p->t[2], "model.layers.1.mlp.experts.2.up_proj.weight", 64, 128, MINT_ROLE_EXPERT_UP,
       1, 2, 1.0, 0);
    mk(&p->t[3], "model.layers.1.post_attention_layernorm.weight", 128, 1, MINT_ROLE_NORM, 1, -1,
       0, 0);
    mk(&p->t[4], "model.layers.1.self_attn.q_proj.weight", 128, 128, MINT_ROLE_ATTN_Q, 1, -1,
       0.5, 0);
    /* the norm: 1-D, 16-bit only */
    p->t[3].ndim = 1;
    p->t[3].shape[0] = 128;
    p->t[3].n_opt = 1;
    p->t[3].opt[0] = p->t[3].opt[3];
    p->t[3].opt[0].bytes = 256;
    p->t[3].fixed = 1;
    p->t[3].prior = INFINITY;
    strcpy(p->t[3].fixed_reason, "1-D");
    for (size_t i = 0; i < p->n; i++)
        p->n_params += p->t[i].params;
}

static void test_groups(void)
{
    struct mint_profile p;
    struct mint_pgroup *g;
    size_t ng;
    struct mint_err err = {0};
    int idx[NCFG];

    /* mean aggregation (default) */
    setup(&p, 0);
    CHECK(mint_profile_groups(&p, &g, &ng, &err) == 0);
    CHECK(ng == 3);
    CHECK_STR(g[0].key, "model.layers.1.mlp.experts.*.up_proj.weight");
    CHECK_STR(g[1].key, "model.layers.1.post_attention_layernorm.weight");
    CHECK_STR(g[2].key, "model.layers.1.self_attn.q_proj.weight");
    CHECK(g[0].n_members == 3 && g[0].members[0] == 0 && g[0].members[2] == 2);
    CHECK(g[0].params == 3 * 64 * 128);
    CHECK(g[0].role == MINT_ROLE_EXPERT_UP && g[0].layer == 1);
    CHECK(g[0].n_opt == NCFG);
    CHECK(g[0].opt[0].bytes == 3 * mint_quant_bytes(64 * 128, cfgs[0]));
    CHECK(g[0].opt[3].bytes == 3 * 2 * 64 * 128);
    CHECK_NEAR(g[0].opt[1].nrmse, 0.2 * (0.5 + 0.6 + 1.0) / 3, 1e-15);
    CHECK_NEAR(g[0].opt[1].nrmse_w, 0.4 * (0.5 + 0.6 + 1.0) / 3, 1e-15);
    CHECK_NEAR(g[0].opt[1].nrmse_worst, 0.2, 1e-15);
    /* the veto statistic is the worst expert's SQNR */
    CHECK_NEAR(g[0].opt[0].sqnr_db, -20 * log10(0.4), 1e-12);
    CHECK_NEAR(g[0].opt[1].sqnr_db, -20 * log10(0.2), 1e-12);
    /* worst-expert veto: at 9 dB option (2,64) fails (expert 2: NRMSE 0.4 = 7.96 dB) although
     * the mean NRMSE 0.28 (11.06 dB) and the other experts pass */
    CHECK(mint_pgroup_allowed(&g[0], 9.0, idx) == 3);
    CHECK(idx[0] == 1 && idx[1] == 2 && idx[2] == 3);
    CHECK(mint_pgroup_allowed(&g[2], 9.0, idx) == 4); /* q_proj: 0.2 -> 13.98 dB passes */
    CHECK(mint_pgroup_allowed(&g[0], 14.0, idx) == 2);
    CHECK(mint_pgroup_allowed(&g[0], 1000.0, idx) == 1 && idx[0] == 3); /* 16-bit always */
    CHECK(mint_pgroup_allowed(&g[0], -1e9, idx) == 4);
    /* fixed groups and prior = inf allow 16-bit only */
    CHECK(mint_pgroup_allowed(&g[1], 9.0, idx) == 1 && g[1].opt[idx[0]].bits == 16);
    g[2].prior = INFINITY;
    CHECK(mint_pgroup_allowed(&g[2], 9.0, idx) == 1 && g[2].opt[idx[0]].bits == 16);
    mint_profile_groups_free(g, ng);
    mint_profile_release(&p);

    /* worst aggregation (MINT v1) */
    setup(&p, 1);
    CHECK(mint_profile_groups(&p, &g, &ng, &err) == 0);
    CHECK_NEAR(g[0].opt[1].nrmse, 0.2, 1e-15);
    CHECK_NEAR(g[0].opt[1].mse, 0.04, 1e-15);
    CHECK_NEAR(g[0].opt[1].nrmse_w, 0.4, 1e-15);
    mint_profile_groups_free(g, ng);
    /* a stacked 3-D tensor reports its own worst expert */
    p.t[4].opt[1].nrmse_worst = 0.33;
    CHECK(mint_profile_groups(&p, &g, &ng, &err) == 0);
    CHECK_NEAR(g[2].opt[1].nrmse, 0.33, 1e-15);
    mint_profile_groups_free(g, ng);
    mint_profile_release(&p);

    /* unequal expert sizes: parameter-weighted mean (pitfall 9) */
    setup(&p, 0);
    p.t[2].shape[0] = 192;
    p.t[2].params = 192 * 128;
    for (int j = 0; j < NCFG; j++)
        p.t[2].opt[j].bytes = mint_quant_bytes(p.t[2].params, cfgs[j]);
    CHECK(mint_profile_groups(&p, &g, &ng, &err) == 0);
    CHECK_NEAR(g[0].opt[1].nrmse, 0.2 * (0.5 * 1 + 0.6 * 1 + 1.0 * 3) / 5, 1e-15);
    mint_profile_groups_free(g, ng);
    mint_profile_release(&p);

    /* unknown nrmse_w stays unknown in the group */
    setup(&p, 0);
    p.t[1].opt[2].nrmse_w = NAN;
    CHECK(mint_profile_groups(&p, &g, &ng, &err) == 0);
    CHECK(isnan(g[0].opt[2].nrmse_w) && !isnan(g[0].opt[1].nrmse_w));
    mint_profile_groups_free(g, ng);
    mint_profile_release(&p);

    /* options: the configurations available for every member */
    setup(&p, 0);
    p.t[1].n_opt = 3;
    p.t[1].opt[2] = p.t[1].opt[3]; /* expert 1 cannot use (4,64) */
    CHECK(mint_profile_groups(&p, &g, &ng, &err) == 0);
    CHECK(g[0].n_opt == 3 && g[0].opt[0].bits == 2 && g[0].opt[1].bits == 3 &&
          g[0].opt[2].bits == 16);
    CHECK(g[0].opt[2].bytes == 3 * 2 * 64 * 128);
    CHECK(g[2].n_opt == 4);
    mint_profile_groups_free(g, ng);
    mint_profile_release(&p);
    /* members must agree on the prior */
    setup(&p, 0);
    p.t[2].prior = 3;
    CHECK(mint_profile_groups(&p, &g, &ng, &err) < 0 && strstr(err.msg, "differ in role"));
    mint_profile_release(&p);

    /* dropped tensors form no group */
    setup(&p, 0);
    p.t[4].dropped = 1;
    CHECK(mint_profile_groups(&p, &g, &ng, &err) == 0 && ng == 2);
    mint_profile_groups_free(g, ng);
    mint_profile_release(&p);
}

static void test_roundtrip(void)
{
    struct mint_profile p, q;
    struct mint_err err = {0};
    json_t *a, *b;
    char *ta, *tb;
    setup(&p, 1);
    p.t[1].opt[2].nrmse_w = NAN;
    p.t[0].features = json_pack("{s:f}", "stable_rank", 3.5);
    a = mint_profile_to_json(&p);
    CHECK(mint_profile_from_json(&q, a, "rt", &err) == 0);
    CHECK(q.n == 5 && q.agg_worst == 1 && q.num_layers == 2);
    CHECK(isinf(q.t[3].prior) && q.t[3].fixed && !strcmp(q.t[3].fixed_reason, "1-D"));
    CHECK(isnan(q.t[1].opt[2].nrmse_w));
    CHECK_STR(q.t[2].group_key, "model.layers.1.mlp.experts.*.up_proj.weight");
    b = mint_profile_to_json(&q);
    ta = json_dumps(a, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(17));
    tb = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(17));
    CHECK(ta && tb && !strcmp(ta, tb));
    free(ta);
    free(tb);
    json_decref(b);
    mint_profile_release(&q);
    /* a wrong byte count is refused: the bytes must be exactly what pack writes */
    json_integer_set(json_object_get(json_array_get(json_object_get(
                                         json_array_get(json_object_get(a, "tensors"), 4),
                                         "options"),
                                     0),
                                     "bytes"),
                     1);
    CHECK(mint_profile_from_json(&q, a, "rt", &err) < 0 && strstr(err.msg, "bytes 1, expected"));
    mint_profile_release(&q);
    json_decref(a);
    mint_profile_release(&p);
}


static int write_text(const char *path, const char *t)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(t, f);
    return fclose(f);
}

/* The streamed writer equals the canonical dump; the streamed reader accepts any layout. */
static void test_save_load(void)
{
    struct mint_profile p, q;
    struct mint_err err = {0};
    char path[] = "/tmp/t-merge-XXXXXX";
    int fd = mkstemp(path);
    json_t *doc;
    char *want, *got, *t2;
    size_t len;
    close(fd);
    setup(&p, 0);
    p.t[0].features = json_pack("{s:f,s:[i,i]}", "stable_rank", 3.5, "per_expert", 1, 2);
    CHECK(mint_profile_save(&p, path, &err) == 0);
    doc = mint_profile_to_json(&p);
    want = mint_json_text(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    got = mint_read_file(path, &len, &err);
    CHECK(want && got && !strcmp(want, got));
    CHECK(mint_profile_load(&q, path, &err) == 0 && q.n == 5);
    CHECK_STR(q.t[4].name, "model.layers.1.self_attn.q_proj.weight");
    CHECK(q.t[0].features && json_is_array(json_object_get(q.t[0].features, "per_expert")));
    mint_profile_release(&q);
    /* indented, and with "tensors" first */
    t2 = mint_json_text(doc, JSON_INDENT(3) | JSON_REAL_PRECISION(17));
    CHECK(write_text(path, t2) == 0);
    CHECK(mint_profile_load(&q, path, &err) == 0 && q.n == 5 && isinf(q.t[3].prior));
    mint_profile_release(&q);
    free(t2);
    /* broken inputs are reported, never crash */
    {
        const char *bad[] = {"", "{", "{\"tensors\":[", "{\"tensors\":[{}]}", "[]",
                             "{\"schema\":1,\"model\":{\"num_layers\":1},\"tensors\":[1,]}",
                             "{\"schema\":1,\"model\":{\"num_layers\":1},\"tensors\":{}}",
                             "{\"schema\":1,\"tensors\":[],\"model\":{\"num_layers\":1}} x"};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            CHECK(write_text(path, bad[i]) == 0);
            err.msg[0] = 0;
            CHECK_MSG(mint_profile_load(&q, path, &err) < 0 && err.msg[0], "case %zu", i);
        }
        CHECK(write_text(path, "{\"schema\":1,\"tensors\":[],\"model\":{\"num_layers\":1}}") == 0);
        CHECK(mint_profile_load(&q, path, &err) == 0 && q.n == 0);
        mint_profile_release(&q);
    }
    unlink(path);
    free(want);
    free(got);
    json_decref(doc);
    mint_profile_release(&p);
}

int main(void)
{
    test_keys();
    test_groups();
    test_roundtrip();
    test_save_load();
    return CHECK_DONE();
}
