/* server_window.c: n HTTP requests through a sliding window of libcurl transfers
 * (server_window.h).
 *
 * Each request has a state (waiting, in flight, answered) and an attempt count; `concurrency`
 * slots each hold one easy handle, reused from request to request. Every turn of the loop fills
 * the free slots with the lowest-numbered ready request: a retry whose backoff is over, else the
 * next request never started, as long as it lies within `window` of the first unanswered one
 * (which bounds the answers held back waiting for a slow one). Then it waits for the transfers,
 * classifies the finished ones, and hands over the run of answered requests that now follows the
 * last one handed over. The order of the answers never depends on timing; only when they are
 * handed over does. */
#include "eval/server_window.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval/eval_json.h"
#include "eval/strbuf.h"

#define MAX_BODY (64u << 20)

/* A transfer slot: one easy handle and the request it carries. */
typedef struct slot {
    CURL *h;
    sa_sbuf body;       /* the answer being received */
    char *payload;      /* the body being sent, or NULL */
    double retry_after; /* seconds the server asked for, < 0: none */
    int req;            /* the request it carries, -1: free */
} slot;

/* One request's state across its attempts. */
typedef struct req_state {
    double not_before; /* monotonic time before which it must not start again */
    int attempt;       /* attempts made */
    int state;         /* WAITING, ACTIVE, DONE */
} req_state;

enum { WAITING, ACTIVE, DONE };

static double uniform(uint64_t *rng) { /* xorshift64*: jitter only, never a result */
    *rng ^= *rng >> 12, *rng ^= *rng << 25, *rng ^= *rng >> 27;
    return (double)((*rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
    slot *x = ud;
    if (x->body.n + size * n > MAX_BODY) return 0;
    sa_sbuf_append(&x->body, data, size * n);
    return x->body.oom ? 0 : size * n;
}

/* Retry-After: delay-seconds or an HTTP date. */
static size_t on_header(char *data, size_t size, size_t n, void *ud) {
    slot *x = ud;
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

static int retryable_status(long code) {
    return code == 429 || code == 500 || code == 502 || code == 503 || code == 504;
}

static int retryable_curl(CURLcode c) {
    return c == CURLE_COULDNT_CONNECT || c == CURLE_OPERATION_TIMEDOUT || c == CURLE_PARTIAL_FILE ||
           c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR || c == CURLE_GOT_NOTHING ||
           c == CURLE_COULDNT_RESOLVE_HOST || c == CURLE_BAD_CONTENT_ENCODING;
}

/* Start request i in slot x. */
static sa_status start(const sa_win_client *c, const sa_win_job *j, struct curl_slist *hdrs,
                       slot *x, int i, req_state *r, sa_error *err) {
    x->body.n = 0, x->body.oom = 0;
    if (x->body.s) x->body.s[0] = 0;
    x->retry_after = -1;
    free(x->payload), x->payload = NULL;
    sa_status st = j->payload ? j->payload(j->ctx, i, &x->payload, err) : SA_OK;
    if (st) return st;
    if (!x->h && !(x->h = curl_easy_init())) return sa_error_set(err, SA_ENOMEM, "curl_easy_init");
    CURL *h = x->h;
    curl_easy_reset(h); /* keeps the connection */
    curl_easy_setopt(h, CURLOPT_URL, j->url[j->which ? j->which[i] : 0]);
    curl_easy_setopt(h, CURLOPT_PRIVATE, x);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(c->o->timeout_s * 1000));
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->o->insecure ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->o->insecure ? 0L : 2L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (x->payload) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, x->payload);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(x->payload));
    }
    r->attempt++;
    r->state = ACTIVE;
    x->req = i;
    if (curl_multi_add_handle(c->multi, h) != CURLM_OK) {
        x->req = -1;
        return sa_error_set(err, SA_EIO, "curl_multi_add_handle failed");
    }
    return SA_OK;
}

/* Classify a finished attempt; all but OK fill why. */
static sa_win_outcome finish(const sa_win_job *j, slot *x, CURLcode cc, char *why, size_t wn) {
    long code = 0;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
    if (x->body.oom) { /* on_body stopped the transfer: not a fault of the connection */
        snprintf(why, wn, "out of memory (receiving the answer)");
        return SA_WIN_NOMEM;
    }
    if (cc != CURLE_OK) {
        snprintf(why, wn, "%s", curl_easy_strerror(cc));
        return retryable_curl(cc) ? SA_WIN_RETRY : SA_WIN_FATAL;
    }
    if (code != 200) {
        char *msg = sa_eval_server_error_message(x->body.s ? x->body.s : "", x->body.n);
        snprintf(why, wn, "HTTP %ld: %s", code, msg ? msg : "");
        free(msg);
        return retryable_status(code) ? SA_WIN_RETRY : SA_WIN_FATAL;
    }
    const char *ct = NULL;
    curl_easy_getinfo(x->h, CURLINFO_CONTENT_TYPE, &ct);
    if (!ct || !strstr(ct, "json")) {
        snprintf(why, wn, "HTTP 200 with content type '%.40s', not JSON", ct ? ct : "none");
        return SA_WIN_RETRY;
    }
    return j->handle(j->ctx, x->req, x->body.s ? x->body.s : "", x->body.n, why, wn);
}

/* The lowest-numbered request ready to start at time t, -1 if none: a retry in [first, next)
 * whose backoff is over (scanned only while n_retry are waiting), else `next` when below limit.
 * *wait gets the seconds until a waiting retry becomes ready (at most 0.1). */
static int next_ready(const req_state *r, int first, int next, int limit, int n_retry, double t,
                      double *wait) {
    *wait = 0.1;
    for (int i = first; n_retry && i < next; i++) {
        if (r[i].state != WAITING) continue;
        if (r[i].not_before <= t) return i;
        if (r[i].not_before - t < *wait) *wait = r[i].not_before - t;
    }
    return next < limit ? next : -1;
}

/* The transfer loop's moving parts. */
typedef struct window {
    const sa_win_client *c;
    sa_win_job *j;
    struct curl_slist *hdrs;
    req_state *r;
    slot *slots;
    int n_slots, active, first, next, n_retry;
} window;

/* Fill the free slots; *wait: how long the next wait may last. */
static sa_status launch(window *w, double *wait, sa_error *err) {
    int width = w->j->window > 0 ? w->j->window : w->j->n;
    int limit = w->first + width < w->j->n ? w->first + width : w->j->n;
    double t = sa_eval_now_s();
    *wait = 0.1;
    while (w->active < w->n_slots) {
        int i = next_ready(w->r, w->first, w->next, limit, w->n_retry, t, wait);
        if (i < 0) break;
        if (i == w->next)
            w->next++;
        else
            w->n_retry--;
        slot *x = w->slots;
        while (x->req >= 0) x++; /* a free slot exists: active < n_slots */
        sa_status st = start(w->c, w->j, w->hdrs, x, i, &w->r[i], err);
        if (st) {
            w->j->failed = i;
            return st;
        }
        w->active++;
    }
    return SA_OK;
}

/* Classify the finished transfers: answered, waiting for a retry, or the end. */
static sa_status reap(window *w, sa_error *err) {
    const sa_win_client *c = w->c;
    CURLMsg *m;
    int q;
    char why[300] = "";
    while ((m = curl_multi_info_read(c->multi, &q))) {
        if (m->msg != CURLMSG_DONE) continue;
        slot *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode cc = m->data.result;
        curl_multi_remove_handle(c->multi, x->h);
        w->active--;
        int i = x->req;
        req_state *r = &w->r[i];
        sa_win_outcome o = finish(w->j, x, cc, why, sizeof why);
        x->req = -1;
        free(x->payload), x->payload = NULL;
        if (o == SA_WIN_OK) {
            r->state = DONE;
        } else if (o == SA_WIN_RETRY && r->attempt <= c->o->retries) {
            double b = fmin(0.25 * ldexp(1, r->attempt - 1), 30) * (0.5 + uniform(c->rng));
            if (x->retry_after > b) b = x->retry_after;
            r->state = WAITING, r->not_before = sa_eval_now_s() + b;
            w->n_retry++;
        } else {
            int k = w->j->which ? w->j->which[i] : 0;
            w->j->failed = i;
            return sa_error_set(err, o == SA_WIN_NOMEM ? SA_ENOMEM : SA_EIO, "%s %s: %s%s",
                                w->j->payload ? "POST" : "GET", w->j->shown[k], why,
                                o == SA_WIN_RETRY ? " (gave up after the retries)" : "");
        }
    }
    return SA_OK;
}

/* Hand over the answered requests that follow the last one handed over. */
static sa_status advance(window *w, sa_error *err) {
    int k = w->first;
    while (k < w->j->n && w->r[k].state == DONE) k++;
    sa_status st = SA_OK;
    if (k > w->first && w->j->deliver)
        st = w->j->deliver(w->j->deliver_ctx, w->first, k - w->first, err);
    w->first = k;
    return st;
}

sa_status sa_win_transfer(const sa_win_client *c, sa_win_job *j, sa_error *err) {
    j->failed = -1;
    if (j->n <= 0) return SA_OK;
    window w = {c, j, NULL, NULL, NULL, 0, 0, 0, 0, 0};
    w.n_slots = c->o->concurrency < j->n ? c->o->concurrency : j->n;
    w.r = calloc((size_t)j->n, sizeof *w.r);
    w.slots = calloc((size_t)w.n_slots, sizeof *w.slots);
    /* "Expect:" stops libcurl from waiting for a "100 Continue" before bodies over 1 KiB */
    w.hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (w.hdrs) w.hdrs = curl_slist_append(w.hdrs, "Expect:");
    if (w.hdrs && c->auth) w.hdrs = curl_slist_append(w.hdrs, c->auth);
    sa_status st =
        (!w.r || !w.slots || !w.hdrs) ? sa_error_set(err, SA_ENOMEM, "out of memory") : SA_OK;
    for (int k = 0; k < w.n_slots && !st; k++) w.slots[k].req = -1;
    while (!st && w.first < j->n) {
        if (c->o->interrupted && c->o->interrupted()) {
            st = sa_error_set(err, SA_EINTR, "interrupted");
            break;
        }
        double wait;
        int running;
        if ((st = launch(&w, &wait, err))) break;
        curl_multi_perform(c->multi, &running);
        curl_multi_poll(c->multi, NULL, 0, (int)(wait * 1000) + 1, NULL);
        curl_multi_perform(c->multi, &running);
        if (!(st = reap(&w, err))) st = advance(&w, err);
    }
    for (int k = 0; k < w.n_slots && w.slots; k++) {
        slot *x = &w.slots[k];
        if (x->h) {
            if (x->req >= 0) curl_multi_remove_handle(c->multi, x->h);
            curl_easy_cleanup(x->h);
        }
        free(x->body.s), free(x->payload);
    }
    free(w.r), free(w.slots);
    curl_slist_free_all(w.hdrs);
    return st;
}
