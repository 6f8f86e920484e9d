/* test_io_faults.c: every writer of the library with each of its I/O calls failing in turn
 * (SQLite's I/O-error test). For each kind of fault (a short write, EINTR, ENOSPC and EIO on a
 * write, EIO from fsync/fdatasync, EIO from rename/link, ENOSPC when creating a file or directory,
 * EIO when cutting a file) and each N = 1, 2, ... the N-th call of that kind fails (core/io.h),
 * until a run completes without reaching N. The writers: safetensors write, hdr (new, and
 * replacing an older output), resta, merge, export-gguf, eval, judge, the tune journal, report.
 *
 * A short write or EINTR must be absorbed: the run succeeds and its output is byte for byte that
 * of a run without faults. Any other fault ends with a status and a one-line message naming a
 * path under the test's directory, and leaves the outputs as they were before the call (no
 * partial output, no temporary, an old output that was to be replaced intact), or, for the
 * resumable writers (an evaluation's run directory, a re-judge, a tune journal), leaves a
 * directory that a later run completes to exactly the files of a run without faults: no lost or
 * doubled row. Inputs stay unchanged, and nothing leaks (LeakSanitizer, in the sanitizer build of
 * scripts/test.sh). Needs -DSA_IO_FAULTS=ON (exit status 77, skipped, otherwise). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/check.h"
#include "common/test_files.h"
#include "common/tiny_llama.h"
#include "core/fsutil.h"
#include "core/io.h"
#include "safearith/arith.h"
#include "safearith/eval.h"
#include "safearith/gguf_export.h"
#include "safearith/safetensors.h"
#include "tune/journal.h"

#ifndef SA_IO_FAULTS
int main(void) {
    printf("test_io_faults: skipped (configure with -DSA_IO_FAULTS=ON)\n");
    (void)check_passed, (void)check_failed;
    return 77;
}
#else

#include "common/fault_fixture.h"

static char root[] = "/tmp/sa-io-faults-XXXXXX";
static char ref_run[700];

static int sh(const char *fmt, const char *a, const char *b) {
    char cmd[2000];
    snprintf(cmd, sizeof cmd, fmt, a, b, a, b);
    return system(cmd);
}

/* ---- the writers: each writes under out/ and returns its status ---- */

static sa_status st_write(sa_error *err) {
    static const float a[6] = {1, 2, 3, 4, 5, 6}, b[2] = {-1, 0.5f};
    sa_st_f32_tensor t[2] = {{"a", 2, {2, 3}, a}, {"b", 1, {2}, b}};
    static const char *const meta[] = {"k", "v", NULL};
    return sa_st_write_f32_file(outp("w.safetensors"), t, 2, meta, 0, err);
}

static sa_status hdr_into(const char *dir, int overwrite, double lambda, sa_error *err) {
    sa_arith_opts o;
    sa_arith_opts_init(&o);
    o.output = dir, o.overwrite = overwrite; /* with its model card */
    sa_hdr_opts h;
    sa_hdr_opts_init(&h);
    h.lambda = lambda;
    sa_hdr_result res;
    return sa_hdr(m_a, m_b, m_c, &h, &o, &res, err);
}

static sa_status run_hdr(sa_error *err) {
    return hdr_into(outp("hdr"), 0, 1, err);
}

/* An older output (made by setup_old, another lambda) to be replaced. */
static sa_status run_hdr_replace(sa_error *err) {
    return hdr_into(outp("old"), 1, 1, err);
}

static void setup_old(void) {
    sa_error err;
    if (hdr_into(outp("old"), 0, 0.5, &err)) fprintf(stderr, "setup_old: %s\n", err.msg);
}

static sa_status run_resta(sa_error *err) {
    sa_arith_opts o;
    sa_arith_opts_init(&o);
    o.output = outp("resta"), o.out_dtype = SA_BF16;
    sa_resta_opts r;
    sa_resta_opts_init(&r);
    r.beta = 0.5, r.dare_p = 0.3, r.seed = 7, r.rescale = SA_RESCALE_L1;
    return sa_resta(m_a, m_b, m_c, &r, &o, err);
}

static sa_status run_merge(sa_error *err) {
    sa_merge_recipe *r = NULL;
    sa_status st = sa_merge_recipe_load(recipe, &r, err);
    if (st != SA_OK) return st;
    sa_arith_opts o;
    sa_arith_opts_init(&o);
    o.output = outp("merge"), o.max_shard_bytes = 1000; /* small shards: an index too */
    st = sa_merge(r, &o, err);
    sa_merge_recipe_free(r);
    return st;
}

/* An evaluation on the fake backend (two datasets, batches of 2): a failed one is resumed. */
static sa_status eval_into(const char *dir, int resume, sa_error *err) {
    const char *specs[2] = {ds_harm, ds_mcq};
    sa_eval_opts o;
    sa_eval_opts_init(&o);
    o.backend = SA_EVAL_BACKEND_FAKE;
    o.datasets = specs, o.n_datasets = 2;
    o.batch = 2, o.out = dir, o.resume = resume;
    return sa_eval_execute(&o, NULL, err);
}

static sa_status run_eval(sa_error *err) {
    return eval_into(outp("run"), 1, err);
}

/* A second judge over a finished run (copied into out/ by setup_rejudge). */
static sa_status run_rejudge(sa_error *err) {
    static const char *const judges[] = {"refusal:name=again"};
    sa_eval_opts o;
    sa_eval_opts_init(&o);
    o.judges = judges, o.n_judges = 1, o.batch = 2, o.out = outp("rj");
    return sa_eval_rejudge(&o, NULL, err);
}

static void setup_rejudge(void) {
    sh("cp -r '%s' '%s/rj'", ref_run, out);
}

/* A tune study's journal: study.json, then three trials, resumed where a failure left it. */
static sa_status run_journal(sa_error *err) {
    sa_tune_recipe r;
    memset(&r, 0, sizeof r);
    r.path = recipe;
    r.json = cJSON_CreateObject();
    snprintf(r.fingerprint, sizeof r.fingerprint, "%064d", 7);
    sa_tune_journal j;
    sa_status st = r.json ? sa_tune_journal_open(&j, &r, outp("tune"), 1, err) : SA_ENOMEM;
    for (int i = st ? 3 : cJSON_GetArraySize(j.trials); i < 3 && !st; i++) {
        char text[200];
        snprintf(text, sizeof text, "{\"trial\": %d, \"objectives\": {\"asr\": %g}, \"u\": [%d]}",
                 i, 0.25 * i, i);
        cJSON *t = cJSON_Parse(text);
        st = sa_tune_journal_append(&j, t, err);
        cJSON_Delete(t);
    }
    if (r.json) sa_tune_journal_close(&j); /* again after a failed open: harmless */
    cJSON_Delete(r.json);
    return st;
}

/* The comparison of two runs: report.md and its chart. */
static sa_status run_report(sa_error *err) {
    const char *dirs[2] = {ref_run, ref_run};
    char *text = NULL;
    sa_status st =
        sa_eval_report(2, dirs, NULL, outp("report.md"), outp("report.svg"), 0, &text, err);
    free(text);
    return st;
}

typedef struct entry {
    const char *name;
    sa_status (*fn)(sa_error *);
    void (*setup)(void); /* prepares out/ before each call (NULL: out/ empty) */
    int resumable;       /* a failed call leaves what a next call completes */
    const char *inputs;  /* the directory whose files must stay unchanged */
} entry;

typedef struct fault {
    const char *name;
    unsigned ops;
    int err; /* errno, or SA_IO_SHORT */
} fault;

static const fault faults[] = {
    {"short write", SA_IO_OP_WRITE, SA_IO_SHORT},
    {"EINTR", SA_IO_OP_WRITE, EINTR},
    {"write ENOSPC", SA_IO_OP_WRITE, ENOSPC},
    {"write EIO", SA_IO_OP_WRITE, EIO},
    {"fsync EIO", SA_IO_OP_SYNC, EIO},
    {"rename EIO", SA_IO_OP_RENAME, EIO},
    {"create ENOSPC", SA_IO_OP_CREATE, ENOSPC},
    {"truncate EIO", SA_IO_OP_TRUNCATE, EIO},
};

static void reset_out(const entry *e) {
    sh("rm -rf '%s' && mkdir '%s'", out, out);
    if (e->setup) e->setup();
}

/* 0 if out/ holds exactly the files of dir/ (but for run.json, which counts resumes, when the
 * writer resumes). */
static int out_equals(const char *dir, int resumable) {
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "diff -r %s '%s' '%s' >/dev/null", resumable ? "-x run.json" : "",
             out, dir);
    return system(cmd);
}

/* out/ after a failure: as before the call, or (resumable) completed by a call without faults. */
static int left_cleanly(const entry *e, char *why, size_t n) {
    char before[700], ref[700];
    snprintf(before, sizeof before, "%s/before", root);
    snprintf(ref, sizeof ref, "%s/ref", root);
    if (!e->resumable) {
        snprintf(why, n, "the outputs changed");
        return out_equals(before, 0) == 0;
    }
    sa_error err = {0};
    if (e->fn(&err) != SA_OK) return snprintf(why, n, "the next run failed: %.150s", err.msg), 0;
    snprintf(why, n, "the next run did not complete to the reference's files");
    return out_equals(ref, 1) == 0;
}

static void fault_loop(const entry *e, const fault *f) {
    char cmd[700];
    long n = 1, failed = 0, absorbed = 0;
    for (;; n++) {
        reset_out(e);
        sa_error err = {0};
        sa_io_fault_at(f->ops, f->err, n);
        sa_status st = e->fn(&err);
        int hit = sa_io_fault_hit();
        sa_io_fault_at(0, 0, 0);
        if (!hit) {
            CHECK_MSG(st == SA_OK, "%s, %s: without a fault: %s", e->name, f->name, err.msg);
            break;
        }
        char why[200];
        if (st == SA_OK) {
            absorbed++;
            snprintf(cmd, sizeof cmd, "%s/ref", root);
            CHECK_MSG(out_equals(cmd, e->resumable) == 0,
                      "%s: %s at call %ld absorbed, but the output differs from the reference",
                      e->name, f->name, n);
            continue;
        }
        failed++;
        CHECK_MSG(f->err != SA_IO_SHORT && f->err != EINTR,
                  "%s: %s at call %ld was not retried: %s", e->name, f->name, n, err.msg);
        CHECK_MSG(err.code == st && err.msg[0] && !strchr(err.msg, '\n') && strstr(err.msg, root),
                  "%s: %s at call %ld: status %d, message '%s'", e->name, f->name, n, st, err.msg);
        CHECK_MSG(left_cleanly(e, why, sizeof why), "%s: %s at call %ld (%s): %s", e->name, f->name,
                  n, err.msg, why);
    }
    printf("%-18s %-14s %4ld calls, %4ld failed cleanly, %4ld absorbed\n", e->name, f->name, n - 1,
           failed, absorbed);
}

static void run_entry(const entry *e) {
    char before[65], after[65];
    tree_digest(e->inputs, before);
    reset_out(e);
    CHECK(sh("rm -rf '%s/before' && cp -a '%s' '%s/before'", root, out) == 0);
    sa_error e0 = {0};
    CHECK_MSG(e->fn(&e0) == SA_OK, "%s: %s", e->name, e0.msg);
    CHECK(sh("rm -rf '%s/ref' && cp -a '%s' '%s/ref'", root, out) == 0);
    for (size_t k = 0; k < sizeof faults / sizeof *faults; k++) fault_loop(e, &faults[k]);
    tree_digest(e->inputs, after);
    CHECK_MSG(before[0] && !strcmp(before, after), "%s changed its inputs", e->name);
}

/* ---- fixtures ---- */

static int fixtures(void) {
    sa_error err;
    if (fault_fixture_write(root, 3)) return -1;
    snprintf(ref_run, sizeof ref_run, "%s/ref-run", in);
    return eval_into(ref_run, 0, &err) == SA_OK ? 0 : -1;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!mkdtemp(root)) return 1;
    if (fixtures()) {
        fprintf(stderr, "cannot write the fixtures under %s\n", root);
        return 1;
    }
    const entry entries[] = {
        {"safetensors write", st_write, NULL, 0, in},
        {"hdr", run_hdr, NULL, 0, in},
        {"hdr --overwrite", run_hdr_replace, setup_old, 0, in},
        {"resta", run_resta, NULL, 0, in},
        {"merge", run_merge, NULL, 0, in},
        {"export-gguf", run_export, NULL, 0, organism},
        {"eval", run_eval, NULL, 1, in},
        {"judge", run_rejudge, setup_rejudge, 1, in},
        {"tune journal", run_journal, NULL, 1, in},
        {"report", run_report, NULL, 0, in},
    };
    const char *only = getenv("SA_IO_FAULTS_ONLY"); /* one writer, by name, while debugging */
    for (size_t i = 0; i < sizeof entries / sizeof *entries; i++)
        if (!only || !strcmp(only, entries[i].name)) run_entry(&entries[i]);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", root);
    return CHECK_DONE();
}
#endif
