/* fit.c - PPL(B) = a + b / (B - B0)^c (see report.h), all in double.
 *
 * For fixed (B0, c) the model is linear in (a, b): with u_i = (B_i - B0)^-c, the least-squares
 * (a, b) solve the 2x2 normal equations exactly.  c runs over a log grid in [0.01, 20], then a
 * golden-section refinement around the best grid point; B0 runs over a grid below the smallest
 * size: B0 = Bmin - d, d = Bmin * 10^-t for t in [0, 4] (i.e. from 0 up to just below Bmin),
 * and also the same grid continued to negative B0 (d up to 2 * Bmin); the best grid point is
 * then refined by golden section between its neighbours.  The best residual sum wins (ties:
 * the first found, so results are deterministic).  RMSE = sqrt(RSS / n). */
#include <math.h>

#include "report.h"

static double rss_for(const double *x, const double *y, int n, double b0, double c, double *a,
                      double *b)
{
    double su = 0, suu = 0, sy = 0, suy = 0, r = 0;
    for (int i = 0; i < n; i++) {
        double u = pow(x[i] - b0, -c);
        su += u;
        suu += u * u;
        sy += y[i];
        suy += u * y[i];
    }
    double det = n * suu - su * su;
    if (!(fabs(det) > 1e-300 * (suu > 1 ? suu : 1)) || !isfinite(det)) {
        *a = sy / n;
        *b = 0;
    } else {
        *b = (n * suy - su * sy) / det;
        *a = (sy - *b * su) / n;
    }
    for (int i = 0; i < n; i++) {
        double e = y[i] - (*a + *b * pow(x[i] - b0, -c));
        r += e * e;
    }
    return isfinite(r) ? r : INFINITY;
}

static double best_c(const double *x, const double *y, int n, double b0, double *c_out,
                     double *a, double *b)
{
    enum { NC = 60 };
    double bc = 1, br = INFINITY;
    int bi = 0;
    for (int i = 0; i < NC; i++) {
        double c = 0.01 * pow(2000.0, (double)i / (NC - 1)), ta, tb;
        double r = rss_for(x, y, n, b0, c, &ta, &tb);
        if (r < br) {
            br = r;
            bc = c;
            bi = i;
        }
    }
    /* golden section on log c between the neighbours of the best grid point */
    double lo = log(0.01 * pow(2000.0, (double)(bi > 0 ? bi - 1 : 0) / (NC - 1)));
    double hi = log(0.01 * pow(2000.0, (double)(bi < NC - 1 ? bi + 1 : NC - 1) / (NC - 1)));
    const double g = 0.6180339887498949;
    double p = hi - g * (hi - lo), q = lo + g * (hi - lo), ta, tb;
    double rp = rss_for(x, y, n, b0, exp(p), &ta, &tb), rq = rss_for(x, y, n, b0, exp(q), &ta, &tb);
    for (int it = 0; it < 60; it++) {
        if (rp < rq) {
            hi = q;
            q = p;
            rq = rp;
            p = hi - g * (hi - lo);
            rp = rss_for(x, y, n, b0, exp(p), &ta, &tb);
        } else {
            lo = p;
            p = q;
            rp = rq;
            q = lo + g * (hi - lo);
            rq = rss_for(x, y, n, b0, exp(q), &ta, &tb);
        }
    }
    double cm = exp(0.5 * (lo + hi));
    double rm = rss_for(x, y, n, b0, cm, &ta, &tb);
    if (rm < br) {
        br = rm;
        bc = cm;
    }
    *c_out = bc;
    rss_for(x, y, n, b0, bc, a, b);
    return br;
}

/* grid point k: k < nb: B0 = xmin - xmin * 10^(-4 + 4k/(nb-1)) (just below xmin down to 0);
 * then B0 = -xmin * (k - nb + 1) / 20 (down to -xmin) */
static double b0_at(double xmin, int k, int nb)
{
    double d = k < nb ? xmin * pow(10.0, -4.0 + 4.0 * k / (nb - 1))
                      : xmin * (1.0 + (double)(k - nb + 1) / 20.0);
    return xmin - d;
}

struct fit fit_curve(const double *x, const double *y, int n)
{
    struct fit f = {0};
    double xmin = INFINITY;
    f.n = n;
    if (n < 3)
        return f;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]) || x[i] <= 0)
            return f;
        xmin = x[i] < xmin ? x[i] : xmin;
    }
    double best = INFINITY;
    int bk = -1;
    enum { NB = 81, NNEG = 20 };
    for (int k = 0; k < NB + NNEG; k++) {
        double b0 = b0_at(xmin, k, NB), c, a, b;
        double r = best_c(x, y, n, b0, &c, &a, &b);
        if (r < best) {
            best = r;
            bk = k;
            f.a = a;
            f.b = b;
            f.c = c;
            f.b0 = b0;
            f.ok = 1;
        }
    }
    if (bk >= 0) {
        /* golden-section refinement of B0 between the neighbouring grid points */
        double lo = b0_at(xmin, bk + 1 < NB + NNEG ? bk + 1 : bk, NB);
        double hi = b0_at(xmin, bk > 0 ? bk - 1 : bk, NB);
        const double g = 0.6180339887498949;
        double ca, aa, ba;
        for (int it = 0; it < 50 && hi > lo; it++) {
            double p = hi - g * (hi - lo), q = lo + g * (hi - lo);
            double rp = best_c(x, y, n, p, &ca, &aa, &ba), rq = best_c(x, y, n, q, &ca, &aa, &ba);
            if (rp < rq)
                hi = q;
            else
                lo = p;
        }
        double b0 = 0.5 * (lo + hi), c, a, b;
        double r = b0 < xmin ? best_c(x, y, n, b0, &c, &a, &b) : INFINITY;
        if (r < best) {
            best = r;
            f.a = a;
            f.b = b;
            f.c = c;
            f.b0 = b0;
        }
    }
    f.rmse = f.ok ? sqrt(best / n) : NAN;
    return f;
}

double fit_eval(const struct fit *f, double x)
{
    return f->a + f->b * pow(x - f->b0, -f->c);
}

int nice_ticks(double lo, double hi, int target, double *out, int max)
{
    int n = 0;
    if (!(hi > lo) || target < 1)
        return 0;
    double raw = (hi - lo) / target, mag = pow(10.0, floor(log10(raw))), r = raw / mag;
    double step = (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
    for (double t = ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9 && n < max; t += step)
        out[n++] = fabs(t) < step * 1e-9 ? 0.0 : t;
    return n;
}
