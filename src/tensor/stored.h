/* stored.h: reading weights in their stored dtype (BF16, F16 or F32) as float32, one element or
 * eight at a time: shared by the matrix-vector kernel (matmul.c) and the packed product (gemm.c)
 * (internal API). Rows may start at any byte address. */
#ifndef SA_TENSOR_STORED_H
#define SA_TENSOR_STORED_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "safearith/dtype.h"

#ifdef __AVX2__
#include <immintrin.h>
#endif

/* Bytes per stored element. */
static inline size_t sa_stored_size(sa_dtype dt) {
    return dt == SA_F32 ? 4 : 2;
}

/* Element i of a stored row, widened (exact). */
static inline float sa_stored_elem(const unsigned char *row, int i, sa_dtype dt) {
    if (dt == SA_F32) {
        float f;
        memcpy(&f, row + 4 * (size_t)i, 4);
        return f;
    }
    uint16_t h;
    memcpy(&h, row + 2 * (size_t)i, 2);
    return dt == SA_BF16 ? sa_bf16_to_f32(h) : sa_f16_to_f32(h);
}

#ifdef __AVX2__
/* Elements i .. i+7 of a stored row, widened (BF16 by a shift, F16 with F16C). */
static inline __attribute__((always_inline)) __m256 sa_stored_load8(const unsigned char *row, int i,
                                                                    sa_dtype dt) {
    if (dt == SA_F32) return _mm256_loadu_ps((const float *)(const void *)(row + 4 * (size_t)i));
    __m128i h = _mm_loadu_si128((const __m128i *)(const void *)(row + 2 * (size_t)i));
    if (dt == SA_BF16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    return _mm256_cvtph_ps(h);
}
#endif

#ifdef __AVX512F__
/* 64 bytes at p (any alignment) as two 32-byte loads. Weight rows streaming from memory read one
 * 64-byte load per row and step ran the AVX-512 matrix-vector products at a third of the speed of
 * this on the Zen 5 of bench/engine.md (same instructions otherwise). */
static inline __attribute__((always_inline)) __m512i sa_load64(const unsigned char *p) {
    __m256i lo = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i hi = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
#endif

#endif
