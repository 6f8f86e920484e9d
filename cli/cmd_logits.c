/* cmd_logits.c: `safearith logits`: run one sequence through the model and write its logits
 * [T, vocab] and the residual stream hidden.0 .. hidden.L [T, d] to a safetensors file, the
 * numeric interface our tests and users compare against other implementations.
 *
 * hidden.0 is the embedding output, hidden.N the residual stream after decoder layer N (for
 * N = L before the final norm); they are captured with a read-only hook. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine_cli.h"
#include "core/fsutil.h"
#include "safearith/safetensors.h"
#include "steer_opts.h"

static const char *const usage =
    "usage: safearith logits --model DIR (--tokens 1,2,3 | --text TEXT) -o OUT.safetensors\n"
    "                        [--no-bos] [--threads N] [--no-mmap] [--overwrite]\n"
    "\n"
    "Runs the model over one sequence and writes, as float32 safetensors:\n"
    "  logits     [T, vocab]\n"
    "  hidden.N   [T, hidden_size] for N = 0..num_layers (hidden.0 = embeddings, hidden.N = "
    "output\n"
    "             of decoder layer N; the last is before the final norm)\n"
    "--text tokenizes with the model's tokenizer (adding BOS as the tokenizer does unless "
    "--no-bos).\n"
    "The model may be BASE+ADAPTER: a PEFT LoRA adapter applied in memory (docs/arith.md).\n"
    "\n" CLI_STEER_USAGE;

typedef struct {
    float *hidden; /* [(L+1)][T][d] */
    int T, d;
} capture;

static sa_status capture_hook(void *ud, const sa_hook_rows *r, sa_error *err) {
    (void)err;
    capture *c = ud;
    int slot = r->point == SA_HOOK_EMBED ? 0 : r->layer + 1;
    for (int i = 0; i < r->n_rows; i++)
        memcpy(c->hidden + ((size_t)slot * c->T + r->positions[i]) * c->d,
               r->rows + (size_t)i * c->d, (size_t)c->d * sizeof(float));
    return SA_OK;
}

static int write_output(const char *cmd, const char *out, const sa_model_config *cfg, capture *c,
                        const float *logits, int overwrite) {
    int L = cfg->n_layers, n = L + 2;
    sa_st_f32_tensor *t = calloc((size_t)n, sizeof *t);
    char(*names)[32] = calloc((size_t)n, sizeof *names);
    if (!t || !names) {
        free(t);
        free(names);
        return cli_error(cmd, "out of memory");
    }
    t[0] = (sa_st_f32_tensor){"logits", 2, {c->T, cfg->vocab_size}, logits};
    for (int i = 0; i <= L; i++) {
        snprintf(names[i], sizeof names[i], "hidden.%d", i);
        t[i + 1] =
            (sa_st_f32_tensor){names[i], 2, {c->T, c->d}, c->hidden + (size_t)i * c->T * c->d};
    }
    sa_error err = {0};
    const char *meta[] = {"format", "pt", "producer", "safearith logits", NULL};
    sa_status st = sa_st_write_f32_file(out, t, (size_t)n, meta, overwrite, &err);
    free(t);
    free(names);
    return st ? cli_report(cmd, &err) : CLI_OK;
}

static int run_model(const char *cmd, sa_model *m, const int32_t *ids, int T, int threads,
                     sa_precision prec, const char *out, int overwrite, cli_steer *steer) {
    const sa_model_config *cfg = sa_model_get_config(m);
    capture c = {NULL, T, cfg->hidden_size};
    c.hidden = malloc((size_t)(cfg->n_layers + 1) * T * c.d * sizeof(float));
    float *logits = malloc((size_t)T * cfg->vocab_size * sizeof(float));
    sa_session *s = NULL;
    sa_error err = {0};
    int rc = CLI_FAIL;
    if (!c.hidden || !logits) {
        rc = cli_error(cmd, "out of memory for %d positions", T);
        goto done;
    }
    sa_session_opts so;
    sa_session_opts_init(&so);
    so.n_seq = 1, so.max_ctx = T, so.max_batch = T, so.n_threads = threads;
    so.precision = prec;
    if (sa_session_create(m, &so, &s, &err)) {
        rc = cli_report(cmd, &err);
        goto done;
    }
    sa_hook h = {capture_hook, &c, SA_HOOK_EMBED | SA_HOOK_LAYER_OUT, 0, -1}, hs;
    cli_steer_hook(steer, &h, &hs); /* steering first, so hidden.N shows the steered stream */
    sa_session_set_hook(s, &hs);
    if (sa_session_eval(s, T, ids, NULL, NULL, &err)) {
        rc = cli_report(cmd, &err);
        goto done;
    }
    for (int i = 0; i < T; i++)
        memcpy(logits + (size_t)i * cfg->vocab_size, sa_session_logits(s, i),
               (size_t)cfg->vocab_size * sizeof(float));
    rc = write_output(cmd, out, cfg, &c, logits, overwrite);
done:
    sa_session_free(s);
    free(c.hidden);
    free(logits);
    return rc;
}

static int cmd_logits_main(int argc, char **argv) {
    const char *cmd = "logits", *model = NULL, *tokens = NULL, *text = NULL, *out = NULL;
    int overwrite = 0, no_bos = 0;
    cli_load_opts load = {0};
    cli_steer steer;
    cli_steer_init(&steer);
    cli_args p;
    cli_args_init(&p, cmd, argc, argv);
    while (cli_args_next(&p)) {
        if (cli_flag_help(&p)) return fputs(usage, stdout), cli_steer_free(&steer), CLI_OK;
        if (!(cli_steer_flag(&p, &steer) || cli_load_flag(&p, &load) ||
              cli_flag_on(&p, "--overwrite", &overwrite) || cli_flag_on(&p, "--no-bos", &no_bos) ||
              cli_flag_str(&p, "--model", &model) || cli_flag_str(&p, "--tokens", &tokens) ||
              cli_flag_str(&p, "--text", &text) || cli_flag_str(&p, "-o|--output", &out)))
            cli_args_unknown(&p);
    }
    if (p.failed) return cli_steer_free(&steer), CLI_USAGE;
    if (!model || !out) return cli_usage_error(cmd, "--model and -o are required");
    if (!!tokens == !!text) return cli_usage_error(cmd, "give exactly one of --tokens and --text");
    const char *inputs[CLI_STEER_MAX + 1];
    sa_error oerr = {0};
    if (sa_output_check(out, inputs, cli_steer_inputs(&steer, model, inputs), overwrite, &oerr)) {
        cli_steer_free(&steer);
        return cli_report(cmd, &oerr);
    }
    int32_t *ids = NULL;
    int T = 0;
    if (tokens && cli_parse_token_list(cmd, "--tokens", tokens, &ids, &T)) return CLI_USAGE;
    sa_model *m = cli_load_model(cmd, model, load.weights);
    int rc = m ? CLI_OK : CLI_FAIL;
    if (m && text) {
        sa_tokenizer *tok = cli_load_tokenizer(cmd, model);
        rc = tok ? cli_encode_text(cmd, tok, text, !no_bos, &ids, &T) : CLI_FAIL;
        sa_tokenizer_free(tok);
    }
    if (m && !rc && T == 0) rc = cli_error(cmd, "--text gave no tokens");
    if (m && !rc) rc = cli_steer_setup(cmd, &steer, sa_model_get_config(m));
    if (m && !rc)
        rc = run_model(cmd, m, ids, T, (int)load.threads, load.precision, out, overwrite, &steer);
    cli_steer_free(&steer);
    free(ids);
    sa_model_free(m);
    return rc;
}

const sa_cli_command sa_cmd_logits = {
    "logits", "run a model over tokens; write logits and hidden states", cmd_logits_main};
