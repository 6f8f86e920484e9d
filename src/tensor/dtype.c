/* dtype.c: dtype names and the exact float32 <-> BF16/F16 conversions used everywhere.
 *
 * The narrowing conversions are written bit by bit (not with hardware F16C) so that results do
 * not depend on the CPU; they are tested against torch's rounding in tests/tensor. */
#include "safearith/dtype.h"

#include <string.h>
#include <strings.h>

static const char *const dtype_names[SA_DTYPE_COUNT] = {
    "BOOL",    "F4",          "F6_E2M3",     "F6_E3M2", "U8",  "I8",  "F8_E5M2", "F8_E4M3",
    "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16",     "U16", "F16", "BF16",    "I32",
    "U32",     "F32",         "C64",         "F64",     "I64", "U64"};

static const unsigned char dtype_bits[SA_DTYPE_COUNT] = {
    8, 4, 6, 6, 8, 8, 8, 8, 8, 8, 8, 16, 16, 16, 16, 32, 32, 32, 64, 64, 64, 64};

const char *sa_dtype_name(sa_dtype t) {
    return (unsigned)t < SA_DTYPE_COUNT ? dtype_names[t] : "?";
}

int sa_dtype_parse(const char *name, sa_dtype *out) {
    for (int i = 0; i < SA_DTYPE_COUNT; i++) {
        if (strcmp(name, dtype_names[i]) == 0) {
            *out = (sa_dtype)i;
            return 0;
        }
    }
    return -1;
}

int sa_dtype_parse_user(const char *name, sa_dtype *out) {
    static const struct {
        const char *name;
        sa_dtype t;
    } table[] = {{"f32", SA_F32},     {"float32", SA_F32},   {"fp32", SA_F32},
                 {"bf16", SA_BF16},   {"bfloat16", SA_BF16}, {"f16", SA_F16},
                 {"float16", SA_F16}, {"fp16", SA_F16},      {"half", SA_F16}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcasecmp(name, table[i].name) == 0) {
            *out = table[i].t;
            return 0;
        }
    }
    return -1;
}

unsigned sa_dtype_bits(sa_dtype t) {
    return (unsigned)t < SA_DTYPE_COUNT ? dtype_bits[t] : 0;
}

int sa_dtype_is_arith(sa_dtype t) {
    return t == SA_F32 || t == SA_F16 || t == SA_BF16;
}

static inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t sa_f32_to_bf16(float f) {
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float sa_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (man << 13)); /* Inf / NaN */
    if (exp != 0) return bits_f32(sign | ((exp + 112u) << 23) | (man << 13));
    if (man == 0) return bits_f32(sign);
    /* subnormal: value = man * 2^-24, exact in float32 */
    float v = (float)man * 5.9604644775390625e-08f;
    return sign ? -v : v;
}

uint16_t sa_f32_to_f16(float f) {
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t abs = u & 0x7fffffffu;
    if (abs > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((abs >> 13) & 0x3ffu)); /* NaN */
    if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to >= 65520: Inf */
    if (abs < 0x38800000u) {
        /* result is an F16 subnormal (or zero): scale so that the F16 ulp (2^-24) is 1.0 and
         * let float32 addition of a magic constant do the round-to-nearest-even. */
        float a = bits_f32(abs);
        float r = a + 0.5f; /* 0.5 = 2^-1: pushes 2^-24 units into the low mantissa bits */
        uint32_t rb = f32_bits(r) - f32_bits(0.5f);
        (void)a;
        return (uint16_t)(sign | rb);
    }
    uint32_t mant_odd = (abs >> 13) & 1u;
    abs += 0xc8000fffu + mant_odd; /* rebias exponent (-112 << 23) and round to nearest even */
    return (uint16_t)(sign | (abs >> 13));
}

void sa_to_f32(const void *src, sa_dtype t, float *dst, size_t n) {
    const unsigned char *s = src;
    if (t == SA_F32) {
        memcpy(dst, s, n * 4);
    } else if (t == SA_BF16) {
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = sa_bf16_to_f32(h);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = sa_f16_to_f32(h);
        }
    }
}

void sa_from_f32(const float *src, void *dst, sa_dtype t, size_t n) {
    unsigned char *d = dst;
    if (t == SA_F32) {
        memcpy(d, src, n * 4);
    } else if (t == SA_BF16) {
        for (size_t i = 0; i < n; i++) {
            uint16_t h = sa_f32_to_bf16(src[i]);
            memcpy(d + 2 * i, &h, 2);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            uint16_t h = sa_f32_to_f16(src[i]);
            memcpy(d + 2 * i, &h, 2);
        }
    }
}
