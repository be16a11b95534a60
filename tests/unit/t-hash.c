/* t-hash: XXH3-128 digests in canonical hex, against values computed independently with
 * xxhsum 0.8.1 (`xxh128sum`, `xxhsum -H3`), streaming == one-shot, field separation. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mint/hash.h"

/* bytes (i*7+3) mod 256, i = 0..n-1 */
static unsigned char *pattern(size_t n)
{
    unsigned char *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 7 + 3);
    return p;
}

int main(void)
{
    char hex[MINT_HASH_HEX], hex2[MINT_HASH_HEX];
    /* printf '' | xxh128sum; printf abc | xxh128sum; the pattern piped to xxh128sum */
    static const struct {
        size_t n;
        const char *want;
    } pat[] = {
        {16, "ce0b9647ab24f88460d75c5e47d40a24"},   {129, "293e4968c4619023bd91ce7ace4d385b"},
        {241, "ac6c3492c3d6b45d8beadd3a8874fe17"},  {1024, "18bc0eaca9a336369b81661c641c72b1"},
        {5000, "c98ae385d09887cc799aaddd7339581d"}, {100000, "d9e155dd16e141d00c056f6fcc340974"},
    };

    mint_hash_hex("", 0, hex);
    CHECK_STR(hex, "99aa06d3014798d86001c324468d497f");
    mint_hash_hex(NULL, 0, hex);
    CHECK_STR(hex, "99aa06d3014798d86001c324468d497f");
    mint_hash_hex("abc", 3, hex);
    CHECK_STR(hex, "06b05ab6733a618578af5f94892f3950");
    CHECK(strlen(hex) == 32);

    for (size_t k = 0; k < sizeof pat / sizeof *pat; k++) {
        unsigned char *p = pattern(pat[k].n);
        mint_hash_hex(p, pat[k].n, hex);
        CHECK_STR(hex, pat[k].want);
        /* streaming in uneven pieces gives the same digest */
        struct mint_hasher h;
        CHECK(mint_hasher_init(&h) == 0);
        size_t off = 0, step = 1;
        while (off < pat[k].n) {
            size_t len = step < pat[k].n - off ? step : pat[k].n - off;
            mint_hasher_update(&h, p + off, len);
            off += len;
            step = step * 3 + 1;
        }
        mint_hasher_hex(&h, hex2);
        mint_hasher_release(&h);
        CHECK_STR(hex2, pat[k].want);
        free(p);
    }

    /* a streaming hasher with no input is the empty digest; release twice is harmless */
    {
        struct mint_hasher h;
        CHECK(mint_hasher_init(&h) == 0);
        mint_hasher_hex(&h, hex);
        CHECK_STR(hex, "99aa06d3014798d86001c324468d497f");
        mint_hasher_release(&h);
        mint_hasher_release(&h);
    }

    /* mint_hasher_str feeds the NUL: ("ab","c") and ("a","bc") differ, and equal "ab\0c\0" */
    {
        struct mint_hasher h;
        char a[MINT_HASH_HEX], b[MINT_HASH_HEX], c[MINT_HASH_HEX];
        mint_hasher_init(&h);
        mint_hasher_str(&h, "ab");
        mint_hasher_str(&h, "c");
        mint_hasher_hex(&h, a);
        mint_hasher_release(&h);
        mint_hasher_init(&h);
        mint_hasher_str(&h, "a");
        mint_hasher_str(&h, "bc");
        mint_hasher_hex(&h, b);
        mint_hasher_release(&h);
        mint_hash_hex("ab\0c", 5, c);
        CHECK(strcmp(a, b) != 0);
        CHECK_STR(a, c);
    }

    /* XXH3-64 (xxhsum -H3) with seed 0; other seeds differ */
    CHECK(mint_hash64("", 0, 0) == 0x2d06800538d394c2ull);
    CHECK(mint_hash64("abc", 3, 0) == 0x78af5f94892f3950ull);
    {
        unsigned char *p = pattern(5000);
        CHECK(mint_hash64(p, 5000, 0) == 0x799aaddd7339581dull);
        CHECK(mint_hash64(p, 5000, 1) != mint_hash64(p, 5000, 0));
        CHECK(mint_hash64(p, 5000, 1) == mint_hash64(p, 5000, 1));
        free(p);
    }

    /* hex names: every byte round-trips, the text is [0-9a-f] only */
    {
        char all[256], *h, *d;
        for (int i = 1; i < 256; i++)
            all[i - 1] = (char)i;
        all[255] = 0;
        h = mint_hex_encode(all);
        CHECK(h && strlen(h) == 510 && strspn(h, "0123456789abcdef") == 510);
        CHECK(h && !strncmp(h, "0102", 4) && !strcmp(h + 506, "feff"));
        d = h ? mint_hex_decode(h) : NULL;
        CHECK(d && !strcmp(d, all));
        free(d);
        free(h);
        h = mint_hex_encode("a;b");
        CHECK_STR(h, "613b62");
        free(h);
        static const char *const bad[] = {"", "6", "616", "6G", "6A", "0061", "00", " 61", "61\n"};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            d = mint_hex_decode(bad[i]);
            CHECK_MSG(!d, "'%s' decoded", bad[i]);
            free(d);
        }
    }
    return CHECK_DONE();
}
