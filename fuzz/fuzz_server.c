/* fuzz_server.c: any bytes as what an OpenAI-compatible server answers: the first byte picks the
 * endpoint (odd: chat) and the verdict style to read the text as; the rest is the body. It goes
 * through sa_eval_server_parse_response (a 200 answer), sa_eval_server_error_message (an error
 * body), and, as a judge's output, sa_judge_parse and sa_judge_details for Llama Guard and
 * WildGuard; the same bytes as a URL through sa_eval_url_public, sa_eval_url_authority_end and
 * sa_eval_url_check. Either a parsed text or an error with a message; a one-line error message;
 * never a crash. */
#include "eval/eval_json.h"
#include "fuzz_util.h"
#include "safearith/eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    int chat = data[0] & 1, wild = data[0] & 2;
    const char *body = (const char *)data + 1;
    size_t n = size - 1;
    char *text = NULL;
    sa_eval_gen_info info;
    sa_error err = {0};
    if (sa_eval_server_parse_response(body, n, chat, &text, &info, &err) == SA_OK) {
        if (!text ||
            strnlen(info.finish_reason, sizeof info.finish_reason) == sizeof info.finish_reason)
            abort();
        sa_judge_prompt jp = {.style = wild ? SA_JUDGE_WILDGUARD : SA_JUDGE_LLAMAGUARD};
        const char *label;
        int flag = sa_judge_parse(&jp, text, &label);
        if (flag < -1 || flag > 1 || !label) abort();
        sa_jb jb = {0};
        cJSON *d = cJSON_CreateObject();
        sa_judge_details(&jb, d, &jp, text);
        if (d && d->child && flag < 0 && jp.style == SA_JUDGE_LLAMAGUARD)
            abort(); /* details only if parsed */
        cJSON_Delete(d);
        free(text);
    } else if (text || !err.msg[0])
        abort();
    char *msg = sa_eval_server_error_message(body, n);
    if (!msg || strchr(msg, '\n') || strlen(msg) > 199) abort();
    free(msg);
    char *s = malloc(n + 1);
    if (!s) return 0;
    memcpy(s, body, n), s[n] = 0;
    char *pub = sa_eval_url_public(s);
    if (!pub || strchr(pub, '?')) abort();
    if (sa_eval_url_authority_end(s) > strlen(s)) abort();
    sa_status st = sa_eval_url_check(s, "--server", &err);
    if (st && (!err.msg[0] || strchr(err.msg, '\n'))) abort();
    free(pub), free(s);
    return 0;
}
