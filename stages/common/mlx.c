#include "mint/mlx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

int mint_mlx_name(const char *hf, int tied, char *out, size_t cap, int64_t *expert)
{
    static const struct {
        const char *from, *to;
    } proj[] = {
        {"gate_proj", "gate_proj"}, {"up_proj", "up_proj"}, {"down_proj", "down_proj"},
        {"w1", "gate_proj"},        {"w2", "down_proj"},    {"w3", "up_proj"},
    };
    const char *p;

    *expert = -1;
    if (ends_with(hf, "rotary_emb.inv_freq"))
        return 0;
    if (tied && !strcmp(hf, "lm_head.weight"))
        return 0;
    p = strstr(hf, ".experts.");
    if (p && p[9] >= '0' && p[9] <= '9') {
        char *end;
        long long e = strtoll(p + 9, &end, 10);
        if (*end == '.') {
            const char *rest = end + 1; /* "<proj>.<suffix>" */
            for (size_t i = 0; i < sizeof proj / sizeof *proj; i++) {
                size_t n = strlen(proj[i].from);
                if (!strncmp(rest, proj[i].from, n) && rest[n] == '.') {
                    int len = snprintf(out, cap, "%.*s.switch_mlp.%s%s", (int)(p - hf), hf,
                                       proj[i].to, rest + n);
                    if (len < 0 || (size_t)len >= cap)
                        return -1;
                    *expert = e;
                    return 1;
                }
            }
        }
    }
    if (strlen(hf) >= cap)
        return -1;
    strcpy(out, hf);
    return 1;
}

void mint_mlx_module(const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (ends_with(name, ".weight"))
        n -= 7;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, name, n);
    out[n] = 0;
}
