/* mint-job: run one pipeline step with a progress line and an entry in the stage log.
 *
 * usage: mint-job [--hex] STAGE SUBJECT -- COMMAND [ARG...]
 *
 * --hex: SUBJECT is the hex of its bytes (a tensor name as tensors.mk carries it, see
 * mint-index --emit-mk); it is shown and logged decoded.
 *
 * Environment (set by the make pipeline):
 *   MINT_LOG=FILE       append "STAGE SUBJECT" to FILE for every step run (the stage log the
 *                       pipeline tests read: a no-op rerun appends nothing)
 *   MINT_PROGRESS=FILE  shared counter "started done t0" (flock'd) for "[ 37/399  9%]" and ETA
 *   MINT_TOTAL=N        number of per-tensor steps this make run will do (0: no count)
 *   MINT_VERBOSE=1      print the command and pass the step's stderr through
 *   MINT_SHOW=1         pass the step's stderr through (aggregate stages: the plan table)
 *   MINT_JOB_TEST_SLEEP=SECONDS  sleep before running the step (tests only: lets a test kill
 *                       make in the middle of a stage)
 * Without MINT_VERBOSE/MINT_SHOW the step's stderr is held back and shown only if it fails,
 * so a build of 20,000 tensors prints one line per tensor and nothing else.  Exit status is
 * the command's (128 + signal when it was killed). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mint/hash.h"

static const char usage[] = "usage: mint-job [--hex] STAGE SUBJECT -- COMMAND [ARG...]\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* delta: +1 started (returns the new started count) or +1 done. */
static void counter(const char *path, int start, long *started, long *done, double *t0)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    char buf[128] = {0};
    ssize_t n;
    *started = *done = 0;
    *t0 = 0;
    if (fd < 0)
        return;
    if (flock(fd, LOCK_EX) == 0) {
        n = pread(fd, buf, sizeof buf - 1, 0);
        if (n > 0)
            sscanf(buf, "%ld %ld %lf", started, done, t0);
        if (start)
            (*started)++;
        else
            (*done)++;
        if (*t0 == 0)
            *t0 = now_s();
        n = snprintf(buf, sizeof buf, "%ld %ld %.3f\n", *started, *done, *t0);
        if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)n, 0) != n)
            (void)0;
        flock(fd, LOCK_UN);
    }
    close(fd);
}

static void fmt_eta(double s, char *out, size_t cap)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(out, cap, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(out, cap, "%lds", t);
}

int main(int argc, char **argv)
{
    const char *stage, *subject, *log = getenv("MINT_LOG"), *prog = getenv("MINT_PROGRESS");
    long total = getenv("MINT_TOTAL") ? atol(getenv("MINT_TOTAL")) : 0;
    int verbose = getenv("MINT_VERBOSE") && !strcmp(getenv("MINT_VERBOSE"), "1");
    int show = verbose || (getenv("MINT_SHOW") && !strcmp(getenv("MINT_SHOW"), "1"));
    FILE *errf = NULL;
    pid_t pid;
    int status;
    static char *subject_buf; /* static: reachable until exit */

    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "--hex")) {
        if (argc > 3 && !(subject_buf = mint_hex_decode(argv[3]))) {
            fprintf(stderr, "mint-job: --hex: SUBJECT must be hex digits\n");
            return 2;
        }
        argc--;
        argv++;
    }
    if (argc < 5 || strcmp(argv[3], "--")) {
        free(subject_buf);
        fputs(usage, stderr);
        return 2;
    }
    stage = argv[1];
    subject = subject_buf ? subject_buf : argv[2];

    if (log) {
        int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
        if (fd >= 0) {
            char line[4096];
            int n = snprintf(line, sizeof line, "%s %s\n", stage, subject);
            if (n > 0 && write(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0)
                (void)0;
            close(fd);
        }
    }
    if (total > 0 && prog) {
        long started, done;
        double t0;
        char eta[32] = "";
        counter(prog, 1, &started, &done, &t0);
        if (done > 0 && done < total) {
            char e[24];
            fmt_eta((now_s() - t0) / (double)done * (double)(total - done), e, sizeof e);
            snprintf(eta, sizeof eta, "  ETA %s", e);
        }
        if (started > total)
            total = started;
        fprintf(stderr, "[%*ld/%ld %3ld%%] %-5s %s%s\n", (int)snprintf(NULL, 0, "%ld", total),
                started, total, started * 100 / total, stage, subject, eta);
    } else {
        fprintf(stderr, "[%s] %s\n", stage, subject);
    }
    if (verbose) {
        for (int i = 4; i < argc; i++)
            fprintf(stderr, "%s%s", argv[i], i + 1 < argc ? " " : "\n");
    }
    if (!show)
        errf = tmpfile();
    if (getenv("MINT_JOB_TEST_SLEEP")) {
        double s = atof(getenv("MINT_JOB_TEST_SLEEP"));
        struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
        nanosleep(&ts, NULL);
    }

    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "mint-job: fork: %s\n", strerror(errno));
        return 3;
    }
    if (pid == 0) {
        if (errf)
            dup2(fileno(errf), 2);
        execvp(argv[4], argv + 4);
        fprintf(stderr, "mint-job: %s: %s\n", argv[4], strerror(errno));
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "mint-job: waitpid: %s\n", strerror(errno));
            return 3;
        }
    if (total > 0 && prog) {
        long started, done;
        double t0;
        counter(prog, 0, &started, &done, &t0);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (errf)
            fclose(errf);
        return 0;
    }
    if (errf) {
        char buf[4096];
        size_t n;
        rewind(errf);
        while ((n = fread(buf, 1, sizeof buf, errf)) > 0)
            fwrite(buf, 1, n, stderr);
        fclose(errf);
    }
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "mint-job: %s %s: killed by signal %d\n", stage, subject,
                WTERMSIG(status));
        return 128 + WTERMSIG(status);
    }
    return WEXITSTATUS(status);
}
