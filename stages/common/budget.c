#include "mint/budget.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/err.h"

static int lower_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

/* floor(digits * mul / 10^frac / div) into *out (<= INT64_MAX).  digits: decimal string of any
 * length; per-digit products and carries stay below 10 * mul, well inside 128 bits. */
static int dec_mul_floor(const char *digits, int frac, uint64_t mul, uint64_t div, uint64_t *out)
{
    size_t n = strlen(digits), cap = n + 48, len = 0, keep;
    unsigned char *p = malloc(cap); /* product digits, least significant first */
    unsigned __int128 carry = 0, v = 0;
    const unsigned __int128 lim = (unsigned __int128)INT64_MAX * div + (div - 1);

    if (!p)
        return -1;
    for (size_t i = n; i-- > 0;) {
        unsigned __int128 t = (unsigned __int128)(digits[i] - '0') * mul + carry;
        p[len++] = (unsigned char)(t % 10);
        carry = t / 10;
    }
    while (carry) {
        p[len++] = (unsigned char)(carry % 10);
        carry /= 10;
    }
    keep = len > (size_t)frac ? len - (size_t)frac : 0;
    for (size_t i = keep; i-- > 0;) {
        v = v * 10 + p[frac + i];
        if (v > lim) {
            free(p);
            return 1; /* overflow */
        }
    }
    free(p);
    *out = (uint64_t)(v / div);
    return 0;
}

struct unit {
    const char *name;
    uint64_t mul;
};

static const struct unit units[] = {
    {"", 1}, {"b", 1},
    {"k", 1ull << 10}, {"m", 1ull << 20}, {"g", 1ull << 30}, {"t", 1ull << 40},
    {"kib", 1ull << 10}, {"mib", 1ull << 20}, {"gib", 1ull << 30}, {"tib", 1ull << 40},
    {"kb", 1000ull}, {"mb", 1000000ull}, {"gb", 1000000000ull}, {"tb", 1000000000000ull},
};

/* Split "<digits>[.<digits>]<rest>": digits (without the dot) into d, count after the dot. */
static int split_number(const char *s, char *d, size_t cap, int *frac, const char **rest)
{
    size_t n = 0;
    const char *p = s;
    *frac = 0;
    if (!isdigit((unsigned char)*p))
        return -1;
    while (isdigit((unsigned char)*p)) {
        if (n + 1 >= cap)
            return -1;
        d[n++] = *p++;
    }
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p)) {
            if (n + 1 >= cap)
                return -1;
            d[n++] = *p++;
            (*frac)++;
        }
    }
    d[n] = 0;
    *rest = p;
    return 0;
}

static int parse_common(const char *s, const char *what, struct mint_budget *b, int allow_special,
                        struct mint_err *err)
{
    const char *rest;
    char d[MINT_BUDGET_MAX_TEXT];
    int frac;

    memset(b, 0, sizeof *b);
    if (!s || !*s)
        return mint_err_setc(err, MINT_EXIT_USAGE, "%s '': empty", what);
    if (strlen(s) >= MINT_BUDGET_MAX_TEXT)
        return mint_err_setc(err, MINT_EXIT_USAGE, "%s '%.40s...': too long", what, s);
    strcpy(b->text, s);
    if (allow_special && lower_eq(s, "min")) {
        b->kind = MINT_BUDGET_MIN;
        return 0;
    }
    if (split_number(s, d, sizeof d, &frac, &rest) < 0)
        return mint_err_setc(err, MINT_EXIT_USAGE,
                             "%s '%s': not a number (digits with an optional .digits, no sign)",
                             what, s);
    if (allow_special && lower_eq(rest, "bpw")) {
        b->kind = MINT_BUDGET_BPW;
        strcpy(b->digits, d);
        b->frac = frac;
        return 0;
    }
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (!lower_eq(rest, units[i].name))
            continue;
        int rc = dec_mul_floor(d, frac, units[i].mul, 1, &b->bytes);
        if (rc < 0)
            return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
        if (rc > 0)
            return mint_err_setc(err, MINT_EXIT_USAGE, "%s '%s': exceeds 2^63-1 bytes", what,
                                 s);
        b->kind = MINT_BUDGET_BYTES;
        return 0;
    }
    return mint_err_setc(err, MINT_EXIT_USAGE,
                         "%s '%s': unknown unit '%s' (use B, K/M/G/T, KiB/MiB/GiB/TiB, "
                         "KB/MB/GB/TB%s)",
                         what, s, rest, allow_special ? ", bpw or min" : "");
}

int mint_budget_parse(const char *s, struct mint_budget *b, struct mint_err *err)
{
    return parse_common(s, "budget", b, 1, err);
}

int mint_size_parse(const char *s, const char *what, uint64_t *out, struct mint_err *err)
{
    struct mint_budget b;
    if (parse_common(s, what, &b, 0, err) < 0)
        return -1;
    *out = b.bytes;
    return 0;
}

int mint_budget_bpw_bytes(const struct mint_budget *b, uint64_t n_params, uint64_t *out,
                          struct mint_err *err)
{
    int rc;
    MINT_ASSERT(b->kind == MINT_BUDGET_BPW);
    rc = dec_mul_floor(b->digits, b->frac, n_params, 8, out);
    if (rc < 0)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    if (rc > 0)
        return mint_err_setc(err, MINT_EXIT_USAGE, "budget '%s': exceeds 2^63-1 bytes",
                             b->text);
    return 0;
}

void mint_budget_human(uint64_t bytes, char *out, size_t cap)
{
    static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int i = 0;
    while (i < 6 && bytes >= (1ull << (10 * (i + 1))))
        i++;
    snprintf(out, cap, "%.2f %s", (double)bytes / (double)(1ull << (10 * i)), u[i]);
}

uint64_t mint_budget_shard_reserve(uint64_t budget, uint64_t shard_size)
{
    unsigned __int128 num = (unsigned __int128)2 * MINT_BUDGET_SHARD_OVERHEAD * budget, v;
    if (shard_size == 0)
        shard_size = 1;
    v = 3 * MINT_BUDGET_SHARD_OVERHEAD + (num + shard_size - 1) / shard_size;
    return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

int mint_budget_least(uint64_t base, uint64_t q, uint64_t shard_size, uint64_t *out)
{
    uint64_t B = 0;
    for (;;) {
        unsigned __int128 nb = (unsigned __int128)base + q +
                               mint_budget_shard_reserve(B, shard_size);
        if (nb > INT64_MAX)
            return -1;
        if (nb <= B)
            break;
        B = (uint64_t)nb; /* increasing, converges: the reserve grows by < 1 per byte */
    }
    *out = B;
    return 0;
}

int mint_budget_below_min(struct mint_err *err, uint64_t budget, uint64_t minimum)
{
    char a[32], b[32];
    mint_budget_human(budget, a, sizeof a);
    mint_budget_human(minimum, b, sizeof b);
    return mint_err_set(err,
                        "budget %s (%llu bytes) is below the minimum %s (%llu bytes) (every "
                        "tensor at its lowest allowed configuration)",
                        a, (unsigned long long)budget, b, (unsigned long long)minimum);
}

uint64_t mint_budget_entry_len(const char *name, const char *dtype, int ndim,
                               const int64_t *shape)
{
    /* ,"<name>":{"data_offsets":[<20>,<20>],"dtype":"<dt>","shape":[...]} */
    json_t *s = json_string(name);
    char *q = s ? json_dumps(s, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    uint64_t len = q ? strlen(q) : 2 + 6 * strlen(name); /* worst-case escaping if no memory */
    char buf[32];

    free(q);
    json_decref(s);
    len += 1;                                               /* leading comma */
    len += strlen(":{\"data_offsets\":[") + 2 * MINT_BUDGET_OFFSET_DIGITS + 1 + strlen("],");
    len += strlen("\"dtype\":\"") + strlen(dtype) + strlen("\",");
    len += strlen("\"shape\":[") + strlen("]}");
    for (int d = 0; d < ndim; d++)
        len += (uint64_t)snprintf(buf, sizeof buf, "%lld", (long long)shape[d]) + (d > 0);
    return len;
}
