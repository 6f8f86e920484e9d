/* gguf.h: the GGUF container (read any, write any size by streaming) and llama.cpp control
 * vectors on top.
 *
 * GGUF (ggml's file format, version 2 or 3, little-endian): magic "GGUF", u32 version, i64
 * tensor count, i64 key/value count, the key/values (string key, u32 type, value), the tensor
 * infos (string name, u32 n_dims, i64 dims with ne[0] first, u32 ggml type, u64 offset into the
 * data blob), padding to `general.alignment` (default 32), then the data blob. The reader takes
 * the whole file into memory (control vectors are a few MB at most) and checks every count,
 * length, offset and size against the bytes that are there, so a truncated or hostile file
 * gives SA_EFORMAT with a message naming the file and the field, never a crash or a huge
 * allocation.
 *
 * A control vector (llama.cpp's `--control-vector`, repeng's export_gguf) is a GGUF file with
 * general.architecture = "controlvector", controlvector.model_hint (string),
 * controlvector.layer_count (INT32 from llama.cpp, UINT32 from repeng) and one F32 1-D tensor
 * `direction.N` of n_embd values per steered layer. direction.N is added to the output of
 * decoder layer N (0-based), the convention of llama.cpp and repeng. Several tensors for the
 * same layer are summed, as llama.cpp does. safearith adds its own keys (safearith.*) with the
 * method, position, scope, pair count and per-layer norms; other readers ignore them. */
#ifndef SAFEARITH_GGUF_H
#define SAFEARITH_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "safearith/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* GGUF value types (gguf.h's enum gguf_type). */
typedef enum sa_gguf_type {
    SA_GGUF_UINT8 = 0,
    SA_GGUF_INT8 = 1,
    SA_GGUF_UINT16 = 2,
    SA_GGUF_INT16 = 3,
    SA_GGUF_UINT32 = 4,
    SA_GGUF_INT32 = 5,
    SA_GGUF_FLOAT32 = 6,
    SA_GGUF_BOOL = 7,
    SA_GGUF_STRING = 8,
    SA_GGUF_ARRAY = 9,
    SA_GGUF_UINT64 = 10,
    SA_GGUF_INT64 = 11,
    SA_GGUF_FLOAT64 = 12,
    SA_GGUF_TYPE_COUNT
} sa_gguf_type;

/* ggml tensor types this library writes (ggml.h's enum ggml_type). Q8_0: blocks of 32 values,
 * each an F16 scale d followed by 32 int8 q, value = d * q (see sa_q8_0_quantize in dtype.h). */
#define SA_GGML_TYPE_F32 0
#define SA_GGML_TYPE_F16 1
#define SA_GGML_TYPE_Q8_0 8
#define SA_GGML_TYPE_BF16 30
#define SA_GGUF_DEFAULT_ALIGNMENT 32
#define SA_GGUF_MAX_DIMS 4

typedef struct sa_gguf_kv {
    char *key;
    sa_gguf_type type;      /* SA_GGUF_ARRAY for arrays */
    sa_gguf_type elem_type; /* arrays: element type (never ARRAY: nested arrays are rejected) */
    uint64_t count;         /* arrays: element count; scalars: 1 */
    /* Scalars: integers and bools in i (signed) and u (unsigned), floats in f; strings in str.
     * Arrays of numbers: arr holds count elements widened to double; arrays of strings: strs. */
    int64_t i;
    uint64_t u;
    double f;
    char *str;
    double *arr;
    char **strs;
} sa_gguf_kv;

typedef struct sa_gguf_tensor {
    char *name;
    uint32_t n_dims;
    int64_t ne[SA_GGUF_MAX_DIMS]; /* ne[0] first; unused dims are 1 */
    uint32_t type;                /* ggml type */
    uint64_t offset;              /* relative to the data blob */
    uint64_t nbytes;              /* known for F32/F16/BF16, 0 otherwise */
    const void *data;             /* inside the file buffer; NULL when nbytes is unknown */
} sa_gguf_tensor;

typedef struct sa_gguf {
    uint32_t version;
    uint32_t alignment;
    uint64_t n_kv;
    sa_gguf_kv *kv;
    uint64_t n_tensors;
    sa_gguf_tensor *tensors;
    unsigned char *buf; /* the whole file */
    size_t len;
} sa_gguf;

/* Parse a GGUF image. `name` (a path) is used in messages. On success `g` owns a copy of buf. */
sa_status sa_gguf_parse(const void *buf, size_t len, const char *name, sa_gguf *g, sa_error *err);
/* Read and parse a file. */
sa_status sa_gguf_read(const char *path, sa_gguf *g, sa_error *err);
void sa_gguf_free(sa_gguf *g);
/* Key lookup; NULL if absent. */
const sa_gguf_kv *sa_gguf_find(const sa_gguf *g, const char *key);
const char *sa_gguf_type_name(sa_gguf_type t);

/* ---- writing (metadata in memory, tensors streamed, the file atomically) ---- */
/* Bytes of a tensor of ggml type `type` and shape ne[0..n_dims) (ne[0] the row length); 0 for a
 * type this writer does not know or a row length that is not a whole number of blocks. */
uint64_t sa_ggml_nbytes(uint32_t type, uint32_t n_dims, const int64_t *ne);

typedef struct sa_gguf_writer sa_gguf_writer;

sa_gguf_writer *sa_gguf_writer_new(void);
/* Frees the writer; a file still open is abandoned (nothing appears at its path). */
void sa_gguf_writer_free(sa_gguf_writer *w);
/* Key/values, written in call order after general.alignment. Each returns SA_ENOMEM on
 * allocation failure (and the writer then refuses to open). */
sa_status sa_gguf_w_str(sa_gguf_writer *w, const char *key, const char *val);
sa_status sa_gguf_w_i32(sa_gguf_writer *w, const char *key, int32_t val);
sa_status sa_gguf_w_u32(sa_gguf_writer *w, const char *key, uint32_t val);
sa_status sa_gguf_w_u64(sa_gguf_writer *w, const char *key, uint64_t val);
sa_status sa_gguf_w_f32(sa_gguf_writer *w, const char *key, float val);
sa_status sa_gguf_w_bool(sa_gguf_writer *w, const char *key, int val);
sa_status sa_gguf_w_f32_array(sa_gguf_writer *w, const char *key, const float *vals, uint64_t n);
sa_status sa_gguf_w_i32_array(sa_gguf_writer *w, const char *key, const int32_t *vals, uint64_t n);
sa_status sa_gguf_w_str_array(sa_gguf_writer *w, const char *key, const char *const *vals,
                              uint64_t n);
/* Declare the next tensor (data comes later, in declaration order, through
 * sa_gguf_writer_write). SA_EINVAL if the type is not F32/F16/BF16/Q8_0, the row is not whole
 * blocks, or writing has begun. */
sa_status sa_gguf_w_tensor(sa_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                           const int64_t *ne, sa_error *err);
/* A 1-D F32 tensor of n values, copied now (for small files written with sa_gguf_writer_save). */
sa_status sa_gguf_w_tensor_f32(sa_gguf_writer *w, const char *name, const float *vals, int64_t n);

/* Streaming: open writes the header, key/values and tensor infos (version 3, alignment 32) into
 * a temporary beside `path` (sa_afile); write appends the bytes of the declared tensors in
 * order, in chunks of any size; commit checks that every tensor is complete, fsyncs and moves
 * the file into place. Any failure abandons the file (nothing appears at `path`);
 * sa_gguf_writer_abort does so on purpose. */
sa_status sa_gguf_writer_open(sa_gguf_writer *w, const char *path, int overwrite, sa_error *err);
sa_status sa_gguf_writer_write(sa_gguf_writer *w, const void *data, size_t n, sa_error *err);
sa_status sa_gguf_writer_commit(sa_gguf_writer *w, sa_error *err);
void sa_gguf_writer_abort(sa_gguf_writer *w);
/* Open, write every tensor's copied data (all must come from sa_gguf_w_tensor_f32), commit. */
sa_status sa_gguf_writer_save(sa_gguf_writer *w, const char *path, int overwrite, sa_error *err);

/* ---- control vectors ---- */
#define SA_CVEC_MAX_LAYERS 4096

typedef struct sa_cvec {
    int n_embd;
    int n_layers;        /* slots 0..n_layers-1: one past the highest direction index */
    float *dir;          /* [n_layers][n_embd]; rows without a tensor are zero */
    unsigned char *has;  /* has[l] != 0: the file has direction.l */
    char *model_hint;    /* controlvector.model_hint, or NULL */
    int64_t layer_count; /* controlvector.layer_count, or -1 when absent */
    /* safearith's own metadata (NULL / -1 when absent). */
    char *method;    /* "pca", "mean", "pca+mean", or another tool's name */
    char *position;  /* "last", "mean-last-4", "mean-answer" */
    char *scope;     /* "per-layer", "concat" */
    char *direction; /* what direction.N points to, e.g. "safe-unsafe" */
    int64_t n_pairs;
    float *mean_norms; /* [n_layers]: norm of the mean difference per layer, or NULL */
} sa_cvec;

/* An empty vector with n_layers zero rows (has[] all 0) and no metadata. */
sa_status sa_cvec_alloc(sa_cvec *cv, int n_layers, int n_embd, sa_error *err);
void sa_cvec_free(sa_cvec *cv);
/* Read a control vector. expect_n_embd > 0 requires that width (the model's hidden size).
 * Rejects: not GGUF or malformed, general.architecture present but not "controlvector", no
 * tensors, a tensor not named direction.N (N a decimal below SA_CVEC_MAX_LAYERS), not F32, not
 * 1-D, widths that differ, layer_count of a non-integer type. direction.0 is accepted (our
 * writer emits it only on request; llama.cpp refuses it). */
sa_status sa_cvec_read(const char *path, int expect_n_embd, sa_cvec *cv, sa_error *err);
sa_status sa_cvec_from_gguf(const sa_gguf *g, const char *name, int expect_n_embd, sa_cvec *cv,
                            sa_error *err);
/* Write direction.l for every l with has[l] (increasing l), general.architecture,
 * controlvector.model_hint (model_hint or "llama"), controlvector.layer_count (INT32, the number
 * of tensors), and the safearith.* keys that are set, plus safearith.layer_norms (F32 array,
 * one per slot). Refuses an empty vector. */
sa_status sa_cvec_write(const char *path, const sa_cvec *cv, int overwrite, sa_error *err);
/* L2 norm of row l (0 for an absent row). */
double sa_cvec_norm(const sa_cvec *cv, int l);

#ifdef __cplusplus
}
#endif

#endif
