/* dtype.h: element types of stored tensors and exact conversions to and from float32.
 *
 * All weight arithmetic runs in float32. BF16 and F16 inputs are widened exactly; results are
 * narrowed with round-to-nearest-even, NaN stays NaN (quiet), overflow becomes Inf, F16
 * subnormals are produced and read correctly. Conversions accept unaligned pointers. */
#ifndef SAFEARITH_DTYPE_H
#define SAFEARITH_DTYPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every dtype the safetensors format defines, in the reference implementation's enum order. */
typedef enum sa_dtype {
    SA_BOOL,
    SA_F4,
    SA_F6_E2M3,
    SA_F6_E3M2,
    SA_U8,
    SA_I8,
    SA_F8_E5M2,
    SA_F8_E4M3,
    SA_F8_E8M0,
    SA_F8_E4M3FNUZ,
    SA_F8_E5M2FNUZ,
    SA_I16,
    SA_U16,
    SA_F16,
    SA_BF16,
    SA_I32,
    SA_U32,
    SA_F32,
    SA_C64,
    SA_F64,
    SA_I64,
    SA_U64,
    SA_DTYPE_COUNT
} sa_dtype;

/* The safetensors name ("BF16", "F32", ...). */
const char *sa_dtype_name(sa_dtype t);
/* Parse a safetensors dtype name; returns 0 on success, -1 if unknown. Case-sensitive. */
int sa_dtype_parse(const char *name, sa_dtype *out);
/* Parse a user-facing dtype name for outputs: "f32"/"float32", "bf16"/"bfloat16",
 * "f16"/"float16"/"half" (case-insensitive). Returns 0 or -1. */
int sa_dtype_parse_user(const char *name, sa_dtype *out);
/* Size of one element in bits (4 for F4, 6 for F6_*, 8 for BOOL, ...). */
unsigned sa_dtype_bits(sa_dtype t);
/* True for F32, F16, BF16: the types weight arithmetic reads and writes. */
int sa_dtype_is_arith(sa_dtype t);

/* Scalar conversions. */
static inline float sa_bf16_to_f32(uint16_t h) {
    union {
        uint32_t u;
        float f;
    } v = {(uint32_t)h << 16};
    return v.f;
}
uint16_t sa_f32_to_bf16(float f); /* round to nearest even */
float sa_f16_to_f32(uint16_t h);
uint16_t sa_f32_to_f16(float f); /* round to nearest even */

/* Bulk conversions between a stored buffer of `n` elements (any alignment) and float32. The
 * source/destination dtype must satisfy sa_dtype_is_arith. */
void sa_to_f32(const void *src, sa_dtype t, float *dst, size_t n);
void sa_from_f32(const float *src, void *dst, sa_dtype t, size_t n);

/* ggml's Q8_0 (not a safetensors dtype; used by GGUF export): n values (a multiple of 32) as
 * n / 32 blocks of SA_Q8_0_BLOCK_BYTES: an F16 scale d = max|x| / 127 (round to nearest even),
 * then 32 int8 q = roundf(x * (1/d)) (halves away from zero; q = 0 when d = 0), exactly
 * llama.cpp's reference quantize_row_q8_0_ref. Returns -1 (writing nothing) if n is not a
 * multiple of 32 or a value is not finite, else 0. */
#define SA_Q8_0_BLOCK 32
#define SA_Q8_0_BLOCK_BYTES 34
int sa_q8_0_quantize(const float *x, void *dst, size_t n);
/* The inverse: value = d * q. */
void sa_q8_0_dequantize(const void *src, float *x, size_t n);

#ifdef __cplusplus
}
#endif

#endif
