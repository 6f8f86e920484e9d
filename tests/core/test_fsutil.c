/* test_fsutil.c: atomic output files and directories appear whole or not at all, refuse to
 * overwrite or to write into inputs, and a SIGKILLed writer leaves nothing at the destination. */
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/check.h"
#include "safearith/fsutil.h"

static int exists(const char *p) {
    struct stat st;
    return lstat(p, &st) == 0;
}

static int count_entries(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    FILE *f = popen(cmd, "r");
    int n = -1;
    if (f) {
        if (fscanf(f, "%d", &n) != 1) n = -1;
        pclose(f);
    }
    return n;
}

static void test_afile(const char *root) {
    sa_error err;
    char *path = sa_path_join(root, "out.txt");
    sa_afile af;
    CHECK(sa_afile_open(&af, path, 0, &err) == SA_OK);
    fputs("hello", af.fp);
    CHECK(!exists(path)); /* nothing visible before commit */
    CHECK(sa_afile_commit(&af, &err) == SA_OK);
    char *data;
    size_t len;
    CHECK(sa_read_file(path, &data, &len, &err) == SA_OK && len == 5 && !strcmp(data, "hello"));
    free(data);
    /* refuse to overwrite; allowed with overwrite */
    CHECK(sa_afile_open(&af, path, 0, &err) == SA_EEXIST);
    CHECK_STR_CONTAINS(err.msg, "out.txt");
    CHECK(sa_afile_open(&af, path, 1, &err) == SA_OK);
    fputs("bye", af.fp);
    CHECK(sa_afile_commit(&af, &err) == SA_OK);
    CHECK(sa_read_file(path, &data, &len, &err) == SA_OK && !strcmp(data, "bye"));
    free(data);
    /* abort leaves the old file alone and no temporaries */
    CHECK(sa_afile_open(&af, path, 1, &err) == SA_OK);
    fputs("partial", af.fp);
    sa_afile_abort(&af);
    CHECK(sa_read_file(path, &data, &len, &err) == SA_OK && !strcmp(data, "bye"));
    free(data);
    CHECK_EQ_INT(count_entries(root), 1);
    unlink(path);
    free(path);
    /* a missing directory is a clear error */
    CHECK(sa_afile_open(&af, "/nonexistent-dir/x", 0, &err) == SA_EIO);
    CHECK_STR_CONTAINS(err.msg, "/nonexistent-dir/x");
}

static void test_outdir(const char *root) {
    sa_error err;
    char *in = sa_path_join(root, "input");
    char *out = sa_path_join(root, "result");
    char *inside = sa_path_join(in, "sub");
    mkdir(in, 0755);
    const char *inputs[] = {in};
    sa_outdir od;
    CHECK(sa_outdir_open(&od, in, inputs, 1, 1, &err) == SA_EEXIST);
    CHECK(sa_outdir_open(&od, inside, inputs, 1, 1, &err) == SA_EEXIST);
    CHECK_STR_CONTAINS(err.msg, "input");
    CHECK(sa_outdir_open(&od, out, inputs, 1, 0, &err) == SA_OK);
    char *f = sa_outdir_path(&od, "a.bin");
    FILE *fp = fopen(f, "wb");
    fputs("x", fp);
    fclose(fp);
    free(f);
    CHECK(!exists(out));
    CHECK(sa_outdir_commit(&od, &err) == SA_OK);
    CHECK(sa_is_dir(out));
    CHECK_EQ_INT(count_entries(out), 1);
    CHECK(sa_outdir_open(&od, out, inputs, 1, 0, &err) == SA_EEXIST);
    /* abort removes everything */
    CHECK(sa_outdir_open(&od, out, inputs, 1, 1, &err) == SA_OK);
    sa_outdir_abort(&od);
    CHECK_EQ_INT(count_entries(root), 2); /* input, result */
    free(in);
    free(out);
    free(inside);
}

/* A child starts an output directory and a file, then is SIGKILLed: nothing appears at the
 * destinations, and the next open sweeps the dead child's temporary directory. */
static void test_sigkill(const char *root) {
    char *out = sa_path_join(root, "killed");
    char *file = sa_path_join(root, "killed.txt");
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        sa_outdir od;
        sa_afile af;
        if (sa_outdir_open(&od, out, NULL, 0, 0, NULL) != SA_OK) _exit(3);
        if (sa_afile_open(&af, file, 0, NULL) != SA_OK) _exit(4);
        fputs("partial", af.fp);
        fflush(af.fp);
        if (write(pipefd[1], "k", 1) != 1) _exit(5);
        pause();
        _exit(0);
    }
    char c;
    CHECK(read(pipefd[0], &c, 1) == 1);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    CHECK(!exists(out));
    CHECK(!exists(file));
    CHECK_EQ_INT(count_entries(root), 1); /* only the dead child's hidden temp dir */
    sa_outdir_sweep_stale(out);
    CHECK_EQ_INT(count_entries(root), 0);
    close(pipefd[0]);
    close(pipefd[1]);
    free(out);
    free(file);
}

int main(void) {
    char tmpl[] = "/tmp/sa-test-fsutil-XXXXXX";
    char *root = mkdtemp(tmpl);
    CHECK(root != NULL);
    char *a = sa_path_join(root, "a"), *b = sa_path_join(root, "b"), *c = sa_path_join(root, "c");
    mkdir(a, 0755);
    mkdir(b, 0755);
    mkdir(c, 0755);
    test_afile(a);
    test_outdir(b);
    test_sigkill(c);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
    free(a);
    free(b);
    free(c);
    return CHECK_DONE();
}
