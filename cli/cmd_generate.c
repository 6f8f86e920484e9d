/* cmd_generate.c: `safearith generate`: continue a prompt and stream the tokens to stdout.
 *
 * The prompt is text (tokenised with the model's tokenizer, optionally wrapped in the model's
 * chat template with --chat/--system) or explicit ids (--tokens). Output is text, or the ids
 * separated by spaces with --print-ids. Sampling options map to sa_sampling; --temp 0 is greedy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine_cli.h"
#include "steer_opts.h"

/* --threads and --no-mmap, described at this help text's column */
#define LOAD_USAGE CLI_LOAD_USAGE("       ")

static const char *const usage =
    "usage: safearith generate --model DIR (--prompt TEXT | --tokens 1,2,3) [options]\n"
    "\n"
    "  --prompt TEXT     prompt text (tokenised with the model's tokenizer)\n"
    "  --tokens LIST     prompt as comma-separated token ids instead\n"
    "  --chat            wrap the prompt in the model's chat template (as a user turn)\n"
    "  --system S        system message for --chat\n"
    "  --no-bos          do not add BOS to a plain text prompt\n"
    "  --max-tokens N    tokens to generate (default 128; alias --max-new-tokens)\n"
    "  --temp T          temperature; 0 = greedy (default 0.8)\n"
    "  --top-k K         keep the K most likely tokens (default 40; 0 = off)\n"
    "  --top-p P         nucleus sampling mass (default 0.95; 1 = off)\n"
    "  --seed S          random seed (default 0); the same seed gives the same text\n"
    "  --stop STR        stop when the generated text contains STR (repeatable)\n"
    "  --ignore-eos      do not stop at the model's EOS ids\n"
    "  --print-ids       print token ids (space-separated) instead of text\n" LOAD_USAGE
    "\n" CLI_STEER_USAGE;

typedef struct {
    const char *model, *prompt, *tokens, *system;
    int chat, no_bos, print_ids, ignore_eos;
    cli_load_opts load;
    cli_decode_opts dec;
    cli_steer steer;
} gen_args;

/* 0 to go on, -1 after --help, else the exit code. */
static int parse_args(const char *cmd, int argc, char **argv, gen_args *a) {
    *a = (gen_args){.dec = cli_decode_defaults(128, 1)};
    cli_steer_init(&a->steer);
    cli_args p;
    cli_args_init(&p, cmd, argc, argv);
    while (cli_args_next(&p)) {
        if (cli_flag_help(&p)) return fputs(usage, stdout), -1;
        if (!(cli_steer_flag(&p, &a->steer) || cli_load_flag(&p, &a->load) ||
              cli_decode_flag(&p, &a->dec) || cli_flag_on(&p, "--chat", &a->chat) ||
              cli_flag_on(&p, "--no-bos", &a->no_bos) ||
              cli_flag_on(&p, "--print-ids", &a->print_ids) ||
              cli_flag_on(&p, "--ignore-eos", &a->ignore_eos) ||
              cli_flag_str(&p, "--model", &a->model) || cli_flag_str(&p, "--prompt", &a->prompt) ||
              cli_flag_str(&p, "--tokens", &a->tokens) || cli_flag_str(&p, "--system", &a->system)))
            cli_args_unknown(&p);
    }
    if (p.failed) return CLI_USAGE;
    if (!a->model) return cli_usage_error(cmd, "--model is required");
    if (!!a->prompt == !!a->tokens)
        return cli_usage_error(cmd, "give exactly one of --prompt and --tokens");
    if ((a->chat || a->system) && !a->prompt)
        return cli_usage_error(cmd, "--chat and --system need --prompt");
    if (a->system && !a->chat) return cli_usage_error(cmd, "--system needs --chat");
    return 0;
}

static int on_token(void *ud, int seq, int32_t token) {
    (void)seq;
    cli_stream *st = ud;
    return cli_stream_token(st, token) || cli_interrupted();
}

static int generate(const char *cmd, sa_model *m, sa_tokenizer *tok, const gen_args *a,
                    const int32_t *ids, int n) {
    sa_session *s = NULL;
    sa_error err = {0};
    const sa_model_config *cfg = sa_model_get_config(m);
    long ctx = (long)n + a->dec.max_tokens + 1;
    if (ctx > cfg->max_position_embeddings) ctx = cfg->max_position_embeddings;
    if (n >= ctx)
        return cli_error(cmd, "prompt of %d tokens does not fit the context of %ld", n, ctx);
    sa_session_opts so;
    sa_session_opts_init(&so);
    so.n_seq = 1, so.max_ctx = (int)ctx, so.max_batch = n < 512 ? n : 512,
    so.n_threads = (int)a->load.threads;
    so.precision = a->load.precision;
    if (sa_session_create(m, &so, &s, &err)) return cli_report(cmd, &err);
    sa_hook hook;
    cli_steer_hook((cli_steer *)&a->steer, NULL, &hook); /* prompt and generated tokens */
    sa_session_set_hook(s, &hook);
    cli_stream st;
    int rc = cli_stream_init(cmd, &st, tok, a->print_ids, a->dec.stop, a->dec.n_stop);
    if (rc) {
        sa_session_free(s);
        return rc;
    }
    int32_t stop[SA_MAX_STOP_IDS];
    int n_stop = a->ignore_eos ? 0 : sa_model_stop_ids(m, tok, stop);
    sa_gen_opts go = {.struct_size = sizeof go,
                      .sampling = cli_decode_sampling(&a->dec),
                      .max_tokens = (int)a->dec.max_tokens,
                      .stop_ids = stop,
                      .n_stop_ids = n_stop,
                      .on_token = on_token,
                      .ud = &st};
    const int32_t *prompts[1] = {ids};
    if (sa_generate(s, 1, prompts, &n, &go, NULL, NULL, &err)) rc = cli_report(cmd, &err);
    int rc2 = cli_stream_end(&st, !rc || st.count > 0); /* no empty line before an error */
    sa_session_free(s);
    if (!rc) rc = rc2;
    if (!rc && cli_interrupted()) rc = cli_error(cmd, "interrupted");
    return rc;
}

static int encode_prompt(const char *cmd, sa_tokenizer *tok, const gen_args *a, int32_t **ids,
                         int *n) {
    if (!a->chat) return cli_encode_text(cmd, tok, a->prompt, !a->no_bos, ids, n);
    sa_chat_msg msgs[2];
    size_t k = 0;
    if (a->system) msgs[k++] = (sa_chat_msg){"system", a->system};
    msgs[k++] = (sa_chat_msg){"user", a->prompt};
    return cli_encode_chat(cmd, tok, msgs, k, ids, n);
}

static int cmd_generate_main(int argc, char **argv) {
    const char *cmd = "generate";
    gen_args a;
    int rc = parse_args(cmd, argc, argv, &a);
    if (rc) return cli_steer_free(&a.steer), rc < 0 ? CLI_OK : rc;
    int32_t *ids = NULL;
    int n = 0;
    if (a.tokens && cli_parse_token_list(cmd, "--tokens", a.tokens, &ids, &n)) return CLI_USAGE;
    sa_model *m = cli_load_model(cmd, a.model, a.load.weights);
    sa_tokenizer *tok = NULL;
    if (m && (a.prompt || !a.print_ids)) tok = cli_load_tokenizer(cmd, a.model);
    if (!m || ((a.prompt || !a.print_ids) && !tok)) rc = CLI_FAIL;
    if (!rc && a.prompt) rc = encode_prompt(cmd, tok, &a, &ids, &n);
    if (!rc && n == 0) rc = cli_error(cmd, "the prompt gave no tokens");
    if (!rc) rc = cli_steer_setup(cmd, &a.steer, sa_model_get_config(m));
    if (!rc) rc = generate(cmd, m, tok, &a, ids, n);
    cli_steer_free(&a.steer);
    free(ids);
    sa_tokenizer_free(tok);
    sa_model_free(m);
    return rc;
}

const sa_cli_command sa_cmd_generate = {
    "generate", "continue a prompt (text or token ids) with a model", cmd_generate_main};
