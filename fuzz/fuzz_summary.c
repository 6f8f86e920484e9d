/* fuzz_summary.c: any run directory through sa_eval_summarize: the input up to its first NUL is
 * run.json, the rest responses.jsonl. Either an error with a message, or summary.json and
 * summary.md both written; never a crash. */
#include "fuzz_util.h"
#include "safearith/eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t run_len = nul ? (size_t)(nul - data) : size;
    fz_write("run/run.json", data, run_len);
    fz_write("run/responses.jsonl", nul ? nul + 1 : data + size, nul ? size - run_len - 1 : 0);
    const char *js = fz_path("run/summary.json");
    char json_path[256], md_path[256];
    snprintf(json_path, sizeof json_path, "%s", js);
    snprintf(md_path, sizeof md_path, "%s", fz_path("run/summary.md"));
    remove(json_path), remove(md_path);
    char dir[256];
    snprintf(dir, sizeof dir, "%s", fz_path("run"));
    cJSON *summary = NULL;
    sa_error err;
    if (sa_eval_summarize(dir, &summary, &err) != SA_OK) {
        if (!err.msg[0] || summary) abort();
        return 0;
    }
    /* both files, and the object handed back */
    if (!summary || access(json_path, F_OK) || access(md_path, F_OK)) abort();
    fz_consume((unsigned)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(summary, "groups")));
    cJSON_Delete(summary);
    return 0;
}
