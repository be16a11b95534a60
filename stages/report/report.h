/* report.h - internals of mint-report: a small SVG writer and the PPL(B) curve fit.
 *
 * SVG: a growing text buffer; numbers are printed with fixed decimals so the same input gives
 * the same bytes.  Fit: PPL(B) = a + b / (B - B0)^c by least squares, B0 on a grid below the
 * smallest B, c by grid + golden-section search, (a, b) solved exactly (linear least squares)
 * for each (B0, c) -- variable projection, so no starting values are needed. */
#ifndef MINT_REPORT_H
#define MINT_REPORT_H

#include <stddef.h>

struct svg {
    char *p;
    size_t n, cap;
    int oom;
};

void svg_printf(struct svg *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* XML-escaped text */
void svg_text(struct svg *s, double x, double y, const char *anchor, int size, const char *attrs,
              const char *text);
/* marker shape k (circle, square, triangle, diamond, down-triangle, cross) at (x, y) */
void svg_marker(struct svg *s, int k, double x, double y, const char *color);

struct fit {
    int ok;
    int n;
    double a, b, c, b0, rmse;
};

/* x (n) sizes, y (n) perplexities; needs n >= 3 and distinct sizes. */
struct fit fit_curve(const double *x, const double *y, int n);
double fit_eval(const struct fit *f, double x);

/* "Nice" ticks (1, 2, 5 x 10^k) covering [lo, hi]; returns the count (<= max). */
int nice_ticks(double lo, double hi, int target, double *out, int max);

#endif
