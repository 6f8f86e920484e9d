/* shell_words.h: a command line as a POSIX shell would need it typed, for the provenance that
 * outputs record (model cards, GGUF metadata). */
#ifndef SA_CORE_SHELL_WORDS_H
#define SA_CORE_SHELL_WORDS_H

/* "prog WORD..." with each word single-quoted when it holds anything beyond
 * [A-Za-z0-9_./=:,+@%-] (an empty word too); malloc'd, NULL when out of memory. */
char *sa_shell_command(const char *prog, int n, const char *const *words);

#endif
