#include "mint/hash.h"

#include <stdio.h>
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
