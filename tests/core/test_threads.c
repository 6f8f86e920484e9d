/* test_threads.c: the fork-join pool runs every task exactly once, for any pool size and task
 * count, across many back-to-back jobs (the pattern of a forward pass). */
#include <stdatomic.h>
#include <stdlib.h>

#include "common/check.h"
#include "safearith/threads.h"

typedef struct {
    atomic_int *hits;
    size_t n;
} job;

static void count_task(void *ctx, size_t task, int worker) {
    job *j = ctx;
    (void)worker;
    atomic_fetch_add(&j->hits[task], 1);
}

int main(void) {
    for (int threads = 1; threads <= 4; threads++) {
        sa_pool *p = sa_pool_create(threads);
        CHECK(p != NULL);
        CHECK_EQ_INT(sa_pool_size(p), threads);
        int bad = 0;
        for (size_t n = 0; n < 300; n += 7) {
            atomic_int *hits = calloc(n + 1, sizeof *hits);
            job j = {hits, n};
            for (int rep = 0; rep < 20; rep++) sa_pool_run(p, n, count_task, &j);
            for (size_t i = 0; i < n; i++) bad += atomic_load(&hits[i]) != 20;
            free(hits);
        }
        CHECK_MSG(bad == 0, "%d tasks not run exactly once per job with %d threads", bad, threads);
        sa_pool_destroy(p);
    }
    /* NULL pool runs inline, in order */
    atomic_int hits[5] = {0};
    job j = {hits, 5};
    sa_pool_run(NULL, 5, count_task, &j);
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(atomic_load(&hits[i]), 1);
    CHECK(sa_cpu_count() >= 1);
    return CHECK_DONE();
}
