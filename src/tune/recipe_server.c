/* recipe_server.c: a tune recipe's server back ends (docs/tune.md, "Back ends").
 *
 * A server serves one fixed model, so what a study changes per trial (HDR and RESTA weights, ICV
 * steering) cannot reach it: generation stays on the local engine, and `server.url` (generation
 * through a server) is refused naming the first knob it could not apply. What can sit behind a
 * server is the judge (eval.judge: server:URL[:PROMPT]...), which reads responses and never
 * depends on the trial. Its transport (concurrency, retries, timeout, TLS checks) is the
 * recipe's `server` section, written into the canonical recipe with its defaults so that the
 * fingerprint covers it; the API key comes from the caller (sa_tune_opts.api_key) and is never
 * part of the recipe. A judge URL with user information or a query (where credentials hide) is
 * refused, since the recipe is written to study.json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_json.h"
#include "eval/strbuf.h"
#include "tune/recipe_read.h"

sa_status sa_rc_resolve_server_judge(rctx *c, cJSON *j) {
    char *copy = strdup(j->valuestring), *tok[8];
    if (!copy) return sa_error_set(c->err, SA_ENOMEM, "out of memory");
    int n = sa_eval_judge_server_split(copy, tok, 8);
    char *pub = n > 1 ? sa_eval_url_public(tok[1]) : NULL;
    sa_status st = SA_OK;
    if (n < 2 || !*tok[1])
        st = sa_rc_bad(c, "eval.judge", "server:URL needs the server's API base URL");
    else if (!pub || strcmp(pub, tok[1]))
        st = sa_rc_bad(c, "eval.judge",
                       "the server URL holds user information or a query, which would be written "
                       "to study.json: give the API key in SAFEARITH_API_KEY or OPENAI_API_KEY");
    sa_sbuf out = {0};
    if (!st) sa_sbuf_printf(&out, "server:%s", tok[1]);
    for (int i = 2; !st && i < n; i++) { /* the PROMPT part is a path; options hold a '=' */
        char *res = strchr(tok[i], '=') ? strdup(tok[i]) : sa_rc_resolve(c, tok[i]);
        if (res) sa_sbuf_printf(&out, ":%s", res);
        out.oom |= !res;
        free(res);
    }
    if (!st && (out.oom || !cJSON_SetValuestring(j, out.s)))
        st = sa_error_set(c->err, SA_ENOMEM, "out of memory");
    free(out.s), free(pub), free(copy);
    return st;
}

/* The first knob of the method (searched, else fixed): what a served model could not apply. */
static const char *first_knob(const sa_tune_recipe *r) {
    if (r->n_knobs) return r->knobs[0].name;
    return r->fixed && r->fixed->child ? r->fixed->child->string : "the method";
}

sa_status sa_rc_parse_server(rctx *c, cJSON *root) {
    sa_tune_recipe *r = c->r;
    static const char *const keys[] = {"url",       "model",    "concurrency", "retries",
                                       "timeout_s", "insecure", NULL};
    cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "server");
    int judge = !strncmp(r->judge, "server:", 7);
    sa_status st = s ? sa_rc_check_keys(c, s, "server", keys) : SA_OK;
    if (st) return st;
    if (cJSON_GetObjectItemCaseSensitive(s, "url") ||
        cJSON_GetObjectItemCaseSensitive(s, "model")) {
        char msg[400];
        snprintf(msg, sizeof msg,
                 "generation through a server cannot tune %s: a server serves one fixed model, "
                 "and %s changes the model every trial (weights or steering); generation runs on "
                 "the local engine, a judge may be a server (eval.judge: server:URL...)",
                 first_knob(r), sa_tune_method_name(r->method));
        return sa_rc_bad(
            c, cJSON_GetObjectItemCaseSensitive(s, "url") ? "server.url" : "server.model", msg);
    }
    if (!judge)
        return s ? sa_rc_bad(c, "server",
                             "no server back end uses it (eval.judge is not server:...)")
                 : SA_OK;
    if (!s) s = sa_jb_add(&c->jb, root, "server", cJSON_CreateObject());
    int insecure = 0;
    if ((st = sa_rc_get_int(c, s, "concurrency", "server.concurrency", 1, 1024, 4,
                            &r->server.concurrency)) ||
        (st = sa_rc_get_int(c, s, "retries", "server.retries", 0, 100, 5, &r->server.retries)) ||
        (st = sa_rc_get_num(c, s, "timeout_s", "server.timeout_s", 0.001, 86400, 600,
                            &r->server.timeout_s)) ||
        (st = sa_rc_get_bool(c, s, "insecure", "server.insecure", 0, &insecure)))
        return st;
    r->server.insecure = insecure;
    return SA_OK;
}
