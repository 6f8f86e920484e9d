/* fuzz_rundir.c: any run directory resumed (sa_eval_rundir_open with resume): the input up to
 * its first NUL is run.json, where "@FP@" stands for the fingerprint of the fixed settings below
 * (so that mutations reach the rows), the rest responses.jsonl. Either an error with a message,
 * or a directory that takes a new row and a status; never a crash. */
#include "fuzz_util.h"
#include "eval/eval_json.h"
#include "safearith/eval.h"

static const char SETTINGS[] = "{\"model\": {\"path\": \"m\"}, \"datasets\": [{\"name\": \"d\"}]}";

/* text with every "@FP@" replaced by fp (malloc'd). */
static char *with_fingerprint(const char *text, const char *fp) {
    size_t n = strlen(text), cap = n * 16 + 1, o = 0;
    char *out = malloc(cap);
    if (!out) abort();
    for (size_t i = 0; i < n;) {
        if (!strncmp(text + i, "@FP@", 4)) {
            memcpy(out + o, fp, 64), o += 64, i += 4;
        } else {
            out[o++] = text[i++];
        }
    }
    out[o] = 0;
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *rows;
    size_t rows_n, run_len = fz_split(data, size, &rows, &rows_n);
    cJSON *settings = cJSON_Parse(SETTINGS);
    char fp[65], *run_text = fz_text(data, run_len);
    if (sa_eval_fingerprint(settings, fp, NULL) != SA_OK) abort();
    char *run_json = with_fingerprint(run_text, fp);
    fz_write("run/run.json", (const uint8_t *)run_json, strlen(run_json));
    fz_write("run/responses.jsonl", rows, rows_n);
    free(run_text), free(run_json);
    char dir[256];
    fz_path_keep("run", dir);
    sa_eval_rundir rd;
    sa_error err;
    if (sa_eval_rundir_open(dir, settings, NULL, 1, &rd, &err) != SA_OK) {
        if (!err.msg[0]) abort();
    } else {
        fz_consume((unsigned)sa_eval_rundir_has(&rd, 0, 1) + (unsigned)rd.n_done);
        cJSON *row = cJSON_Parse("{\"ds\": 0, \"i\": 2, \"dataset\": \"d\", \"group\": \"d\", "
                                 "\"kind\": \"harmful\"}");
        if (sa_eval_rundir_append(&rd, 1, &row, &err) != SA_OK ||
            sa_eval_rundir_set_status(&rd, "complete", NULL, &err) != SA_OK)
            abort();
        cJSON_Delete(row);
        sa_eval_rundir_close(&rd);
    }
    cJSON_Delete(settings);
    return 0;
}
