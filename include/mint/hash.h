/* hash.h - XXH3-128 digests in canonical form (32 lowercase hex digits, big-endian).
 *
 * XXH3 output is frozen since xxHash 0.8.0, so digests may name files and be compared across
 * machines.  Streaming state is heap-allocated by xxHash; pair _init with _release. */
#ifndef MINT_HASH_H
#define MINT_HASH_H

#include <stddef.h>
#include <stdint.h>

#define MINT_HASH_HEX 33 /* 32 digits + NUL */

struct mint_hasher {
    void *state; /* XXH3_state_t */
};

int  mint_hasher_init(struct mint_hasher *h);
void mint_hasher_update(struct mint_hasher *h, const void *p, size_t n);
/* Feed a NUL-terminated string including its NUL (domain separation between fields). */
void mint_hasher_str(struct mint_hasher *h, const char *s);
void mint_hasher_hex(struct mint_hasher *h, char out[MINT_HASH_HEX]);
void mint_hasher_release(struct mint_hasher *h);

/* One-shot digest of a buffer. */
void mint_hash_hex(const void *p, size_t n, char out[MINT_HASH_HEX]);
/* 64-bit XXH3 of a buffer with a seed (PRNG seeding). */
uint64_t mint_hash64(const void *p, size_t n, uint64_t seed);

/* Hex text of a string's bytes, two lowercase digits each (malloc'd; NULL out of memory).
 * This is how tensor names travel through make and the shell: the digits are safe in a make
 * file and on a command line by construction, whatever bytes the name holds. */
char *mint_hex_encode(const char *s);
/* The inverse (malloc'd, NUL-terminated); NULL when hex is empty, of odd length, holds
 * anything but [0-9a-f] or decodes to a NUL byte (errno EINVAL), or out of memory (ENOMEM). */
char *mint_hex_decode(const char *hex);

#endif
