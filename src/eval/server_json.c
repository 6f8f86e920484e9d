/* server_json.c: the bodies of an OpenAI-compatible API: requests out, responses and errors in.
 *
 * Requests: POST {base}/completions {model, prompt, ...} for raw and template prompting, POST
 * {base}/chat/completions {model, messages, ...} for chat prompting (the messages come from the
 * server backend's chat rendering, a JSON array). Decoding maps onto max_tokens, temperature,
 * top_p, seed, stop (and top_k, an extension vLLM and llama-server accept, only when set).
 * Responses:
 * choices[0].text or choices[0].message.content, finish_reason, usage. A body that is not JSON,
 * has no choices or no text is "malformed": the transport retries it as it would a dropped
 * connection. Error bodies {"error": {"message": ...}} give the server's own words. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/json_build.h"
#include "formats/jsonl.h"
#include "safearith/eval.h"

char *sa_eval_server_request(const char *model, const char *prompt, int chat,
                             const sa_eval_decoding *dec) {
    sa_jb jb = {0}; /* a dropped field would let the server pick, say, its own temperature */
    cJSON *r = sa_jb_root(&jb);
    if (model && *model) sa_jb_str(&jb, r, "model", model);
    if (chat) {
        cJSON *msgs = cJSON_Parse(prompt);
        if (!cJSON_IsArray(msgs)) {
            cJSON_Delete(msgs), cJSON_Delete(r);
            return NULL;
        }
        sa_jb_add(&jb, r, "messages", msgs);
    } else
        sa_jb_str(&jb, r, "prompt", prompt);
    sa_jb_num(&jb, r, "max_tokens", dec->max_new_tokens);
    sa_jb_num(&jb, r, "temperature", dec->temperature > 0 ? dec->temperature : 0);
    if (dec->temperature > 0) {
        sa_jb_num(&jb, r, "top_p", dec->top_p > 0 && dec->top_p < 1 ? dec->top_p : 1);
        if (dec->top_k > 0) sa_jb_num(&jb, r, "top_k", dec->top_k);
    }
    sa_jb_num(&jb, r, "seed", (double)(dec->seed & ((1ull << 53) - 1)));
    if (dec->n_stop > 0) {
        cJSON *stop = sa_jb_arr(&jb, r, "stop");
        for (int i = 0; i < dec->n_stop; i++) sa_jb_str(&jb, stop, NULL, dec->stop[i]);
    }
    sa_jb_bool(&jb, r, "stream", 0);
    char *s = jb.oom ? NULL : cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    return s;
}

static long usage_count(const cJSON *usage, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(usage, k);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e15 ? (long)v->valuedouble
                                                                             : -1;
}

sa_status sa_eval_server_parse_response(const char *body, size_t len, int chat, char **text,
                                        sa_eval_gen_info *info, sa_error *err) {
    *text = NULL;
    cJSON *o = NULL;
    sa_status st = sa_json_parse(body, len, "response", &o, err);
    if (st == SA_ENOMEM) return sa_error_set(err, st, "out of memory (reading the response)");
    if (st) return sa_error_set(err, SA_EFORMAT, "malformed JSON in the response body");
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(o, "choices");
    const cJSON *c0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
    const cJSON *t = NULL;
    if (chat)
        t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c0, "message"),
                                             "content");
    else
        t = cJSON_GetObjectItemCaseSensitive(c0, "text");
    if (!cJSON_IsObject(c0))
        st = sa_error_set(err, SA_EFORMAT, "the response has no choices");
    else if (!cJSON_IsString(t))
        st = sa_error_set(err, SA_EFORMAT, "the response's first choice has no %s",
                          chat ? "message.content" : "text");
    else if (!(*text = strdup(t->valuestring)))
        st = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (!st && info) {
        const cJSON *fr = cJSON_GetObjectItemCaseSensitive(c0, "finish_reason");
        snprintf(info->finish_reason, sizeof info->finish_reason, "%s",
                 cJSON_IsString(fr) ? fr->valuestring : "");
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "usage");
        info->prompt_tokens = usage_count(u, "prompt_tokens");
        info->completion_tokens = usage_count(u, "completion_tokens");
    }
    cJSON_Delete(o);
    return st;
}

char *sa_eval_server_error_message(const char *body, size_t len) {
    cJSON *o = cJSON_ParseWithLength(body, len);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : e;
    if (!cJSON_IsString(m)) m = cJSON_GetObjectItemCaseSensitive(o, "message");
    char buf[200];
    if (cJSON_IsString(m))
        snprintf(buf, sizeof buf, "%s", m->valuestring);
    else
        snprintf(buf, sizeof buf, "%.*s", (int)(len < 160 ? len : 160), body ? body : "");
    cJSON_Delete(o);
    /* one line: control characters become spaces */
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20) *p = ' ';
    return strdup(buf);
}
