/* cmd_chat.c: `safearith chat`: an interactive conversation with a model on a terminal.
 *
 * Each user line is added to the conversation, the whole conversation is rendered with the
 * model's chat template and tokenised, and only the tokens after the longest prefix already in
 * the KV cache are evaluated (so a turn costs its own tokens, not the history's). The reply is
 * streamed until an end-of-turn id, a --stop string or --max-tokens; Ctrl-C stops a reply and
 * keeps the session (what was generated stays in the conversation). Lines starting with '/' are
 * commands (/help, /reset, /quit). On a terminal lines are edited with libedit, with the session's
 * history; on a pipe it reads plain lines: one reply per input line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "cli.h"
#include "engine_cli.h"
#include "steer_opts.h"

/* --threads and --no-mmap, described at this help text's column */
#define LOAD_USAGE CLI_LOAD_USAGE("      ")

static const char *const usage =
    "usage: safearith chat --model DIR [--system S] [--max-tokens N] [--temp T] [--top-k K]\n"
    "                      [--top-p P] [--seed S] [--stop STR] [--ctx N] [--threads N]\n"
    "\n"
    "Interactive chat using the model's chat template. Type a message and press enter (line\n"
    "editing and history on a terminal); '/help' lists the commands, '/reset' starts a new\n"
    "conversation, '/quit' (or end of input) leaves. Ctrl-C stops a reply, not the session.\n"
    "  --max-tokens N   longest reply (default 512; alias --max-new-tokens)\n"
    "  --ctx N          context positions (default: the library's, min(max_position_embeddings,\n"
    "                   4096))\n" LOAD_USAGE
    "  sampling flags as for 'safearith generate' (--temp 0 = greedy)\n"
    "\n" CLI_STEER_USAGE;

typedef struct {
    const char *model, *system;
    long ctx;
    cli_load_opts load;
    cli_decode_opts dec;
    cli_steer steer;
} chat_args;

typedef struct {
    sa_chat_msg *msgs;
    size_t n, cap;
} history;

/* 0 to go on, -1 after --help, else the exit code. */
static int parse_args(const char *cmd, int argc, char **argv, chat_args *a) {
    *a = (chat_args){.dec = cli_decode_defaults(512, 1)};
    cli_steer_init(&a->steer);
    cli_args p;
    cli_args_init(&p, cmd, argc, argv);
    while (cli_args_next(&p)) {
        if (cli_flag_help(&p)) return fputs(usage, stdout), -1;
        if (!(cli_steer_flag(&p, &a->steer) || cli_load_flag(&p, &a->load) ||
              cli_decode_flag(&p, &a->dec) || cli_flag_str(&p, "--model", &a->model) ||
              cli_flag_str(&p, "--system", &a->system) ||
              cli_flag_long(&p, "--ctx", 16, 1 << 20, &a->ctx)))
            cli_args_unknown(&p);
    }
    if (p.failed) return CLI_USAGE;
    if (!a->model) return cli_usage_error(cmd, "--model is required");
    return 0;
}

static int push(history *h, const char *role, const char *content) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 8;
        sa_chat_msg *m = realloc(h->msgs, cap * sizeof *m);
        if (!m) return -1;
        h->msgs = m;
        h->cap = cap;
    }
    char *c = strdup(content);
    if (!c) return -1;
    h->msgs[h->n++] = (sa_chat_msg){role, c};
    return 0;
}

static void clear(history *h, size_t keep) {
    while (h->n > keep) free((char *)h->msgs[--h->n].content);
}

typedef struct {
    const char *cmd;
    const chat_args *a;
    sa_model *m;
    sa_tokenizer *tok;
    sa_session *s;
    int32_t *cached; /* tokens whose keys/values are in the cache, in order */
    int n_cached, last_row, ctx;
    sa_rng rng;
    void *scratch;
    int32_t stop[SA_MAX_STOP_IDS];
    int n_stop;
} chat;

/* Evaluate ids[from..n) after truncating the cache to `from`; remembers the last row. */
static int feed(chat *c, const int32_t *ids, int from, int n) {
    sa_error err = {0};
    sa_session_truncate(c->s, 0, from);
    c->n_cached = from;
    int B = sa_session_max_batch(c->s);
    for (int at = from; at < n; at += B) {
        int k = n - at < B ? n - at : B;
        if (sa_session_eval(c->s, k, ids + at, NULL, NULL, &err)) return cli_report(c->cmd, &err);
        memmove(c->cached + c->n_cached, ids + at, (size_t)k * sizeof *ids);
        c->n_cached += k;
        c->last_row = k - 1;
    }
    return 0;
}

static int is_stop(const chat *c, int32_t t) {
    for (int i = 0; i < c->n_stop; i++)
        if (c->stop[i] == t) return 1;
    return 0;
}

/* Stream one reply from the current logits; its ids (without the stop id) go to out. */
static int reply(chat *c, int32_t *out, int *n_out) {
    const chat_args *a = c->a;
    sa_sampling smp = cli_decode_sampling(&a->dec);
    int vocab = sa_model_get_config(c->m)->vocab_size;
    cli_stream st;
    int rc = cli_stream_init(c->cmd, &st, c->tok, 0, a->dec.stop, a->dec.n_stop);
    *n_out = 0;
    while (!rc && *n_out < a->dec.max_tokens && !cli_interrupted()) {
        int32_t t =
            sa_sample(sa_session_logits(c->s, c->last_row), vocab, &smp, &c->rng, c->scratch);
        if (t < 0) {
            rc = cli_error(c->cmd, "the logits hold NaN or inf (are the model's weights finite?)");
            break;
        }
        if (is_stop(c, t)) break;
        out[(*n_out)++] = t;
        if (cli_stream_token(&st, t) || c->n_cached + 1 >= c->ctx) break;
        c->cached[c->n_cached] = t;
        rc = feed(c, c->cached, c->n_cached, c->n_cached + 1);
    }
    int rc2 = cli_stream_end(&st, 1);
    return rc ? rc : rc2;
}

/* One user turn: render, feed what the cache lacks, stream the reply, record it. */
static int turn(chat *c, history *h, const char *line, int32_t *buf) {
    size_t keep = h->n;
    if (push(h, "user", line)) return cli_error(c->cmd, "out of memory");
    int32_t *ids = NULL;
    int n = 0, rc = cli_encode_chat(c->cmd, c->tok, h->msgs, h->n, &ids, &n);
    if (!rc && n + 1 >= c->ctx) {
        rc = cli_error(c->cmd,
                       "the conversation (%d tokens) no longer fits the context of %d; type /reset",
                       n, c->ctx);
        clear(h, keep);
        free(ids);
        return 0; /* keep chatting */
    }
    int same = 0;
    while (!rc && same < c->n_cached && same < n - 1 && c->cached[same] == ids[same]) same++;
    if (!rc) rc = feed(c, ids, same, n);
    free(ids);
    int n_out = 0;
    if (!rc) rc = reply(c, buf, &n_out);
    char *text = NULL;
    sa_error err = {0};
    if (!rc &&
        sa_tokenizer_decode(c->tok, buf, (size_t)n_out, SA_DECODE_SKIP_SPECIAL, &text, NULL, &err))
        rc = cli_report(c->cmd, &err);
    if (!rc && push(h, "assistant", text)) rc = cli_error(c->cmd, "out of memory");
    free(text);
    return rc;
}

/* The next line of input without its line end, malloc'd; NULL at the end of input. On a
 * terminal the line is read with libedit (editing keys, and the session's earlier lines on
 * up/down); on a pipe plainly. */
static char *read_line(int tty) {
    if (tty) {
        char *line = readline("> ");
        if (line && *line) add_history(line);
        return line;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, stdin);
    if (len < 0) return free(line), NULL;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    return line;
}

static const char chat_help[] = "commands:\n"
                                "  /help    this list\n"
                                "  /reset   forget the conversation (the system message stays)\n"
                                "  /quit    leave (also /exit or end of input, Ctrl-D)\n"
                                "Ctrl-C during a reply stops the reply; at the prompt it leaves.\n";

/* A line starting with '/': 1 to leave, 0 handled (help, reset or an unknown command). */
static int command(chat *c, history *h, size_t base, const char *line) {
    if (!strcmp(line, "/quit") || !strcmp(line, "/exit")) return 1;
    if (!strcmp(line, "/help"))
        fputs(chat_help, stdout);
    else if (!strcmp(line, "/reset")) {
        clear(h, base);
        puts("(new conversation)");
    } else
        fprintf(stderr, "safearith %s: unknown command '%s' (/help lists them)\n", c->cmd, line);
    fflush(stdout);
    return 0;
}

static int loop(chat *c, history *h, size_t base) {
    int tty = isatty(STDIN_FILENO);
    int32_t *buf = malloc((size_t)c->a->dec.max_tokens * sizeof *buf);
    int rc = buf ? 0 : cli_error(c->cmd, "out of memory");
    char *line;
    while (!rc && !cli_interrupted() && (line = read_line(tty))) {
        int quit = 0;
        if (cli_interrupted()) /* Ctrl-C at the prompt */
            quit = 1;
        else if (line[0] == '/')
            quit = command(c, h, base, line);
        else if (line[0])
            rc = turn(c, h, line, buf);
        free(line);
        if (quit) break;
        if (!rc && cli_interrupted()) { /* Ctrl-C during the reply: it stopped; go on */
            fputs("(reply stopped)\n", stderr);
            cli_interrupt_rearm();
        }
    }
    free(buf);
    return rc;
}

static int cmd_chat_main(int argc, char **argv) {
    const char *cmd = "chat";
    chat_args a;
    int rc = parse_args(cmd, argc, argv, &a);
    if (rc) return cli_steer_free(&a.steer), rc < 0 ? CLI_OK : rc;
    chat c = {.cmd = cmd, .a = &a};
    history h = {0};
    sa_error err = {0};
    c.m = cli_load_model(cmd, a.model, a.load.weights);
    c.tok = c.m ? cli_load_tokenizer(cmd, a.model) : NULL;
    if (!c.tok || (rc = cli_steer_setup(cmd, &a.steer, sa_model_get_config(c.m)))) {
        sa_tokenizer_free(c.tok);
        sa_model_free(c.m);
        cli_steer_free(&a.steer);
        return rc ? rc : CLI_FAIL;
    }
    const sa_model_config *cfg = sa_model_get_config(c.m);
    sa_session_opts so; /* --ctx 0: the library's default context */
    sa_session_opts_init(&so);
    so.n_seq = 1, so.max_ctx = (int)a.ctx, so.max_batch = 256, so.n_threads = (int)a.load.threads;
    so.precision = a.load.precision;
    if (sa_session_create(c.m, &so, &c.s, &err)) rc = cli_report(cmd, &err);
    c.ctx = c.s ? sa_session_max_ctx(c.s) : 0;
    c.cached = malloc((size_t)(c.ctx ? c.ctx : 1) * sizeof *c.cached);
    c.scratch = malloc(sa_sample_scratch_bytes(cfg->vocab_size));
    c.n_stop = sa_model_stop_ids(c.m, c.tok, c.stop);
    sa_rng_seed(&c.rng, a.dec.seed);
    if (!rc && (!c.cached || !c.scratch)) rc = cli_error(cmd, "out of memory");
    sa_hook hook;
    cli_steer_hook(&a.steer, NULL, &hook); /* every prompt and reply token */
    if (c.s) sa_session_set_hook(c.s, &hook);
    if (!rc && a.system && push(&h, "system", a.system)) rc = cli_error(cmd, "out of memory");
    if (!rc) rc = loop(&c, &h, h.n);
    clear(&h, 0);
    free(h.msgs);
    free(c.cached);
    free(c.scratch);
    sa_session_free(c.s);
    sa_tokenizer_free(c.tok);
    sa_model_free(c.m);
    cli_steer_free(&a.steer);
    return rc;
}

const sa_cli_command sa_cmd_chat = {"chat", "talk with a model interactively (chat template)",
                                    cmd_chat_main};
