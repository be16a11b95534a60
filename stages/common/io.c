#define _GNU_SOURCE
#include "mint/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mint/err.h"

int mint_map_open(struct mint_map *m, const char *path, struct mint_err *err)
{
    struct stat sb;
    int fd;

    m->data = NULL;
    m->size = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mint_err_setc(err, errno == ENOENT ? MINT_EXIT_INPUT : MINT_EXIT_IO, "%s: %s",
                             path, strerror(errno));
    if (fstat(fd, &sb) < 0) {
        int e = errno;
        close(fd);
        return mint_err_setc(err, MINT_EXIT_IO, "%s: fstat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return mint_err_set(err, "%s: not a regular file", path);
    }
    if (sb.st_size > 0) {
        void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return mint_err_setc(err, MINT_EXIT_IO, "%s: mmap: %s", path, strerror(e));
        }
        m->data = p;
        m->size = (size_t)sb.st_size;
    }
    close(fd);
    return 0;
}

void mint_map_release(struct mint_map *m)
{
    if (m->data)
        munmap((void *)m->data, m->size);
    m->data = NULL;
    m->size = 0;
}

static void advise(const struct mint_map *m, size_t off, size_t len, int how)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t a, e;
    if (!m->data || off >= m->size)
        return;
    if (len > m->size - off)
        len = m->size - off;
    a = off & ~((size_t)pg - 1);
    e = off + len;
    madvise((void *)(m->data + a), e - a, how);
}

void mint_map_advise_seq(const struct mint_map *m, size_t off, size_t len)
{
    advise(m, off, len, MADV_SEQUENTIAL);
    advise(m, off, len, MADV_WILLNEED);
}

/* A page fault on a file mapping maps more than the page: the fault-around window (64 KiB by
 * default, aligned on the virtual address) and, since Linux 6.x with large page-cache folios
 * (ext4, xfs, tmpfs), the whole folio holding the page, up to a PMD (2 MiB on x86-64; folios
 * are naturally aligned in the file).  Dropping only [off, off + len) page-aligned leaves those
 * neighbours mapped and counted in RSS: hashing 18,867 small tensors left ~500 MB mapped.
 *
 * So the drop starts at the granule boundary at or before off (the lower of the 2 MiB file-
 * offset boundary and the 64 KiB address boundary, clipped to the mapping).  The end stays at
 * off + len: mint's readers move forward, so the next call (the next chunk or tensor) drops
 * that tail, whereas widening the end would unmap the next tensor's pages and make every small
 * tensor fault its whole folio in again.  Safe for any caller: every mint map is a read-only
 * MAP_SHARED file mapping, so dropping a page someone still reads costs one minor fault that
 * maps it again from the page cache; its content cannot change or be lost. */
#define DROP_FAULT_AROUND ((uintptr_t)64 << 10)
#define DROP_FOLIO ((size_t)2 << 20)

void mint_map_advise_done(const struct mint_map *m, size_t off, size_t len)
{
    uintptr_t base, a, fa, e;
    long pg = sysconf(_SC_PAGESIZE);

    if (!m->data || off >= m->size)
        return;
    if (len > m->size - off)
        len = m->size - off;
    base = (uintptr_t)m->data;
    a = base + (off & ~(DROP_FOLIO - 1));
    fa = (base + off) & ~(DROP_FAULT_AROUND - 1);
    if (fa < a)
        a = fa;
    if (a < base)
        a = base;
    e = (base + off + len + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
    madvise((void *)a, e - a, MADV_DONTNEED);
}

char *mint_read_file(const char *path, size_t *len, struct mint_err *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (!f) {
        mint_err_setc(err, errno == ENOENT ? MINT_EXIT_INPUT : MINT_EXIT_IO, "%s: %s", path,
                      strerror(errno));
        return NULL;
    }
    {
        struct stat sb;
        if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
            fclose(f);
            mint_err_set(err, "%s: is a directory, not a file", path);
            return NULL;
        }
    }
    for (;;) {
        if (n + 1 >= cap) {
            size_t nc = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, nc);
            if (!nb) {
                free(buf);
                fclose(f);
                mint_err_setc(err, MINT_EXIT_IO, "%s: out of memory", path);
                return NULL;
            }
            buf = nb;
            cap = nc;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        mint_err_setc(err, MINT_EXIT_IO, "%s: read error", path);
        return NULL;
    }
    fclose(f);
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

static int same_content(const char *path, const void *buf, size_t len)
{
    struct mint_map m;
    struct mint_err e = {0};
    int same;
    if (mint_map_open(&m, path, &e) < 0)
        return 0;
    same = m.size == len && (len == 0 || memcmp(m.data, buf, len) == 0);
    mint_map_release(&m);
    return same;
}

int mint_write_file(const char *path, const void *buf, size_t len, struct mint_err *err)
{
    struct mint_afile a;
    if (same_content(path, buf, len))
        return 0;
    if (mint_afile_open(&a, path, err) < 0)
        return -1;
    if (mint_afile_write(&a, buf, len, err) < 0) {
        mint_afile_abort(&a);
        return -1;
    }
    return mint_afile_commit(&a, 0, err);
}

int mint_afile_open(struct mint_afile *a, const char *path, struct mint_err *err)
{
    size_t n = strlen(path) + 32;
    a->f = NULL;
    a->path = strdup(path);
    a->tmp = malloc(n);
    if (!a->path || !a->tmp) {
        free(a->path);
        free(a->tmp);
        return mint_err_setc(err, MINT_EXIT_IO, "%s: out of memory", path);
    }
    snprintf(a->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    a->f = fopen(a->tmp, "wb");
    if (!a->f) {
        int e = errno;
        free(a->path);
        free(a->tmp);
        a->path = a->tmp = NULL;
        return mint_err_setc(err, MINT_EXIT_IO, "%s: cannot create: %s", path, strerror(e));
    }
    return 0;
}

int mint_afile_write(struct mint_afile *a, const void *buf, size_t len, struct mint_err *err)
{
    if (len && fwrite(buf, 1, len, a->f) != len)
        return mint_err_setc(err, MINT_EXIT_IO, "%s: write: %s", a->path, strerror(errno));
    return 0;
}

static int files_equal(const char *p, const char *q)
{
    struct mint_map a, b;
    struct mint_err e = {0};
    int eq = 0;
    if (mint_map_open(&a, p, &e) < 0)
        return 0;
    if (mint_map_open(&b, q, &e) == 0) {
        eq = a.size == b.size && (a.size == 0 || memcmp(a.data, b.data, a.size) == 0);
        mint_map_release(&b);
    }
    mint_map_release(&a);
    return eq;
}

int mint_afile_commit(struct mint_afile *a, int only_if_changed, struct mint_err *err)
{
    int rc = 0;
    if (fflush(a->f) != 0 || fsync(fileno(a->f)) != 0) {
        rc = mint_err_setc(err, MINT_EXIT_IO, "%s: write: %s", a->path, strerror(errno));
        mint_afile_abort(a);
        return rc;
    }
    if (fclose(a->f) != 0) {
        a->f = NULL;
        rc = mint_err_setc(err, MINT_EXIT_IO, "%s: close: %s", a->path, strerror(errno));
        mint_afile_abort(a);
        return rc;
    }
    a->f = NULL;
    if (only_if_changed && files_equal(a->tmp, a->path)) {
        unlink(a->tmp);
    } else if (rename(a->tmp, a->path) != 0) {
        rc = mint_err_setc(err, MINT_EXIT_IO, "%s: rename: %s", a->path, strerror(errno));
        unlink(a->tmp);
    }
    free(a->tmp);
    free(a->path);
    a->tmp = a->path = NULL;
    return rc;
}

void mint_afile_abort(struct mint_afile *a)
{
    if (a->f)
        fclose(a->f);
    if (a->tmp)
        unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    a->f = NULL;
    a->tmp = a->path = NULL;
}

int mint_mkdirs(const char *path, struct mint_err *err)
{
    char *p = strdup(path);
    if (!p)
        return mint_err_setc(err, MINT_EXIT_IO, "out of memory");
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            mint_err_setc(err, MINT_EXIT_IO, "%s: mkdir: %s", p, strerror(e));
            free(p);
            return -1;
        }
        *s = '/';
    }
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
        int e = errno;
        mint_err_setc(err, MINT_EXIT_IO, "%s: mkdir: %s", p, strerror(e));
        free(p);
        return -1;
    }
    free(p);
    return 0;
}

int mint_rmtree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    if (!d)
        return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *p = mint_path_join(path, de->d_name);
        struct stat sb;
        if (p && lstat(p, &sb) == 0) {
            if (S_ISDIR(sb.st_mode))
                mint_rmtree(p);
            else
                unlink(p);
        }
        free(p);
    }
    closedir(d);
    return rmdir(path);
}

char *mint_path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    if (a && dir[a - 1] != '/')
        p[a++] = '/';
    memcpy(p + a, name, b + 1);
    return p;
}

const char *mint_path_base(const char *s)
{
    const char *b = strrchr(s, '/');
    return b ? b + 1 : s;
}

uint64_t mint_peak_rss(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t kb = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) {
            kb = strtoull(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb * 1024;
}

double mint_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
