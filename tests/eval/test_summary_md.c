/* test_summary_md.c: the Markdown rendering of an evaluation summary (sa_eval_summary_markdown):
 * the exact rows of a small summary, names that would break a table escaped, and a summary with
 * fields missing (as a user's hand-made one may be) rendered without a crash. */
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "eval/eval_json.h"
#include "safearith/eval.h"

static const char *RUN = "{\"settings\": {\"model\": {\"path\": \"models/m\"},"
                         " \"prompting\": {\"mode\": \"chat\"},"
                         " \"decoding\": {\"mode\": \"greedy\"}},"
                         " \"info\": {\"version\": \"9.9\"}}";

static const char *SUMMARY =
    "{\"rows\": 3, \"complete\": false, \"fingerprint\": \"0123456789abcdef0123\","
    " \"overall\": {\"mean_asr\": 0.5},"
    " \"groups\": ["
    "  {\"group\": \"adv|bench\", \"kind\": \"harmful\", \"judges\": ["
    "    {\"judge\": \"refusal\", \"metric\": \"asr\", \"value\": 0.5, \"rate\": 0.5,"
    "     \"ci95\": [0.095, 0.905], \"k\": 1, \"n\": 2, \"unparseable\": 1,"
    "     \"by_category\": [{\"category\": \"a|b\\nc\", \"rate\": 1, \"ci95\": [0.2, 1],"
    "                        \"k\": 1, \"n\": 1, \"unparseable\": 0}]}]},"
    "  {\"group\": \"qa\", \"kind\": \"utility\","
    "   \"utility\": {\"metric\": \"exact\", \"value\": 0.25, \"rate\": 0.25,"
    "                 \"ci95\": [0.05, 0.7], \"k\": 1, \"n\": 4}},"
    "  {\"group\": \"bare\", \"kind\": \"harmful\", \"judges\": [{\"judge\": \"j\"}]}]}";

static void check_has(const char *md, const char *line) {
    CHECK_MSG(strstr(md, line) != NULL, "summary.md lacks \"%s\":\n%s", line, md);
}

int main(void) {
    cJSON *run = cJSON_Parse(RUN), *summary = cJSON_Parse(SUMMARY);
    CHECK(run && summary);
    char *md = sa_eval_summary_markdown(summary, run);
    CHECK(md != NULL);
    if (md) {
        check_has(md, "- model: `models/m`\n- prompt: chat\n- decoding: `{\"mode\":\"greedy\"}`\n");
        check_has(md, "- rows: 3 (INCOMPLETE); fingerprint `0123456789abcdef`\n");
        check_has(md, "- safearith 9.9\n- mean ASR over groups: 50.00 %\n");
        check_has(
            md,
            "\n| adv\\|bench | harmful | refusal: asr | 50.00 | 50.00 | 9.5–90.5 | 1/2 | 1 |\n");
        check_has(md, "\n| qa | utility | exact | 25.00 | 25.00 | 5.0–70.0 | 1/4 | – |\n");
        /* the judge without any numbers: zeros, not a crash */
        check_has(md, "\n| bare | harmful | j:  | 0.00 | 0.00 | 0.0–0.0 | 0/0 | 0 |\n");
        check_has(md, "\n## adv\\|bench, asr by category (refusal)\n");
        check_has(md, "\n| a\\|b c | 100.00 | 20.0–100.0 | 1/1 | 0 |\n");
        CHECK(strstr(md, "mean over-refusal") == NULL);
    }
    free(md);
    /* no settings, no groups: a header and an empty table */
    cJSON *empty = cJSON_CreateObject();
    md = sa_eval_summary_markdown(empty, empty);
    CHECK(md != NULL && strstr(md, "- rows: 0; fingerprint ``\n") != NULL);
    free(md);
    cJSON_Delete(empty);
    cJSON_Delete(run);
    cJSON_Delete(summary);
    return CHECK_DONE();
}
