/* cmd_detokenize.c: `safearith detokenize`: token ids back to text, as Hugging Face decode() does.
 *
 * Prints {"text": "..."} for --ids, or one such JSON line per {"ids": [...]} line of --input. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine_cli.h"
#include "flags.h"
#include "tok_cli.h"
#include "core/fsutil.h"
#include "safearith/tokenizer.h"

#define CMD "detokenize"

static void usage(FILE *o) {
    fprintf(
        o,
        "usage: safearith detokenize --model DIR (--ids 1,2,3 | --input FILE.jsonl)\n"
        "                            [--skip-special] [--skip-unknown] [--no-cleanup] [--stream]\n"
        "                            [--text-only]\n\n"
        "  --model DIR       directory with tokenizer.json (and tokenizer_config.json)\n"
        "  --ids LIST        comma-separated token ids\n"
        "  --input FILE      JSONL, one {\"ids\": [...]} per line (optionally with "
        "\"skip_special\" and\n"
        "                    \"cleanup\" booleans); one JSON line out per line in\n"
        "  --skip-special    leave out special tokens (BOS, EOS, <|eot_id|>, ...)\n"
        "  --skip-unknown    leave out ids that are no token, as Hugging Face does (default: such\n"
        "                    an id is an error naming it)\n"
        "  --no-cleanup      never apply clean_up_tokenization_spaces (\" .\" -> \".\")\n"
        "  --stream          also print \"steps\": the text a streaming decoder emits after\n"
        "                    each id (and a final flush); they join to the text without cleanup\n"
        "  --text-only       print the decoded text itself instead of JSON (--ids only)\n");
}

/* --ids through the commands' one token-list reader (decimal ids, engine_cli.h). */
static int parse_ids(const char *s, sa_tokens *t) {
    int32_t *ids;
    int n, rc = 0;
    if (cli_parse_token_list(CMD, "--ids", s, &ids, &n)) return CLI_USAGE;
    sa_error err;
    for (int i = 0; i < n && !rc; i++)
        if (sa_tokens_push(t, ids[i], &err) != SA_OK) rc = cli_report(CMD, &err);
    free(ids);
    if (rc) sa_tokens_free(t);
    return rc;
}

/* A decoded text as a raw JSON string literal: cJSON's own strings stop at a NUL byte, and
 * decoded text may contain one. */
static cJSON *json_text(const char *s, size_t n) {
    size_t k = 0;
    char *o = malloc(6 * n + 3);
    if (!o) return NULL;
    o[k++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            k += (size_t)sprintf(o + k, "\\%c", c);
        else if (c == '\n')
            k += (size_t)sprintf(o + k, "\\n");
        else if (c < 0x20 || c == 0x7F)
            k += (size_t)sprintf(o + k, "\\u%04x", c);
        else
            o[k++] = (char)c;
    }
    o[k++] = '"';
    o[k] = 0;
    cJSON *r = cJSON_CreateRaw(o);
    free(o);
    return r;
}

/* The pieces of text a streaming decoder prints id by id (flush last), as a JSON list. */
static cJSON *stream_steps(const sa_tokenizer *tok, const sa_tokens *t, unsigned flags) {
    sa_error err;
    sa_tok_stream *s;
    if (sa_tok_stream_new(tok, flags, &s, &err) != SA_OK) return NULL;
    cJSON *steps = cJSON_CreateArray();
    const char *p;
    size_t n;
    for (size_t i = 0; i <= t->n; i++) {
        sa_status st = i < t->n ? sa_tok_stream_step(s, t->ids[i], &p, &n, &err)
                                : sa_tok_stream_flush(s, &p, &n, &err);
        if (st != SA_OK) {
            cJSON_Delete(steps);
            steps = NULL;
            break;
        }
        cJSON_AddItemToArray(steps, json_text(p, n));
    }
    sa_tok_stream_free(s);
    return steps;
}

/* Decode to {"text": ...}; *plain (if not NULL) receives the text itself, *plain_len its length. */
static int decode_json(const sa_tokenizer *tok, const sa_tokens *t, unsigned flags, int stream,
                       cJSON **out, char **plain, size_t *plain_len) {
    sa_error err;
    char *text;
    size_t len;
    if (sa_tokenizer_decode(tok, t->ids, t->n, flags, &text, &len, &err) != SA_OK)
        return cli_report(CMD, &err);
    *out = cJSON_CreateObject();
    cJSON_AddItemToObject(*out, "text", json_text(text, len));
    if (stream) {
        cJSON *steps = stream_steps(tok, t, flags);
        if (!steps) {
            free(text);
            return cli_error(CMD, "streaming decode failed");
        }
        cJSON_AddItemToObject(*out, "steps", steps);
    }
    if (plain) {
        *plain = text;
        *plain_len = len;
    } else
        free(text);
    return 0;
}

static int run_input(const sa_tokenizer *tok, const char *path, unsigned flags, int stream) {
    sa_error err;
    char *data;
    size_t len;
    if (sa_read_file(path, &data, &len, &err) != SA_OK) return cli_report(CMD, &err);
    cJSON *all = cJSON_CreateArray();
    int rc = CLI_OK;
    size_t lineno = 0;
    char *pos = data, *line;
    while (rc == CLI_OK && (line = tok_cli_next_line(&pos, &lineno))) {
        cJSON *j = cJSON_Parse(line), *ids = cJSON_GetObjectItemCaseSensitive(j, "ids");
        sa_tokens t = {0};
        unsigned f = flags;
        if (!j)
            rc = cli_error(CMD, "--input line %zu: not valid JSON", lineno);
        else if (!cJSON_IsArray(ids))
            rc = cli_error(CMD, "--input line %zu: needs an \"ids\" list", lineno);
        else if (tok_cli_json_flag(j, "skip_special", &f, SA_DECODE_SKIP_SPECIAL, 1) ||
                 tok_cli_json_flag(j, "cleanup", &f, SA_DECODE_NO_CLEANUP, 0))
            rc = cli_error(
                CMD, "--input line %zu: \"skip_special\" and \"cleanup\" must be true or false",
                lineno);
        for (cJSON *e = ids ? ids->child : NULL; rc == CLI_OK && e; e = e->next) {
            if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 2e9 ||
                e->valuedouble != (double)(int32_t)e->valuedouble)
                rc = cli_error(CMD, "--input line %zu: ids must be non-negative integers", lineno);
            else if (sa_tokens_push(&t, (int32_t)e->valuedouble, &err) != SA_OK)
                rc = cli_report(CMD, &err);
        }
        cJSON *r = NULL;
        if (rc == CLI_OK && decode_json(tok, &t, f, stream, &r, NULL, NULL)) rc = CLI_FAIL;
        if (r) cJSON_AddItemToArray(all, r);
        sa_tokens_free(&t);
        cJSON_Delete(j);
    }
    free(data);
    return tok_cli_print_lines(CMD, all, rc);
}

static int run(int argc, char **argv) {
    const char *model = NULL, *ids = NULL, *input = NULL;
    unsigned flags = SA_DECODE_REFUSE_UNKNOWN;
    int text_only = 0, stream = 0;
    int skip = 0, skip_unknown = 0, no_cleanup = 0;
    cli_args p;
    cli_args_init(&p, CMD, argc, argv);
    while (cli_args_next(&p)) {
        if (cli_flag_help(&p)) return usage(stdout), CLI_OK;
        if (!(cli_flag_str(&p, "--model", &model) || cli_flag_str(&p, "--ids", &ids) ||
              cli_flag_str(&p, "--input", &input) || cli_flag_on(&p, "--skip-special", &skip) ||
              cli_flag_on(&p, "--skip-unknown", &skip_unknown) ||
              cli_flag_on(&p, "--no-cleanup", &no_cleanup) ||
              cli_flag_on(&p, "--stream", &stream) || cli_flag_on(&p, "--text-only", &text_only)))
            cli_args_unknown(&p);
    }
    if (p.failed) return CLI_USAGE;
    if (skip) flags |= SA_DECODE_SKIP_SPECIAL;
    if (no_cleanup) flags |= SA_DECODE_NO_CLEANUP;
    if (skip_unknown) flags &= ~(unsigned)SA_DECODE_REFUSE_UNKNOWN;
    if (!model) return cli_usage_error(CMD, "--model is required");
    if (!ids == !input) return cli_usage_error(CMD, "give exactly one of --ids, --input");
    sa_tokens t = {0};
    if (ids && parse_ids(ids, &t)) return CLI_USAGE;
    sa_error err;
    sa_tokenizer *tok;
    if (sa_tokenizer_load(model, &tok, &err) != SA_OK) {
        sa_tokens_free(&t);
        return cli_report(CMD, &err);
    }
    int rc = CLI_OK;
    if (input)
        rc = run_input(tok, input, flags, stream);
    else {
        cJSON *r = NULL;
        char *plain = NULL;
        size_t plain_len = 0;
        if (decode_json(tok, &t, flags, stream, &r, &plain, &plain_len))
            rc = CLI_FAIL;
        else if (text_only)
            fwrite(plain, 1, plain_len, stdout);
        else {
            char *s = cJSON_PrintUnformatted(r);
            if (s) puts(s);
            free(s);
        }
        cJSON_Delete(r);
        free(plain);
    }
    sa_tokens_free(&t);
    sa_tokenizer_free(tok);
    return rc;
}

const sa_cli_command sa_cmd_detokenize = {"detokenize",
                                          "token ids back to text (Hugging Face decode)", run};
