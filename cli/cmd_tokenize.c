/* cmd_tokenize.c: `safearith tokenize`: text (or a chat rendered through a template) to token ids.
 *
 * Output is JSON on stdout: {"ids": [...], "pieces": [...]} for --text, and with --input one such
 * line per input line (JSONL in, JSONL out) so that programs can tokenise many strings with one
 * load. --messages renders a chat ([{role, content}, ...]) with the model's template (or
 * --chat-template NAME) and prints {"template", "text", "ids"}. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flags.h"
#include "tok_cli.h"
#include "core/fsutil.h"
#include "safearith/tokenizer.h"

#define CMD "tokenize"

static void usage(FILE *o) {
    fprintf(
        o,
        "usage: safearith tokenize --model DIR (--text T | --input FILE.jsonl | --messages "
        "FILE.json | --info)\n"
        "                          [--ids-only] [--no-special] [--no-add-special]\n"
        "                          [--chat-template NAME] [--add-generation-prompt]\n\n"
        "  --model DIR              directory with tokenizer.json (and tokenizer_config.json)\n"
        "  --text T                 text to encode (UTF-8)\n"
        "  --input FILE             JSONL, one {\"text\": \"...\"} (or {\"hex\": \"...\"} for "
        "raw bytes)\n"
        "                           per line, optionally with \"add_special\" / \"parse_special\"\n"
        "                           booleans; prints one JSON line per input line\n"
        "  --messages FILE          a JSON list of {\"role\", \"content\"} rendered with the "
        "chat template\n"
        "                           (or JSONL: one list per line, one result line each)\n"
        "  --chat-template NAME     raw, llama-2, llama-3, llama-3.1, mistral-v1, mistral-v3,\n"
        "                           mistral-v3-tekken, chatml, qwen2.5, qwen3, gemma, organism\n"
        "                           (default: recognised from tokenizer_config.json, else raw)\n"
        "  --add-generation-prompt  end the rendered chat with the assistant's prompt\n"
        "  --info                   print vocab_size, bos/eos/pad/unk ids, stop_ids and the\n"
        "                           recognised chat template (-1: none)\n"
        "  --ids-only               print only the ids (a JSON list)\n"
        "  --no-special             treat special-token text (\"<|eot_id|>\") as plain text\n"
        "  --no-add-special         do not add BOS/EOS (the post-processor)\n");
}

typedef struct opts {
    const char *model, *text, *input, *messages, *chat_template;
    int ids_only, gen, info;
    unsigned flags;
} opts;

static int parse(int argc, char **argv, opts *o) {
    o->flags = SA_TOK_DEFAULT;
    int no_special = 0, no_add = 0;
    cli_args p;
    cli_args_init(&p, CMD, argc, argv);
    while (cli_args_next(&p)) {
        if (!(cli_flag_str(&p, "--model", &o->model) || cli_flag_str(&p, "--text", &o->text) ||
              cli_flag_str(&p, "--input", &o->input) ||
              cli_flag_str(&p, "--messages", &o->messages) ||
              cli_flag_str(&p, "--chat-template", &o->chat_template) ||
              cli_flag_on(&p, "--ids-only", &o->ids_only) ||
              cli_flag_on(&p, "--no-special", &no_special) ||
              cli_flag_on(&p, "--no-add-special", &no_add) ||
              cli_flag_on(&p, "--add-generation-prompt", &o->gen) ||
              cli_flag_on(&p, "--info", &o->info)))
            cli_args_unknown(&p);
    }
    if (p.failed) return CLI_USAGE;
    if (no_special) o->flags &= ~(unsigned)SA_TOK_PARSE_SPECIAL;
    if (no_add) o->flags &= ~(unsigned)SA_TOK_ADD_SPECIAL;
    if (!o->model) return cli_usage_error(CMD, "--model is required");
    if (!!o->text + !!o->input + !!o->messages + o->info != 1)
        return cli_usage_error(CMD, "give exactly one of --text, --input, --messages, --info");
    return 0;
}

/* The JSON object for one encoding (ids, and pieces unless ids_only). */
static cJSON *result_json(const sa_tokenizer *tok, const sa_tokens *t, int ids_only) {
    cJSON *ids = cJSON_CreateArray(), *obj = ids_only ? NULL : cJSON_CreateObject();
    for (size_t i = 0; i < t->n; i++) cJSON_AddItemToArray(ids, cJSON_CreateNumber(t->ids[i]));
    if (ids_only) return ids;
    cJSON_AddItemToObject(obj, "ids", ids);
    cJSON *pieces = cJSON_AddArrayToObject(obj, "pieces");
    for (size_t i = 0; i < t->n; i++) {
        const char *p = sa_tokenizer_id_to_piece(tok, t->ids[i]);
        cJSON_AddItemToArray(pieces, cJSON_CreateString(p ? p : ""));
    }
    return obj;
}

static int print_json(cJSON *j) {
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s) return cli_error(CMD, "out of memory printing the result");
    puts(s);
    free(s);
    return CLI_OK;
}

static int hexval(char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* One --input line to bytes: {"text": ...} or {"hex": ...}. Returns 0 or prints an error. */
static int line_text(const cJSON *j, size_t lineno, char **buf, size_t *len) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "text"),
                *h = cJSON_GetObjectItemCaseSensitive(j, "hex");
    if (cJSON_IsString(t)) {
        *len = strlen(t->valuestring);
        *buf = strdup(t->valuestring);
        return *buf ? 0 : cli_error(CMD, "out of memory");
    }
    if (!cJSON_IsString(h) || strlen(h->valuestring) % 2)
        return cli_error(
            CMD, "--input line %zu: needs a \"text\" string or an even-length \"hex\" string",
            lineno);
    size_t n = strlen(h->valuestring) / 2;
    *buf = malloc(n + 1);
    if (!*buf) return cli_error(CMD, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int a = hexval(h->valuestring[2 * i]), b = hexval(h->valuestring[2 * i + 1]);
        if (a < 0 || b < 0) {
            free(*buf);
            return cli_error(CMD, "--input line %zu: bad hex digit", lineno);
        }
        (*buf)[i] = (char)(a * 16 + b);
    }
    *len = n;
    return 0;
}

/* A line may override the flags: "add_special" and "parse_special" (booleans). */
static int line_flags(const cJSON *j, size_t lineno, unsigned *flags) {
    if (tok_cli_json_flag(j, "add_special", flags, SA_TOK_ADD_SPECIAL, 1) ||
        tok_cli_json_flag(j, "parse_special", flags, SA_TOK_PARSE_SPECIAL, 1))
        return cli_error(CMD,
                         "--input line %zu: \"add_special\" and \"parse_special\" must be "
                         "true or false",
                         lineno);
    return 0;
}

/* Encode every line first, print only when all succeeded (no partial output). */
static int run_input(sa_tokenizer *tok, const opts *o) {
    sa_error err;
    char *data;
    size_t len;
    if (sa_read_file(o->input, &data, &len, &err) != SA_OK) return cli_report(CMD, &err);
    cJSON *all = cJSON_CreateArray();
    size_t lineno = 0;
    int rc = CLI_OK;
    char *pos = data, *line;
    while (rc == CLI_OK && (line = tok_cli_next_line(&pos, &lineno))) {
        cJSON *j = cJSON_Parse(line);
        char *text = NULL;
        size_t tl = 0;
        if (!j)
            rc = cli_error(CMD, "--input line %zu: not valid JSON", lineno);
        else if (line_text(j, lineno, &text, &tl))
            rc = CLI_FAIL;
        sa_tokens t = {0};
        unsigned flags = o->flags;
        if (rc == CLI_OK && line_flags(j, lineno, &flags)) rc = CLI_FAIL;
        if (rc == CLI_OK && sa_tokenizer_encode(tok, text, tl, flags, &t, &err) != SA_OK)
            rc = cli_error(CMD, "--input line %zu: %s", lineno, err.msg);
        if (rc == CLI_OK) {
            cJSON *r = result_json(tok, &t, 0);
            if (o->ids_only) {
                cJSON_DeleteItemFromObject(r, "pieces");
            }
            cJSON_AddItemToArray(all, r);
        }
        sa_tokens_free(&t);
        free(text);
        cJSON_Delete(j);
    }
    free(data);
    return tok_cli_print_lines(CMD, all, rc);
}

/* One conversation (a JSON list of {role, content}) to messages pointing into j. */
static int to_messages(const cJSON *j, const char *where, sa_chat_msg **msgs, size_t *n) {
    if (!cJSON_IsArray(j)) return cli_error(CMD, "%s: not a JSON list of messages", where);
    *n = (size_t)cJSON_GetArraySize(j);
    *msgs = calloc(*n ? *n : 1, sizeof **msgs);
    if (!*msgs) return cli_error(CMD, "out of memory");
    size_t i = 0;
    for (const cJSON *e = j->child; e; e = e->next, i++) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(e, "role");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "content");
        if (!cJSON_IsString(r) || !cJSON_IsString(c)) {
            free(*msgs);
            return cli_error(CMD, "%s: message %zu needs string \"role\" and \"content\"", where,
                             i);
        }
        (*msgs)[i] = (sa_chat_msg){r->valuestring, c->valuestring};
    }
    return 0;
}

/* Render and encode one conversation into a result object. */
static int chat_one(sa_tokenizer *tok, sa_chat_family f, const cJSON *conv, const char *where,
                    int gen, cJSON **out) {
    sa_chat_msg *msgs = NULL;
    size_t n = 0;
    if (to_messages(conv, where, &msgs, &n)) return CLI_FAIL;
    sa_error err;
    char *text = NULL;
    sa_tokens t = {0};
    sa_status st = sa_chat_render(tok, f, msgs, n, gen, &text, &err);
    if (st == SA_OK) st = sa_chat_encode(tok, f, msgs, n, gen, &t, &err);
    free(msgs);
    if (st != SA_OK) {
        free(text);
        sa_tokens_free(&t);
        return cli_error(CMD, "%s: %s", where, err.msg);
    }
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "template", sa_chat_family_name(f));
    cJSON_AddStringToObject(r, "text", text);
    cJSON *ids = cJSON_AddArrayToObject(r, "ids");
    for (size_t i = 0; i < t.n; i++) cJSON_AddItemToArray(ids, cJSON_CreateNumber(t.ids[i]));
    free(text);
    sa_tokens_free(&t);
    *out = r;
    return 0;
}

/* --messages FILE: one JSON list, or JSONL with one list per line (one result line each). */
static int run_messages(sa_tokenizer *tok, const opts *o) {
    sa_error err;
    sa_chat_family f;
    sa_status st = o->chat_template ? sa_chat_family_from_name(o->chat_template, &f, &err)
                                    : sa_tokenizer_chat_family(tok, &f, &err);
    if (st != SA_OK) return cli_report(CMD, &err);
    char *data;
    size_t len;
    if (sa_read_file(o->messages, &data, &len, &err) != SA_OK) return cli_report(CMD, &err);
    cJSON *whole = cJSON_ParseWithLengthOpts(data, len, NULL, 1), *all = cJSON_CreateArray();
    int rc = CLI_OK;
    if (whole) {
        cJSON *r = NULL;
        rc = chat_one(tok, f, whole, o->messages, o->gen, &r);
        if (r) cJSON_AddItemToArray(all, r);
    } else {
        size_t lineno = 0;
        char *pos = data, *line;
        while (rc == CLI_OK && (line = tok_cli_next_line(&pos, &lineno))) {
            char where[64];
            snprintf(where, sizeof where, "--messages line %zu", lineno);
            cJSON *j = cJSON_Parse(line), *r = NULL;
            rc = j ? chat_one(tok, f, j, where, o->gen, &r)
                   : cli_error(CMD, "%s: not valid JSON", where);
            if (r) cJSON_AddItemToArray(all, r);
            cJSON_Delete(j);
        }
    }
    cJSON_Delete(whole);
    free(data);
    return tok_cli_print_lines(CMD, all, rc);
}

/* --info: the tokenizer's special ids, size and chat template family. */
static int run_info(const sa_tokenizer *tok) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "vocab_size", (double)sa_tokenizer_vocab_size(tok));
    cJSON_AddNumberToObject(r, "bos_id", sa_tokenizer_bos_id(tok));
    cJSON_AddNumberToObject(r, "eos_id", sa_tokenizer_eos_id(tok));
    cJSON_AddNumberToObject(r, "pad_id", sa_tokenizer_pad_id(tok));
    cJSON_AddNumberToObject(r, "unk_id", sa_tokenizer_unk_id(tok));
    const int32_t *stop;
    size_t n = sa_tokenizer_stop_ids(tok, &stop);
    cJSON *s = cJSON_AddArrayToObject(r, "stop_ids");
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(s, cJSON_CreateNumber(stop[i]));
    sa_chat_family f;
    sa_error err;
    if (sa_tokenizer_chat_family(tok, &f, &err) == SA_OK)
        cJSON_AddStringToObject(r, "chat_template", sa_chat_family_name(f));
    else
        cJSON_AddStringToObject(r, "chat_template", "unrecognised");
    return print_json(r);
}

static int run(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return CLI_OK;
        }
    opts o = {0};
    int rc = parse(argc, argv, &o);
    if (rc) return rc;
    sa_error err;
    sa_tokenizer *tok;
    if (sa_tokenizer_load(o.model, &tok, &err) != SA_OK) return cli_report(CMD, &err);
    if (o.info)
        rc = run_info(tok);
    else if (o.input)
        rc = run_input(tok, &o);
    else if (o.messages)
        rc = run_messages(tok, &o);
    else {
        sa_tokens t = {0};
        if (sa_tokenizer_encode(tok, o.text, strlen(o.text), o.flags, &t, &err) != SA_OK)
            rc = cli_report(CMD, &err);
        else
            rc = print_json(result_json(tok, &t, o.ids_only));
        sa_tokens_free(&t);
    }
    sa_tokenizer_free(tok);
    return rc;
}

const sa_cli_command sa_cmd_tokenize = {
    "tokenize", "text or a chat to token ids (Hugging Face tokenizer.json)", run};
