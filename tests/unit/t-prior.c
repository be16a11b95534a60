/* t-prior: the prior presets, precedence, tied embeddings and user tables (algorithm.md §6.2). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "mint/err.h"
#include "mint/prior.h"

static double of(const struct mint_prior_table *t, enum mint_role r, int64_t layer, int ndim,
                 int tied)
{
    return mint_prior_of(t, r, layer, 5, ndim, tied);
}

static int parse(const char *text, struct mint_prior_table *t, struct mint_err *err)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    int rc;
    if (!j)
        return -2;
    rc = mint_prior_from_json(j, "test.json", t, err);
    json_decref(j);
    return rc;
}

int main(void)
{
    struct mint_prior_table soft, code, u;
    struct mint_err err = {0};

    CHECK(mint_prior_preset("soft", &soft) == 0);
    CHECK(mint_prior_preset("mint-code", &code) == 0);
    CHECK(mint_prior_preset("hard", &u) < 0);
    CHECK_STR(soft.name, "soft");
    CHECK_STR(code.name, "mint-code");

    /* soft (the articles' table) */
    CHECK(isinf(of(&soft, MINT_ROLE_NORM, 1, 1, 0)));
    CHECK(isinf(of(&soft, MINT_ROLE_NORM, 1, 2, 0)));   /* a 2-D norm is still a norm */
    CHECK(isinf(of(&soft, MINT_ROLE_ATTN_Q, 1, 1, 0))); /* any 1-D tensor (a bias) */
    CHECK(of(&soft, MINT_ROLE_EMBED, -1, 2, 0) == 10.0);
    CHECK(of(&soft, MINT_ROLE_LM_HEAD, -1, 2, 0) == 10.0);
    CHECK(of(&soft, MINT_ROLE_ROUTER, 2, 2, 0) == 8.0);
    CHECK(of(&soft, MINT_ROLE_ROUTER, 0, 2, 0) == 8.0); /* class beats first layer */
    CHECK(of(&soft, MINT_ROLE_VISION, -1, 2, 0) == 8.0);
    CHECK(of(&soft, MINT_ROLE_ATTN_Q, 0, 2, 0) == 3.0);
    CHECK(of(&soft, MINT_ROLE_EXPERT_DOWN, 0, 3, 0) == 3.0);
    CHECK(of(&soft, MINT_ROLE_MLP_UP, 4, 2, 0) == 2.0);
    CHECK(of(&soft, MINT_ROLE_MLP_UP, 2, 2, 0) == 1.0);
    CHECK(of(&soft, MINT_ROLE_OTHER, -1, 2, 0) == 1.0);
    /* one layer: first wins */
    CHECK(mint_prior_of(&soft, MINT_ROLE_ATTN_V, 0, 1, 2, 0) == 3.0);
    /* unknown layer count: no last layer */
    CHECK(mint_prior_of(&soft, MINT_ROLE_ATTN_V, 4, -1, 2, 0) == 1.0);

    /* mint-code (what MINT ships) */
    CHECK(isinf(of(&code, MINT_ROLE_EMBED, -1, 2, 0)));
    CHECK(isinf(of(&code, MINT_ROLE_LM_HEAD, -1, 2, 0)));
    CHECK(isinf(of(&code, MINT_ROLE_ROUTER, 3, 2, 0)));
    CHECK(of(&code, MINT_ROLE_VISION, -1, 2, 0) == 1.0);
    CHECK(of(&code, MINT_ROLE_ATTN_O, 0, 2, 0) == 3.0);
    CHECK(of(&code, MINT_ROLE_ATTN_O, 4, 2, 0) == 2.0);
    CHECK(of(&code, MINT_ROLE_ATTN_O, 3, 2, 0) == 1.0);

    /* user table: base, overrides, inf/null, roles; tied embedding takes max(embed, lm_head) */
    CHECK(parse("{\"base\":\"mint-code\",\"embed\":4,\"lm_head\":7.5,\"name\":\"mine\","
                "\"roles\":{\"attn_v\":1.5,\"expert_down\":\"inf\"},\"vision\":null}",
                &u, &err) == 0);
    CHECK_STR(u.name, "mine");
    CHECK(of(&u, MINT_ROLE_EMBED, -1, 2, 0) == 4.0);
    CHECK(of(&u, MINT_ROLE_EMBED, -1, 2, 1) == 7.5);
    CHECK(of(&u, MINT_ROLE_LM_HEAD, -1, 2, 0) == 7.5);
    CHECK(isinf(of(&u, MINT_ROLE_ROUTER, 2, 2, 0)));
    CHECK(isinf(of(&u, MINT_ROLE_VISION, -1, 2, 0)));
    CHECK(of(&u, MINT_ROLE_ATTN_V, 2, 2, 0) == 1.5);
    CHECK(of(&u, MINT_ROLE_ATTN_V, 0, 2, 0) == 3.0); /* layer priors first */
    CHECK(of(&u, MINT_ROLE_ATTN_K, 2, 2, 0) == 1.0);
    CHECK(isinf(of(&u, MINT_ROLE_EXPERT_DOWN, 2, 3, 0)));
    CHECK(parse("{\"embed\":5,\"lm_head\":\"inf\"}", &u, &err) == 0);
    CHECK(isinf(of(&u, MINT_ROLE_EMBED, -1, 2, 1)));
    CHECK(of(&u, MINT_ROLE_EMBED, -1, 2, 0) == 5.0);
    CHECK(of(&u, MINT_ROLE_ROUTER, 1, 2, 0) == 8.0); /* base soft */
    CHECK(parse("{\"default\":0}", &u, &err) == 0 && of(&u, MINT_ROLE_MLP_UP, 2, 2, 0) == 0);

    /* round trip */
    {
        json_t *j;
        struct mint_prior_table back;
        CHECK(parse("{\"base\":\"mint-code\",\"roles\":{\"attn_q\":2.5},\"first_layer\":4}", &u,
                    &err) == 0);
        j = mint_prior_to_json(&u);
        CHECK(mint_prior_from_json(j, "rt", &back, &err) == 0);
        CHECK(isinf(back.embed) && back.first_layer == 4 && back.role[MINT_ROLE_ATTN_Q] == 2.5);
        CHECK(isnan(back.role[MINT_ROLE_ATTN_K]));
        CHECK(json_is_string(json_object_get(j, "embed")));
        CHECK_STR(json_string_value(json_object_get(j, "embed")), "inf");
        json_decref(j);
    }

    /* errors name the problem */
    CHECK(parse("{\"embedd\":3}", &u, &err) < 0 && strstr(err.msg, "unknown key 'embedd'"));
    CHECK(parse("{\"embed\":-1}", &u, &err) < 0 && strstr(err.msg, "'embed': a prior is"));
    CHECK(parse("{\"embed\":\"big\"}", &u, &err) < 0 && strstr(err.msg, "'embed'"));
    CHECK(parse("{\"base\":\"hard\"}", &u, &err) < 0 && strstr(err.msg, "unknown base 'hard'"));
    CHECK(parse("{\"roles\":{\"embed\":3}}", &u, &err) < 0 &&
          strstr(err.msg, "'embed' is a class"));
    CHECK(parse("{\"roles\":{\"norm\":3}}", &u, &err) < 0 && strstr(err.msg, "norms are 16-bit"));
    CHECK(parse("{\"roles\":{\"attn_x\":3}}", &u, &err) < 0 &&
          strstr(err.msg, "unknown role 'attn_x'"));
    CHECK(parse("[1]", &u, &err) < 0 && strstr(err.msg, "must be a JSON object"));

    /* files */
    {
        char path[] = "/tmp/t-prior-XXXXXX";
        int fd = mkstemp(path);
        const char *text = "{\"router\": 2}\n";
        CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
        close(fd);
        CHECK(mint_prior_load(path, &u, &err) == 0);
        CHECK_STR(u.name, path);
        CHECK(u.router == 2 && u.embed == 10);
        unlink(path);
        CHECK(mint_prior_load("/nonexistent/p.json", &u, &err) < 0 &&
              strstr(err.msg, "priors '/nonexistent/p.json'"));
        CHECK(mint_prior_load("mint-code", &u, &err) == 0 && isinf(u.embed));
    }
    return CHECK_DONE();
}
