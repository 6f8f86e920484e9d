/* prompt.c: turning a dataset item into the text the model sees.
 *
 * Three modes: raw (the paper's fixed instruction prefix + question, no chat template; the
 * backend's tokenizer adds BOS), chat (the model's own chat template with an optional system
 * message) and template (the user's text with a {question} and optional {context} slot).
 * Placeholder substitution is a single pass, so a question that itself contains "{question}" is
 * not expanded again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safearith/eval.h"

char *sa_eval_subst(const char *t, int n, const char *const *names, const char *const *values) {
    size_t cap = strlen(t) + 1;
    for (int i = 0; i < n; i++) {
        size_t occ = 0, nl = strlen(names[i]);
        for (const char *p = strchr(t, '{'); p; p = strchr(p + 1, '{'))
            if (!strncmp(p + 1, names[i], nl) && p[1 + nl] == '}') occ++;
        cap += occ * strlen(values[i]);
    }
    char *out = malloc(cap);
    if (!out) return NULL;
    size_t o = 0;
    for (const char *p = t; *p;) {
        int hit = -1;
        if (*p == '{')
            for (int i = 0; i < n && hit < 0; i++) {
                size_t nl = strlen(names[i]);
                if (!strncmp(p + 1, names[i], nl) && p[1 + nl] == '}') hit = i;
            }
        if (hit >= 0) {
            size_t vl = strlen(values[hit]);
            memcpy(out + o, values[hit], vl);
            o += vl;
            p += strlen(names[hit]) + 2;
        } else
            out[o++] = *p++;
    }
    out[o] = 0;
    return out;
}

/* The question as the model sees it: HarmBench's contextual behaviours put their context first,
 * "{context}\n\n---\n\n{behavior}", as HarmBench's own generation step does. */
static char *question_text(const sa_eval_item *it) {
    if (!it->context) return strdup(it->text);
    size_t n = strlen(it->context) + strlen(it->text) + 8;
    char *q = malloc(n);
    if (q) snprintf(q, n, "%s\n\n---\n\n%s", it->context, it->text);
    return q;
}

sa_status sa_eval_prompt_render(const sa_eval_prompting *p, const sa_eval_backend *be,
                                const sa_eval_item *it, char **out, sa_error *err) {
    *out = NULL;
    switch (p->mode) {
    case SA_PROMPT_RAW: {
        const char *pre = p->prefix ? p->prefix : SA_EVAL_RAW_PREFIX;
        char *q = question_text(it);
        size_t n = strlen(pre) + (q ? strlen(q) : 0) + 1;
        if (q && (*out = malloc(n))) snprintf(*out, n, "%s%s", pre, q);
        free(q);
        break;
    }
    case SA_PROMPT_CHAT: {
        if (!be || !be->chat)
            return sa_error_set(err, SA_EUNSUPPORTED,
                                "--prompt chat: the model has no chat template");
        char *q = question_text(it);
        if (!q) break;
        sa_status st = be->chat(be->ud, p->system, q, out, err);
        free(q);
        return st;
    }
    case SA_PROMPT_TEMPLATE: {
        const char *names[] = {"question", "context"};
        const char *vals[] = {it->text, it->context ? it->context : ""};
        *out = sa_eval_subst(p->templ, 2, names, vals);
        break;
    }
    }
    if (!*out) return sa_error_set(err, SA_ENOMEM, "out of memory rendering a prompt");
    return SA_OK;
}
