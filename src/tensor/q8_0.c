/* q8_0.c: ggml's Q8_0 block quantisation (blocks of 32: an F16 scale, 32 int8 values).
 *
 * For each block, amax = max |x|, d = amax / 127 and id = 1 / d (0 when d = 0); the block stores
 * fp16(d) and q_j = roundf(x_j * id). This is llama.cpp's reference quantize_row_q8_0_ref step by
 * step in float32 (the scale is rounded to F16 after id is computed from the float d), so the
 * bytes are the ones llama.cpp's own converter writes. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "safearith/dtype.h"

int sa_q8_0_quantize(const float *x, void *dst, size_t n) {
    if (n % SA_Q8_0_BLOCK) return -1;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return -1;
    unsigned char *out = dst;
    for (size_t b = 0; b < n / SA_Q8_0_BLOCK; b++) {
        const float *v = x + b * SA_Q8_0_BLOCK;
        float amax = 0.0f;
        for (int j = 0; j < SA_Q8_0_BLOCK; j++) amax = fmaxf(amax, fabsf(v[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint16_t h = sa_f32_to_f16(d);
        memcpy(out, &h, 2);
        int8_t *q = (int8_t *)(out + 2);
        for (int j = 0; j < SA_Q8_0_BLOCK; j++) q[j] = (int8_t)roundf(v[j] * id);
        out += SA_Q8_0_BLOCK_BYTES;
    }
    return 0;
}

void sa_q8_0_dequantize(const void *src, float *x, size_t n) {
    const unsigned char *in = src;
    for (size_t b = 0; b < n / SA_Q8_0_BLOCK; b++) {
        uint16_t h;
        memcpy(&h, in, 2);
        const float d = sa_f16_to_f32(h);
        const int8_t *q = (const int8_t *)(in + 2);
        for (int j = 0; j < SA_Q8_0_BLOCK; j++) x[b * SA_Q8_0_BLOCK + j] = d * (float)q[j];
        in += SA_Q8_0_BLOCK_BYTES;
    }
}
