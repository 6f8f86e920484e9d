/* stream.c: chunked, multithreaded scan and write passes over aligned checkpoints (see
 * stream.h). */
#include "arith/stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct sa_stream {
    const sa_aligned *a;
    sa_pool *pool;
    int workers;
    const sa_progress *progress;
    const char *stage;
    uint64_t done, total;
    int writing;    /* scans run by a write pass's prepare hook do not count as progress */
    float *scratch; /* per worker: (a->n + 1) * SA_CHUNK floats; the last slot is the output */
};

sa_status sa_stream_create(const sa_aligned *a, sa_pool *pool, const sa_progress *progress,
                           sa_stream **out, sa_error *err) {
    sa_stream *s = calloc(1, sizeof *s);
    if (!s) return sa_error_set(err, SA_ENOMEM, "out of memory");
    s->a = a;
    s->pool = pool;
    s->workers = pool ? sa_pool_size(pool) : 1;
    s->progress = progress;
    s->scratch = malloc((size_t)s->workers * (size_t)(a->n + 1) * SA_CHUNK * sizeof(float));
    if (!s->scratch) {
        free(s);
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    }
    *out = s;
    return SA_OK;
}

void sa_stream_free(sa_stream *s) {
    if (!s) return;
    free(s->scratch);
    free(s);
}

int sa_stream_workers(const sa_stream *s) {
    return s->workers;
}
const sa_aligned *sa_stream_aligned(const sa_stream *s) {
    return s->a;
}

void sa_stream_stage(sa_stream *s, const char *stage, uint64_t total) {
    s->stage = stage;
    s->done = 0;
    s->total = total;
    sa_progress_report(s->progress, stage, 0, total);
}

static sa_status advance(sa_stream *s, uint64_t n, sa_error *err) {
    s->done += n;
    if (sa_progress_report(s->progress, s->stage, s->done, s->total))
        return sa_error_set(err, SA_EINTR, "interrupted");
    return SA_OK;
}

/* Apply madvise to elements [off, off+n) of a tensor. */
static void advise_range(const sa_checkpoint *ck, const sa_st_tensor *t, uint64_t off, uint64_t n,
                         int release) {
    sa_st_tensor sub = *sa_ckpt_stored(ck, t); /* a computed tensor reads its base's elements */
    if (!sub.data) return;
    uint64_t es = sa_dtype_bits(sub.dtype) / 8;
    sub.data = (const unsigned char *)sub.data + off * es;
    sub.nbytes = n * es;
    if (release)
        sa_ckpt_release(ck, &sub);
    else
        sa_ckpt_prefetch(ck, &sub);
}

typedef struct batch_job {
    sa_stream *s;
    size_t ti;
    unsigned mask;
    sa_chunk_fn fn;
    void *ctx;
    uint64_t start, n;
    unsigned char *out; /* write passes: narrowed results of the batch */
    sa_dtype out_dtype;
    int nonfinite;         /* set by a worker: a result is inf/NaN where every input was finite */
    int adapter_nonfinite; /* bit k: a value computed from input k's adapter is inf/NaN */
} batch_job;

/* Values computed from an adapter must be finite (from finite weights a non-finite value means
 * an overflow, or a DoRA row of norm 0): note which input broke the rule. */
static void check_computed(batch_job *j, int k, const float *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) {
            __atomic_fetch_or(&j->adapter_nonfinite, 1 << k, __ATOMIC_RELAXED);
            return;
        }
}

static sa_status adapter_error(const batch_job *j, sa_error *err) {
    int k = 0;
    while (!(j->adapter_nonfinite & (1 << k))) k++;
    const sa_st_tensor *t = sa_aligned_get(j->s->a, j->ti, k);
    return sa_error_set(err, SA_EFORMAT,
                        "tensor '%s' of %s is not finite with the adapter %s applied (an overflow, "
                        "or a DoRA row of norm 0); nothing written",
                        t->name, j->s->a->labels[k], sa_ckpt_adapter_dir(j->s->a->ck[k]));
}

/* 1 if element i of the narrowed output is inf or NaN. */
static int out_nonfinite(const unsigned char *out, sa_dtype dt, size_t i) {
    if (dt == SA_F32) {
        uint32_t u;
        memcpy(&u, out + 4 * i, 4);
        return (u & 0x7f800000u) == 0x7f800000u;
    }
    uint16_t h;
    memcpy(&h, out + 2 * i, 2);
    return dt == SA_BF16 ? (h & 0x7f80u) == 0x7f80u : (h & 0x7c00u) == 0x7c00u;
}

/* The smallest float32 magnitude that narrowing to dt turns into inf (round to nearest even:
 * halfway above the largest finite value rounds up to inf). */
static float overflow_limit(sa_dtype dt) {
    if (dt == SA_F16) return 65520.0f;
    if (dt == SA_BF16) {
        uint32_t u = 0x7f7f8000u;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    return INFINITY;
}

/* 1 if the chunk's narrowed results hold an inf or NaN at a position where every input read is
 * finite: arithmetic (or narrowing) that overflowed, never a value copied from an input. A
 * vectorisable pass over the float32 results rules out almost every chunk; only chunks with a
 * value that may not fit are looked at element by element. */
static int made_nonfinite(const sa_chunk *c, int n_in, unsigned mask, const unsigned char *out,
                          sa_dtype dt) {
    float limit = overflow_limit(dt);
    int maybe = 0;
    for (size_t i = 0; i < c->n; i++) maybe |= !(fabsf(c->out[i]) < limit);
    if (!maybe) return 0;
    for (size_t i = 0; i < c->n; i++) {
        if (!out_nonfinite(out, dt, i)) continue;
        int finite_in = 1;
        for (int k = 0; k < n_in; k++)
            if ((mask & (1u << k)) && !isfinite(c->in[k][i])) finite_in = 0;
        if (finite_in) return 1;
    }
    return 0;
}

static void chunk_task(void *ctx, size_t task, int worker) {
    batch_job *j = ctx;
    const sa_aligned *a = j->s->a;
    float *scratch = j->s->scratch + (size_t)worker * (size_t)(a->n + 1) * SA_CHUNK;
    sa_chunk c;
    memset(&c, 0, sizeof c);
    c.tensor = j->ti;
    c.offset = j->start + task * SA_CHUNK;
    c.n = (size_t)(j->start + j->n - c.offset < SA_CHUNK ? j->start + j->n - c.offset : SA_CHUNK);
    c.index = (size_t)(c.offset / SA_CHUNK);
    c.worker = worker;
    for (int k = 0; k < a->n; k++) {
        if (!(j->mask & (1u << k))) continue;
        const sa_st_tensor *t = sa_aligned_get(a, j->ti, k);
        float *dst = scratch + (size_t)k * SA_CHUNK;
        sa_ckpt_read_f32(a->ck[k], t, c.offset, c.n, dst);
        if (!t->data) check_computed(j, k, dst, c.n);
        c.in[k] = dst;
    }
    if (j->out) c.out = scratch + (size_t)a->n * SA_CHUNK;
    j->fn(j->ctx, &c);
    if (!j->out) return;
    unsigned char *out = j->out + (c.offset - j->start) * (sa_dtype_bits(j->out_dtype) / 8);
    sa_from_f32(c.out, out, j->out_dtype, c.n);
    if (made_nonfinite(&c, a->n, j->mask, out, j->out_dtype))
        __atomic_store_n(&j->nonfinite, 1, __ATOMIC_RELAXED);
}

static sa_status check_inputs(const sa_aligned *a, size_t ti, unsigned mask, sa_error *err) {
    for (int k = 0; k < a->n; k++) {
        const sa_st_tensor *t = sa_aligned_get(a, ti, k);
        if ((mask & (1u << k)) && !sa_dtype_is_arith(t->dtype))
            return sa_error_set(err, SA_EUNSUPPORTED,
                                "tensor '%s' of %s: dtype %s is not supported for arithmetic "
                                "(F32, F16, BF16 only)",
                                t->name, a->labels[k], sa_dtype_name(t->dtype));
    }
    return SA_OK;
}

static void advise_batch(const batch_job *j, uint64_t start, uint64_t n, int release) {
    const sa_aligned *a = j->s->a;
    for (int k = 0; k < a->n; k++)
        if (j->mask & (1u << k))
            advise_range(a->ck[k], sa_aligned_get(a, j->ti, k), start, n, release);
}

/* Run the chunks of tensor ti batch by batch; in write passes each batch's narrowed output goes
 * to w. */
static sa_status run_batches(batch_job *j, sa_st_writer *w, sa_error *err) {
    const sa_st_tensor *t0 = sa_aligned_get(j->s->a, j->ti, 0);
    uint64_t numel = t0->numel, batch = (uint64_t)SA_CHUNK * SA_BATCH_CHUNKS;
    sa_status st = check_inputs(j->s->a, j->ti, j->mask, err);
    if (st == SA_OK && numel) advise_batch(j, 0, numel < batch ? numel : batch, 0);
    for (uint64_t start = 0; st == SA_OK && start < numel; start += batch) {
        j->start = start;
        j->n = numel - start < batch ? numel - start : batch;
        if (start + j->n < numel) {
            uint64_t next = numel - start - j->n;
            advise_batch(j, start + j->n, next < batch ? next : batch, 0);
        }
        sa_pool_run(j->s->pool, (size_t)((j->n + SA_CHUNK - 1) / SA_CHUNK), chunk_task, j);
        advise_batch(j, start, j->n, 1);
        if (j->adapter_nonfinite) return adapter_error(j, err);
        if (j->nonfinite)
            return sa_error_set(err, SA_EINVAL,
                                "tensor '%s': the result holds inf or NaN where every input is "
                                "finite (a weight or scale too large for %s?); nothing written",
                                t0->name, sa_dtype_name(j->out_dtype));
        if (w)
            st = sa_st_writer_write(w, j->out, (size_t)j->n * (sa_dtype_bits(j->out_dtype) / 8),
                                    err);
        if (st == SA_OK) st = advance(j->s, w || !j->s->writing ? j->n : 0, err);
    }
    return st;
}

sa_status sa_stream_scan(sa_stream *s, size_t ti, unsigned mask, sa_chunk_fn fn, void *ctx,
                         sa_error *err) {
    batch_job j = {s, ti, mask, fn, ctx, 0, 0, NULL, SA_F32, 0, 0};
    return run_batches(&j, NULL, err);
}

/* ---- write passes ---- */

static void identity(void *ctx, const sa_chunk *c) {
    (void)ctx;
    memcpy(c->out, c->in[0], c->n * sizeof(float));
}

static sa_dtype out_dtype_of(const sa_write_spec *spec, const sa_st_tensor *t) {
    return spec->out_dtype >= 0 && sa_dtype_is_arith(t->dtype) ? (sa_dtype)spec->out_dtype
                                                               : t->dtype;
}

static sa_status declare_all(sa_stream *s, sa_st_writer *w, const sa_write_spec *spec,
                             unsigned char *kinds, sa_error *err) {
    for (size_t ti = 0; ti < s->a->n_tensors; ti++) {
        const sa_st_tensor *t = sa_aligned_get(s->a, ti, 0);
        kinds[ti] = (unsigned char)spec->plan(spec->ctx, ti);
        sa_dtype dt = out_dtype_of(spec, t);
        if (kinds[ti] == SA_OUT_COMPUTE && !sa_dtype_is_arith(t->dtype))
            return sa_error_set(err, SA_EUNSUPPORTED,
                                "tensor '%s' of %s: dtype %s is not supported for arithmetic "
                                "(F32, F16, BF16 only)",
                                t->name, s->a->labels[0], sa_dtype_name(t->dtype));
        sa_status st = sa_st_writer_declare(w, t->name, dt, t->ndim, t->shape, err);
        if (st != SA_OK) return st;
    }
    return SA_OK;
}

static sa_status copy_raw(sa_stream *s, sa_st_writer *w, size_t ti, sa_error *err) {
    const sa_st_tensor *t = sa_aligned_get(s->a, ti, 0);
    uint64_t es = sa_dtype_bits(t->dtype) / 8, step = (uint64_t)SA_CHUNK * SA_BATCH_CHUNKS;
    if (es == 0) { /* sub-byte dtypes: one piece */
        sa_status st = sa_st_writer_write(w, t->data, (size_t)t->nbytes, err);
        return st == SA_OK ? advance(s, t->numel, err) : st;
    }
    for (uint64_t off = 0; off < t->numel; off += step) {
        uint64_t n = t->numel - off < step ? t->numel - off : step;
        sa_status st =
            sa_st_writer_write(w, (const unsigned char *)t->data + off * es, (size_t)(n * es), err);
        advise_range(s->a->ck[0], t, off, n, 1);
        if (st == SA_OK) st = advance(s, n, err);
        if (st != SA_OK) return st;
    }
    return SA_OK;
}

sa_status sa_stream_write(sa_stream *s, sa_st_writer *w, const sa_write_spec *spec, sa_error *err) {
    size_t n = s->a->n_tensors;
    unsigned char *kinds = malloc(n + 1);
    unsigned char *buf = malloc((size_t)SA_CHUNK * SA_BATCH_CHUNKS * sizeof(float));
    sa_status st = kinds && buf ? SA_OK : sa_error_set(err, SA_ENOMEM, "out of memory");
    if (st == SA_OK) st = declare_all(s, w, spec, kinds, err);
    s->writing = 1;
    for (size_t ti = 0; st == SA_OK && ti < n; ti++) {
        const sa_st_tensor *t = sa_aligned_get(s->a, ti, 0);
        sa_dtype dt = out_dtype_of(spec, t);
        batch_job j = {s, ti, spec->mask, spec->compute, spec->ctx, 0, 0, buf, dt, 0, 0};
        if (kinds[ti] == SA_OUT_COPY && dt == t->dtype && t->data) {
            st = copy_raw(s, w, ti, err);
            continue;
        }
        if (kinds[ti] == SA_OUT_COPY) {
            j.mask = 1;
            j.fn = identity;
        } else if (spec->prepare) {
            st = spec->prepare(spec->ctx, s, ti, err);
        }
        if (st == SA_OK) st = run_batches(&j, w, err);
    }
    s->writing = 0;
    free(kinds);
    free(buf);
    return st;
}
