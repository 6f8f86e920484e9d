/* shell_words.c: shell-quoted command lines (shell_words.h). */
#include "core/shell_words.h"

#include <stdlib.h>
#include <string.h>

/* Append s to b (which has room: 4 bytes per byte of s, plus 3), quoted where needed. */
static void shell_word(char *b, size_t *n, const char *s) {
    int plain = *s != '\0';
    for (const char *p = s; *p && plain; p++)
        plain = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./=:,+@%-",
                       *p) != NULL;
    if (plain) {
        for (const char *p = s; *p; p++) b[(*n)++] = *p;
        return;
    }
    b[(*n)++] = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'') {
            memcpy(b + *n, "'\\''", 4);
            *n += 4;
        } else {
            b[(*n)++] = *p;
        }
    }
    b[(*n)++] = '\'';
}

char *sa_shell_command(const char *prog, int n, const char *const *words) {
    size_t cap = 4 * strlen(prog) + 4;
    for (int i = 0; i < n; i++) cap += 4 * strlen(words[i]) + 3;
    char *b = malloc(cap);
    if (!b) return NULL;
    size_t len = 0;
    shell_word(b, &len, prog);
    for (int i = 0; i < n; i++) {
        b[len++] = ' ';
        shell_word(b, &len, words[i]);
    }
    b[len] = '\0';
    return b;
}
