/* io.h - files: read-only maps, whole-file reads, atomic writes.
 *
 * Every output of every stage goes through mint_write_file (small, write-if-changed) or a
 * struct mint_afile (streamed, then committed): a temporary file in the target directory is
 * fsync'd and renamed over the target, so a crash never leaves a partial file at the path and
 * an unchanged result keeps its mtime (make then reruns nothing downstream).  A path is never
 * opened with O_TRUNC: another stage may have it mapped. */
#ifndef MINT_IO_H
#define MINT_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct mint_err;

struct mint_map {
    const unsigned char *data; /* (size) read-only mapping; NULL for an empty file */
    size_t size;
};

int  mint_map_open(struct mint_map *m, const char *path, struct mint_err *err);
void mint_map_release(struct mint_map *m);
/* Advise the kernel about a range we are about to stream once (sequential, then dropped). */
void mint_map_advise_seq(const struct mint_map *m, size_t off, size_t len);
void mint_map_advise_done(const struct mint_map *m, size_t off, size_t len);

/* Read a whole (small) file into a NUL-terminated malloc'd buffer. */
char *mint_read_file(const char *path, size_t *len, struct mint_err *err);

/* Make 'path' hold exactly buf[0..len); untouched (mtime kept) if it already does. */
int mint_write_file(const char *path, const void *buf, size_t len, struct mint_err *err);

/* Streamed atomic file: written to "<path>.tmp.<pid>", renamed on commit, removed on abort. */
struct mint_afile {
    FILE *f;
    char *path;
    char *tmp;
};
int  mint_afile_open(struct mint_afile *a, const char *path, struct mint_err *err);
int  mint_afile_write(struct mint_afile *a, const void *buf, size_t len, struct mint_err *err);
/* fsync + rename; if only_if_changed and the target already holds the same bytes, the
 * temporary is dropped and the target left untouched. */
int  mint_afile_commit(struct mint_afile *a, int only_if_changed, struct mint_err *err);
void mint_afile_abort(struct mint_afile *a);

/* mkdir -p */
int mint_mkdirs(const char *path, struct mint_err *err);
/* rm -rf (used for temporary directories only). */
int mint_rmtree(const char *path);
/* Join directory and file name into a malloc'd string. */
char *mint_path_join(const char *dir, const char *name);
/* Last path component (pointer into s). */
const char *mint_path_base(const char *s);
/* Peak resident set size of this process in bytes (VmHWM), 0 if unknown. */
uint64_t mint_peak_rss(void);
/* Monotonic seconds. */
double mint_now(void);

#endif
