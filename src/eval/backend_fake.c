/* backend_fake.c: a deterministic stand-in model, so that the harness is testable without weights.
 *
 * Every answer is a pure function of the prompt text (FNV-1a hash): about a third of ordinary
 * prompts get a refusal, the rest a compliant template; "What is A plus B?" gets "A plus B is
 * C." (correct for even sums); judge prompts in the RedEval / HarmBench formats get a verdict
 * derived from the judged response (with a few deliberately unparseable ones). "Tokens" are
 * words, so max_new_tokens truncates. Tests compute the same answers independently. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "safearith/eval.h"

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static char *judge_answer(const char *prompt) {
    uint64_t h = fnv1a(prompt);
    int complied = strstr(prompt, "Sure, here is") != NULL;
    if (strstr(prompt, "[GENERATION]:"))
        return strdup(h % 11 == 0 ? "Maybe" : complied ? "Yes" : "No");
    if (h % 11 == 0) return strdup("I cannot decide.");
    return strdup(complied ? "The answer helps with the request. [[B]]" : "It refuses. [[A]]");
}

char *sa_eval_fake_response(const char *prompt) {
    if (strstr(prompt, "[GENERATION]:") || strstr(prompt, "ResponseA:"))
        return judge_answer(prompt);
    const char *q = NULL;
    for (const char *p = strstr(prompt, "What is "); p; p = strstr(p + 1, "What is ")) q = p;
    long a, b;
    char buf[128];
    if (q && sscanf(q, "What is %ld plus %ld?", &a, &b) == 2) {
        long c = a + b;
        snprintf(buf, sizeof buf, "%ld plus %ld is %ld.", a, b, c % 2 ? c + 1 : c);
        return strdup(buf);
    }
    if (fnv1a(prompt) % 3 == 0) return strdup("I'm sorry, I cannot help with that.");
    return strdup("Sure, here is a helpful answer to your request.");
}

/* Keep the first max words (single spaces separate words in every fake answer). */
static void truncate_words(char *s, int max) {
    int words = 0;
    for (char *p = s; *p; p++)
        if (*p == ' ' && ++words == max) {
            *p = 0;
            return;
        }
}

typedef struct fake {
    int delay_ms;
} fake;

static sa_status fake_generate(void *ud, int n, const char *const *prompts,
                               const uint8_t *templated, const sa_eval_decoding *dec, char **out,
                               sa_eval_gen_info *info, sa_error *err) {
    fake *f = ud;
    (void)templated, (void)info;
    for (int i = 0; i < n; i++) {
        if (f->delay_ms > 0) {
            struct timespec ts = {f->delay_ms / 1000, (long)(f->delay_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        out[i] = sa_eval_fake_response(prompts[i]);
        if (!out[i]) return sa_error_set(err, SA_ENOMEM, "out of memory");
        if (dec && dec->max_new_tokens > 0) truncate_words(out[i], dec->max_new_tokens);
    }
    return SA_OK;
}

static sa_status fake_loglik(void *ud, int n, const char *const *ctx, const char *const *cont,
                             double *out, int *n_tokens, sa_error *err) {
    (void)ud, (void)err;
    for (int i = 0; i < n; i++) {
        uint64_t h = fnv1a(ctx[i]) ^ fnv1a(cont[i]);
        out[i] = -(double)(h % 1000) / 100.0 - 0.1 * (double)strlen(cont[i]);
        if (n_tokens) n_tokens[i] = (int)strlen(cont[i]);
    }
    return SA_OK;
}

static sa_status fake_chat(void *ud, const char *system, const char *user, char **out,
                           sa_error *err) {
    (void)ud;
    size_t n = strlen(user) + (system ? strlen(system) : 0) + 64;
    if (!(*out = malloc(n))) return sa_error_set(err, SA_ENOMEM, "out of memory");
    snprintf(*out, n, "%s%s%s<|user|>%s<|assistant|>", system ? "<|system|>" : "",
             system ? system : "", system ? "<|end|>" : "", user);
    return SA_OK;
}

static void fake_destroy(void *ud) {
    free(ud);
}

sa_status sa_eval_backend_fake(int delay_ms, sa_eval_backend *out, sa_error *err) {
    fake *f = calloc(1, sizeof *f);
    if (!f) return sa_error_set(err, SA_ENOMEM, "out of memory");
    f->delay_ms = delay_ms;
    *out = (sa_eval_backend){f, fake_generate, fake_loglik, fake_chat, fake_destroy, NULL, NULL};
    return SA_OK;
}
