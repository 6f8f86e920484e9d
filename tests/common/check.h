/* check.h: the assertion macros of the C test programs.
 *
 * CHECK(cond) and friends count passes and failures and print each failure with file and line;
 * CHECK_DONE() prints the closing line "N passed, N failed" and yields the exit code. A test
 * program is `int main(void) { ...checks...; return CHECK_DONE(); }`. */
#ifndef SAFEARITH_TEST_CHECK_H
#define SAFEARITH_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond)                                                                                  \
            check_passed++;                                                                        \
        else {                                                                                     \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (cond)                                                                                  \
            check_passed++;                                                                        \
        else {                                                                                     \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    CHECK_MSG((long long)(a) == (long long)(b), "%lld != %lld", (long long)(a), (long long)(b))
#define CHECK_STR_CONTAINS(hay, needle)                                                            \
    CHECK_MSG((hay) && strstr((hay), (needle)), "'%s' does not contain '%s'",                      \
              (hay) ? (hay) : "(null)", (needle))

#define CHECK_DONE()                                                                               \
    (printf("%d passed, %d failed\n", check_passed, check_failed), check_failed ? 1 : 0)

#endif
