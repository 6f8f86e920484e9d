/* stream.h: the streaming engine every weight-arithmetic operation runs on (internal).
 *
 * An sa_aligned set is a layout checkpoint (the target: its tensor order, shapes and dtypes
 * define the output) plus other checkpoints matched to it by tensor name. The engine walks one
 * tensor at a time in fixed chunks of SA_CHUNK elements, widens the requested inputs to float32
 * in per-worker scratch buffers and hands each chunk to an operation's callback on the thread
 * pool. Scans only read (histograms, norms); writes also narrow each chunk's float32 result into
 * a batch buffer that goes to the checkpoint writer in order. Chunk boundaries depend only on the
 * tensor, never on the thread count, so a callback whose output depends only on (tensor, offset)
 * gives bit-identical results for any --threads. Input pages are released batch by batch, so
 * resident memory stays a few batches whatever the model size. */
#ifndef SAFEARITH_ARITH_STREAM_H
#define SAFEARITH_ARITH_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "safearith/progress.h"
#include "safearith/safetensors.h"
#include "safearith/threads.h"

#define SA_MAX_INPUTS 16
#define SA_CHUNK ((size_t)1 << 16)
#define SA_BATCH_CHUNKS 32

typedef struct sa_aligned {
    int n; /* checkpoints; [0] is the layout (target) */
    const sa_checkpoint *ck[SA_MAX_INPUTS];
    const char *labels[SA_MAX_INPUTS]; /* "target", "base", ... for messages */
    size_t n_tensors;                  /* == sa_ckpt_count(ck[0]) */
    const sa_st_tensor **map; /* [n_tensors * n]: tensor ti of checkpoint k at ti * n + k */
} sa_aligned;

/* Match every checkpoint to ck[0] by name and shape. labels name the models in messages
 * ("target", "base", ...). A mismatch is SA_EMISMATCH with the first few differences listed. */
sa_status sa_align(sa_aligned *a, const sa_checkpoint *const *cks, const char *const *labels, int n,
                   sa_error *err);
void sa_aligned_free(sa_aligned *a);
static inline const sa_st_tensor *sa_aligned_get(const sa_aligned *a, size_t ti, int k) {
    return a->map[ti * (size_t)a->n + (size_t)k];
}

typedef struct sa_chunk {
    size_t tensor;                  /* index in the aligned set */
    uint64_t offset;                /* first element of the chunk within the tensor */
    size_t n;                       /* elements */
    size_t index;                   /* chunk number within the tensor: offset / SA_CHUNK */
    int worker;                     /* pool worker (for per-worker accumulators only) */
    const float *in[SA_MAX_INPUTS]; /* widened inputs; NULL where not requested */
    float *out;                     /* write passes: n results to fill */
} sa_chunk;

typedef void (*sa_chunk_fn)(void *ctx, const sa_chunk *c);

typedef struct sa_stream sa_stream;

sa_status sa_stream_create(const sa_aligned *a, sa_pool *pool, const sa_progress *progress,
                           sa_stream **out, sa_error *err);
void sa_stream_free(sa_stream *s);
int sa_stream_workers(const sa_stream *s);
const sa_aligned *sa_stream_aligned(const sa_stream *s);

/* Start a progress stage: `total` elements will be processed under the name `stage`. */
void sa_stream_stage(sa_stream *s, const char *stage, uint64_t total);

/* Read tensor ti: call fn for every chunk with the inputs in `mask` (bit k = checkpoint k)
 * widened to float32. SA_EUNSUPPORTED if a requested input is not F32/F16/BF16; SA_EINTR if the
 * progress callback asked to stop. */
sa_status sa_stream_scan(sa_stream *s, size_t ti, unsigned mask, sa_chunk_fn fn, void *ctx,
                         sa_error *err);

/* What a write pass does with each tensor. */
typedef enum sa_out_kind {
    SA_OUT_COPY,   /* target bytes as they are (converted to out_dtype if that differs) */
    SA_OUT_COMPUTE /* the callback's float32 results, narrowed to the output dtype */
} sa_out_kind;

typedef struct sa_write_spec {
    sa_out_kind (*plan)(void *ctx, size_t ti);
    /* optional, called before a computed tensor is written (per-tensor statistics) */
    sa_status (*prepare)(void *ctx, sa_stream *s, size_t ti, sa_error *err);
    sa_chunk_fn compute;
    unsigned mask; /* inputs the compute callback reads */
    void *ctx;
    int out_dtype; /* an sa_dtype for every F32/F16/BF16 output tensor, or -1: the target's */
} sa_write_spec;

/* Declare and write every tensor of the layout into w (tensors in the target's order). */
sa_status sa_stream_write(sa_stream *s, sa_st_writer *w, const sa_write_spec *spec, sa_error *err);

#endif
