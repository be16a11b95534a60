/* t-tok: the tokenizer against reference tokenizations and hand-made vocabularies.
 *
 * 1. Both bundled models x both texts: the first 20,000 characters encode to exactly the
 *    reference ids (tests/data/reference/<model>.<text>.tokens.json, made by an independent BPE
 *    implementation that agrees with Hugging Face `tokenizers`).  The reference tokenized the
 *    20,000-character prefix itself, so all ids are compared, none skipped (a whole-file
 *    tokenization may differ in the last few ids, where the cut splits a word; that is why the
 *    whole files are checked separately by token count).
 * 2. Whole files: token counts equal full_file_tokens, and encoding takes well under a second.
 * 3. decode(encode(x)) == x (stories260K: byte fallback, always; TinyStories-656K: has no byte
 *    tokens, so unknown characters become <unk>; the decoded text must equal x with each
 *    <unk> standing for a non-empty run of x).
 * 4. The tests/data/tok fixtures: small hand-made tokenizers (GPT-2 ByteLevel, Llama-3 and Qwen2
 *    Split+ByteLevel, Metaspace with split) against ids produced once with the Hugging Face
 *    `tokenizers` library (tests/data/tok/README.md), plus round trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mint/err.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/tok.h"

#define ROOT "tests/data/"

static char *slurp(const char *path, size_t *len)
{
    struct mint_err err = {0};
    char *s = mint_read_file(path, len, &err);
    if (!s)
        fprintf(stderr, "%s\n", err.msg);
    return s;
}

/* byte length of the first n code points */
static size_t prefix_chars(const char *s, size_t len, size_t n)
{
    size_t i = 0;
    while (i < len && n) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        n--;
    }
    return i;
}

/* decode(encode(x)) == x, where each <unk> of y stands for a non-empty run of x */
static int roundtrip_ok(const char *x, size_t xn, const char *y, size_t yn, int has_unk)
{
    if (!has_unk)
        return xn == yn && !memcmp(x, y, xn);
    size_t xp = 0, yp = 0;
    int first = 1;
    while (yp <= yn) {
        const char *u = y + yp;
        const char *nx = NULL;
        for (size_t k = yp; k + 5 <= yn; k++)
            if (!memcmp(y + k, "<unk>", 5)) {
                nx = y + k;
                break;
            }
        size_t seg = nx ? (size_t)(nx - u) : yn - yp;
        if (first) {
            if (seg > xn || memcmp(x, u, seg))
                return 0;
            xp = seg;
        } else {
            /* skip at least one unknown character, then find the segment */
            size_t k = xp + 1;
            while (k + seg <= xn && memcmp(x + k, u, seg))
                k++;
            if (k + seg > xn)
                return 0;
            if (!nx && k + seg != xn) {
                /* the tail must end x */
                size_t t = xn - seg;
                if (t <= xp || memcmp(x + t, u, seg))
                    return 0;
                k = t;
            }
            xp = k + seg;
        }
        first = 0;
        if (!nx)
            break;
        yp = (size_t)(nx - y) + 5;
        if (yp == yn) { /* ends with <unk> */
            return xp < xn;
        }
    }
    return xp == xn;
}

static void check_reference(const char *model, const char *textname, const char *textpath)
{
    char path[512];
    struct mint_err err = {0};
    struct mint_tok *t;
    json_t *ref;
    size_t len, plen, n = 0;
    char *text;
    int32_t *ids = NULL;

    snprintf(path, sizeof path, ROOT "models/%s/tokenizer.json", model);
    t = mint_tok_load(path, &err);
    CHECK_MSG(t != NULL, "%s", err.msg);
    if (!t)
        return;
    CHECK(mint_tok_bos(t) == 1);
    CHECK(mint_tok_unk(t) == 0);
    snprintf(path, sizeof path, ROOT "reference/%s.%s.tokens.json", model, textname);
    ref = mint_json_load(path, &err);
    CHECK_MSG(ref != NULL, "%s", err.msg);
    text = slurp(textpath, &len);
    CHECK(text != NULL);
    if (!ref || !text)
        goto out;
    plen = prefix_chars(text, len, (size_t)json_integer_value(json_object_get(ref, "chars")));
    CHECK(mint_tok_encode(t, text, plen, &ids, &n, &err) == 0);
    {
        const json_t *rids = json_object_get(ref, "ids");
        size_t rn = json_array_size(rids), first_diff = SIZE_MAX;
        for (size_t i = 0; i < rn && i < n; i++)
            if (ids[i] != json_integer_value(json_array_get(rids, i))) {
                first_diff = i;
                break;
            }
        CHECK_MSG(n == rn && first_diff == SIZE_MAX, "%s %s: %zu ids vs %zu reference, first "
                  "difference at %zd", model, textname, n, rn,
                  first_diff == SIZE_MAX ? (ssize_t)-1 : (ssize_t)first_diff);
    }
    {
        size_t dl;
        int has_unk = 0;
        for (size_t i = 0; i < n; i++)
            has_unk |= ids[i] == mint_tok_unk(t);
        char *dec = mint_tok_decode(t, ids, n, &dl, &err);
        CHECK(dec != NULL);
        if (dec)
            CHECK_MSG(roundtrip_ok(text, plen, dec, dl, has_unk), "%s %s: round trip",
                      model, textname);
        if (!strcmp(model, "stories260K"))
            CHECK(!has_unk);
        free(dec);
    }
    free(ids);
    ids = NULL;
    {
        /* whole file */
        double t0 = mint_now();
        CHECK(mint_tok_encode(t, text, len, &ids, &n, &err) == 0);
        double dt = mint_now() - t0;
        int64_t want = json_integer_value(json_object_get(ref, "full_file_tokens"));
        CHECK_MSG((int64_t)n == want, "%s %s: %zu tokens, want %lld", model, textname, n,
                  (long long)want);
        printf("# %s %s: %zu bytes -> %zu tokens in %.3f s\n", model, textname, len, n, dt);
        CHECK_MSG(dt < 5.0, "tokenizing took %.2f s", dt); /* generous: sanitizer builds */
        size_t dl;
        int has_unk = 0;
        for (size_t i = 0; i < n; i++)
            has_unk |= ids[i] == mint_tok_unk(t);
        char *dec = mint_tok_decode(t, ids, n, &dl, &err);
        CHECK(dec != NULL);
        if (dec)
            CHECK_MSG(roundtrip_ok(text, len, dec, dl, has_unk), "%s %s: whole-file round trip",
                      model, textname);
        free(dec);
    }
out:
    free(ids);
    free(text);
    json_decref(ref);
    mint_tok_free(t);
}

/* tests/data/tok/<name>.json + <name>.expected.json: {"cases": [{"text", "ids"}], "bos"} */
static void check_fixture(const char *name)
{
    char path[512];
    struct mint_err err = {0};
    struct mint_tok *t;
    json_t *exp, *cases, *c;
    size_t i;

    snprintf(path, sizeof path, ROOT "tok/%s.json", name);
    t = mint_tok_load(path, &err);
    CHECK_MSG(t != NULL, "%s: %s", name, err.msg);
    snprintf(path, sizeof path, ROOT "tok/%s.expected.json", name);
    exp = mint_json_load(path, &err);
    CHECK_MSG(exp != NULL, "%s", err.msg);
    if (!t || !exp) {
        mint_tok_free(t);
        json_decref(exp);
        return;
    }
    CHECK_MSG(mint_tok_bos(t) == (int32_t)json_integer_value(json_object_get(exp, "bos")),
              "%s: bos %d", name, (int)mint_tok_bos(t));
    cases = json_object_get(exp, "cases");
    CHECK(json_array_size(cases) > 0);
    json_array_foreach(cases, i, c)
    {
        const json_t *jt = json_object_get(c, "text"), *jids = json_object_get(c, "ids");
        const char *s = json_string_value(jt);
        size_t sl = json_string_length(jt), n = 0, dl = 0;
        int32_t *ids = NULL;
        int ok = mint_tok_encode(t, s, sl, &ids, &n, &err) == 0;
        CHECK_MSG(ok, "%s: %s", name, err.msg);
        if (!ok)
            continue;
        int same = n == json_array_size(jids);
        for (size_t k = 0; same && k < n; k++)
            same = ids[k] == json_integer_value(json_array_get(jids, k));
        if (!same) {
            fprintf(stderr, "%s case %zu: got", name, i);
            for (size_t k = 0; k < n; k++)
                fprintf(stderr, " %d", (int)ids[k]);
            fprintf(stderr, "\n");
        }
        CHECK_MSG(same, "%s case %zu ids", name, i);
        if (json_is_false(json_object_get(c, "roundtrip"))) {
            free(ids);
            continue;
        }
        char *dec = mint_tok_decode(t, ids, n, &dl, &err);
        CHECK_MSG(dec && dl == sl && !memcmp(dec, s, sl), "%s case %zu round trip: '%s'", name,
                  i, dec ? dec : "(null)");
        free(dec);
        free(ids);
    }
    json_decref(exp);
    mint_tok_free(t);
}

static void check_errors(void)
{
    struct mint_err err = {0};
    struct mint_tok *t = mint_tok_load(ROOT "tok/does-not-exist.json", &err);
    CHECK(t == NULL && err.msg[0]);
    memset(&err, 0, sizeof err);
    t = mint_tok_load(ROOT "tok/bad-model.json", &err);
    CHECK(t == NULL && strstr(err.msg, "unsupported tokenizer model"));
    memset(&err, 0, sizeof err);
    t = mint_tok_load(ROOT "tok/bad-regex.json", &err);
    CHECK(t == NULL && strstr(err.msg, "unsupported Split regex"));
}

int main(void)
{
    static const char *models[] = {"stories260K", "tinystories-656k"};
    for (int m = 0; m < 2; m++) {
        check_reference(models[m], "tinystories",
                        ROOT "eval/tinystories/tinystories_v2_valid_sample.txt");
        check_reference(models[m], "wikitext2", ROOT "eval/wikitext-2-raw/wiki.test.raw");
    }
    check_fixture("bytelevel-gpt2");
    check_fixture("bytelevel-llama3");
    check_fixture("bytelevel-qwen2");
    check_fixture("metaspace");
    check_errors();
    return CHECK_DONE();
}
