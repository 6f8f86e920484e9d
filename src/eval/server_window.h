/* server_window.h: n HTTP requests through a sliding window (internal to src/eval; used by
 * backend_server.c). Up to `concurrency` requests are in flight at all times, the lowest-numbered
 * ready one started first, each retried on what is worth retrying, and the answers handed over in
 * request order as soon as the leading ones are complete (a reorder buffer), so a slow request
 * never holds back the others and the caller still sees a deterministic order. */
#ifndef SA_EVAL_SERVER_WINDOW_H
#define SA_EVAL_SERVER_WINDOW_H

#include <curl/curl.h>
#include <stdint.h>

#include "safearith/eval.h"

/* What an attempt came to: answered; worth another attempt; the end (the server refused, or
 * the answer is unusable); or out of memory here (the end too, as SA_ENOMEM: never retried, and
 * never reported as the server's fault). */
typedef enum sa_win_outcome { SA_WIN_OK, SA_WIN_RETRY, SA_WIN_FATAL, SA_WIN_NOMEM } sa_win_outcome;

typedef struct sa_win_job {
    const char *url[2];   /* the endpoints; request i goes to url[which[i]] */
    const char *shown[2]; /* the same without credentials, for messages */
    const uint8_t *which; /* n entries, or NULL: all url[0] */
    int n;                /* requests 0 .. n-1 */
    int window;           /* at most this many started past the first unfinished (<= 0: n) */
    /* Request i's body (malloc'd, sent with POST); NULL function: GET without a body. */
    sa_status (*payload)(void *ctx, int i, char **body, sa_error *err);
    /* What a 200 answer to request i means; RETRY, FATAL and NOMEM fill why. */
    sa_win_outcome (*handle)(void *ctx, int i, const char *body, size_t len, char *why, size_t wn);
    void *ctx;
    /* Requests from .. from + count - 1 are answered; called from 0 upward without gaps. A
     * non-zero return stops the transfer with that status. May be NULL. */
    sa_status (*deliver)(void *ctx, int from, int count, sa_error *err);
    void *deliver_ctx;
    int failed; /* set: the request that failed, -1 when none did */
} sa_win_job;

/* The transport: the multi handle (its connections are reused from call to call), the server
 * options (concurrency, retries, timeout, insecure, interrupted), the Authorization header line
 * or NULL, and the jitter's random state. */
typedef struct sa_win_client {
    CURLM *multi;
    const sa_eval_server_opts *o;
    const char *auth;
    uint64_t *rng;
} sa_win_client;

/* Run every request of j. Retried: no connection, a timeout, a connection dropped mid-body,
 * HTTP 429, 500, 502, 503, 504, a 200 whose content type is not JSON and what handle() says;
 * after an exponential backoff with jitter (0.25 s doubling up to 30 s, times 0.5-1.5) or the
 * server's Retry-After when longer. Other statuses, and a request still failing after o->retries
 * retries, stop at once with "METHOD URL: why" (SA_EIO; SA_ENOMEM when memory ran out here);
 * j->failed names it. SA_EINTR when interrupted. */
sa_status sa_win_transfer(const sa_win_client *c, sa_win_job *j, sa_error *err);

#endif
