/* test_alloc_faults_tune.c: a whole tune study and `tune --apply` with their allocations failing
 * in turn (tests/common/alloc_loop.h). A study (HDR on the organisms, two trials over four items
 * of each held-out set) makes ~58,000 allocations of 0.5 s runs in the sanitizer build: one in
 * 1201 fails here (SA_ALLOC_EVERY=1 fails all, in hours), and a study left behind must resume to
 * the trials, front and report of one without faults. Writing a finished study's trial as a
 * model fails one allocation in 3 (every one of its 5,873 passed when it was added). Needs
 * -DSA_ALLOC_FAULTS=ON (exit status 77, skipped, otherwise). */
#include <stdlib.h>

#include "common/check.h"
#include "core/fsutil.h"
#include "safearith/tune.h"

#ifndef SA_ALLOC_FAULTS
int main(void) {
    printf("test_alloc_faults_tune: skipped (configure with -DSA_ALLOC_FAULTS=ON)\n");
    (void)check_passed, (void)check_failed;
    return 77;
}
#else

#include "common/alloc_loop.h"

/* A whole tune study (HDR on the organisms, two trials over four items of each held-out set):
 * trials, journal, KL prompts, front, report, and the chosen trial on the test split. */
static char study_recipe[700];

static sa_status study_in(const char *dir, int resume, sa_error *err) {
    sa_tune_recipe *r = NULL;
    sa_status st = sa_tune_recipe_load(study_recipe, &r, err);
    sa_tune_opts o;
    sa_tune_opts_init(&o);
    o.dir = dir, o.resume = resume, o.n_threads = 1;
    sa_tune_result res;
    if (!st) st = sa_tune_run(r, &o, &res, err);
    sa_tune_recipe_free(r);
    return st;
}

static sa_status run_study(sa_error *err) {
    return study_in(outp("study"), 0, err);
}

/* Writing trial 1 of a finished study (made by the fixtures in in/study-done) as a model. */
static char study_done[700];

static sa_status run_apply(sa_error *err) {
    char *note = NULL;
    sa_status st = sa_tune_apply(study_done, 1, outp("model"), NULL, 1, NULL, &note, err);
    free(note);
    return st;
}

/* A study that failed part-way may leave its directory: resumed, it must end with the very
 * trials, front and report of a study without faults. Its evaluation runs may differ in how often
 * they were resumed, and the report's line on the HDR threshold passes counts those of the last
 * process (a resumed one computes fewer). */
static int study_resumes(void) {
    char *p = outp("study"), cmd[2400];
    int ok = 1;
    if (sa_is_dir(p)) {
        sa_error e2 = {0};
        ok = study_in(p, 1, &e2) == SA_OK;
        if (!ok) fprintf(stderr, "resume after the failure: %s\n", e2.msg);
        snprintf(cmd, sizeof cmd, /* a, b: the two sides without that line, beside out/ */
                 "R='%s' && cd '%s' && rc=0 && for f in study.json trials.jsonl kl_prompts.json "
                 "front.json report.md; do grep -v '^HDR thresholds' \"$f\" > \"$R/a\"; "
                 "grep -v '^HDR thresholds' \"$R/ref/study/$f\" > \"$R/b\"; "
                 "diff \"$R/a\" \"$R/b\" >&2 || "
                 "{ echo \"resumed study: $f differs\" >&2; rc=1; break; }; done; "
                 "rm -f \"$R/a\" \"$R/b\"; exit $rc",
                 root, p);
        ok = ok && system(cmd) == 0;
    }
    clear_out();
    return ok;
}

/* in/study.yml and the first four items of four of the organisms' held-out sets. */
static int study_fixture(void) {
    static const char *const sets[] = {"advbench", "xstest_safe", "benign", "addition"};
    char path[900], line[4096], text[8192];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/eval/%s.jsonl", models, sets[i]);
        FILE *f = fopen(path, "r");
        text[0] = 0;
        for (int k = 0; f && k < 4 && fgets(line, sizeof line, f); k++)
            strncat(text, line, sizeof text - strlen(text) - 1);
        if (f) fclose(f);
        snprintf(path, sizeof path, "%s/%s.jsonl", in, sets[i]);
        if (!text[0] || write_text(path, text)) return -1;
    }
    snprintf(text, sizeof text,
             "method: hdr\ninputs: {target: %s/sft, base: %s/base, harmful: %s/harmful}\n"
             "space: {top_k: {range: [2, 40], log: true}, lambda: {range: [0.25, 3]}}\n"
             "datasets:\n  files: [advbench.jsonl, xstest_safe.jsonl, benign.jsonl, "
             "addition.jsonl]\n  tune_fraction: 0.5\n  seed: 3\n"
             "eval:\n  prompt_template: %s/eval/chat_prompt.txt\n"
             "  judge: refusal:%s/eval/judge_keywords.txt:name=keywords\n"
             "  max_new_tokens: 2\n  batch: 4\nkl: {prompts: 1, answer_tokens: 1}\n"
             "search: {trials: 2, initial: 2, seed: 5, early_stop: 0}\n",
             models, models, models, models, models);
    sa_error err;
    return write_text(in_path(study_recipe, "study.yml"), text) ||
           study_in(in_path(study_done, "study-done"), 0, &err);
}

static int fixtures(void) {
    return fault_fixture_write(root, 2) || study_fixture();
}

int main(void) {
    static const alloc_entry entries[] = {
        {"tune study", run_study, 1201, study_resumes},
        {"tune apply", run_apply, 3, NULL},
    };
    return alloc_loop_main(entries, sizeof entries / sizeof *entries, fixtures, NULL);
}
#endif
