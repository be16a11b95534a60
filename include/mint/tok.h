/* tok.h - a Hugging Face tokenizer.json reader and BPE tokenizer (encode and decode).
 *
 * Supported: model BPE (rank-ordered merges, byte_fallback, unk + fuse_unk, ignore_merges);
 * normalizers Prepend / Replace (plain string) / NFC (taken as identity: input assumed NFC) in a
 * Sequence; pre-tokenizers none, Metaspace, ByteLevel (GPT-2 regex), and Split(Llama-3 or Qwen2
 * regex) + ByteLevel; decoders Replace / ByteFallback / Fuse / Strip / Metaspace / ByteLevel;
 * added tokens matched leftmost-longest on the raw text.  The pre-tokenizer regexes are run by
 * hand-written scanners with approximate Unicode classes (see tok.c).  encode() never adds BOS;
 * mint_tok_bos() is the id the post-processor would prepend (-1 if none).  Anything else is
 * refused at load time with a message naming the unsupported component. */
#ifndef MINT_TOK_H
#define MINT_TOK_H

#include <stddef.h>
#include <stdint.h>

struct mint_err;
struct mint_tok; /* opaque; immutable after load, so one tokenizer may serve many threads */

struct mint_tok *mint_tok_load(const char *path, struct mint_err *err);
void mint_tok_free(struct mint_tok *t);

/* Token ids of text[0..len) (no BOS/EOS); *ids is malloc'd, (*n) entries. */
int mint_tok_encode(const struct mint_tok *t, const char *text, size_t len, int32_t **ids,
                    size_t *n, struct mint_err *err);
/* Text of ids (special tokens included as their content); malloc'd, NUL-terminated. */
char *mint_tok_decode(const struct mint_tok *t, const int32_t *ids, size_t n, size_t *len,
                      struct mint_err *err);

int32_t mint_tok_bos(const struct mint_tok *t);     /* -1 when the tokenizer adds none */
int32_t mint_tok_unk(const struct mint_tok *t);     /* -1 when there is no unk token */
int32_t mint_tok_n_ids(const struct mint_tok *t);   /* largest id + 1 */
const char *mint_tok_piece(const struct mint_tok *t, int32_t id); /* NULL if unused id */

#endif
