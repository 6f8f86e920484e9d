/* backend_engine.c: the evaluation backend on top of the inference engine and the tokenizer.
 *
 * Generation: prompts are encoded (raw prompts with the tokenizer's BOS, chat-rendered ones as
 * they are, special tokens parsed), then decoded together in chunks of n_seq sequences by
 * sa_generate, each sequence stopping at the tokenizer's stop ids, at max_new_tokens, or when it
 * fills the context (so that a response never depends on which other prompts share its batch),
 * or, with stop strings, as soon as the text of its new tokens contains one (the runner cuts it
 * off: sa_eval_stop_cut). Sampling uses the run's seed for every sequence, as sa_generate does.
 *
 * Log likelihoods follow lm-evaluation-harness: the pair is encoded whole, the continuation's
 * tokens are those after the context's own encoding (a trailing space of the context moves to
 * the continuation), and the sum of log-softmax probabilities of those tokens is taken from one
 * forward pass; up to n_seq pairs share each pass. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "safearith/eval.h"
#include "safearith/tokenizer.h"

typedef struct engine {
    sa_model *model;
    sa_session *sess;
    sa_tokenizer *tok;
    sa_chat_family family;
    int n_seq, max_ctx, vocab;
    int32_t stop_ids[SA_MAX_STOP_IDS]; /* sa_model_stop_ids: the rule generate and chat use */
    int n_stop;
    sa_error chat_err; /* why the chat template was not recognised, if it was not */
    int (*interrupted)(void);
} engine;

static sa_status encode(engine *e, const char *text, int templated, sa_tokens *t, sa_error *err) {
    unsigned flags = templated ? SA_TOK_PARSE_SPECIAL : SA_TOK_DEFAULT;
    return sa_tokenizer_encode(e->tok, text, strlen(text), flags, t, err);
}

typedef struct stop_ctx {
    const int *prompt_lens;
    int *counts;
    int max_ctx;
    int (*interrupted)(void);
    int stopped; /* interrupted: every sequence is being stopped, the batch is void */
    const sa_eval_decoding *dec;
    const sa_tokenizer *tok;
    int32_t **seen; /* with stop strings: each sequence's new tokens so far */
} stop_ctx;

/* 1 if the text of a sequence's new tokens contains a stop string. The whole text is decoded
 * again each time (a token's bytes may complete a character begun by the one before it). */
static int stop_string_seen(const stop_ctx *c, int seq) {
    char *text = NULL;
    size_t len = 0;
    if (sa_tokenizer_decode(c->tok, c->seen[seq], (size_t)c->counts[seq], SA_DECODE_SKIP_SPECIAL,
                            &text, &len, NULL))
        return 0; /* out of memory: generation goes on, the runner still cuts */
    int hit = sa_eval_stop_cut(c->dec, text) < strlen(text);
    free(text);
    return hit;
}

/* Stop a sequence when its new token could not be fed back (the k-th new token goes to position
 * prompt_len + k - 1, which must be below max_ctx) or when its text holds a stop string. */
static int on_token(void *ud, int seq, int32_t token) {
    stop_ctx *c = ud;
    if (c->stopped || (c->interrupted && c->interrupted())) return c->stopped = 1;
    if (c->seen) c->seen[seq][c->counts[seq]] = token;
    int full = c->prompt_lens[seq] + ++c->counts[seq] > c->max_ctx;
    return full || (c->seen && stop_string_seen(c, seq));
}

/* Responses are C strings: a NUL byte the model produced becomes U+FFFD (EF BF BD). */
static sa_status replace_nul(char **s, size_t len, sa_error *err) {
    size_t nul = 0;
    for (size_t i = 0; i < len; i++) nul += (*s)[i] == 0;
    if (!nul) return SA_OK;
    char *o = malloc(len + 2 * nul + 1);
    if (!o) return sa_error_set(err, SA_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if ((*s)[i])
            o[k++] = (*s)[i];
        else
            o[k++] = (char)0xEF, o[k++] = (char)0xBF, o[k++] = (char)0xBD;
    }
    o[k] = 0;
    free(*s);
    *s = o;
    return SA_OK;
}

static sa_status gen_chunk(engine *e, int n, const char *const *prompts, const uint8_t *templated,
                           const sa_eval_decoding *dec, char **out, sa_error *err) {
    sa_tokens toks[n];
    int32_t *ids[n], *outs[n], *seen[n];
    int lens[n], out_lens[n], counts[n];
    memset(toks, 0, sizeof toks), memset(outs, 0, sizeof outs), memset(counts, 0, sizeof counts);
    memset(seen, 0, sizeof seen);
    sa_status st = SA_OK;
    for (int i = 0; i < n && !st; i++) {
        st = encode(e, prompts[i], templated && templated[i], &toks[i], err);
        ids[i] = toks[i].ids, lens[i] = (int)toks[i].n;
        if (!st && (lens[i] < 1 || lens[i] >= e->max_ctx))
            st = sa_error_set(err, SA_EINVAL,
                              "a prompt of %d tokens does not fit the context of %d positions "
                              "(raise --ctx)",
                              lens[i], e->max_ctx);
        if (!st && !(outs[i] = malloc((size_t)dec->max_new_tokens * sizeof *outs[i])))
            st = sa_error_set(err, SA_ENOMEM, "out of memory");
        if (!st && dec->n_stop > 0 &&
            !(seen[i] = malloc((size_t)dec->max_new_tokens * sizeof *seen[i])))
            st = sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    stop_ctx sc = {lens, counts, e->max_ctx, e->interrupted,
                   0,    dec,    e->tok,     dec->n_stop > 0 ? seen : NULL};
    sa_gen_opts go;
    sa_gen_opts_init(&go);
    go.sampling = (sa_sampling){(float)dec->temperature, dec->top_k, (float)dec->top_p, dec->seed};
    go.max_tokens = dec->max_new_tokens;
    go.stop_ids = e->stop_ids, go.n_stop_ids = e->n_stop;
    go.on_token = on_token, go.ud = &sc;
    if (!st)
        st = sa_generate(e->sess, n, (const int32_t *const *)ids, lens, &go, outs, out_lens, err);
    if (!st && sc.stopped) st = sa_error_set(err, SA_EINTR, "interrupted");
    for (int i = 0; i < n && !st; i++) {
        size_t len = 0;
        st = sa_tokenizer_decode(e->tok, outs[i], (size_t)out_lens[i], SA_DECODE_SKIP_SPECIAL,
                                 &out[i], &len, err);
        if (!st) st = replace_nul(&out[i], len, err);
    }
    for (int i = 0; i < n; i++) sa_tokens_free(&toks[i]), free(outs[i]), free(seen[i]);
    return st;
}

static sa_status engine_generate(void *ud, int n, const char *const *prompts,
                                 const uint8_t *templated, const sa_eval_decoding *dec, char **out,
                                 sa_eval_gen_info *info, sa_error *err) {
    engine *e = ud;
    (void)info; /* the engine reports nothing beyond the text */
    if (dec->max_new_tokens < 1)
        return sa_error_set(err, SA_EINVAL, "max_new_tokens must be at least 1");
    for (int i = 0; i < n; i += e->n_seq) {
        int m = n - i < e->n_seq ? n - i : e->n_seq;
        sa_status st =
            gen_chunk(e, m, prompts + i, templated ? templated + i : NULL, dec, out + i, err);
        if (st) {
            for (int k = 0; k < i + m; k++) free(out[k]), out[k] = NULL;
            return st;
        }
    }
    return SA_OK;
}

/* log softmax(logits)[tok] in double precision. */
static double log_prob(const float *logits, int n, int32_t tok) {
    double mx = logits[0], sum = 0;
    for (int i = 1; i < n; i++) mx = logits[i] > mx ? logits[i] : mx;
    for (int i = 0; i < n; i++) sum += exp((double)logits[i] - mx);
    return (double)logits[tok] - mx - log(sum);
}

typedef struct pair_toks {
    sa_tokens whole;
    int ctx_len; /* tokens of the context: continuation tokens are whole[ctx_len..] */
} pair_toks;

static sa_status encode_pair(engine *e, const char *ctx, const char *cont, pair_toks *p,
                             sa_error *err) {
    size_t cl = strlen(ctx), nl = strlen(cont);
    size_t move = 0; /* trailing spaces of the context go to the continuation */
    while (move < cl && ctx[cl - 1 - move] == ' ') move++;
    char *whole = malloc(cl + nl + 1), *c = strndup(ctx, cl - move);
    sa_tokens ct = {0};
    sa_status st = (!whole || !c) ? sa_error_set(err, SA_ENOMEM, "out of memory") : SA_OK;
    if (!st) {
        memcpy(whole, ctx, cl), memcpy(whole + cl, cont, nl + 1);
        st = encode(e, whole, 0, &p->whole, err);
    }
    if (!st) st = encode(e, c, 0, &ct, err);
    if (!st) {
        p->ctx_len = (int)ct.n;
        if (p->ctx_len < 1 || (size_t)p->ctx_len >= p->whole.n)
            st = sa_error_set(err, SA_EINVAL, "the choice '%.40s' adds no tokens to its context",
                              cont);
        else if (p->whole.n > (size_t)e->max_ctx)
            st = sa_error_set(err, SA_EINVAL,
                              "a question with its choice is %zu tokens, longer "
                              "than the context (%d)",
                              p->whole.n, e->max_ctx);
    }
    sa_tokens_free(&ct);
    free(whole), free(c);
    return st;
}

/* One forward pass over up to n_seq pairs, rows of all sequences in batches of max_batch. */
static sa_status loglik_chunk(engine *e, int n, pair_toks *p, double *out, int *n_tokens,
                              sa_error *err) {
    int total = 0, mb = sa_session_max_batch(e->sess);
    for (int i = 0; i < n; i++) total += (int)p[i].whole.n - 1;
    int32_t *tok = malloc((size_t)total * sizeof *tok), *seq = malloc((size_t)total * sizeof *seq);
    int32_t *next = malloc((size_t)total * sizeof *next);
    uint8_t *want = malloc((size_t)total);
    int *owner = malloc((size_t)total * sizeof *owner);
    if (!tok || !seq || !next || !want || !owner) {
        free(tok), free(seq), free(next), free(want), free(owner);
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    int r = 0;
    for (int i = 0; i < n; i++) {
        sa_session_reset(e->sess, i);
        out[i] = 0, n_tokens[i] = 0;
        for (size_t k = 0; k + 1 < p[i].whole.n; k++, r++) {
            tok[r] = p[i].whole.ids[k], seq[r] = i, next[r] = p[i].whole.ids[k + 1];
            want[r] = (int)k + 1 >= p[i].ctx_len, owner[r] = i;
        }
    }
    sa_status st = SA_OK;
    for (int b = 0; b < total && !st; b += mb) {
        int m = total - b < mb ? total - b : mb;
        st = sa_session_eval(e->sess, m, tok + b, seq + b, want + b, err);
        for (int k = 0; k < m && !st; k++) {
            if (!want[b + k]) continue;
            out[owner[b + k]] += log_prob(sa_session_logits(e->sess, k), e->vocab, next[b + k]);
            n_tokens[owner[b + k]]++;
        }
    }
    free(tok), free(seq), free(next), free(want), free(owner);
    return st;
}

static sa_status engine_loglik(void *ud, int n, const char *const *ctx, const char *const *cont,
                               double *out, int *n_tokens, sa_error *err) {
    engine *e = ud;
    pair_toks *p = calloc((size_t)e->n_seq, sizeof *p);
    int *nt = n_tokens ? n_tokens : calloc((size_t)n, sizeof *nt);
    sa_status st = (!p || !nt) ? sa_error_set(err, SA_ENOMEM, "out of memory") : SA_OK;
    for (int i = 0; i < n && !st; i += e->n_seq) {
        int m = n - i < e->n_seq ? n - i : e->n_seq;
        for (int k = 0; k < m && !st; k++) st = encode_pair(e, ctx[i + k], cont[i + k], &p[k], err);
        if (!st) st = loglik_chunk(e, m, p, out + i, nt + i, err);
        for (int k = 0; k < m; k++) sa_tokens_free(&p[k].whole);
    }
    free(p);
    if (nt != n_tokens) free(nt);
    return st;
}

static sa_status engine_chat(void *ud, const char *system, const char *user, char **out,
                             sa_error *err) {
    engine *e = ud;
    if (e->family == SA_CHAT_RAW && e->chat_err.code) {
        if (err) *err = e->chat_err;
        return e->chat_err.code;
    }
    if (e->family == SA_CHAT_RAW)
        return sa_error_set(err, SA_EUNSUPPORTED,
                            "%s: the model has no chat template (use --prompt raw, or "
                            "--chat-template NAME)",
                            sa_model_dir(e->model));
    sa_chat_msg msgs[2] = {{"system", system}, {"user", user}};
    int has_sys = system && system[0];
    return sa_chat_render(e->tok, e->family, has_sys ? msgs : msgs + 1, has_sys ? 2 : 1, 1, out,
                          err);
}

static void engine_destroy(void *ud) {
    engine *e = ud;
    if (!e) return;
    sa_session_free(e->sess);
    sa_model_free(e->model);
    sa_tokenizer_free(e->tok);
    free(e);
}

sa_status sa_eval_backend_engine(const char *model_dir, const sa_eval_engine_opts *opts,
                                 sa_eval_backend *out, sa_error *err) {
    engine *e = calloc(1, sizeof *e);
    if (!e) return sa_error_set(err, SA_ENOMEM, "out of memory");
    sa_status st = sa_model_load_mode(model_dir, opts->weights, &e->model, err);
    if (!st) st = sa_tokenizer_load(model_dir, &e->tok, err);
    if (!st && opts->chat_template)
        st = sa_chat_family_from_name(opts->chat_template, &e->family, err);
    else if (!st) {
        /* an unrecognised template only matters to --prompt chat: keep the reason for then */
        if (sa_tokenizer_chat_family(e->tok, &e->family, &e->chat_err)) {
            e->family = SA_CHAT_RAW;
            sa_error_prefix(&e->chat_err, "--prompt chat (or --chat-template NAME)");
        }
    }
    if (!st) {
        const sa_model_config *cfg = sa_model_get_config(e->model);
        e->vocab = cfg->vocab_size;
        e->n_seq = opts->n_seq > 0 ? opts->n_seq : 1;
        e->max_ctx = opts->max_ctx > 0 ? opts->max_ctx : 1024;
        if (cfg->max_position_embeddings > 0 && e->max_ctx > cfg->max_position_embeddings)
            e->max_ctx = cfg->max_position_embeddings;
        sa_session_opts so;
        sa_session_opts_init(&so);
        so.n_seq = e->n_seq, so.max_ctx = e->max_ctx, so.max_batch = 0,
        so.n_threads = opts->n_threads;
        so.precision = opts->precision;
        st = sa_session_create(e->model, &so, &e->sess, err);
        if (!st) e->max_ctx = sa_session_max_ctx(e->sess);
    }
    if (!st) {
        e->n_stop = sa_model_stop_ids(e->model, e->tok, e->stop_ids);
        if (opts->hook) sa_session_set_hook(e->sess, opts->hook);
        e->interrupted = opts->interrupted;
    }
    if (st) {
        engine_destroy(e);
        return st;
    }
    *out = (sa_eval_backend){e,   engine_generate, engine_loglik, engine_chat, engine_destroy, NULL,
                             NULL};
    return SA_OK;
}
