/* backend_server.c: the evaluation backend behind an OpenAI-compatible HTTP API (vLLM, TGI,
 * SGLang, llama.cpp's llama-server), through libcurl's multi interface.
 *
 * A generation call sends its prompts through a sliding window of requests (server_window.c):
 * `concurrency` in flight at all times, each answer stored at its prompt's index, so the result
 * never depends on timing, and generate_stream hands the answers over in prompt order as soon as
 * the leading ones are complete, so the runner commits rows while later requests still run.
 * Requests are retried (with backoff and jitter, or the server's Retry-After) on what is worth
 * retrying, including a 200 whose body is not the expected JSON (torn, malformed, no choices);
 * other HTTP statuses stop the call at once with the server's message (a bad model name, a bad
 * key), and so does a request still failing after `retries` retries; the answers not yet handed
 * over stay in out[] (the runner keeps those that follow the handed-over ones without a gap).
 *
 * The API key travels only in the Authorization header; messages name the URL without user
 * information or query (sa_eval_url_public). Chat prompts are rendered by chat() into the JSON
 * message list that generate() sends to /chat/completions; other prompts go to /completions. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval/eval_json.h"
#include "eval/server_window.h"
#include "formats/jsonl.h"
#include "safearith/eval.h"

typedef struct server {
    CURLM *multi;
    char *base;  /* API base without a trailing '/' */
    char *shown; /* the same without credentials, for messages */
    char *model; /* "model" of each request, or NULL */
    char *auth;  /* "Authorization: Bearer KEY", or NULL */
    sa_eval_server_opts o;
    uint64_t rng;
} server;

/* ---- generation ---- */

typedef struct gen_ctx {
    const char *model;
    const sa_eval_gen_stream *job;
} gen_ctx;

static sa_status gen_payload(void *ud, int i, char **body, sa_error *err) {
    const gen_ctx *g = ud;
    int chat = g->job->templated && g->job->templated[i];
    const char *p = g->job->prompts[i];
    if ((*body = sa_eval_server_request(g->model, p, chat, g->job->dec))) return SA_OK;
    while (chat && (*p == ' ' || *p == '\n')) p++;
    if (chat && (*p != '[' || !sa_json_syntax_ok(p, strlen(p))))
        return sa_error_set(err, SA_EINVAL, "prompt %d: not a rendered chat message list", i + 1);
    return sa_error_set(err, SA_ENOMEM, "prompt %d: out of memory", i + 1);
}

static sa_win_outcome on_generation(void *ud, int i, const char *body, size_t len, char *why,
                                    size_t wn) {
    const gen_ctx *g = ud;
    int chat = g->job->templated && g->job->templated[i];
    sa_eval_gen_info *info = g->job->info ? &g->job->info[i] : NULL;
    sa_error e = {0};
    if (sa_eval_server_parse_response(body, len, chat, &g->job->out[i], info, &e)) {
        snprintf(why, wn, "%s", e.msg);
        return e.code == SA_ENOMEM ? SA_WIN_NOMEM : SA_WIN_RETRY;
    }
    return SA_WIN_OK;
}

/* Chat prompts go to /chat/completions, others to /completions (sa_win_job.which). */
static sa_status server_generate_stream(void *ud, sa_eval_gen_stream *job, sa_error *err) {
    server *s = ud;
    static const char *const path[2] = {"/completions", "/chat/completions"};
    char *url[2] = {NULL, NULL}, *shown[2] = {NULL, NULL};
    sa_status st = SA_OK;
    for (int k = 0; k < 2 && !st; k++) {
        size_t ul = strlen(s->base) + strlen(path[k]) + 1;
        size_t sl = strlen(s->shown) + strlen(path[k]) + 1;
        if (!(url[k] = malloc(ul)) || !(shown[k] = malloc(sl)))
            st = sa_error_set(err, SA_ENOMEM, "out of memory");
        else
            snprintf(url[k], ul, "%s%s", s->base, path[k]),
                snprintf(shown[k], sl, "%s%s", s->shown, path[k]);
    }
    for (int i = 0; i < job->n; i++) {
        job->out[i] = NULL;
        if (job->info) job->info[i] = (sa_eval_gen_info){"", -1, -1};
    }
    gen_ctx g = {s->model, job};
    sa_win_job w = {{url[0], url[1]},
                    {shown[0], shown[1]},
                    job->templated,
                    job->n,
                    job->window,
                    gen_payload,
                    on_generation,
                    &g,
                    job->deliver,
                    job->ctx,
                    -1};
    sa_win_client c = {s->multi, &s->o, s->auth, &s->rng};
    if (!st) st = sa_win_transfer(&c, &w, err);
    job->failed = w.failed;
    for (int k = 0; k < 2; k++) free(url[k]), free(shown[k]);
    return st;
}

static sa_status server_generate(void *ud, int n, const char *const *prompts,
                                 const uint8_t *templated, const sa_eval_decoding *dec, char **out,
                                 sa_eval_gen_info *info, sa_error *err) {
    sa_eval_gen_stream job = {n, prompts, templated, dec, out, info, n, NULL, NULL, -1};
    return server_generate_stream(ud, &job, err);
}

/* ---- chat rendering: the message list itself ---- */

static sa_status messages(int n, const char *const *roles, const char *const *texts, char **out,
                          sa_error *err) {
    sa_jb jb = {0}; /* a message without its content would still be sent */
    cJSON *a = cJSON_CreateArray();
    if (!a) jb.oom = 1;
    for (int i = 0; i < n && !jb.oom; i++) {
        if (!texts[i]) continue;
        cJSON *m = sa_jb_obj(&jb, a, NULL);
        sa_jb_str(&jb, m, "role", roles[i]);
        sa_jb_str(&jb, m, "content", texts[i]);
    }
    *out = jb.oom ? NULL : cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return *out ? SA_OK : sa_error_set(err, SA_ENOMEM, "out of memory");
}

static sa_status server_chat(void *ud, const char *system, const char *user, char **out,
                             sa_error *err) {
    (void)ud;
    const char *roles[] = {"system", "user"}, *texts[] = {system, user};
    return messages(2, roles, texts, out, err);
}

static sa_status server_chat_turns(void *ud, int n, const char *const *roles,
                                   const char *const *texts, char **out, sa_error *err) {
    (void)ud;
    return messages(n, roles, texts, out, err);
}

static void server_destroy(void *ud) {
    server *s = ud;
    if (!s) return;
    if (s->multi) curl_multi_cleanup(s->multi);
    if (s->auth) memset(s->auth, 0, strlen(s->auth));
    free(s->base), free(s->shown), free(s->model), free(s->auth);
    free(s);
    curl_global_cleanup();
}

/* ---- the served model's name (GET {base}/models) ----
 * A server running one model (llama-server) answers whatever "model" a request names; one that
 * serves several (vLLM with adapters) lists them and refuses unknown names with a 404, which
 * stops the run with its message. So a requested name that is not listed is not an error here:
 * the name recorded is then the first listed, the model actually serving. */

typedef struct models_ctx {
    const char *wanted;
    char *name;
} models_ctx;

static sa_win_outcome on_models(void *ud, int i, const char *body, size_t len, char *why,
                                size_t wn) {
    models_ctx *m = ud;
    (void)i;
    cJSON *o = NULL;
    sa_error pe = {0};
    if (sa_json_parse(body, len, "models", &o, &pe) == SA_ENOMEM) {
        snprintf(why, wn, "out of memory");
        return SA_WIN_NOMEM;
    }
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data"), *e;
    if (!cJSON_IsArray(data)) {
        cJSON_Delete(o);
        snprintf(why, wn, "the model list is not {\"data\": [...]}");
        return SA_WIN_RETRY;
    }
    cJSON_ArrayForEach(e, data) { /* the requested model if listed, else the first */
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        if (!cJSON_IsString(id)) continue;
        if (!m->name || (m->wanted && !strcmp(m->wanted, id->valuestring))) {
            free(m->name);
            if (!(m->name = strdup(id->valuestring))) break; /* not "no model listed" */
        }
    }
    int oom = e != NULL;
    cJSON_Delete(o);
    if (oom) snprintf(why, wn, "out of memory");
    return oom ? SA_WIN_NOMEM : SA_WIN_OK;
}

static sa_status served_model(server *s, char **name, sa_error *err) {
    size_t ul = strlen(s->base) + 8, sl = strlen(s->shown) + 8;
    char *url = malloc(ul), *shown = malloc(sl);
    if (!url || !shown) {
        free(url), free(shown);
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    snprintf(url, ul, "%s/models", s->base), snprintf(shown, sl, "%s/models", s->shown);
    models_ctx m = {s->model, NULL};
    sa_win_job j = {{url, url}, {shown, shown}, NULL, 1, 1, NULL, on_models, &m, NULL, NULL, -1};
    sa_win_client c = {s->multi, &s->o, s->auth, &s->rng};
    sa_status st = sa_win_transfer(&c, &j, err);
    if (!st && !m.name)
        st = s->model
                 ? sa_error_set(err, SA_EINVAL, "%s lists no model named '%s'", shown, s->model)
                 : sa_error_set(err, SA_EFORMAT, "%s lists no model", shown);
    free(url), free(shown);
    *name = m.name;
    return st;
}

sa_status sa_eval_backend_server(const sa_eval_server_opts *o, sa_eval_backend *out,
                                 char **reported_model, sa_error *err) {
    if (reported_model) *reported_model = NULL;
    sa_status bad = sa_eval_url_check(o->url, "--server", err);
    if (bad) return bad;
    if (curl_global_init(CURL_GLOBAL_DEFAULT))
        return sa_error_set(err, SA_EIO, "libcurl could not start");
    server *s = calloc(1, sizeof *s);
    if (!s) {
        curl_global_cleanup();
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    s->o = *o;
    s->o.concurrency = o->concurrency > 0 ? o->concurrency : 4;
    s->o.retries = o->retries >= 0 ? o->retries : 0;
    s->o.timeout_s = o->timeout_s > 0 ? o->timeout_s : 600;
    s->rng = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)s;
    s->base = strdup(o->url);
    s->shown = sa_eval_url_public(o->url);
    s->model = o->model ? strdup(o->model) : NULL;
    s->multi = curl_multi_init();
    sa_status st = (!s->base || !s->shown || !s->multi || (o->model && !s->model))
                       ? sa_error_set(err, SA_ENOMEM, "out of memory")
                       : SA_OK;
    for (size_t l; !st && (l = strlen(s->base)) && s->base[l - 1] == '/';) s->base[l - 1] = 0;
    for (size_t l; !st && (l = strlen(s->shown)) && s->shown[l - 1] == '/';) s->shown[l - 1] = 0;
    if (!st && o->api_key && *o->api_key) {
        size_t n = strlen(o->api_key) + 32;
        if ((s->auth = malloc(n))) snprintf(s->auth, n, "Authorization: Bearer %s", o->api_key);
    }
    char *name = NULL;
    if (!st) st = served_model(s, &name, err);
    if (!st && !s->model && !(s->model = strdup(name)))
        st = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (st) {
        free(name);
        server_destroy(s);
        return st;
    }
    if (reported_model)
        *reported_model = name;
    else
        free(name);
    *out = (sa_eval_backend){s,
                             server_generate,
                             NULL,
                             server_chat,
                             server_destroy,
                             server_chat_turns,
                             server_generate_stream};
    return SA_OK;
}
