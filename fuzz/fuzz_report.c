/* fuzz_report.c: any summary.json (next to a fixed run.json) through the side-by-side report and
 * the Markdown summary: an error with a message, or Markdown; never a crash. The first byte picks
 * the report's judge (odd: "refusal", even: each run's first) and whether an SVG is drawn. */
#include "fuzz_util.h"
#include "eval/eval_json.h"
#include "safearith/eval.h"

static const char RUN_JSON[] = "{\"settings\": {\"model\": {\"path\": \"m\"}}, \"info\": "
                               "{\"version\": \"0\", \"label\": \"fuzz|run\"}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned mode = data[0];
    fz_write("run/run.json", (const uint8_t *)RUN_JSON, sizeof RUN_JSON - 1);
    fz_write("run/summary.json", data + 1, size - 1);
    const char *dirs[2];
    char dir[256];
    fz_path_keep("run", dir);
    dirs[0] = dirs[1] = dir;
    char svg[256];
    fz_path_keep("report.svg", svg);
    char *md = NULL;
    sa_error err;
    if (sa_eval_report(2, dirs, mode & 1 ? "refusal" : NULL, NULL, mode & 2 ? svg : NULL, 1, &md,
                       &err) != SA_OK) {
        if (!err.msg[0] || md) abort();
    } else {
        if (!md) abort();
        fz_consume((unsigned)strlen(md));
    }
    free(md);
    /* the same object straight into the run's Markdown summary */
    char *text = fz_text(data + 1, size - 1);
    cJSON *summary = cJSON_Parse(text), *run = cJSON_Parse(RUN_JSON);
    char *sm = summary ? sa_eval_summary_markdown(summary, run) : NULL;
    if (sm) fz_consume((unsigned)strlen(sm));
    free(sm), free(text);
    cJSON_Delete(summary), cJSON_Delete(run);
    return 0;
}
