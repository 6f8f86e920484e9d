/* icv_prepare.c: rendering ICV pairs into token ids and choosing which rows to average.
 *
 * A question/answer pair is rendered through the demonstration format (byte range of the answer
 * known) or through the chat template (user turn = question, assistant turn = answer; the
 * answer is located in the rendered text after the generation prompt). The answer's tokens are
 * found without tokenizer offsets: the text up to the answer and the text up to its end are
 * tokenized too, and their longest common token prefixes with the whole text give the first
 * answer token and one past the last (a token straddling the end boundary counts as answer).
 * Positive/negative pairs are ready texts whose "answer" is the whole text. */
#include <stdlib.h>
#include <string.h>

#include "core/opts.h"
#include "safearith/steer.h"
#include "safearith/tokenizer.h"

void sa_icv_texts_free(sa_icv_text *texts, size_t n) {
    for (size_t i = 0; texts && i < n; i++) free(texts[i].ids);
    free(texts);
}

static int lcp(const sa_tokens *a, const sa_tokens *b) {
    size_t k = 0;
    while (k < a->n && k < b->n && a->ids[k] == b->ids[k]) k++;
    return (int)k;
}

static unsigned enc_flags(int templated) {
    return templated ? SA_TOK_PARSE_SPECIAL : SA_TOK_DEFAULT;
}

/* Tokenize text and the answer span [ab, ae) into t. */
static sa_status tokenize_span(sa_tokenizer *tok, const char *text, size_t ab, size_t ae,
                               int templated, sa_icv_text *t, sa_error *err) {
    sa_tokens full = {0}, pre = {0}, upto = {0};
    unsigned fl = enc_flags(templated);
    sa_status st = sa_tokenizer_encode(tok, text, strlen(text), fl, &full, err);
    if (!st) st = sa_tokenizer_encode(tok, text, ab, fl, &pre, err);
    if (!st) st = sa_tokenizer_encode(tok, text, ae, fl, &upto, err);
    if (!st) {
        int b = lcp(&pre, &full), e = lcp(&upto, &full);
        if ((size_t)e < upto.n) e++; /* the token across the end boundary */
        t->ans_begin = b;
        t->ans_end = e > (int)full.n ? (int)full.n : e;
        t->n = (int)full.n;
        t->ids = full.ids;
        full.ids = NULL;
    }
    sa_tokens_free(&full), sa_tokens_free(&pre), sa_tokens_free(&upto);
    return st;
}

/* Render question + answer with the chat template; answer byte range in *ab, *ae. */
static sa_status render_chat(sa_tokenizer *tok, const char *q, const char *a, char **text,
                             size_t *ab, size_t *ae, sa_error *err) {
    sa_chat_family f;
    sa_status st = sa_tokenizer_chat_family(tok, &f, err);
    if (st) return st;
    sa_chat_msg msgs[2] = {{"user", q}, {"assistant", a}};
    char *prompt = NULL, *full = NULL;
    st = sa_chat_render(tok, f, msgs, 1, 1, &prompt, err);
    if (!st) st = sa_chat_render(tok, f, msgs, 2, 0, &full, err);
    if (!st) {
        size_t pl = strlen(prompt);
        const char *hit = strncmp(full, prompt, pl) ? NULL : strstr(full + pl, a);
        if (!hit)
            st = sa_error_set(err, SA_EUNSUPPORTED,
                              "the chat template (%s) does not keep the answer verbatim after the "
                              "generation prompt; use --format",
                              sa_chat_family_name(f));
        else
            *ab = (size_t)(hit - full), *ae = *ab + strlen(a);
    }
    free(prompt);
    if (st)
        free(full);
    else
        *text = full;
    return st;
}

static sa_status one_text(sa_tokenizer *tok, const sa_pair *p, const char *answer,
                          const sa_icv_opts *o, int templated, sa_icv_text *t, sa_error *err) {
    char *text = NULL;
    size_t ab = 0, ae = 0;
    sa_status st;
    if (!p->question) {
        sa_tokens full = {0};
        st = sa_tokenizer_encode(tok, answer, strlen(answer), SA_TOK_DEFAULT, &full, err);
        if (!st) t->ids = full.ids, t->n = (int)full.n, t->ans_begin = 0, t->ans_end = t->n;
        return st;
    }
    if (o->chat)
        st = render_chat(tok, p->question, answer, &text, &ab, &ae, err);
    else
        st = sa_format_render(o->format ? o->format : SA_ICV_DEFAULT_FORMAT, p->question, answer,
                              &text, &ab, &ae, err);
    if (!st) st = tokenize_span(tok, text, ab, ae, templated, t, err);
    free(text);
    return st;
}

static sa_status select_rows(sa_icv_text *t, sa_icv_position pos, int max_ctx, sa_error *err) {
    if (t->n < 1) return sa_error_set(err, SA_EINVAL, "the text has no tokens");
    if (t->n > max_ctx)
        return sa_error_set(err, SA_EINVAL, "the text has %d tokens, more than the context (%d)",
                            t->n, max_ctx);
    if (pos == SA_POS_LAST)
        t->sel_begin = t->n - 1, t->sel_end = t->n;
    else if (pos == SA_POS_MEAN_LAST4)
        t->sel_begin = t->n > 4 ? t->n - 4 : 0, t->sel_end = t->n;
    else {
        if (t->ans_end <= t->ans_begin)
            return sa_error_set(err, SA_EINVAL, "the answer has no tokens of its own");
        t->sel_begin = t->ans_begin, t->sel_end = t->ans_end;
    }
    return SA_OK;
}

void sa_icv_opts_init(sa_icv_opts *o) {
    *o = (sa_icv_opts){.struct_size = sizeof *o,
                       .method = SA_ICV_PCA,
                       .scope = SA_ICV_PER_LAYER,
                       .position = SA_POS_LAST,
                       .batch = 8};
}

sa_status sa_icv_prepare(sa_tokenizer *tok, const sa_pairs *pairs, const sa_icv_opts *o_in,
                         int max_ctx, const char *pairs_name, sa_icv_text **texts, sa_error *err) {
    sa_icv_opts oc;
    sa_icv_opts_init(&oc);
    sa_status s0 = sa_opts_take(&oc, sizeof oc, o_in, "sa_icv_opts", err);
    if (s0) return s0;
    const sa_icv_opts *o = &oc;
    sa_icv_text *t = calloc(2 * pairs->n, sizeof *t);
    if (!t) return sa_error_set(err, SA_ENOMEM, "icv: out of memory");
    int templated = 0;
    if (o->chat) {
        sa_chat_family f;
        sa_status st = sa_tokenizer_chat_family(tok, &f, err);
        if (st) return sa_icv_texts_free(t, 0), st;
        templated = f != SA_CHAT_RAW;
    } else if (o->format) {
        sa_status st = sa_format_check(o->format, err);
        if (st) return sa_icv_texts_free(t, 0), st;
    }
    sa_status st = SA_OK;
    for (size_t i = 0; i < 2 * pairs->n && !st; i++) {
        const sa_pair *p = &pairs->items[i / 2];
        const char *ans = i % 2 ? p->negative : p->positive;
        st = one_text(tok, p, ans, o, templated, &t[i], err);
        if (!st) st = select_rows(&t[i], o->position, max_ctx, err);
        if (st)
            sa_error_prefix(err, "%s:%zu (%s text)", pairs_name, p->line,
                            i % 2 ? (pairs->qa ? "unsafe" : "negative")
                                  : (pairs->qa ? "safe" : "positive"));
    }
    if (st)
        sa_icv_texts_free(t, 2 * pairs->n);
    else
        *texts = t;
    return st;
}
