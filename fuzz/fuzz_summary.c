/* fuzz_summary.c: any run directory through sa_eval_summarize: the input up to its first NUL is
 * run.json, the rest responses.jsonl. Either an error with a message, or summary.json and
 * summary.md both written; never a crash. */
#include "fuzz_util.h"
#include "eval/eval_json.h"
#include "safearith/eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *rows;
    size_t rows_n, run_n = fz_split(data, size, &rows, &rows_n);
    fz_write("run/run.json", data, run_n);
    fz_write("run/responses.jsonl", rows, rows_n);
    char json_path[256], md_path[256], dir[256];
    remove(fz_path_keep("run/summary.json", json_path));
    remove(fz_path_keep("run/summary.md", md_path));
    fz_path_keep("run", dir);
    cJSON *summary = NULL;
    sa_error err;
    if (sa_eval_summarize_json(dir, &summary, &err) != SA_OK) {
        if (!err.msg[0] || summary) abort();
        return 0;
    }
    /* both files, and the object handed back */
    if (!summary || access(json_path, F_OK) || access(md_path, F_OK)) abort();
    fz_consume((unsigned)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(summary, "groups")));
    cJSON_Delete(summary);
    return 0;
}
