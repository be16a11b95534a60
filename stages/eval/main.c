/* mint-eval: perplexity of a dense or MLX-packed model on a text (algorithm.md §11).
 *
 * usage: mint-eval MODEL_DIR --text FILE [--ctx 512] [--windows 64] [-o result.json]
 *                  [--tokenizer FILE] [--method NAME] [--model NAME] [--text-name NAME] [-q]
 *
 * Protocol (tests/data/models/SOURCE.md): the whole file is tokenized once, without BOS, with
 * MODEL_DIR/tokenizer.json (or --tokenizer FILE); the ids are cut into consecutive chunks of ctx - 1 tokens; window k
 * is [BOS] + chunk k (positions 0..ctx-1, no state carried between windows); every chunk token
 * is scored, NLL = -log softmax(logits)[target] (natural log); the first `windows` windows are
 * used (fewer if the text has fewer complete chunks; a partial last chunk is never scored).
 * PPL = exp(mean NLL over all scored tokens); also the median over windows of exp(window mean
 * NLL).  A tokenizer whose post-processor adds no BOS (e.g. Qwen2) gets chunks of ctx tokens,
 * the first of each only conditioning, so every window still scores ctx - 1 tokens.
 *
 * Output: a summary on stdout whose last line is `ppl <value>` (6 significant digits), and with
 * -o a JSON report (canonical, atomic): schema, model, model_dir, method, text, text_file, ctx,
 * windows, tokens (scored), text_tokens, ppl, mean_nll, median_window_ppl, window_mean_nll[],
 * model_bytes (sum of the model*.safetensors sizes), n_params, quantized_matrices, bos,
 * seconds and peak_rss (bytes, VmHWM).  seconds and peak_rss vary between runs; everything else
 * is deterministic for a given OpenBLAS build and thread count.
 * --method defaults to "original" for a float model and "packed" for a quantized one, --model
 * to the basename of MODEL_DIR, --text-name to the basename of FILE. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/err.h"
#include "mint/io.h"
#include "mint/json.h"
#include "mint/llm.h"
#include "mint/tok.h"

static const char usage[] =
    "usage: mint-eval MODEL_DIR --text FILE [--ctx 512] [--windows 64] [-o result.json]\n"
    "                 [--tokenizer FILE] [--method NAME] [--model NAME] [--text-name NAME] [-q]\n";

static const char help[] =
    "\n"
    "Perplexity of a Llama/Mistral/Qwen2/Qwen3 model (F32/F16/BF16 or MLX-quantized) on a text:\n"
    "the text is tokenized once without BOS, cut into chunks of ctx-1 tokens, each scored as\n"
    "[BOS] + chunk; PPL = exp(mean NLL) over the first --windows windows.\n"
    "The last stdout line is `ppl <value>`; -o writes a JSON report.\n";

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int parse_pos(const char *s, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v <= 0 || v > 1L << 30)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    const char *text_path = NULL, *tok_path = NULL, *out = NULL, *method = NULL, *model_name = NULL,
               *text_name = NULL, *dir;
    long ctx = 512, want_windows = 64;
    int quiet = 0, c;
    struct mint_err err = {0};
    struct mint_llm m;
    struct mint_tok *tok = NULL;
    char *text = NULL, *tp = NULL, *mdir = NULL;
    int32_t *ids = NULL, *win = NULL;
    double *nll = NULL, *wnll = NULL, *wppl = NULL;
    size_t text_len, n_ids;
    double t0 = mint_now(), total = 0.0;
    int rc;
    static const struct option lo[] = {
        {"text", required_argument, 0, 't'},      {"ctx", required_argument, 0, 'c'},
        {"windows", required_argument, 0, 'w'},   {"method", required_argument, 0, 'M'},
        {"model", required_argument, 0, 'N'},     {"text-name", required_argument, 0, 'T'},
        {"tokenizer", required_argument, 0, 'k'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};

    while ((c = getopt_long(argc, argv, "o:qh", lo, NULL)) != -1) {
        switch (c) {
        case 't': text_path = optarg; break;
        case 'k': tok_path = optarg; break;
        case 'o': out = optarg; break;
        case 'M': method = optarg; break;
        case 'N': model_name = optarg; break;
        case 'T': text_name = optarg; break;
        case 'q': quiet = 1; break;
        case 'c':
            if (parse_pos(optarg, &ctx) < 0 || ctx < 2) {
                fprintf(stderr, "mint-eval: --ctx: '%s' is not an integer >= 2\n", optarg);
                fputs(usage, stderr);
                return MINT_EXIT_USAGE;
            }
            break;
        case 'w':
            if (parse_pos(optarg, &want_windows) < 0) {
                fprintf(stderr, "mint-eval: --windows: '%s' is not a positive integer\n", optarg);
                fputs(usage, stderr);
                return MINT_EXIT_USAGE;
            }
            break;
        case 'h': fputs(usage, stdout); fputs(help, stdout); return 0;
        default: fputs(usage, stderr); return MINT_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || !text_path) {
        fputs(usage, stderr);
        return MINT_EXIT_USAGE;
    }
    dir = argv[optind];
    mdir = strdup(dir);
    while (strlen(mdir) > 1 && mdir[strlen(mdir) - 1] == '/')
        mdir[strlen(mdir) - 1] = 0;

    if (mint_llm_open(&m, mdir, &err) < 0) {
        free(mdir);
        return mint_err_report("mint-eval", &err);
    }
    tp = tok_path ? strdup(tok_path) : mint_path_join(mdir, "tokenizer.json");
    tok = mint_tok_load(tp, &err);
    if (!tok)
        goto fail;
    if (!(text = mint_read_file(text_path, &text_len, &err)))
        goto fail;
    if (mint_tok_encode(tok, text, text_len, &ids, &n_ids, &err) < 0) {
        mint_err_prefix(&err, "%s", text_path);
        goto fail;
    }
    {
        int32_t bos = mint_tok_bos(tok);
        int64_t chunk = bos >= 0 ? ctx - 1 : ctx; /* tokens taken from the text per window */
        int64_t avail = (int64_t)n_ids / chunk, nw = avail < want_windows ? avail : want_windows;
        int64_t scored = 0;
        if (nw < 1) {
            mint_err_set(&err, "%s: text has %zu tokens, fewer than one window of %lld", text_path,
                         n_ids, (long long)chunk);
            goto fail;
        }
        if (bos >= m.cfg.vocab) {
            mint_err_set(&err, "%s: BOS id %d is outside the model's vocabulary (%lld)", tp,
                         (int)bos, (long long)m.cfg.vocab);
            goto fail;
        }
        if (nw < want_windows && !quiet)
            fprintf(stderr, "mint-eval: %s: only %lld complete windows (asked for %ld)\n",
                    text_path, (long long)nw, want_windows);
        if (!quiet)
            printf("model %s: %s, %llu params, %lld quantized matrices, %llu bytes\n", mdir,
                   m.cfg.model_type, (unsigned long long)m.n_params, (long long)m.n_quantized,
                   (unsigned long long)m.model_bytes);
        win = malloc((size_t)ctx * sizeof *win);
        nll = malloc((size_t)ctx * sizeof *nll);
        wnll = calloc((size_t)nw, sizeof *wnll);
        wppl = calloc((size_t)nw, sizeof *wppl);
        if (!win || !nll || !wnll || !wppl) {
            mint_err_setc(&err, MINT_EXIT_IO, "out of memory");
            goto fail;
        }
        for (int64_t w = 0; w < nw; w++) {
            int64_t off = 0, n;
            double s = 0.0;
            if (bos >= 0)
                win[off++] = bos;
            memcpy(win + off, ids + w * chunk, (size_t)chunk * sizeof *win);
            n = off + chunk;
            if (mint_llm_forward(&m, win, n, nll, NULL, &err) < 0) {
                mint_err_prefix(&err, "%s: window %lld", text_path, (long long)w);
                goto fail;
            }
            for (int64_t j = 0; j + 1 < n; j++)
                s += nll[j];
            if (!isfinite(s)) {
                mint_err_setc(&err, MINT_EXIT_NUMERIC, "%s: window %lld: non-finite NLL", mdir,
                              (long long)w);
                goto fail;
            }
            total += s;
            scored += n - 1;
            wnll[w] = s / (double)(n - 1);
            wppl[w] = exp(wnll[w]);
        }
        double mean = total / (double)scored, ppl = exp(mean), med;
        double *sorted = malloc((size_t)nw * sizeof *sorted);
        if (!sorted) {
            mint_err_setc(&err, MINT_EXIT_IO, "out of memory");
            goto fail;
        }
        memcpy(sorted, wppl, (size_t)nw * sizeof *sorted);
        qsort(sorted, (size_t)nw, sizeof *sorted, cmp_double);
        med = nw % 2 ? sorted[nw / 2] : 0.5 * (sorted[nw / 2 - 1] + sorted[nw / 2]);
        free(sorted);
        double secs = mint_now() - t0;
        uint64_t rss = mint_peak_rss();
        if (!method)
            method = m.n_quantized ? "packed" : "original";
        if (!model_name)
            model_name = mint_path_base(mdir);
        if (!text_name)
            text_name = mint_path_base(text_path);
        if (out) {
            json_t *a = json_array();
            for (int64_t w = 0; w < nw; w++)
                json_array_append_new(a, json_real(wnll[w]));
            json_t *doc = json_pack(
                "{s:i,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:o,s:I,s:I,s:I,s:I,s:f,"
                "s:I}",
                "schema", 1, "model", model_name, "model_dir", mdir, "method", method, "text",
                text_name, "text_file", text_path, "ctx", (json_int_t)ctx, "windows",
                (json_int_t)nw, "tokens", (json_int_t)scored, "text_tokens", (json_int_t)n_ids,
                "ppl", ppl, "mean_nll", mean, "median_window_ppl", med, "window_mean_nll", a,
                "model_bytes", (json_int_t)m.model_bytes, "n_params", (json_int_t)m.n_params,
                "quantized_matrices", (json_int_t)m.n_quantized, "bos", (json_int_t)bos,
                "seconds", secs, "peak_rss", (json_int_t)rss);
            if (!doc || mint_json_write(out, doc, &err) < 0) {
                if (!doc)
                    mint_err_setc(&err, MINT_EXIT_IO, "%s: cannot build the report", out);
                json_decref(doc);
                goto fail;
            }
            json_decref(doc);
        }
        if (!quiet)
            printf("text %s: %zu tokens; %lld windows x %lld scored = %lld tokens\n"
                   "mean_nll %.6f median_window_ppl %.6g seconds %.2f peak_rss %llu\n",
                   text_path, n_ids, (long long)nw, (long long)(ctx - 1), (long long)scored,
                   mean, med, secs, (unsigned long long)rss);
        printf("ppl %.6g\n", ppl);
    }
    rc = 0;
    goto done;
fail:
    rc = -1;
done:
    free(win);
    free(nll);
    free(wnll);
    free(wppl);
    free(ids);
    free(text);
    free(tp);
    mint_tok_free(tok);
    mint_llm_release(&m);
    free(mdir);
    return rc < 0 ? mint_err_report("mint-eval", &err) : 0;
}
