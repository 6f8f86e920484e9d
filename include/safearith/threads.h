/* threads.h: the one fork-join thread pool used by every parallel loop in libsafearith.
 *
 * sa_pool_run(pool, n_tasks, fn, ctx) calls fn(ctx, task, worker) once for every task in
 * [0, n_tasks) and returns when all have finished. The calling thread works too, so a pool of
 * N threads starts N-1 workers. Tasks are handed out dynamically; code that needs results
 * independent of the thread count must make each task's output depend only on its index (never
 * on `worker` or on completion order). A pool is used by one caller at a time. */
#ifndef SAFEARITH_THREADS_H
#define SAFEARITH_THREADS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sa_pool sa_pool;
typedef void (*sa_task_fn)(void *ctx, size_t task, int worker);

/* n_threads <= 0 means all online cores. Returns NULL on allocation/thread failure. */
sa_pool *sa_pool_create(int n_threads);
void sa_pool_destroy(sa_pool *pool);
int sa_pool_size(const sa_pool *pool);
/* pool may be NULL: then the tasks run on the calling thread, in order. */
void sa_pool_run(sa_pool *pool, size_t n_tasks, sa_task_fn fn, void *ctx);
/* Number of online cores. */
int sa_cpu_count(void);

#ifdef __cplusplus
}
#endif

#endif
