/* test_dtype.c: dtype names and the scalar F16/BF16 conversions on hand-picked values (the
 * exhaustive comparison against torch's rounding lives in test_dtype_torch.py). */
#include <stdint.h>

#include "common/check.h"
#include "safearith/dtype.h"

int main(void) {
    sa_dtype t;
    CHECK(sa_dtype_parse("BF16", &t) == 0 && t == SA_BF16);
    CHECK(sa_dtype_parse("bf16", &t) != 0);
    CHECK(sa_dtype_parse_user("bfloat16", &t) == 0 && t == SA_BF16);
    CHECK_EQ_INT(sa_dtype_bits(SA_F4), 4);
    /* BF16: exact values and round to nearest even at the halfway point */
    CHECK_EQ_INT(sa_f32_to_bf16(1.0f), 0x3f80);
    CHECK_EQ_INT(sa_f32_to_bf16(1.00390625f), 0x3f80); /* 1 + 2^-8: tie, even stays */
    CHECK_EQ_INT(sa_f32_to_bf16(1.01171875f), 0x3f82); /* 1 + 3*2^-8: tie, rounds up to even */
    CHECK(sa_bf16_to_f32(sa_f32_to_bf16(NAN)) != sa_bf16_to_f32(sa_f32_to_bf16(NAN)));
    CHECK_EQ_INT(sa_f32_to_bf16(INFINITY), 0x7f80);
    CHECK_EQ_INT(sa_f32_to_bf16(-0.0f), 0x8000);
    /* F16 */
    CHECK_EQ_INT(sa_f32_to_f16(1.0f), 0x3c00);
    CHECK_EQ_INT(sa_f32_to_f16(65504.0f), 0x7bff);
    CHECK_EQ_INT(sa_f32_to_f16(65520.0f), 0x7c00);
    CHECK_EQ_INT(sa_f32_to_f16(5.9604644775390625e-08f), 0x0001);
    CHECK_EQ_INT(sa_f32_to_f16(2.98023223876953125e-08f), 0x0000); /* half ulp: tie to even 0 */
    CHECK(sa_f16_to_f32(0x0001) == 5.9604644775390625e-08f);
    CHECK(sa_f16_to_f32(0xfc00) == -INFINITY);
    for (uint32_t h = 0; h < 0x10000; h++) { /* every finite F16 round-trips */
        if ((h & 0x7c00) == 0x7c00) continue;
        if (sa_f32_to_f16(sa_f16_to_f32((uint16_t)h)) != h) {
            CHECK_MSG(0, "f16 0x%04x does not round-trip", h);
            break;
        }
    }
    CHECK(1);
    return CHECK_DONE();
}
