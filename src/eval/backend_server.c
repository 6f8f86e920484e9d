/* backend_server.c: the evaluation backend behind an OpenAI-compatible HTTP API (vLLM, TGI,
 * SGLang, llama.cpp's llama-server), through libcurl's multi interface.
 *
 * A generate call of n prompts keeps up to `concurrency` requests in flight, always launching
 * the lowest-numbered prompt that is ready, and stores each answer at its prompt's index, so the
 * result never depends on timing. Each request is retried, after an exponential backoff with
 * jitter (0.25 s doubling up to 30 s, times 0.5-1.5) or after the server's Retry-After when it is
 * longer, on what is worth retrying: no connection, a timeout, a connection dropped mid-body,
 * HTTP 429, 500, 502, 503, 504, and a 200 whose body is not the expected JSON (torn, malformed,
 * no choices, another content type). Other HTTP statuses stop the call at once with the server's
 * message (a bad model name, a bad key). A request still failing after `retries` retries stops
 * the call too; the answers already received stay in out[] (the runner keeps the leading ones).
 *
 * The API key travels only in the Authorization header; messages name the URL without user
 * information or query (sa_eval_url_public). Chat prompts are rendered by chat() into the JSON
 * message list that generate() sends to /chat/completions; other prompts go to /completions. */
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval/eval_json.h"
#include "eval/strbuf.h"
#include "safearith/eval.h"

#define MAX_BODY (64u << 20)

typedef struct server {
    CURLM *multi;
    char *base;  /* API base without a trailing '/' */
    char *shown; /* the same without credentials, for messages */
    char *model; /* "model" of each request, or NULL */
    char *auth;  /* "Authorization: Bearer KEY", or NULL */
    sa_eval_server_opts o;
    uint64_t rng;
} server;

/* One request's state across its attempts. */
typedef struct xfer {
    CURL *h;
    struct curl_slist *hdrs;
    sa_sbuf body;
    double retry_after; /* seconds the server asked for, < 0: none */
    double not_before;  /* monotonic time before which it must not start again */
    int attempt;        /* attempts made */
    int state;          /* WAITING, ACTIVE, DONE */
} xfer;

enum { WAITING, ACTIVE, DONE };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double uniform(server *s) { /* xorshift64*: jitter only, never a result */
    s->rng ^= s->rng >> 12, s->rng ^= s->rng << 25, s->rng ^= s->rng >> 27;
    return (double)((s->rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
    xfer *x = ud;
    if (x->body.n + size * n > MAX_BODY) return 0;
    sa_sbuf_append(&x->body, data, size * n);
    return x->body.oom ? 0 : size * n;
}

/* Retry-After: delay-seconds or an HTTP date. */
static size_t on_header(char *data, size_t size, size_t n, void *ud) {
    xfer *x = ud;
    size_t len = size * n;
    if (len > 12 && !strncasecmp(data, "retry-after:", 12)) {
        char v[64];
        snprintf(v, sizeof v, "%.*s", (int)(len - 12 < 63 ? len - 12 : 63), data + 12);
        char *e;
        double secs = strtod(v, &e);
        if (e == v) {
            time_t t = curl_getdate(v, NULL);
            secs = t > 0 ? difftime(t, time(NULL)) : -1;
        }
        x->retry_after = secs < 0 ? 0 : secs > 600 ? 600 : secs;
    }
    return len;
}

typedef enum outcome { GOT_OK, GOT_RETRY, GOT_FATAL } outcome;

/* What one finished attempt means; why gets a short reason for the error message. */
typedef outcome (*handler_fn)(void *ctx, int i, const char *body, size_t len, char *why, size_t wn);

static int retryable_status(long code) {
    return code == 429 || code == 500 || code == 502 || code == 503 || code == 504;
}

static int retryable_curl(CURLcode c) {
    return c == CURLE_COULDNT_CONNECT || c == CURLE_OPERATION_TIMEDOUT || c == CURLE_PARTIAL_FILE ||
           c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR || c == CURLE_GOT_NOTHING ||
           c == CURLE_COULDNT_RESOLVE_HOST || c == CURLE_BAD_CONTENT_ENCODING;
}

static sa_status start(server *s, xfer *x, const char *url, const char *payload, sa_error *err) {
    x->body.n = 0;
    if (x->body.s) x->body.s[0] = 0;
    x->retry_after = -1;
    if (!x->h && !(x->h = curl_easy_init())) return sa_error_set(err, SA_ENOMEM, "curl_easy_init");
    CURL *h = x->h;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(s->o.timeout_s * 1000));
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, s->o.insecure ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, s->o.insecure ? 0L : 2L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
    if (payload) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    }
    x->attempt++;
    x->state = ACTIVE;
    if (curl_multi_add_handle(s->multi, h) != CURLM_OK)
        return sa_error_set(err, SA_EIO, "curl_multi_add_handle failed");
    return SA_OK;
}

/* Classify a finished attempt; GOT_RETRY/GOT_FATAL fill why. */
static outcome finish(xfer *x, CURLcode cc, handler_fn handle, void *ctx, int i, char *why,
                      size_t wn) {
    long code = 0;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
    if (cc != CURLE_OK) {
        snprintf(why, wn, "%s", curl_easy_strerror(cc));
        return retryable_curl(cc) ? GOT_RETRY : GOT_FATAL;
    }
    if (code != 200) {
        char *msg = sa_eval_server_error_message(x->body.s ? x->body.s : "", x->body.n);
        snprintf(why, wn, "HTTP %ld: %s", code, msg ? msg : "");
        free(msg);
        return retryable_status(code) ? GOT_RETRY : GOT_FATAL;
    }
    const char *ct = NULL;
    curl_easy_getinfo(x->h, CURLINFO_CONTENT_TYPE, &ct);
    if (!ct || !strstr(ct, "json")) {
        snprintf(why, wn, "HTTP 200 with content type '%.40s', not JSON", ct ? ct : "none");
        return GOT_RETRY;
    }
    return handle(ctx, i, x->body.s ? x->body.s : "", x->body.n, why, wn);
}

/* Index of the lowest-numbered request ready to start, -1 if none; *wait gets the seconds until
 * the next one becomes ready (or 0.1). */
static int next_ready(xfer *xs, int n, double t, double *wait) {
    *wait = 0.1;
    for (int i = 0; i < n; i++) {
        if (xs[i].state != WAITING) continue;
        if (xs[i].not_before <= t) return i;
        if (xs[i].not_before - t < *wait) *wait = xs[i].not_before - t;
    }
    return -1;
}

/* POST payloads[i] (or GET when payloads is NULL) to url for i < n, up to concurrency at once,
 * with retries; handle() takes each 200 answer. */
static sa_status transfer_all(server *s, const char *url, const char *shown_url, int n,
                              const char *const *payloads, handler_fn handle, void *ctx,
                              sa_error *err) {
    xfer *xs = calloc((size_t)n, sizeof *xs);
    /* "Expect:" stops libcurl from waiting for a "100 Continue" before bodies over 1 KiB */
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (hdrs) hdrs = curl_slist_append(hdrs, "Expect:");
    if (hdrs && s->auth) hdrs = curl_slist_append(hdrs, s->auth);
    if (!xs || !hdrs) {
        free(xs), curl_slist_free_all(hdrs);
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    sa_status st = SA_OK;
    int active = 0, left = n;
    char why[300] = "";
    for (int i = 0; i < n; i++) xs[i].hdrs = hdrs;
    while (left && !st) {
        if (s->o.interrupted && s->o.interrupted()) {
            st = sa_error_set(err, SA_EINTR, "interrupted");
            break;
        }
        double wait, t = now_s();
        for (int i; active < s->o.concurrency && (i = next_ready(xs, n, t, &wait)) >= 0; active++)
            if ((st = start(s, &xs[i], url, payloads ? payloads[i] : NULL, err))) break;
        if (st) break;
        next_ready(xs, n, t, &wait);
        int running;
        curl_multi_perform(s->multi, &running);
        curl_multi_poll(s->multi, NULL, 0, (int)(wait * 1000) + 1, NULL);
        curl_multi_perform(s->multi, &running);
        CURLMsg *m;
        int q;
        while (!st && (m = curl_multi_info_read(s->multi, &q))) {
            if (m->msg != CURLMSG_DONE) continue;
            int i = 0;
            while (xs[i].h != m->easy_handle) i++;
            CURLcode cc = m->data.result;
            curl_multi_remove_handle(s->multi, xs[i].h);
            active--;
            outcome r = finish(&xs[i], cc, handle, ctx, i, why, sizeof why);
            if (r == GOT_OK) {
                xs[i].state = DONE, left--;
            } else if (r == GOT_RETRY && xs[i].attempt <= s->o.retries) {
                double b = fmin(0.25 * ldexp(1, xs[i].attempt - 1), 30) * (0.5 + uniform(s));
                if (xs[i].retry_after > b) b = xs[i].retry_after;
                xs[i].state = WAITING, xs[i].not_before = now_s() + b;
            } else {
                st = sa_error_set(err, SA_EIO, "%s %s: %s%s", payloads ? "POST" : "GET", shown_url,
                                  why, r == GOT_RETRY ? " (gave up after the retries)" : "");
            }
        }
    }
    for (int i = 0; i < n; i++) {
        if (xs[i].h) {
            if (xs[i].state == ACTIVE) curl_multi_remove_handle(s->multi, xs[i].h);
            curl_easy_cleanup(xs[i].h);
        }
        free(xs[i].body.s);
    }
    free(xs);
    curl_slist_free_all(hdrs);
    return st;
}

/* ---- generation ---- */

typedef struct gen_ctx {
    int chat;
    char **out;
    sa_eval_gen_info *info;
} gen_ctx;

static outcome on_generation(void *ud, int i, const char *body, size_t len, char *why, size_t wn) {
    gen_ctx *g = ud;
    sa_error e = {0};
    if (sa_eval_server_parse_response(body, len, g->chat, &g->out[i], g->info ? &g->info[i] : NULL,
                                      &e)) {
        snprintf(why, wn, "%s", e.msg);
        return e.code == SA_ENOMEM ? GOT_FATAL : GOT_RETRY;
    }
    return GOT_OK;
}

static sa_status post_group(server *s, int chat, int n, const char *const *prompts, int *idx,
                            const sa_eval_decoding *dec, char **out, sa_eval_gen_info *info,
                            sa_error *err) {
    if (!n) return SA_OK;
    const char *path = chat ? "/chat/completions" : "/completions";
    size_t ul = strlen(s->base) + strlen(path) + 1, sl = strlen(s->shown) + strlen(path) + 1;
    char *url = malloc(ul), *shown = malloc(sl), **body = calloc((size_t)n, sizeof *body);
    char **got = calloc((size_t)n, sizeof *got);
    sa_eval_gen_info *ginfo = calloc((size_t)n, sizeof *ginfo);
    sa_status st = (!url || !shown || !body || !got || !ginfo)
                       ? sa_error_set(err, SA_ENOMEM, "out of memory")
                       : SA_OK;
    if (!st) snprintf(url, ul, "%s%s", s->base, path), snprintf(shown, sl, "%s%s", s->shown, path);
    for (int i = 0; i < n && !st; i++)
        if (!(body[i] = sa_eval_server_request(s->model, prompts[idx[i]], chat, dec)))
            st = sa_error_set(err, SA_EINVAL, "prompt %d: not a rendered chat message list",
                              idx[i] + 1);
    gen_ctx g = {chat, got, ginfo};
    if (!st) st = transfer_all(s, url, shown, n, (const char *const *)body, on_generation, &g, err);
    for (int i = 0; i < n; i++) {
        if (got) out[idx[i]] = got[i];
        if (info && ginfo) info[idx[i]] = ginfo[i];
        free(body ? body[i] : NULL);
    }
    free(url), free(shown), free(body), free(got), free(ginfo);
    return st;
}

static sa_status server_generate(void *ud, int n, const char *const *prompts,
                                 const uint8_t *templated, const sa_eval_decoding *dec, char **out,
                                 sa_eval_gen_info *info, sa_error *err) {
    server *s = ud;
    int *idx = malloc(((size_t)n + 1) * sizeof *idx), k = 0;
    if (!idx) return sa_error_set(err, SA_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) out[i] = NULL;
    if (info)
        for (int i = 0; i < n; i++) info[i] = (sa_eval_gen_info){"", -1, -1};
    /* a call holds one kind of prompt in practice; each kind goes to its own endpoint */
    sa_status st = SA_OK;
    for (int chat = 0; chat < 2 && !st; chat++) {
        k = 0;
        for (int i = 0; i < n; i++)
            if ((templated && templated[i]) == chat) idx[k++] = i;
        st = post_group(s, chat, k, prompts, idx, dec, out, info, err);
    }
    free(idx);
    return st;
}

/* ---- chat rendering: the message list itself ---- */

static sa_status messages(int n, const char *const *roles, const char *const *texts, char **out,
                          sa_error *err) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n && a; i++) {
        if (!texts[i]) continue;
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", roles[i]);
        cJSON_AddStringToObject(m, "content", texts[i]);
        cJSON_AddItemToArray(a, m);
    }
    *out = a ? cJSON_PrintUnformatted(a) : NULL;
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

static outcome on_models(void *ud, int i, const char *body, size_t len, char *why, size_t wn) {
    models_ctx *m = ud;
    (void)i;
    cJSON *o = cJSON_ParseWithLength(body, len);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data"), *e;
    if (!cJSON_IsArray(data)) {
        cJSON_Delete(o);
        snprintf(why, wn, "the model list is not {\"data\": [...]}");
        return GOT_RETRY;
    }
    cJSON_ArrayForEach(e, data) { /* the requested model if listed, else the first */
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        if (!cJSON_IsString(id)) continue;
        if (!m->name || (m->wanted && !strcmp(m->wanted, id->valuestring))) {
            free(m->name);
            m->name = strdup(id->valuestring);
        }
    }
    cJSON_Delete(o);
    return GOT_OK;
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
    sa_status st = transfer_all(s, url, shown, 1, NULL, on_models, &m, err);
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
    *out =
        (sa_eval_backend){s, server_generate, NULL, server_chat, server_destroy, server_chat_turns};
    return SA_OK;
}
