/* test_alloc_faults.c: every main entry point of the library, with each of its allocations failing
 * in turn (the loop and its checks: tests/common/alloc_loop.h): safetensors read and write, hdr,
 * resta, merge, GGUF export, model and tokenizer load, icv, an evaluation on the fake backend (its
 * steps and the whole of sa_eval_execute), on our engine and through an OpenAI-compatible server
 * (openai_fake.py on loopback), re-judging, report and loading a tune recipe (whole studies:
 * tests/tune/test_alloc_faults_tune.c). An evaluation that failed part-way may leave its run
 * directory, which must resume to the whole run. Every failure must be reported as SA_ENOMEM:
 * not, as it once was, a good tokenizer.json called "not valid JSON" because cJSON could not
 * allocate (formats/json_syntax.c tells them apart).
 * Needs -DSA_ALLOC_FAULTS=ON (exit status 77, skipped, otherwise). */
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/check.h"
#include "common/test_files.h"
#include "common/tiny_llama.h"
#include "core/alloc.h"
#include "core/fsutil.h"
#include "eval/eval_json.h"
#include "safearith/arith.h"
#include "safearith/eval.h"
#include "safearith/gguf.h"
#include "safearith/model.h"
#include "safearith/steer.h"
#include "safearith/tokenizer.h"
#include "safearith/tune.h"

#ifndef SA_ALLOC_FAULTS
int main(void) {
    printf("test_alloc_faults: skipped (configure with -DSA_ALLOC_FAULTS=ON)\n");
    (void)check_passed, (void)check_failed;
    return 77;
}
#else

#include "common/alloc_loop.h"

static char ref_run[700];

/* ---- the entry points: each cleans up after itself and returns its status ---- */

static sa_status ckpt_read(sa_error *err) {
    sa_checkpoint *ck = NULL;
    sa_status st = sa_ckpt_open(organism, &ck, err);
    for (size_t i = 0; st == SA_OK && i < sa_ckpt_count(ck); i++) {
        const sa_st_tensor *t = sa_ckpt_tensor(ck, i);
        float *buf = malloc(t->numel * sizeof *buf);
        if (!buf) return sa_ckpt_close(ck), SA_ENOMEM; /* the test's own, not injected */
        st = sa_tensor_read_f32(t, buf, err);
        free(buf);
    }
    sa_ckpt_close(ck);
    return st;
}

static sa_status ckpt_write(sa_error *err) {
    static const float a[6] = {1, 2, 3, 4, 5, 6}, b[2] = {-1, 0.5f};
    sa_st_f32_tensor t[2] = {{"a", 2, {2, 3}, a}, {"b", 1, {2}, b}};
    static const char *const meta[] = {"k", "v", NULL};
    char *p = outp("w.safetensors");
    sa_status st = sa_st_write_f32_file(p, t, 2, meta, 0, err);
    return st;
}

static sa_status run_hdr(sa_error *err) {
    char *p = outp("hdr");
    sa_arith_opts o;
    sa_arith_opts_init(&o);
    o.output = p, o.no_model_card = 1;
    sa_hdr_opts h;
    sa_hdr_opts_init(&h);
    h.lambda = 1;
    sa_hdr_result res;
    sa_status st = sa_hdr(m_a, m_b, m_c, &h, &o, &res, err);
    return st;
}

static sa_status run_resta(sa_error *err) {
    char *p = outp("resta");
    sa_arith_opts o;
    sa_arith_opts_init(&o);
    o.output = p, o.out_dtype = SA_BF16, o.no_model_card = 1;
    sa_resta_opts r;
    sa_resta_opts_init(&r);
    r.beta = 0.5, r.dare_p = 0.3, r.seed = 7, r.rescale = SA_RESCALE_L1;
    sa_status st = sa_resta(m_a, m_b, m_c, &r, &o, err);
    return st;
}

static sa_status run_merge(sa_error *err) {
    sa_merge_recipe *r = NULL;
    sa_status st = sa_merge_recipe_load(recipe, &r, err);
    if (st != SA_OK) return st;
    char *p = outp("merge");
    sa_arith_opts o;
    sa_arith_opts_init(&o);
    o.output = p, o.max_shard_bytes = 1000, o.no_model_card = 1; /* small shards: an index too */
    st = sa_merge(r, &o, err);
    sa_merge_recipe_free(r);
    return st;
}

static sa_status model_load(sa_error *err) {
    sa_model *m = NULL;
    sa_status st = sa_model_load(organism, &m, err);
    sa_model_free(m);
    return st;
}

static sa_status tokenizer_load(sa_error *err) {
    sa_tokenizer *t = NULL;
    sa_status st = sa_tokenizer_load(organism, &t, err);
    sa_tokenizer_free(t);
    return st;
}

static char tune_recipe[700], tune_fingerprint[65];

/* A recipe that loads despite a failed allocation must be the same recipe (its fingerprint
 * covers the canonical text, the defaults filled in, and the data files' checksums). */
static sa_status tune_recipe_load(sa_error *err) {
    sa_tune_recipe *r = NULL;
    sa_status st = sa_tune_recipe_load(tune_recipe, &r, err);
    if (!st && !tune_fingerprint[0])
        snprintf(tune_fingerprint, sizeof tune_fingerprint, "%s", sa_tune_recipe_fingerprint(r));
    else if (!st)
        CHECK_MSG(!strcmp(sa_tune_recipe_fingerprint(r), tune_fingerprint),
                  "tune recipe: loaded despite a failed allocation, as another recipe");
    sa_tune_recipe_free(r);
    return st;
}

static sa_status run_icv(sa_error *err) {
    sa_pairs pairs = {0};
    sa_model *m = NULL;
    sa_tokenizer *tok = NULL;
    sa_cvec cv = {0};
    sa_status st = sa_pairs_read(pairs_path, &pairs, err);
    if (st == SA_OK) st = sa_model_load(organism, &m, err);
    if (st == SA_OK) st = sa_tokenizer_load(organism, &tok, err);
    sa_icv_opts o;
    sa_icv_opts_init(&o);
    o.batch = 2, o.n_threads = 1;
    if (st == SA_OK)
        st = sa_icv_compute(m, tok, &pairs, pairs_path, &o, &cv, NULL, NULL, NULL, err);
    char *p = outp("icv.gguf");
    if (st == SA_OK) st = sa_cvec_write(p, &cv, 0, err);
    sa_cvec_free(&cv);
    sa_tokenizer_free(tok);
    sa_model_free(m);
    sa_pairs_free(&pairs);
    return st;
}

/* An evaluation on the fake backend: three datasets (judged generation, multiple choice, QA by
 * exact match), the default refusal judge, then the summary; the same steps as `safearith eval`. */
static sa_status eval_in(const char *dir, int resume, sa_error *err) {
    sa_eval_dataset_spec spec[3] = {{0}};
    sa_eval_dataset ds[3] = {{0}};
    sa_eval_judge judge = {0};
    sa_eval_backend be = {0};
    const char *specs[3] = {ds_harm, ds_mcq, ds_qa};
    sa_status st = SA_OK;
    int n_ds = 0;
    for (; st == SA_OK && n_ds < 3; n_ds++) {
        st = sa_eval_dataset_spec_parse(specs[n_ds], &spec[n_ds], err);
        if (st == SA_OK) st = sa_eval_dataset_load(&spec[n_ds], &ds[n_ds], err);
    }
    if (st == SA_OK) st = sa_eval_judge_parse("refusal", NULL, &judge, NULL, err);
    if (st == SA_OK) st = sa_eval_backend_fake(0, &be, err);
    cJSON *settings = cJSON_CreateObject(), *info = cJSON_CreateObject();
    if (st == SA_OK && (!settings || !info || !cJSON_AddStringToObject(settings, "model", "fake")))
        st = sa_error_set(err, SA_ENOMEM, "settings");
    sa_eval_rundir rd;
    memset(&rd, 0, sizeof rd);
    int open = 0;
    if (st == SA_OK) st = sa_eval_rundir_open(dir, settings, info, resume, &rd, err);
    open = st == SA_OK;
    sa_eval_config cfg = {ds,
                          3,
                          {SA_PROMPT_RAW, NULL, NULL, NULL},
                          {.max_new_tokens = 16, .top_p = 1},
                          &judge,
                          1,
                          &be,
                          2,
                          NULL};
    if (st == SA_OK) st = sa_eval_run(&cfg, &rd, NULL, err);
    if (st == SA_OK) st = sa_eval_rundir_set_status(&rd, "complete", NULL, err);
    if (open) sa_eval_rundir_close(&rd);
    if (st == SA_OK) st = sa_eval_summarize(dir, err);
    cJSON_Delete(settings);
    cJSON_Delete(info);
    if (be.destroy) be.destroy(be.ud);
    sa_eval_judge_free(&judge);
    for (int i = 0; i < 3; i++) sa_eval_dataset_free(&ds[i]), sa_eval_dataset_spec_free(&spec[i]);
    return st;
}

static sa_status run_eval(sa_error *err) {
    char *p = outp("run");
    sa_status st = eval_in(p, 0, err);
    return st;
}

/* All of `safearith eval` in one call (sa_eval_execute): the settings it fingerprints (datasets
 * with checksums, judges, prompting, decoding), the rows, the summary. On the fake backend (url
 * NULL), or through the server at url (without the MCQ set: servers give no log likelihoods). */
static sa_status execute_on(const char *url, const char *dir, int resume, sa_error *err) {
    sa_eval_opts o;
    sa_eval_opts_init(&o);
    const char *all[3] = {ds_harm, ds_mcq, ds_qa}, *served[2] = {ds_harm, ds_qa};
    o.backend = url ? SA_EVAL_BACKEND_SERVER : SA_EVAL_BACKEND_FAKE;
    o.server.url = url, o.server.concurrency = 1;
    o.datasets = url ? served : all, o.n_datasets = url ? 2 : 3;
    o.decoding.max_new_tokens = 16;
    o.out = dir, o.resume = resume, o.version = "test";
    return sa_eval_execute(&o, NULL, err);
}

static sa_status execute_in(const char *dir, int resume, sa_error *err) {
    return execute_on(NULL, dir, resume, err);
}

/* The same on our engine with the organisms' base model: tokenizer, chat template, batched
 * generation and log likelihoods. */
static sa_status engine_in(const char *dir, int resume, sa_error *err) {
    sa_eval_opts o;
    sa_eval_opts_init(&o);
    const char *datasets[3] = {ds_harm, ds_mcq, ds_qa};
    o.backend = SA_EVAL_BACKEND_ENGINE, o.model = organism, o.threads = 1;
    o.datasets = datasets, o.n_datasets = 3;
    o.decoding.max_new_tokens = 4;
    o.out = dir, o.resume = resume, o.version = "test";
    return sa_eval_execute(&o, NULL, err);
}

static sa_status run_engine(sa_error *err) {
    return engine_in(outp("run"), 0, err);
}

static sa_status run_execute(sa_error *err) {
    return execute_in(outp("run"), 0, err);
}

/* The server: tests/eval/openai_fake.py on loopback, started once (its answers depend only on
 * the prompt); one request in flight, so that the allocations come in the same order each time. */
static char server_url[100];
static pid_t server_pid;

static int server_start(void) {
    const char *src = getenv("SA_SOURCE_DIR"), *py = getenv("SA_PYTHON");
    char script[700], portfile[700];
    snprintf(script, sizeof script, "%s/tests/eval/openai_fake.py", src ? src : "../..");
    snprintf(portfile, sizeof portfile, "%s/port", root);
    py = py ? py : "/usr/bin/python3";
    if ((server_pid = fork()) == 0) {
        execl(py, py, script, "--portfile", portfile, (char *)NULL);
        _exit(127);
    }
    int port = 0;
    for (int tries = 0; server_pid > 0 && !port && tries < 200; tries++) {
        FILE *f = fopen(portfile, "r");
        if (!f || fscanf(f, "%d", &port) != 1) port = 0, usleep(50000);
        if (f) fclose(f);
    }
    snprintf(server_url, sizeof server_url, "http://127.0.0.1:%d/v1", port);
    return port ? 0 : -1;
}

static void server_stop(void) {
    if (server_pid <= 0) return;
    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);
}

static sa_status server_in(const char *dir, int resume, sa_error *err) {
    return execute_on(server_url, dir, resume, err);
}

static sa_status run_server(sa_error *err) {
    return server_in(outp("run"), 0, err);
}

/* Re-judging a finished run (a copy of the reference run) with a second, renamed refusal judge. */
static sa_status rejudge_in(const char *dir, sa_error *err) {
    sa_eval_opts o;
    sa_eval_opts_init(&o);
    const char *judges[1] = {"refusal:name=again"};
    o.judges = judges, o.n_judges = 1, o.out = dir;
    return sa_eval_rejudge(&o, NULL, err);
}

static sa_status run_rejudge(sa_error *err) {
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", ref_run, outp("run"));
    if (system(cmd)) return sa_error_set(err, SA_EIO, "cannot copy the run"); /* not injected */
    return rejudge_in(outp("run"), err);
}

static sa_status run_report(sa_error *err) {
    char *md = outp("report.md"), *svg = outp("report.svg"), *text = NULL;
    const char *dirs[2] = {ref_run, ref_run};
    sa_status st = sa_eval_report(2, dirs, NULL, md, svg, 0, &text, err);
    free(text);
    return st;
}

/* ---- checks ---- */

/* What a finished evaluation holds: one row per item (n_rows), each once, and a summary. */
static int eval_complete(const char *dir, int n_rows) {
    char cmd[900];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && test -s summary.json && test -s summary.md && "
             "test \"$(wc -l < responses.jsonl)\" = %d && "
             "test \"$(sed -E 's/^\\{\"ds\":([0-9]+),.*,\"i\":([0-9]+),.*/\\1 \\2/' "
             "responses.jsonl | sort -u | grep -c '^[0-9]* [0-9]*$')\" = %d",
             dir, n_rows, n_rows);
    return system(cmd) == 0;
}

/* An evaluation that failed part-way may leave its run directory: it must resume (again: with
 * the same entry point) to the whole run, no lost or doubled row. */
static int resumes(sa_status (*again)(const char *, int, sa_error *), int n_rows) {
    char *p = outp("run");
    int ok = 1;
    if (sa_is_dir(p)) {
        sa_error e2 = {0};
        ok = again(p, 1, &e2) == SA_OK && eval_complete(p, n_rows);
        if (!ok) fprintf(stderr, "resume after the failure: %s\n", e2.msg);
    }
    clear_out();
    return ok;
}

static int eval_resumes(void) {
    return resumes(eval_in, 6);
}
static int execute_resumes(void) {
    return resumes(execute_in, 6);
}
static int engine_resumes(void) {
    return resumes(engine_in, 6);
}
static int server_resumes(void) {
    return resumes(server_in, 4);
}

/* The run re-judged in place: a second try finishes it exactly. */
static int rejudge_finishes(void) {
    sa_error e2 = {0};
    int ok = rejudge_in(outp("run"), &e2) == SA_OK && same_as_reference();
    if (!ok) fprintf(stderr, "re-judging again after the failure: %s\n", e2.msg);
    clear_out();
    return ok;
}

/* ---- fixtures ---- */

static int fixtures(void) {
    sa_error err;
    if (fault_fixture_write(root, 2)) return -1;
    char text[4096]; /* relative paths, resolved against the recipe's directory */
    snprintf(text, sizeof text,
             "method: hdr\ninputs: {target: a, base: b, harmful: c}\n"
             "space: {top_k: {range: [5, 20], log: true}, lambda: [0.5, 1]}\n"
             "datasets: {tune: [%s], test: [%s]}\n"
             "eval: {judge: refusal, max_new_tokens: 4}\nsearch: {trials: 3}\n",
             ds_harm, ds_mcq);
    if (write_text(in_path(tune_recipe, "tune.yml"), text)) return -1;
    snprintf(ref_run, sizeof ref_run, "%s/ref-run", in);
    return eval_in(ref_run, 0, &err) == SA_OK && eval_complete(ref_run, 6) && !server_start() ? 0
                                                                                              : -1;
}

int main(void) {
    /* GGUF export, the engine and the server are sampled (a stride > 1) to keep CI short; every
     * allocation of them failed cleanly when they were added (SA_ALLOC_EVERY=1 runs them all) */
    static const alloc_entry entries[] = {
        {"safetensors read", ckpt_read, 1, NULL},
        {"safetensors write", ckpt_write, 1, NULL},
        {"hdr", run_hdr, 1, NULL},
        {"resta", run_resta, 1, NULL},
        {"merge", run_merge, 1, NULL},
        {"export gguf", run_export, 2, NULL},
        {"model load", model_load, 1, NULL},
        {"tokenizer load", tokenizer_load, 1, NULL},
        {"icv", run_icv, 1, NULL},
        {"eval", run_eval, 1, eval_resumes},
        {"eval execute", run_execute, 1, execute_resumes},
        {"eval server", run_server, 3, server_resumes},
        {"eval engine", run_engine, 3, engine_resumes},
        {"rejudge", run_rejudge, 1, rejudge_finishes},
        {"report", run_report, 1, NULL},
        {"tune recipe", tune_recipe_load, 1, NULL},
    };
    return alloc_loop_main(entries, sizeof entries / sizeof *entries, fixtures, server_stop);
}
#endif
