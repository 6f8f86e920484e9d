/* generate.c: prompts in, continuations out, for several sequences at once.
 *
 * Prefill packs the prompts' tokens into batches of up to max_batch rows (asking for logits only
 * at each prompt's last token); decoding then evaluates one row per unfinished sequence per step.
 * Every sequence has its own generator seeded with the same seed, so a prompt's continuation does
 * not depend on which other prompts share the batch. A sequence stops at a stop id (the model's
 * EOS ids by default), when the token callback returns non-zero, at max_tokens, or when its
 * context is full. */
#include <stdlib.h>
#include <string.h>

#include "core/opts.h"
#include "model/model_internal.h"

typedef struct {
    sa_rng rng;
    int done, count;
    int32_t pending;
} gen_seq;

typedef struct {
    sa_session *s;
    const sa_gen_opts *o;
    gen_seq *g;
    int32_t **out;
    void *scratch;
} gen_state;

static int is_stop(const gen_state *st, int32_t t) {
    const sa_model_config *c = &st->s->m->cfg;
    if (st->o->stop_ids) {
        for (int i = 0; i < st->o->n_stop_ids; i++)
            if (st->o->stop_ids[i] == t) return 1;
        return 0;
    }
    for (int i = 0; i < c->n_eos; i++)
        if (c->eos_token_ids[i] == t) return 1;
    return 0;
}

/* Sample sequence i's next token from logits and decide whether it continues. */
static sa_status step(gen_state *st, int i, const float *logits, sa_error *err) {
    gen_seq *g = &st->g[i];
    const sa_gen_opts *o = st->o;
    int32_t t = sa_sample(logits, st->s->m->cfg.vocab_size, &o->sampling, &g->rng, st->scratch);
    if (t < 0)
        return sa_error_set(
            err, SA_EINVAL,
            "the logits of prompt %d hold NaN or inf after %d generated tokens (are "
            "the model's weights finite?)",
            i, g->count);
    int stop = is_stop(st, t);
    if (stop && !o->keep_stop) {
        g->done = 1;
        return SA_OK;
    }
    if (st->out && st->out[i]) st->out[i][g->count] = t;
    g->count++;
    if (o->on_token && o->on_token(o->ud, i, t)) stop = 1;
    if (stop || g->count >= o->max_tokens || st->s->seq_len[i] >= st->s->opt.max_ctx) g->done = 1;
    g->pending = t;
    return SA_OK;
}

static sa_status prefill(gen_state *st, int n, const int32_t *const *prompts, const int *lens,
                         sa_error *err) {
    sa_session *s = st->s;
    int B = s->opt.max_batch, k = 0;
    int32_t *tok = malloc((size_t)B * sizeof *tok), *seq = malloc((size_t)B * sizeof *seq);
    uint8_t *want = malloc((size_t)B);
    sa_status rc = SA_OK;
    if (!tok || !seq || !want) rc = sa_error_set(err, SA_ENOMEM, "generate: out of memory");
    for (int i = 0; i < n && !rc; i++) {
        for (int p = 0; p < lens[i] && !rc; p++) {
            tok[k] = prompts[i][p];
            seq[k] = i;
            want[k] = p == lens[i] - 1;
            k++;
            int last = i == n - 1 && p == lens[i] - 1;
            if (k < B && !last) continue;
            rc = sa_session_eval(s, k, tok, seq, want, err);
            for (int r = 0; r < k && !rc; r++)
                if (want[r] && !st->g[seq[r]].done)
                    rc = step(st, seq[r], sa_session_logits(s, r), err);
            k = 0;
        }
    }
    free(tok);
    free(seq);
    free(want);
    return rc;
}

static sa_status decode(gen_state *st, int n, sa_error *err) {
    int32_t *tok = malloc((size_t)n * sizeof *tok), *seq = malloc((size_t)n * sizeof *seq);
    sa_status rc = (tok && seq) ? SA_OK : sa_error_set(err, SA_ENOMEM, "generate: out of memory");
    while (!rc) {
        int k = 0;
        for (int i = 0; i < n; i++)
            if (!st->g[i].done) {
                tok[k] = st->g[i].pending;
                seq[k++] = i;
            }
        if (k == 0) break;
        for (int b = 0; b < k && !rc; b += st->s->opt.max_batch) {
            int m = k - b < st->s->opt.max_batch ? k - b : st->s->opt.max_batch;
            rc = sa_session_eval(st->s, m, tok + b, seq + b, NULL, err);
            for (int r = 0; r < m && !rc; r++)
                rc = step(st, seq[b + r], sa_session_logits(st->s, r), err);
        }
    }
    free(tok);
    free(seq);
    return rc;
}

void sa_gen_opts_init(sa_gen_opts *o) {
    *o = (sa_gen_opts){
        .struct_size = sizeof *o, .sampling = sa_sampling_default(), .max_tokens = 128};
}

sa_status sa_generate(sa_session *s, int n, const int32_t *const *prompts, const int *prompt_lens,
                      const sa_gen_opts *opts_in, int32_t **out_tokens, int *out_lens,
                      sa_error *err) {
    sa_gen_opts oc;
    sa_gen_opts_init(&oc);
    sa_status s0 = sa_opts_take(&oc, sizeof oc, opts_in, "sa_gen_opts", err);
    if (s0) return s0;
    const sa_gen_opts *opts = &oc;
    if (n < 1 || n > s->opt.n_seq)
        return sa_error_set(err, SA_EINVAL, "generate: %d prompts (session holds %d sequences)", n,
                            s->opt.n_seq);
    for (int i = 0; i < n; i++)
        if (prompt_lens[i] < 1 || prompt_lens[i] >= s->opt.max_ctx)
            return sa_error_set(err, SA_EINVAL, "generate: prompt %d has %d tokens (must be 1..%d)",
                                i, prompt_lens[i], s->opt.max_ctx - 1);
    for (int i = 0; i < n; i++)
        for (int p = 0; p < prompt_lens[i]; p++)
            if (prompts[i][p] < 0 || prompts[i][p] >= s->m->cfg.vocab_size)
                return sa_error_set(err, SA_EINVAL,
                                    "prompt %d, token %d: id %d is not in the model's vocabulary "
                                    "(0..%d)",
                                    i, p, prompts[i][p], s->m->cfg.vocab_size - 1);
    gen_state st = {s, opts, calloc((size_t)n, sizeof(gen_seq)), out_tokens,
                    malloc(sa_sample_scratch_bytes(s->m->cfg.vocab_size))};
    sa_status rc = SA_OK;
    if (!st.g || !st.scratch) rc = sa_error_set(err, SA_ENOMEM, "generate: out of memory");
    for (int i = 0; i < n && !rc; i++) {
        sa_session_reset(s, i);
        sa_rng_seed(&st.g[i].rng, opts->sampling.seed);
        st.g[i].done = opts->max_tokens <= 0;
    }
    if (!rc) rc = prefill(&st, n, prompts, prompt_lens, err);
    if (!rc) rc = decode(&st, n, err);
    for (int i = 0; i < n && out_lens && st.g; i++) out_lens[i] = st.g[i].count;
    free(st.g);
    free(st.scratch);
    return rc;
}
