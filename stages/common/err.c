#include "mint/err.h"

#include <stdarg.h>
#include <string.h>

static int vset(struct mint_err *err, int code, const char *fmt, va_list ap)
{
    if (!err)
        return -1;
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return -1;
}

int mint_err_set(struct mint_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(err, MINT_EXIT_INPUT, fmt, ap);
    va_end(ap);
    return -1;
}

int mint_err_setc(struct mint_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(err, code, fmt, ap);
    va_end(ap);
    return -1;
}

int mint_err_prefix(struct mint_err *err, const char *fmt, ...)
{
    char pre[512], old[sizeof err->msg];
    va_list ap;
    if (!err)
        return -1;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%.500s: %.500s", pre, old);
    if (!err->code)
        err->code = MINT_EXIT_INPUT;
    return -1;
}

int mint_err_report(const char *stage, const struct mint_err *err)
{
    /* one line whatever the message holds: names from input files may contain control
     * characters, printed as \xNN */
    const char *m = err->msg[0] ? err->msg : "unknown error";
    fprintf(stderr, "%s: ", stage);
    for (; *m; m++) {
        unsigned char c = (unsigned char)*m;
        if (c < 0x20 || c == 0x7f)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
    fputc('\n', stderr);
    return err->code ? err->code : MINT_EXIT_INPUT;
}
