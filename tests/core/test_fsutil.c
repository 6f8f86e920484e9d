/* test_fsutil.c: atomic output files and directories appear whole or not at all, refuse to
 * overwrite or to write into inputs (sa_output_check), and a SIGKILLed writer leaves nothing at
 * the destination. */
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/check.h"
#include "common/test_files.h"
#include "core/fsutil.h"

static int exists(const char *p) {
    struct stat st;
    return lstat(p, &st) == 0;
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
    CHECK_EQ_INT(test_dir_entries(root), 1);
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
    CHECK_EQ_INT(test_dir_entries(out), 1);
    CHECK(sa_outdir_open(&od, out, inputs, 1, 0, &err) == SA_EEXIST);
    /* abort removes everything */
    CHECK(sa_outdir_open(&od, out, inputs, 1, 1, &err) == SA_OK);
    sa_outdir_abort(&od);
    CHECK_EQ_INT(test_dir_entries(root), 2); /* input, result */
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
    CHECK_EQ_INT(test_dir_entries(root), 1); /* only the dead child's hidden temp dir */
    sa_outdir_sweep_stale(out);
    CHECK_EQ_INT(test_dir_entries(root), 0);
    close(pipefd[0]);
    close(pipefd[1]);
    free(out);
    free(file);
}

/* 1 if sa_output_check(out, {input}, overwrite) refuses. */
static int refused(const char *root, const char *out, const char *input, int overwrite) {
    char o[512], i[512];
    snprintf(o, sizeof o, "%s/%s", root, out);
    snprintf(i, sizeof i, "%s/%s", root, input);
    const char *inputs[] = {i};
    sa_error err = {0};
    sa_status s = sa_output_check(o, inputs, 1, overwrite, &err);
    CHECK(s == SA_OK || (s == SA_EEXIST && strstr(err.msg, o)));
    return s != SA_OK;
}

static void write_file(const char *root, const char *name) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, name);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
}

/* Outputs never touch inputs: resolution of symlinks, "..", trailing '/', outputs that do not
 * exist yet, and a file inside a model directory standing for the directory. */
static void test_output_check(const char *root) {
    char p[512], q[512];
    snprintf(p, sizeof p, "%s/model", root);
    mkdir(p, 0755);
    write_file(root, "model/config.json");
    write_file(root, "model/model.safetensors");
    write_file(root, "pairs.jsonl");
    snprintf(p, sizeof p, "%s/plain", root);
    mkdir(p, 0755);
    write_file(root, "plain/data.jsonl");
    snprintf(p, sizeof p, "%s/model", root);
    snprintf(q, sizeof q, "%s/link", root);
    CHECK(symlink(p, q) == 0);
    for (int ow = 0; ow < 2; ow++) {
        CHECK(refused(root, "model", "model", ow));
        CHECK(refused(root, "model/", "model", ow));
        CHECK(refused(root, "model/model.safetensors", "model", ow));
        CHECK(refused(root, "model/new", "model", ow));
        CHECK(refused(root, "model/new/deeper/x", "model", ow));
        CHECK(refused(root, "plain/../model/new", "model", ow));
        CHECK(refused(root, "model/nonexistent/../x", "model", ow));
        CHECK(refused(root, "link/new", "model", ow));
        CHECK(refused(root, "link", "model", ow));
        CHECK(refused(root, "model/new", "link", ow));
        CHECK(refused(root, ".", "model", ow)); /* contains the input */
        CHECK(refused(root, "model/tokenizer.json", "model/model.safetensors", ow)); /* widened */
        CHECK(refused(root, "pairs.jsonl", "pairs.jsonl", ow));
        CHECK(refused(root, "./pairs.jsonl", "pairs.jsonl", ow));
        CHECK(refused(root, "pairs.jsonl/x", "pairs.jsonl", ow));
        CHECK(!refused(root, "plain/new", "plain/data.jsonl", ow)); /* not a model directory */
        CHECK(!refused(root, "modelx", "model", ow)); /* a prefix of the name is not inside */
        CHECK(!refused(root, "out/x", "model", ow));
    }
    CHECK(refused(root, "plain/data.jsonl", "model", 0)); /* exists, no overwrite */
    CHECK(!refused(root, "plain/data.jsonl", "model", 1));
    CHECK(!refused(root, "missing/input/out", "missing/input", 0)); /* absent inputs are skipped */
}

int main(void) {
    char tmpl[] = "/tmp/sa-test-fsutil-XXXXXX";
    char *root = mkdtemp(tmpl);
    CHECK(root != NULL);
    char *a = sa_path_join(root, "a"), *b = sa_path_join(root, "b"), *c = sa_path_join(root, "c");
    char *d = sa_path_join(root, "d");
    mkdir(a, 0755);
    mkdir(b, 0755);
    mkdir(c, 0755);
    mkdir(d, 0755);
    test_afile(a);
    test_outdir(b);
    test_sigkill(c);
    test_output_check(d);
    free(d);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
    free(a);
    free(b);
    free(c);
    return CHECK_DONE();
}
