/* t-io: maps, whole-file reads, atomic and write-if-changed outputs, directories, paths. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "check.h"
#include "mint/err.h"
#include "mint/io.h"

static char dir[64];

static char *P(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static int n_entries(const char *d)
{
    DIR *dd = opendir(d);
    struct dirent *de;
    int n = 0;
    if (!dd)
        return -1;
    while ((de = readdir(dd)))
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(dd);
    return n;
}

static void set_old_mtime(const char *p)
{
    struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};
    utimes(p, tv);
}

static long mtime(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? (long)sb.st_mtime : -1;
}

static int content_is(const char *p, const char *want)
{
    struct mint_err err = {0};
    size_t len;
    char *b = mint_read_file(p, &len, &err);
    int ok = b && len == strlen(want) && !memcmp(b, want, len);
    free(b);
    return ok;
}

int main(void)
{
    struct mint_err err = {0};
    struct mint_map m;

    snprintf(dir, sizeof dir, "/tmp/mint-t-io.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }

    /* write-if-changed: same bytes keep the mtime, new bytes replace the file */
    CHECK(mint_write_file(P("a.json"), "hello\n", 6, &err) == 0);
    CHECK(content_is(P("a.json"), "hello\n"));
    set_old_mtime(P("a.json"));
    CHECK(mtime(P("a.json")) == 1000000000);
    CHECK(mint_write_file(P("a.json"), "hello\n", 6, &err) == 0);
    CHECK(mtime(P("a.json")) == 1000000000);
    CHECK(mint_write_file(P("a.json"), "hello!\n", 7, &err) == 0);
    CHECK(mtime(P("a.json")) != 1000000000);
    CHECK(content_is(P("a.json"), "hello!\n"));
    /* shorter content and an empty file */
    CHECK(mint_write_file(P("a.json"), "h", 1, &err) == 0 && content_is(P("a.json"), "h"));
    CHECK(mint_write_file(P("e"), "", 0, &err) == 0 && content_is(P("e"), ""));
    set_old_mtime(P("e"));
    CHECK(mint_write_file(P("e"), "", 0, &err) == 0 && mtime(P("e")) == 1000000000);
    CHECK(n_entries(dir) == 2); /* no temporaries left */

    /* a file that was mapped before it was replaced keeps its old bytes (rename, no O_TRUNC) */
    CHECK(mint_map_open(&m, P("a.json"), &err) == 0);
    CHECK(mint_write_file(P("a.json"), "xyz", 3, &err) == 0);
    CHECK(m.size == 1 && m.data[0] == 'h');
    mint_map_release(&m);

    /* streamed atomic file: nothing at the path until commit; abort leaves nothing */
    {
        struct mint_afile a;
        CHECK(mint_afile_open(&a, P("s.bin"), &err) == 0);
        CHECK(mint_afile_write(&a, "abc", 3, &err) == 0);
        CHECK(access(P("s.bin"), F_OK) != 0);
        CHECK(n_entries(dir) == 3); /* the temporary */
        mint_afile_abort(&a);
        CHECK(access(P("s.bin"), F_OK) != 0);
        CHECK(n_entries(dir) == 2);
        mint_afile_abort(&a); /* twice is harmless */

        CHECK(mint_afile_open(&a, P("s.bin"), &err) == 0);
        CHECK(mint_afile_write(&a, "abc", 3, &err) == 0);
        CHECK(mint_afile_write(&a, "def", 3, &err) == 0);
        CHECK(mint_afile_commit(&a, 1, &err) == 0);
        CHECK(content_is(P("s.bin"), "abcdef"));
        CHECK(n_entries(dir) == 3);
        /* unchanged with only_if_changed: target untouched */
        set_old_mtime(P("s.bin"));
        CHECK(mint_afile_open(&a, P("s.bin"), &err) == 0);
        CHECK(mint_afile_write(&a, "abcdef", 6, &err) == 0);
        CHECK(mint_afile_commit(&a, 1, &err) == 0);
        CHECK(mtime(P("s.bin")) == 1000000000);
        /* unchanged without only_if_changed: replaced */
        CHECK(mint_afile_open(&a, P("s.bin"), &err) == 0);
        CHECK(mint_afile_write(&a, "abcdef", 6, &err) == 0);
        CHECK(mint_afile_commit(&a, 0, &err) == 0);
        CHECK(mtime(P("s.bin")) != 1000000000);
        CHECK(content_is(P("s.bin"), "abcdef"));
        CHECK(n_entries(dir) == 3);
    }

    /* errors: I/O code and the path in the message */
    err = (struct mint_err){0};
    CHECK(mint_write_file(P("nodir/x.json"), "x", 1, &err) == -1);
    CHECK(err.code == MINT_EXIT_IO && strstr(err.msg, "nodir/x.json"));
    err = (struct mint_err){0};
    CHECK(mint_map_open(&m, P("missing"), &err) == -1);
    CHECK(err.code == MINT_EXIT_INPUT && strstr(err.msg, "missing") &&
          strstr(err.msg, "No such file"));
    CHECK(m.data == NULL && m.size == 0);
    err = (struct mint_err){0};
    CHECK(mint_map_open(&m, dir, &err) == -1 && strstr(err.msg, "not a regular file"));
    err = (struct mint_err){0};
    CHECK(mint_read_file(P("missing"), NULL, &err) == NULL && err.code == MINT_EXIT_INPUT);

    /* maps: an empty file maps to (NULL, 0); advice outside the map is ignored */
    CHECK(mint_map_open(&m, P("e"), &err) == 0 && m.data == NULL && m.size == 0);
    mint_map_advise_seq(&m, 0, 100);
    mint_map_advise_done(&m, 0, 100);
    mint_map_release(&m);
    CHECK(mint_map_open(&m, P("s.bin"), &err) == 0 && m.size == 6 && !memcmp(m.data, "abcdef", 6));
    mint_map_advise_seq(&m, 0, 6);
    mint_map_advise_seq(&m, 3, 1000);
    mint_map_advise_done(&m, 5, 1);
    mint_map_advise_done(&m, 7, 1);
    CHECK(!memcmp(m.data, "abcdef", 6)); /* DONTNEED on a file map: data still readable */
    mint_map_release(&m);
    mint_map_release(&m);

    /* whole-file read: NUL-terminated, length, binary safe, larger than the first buffer */
    {
        size_t big = 200000, len = 0;
        char *b = malloc(big);
        for (size_t i = 0; i < big; i++)
            b[i] = (char)(i % 251);
        CHECK(mint_write_file(P("big"), b, big, &err) == 0);
        char *r = mint_read_file(P("big"), &len, &err);
        CHECK(r && len == big && !memcmp(r, b, big) && r[big] == 0);
        free(r);
        free(b);
    }

    /* directories */
    CHECK(mint_mkdirs(P("d1/d2/d3"), &err) == 0);
    CHECK(mint_mkdirs(P("d1/d2/d3"), &err) == 0); /* exists: fine */
    CHECK(mint_mkdirs(P("d1/d2/d3/"), &err) == 0);
    CHECK(mint_write_file(P("d1/d2/d3/f"), "x", 1, &err) == 0);
    CHECK(mint_write_file(P("d1/g"), "x", 1, &err) == 0);
    err = (struct mint_err){0};
    CHECK(mint_mkdirs(P("big/sub"), &err) == -1 && err.code == MINT_EXIT_IO);
    CHECK(mint_rmtree(P("d1")) == 0 && access(P("d1"), F_OK) != 0);
    CHECK(mint_rmtree(P("d1")) != 0 || access(P("d1"), F_OK) != 0);

    /* paths */
    {
        char *j = mint_path_join("a/b", "c.json");
        CHECK_STR(j, "a/b/c.json");
        free(j);
        j = mint_path_join("a/b/", "c.json");
        CHECK_STR(j, "a/b/c.json");
        free(j);
        j = mint_path_join("", "c");
        CHECK_STR(j, "c");
        free(j);
        CHECK_STR(mint_path_base("a/b/c.json"), "c.json");
        CHECK_STR(mint_path_base("c.json"), "c.json");
        CHECK_STR(mint_path_base("a/"), "");
    }

    /* process facts */
    CHECK(mint_peak_rss() > 0);
    {
        double t0 = mint_now(), t1 = mint_now();
        CHECK(t0 > 0 && t1 >= t0);
    }

    CHECK(mint_rmtree(dir) == 0);
    return CHECK_DONE();
}
