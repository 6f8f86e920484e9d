/* progress.h: how long-running library calls report progress and learn that they should stop.
 *
 * The library never draws anything: it calls the caller's function with a stage name and a
 * done/total count (units are the caller's business: bytes, tensors, prompts). If the function
 * returns non-zero the operation stops as soon as it can, cleans up its partial output and
 * returns SA_EINTR. The CLI passes a function that draws a bar on a terminal and watches for
 * SIGINT/SIGTERM. A NULL sa_progress pointer or NULL fn means "no reporting". */
#ifndef SAFEARITH_PROGRESS_H
#define SAFEARITH_PROGRESS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sa_progress {
    int (*fn)(void *ud, const char *stage, uint64_t done, uint64_t total);
    void *ud;
} sa_progress;

/* Returns non-zero if the caller asked to stop. */
static inline int sa_progress_report(const sa_progress *p, const char *stage, uint64_t done,
                                     uint64_t total) {
    return (p && p->fn) ? p->fn(p->ud, stage, done, total) : 0;
}

#ifdef __cplusplus
}
#endif

#endif
