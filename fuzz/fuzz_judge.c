/* fuzz_judge.c: any file loaded as a refusal list or a judge prompt fails with an error or works
 * on any response. The first byte is a mode (bit 0: judge prompt, else refusal list; bit 1: a
 * .txt file, else .json; bit 2: verdicts by yes/no); the file is what follows, up to a NUL byte;
 * the text after the NUL is the response to check, render and parse as a verdict. */
#include "fuzz_util.h"
#include "safearith/eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    unsigned mode = data[0];
    const uint8_t *file = data + 1, *nul = memchr(file, 0, size - 1);
    size_t flen = nul ? (size_t)(nul - file) : size - 1;
    char *response = nul ? fz_text(nul + 1, size - 1 - flen - 1) : fz_text((const uint8_t *)"", 0);
    const char *path = fz_write(mode & 2 ? "list.txt" : "list.json", file, flen);
    sa_error err;
    if (!(mode & 1)) {
        sa_refusal_list l;
        if (sa_refusal_list_load(path, NULL, -1, &l, &err) == SA_OK) {
            (void)sa_refusal_check(&l, response);
            sa_refusal_list_free(&l);
        } else if (!err.msg[0])
            abort();
    } else {
        sa_judge_prompt jp;
        if (sa_judge_prompt_load(path, mode & 4 ? 1 : 0, &jp, &err) == SA_OK) {
            char *user;
            if (sa_judge_prompt_render(&jp, response, response, mode & 8 ? response : NULL, &user,
                                       &err) == SA_OK)
                free(user);
            const char *label = NULL;
            int v = sa_judge_parse(&jp, response, &label);
            if (v < -1 || v > 1 || !label) abort();
            sa_judge_prompt_free(&jp);
        } else if (!err.msg[0])
            abort();
    }
    free(response);
    return 0;
}
