/* mint-report: tables, plots and curve fits from mint-eval results.
 *
 * usage: mint-report -o DIR [--list FILE] [RESULT.json ...] [-q]
 *
 * Inputs: mint-eval -o reports (or any JSON object with the same keys), given as arguments
 * and/or listed one path per line in --list FILE (blank lines and '#' comments skipped).
 * Required keys: "model", "text", "method" (strings), "model_bytes" (integer > 0), "ppl"
 * (number > 0); used when present: "median_window_ppl", "mean_nll", "tokens", "windows",
 * "n_params".  Two results with the same model, text, method and model_bytes are an error.
 *
 * Outputs (atomic, deterministic bytes; DIR is created):
 *   DIR/quality.csv   one row per result, sorted by model, text, method ("original" first),
 *                     bytes:
 *                     model,text,method,model_bytes,bits_per_param,ppl,median_window_ppl,
 *                     mean_nll,tokens,windows,file
 *   DIR/fits.csv      model,text,method,points,unit,a,b,c,b0,rmse for every method with >= 3
 *                     results of distinct sizes: PPL(B) = a + b / (B - B0)^c, B in `unit`
 *                     (MB = 10^6 bytes, or GB = 10^9 bytes when the largest model is >= 1 GB)
 *   DIR/quality.md    per (model, text): the plot, a table (bytes, bits/param, mean and
 *                     median PPL, change against the method "original" when present), fits
 *   DIR/quality-<model>-<text>.svg   bytes -> PPL, one line + marker set per method (sorted
 *                     by bytes), fitted curves dashed, axes with ticks and labels, legend;
 *                     log y axis when the largest PPL is > 4x the smallest.  Names keep
 *                     [A-Za-z0-9._-], other characters become '_'.
 * The fit (fit.c): least squares with B0 on a grid below the smallest size, (a, b) exact for
 * each (B0, c), c by grid + golden section.  With exactly 3 points the curve interpolates
 * them (RMSE ~ 0): it is reported, but it predicts nothing. */
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/err.h"
#include "mint/io.h"
#include "mint/json.h"
#include "report.h"

static const char usage[] = "usage: mint-report -o DIR [--list FILE] [RESULT.json ...] [-q]\n";

struct result {
    char *model, *text, *method, *file;
    double bytes, ppl, median, mean_nll;
    int64_t tokens, windows, n_params;
};

struct results {
    struct result *r;
    size_t n, cap;
};

static int cmp_result(const void *a, const void *b)
{
    const struct result *x = a, *y = b;
    int c = strcmp(x->model, y->model);
    if (!c)
        c = strcmp(x->text, y->text);
    if (!c) /* the method "original" first, then by name */
        c = strcmp(y->method, "original") == 0 ? (strcmp(x->method, "original") != 0)
            : strcmp(x->method, "original") == 0 ? -1
                                                  : strcmp(x->method, y->method);
    if (!c)
        c = x->bytes < y->bytes ? -1 : x->bytes > y->bytes;
    return c;
}

static int load_result(struct results *rs, const char *path, struct mint_err *err)
{
    json_t *d = mint_json_load(path, err), *v;
    struct result r = {0};
    const char *keys[3] = {"model", "text", "method"};
    char **dst[3] = {&r.model, &r.text, &r.method};
    if (!d)
        return -1;
    if (!json_is_object(d)) {
        json_decref(d);
        return mint_err_set(err, "%s: not a JSON object", path);
    }
    for (int k = 0; k < 3; k++) {
        v = json_object_get(d, keys[k]);
        if (!json_is_string(v) || !json_string_length(v)) {
            json_decref(d);
            return mint_err_set(err, "%s: missing string '%s'", path, keys[k]);
        }
        *dst[k] = strdup(json_string_value(v));
    }
    v = json_object_get(d, "model_bytes");
    if (!json_is_integer(v) || json_integer_value(v) <= 0) {
        mint_err_set(err, "%s: missing positive integer 'model_bytes'", path);
        goto fail;
    }
    r.bytes = (double)json_integer_value(v);
    v = json_object_get(d, "ppl");
    if (!json_is_number(v) || !(mint_json_number(v) > 0) || !isfinite(mint_json_number(v))) {
        mint_err_set(err, "%s: missing positive number 'ppl'", path);
        goto fail;
    }
    r.ppl = mint_json_number(v);
    v = json_object_get(d, "median_window_ppl");
    r.median = json_is_number(v) ? mint_json_number(v) : NAN;
    v = json_object_get(d, "mean_nll");
    r.mean_nll = json_is_number(v) ? mint_json_number(v) : NAN;
    r.tokens = json_is_integer(v = json_object_get(d, "tokens")) ? json_integer_value(v) : -1;
    r.windows = json_is_integer(v = json_object_get(d, "windows")) ? json_integer_value(v) : -1;
    r.n_params = json_is_integer(v = json_object_get(d, "n_params")) ? json_integer_value(v) : -1;
    r.file = strdup(path);
    if (rs->n == rs->cap) {
        size_t nc = rs->cap ? rs->cap * 2 : 16;
        struct result *nr = realloc(rs->r, nc * sizeof *nr);
        if (!nr) {
            mint_err_setc(err, MINT_EXIT_IO, "out of memory");
            goto fail;
        }
        rs->r = nr;
        rs->cap = nc;
    }
    rs->r[rs->n++] = r;
    json_decref(d);
    return 0;
fail:
    free(r.model);
    free(r.text);
    free(r.method);
    free(r.file);
    json_decref(d);
    return -1;
}

static int load_list(struct results *rs, const char *list, struct mint_err *err)
{
    size_t len;
    char *buf = mint_read_file(list, &len, err), *line, *save = NULL;
    if (!buf)
        return -1;
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t'))
            line[--l] = 0;
        while (*line == ' ' || *line == '\t')
            line++;
        if (!*line || *line == '#')
            continue;
        if (load_result(rs, line, err) < 0) {
            free(buf);
            return -1;
        }
    }
    free(buf);
    return 0;
}

/* ---------------------------------------------------------------- text helpers */

static void csv_field(struct svg *s, const char *f)
{
    if (strpbrk(f, ",\"\n\r")) {
        svg_printf(s, "\"");
        for (; *f; f++)
            svg_printf(s, *f == '"' ? "\"\"" : "%c", *f);
        svg_printf(s, "\"");
    } else {
        svg_printf(s, "%s", f);
    }
}

static void md_cell(struct svg *s, const char *f)
{
    for (; *f; f++)
        svg_printf(s, *f == '|' ? "\\|" : "%c", *f);
}

static void sanitize(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; *in && i + 1 < cap; in++) {
        char c = *in;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-' || c == '_';
        out[i++] = ok ? c : '_';
    }
    out[i] = 0;
}

/* %.6g, or "" for NaN */
static const char *num(char *b, size_t cap, double v)
{
    if (isnan(v))
        b[0] = 0;
    else
        snprintf(b, cap, "%.6g", v);
    return b;
}

/* ---------------------------------------------------------------- plot */

static const char *palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

struct plot {
    double x0, x1, y0, y1;           /* data range */
    double px0, px1, py0, py1;       /* pixel box: left, right, top, bottom */
    int logy;
};

static double px(const struct plot *p, double x)
{
    return p->px0 + (x - p->x0) / (p->x1 - p->x0) * (p->px1 - p->px0);
}

static double py(const struct plot *p, double y)
{
    double t = p->logy ? (log(y) - log(p->y0)) / (log(p->y1) - log(p->y0))
                       : (y - p->y0) / (p->y1 - p->y0);
    return p->py1 - t * (p->py1 - p->py0);
}

/* results [lo, hi) share model and text; methods are contiguous, sorted by bytes */
static void plot_group(struct svg *s, const struct result *r, size_t lo, size_t hi,
                       const struct fit *fits, double unit, const char *uname)
{
    const double W = 760, H = 470;
    struct plot p = {INFINITY, -INFINITY, INFINITY, -INFINITY, 80, 560, 50, 400, 0};
    double ticks[64];
    char label[256];
    int nt;

    for (size_t i = lo; i < hi; i++) {
        double x = r[i].bytes / unit;
        p.x0 = fmin(p.x0, x);
        p.x1 = fmax(p.x1, x);
        p.y0 = fmin(p.y0, r[i].ppl);
        p.y1 = fmax(p.y1, r[i].ppl);
    }
    p.logy = p.y1 > 4 * p.y0;
    {
        double dx = p.x1 - p.x0, dy = p.y1 - p.y0;
        if (!(dx > 0))
            dx = fmax(p.x0 * 0.2, 1e-3);
        p.x0 -= 0.06 * dx;
        p.x1 += 0.06 * dx;
        if (p.x0 < 0 && r[lo].bytes / unit >= 0)
            p.x0 = 0;
        if (p.logy) {
            p.y0 /= 1.15;
            p.y1 *= 1.15;
        } else {
            if (!(dy > 0))
                dy = fmax(p.y0 * 0.1, 1e-3);
            p.y0 -= 0.08 * dy;
            p.y1 += 0.08 * dy;
        }
    }
    svg_printf(s,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"Helvetica, Arial, sans-serif\">\n"
               "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n"
               "<defs><clipPath id=\"plotarea\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
               "height=\"%.1f\"/></clipPath></defs>\n",
               W, H, W, H, W, H, p.px0, p.py0, p.px1 - p.px0, p.py1 - p.py0);
    snprintf(label, sizeof label, "%s on %s: model size vs perplexity", r[lo].model, r[lo].text);
    /* centred on the whole figure; smaller type for long names so it stays inside */
    svg_text(s, W / 2, 28, "middle", strlen(label) > 72 ? 12 : strlen(label) > 60 ? 14 : 16,
             "font-weight=\"bold\"", label);

    /* grid, ticks and tick labels */
    nt = nice_ticks(p.x0, p.x1, 6, ticks, 64);
    for (int i = 0; i < nt; i++) {
        double x = px(&p, ticks[i]);
        char t[32];
        svg_printf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n",
                   x, p.py0, x, p.py1);
        svg_printf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
                   x, p.py1, x, p.py1 + 5);
        snprintf(t, sizeof t, "%g", ticks[i]);
        svg_text(s, x, p.py1 + 19, "middle", 12, NULL, t);
    }
    if (p.logy) {
        static const double steps[4] = {1, 2, 3, 5};
        int dense = log10(p.y1 / p.y0) <= 2.0; /* 1-2-3-5 on short axes, else 1-2-5 */
        nt = 0;
        for (double dec = pow(10, floor(log10(p.y0))); dec <= p.y1 && nt < 60; dec *= 10)
            for (int m = 0; m < 4; m++) {
                double v = dec * steps[m];
                if (m == 2 && !dense)
                    continue;
                if (v >= p.y0 && v <= p.y1 && nt < 60)
                    ticks[nt++] = v;
            }
        if (nt < 2) { /* less than a 1-2-5 step inside: linear nice ticks on the log axis */
            nt = nice_ticks(p.y0, p.y1, 5, ticks, 64);
            int k = 0;
            for (int i = 0; i < nt; i++)
                if (ticks[i] > 0)
                    ticks[k++] = ticks[i];
            nt = k;
        }
    } else {
        nt = nice_ticks(p.y0, p.y1, 6, ticks, 64);
    }
    for (int i = 0; i < nt; i++) {
        double y = py(&p, ticks[i]);
        char t[32];
        svg_printf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n",
                   p.px0, y, p.px1, y);
        svg_printf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
                   p.px0 - 5, y, p.px0, y);
        snprintf(t, sizeof t, "%g", ticks[i]);
        svg_text(s, p.px0 - 8, y + 4, "end", 12, NULL, t);
    }
    svg_printf(s, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                  "stroke=\"black\"/>\n",
               p.px0, p.py0, p.px1 - p.px0, p.py1 - p.py0);
    snprintf(label, sizeof label, "model size (%s, sum of model*.safetensors)", uname);
    svg_text(s, (p.px0 + p.px1) / 2, p.py1 + 44, "middle", 13, NULL, label);
    snprintf(label, sizeof label, "perplexity (exp mean NLL)%s", p.logy ? ", log scale" : "");
    {
        char attrs[96];
        snprintf(attrs, sizeof attrs, "transform=\"rotate(-90 %.1f %.1f)\"", 24.0,
                 (p.py0 + p.py1) / 2);
        svg_text(s, 24, (p.py0 + p.py1) / 2, "middle", 13, attrs, label);
    }

    /* series */
    int k = 0, legend_row = 0;
    for (size_t i = lo; i < hi; k++) {
        size_t j = i;
        while (j < hi && !strcmp(r[j].method, r[i].method))
            j++;
        const char *col = palette[k % 10];
        svg_printf(s, "<g clip-path=\"url(#plotarea)\">\n");
        if (fits[i].ok) {
            svg_printf(s, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
                          "stroke-dasharray=\"5,4\" points=\"",
                       col);
            int first = 1;
            for (int t = 0; t <= 200; t++) {
                double x = p.x0 + (p.x1 - p.x0) * t / 200.0;
                if (x <= fits[i].b0)
                    continue;
                double y = fit_eval(&fits[i], x);
                if (!isfinite(y) || (p.logy && y <= 0))
                    continue;
                double yy = py(&p, y);
                yy = fmax(fmin(yy, p.py1 + 1000), p.py0 - 1000);
                svg_printf(s, "%s%.1f,%.1f", first ? "" : " ", px(&p, x), yy);
                first = 0;
            }
            svg_printf(s, "\"/>\n");
        }
        if (j - i >= 2) {
            svg_printf(s, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
                       col);
            for (size_t t = i; t < j; t++)
                svg_printf(s, "%s%.1f,%.1f", t == i ? "" : " ", px(&p, r[t].bytes / unit),
                           py(&p, r[t].ppl));
            svg_printf(s, "\"/>\n");
        }
        for (size_t t = i; t < j; t++)
            svg_marker(s, k, px(&p, r[t].bytes / unit), py(&p, r[t].ppl), col);
        svg_printf(s, "</g>\n");
        /* legend entry */
        double ly = p.py0 + 10 + 22 * legend_row++;
        svg_printf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                      "stroke-width=\"2\"/>\n",
                   p.px1 + 16, ly, p.px1 + 44, ly, col);
        svg_marker(s, k, p.px1 + 30, ly, col);
        snprintf(label, sizeof label, "%s (%zu)", r[i].method, j - i);
        svg_text(s, p.px1 + 52, ly + 4, "start", 12, NULL, label);
        if (fits[i].ok) {
            ly = p.py0 + 10 + 22 * legend_row++;
            svg_printf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                          "stroke-width=\"1.5\" stroke-dasharray=\"5,4\"/>\n",
                       p.px1 + 16, ly, p.px1 + 44, ly, col);
            snprintf(label, sizeof label, "%s fit", r[i].method);
            svg_text(s, p.px1 + 52, ly + 4, "start", 12, NULL, label);
        }
        i = j;
    }
    svg_printf(s, "</svg>\n");
}

/* ---------------------------------------------------------------- main */

static int write_buf(const char *dir, const char *name, struct svg *s, struct mint_err *err)
{
    char *p = mint_path_join(dir, name);
    int rc;
    if (s->oom) {
        free(p);
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    }
    rc = mint_write_file(p, s->p ? s->p : "", s->n, err);
    free(p);
    return rc;
}

int main(int argc, char **argv)
{
    const char *out = NULL, *list = NULL;
    int quiet = 0, c, rc = 0;
    struct mint_err err = {0};
    struct results rs = {0};
    struct fit *fits = NULL;
    struct svg csv = {0}, md = {0}, fcsv = {0};
    static const struct option lo[] = {{"list", required_argument, 0, 'l'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    while ((c = getopt_long(argc, argv, "o:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'l': list = optarg; break;
        case 'q': quiet = 1; break;
        case 'h':
            fputs(usage, stdout);
            fputs("\nWrites DIR/quality.csv, DIR/quality.md, DIR/fits.csv and one "
                  "DIR/quality-<model>-<text>.svg\nper model and text, from mint-eval -o "
                  "reports (each with model, text, method, model_bytes, ppl).\n",
                  stdout);
            return 0;
        default: fputs(usage, stderr); return MINT_EXIT_USAGE;
        }
    }
    if (!out || (optind >= argc && !list)) {
        fputs(usage, stderr);
        return MINT_EXIT_USAGE;
    }
    if (list && load_list(&rs, list, &err) < 0)
        goto fail;
    for (int i = optind; i < argc; i++)
        if (load_result(&rs, argv[i], &err) < 0)
            goto fail;
    if (!rs.n) {
        mint_err_set(&err, "%s: no results listed", list ? list : "arguments");
        goto fail;
    }
    qsort(rs.r, rs.n, sizeof *rs.r, cmp_result);
    for (size_t i = 1; i < rs.n; i++)
        if (!cmp_result(&rs.r[i - 1], &rs.r[i])) {
            mint_err_set(&err, "%s: same model, text, method and model_bytes as %s", rs.r[i].file,
                         rs.r[i - 1].file);
            goto fail;
        }
    fits = calloc(rs.n, sizeof *fits);
    if (!fits || mint_mkdirs(out, &err) < 0) {
        if (!fits)
            mint_err_setc(&err, MINT_EXIT_IO, "out of memory");
        goto fail;
    }

    svg_printf(&csv, "model,text,method,model_bytes,bits_per_param,ppl,median_window_ppl,"
                     "mean_nll,tokens,windows,file\n");
    svg_printf(&fcsv, "model,text,method,points,unit,a,b,c,b0,rmse\n");
    svg_printf(&md, "# Quality report\n\n"
                    "PPL is the perplexity exp(mean NLL) over all scored tokens; median PPL is "
                    "the median over windows of exp(window mean NLL) (mint-eval, "
                    "algorithm.md §11). Size is the sum of the model*.safetensors file sizes; "
                    "bits/param = 8 x size / parameters. Fits: PPL(B) = a + b / (B − B0)^c, "
                    "least squares, per method with at least 3 sizes.\n");
    for (size_t g0 = 0; g0 < rs.n;) {
        size_t g1 = g0;
        double maxb = 0;
        char nb[7][48];
        while (g1 < rs.n && !strcmp(rs.r[g1].model, rs.r[g0].model) &&
               !strcmp(rs.r[g1].text, rs.r[g0].text))
            g1++;
        for (size_t i = g0; i < g1; i++)
            maxb = fmax(maxb, rs.r[i].bytes);
        double unit = maxb >= 1e9 ? 1e9 : 1e6;
        const char *uname = maxb >= 1e9 ? "GB" : "MB";
        double base = NAN;
        for (size_t i = g0; i < g1; i++)
            if (!strcmp(rs.r[i].method, "original"))
                base = rs.r[i].ppl;
        /* fits per method */
        for (size_t i = g0; i < g1;) {
            size_t j = i;
            while (j < g1 && !strcmp(rs.r[j].method, rs.r[i].method))
                j++;
            if (j - i >= 3) {
                double *x = malloc((j - i) * sizeof *x), *y = malloc((j - i) * sizeof *y);
                for (size_t t = i; t < j; t++) {
                    x[t - i] = rs.r[t].bytes / unit;
                    y[t - i] = rs.r[t].ppl;
                }
                fits[i] = fit_curve(x, y, (int)(j - i));
                free(x);
                free(y);
            }
            i = j;
        }
        /* csv */
        for (size_t i = g0; i < g1; i++) {
            const struct result *r = &rs.r[i];
            double bpp = r->n_params > 0 ? 8.0 * r->bytes / (double)r->n_params : NAN;
            csv_field(&csv, r->model);
            svg_printf(&csv, ",");
            csv_field(&csv, r->text);
            svg_printf(&csv, ",");
            csv_field(&csv, r->method);
            svg_printf(&csv, ",%.0f,%s,%s,%s,%s,", r->bytes, num(nb[0], 48, bpp),
                       num(nb[1], 48, r->ppl), num(nb[2], 48, r->median),
                       num(nb[3], 48, r->mean_nll));
            if (r->tokens >= 0)
                svg_printf(&csv, "%lld", (long long)r->tokens);
            svg_printf(&csv, ",");
            if (r->windows >= 0)
                svg_printf(&csv, "%lld", (long long)r->windows);
            svg_printf(&csv, ",");
            csv_field(&csv, r->file);
            svg_printf(&csv, "\n");
        }
        /* markdown */
        char sm[128], st[128], svgname[300];
        sanitize(rs.r[g0].model, sm, sizeof sm);
        sanitize(rs.r[g0].text, st, sizeof st);
        snprintf(svgname, sizeof svgname, "quality-%s-%s.svg", sm, st);
        svg_printf(&md, "\n## ");
        md_cell(&md, rs.r[g0].model);
        svg_printf(&md, " on ");
        md_cell(&md, rs.r[g0].text);
        svg_printf(&md, "\n\n![%s](%s)\n\n", svgname, svgname);
        svg_printf(&md, "| method | size (bytes) | size (%s) | bits/param | PPL | median PPL | "
                        "PPL vs original |\n|---|---:|---:|---:|---:|---:|---:|\n",
                   uname);
        for (size_t i = g0; i < g1; i++) {
            const struct result *r = &rs.r[i];
            double bpp = r->n_params > 0 ? 8.0 * r->bytes / (double)r->n_params : NAN;
            svg_printf(&md, "| ");
            md_cell(&md, r->method);
            svg_printf(&md, " | %.0f | %.4g | %s | %s | %s | ", r->bytes, r->bytes / unit,
                       isnan(bpp) ? "–" : (snprintf(nb[0], 48, "%.3f", bpp), nb[0]),
                       (snprintf(nb[1], 48, "%.4f", r->ppl), nb[1]),
                       isnan(r->median) ? "–" : (snprintf(nb[2], 48, "%.4f", r->median), nb[2]));
            if (isnan(base))
                svg_printf(&md, "– |\n");
            else
                svg_printf(&md, "%+.2f%% |\n", 100.0 * (r->ppl - base) / base);
        }
        int any_fit = 0;
        for (size_t i = g0; i < g1; i++)
            any_fit |= fits[i].ok;
        if (any_fit) {
            svg_printf(&md, "\nFits PPL(B) = a + b / (B − B0)^c, B in %s:\n\n"
                            "| method | points | a | b | c | B0 | RMSE |\n"
                            "|---|---:|---:|---:|---:|---:|---:|\n",
                       uname);
            for (size_t i = g0; i < g1; i++) {
                const struct fit *f = &fits[i];
                if (!f->ok)
                    continue;
                svg_printf(&md, "| ");
                md_cell(&md, rs.r[i].method);
                svg_printf(&md, " | %d | %.6g | %.6g | %.6g | %.6g | %.4g |\n", f->n, f->a, f->b,
                           f->c, f->b0, f->rmse);
                csv_field(&fcsv, rs.r[i].model);
                svg_printf(&fcsv, ",");
                csv_field(&fcsv, rs.r[i].text);
                svg_printf(&fcsv, ",");
                csv_field(&fcsv, rs.r[i].method);
                svg_printf(&fcsv, ",%d,%s,%.9g,%.9g,%.9g,%.9g,%.9g\n", f->n, uname, f->a, f->b,
                           f->c, f->b0, f->rmse);
                if (!quiet)
                    printf("fit %s %s %s: PPL(B) = %.6g + %.6g / (B - %.6g)^%.6g, B in %s, "
                           "RMSE %.4g over %d points\n",
                           rs.r[i].model, rs.r[i].text, rs.r[i].method, f->a, f->b, f->b0, f->c,
                           uname, f->rmse, f->n);
            }
            svg_printf(&md, "\nWith exactly 3 points the 4-parameter curve passes through them; "
                            "the fit is descriptive only.\n");
        }
        /* plot */
        {
            struct svg s = {0};
            plot_group(&s, rs.r, g0, g1, fits, unit, uname);
            rc = write_buf(out, svgname, &s, &err);
            free(s.p);
            if (rc < 0)
                goto fail;
        }
        g0 = g1;
    }
    if (write_buf(out, "quality.csv", &csv, &err) < 0 ||
        write_buf(out, "fits.csv", &fcsv, &err) < 0 ||
        write_buf(out, "quality.md", &md, &err) < 0)
        goto fail;
    if (!quiet)
        printf("wrote %s/quality.md, quality.csv, fits.csv and the plots (%zu results)\n", out,
               rs.n);
    rc = 0;
    goto done;
fail:
    rc = -1;
done:
    for (size_t i = 0; i < rs.n; i++) {
        free(rs.r[i].model);
        free(rs.r[i].text);
        free(rs.r[i].method);
        free(rs.r[i].file);
    }
    free(rs.r);
    free(fits);
    free(csv.p);
    free(md.p);
    free(fcsv.p);
    return rc < 0 ? mint_err_report("mint-report", &err) : 0;
}
