#include "mint/hash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

int mint_hasher_init(struct mint_hasher *h)
{
    h->state = XXH3_createState();
    if (!h->state)
        return -1;
    XXH3_128bits_reset((XXH3_state_t *)h->state);
    return 0;
}

void mint_hasher_update(struct mint_hasher *h, const void *p, size_t n)
{
    XXH3_128bits_update((XXH3_state_t *)h->state, p, n);
}

void mint_hasher_str(struct mint_hasher *h, const char *s)
{
    mint_hasher_update(h, s, strlen(s) + 1);
}

static void to_hex(XXH128_hash_t d, char out[MINT_HASH_HEX])
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, d);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", c.digest[i]);
}

void mint_hasher_hex(struct mint_hasher *h, char out[MINT_HASH_HEX])
{
    to_hex(XXH3_128bits_digest((XXH3_state_t *)h->state), out);
}

void mint_hasher_release(struct mint_hasher *h)
{
    if (h->state)
        XXH3_freeState((XXH3_state_t *)h->state);
    h->state = NULL;
}

void mint_hash_hex(const void *p, size_t n, char out[MINT_HASH_HEX])
{
    to_hex(XXH3_128bits(p, n), out);
}

uint64_t mint_hash64(const void *p, size_t n, uint64_t seed)
{
    return XXH3_64bits_withSeed(p, n, seed);
}

char *mint_hex_encode(const char *s)
{
    static const char dig[] = "0123456789abcdef";
    size_t n = strlen(s);
    char *h = malloc(2 * n + 1);
    if (!h)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        h[2 * i] = dig[(unsigned char)s[i] >> 4];
        h[2 * i + 1] = dig[(unsigned char)s[i] & 15];
    }
    h[2 * n] = 0;
    return h;
}

static int nibble(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *mint_hex_decode(const char *hex)
{
    size_t n = strlen(hex);
    char *s;
    if (n == 0 || n % 2) {
        errno = EINVAL;
        return NULL;
    }
    if (!(s = malloc(n / 2 + 1))) {
        errno = ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < n / 2; i++) {
        int a = nibble(hex[2 * i]), b = nibble(hex[2 * i + 1]);
        if (a < 0 || b < 0 || (a | b) == 0) {
            free(s);
            errno = EINVAL;
            return NULL;
        }
        s[i] = (char)(a << 4 | b);
    }
    s[n / 2] = 0;
    return s;
}
