/* test_atomic_kill.c: an arithmetic run killed with SIGKILL while writing leaves nothing at the
 * destination; its hidden temporary directory is swept by the next run, which then succeeds.
 *
 * A child process runs sa_task_vector with a progress callback that SIGKILLs the process once
 * part of the output has been written (so the kill lands mid-write, deterministically). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/check.h"
#include "safearith/arith.h"
#include "safearith/fsutil.h"
#include "safearith/safetensors.h"

static char tmpdir[64];

static char *make_model(const char *name, float v) {
    char *path = sa_path_join(tmpdir, name);
    mkdir(path, 0755);
    char *file = sa_path_join(path, "model.safetensors");
    static float data[3][4096];
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < 4096; i++) data[t][i] = v + (float)(t * i);
    sa_st_f32_tensor ts[3] = {
        {"a", 1, {4096}, data[0]}, {"b", 1, {4096}, data[1]}, {"c", 1, {4096}, data[2]}};
    sa_error err;
    CHECK(sa_st_write_f32_file(file, ts, 3, NULL, 0, &err) == SA_OK);
    free(file);
    return path;
}

static int kill_mid_write(void *ud, const char *stage, uint64_t done, uint64_t total) {
    (void)ud;
    if (stage && !strcmp(stage, "writing") && done > 0 && done < total) raise(SIGKILL);
    return 0;
}

/* Number of hidden temporaries beside out, and whether one holds a partial model file. */
static int count_temps(const char *name, int *partial) {
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    int n = 0;
    *partial = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] != '.' || strncmp(e->d_name + 1, name, strlen(name))) continue;
        n++;
        char *dir = sa_path_join(tmpdir, e->d_name);
        char *f = sa_path_join(dir, "model.safetensors");
        struct stat st;
        if (stat(f, &st) == 0 && st.st_size > 0) *partial = 1;
        free(f);
        free(dir);
    }
    closedir(d);
    return n;
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sa_test_kill_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    char *base = make_model("base", 1), *model = make_model("model", 2);
    char *out = sa_path_join(tmpdir, "out");
    pid_t pid = fork();
    if (pid == 0) {
        sa_progress p = {kill_mid_write, NULL};
        sa_arith_opts o = {out, 0, -1, 0, NULL, &p, NULL, 0};
        sa_error err;
        sa_task_vector(model, base, &o, &err);
        _exit(0); /* not reached if the kill happened */
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child was not killed");
    struct stat st;
    CHECK_MSG(stat(out, &st) != 0, "destination exists after SIGKILL");
    int partial;
    CHECK_EQ_INT(count_temps("out", &partial), 1);
    CHECK_MSG(partial, "the kill did not land mid-write");
    /* the next run sweeps the dead temporary and succeeds */
    sa_arith_opts o = {out, 0, -1, 0, NULL, NULL, NULL, 0};
    sa_error err;
    CHECK_MSG(sa_task_vector(model, base, &o, &err) == SA_OK, "%s", err.msg);
    CHECK_EQ_INT(count_temps("out", &partial), 0);
    sa_checkpoint *ck;
    CHECK(sa_ckpt_open(out, &ck, &err) == SA_OK);
    if (ck) {
        float v[4096];
        CHECK(sa_tensor_read_f32(sa_ckpt_find(ck, "c"), v, &err) == SA_OK && v[10] == 1.0f);
        sa_ckpt_close(ck);
    }
    free(base);
    free(model);
    free(out);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) return 1;
    return CHECK_DONE();
}
