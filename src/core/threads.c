/* threads.c: a small fork-join pool (see include/safearith/threads.h).
 *
 * Workers sleep on a condition variable between jobs and spin briefly before sleeping, so that
 * back-to-back jobs (one per matrix product in a forward pass) do not pay a futex round trip
 * each time. Tasks are claimed with an atomic counter. */
#include "safearith/threads.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

struct sa_pool {
    int n_threads;
    pthread_t *workers;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_cond_t done;
    /* current job */
    sa_task_fn fn;
    void *ctx;
    size_t n_tasks;
    atomic_size_t next_task;
    atomic_int generation; /* bumped for each job; workers wait for a change */
    atomic_int busy;       /* workers still inside the current job */
    int stop;
};

typedef struct {
    sa_pool *pool;
    int index;
} worker_arg;

static void run_tasks(sa_pool *p, int worker) {
    for (;;) {
        size_t t = atomic_fetch_add_explicit(&p->next_task, 1, memory_order_relaxed);
        if (t >= p->n_tasks) break;
        p->fn(p->ctx, t, worker);
    }
}

static void *worker_main(void *arg) {
    worker_arg *wa = arg;
    sa_pool *p = wa->pool;
    int index = wa->index;
    free(wa);
    int seen = 0;
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&p->generation, memory_order_acquire) == seen &&
               spins < 20000) {
            spins++;
            if ((spins & 255) == 0) sched_yield();
        }
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->generation) == seen && !p->stop) pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = atomic_load(&p->generation);
        pthread_mutex_unlock(&p->mu);
        run_tasks(p, index);
        if (atomic_fetch_sub_explicit(&p->busy, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

int sa_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

sa_pool *sa_pool_create(int n_threads) {
    if (n_threads <= 0) n_threads = sa_cpu_count();
    sa_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (n_threads > 1) {
        p->workers = calloc((size_t)n_threads - 1, sizeof *p->workers);
        if (!p->workers) goto fail;
    }
    for (int i = 0; i < n_threads - 1; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa) goto fail_threads;
        wa->pool = p;
        wa->index = i + 1;
        if (pthread_create(&p->workers[i], NULL, worker_main, wa) != 0) {
            free(wa);
            p->n_threads = i + 1;
            goto fail_threads;
        }
    }
    return p;
fail_threads:
    sa_pool_destroy(p);
    return NULL;
fail:
    free(p);
    return NULL;
}

void sa_pool_destroy(sa_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_threads - 1; i++) pthread_join(p->workers[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->workers);
    free(p);
}

int sa_pool_size(const sa_pool *p) {
    return p ? p->n_threads : 1;
}

void sa_pool_run(sa_pool *p, size_t n_tasks, sa_task_fn fn, void *ctx) {
    if (n_tasks == 0) return;
    if (!p || p->n_threads == 1 || n_tasks == 1) {
        for (size_t t = 0; t < n_tasks; t++) fn(ctx, t, 0);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    atomic_store(&p->next_task, 0);
    atomic_store(&p->busy, p->n_threads - 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_tasks(p, 0);
    if (atomic_load_explicit(&p->busy, memory_order_acquire) != 0) {
        int spins = 0;
        while (atomic_load_explicit(&p->busy, memory_order_acquire) != 0 && spins < 20000) spins++;
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->busy) != 0) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}
