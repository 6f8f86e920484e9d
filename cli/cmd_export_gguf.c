/* cmd_export_gguf.c: `safearith export-gguf MODEL -o OUT.gguf [--type T] [--pre NAME]`. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arith_cli.h"
#include "cli.h"
#include "flags.h"
#include "safearith/gguf_export.h"

#define CMD "export-gguf"

static void usage(void) {
    printf("usage: safearith export-gguf MODEL -o OUT.gguf [options]\n\n"
           "Write a Llama, Mistral or Qwen2 checkpoint as one GGUF file that llama.cpp\n"
           "(llama-server, llama-cli), Ollama and LM Studio run: hyper-parameters, tokenizer\n"
           "(byte-level BPE as gpt2 with its pre-tokenizer name, SentencePiece-style as llama),\n"
           "chat template, and the input files' checksums and this command line in general.*.\n"
           "What llama.cpp could not reproduce is refused by name before anything is written.\n\n"
           "options:\n"
           "  -o, --output FILE    the GGUF file to write (must not exist; see --overwrite)\n"
           "  --type T             f32, f16, bf16 or q8_0 (default: each tensor's stored dtype;\n"
           "                       norms and biases are always f32)\n"
           "  --pre NAME           write tokenizer.ggml.pre NAME for a pre-tokenizer regex that\n"
           "                       llama.cpp has no name for (you vouch that they agree)\n"
           "  --overwrite          replace an existing output file\n"
           "  -h, --help           this help\n\n"
           "Run it: llama-server -m OUT.gguf --jinja   (the model's own chat template)\n");
}

typedef struct args {
    const char *model, *out, *type, *pre;
    int overwrite;
} args;

/* CLI_OK to go on, -1 after --help, else the exit code. */
static int parse(int argc, char **argv, args *a) {
    const char *model[1] = {NULL};
    cli_args p;
    cli_args_init(&p, CMD, argc, argv);
    while (cli_args_next(&p)) {
        if (cli_flag_help(&p)) return usage(), -1;
        if (!(cli_flag_on(&p, "--overwrite", &a->overwrite) ||
              cli_flag_str(&p, "-o|--output", &a->out) || cli_flag_str(&p, "--type", &a->type) ||
              cli_flag_str(&p, "--pre", &a->pre) || cli_positional(&p, model, 1)))
            cli_args_unknown(&p);
    }
    if (p.failed) return CLI_USAGE;
    a->model = model[0];
    if (!a->model) return cli_usage_error(CMD, "MODEL is required");
    if (!a->out) return cli_usage_error(CMD, "-o OUT.gguf is required");
    return CLI_OK;
}

static void print_result(const sa_gguf_export_result *r, const char *out) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "output", out);
    cJSON_AddStringToObject(j, "architecture", r->arch);
    cJSON_AddStringToObject(j, "tokenizer", r->tokenizer_model);
    if (r->pre[0]) cJSON_AddStringToObject(j, "pre", r->pre);
    cJSON_AddNumberToObject(j, "tensors", r->n_tensors);
    cJSON_AddNumberToObject(j, "context_length", r->context_length);
    cJSON_AddNumberToObject(j, "f16_fallback_tensors", r->n_f16_fallback);
    cJSON_AddNumberToObject(j, "bytes", (double)r->bytes);
    arith_cli_print_json(j);
}

static int run(int argc, char **argv) {
    args a = {0};
    int pr = parse(argc, argv, &a);
    if (pr) return pr < 0 ? CLI_OK : pr;
    sa_gguf_export_opts o;
    sa_gguf_export_opts_init(&o);
    o.pre = a.pre, o.overwrite = a.overwrite;
    if (a.type && sa_gguf_ftype_parse(a.type, &o.type))
        return cli_usage_error(CMD, "--type '%s': expected f32, f16, bf16 or q8_0", a.type);
    char *cmdline = cli_command_line(argc, argv);
    if (!cmdline) return cli_error(CMD, "out of memory");
    o.command_line = cmdline;
    cli_install_interrupt();
    sa_progress prog = cli_progress("export");
    o.progress = &prog;
    sa_gguf_export_result res;
    sa_error err;
    sa_status st = sa_gguf_export(a.model, a.out, &o, &res, &err);
    cli_progress_end();
    free(cmdline);
    if (st) return cli_report(CMD, &err);
    print_result(&res, a.out);
    return CLI_OK;
}

const sa_cli_command sa_cmd_export_gguf = {
    "export-gguf", "write a checkpoint as a GGUF file for llama.cpp (f32/f16/bf16/q8_0)", run};
