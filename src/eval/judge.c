/* judge.c: judge specs from the command line and applying judges to a batch of responses.
 *
 * Any spec may end with ":name=NAME", the name under which verdicts are stored and reported.
 * "refusal[:LIST][:KEY][:rule=substring|isubstring|prefix]": no LIST is the default 29-string
 * AdvBench list; LIST is a file (.json in the refusal_prefix_lists.json layout, KEY picking the
 * entry, or .txt with one string per line) or the name of an entry in the lists file given by
 * the caller. "model:DIR:PROMPT[:verdict=yesno]": a local checkpoint as judge with a judge
 * prompt file; PROMPT is required so that the verdict format is always explicit. */
#include <stdlib.h>
#include <string.h>

#include "safearith/eval.h"

void sa_eval_judge_free(sa_eval_judge *j) {
    if (!j) return;
    free(j->name);
    sa_refusal_list_free(&j->list);
    sa_judge_prompt_free(&j->prompt);
    if (j->backend.destroy) j->backend.destroy(j->backend.ud);
    free(j->source_sha256), free(j->spec), free(j->model_dir);
    memset(j, 0, sizeof *j);
}

static int split(char *s, char **tok, int max) {
    int n = 0;
    for (char *save = NULL, *t = strtok_r(s, ":", &save); t && n < max;
         t = strtok_r(NULL, ":", &save))
        tok[n++] = t;
    return n;
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
        if (!strncmp(tok[i], "rule=", 5)) {
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

sa_status sa_eval_judge_parse(const char *spec, const char *lists_file, sa_eval_judge *out,
                              char **model_dir, sa_error *err) {
    memset(out, 0, sizeof *out);
    if (model_dir) *model_dir = NULL;
    out->name = strdup(spec);
    out->spec = strdup(spec);
    char *copy = strdup(spec), *tok[8];
    int n = split(copy, tok, 8), k = 0;
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
        int yesno = 0;
        const char *prompt = NULL;
        out->is_model = 1;
        for (int i = 2; i < n; i++) {
            if (!strcmp(tok[i], "verdict=yesno"))
                yesno = 1;
            else if (!prompt)
                prompt = tok[i];
            else
                st = sa_error_set(err, SA_EINVAL, "--judge %s: too many parts", spec);
        }
        if (!st && (n < 2 || !prompt))
            st = sa_error_set(err, SA_EINVAL,
                              "--judge %s: expected model:DIR:PROMPT (PROMPT: a judge prompt file, "
                              "e.g. harmbench_llama2_cls_prompt.json)",
                              spec);
        char hex[65];
        if (!st) st = sa_judge_prompt_load(prompt, yesno, &out->prompt, err);
        if (!st) st = sa_sha256_file(prompt, hex, err);
        if (!st) {
            out->source_sha256 = strdup(hex);
            out->model_dir = strdup(tok[1]);
            if (model_dir) *model_dir = strdup(tok[1]);
        }
    } else {
        st = sa_error_set(err, SA_EINVAL, "--judge %s: expected refusal[:LIST] or model:DIR:PROMPT",
                          spec);
    }
    free(copy);
    if (st) sa_eval_judge_free(out);
    return st;
}

static cJSON *verdict(int flag, const char *label) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "flag", flag);
    cJSON_AddStringToObject(o, "label", label);
    return o;
}

static sa_status apply_model(sa_eval_judge *j, int n, const sa_eval_item *const *items,
                             const char *const *responses, cJSON *const *judged, sa_error *err) {
    char **prompts = calloc((size_t)n, sizeof *prompts), **outs = calloc((size_t)n, sizeof *outs);
    sa_status st = (!prompts || !outs) ? sa_error_set(err, SA_ENOMEM, "out of memory") : SA_OK;
    for (int i = 0; i < n && !st; i++) {
        char *user = NULL;
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
    sa_eval_decoding dec = {j->prompt.max_new_tokens, 0, 0, 1, 0};
    uint8_t *templated = calloc((size_t)n, 1);
    if (!templated && !st) st = sa_error_set(err, SA_ENOMEM, "out of memory");
    for (int i = 0; i < n && templated; i++) templated[i] = (uint8_t)j->prompt.use_chat;
    if (!st)
        st = j->backend.generate(j->backend.ud, n, (const char *const *)prompts, templated, &dec,
                                 outs, err);
    for (int i = 0; i < n && !st; i++) {
        const char *label;
        int flag = sa_judge_parse(&j->prompt, outs[i], &label);
        cJSON *v = verdict(flag, label);
        cJSON_AddStringToObject(v, "raw", outs[i]);
        cJSON_AddItemToObject(judged[i], j->name, v);
    }
    for (int i = 0; i < n; i++) free(prompts ? prompts[i] : NULL), free(outs ? outs[i] : NULL);
    free(prompts), free(outs), free(templated);
    if (st) sa_error_prefix(err, "judge %s", j->name);
    return st;
}

sa_status sa_eval_judge_apply(sa_eval_judge *j, int n, const sa_eval_item *const *items,
                              const char *const *responses, cJSON *const *judged, sa_error *err) {
    if (j->is_model) return apply_model(j, n, items, responses, judged, err);
    for (int i = 0; i < n; i++) {
        int refused = sa_refusal_check(&j->list, responses[i]);
        cJSON_AddItemToObject(judged[i], j->name,
                              verdict(!refused, refused ? "refusal" : "compliance"));
    }
    return SA_OK;
}
