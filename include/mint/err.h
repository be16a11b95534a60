/* err.h - expected failures travel as records, not prints.
 *
 * Library code never prints or exits: it fills a caller-owned struct mint_err and returns -1
 * (or NULL).  Only a stage's main() prints "mint-<stage>: <msg>" and exits with err.code.
 * Exit codes: 1 bad input, 2 usage, 3 I/O, 4 numerical.  Defects use MINT_ASSERT (aborts). */
#ifndef MINT_ERR_H
#define MINT_ERR_H

#include <stdio.h>
#include <stdlib.h>

enum {
    MINT_EXIT_INPUT = 1,
    MINT_EXIT_USAGE = 2,
    MINT_EXIT_IO = 3,
    MINT_EXIT_NUMERIC = 4,
};

struct mint_err {
    int code;       /* exit code to use; 0 means "not set" (treated as 1) */
    char msg[1024];
};

/* Record a message (printf-style) with code MINT_EXIT_INPUT; always returns -1. */
int mint_err_set(struct mint_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Same with an explicit exit code; always returns -1. */
int mint_err_setc(struct mint_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepend "prefix: " to an existing message; always returns -1. */
int mint_err_prefix(struct mint_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* main() helper: print "mint-<stage>: <msg>" on stderr, return the exit code. */
int mint_err_report(const char *stage, const struct mint_err *err);

/* Defects only, never bad input: prints file:line and aborts, in release builds too. */
#define MINT_ASSERT(c)                                                                      \
    do {                                                                                    \
        if (!(c)) {                                                                         \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #c);       \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

#endif
