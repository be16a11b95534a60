/* check.h - the small CHECK() helper shared by unit tests.
 *
 * A unit test is one file with a main() that calls CHECK()s and returns CHECK_DONE().  Each
 * failed check prints file:line and the expression; the exit status is non-zero if any failed.
 * The last stdout line is "checks: N passed, M failed" (read by tests/run.sh). */
#ifndef MINT_TEST_CHECK_H
#define MINT_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_pass_, check_fail_;

#define CHECK(c)                                                                            \
    do {                                                                                    \
        if (c)                                                                              \
            check_pass_++;                                                                  \
        else {                                                                              \
            check_fail_++;                                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);           \
        }                                                                                   \
    } while (0)

#define CHECK_MSG(c, ...)                                                                   \
    do {                                                                                    \
        if (c)                                                                              \
            check_pass_++;                                                                  \
        else {                                                                              \
            check_fail_++;                                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #c);           \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fputc('\n', stderr);                                                            \
        }                                                                                   \
    } while (0)

/* |a - b| <= tol */
#define CHECK_NEAR(a, b, tol)                                                               \
    CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol), "%.9g vs %.9g (tol %g)", (double)(a), \
              (double)(b), (double)(tol))

#define CHECK_STR(a, b) CHECK_MSG(strcmp((a), (b)) == 0, "'%s' vs '%s'", (a), (b))

#define CHECK_DONE()                                                                        \
    (printf("checks: %d passed, %d failed\n", check_pass_, check_fail_), check_fail_ ? 1 : 0)

#endif
