#include "mint/json.h"

#include <string.h>

#include "mint/err.h"
#include "mint/io.h"

json_t *mint_json_loadb(const char *buf, size_t len, const char *what, struct mint_err *err)
{
    json_error_t je;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!j)
        mint_err_set(err, "%s:%d:%d: %s", what, je.line, je.column, je.text);
    return j;
}

json_t *mint_json_load(const char *path, struct mint_err *err)
{
    size_t len;
    char *buf = mint_read_file(path, &len, err);
    json_t *j;
    if (!buf)
        return NULL;
    j = mint_json_loadb(buf, len, path, err);
    free(buf);
    return j;
}

char *mint_json_text(const json_t *doc, size_t flags)
{
    char *t = json_dumps(doc, flags);
    size_t n;
    char *r;
    if (!t)
        return NULL;
    n = strlen(t);
    r = realloc(t, n + 2);
    if (!r) {
        free(t);
        return NULL;
    }
    r[n] = '\n';
    r[n + 1] = 0;
    return r;
}

int mint_json_write(const char *path, const json_t *doc, struct mint_err *err)
{
    char *t = mint_json_text(doc, MINT_JSON_FLAGS);
    int rc;
    if (!t)
        return mint_err_setc(err, MINT_EXIT_IO, "%s: cannot serialise", path);
    rc = mint_write_file(path, t, strlen(t), err);
    free(t);
    return rc;
}

int mint_json_get_int(const json_t *obj, const char *key, int64_t *out, const char *what,
                      struct mint_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v))
        return mint_err_set(err, "%s: '%s': expected an integer", what, key);
    *out = json_integer_value(v);
    return 0;
}

int mint_json_get_real(const json_t *obj, const char *key, double *out, const char *what,
                       struct mint_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_number(v))
        return mint_err_set(err, "%s: '%s': expected a number", what, key);
    *out = json_number_value(v);
    return 0;
}

const char *mint_json_get_str(const json_t *obj, const char *key, const char *what,
                              struct mint_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) {
        mint_err_set(err, "%s: '%s': expected a string", what, key);
        return NULL;
    }
    return json_string_value(v);
}

double mint_json_number(const json_t *v)
{
    return json_number_value(v);
}
