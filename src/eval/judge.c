/* judge.c: judge specs from the command line and applying judges to a batch of responses.
 *
 * Any spec may end with ":name=NAME", the name under which verdicts are stored and reported.
 * "refusal[:LIST][:KEY][:rule=substring|isubstring|prefix]": no LIST is the default 29-string
 * AdvBench list; LIST is a file (.json in the refusal_prefix_lists.json layout, KEY picking the
 * entry, or .txt with one string per line) or the name of an entry in the lists file given by
 * the caller; lang=CODE declares the list's language (English otherwise), so that a dataset in
 * another language is never scored with it. "model:DIR:PROMPT[:verdict=V]": a local checkpoint
 * as judge with a judge prompt file; PROMPT is required so that the verdict format is always
 * explicit. "server:URL[:PROMPT][:model=NAME][:verdict=V][:measure=refusal]": the same behind an
 * OpenAI-compatible server; without PROMPT the judge is Llama Guard, whose chat template turns
 * the conversation (question, response) into its own classification prompt. The URL keeps its
 * colons (scheme, port, a bracketed IPv6 host): it ends at the first ':' after its host and
 * port (url.c). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_json.h"
#include "formats/jsonl.h"
#include "safearith/eval.h"

void sa_eval_judge_free(sa_eval_judge *j) {
    if (!j) return;
    free(j->name);
    sa_refusal_list_free(&j->list);
    sa_judge_prompt_free(&j->prompt);
    if (j->backend.destroy) j->backend.destroy(j->backend.ud);
    free(j->source_sha256), free(j->spec), free(j->model_dir);
    free(j->server_url), free(j->server_model), free(j->lang);
    memset(j, 0, sizeof *j);
}

static int split(char *s, char **tok, int max) {
    int n = 0;
    for (char *save = NULL, *t = strtok_r(s, ":", &save); t && n < max;
         t = strtok_r(NULL, ":", &save))
        tok[n++] = t;
    return n;
}

/* "server:URL:rest" into "server", the URL, and the rest's parts (see the top; eval_json.h). */
int sa_eval_judge_server_split(char *s, char **tok, int max) {
    char *url = s + 7, *p = url + sa_eval_url_authority_end(url);
    p += strcspn(p, ":");
    int n = 0;
    s[6] = 0;
    tok[n++] = s, tok[n++] = url;
    if (*p) *p++ = 0, n += split(p, tok + n, max - n);
    return n;
}

/* The spec as rows and run.json show it: a server judge's URL without user information or
 * query (sa_eval_url_public), so that credentials never reach a file. */
static char *shown_spec(const char *spec) {
    if (strncmp(spec, "server:", 7)) return strdup(spec);
    char *copy = strdup(spec), *tok[8];
    if (!copy) return NULL;
    int n = sa_eval_judge_server_split(copy, tok, 8);
    char *url = n > 1 ? sa_eval_url_public(tok[1]) : NULL;
    size_t len = strlen(spec) + 16;
    char *out = url ? malloc(len) : NULL;
    if (out) {
        size_t o = (size_t)snprintf(out, len, "server:%s", url);
        for (int i = 2; i < n && o < len; i++)
            o += (size_t)snprintf(out + o, len - o, ":%s", tok[i]);
    }
    free(url), free(copy);
    return out;
}

static int is_path(const char *s) {
    size_t l = strlen(s);
    return strchr(s, '/') || (l > 5 && !strcmp(s + l - 5, ".json")) ||
           (l > 4 && !strcmp(s + l - 4, ".txt"));
}

static sa_status parse_refusal(sa_eval_judge *j, char **tok, int n, const char *lists_file,
                               sa_error *err) {
    const char *list = NULL, *key = NULL;
    int rule = -1;
    for (int i = 1; i < n; i++) {
        if (!strncmp(tok[i], "lang=", 5) && tok[i][5]) {
            free(j->lang);
            j->lang = strdup(tok[i] + 5);
        } else if (!strncmp(tok[i], "rule=", 5)) {
            const char *r = tok[i] + 5;
            rule = !strcmp(r, "substring")    ? SA_MATCH_SUBSTRING
                   : !strcmp(r, "isubstring") ? SA_MATCH_ISUBSTRING
                   : !strcmp(r, "prefix")     ? SA_MATCH_PREFIX
                                              : -2;
            if (rule == -2)
                return sa_error_set(err, SA_EINVAL,
                                    "--judge %s: rule '%s' is not substring, isubstring or prefix",
                                    j->name, r);
        } else if (!list)
            list = tok[i];
        else if (!key)
            key = tok[i];
        else
            return sa_error_set(err, SA_EINVAL, "--judge %s: too many parts", j->name);
    }
    sa_status st;
    char hex[65];
    if (!j->lang && !(j->lang = strdup("en"))) return sa_error_set(err, SA_ENOMEM, "out of memory");
    if (!list || !strcmp(list, "default") ||
        (!strcmp(list, "gcg_evaluate_transfer") && !lists_file)) {
        st = sa_refusal_list_default(&j->list, err);
        if (!st && rule >= 0) j->list.rule = (sa_refusal_rule)rule;
        j->source_sha256 = strdup("builtin");
        return st;
    }
    const char *file = list;
    if (!is_path(list)) {
        if (!lists_file)
            return sa_error_set(err, SA_EINVAL,
                                "--judge %s: list '%s' is a name: give the lists file with "
                                "--refusal-lists FILE (refusal_prefix_lists.json)",
                                j->name, list);
        file = lists_file, key = list;
    }
    if ((st = sa_refusal_list_load(file, key, rule, &j->list, err))) return st;
    if ((st = sa_sha256_file(file, hex, err))) return st;
    j->source_sha256 = strdup(hex);
    return SA_OK;
}

/* "model:DIR:PROMPT[...]" or "server:URL[:PROMPT][...]": tok[1] is DIR or URL. */
static sa_status parse_model(sa_eval_judge *j, char **tok, int n, int server, sa_error *err) {
    const char *prompt = NULL, *model = NULL;
    int style = -1, refusal = 0;
    j->is_model = 1;
    sa_status st;
    if (server && n > 1 && (st = sa_eval_url_check(tok[1], "--judge server:URL", err))) return st;
    for (int i = 2; i < n; i++) {
        if (!strncmp(tok[i], "verdict=", 8)) {
            if ((style = sa_judge_style_from_name(tok[i] + 8)) < 0)
                return sa_error_set(err, SA_EINVAL,
                                    "--judge %s: verdict '%s' is not yesno, markers, score, "
                                    "xstest, llamaguard or wildguard",
                                    j->spec, tok[i] + 8);
        } else if (!strcmp(tok[i], "measure=refusal"))
            refusal = 1;
        else if (server && !strncmp(tok[i], "model=", 6) && tok[i][6])
            model = tok[i] + 6;
        else if (!prompt)
            prompt = tok[i];
        else
            return sa_error_set(err, SA_EINVAL, "--judge %s: too many parts", j->spec);
    }
    if (n < 2 || (!prompt && !server))
        return sa_error_set(err, SA_EINVAL,
                            "--judge %s: expected model:DIR:PROMPT (PROMPT: a judge prompt file, "
                            "e.g. harmbench_llama2_cls_prompt.json)",
                            j->spec);
    char hex[65];
    if (!prompt) {
        if ((st = sa_judge_prompt_llamaguard(&j->prompt, err))) return st;
        j->source_sha256 = strdup("builtin");
    } else {
        if ((st = sa_judge_prompt_load(prompt, style == SA_JUDGE_YESNO, &j->prompt, err)) ||
            (st = sa_sha256_file(prompt, hex, err)))
            return st;
        j->source_sha256 = strdup(hex);
    }
    if (style >= 0) j->prompt.style = (sa_judge_style)style;
    if (style == SA_JUDGE_LLAMAGUARD || style == SA_JUDGE_WILDGUARD) j->prompt.max_new_tokens = 32;
    if (refusal && j->prompt.style != SA_JUDGE_WILDGUARD)
        return sa_error_set(err, SA_EINVAL,
                            "--judge %s: measure=refusal is for WildGuard's refusal line", j->spec);
    if (refusal) j->prompt.refusal_type = 1;
    if (server) {
        j->server_url = strdup(tok[1]);
        if (model) j->server_model = strdup(model);
    } else
        j->model_dir = strdup(tok[1]);
    if (!j->source_sha256 ||
        (server ? !j->server_url || (model && !j->server_model) : !j->model_dir))
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    return SA_OK;
}

sa_status sa_eval_judge_parse(const char *spec, const char *lists_file, sa_eval_judge *out,
                              char **model_dir, sa_error *err) {
    memset(out, 0, sizeof *out);
    if (model_dir) *model_dir = NULL;
    out->spec = shown_spec(spec);
    out->name = out->spec ? strdup(out->spec) : NULL;
    char *copy = strdup(spec), *tok[8];
    if (!out->name || !out->spec || !copy) {
        free(copy);
        sa_eval_judge_free(out);
        return sa_error_set(err, SA_ENOMEM, "--judge %s: out of memory", spec);
    }
    int n = !strncmp(copy, "server:", 7) ? sa_eval_judge_server_split(copy, tok, 8)
                                         : split(copy, tok, 8),
        k = 0;
    for (int i = 0; i < n; i++) { /* name=NAME: the judge's name in rows and summaries */
        if (!strncmp(tok[i], "name=", 5) && tok[i][5]) {
            free(out->name);
            out->name = strdup(tok[i] + 5);
        } else
            tok[k++] = tok[i];
    }
    n = k;
    sa_status st = SA_OK;
    if (n && !strcmp(tok[0], "refusal")) {
        st = parse_refusal(out, tok, n, lists_file, err);
    } else if (n && !strcmp(tok[0], "model")) {
        st = parse_model(out, tok, n, 0, err);
        if (!st && model_dir && !(*model_dir = strdup(out->model_dir)))
            st = sa_error_set(err, SA_ENOMEM, "out of memory");
    } else if (n && !strcmp(tok[0], "server")) {
        st = parse_model(out, tok, n, 1, err);
    } else {
        st = sa_error_set(err, SA_EINVAL,
                          "--judge %s: expected refusal[:LIST], model:DIR:PROMPT or "
                          "server:URL[:PROMPT]",
                          spec);
    }
    free(copy);
    if (!st && (!out->name || !out->source_sha256))
        st = sa_error_set(err, SA_ENOMEM, "--judge %s: out of memory", spec);
    if (st) {
        sa_eval_judge_free(out);
        if (model_dir) free(*model_dir), *model_dir = NULL;
    }
    return st;
}

/* A judge's verdict, added to a row's "judges" under its name. */
static cJSON *verdict(sa_jb *jb, cJSON *judged, const char *name, int flag, const char *label) {
    cJSON *o = sa_jb_obj(jb, judged, name);
    sa_jb_num(jb, o, "flag", flag);
    sa_jb_str(jb, o, "label", label);
    return o;
}

static sa_status apply_model(sa_eval_judge *j, int n, const sa_eval_item *const *items,
                             const char *const *responses, cJSON *const *judged, sa_error *err) {
    char **prompts = calloc((size_t)n, sizeof *prompts), **outs = calloc((size_t)n, sizeof *outs);
    sa_status st = (!prompts || !outs) ? sa_error_set(err, SA_ENOMEM, "out of memory") : SA_OK;
    for (int i = 0; i < n && !st; i++) {
        char *user = NULL;
        if (!j->prompt.templ) { /* the conversation itself (Llama Guard) */
            const char *roles[] = {"user", "assistant"}, *texts[] = {items[i]->text, responses[i]};
            st = j->backend.chat_turns
                     ? j->backend.chat_turns(j->backend.ud, 2, roles, texts, &prompts[i], err)
                     : sa_error_set(err, SA_EUNSUPPORTED,
                                    "--judge %s: judging the conversation needs a server judge "
                                    "(or give a prompt file)",
                                    j->name);
            continue;
        }
        st = sa_judge_prompt_render(&j->prompt, items[i]->text, responses[i], items[i]->context,
                                    &user, err);
        if (!st && j->prompt.use_chat) {
            if (!j->backend.chat)
                st = sa_error_set(err, SA_EUNSUPPORTED,
                                  "--judge %s: the judge prompt needs the judge model's chat "
                                  "template, and the model has none",
                                  j->name);
            else
                st = j->backend.chat(j->backend.ud, j->prompt.system, user, &prompts[i], err);
            free(user);
        } else
            prompts[i] = user;
    }
    sa_eval_decoding dec = {.max_new_tokens = j->prompt.max_new_tokens, .top_p = 1};
    uint8_t *templated = calloc((size_t)n, 1);
    if (!templated && !st) st = sa_error_set(err, SA_ENOMEM, "out of memory");
    for (int i = 0; i < n && templated; i++) templated[i] = (uint8_t)j->prompt.use_chat;
    if (!st)
        st = j->backend.generate(j->backend.ud, n, (const char *const *)prompts, templated, &dec,
                                 outs, NULL, err);
    sa_jb jb = {0};
    for (int i = 0; i < n && !st; i++) {
        const char *label;
        int flag = sa_judge_parse(&j->prompt, outs[i], &label);
        cJSON *v = verdict(&jb, judged[i], j->name, flag, label);
        sa_judge_details(&jb, v, &j->prompt, outs[i]);
        sa_jb_str(&jb, v, "raw", outs[i]);
    }
    if (!st && jb.oom) st = sa_error_set(err, SA_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) free(prompts ? prompts[i] : NULL), free(outs ? outs[i] : NULL);
    free(prompts), free(outs), free(templated);
    if (st) sa_error_prefix(err, "judge %s", j->name);
    return st;
}

sa_status sa_eval_judge_apply(sa_eval_judge *j, int n, const sa_eval_item *const *items,
                              const char *const *responses, cJSON *const *judged, sa_error *err) {
    if (j->is_model) return apply_model(j, n, items, responses, judged, err);
    sa_jb jb = {0}; /* a verdict lost to memory would read as unparseable */
    for (int i = 0; i < n; i++) {
        int refused = sa_refusal_check(&j->list, responses[i]);
        verdict(&jb, judged[i], j->name, !refused, refused ? "refusal" : "compliance");
    }
    return jb.oom ? sa_error_set(err, SA_ENOMEM, "judge %s: out of memory", j->name) : SA_OK;
}
