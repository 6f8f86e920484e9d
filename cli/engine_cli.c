/* engine_cli.c: helpers shared by the model-running commands (see engine_cli.h). */
#include "engine_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "safearith/parse.h"

int cli_parse_token_list(const char *cmd, const char *flag, const char *val, int32_t **out,
                         int *n) {
    *out = NULL;
    *n = 0;
    if (!val || !*val)
        return cli_usage_error(cmd, "%s needs a comma-separated list of token ids", flag);
    size_t cap = 1;
    for (const char *p = val; *p; p++) cap += *p == ',';
    int32_t *ids = malloc(cap * sizeof *ids);
    char *copy = strdup(val);
    if (!ids || !copy) return free(ids), free(copy), cli_error(cmd, "out of memory");
    int k = 0;
    for (char *item = copy, *next; item; item = next) { /* an empty item is refused */
        next = strchr(item, ',');
        if (next) *next++ = '\0';
        int64_t v;
        if (sa_parse_i64(flag, item, 0, INT32_MAX, &v, NULL)) {
            free(ids), free(copy);
            return cli_usage_error(cmd, "%s: '%s' is not a list of token ids (decimal, 0..%d)",
                                   flag, val, INT32_MAX);
        }
        ids[k++] = (int32_t)v;
    }
    free(copy);
    *out = ids;
    *n = k;
    return 0;
}

sa_model *cli_load_model(const char *cmd, const char *dir, sa_ckpt_mode weights) {
    sa_model *m = NULL;
    sa_error err = {0};
    if (sa_model_load_mode(dir, weights, &m, &err) != SA_OK) {
        cli_report(cmd, &err);
        return NULL;
    }
    return m;
}

sa_tokenizer *cli_load_tokenizer(const char *cmd, const char *dir) {
    sa_tokenizer *t = NULL;
    sa_error err = {0};
    if (sa_tokenizer_load(dir, &t, &err) != SA_OK) {
        cli_report(cmd, &err);
        return NULL;
    }
    return t;
}

static int take_tokens(const char *cmd, sa_tokens *t, int32_t **out, int *n) {
    if (t->n > (size_t)INT32_MAX) {
        sa_tokens_free(t);
        return cli_error(cmd, "prompt too long");
    }
    *out = t->ids; /* ownership passes to the caller */
    *n = (int)t->n;
    return 0;
}

int cli_encode_text(const char *cmd, sa_tokenizer *tok, const char *text, int add_special,
                    int32_t **out, int *n) {
    sa_tokens t = {0};
    sa_error err = {0};
    unsigned flags = add_special ? SA_TOK_DEFAULT : SA_TOK_PARSE_SPECIAL;
    if (sa_tokenizer_encode(tok, text, strlen(text), flags, &t, &err)) {
        sa_tokens_free(&t);
        return cli_report(cmd, &err);
    }
    return take_tokens(cmd, &t, out, n);
}

int cli_encode_chat(const char *cmd, sa_tokenizer *tok, const sa_chat_msg *msgs, size_t n_msgs,
                    int32_t **out, int *n) {
    sa_chat_family f;
    sa_tokens t = {0};
    sa_error err = {0};
    if (sa_tokenizer_chat_family(tok, &f, &err) ||
        sa_chat_encode(tok, f, msgs, n_msgs, 1, &t, &err)) {
        sa_tokens_free(&t);
        return cli_report(cmd, &err);
    }
    return take_tokens(cmd, &t, out, n);
}

int cli_load_flag(cli_args *p, cli_load_opts *o) {
    int no_mmap = 0;
    if (cli_flag_on(p, "--no-mmap", &no_mmap)) {
        if (no_mmap) o->weights = SA_CKPT_READ;
        return 1;
    }
    const char *prec = NULL;
    if (cli_flag_value(p, "--precision", &prec)) {
        sa_error err = {0};
        if (prec && sa_precision_parse(prec, "--precision", &o->precision, &err))
            cli_args_fail(p, "%s", err.msg);
        return 1;
    }
    return cli_flag_long(p, "--threads", 1, 1024, &o->threads);
}

cli_decode_opts cli_decode_defaults(long max_tokens, int allow_stop) {
    sa_sampling s = sa_sampling_default();
    return (cli_decode_opts){.max_tokens = max_tokens,
                             .allow_stop = allow_stop,
                             .top_k = s.top_k,
                             .temp = s.temperature,
                             .top_p = s.top_p,
                             .seed = s.seed};
}

int cli_decode_flag(cli_args *p, cli_decode_opts *d) {
    return cli_flag_long(p, "--max-tokens|--max-new-tokens", 1, CLI_DECODE_MAX_TOKENS,
                         &d->max_tokens) ||
           cli_flag_int(p, "--top-k", 0, 1 << 30, &d->top_k) ||
           cli_flag_double(p, "--temp", 0, 100, &d->temp) ||
           cli_flag_double(p, "--top-p", 0, 1, &d->top_p) || cli_flag_seed(p, "--seed", &d->seed) ||
           (d->allow_stop && cli_flag_list(p, "--stop", d->stop, &d->n_stop, 16));
}

sa_sampling cli_decode_sampling(const cli_decode_opts *d) {
    return (sa_sampling){(float)d->temp, d->top_k, (float)d->top_p, d->seed};
}

int cli_stream_init(const char *cmd, cli_stream *st, sa_tokenizer *tok, int print_ids,
                    const char *const *stop, int n_stop) {
    *st = (cli_stream){.cmd = cmd, .print_ids = print_ids, .stop = stop, .n_stop = n_stop};
    for (int i = 0; i < n_stop; i++) {
        size_t l = strlen(stop[i]);
        if (l == 0) return cli_usage_error(cmd, "--stop needs a non-empty string");
        if (l - 1 > st->hold) st->hold = l - 1;
    }
    if (print_ids && n_stop)
        return cli_usage_error(cmd, "--stop works on text, not with --print-ids");
    if (print_ids) return 0;
    sa_error err = {0};
    if (sa_tok_stream_new(tok, SA_DECODE_SKIP_SPECIAL, &st->ts, &err)) return cli_report(cmd, &err);
    return 0;
}

static int append(cli_stream *st, const char *s, size_t n) {
    if (st->len + n + 1 > st->cap) {
        size_t cap = (st->len + n + 1) * 2;
        char *t = realloc(st->text, cap);
        if (!t) return -1;
        st->text = t;
        st->cap = cap;
    }
    memcpy(st->text + st->len, s, n);
    st->len += n;
    st->text[st->len] = 0;
    return 0;
}

static void print_upto(cli_stream *st, size_t end) {
    if (end > st->printed) fwrite(st->text + st->printed, 1, end - st->printed, stdout);
    if (end > st->printed) st->printed = end;
    fflush(stdout);
}

int cli_stream_token(cli_stream *st, int32_t token) {
    if (st->print_ids) {
        printf(st->count++ ? " %d" : "%d", (int)token);
        fflush(stdout);
        return 0;
    }
    const char *piece;
    size_t n;
    sa_error err = {0};
    st->count++;
    if (sa_tok_stream_step(st->ts, token, &piece, &n, &err) || append(st, piece, n)) {
        st->failed = 1;
        return 1;
    }
    /* a stop string can only start in the unprinted tail or just before it */
    size_t from = st->printed > st->hold ? st->printed - st->hold : 0;
    for (int i = 0; i < st->n_stop; i++) {
        const char *hit = strstr(st->text + from, st->stop[i]);
        if (hit) {
            print_upto(st, (size_t)(hit - st->text));
            st->stopped = 1;
            return 1;
        }
    }
    print_upto(st, st->len > st->hold ? st->len - st->hold : 0);
    return 0;
}

int cli_stream_end(cli_stream *st, int newline) {
    if (!st->print_ids && !st->stopped && !st->failed && st->ts) {
        const char *piece;
        size_t n;
        sa_error err = {0};
        if (sa_tok_stream_flush(st->ts, &piece, &n, &err) || append(st, piece, n))
            st->failed = 1;
        else
            print_upto(st, st->len);
    }
    if (newline) putchar('\n');
    fflush(stdout);
    sa_tok_stream_free(st->ts);
    free(st->text);
    st->ts = NULL;
    st->text = NULL;
    return st->failed ? cli_error(st->cmd, "cannot decode the generated tokens") : 0;
}
