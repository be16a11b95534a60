/* svg.c - the few SVG primitives mint-report draws with (see report.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

void svg_printf(struct svg *s, const char *fmt, ...)
{
    va_list ap;
    int k;
    if (s->oom)
        return;
    for (;;) {
        va_start(ap, fmt);
        k = vsnprintf(s->p ? s->p + s->n : NULL, s->p ? s->cap - s->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            s->oom = 1;
            return;
        }
        if (s->p && s->n + (size_t)k < s->cap) {
            s->n += (size_t)k;
            return;
        }
        size_t nc = s->cap ? s->cap * 2 : 8192;
        while (nc <= s->n + (size_t)k)
            nc *= 2;
        char *np = realloc(s->p, nc);
        if (!np) {
            s->oom = 1;
            return;
        }
        s->p = np;
        s->cap = nc;
    }
}

void svg_text(struct svg *s, double x, double y, const char *anchor, int size, const char *attrs,
              const char *text)
{
    svg_printf(s, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\"%s%s>", x, y,
               anchor, size, attrs ? " " : "", attrs ? attrs : "");
    for (const char *c = text; *c; c++) {
        switch (*c) {
        case '&': svg_printf(s, "&amp;"); break;
        case '<': svg_printf(s, "&lt;"); break;
        case '>': svg_printf(s, "&gt;"); break;
        case '"': svg_printf(s, "&quot;"); break;
        default: svg_printf(s, "%c", *c);
        }
    }
    svg_printf(s, "</text>\n");
}

void svg_marker(struct svg *s, int k, double x, double y, const char *color)
{
    const double r = 4.5;
    switch (k % 6) {
    case 0:
        svg_printf(s, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\"/>\n", x, y, r,
                   color);
        break;
    case 1:
        svg_printf(s, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
                   x - r, y - r, 2 * r, 2 * r, color);
        break;
    case 2:
        svg_printf(s, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"%s\"/>\n", x,
                   y - r * 1.2, x + r * 1.1, y + r * 0.8, x - r * 1.1, y + r * 0.8, color);
        break;
    case 3:
        svg_printf(s, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"%s\"/>\n",
                   x, y - r * 1.3, x + r * 1.3, y, x, y + r * 1.3, x - r * 1.3, y, color);
        break;
    case 4:
        svg_printf(s, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"%s\"/>\n", x,
                   y + r * 1.2, x + r * 1.1, y - r * 0.8, x - r * 1.1, y - r * 0.8, color);
        break;
    default:
        svg_printf(s,
                   "<path d=\"M%.1f,%.1f L%.1f,%.1f M%.1f,%.1f L%.1f,%.1f\" stroke=\"%s\" "
                   "stroke-width=\"2.5\"/>\n",
                   x - r, y - r, x + r, y + r, x - r, y + r, x + r, y - r, color);
    }
}
