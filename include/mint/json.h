/* json.h - jansson with the project's conventions.
 *
 * Loading rejects duplicate keys.  Writing is canonical (sorted keys, 1-space indent, 17-digit
 * reals, trailing newline) so the same document gives the same bytes, and goes through
 * mint_write_file (atomic, write-if-changed).  Getters fill struct mint_err naming the key. */
#ifndef MINT_JSON_H
#define MINT_JSON_H

#include <jansson.h>
#include <stdint.h>

struct mint_err;

#define MINT_JSON_FLAGS (JSON_SORT_KEYS | JSON_INDENT(1) | JSON_REAL_PRECISION(17))

json_t *mint_json_load(const char *path, struct mint_err *err);
json_t *mint_json_loadb(const char *buf, size_t len, const char *what, struct mint_err *err);
/* Canonical text (malloc'd, newline-terminated). */
char *mint_json_text(const json_t *doc, size_t flags);
int mint_json_write(const char *path, const json_t *doc, struct mint_err *err);

/* Typed getters on an object; 'what' names the document in error messages. */
int mint_json_get_int(const json_t *obj, const char *key, int64_t *out, const char *what,
                      struct mint_err *err);
int mint_json_get_real(const json_t *obj, const char *key, double *out, const char *what,
                       struct mint_err *err);
const char *mint_json_get_str(const json_t *obj, const char *key, const char *what,
                              struct mint_err *err);
/* A real that may be stored as an integer or a real. */
double mint_json_number(const json_t *v);

#endif
