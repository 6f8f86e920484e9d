/* kset.h: the CPU kernel sets of the engine's matrix products, chosen at run time.
 *
 * One build runs on any x86-64 CPU with AVX2 (the baseline it is compiled for) and carries the
 * faster sets compiled with their own instruction flags; a session picks the best one the CPU
 * has (CPUID, with the operating system's register-state check) when it is created:
 *   avx2        AVX2 + FMA + F16C: 8-lane float32 FMAs (the baseline; portable C elsewhere)
 *   avx512      AVX-512 F/BW/VL/DQ: 16-lane float32 FMAs
 *   avx512bf16  avx512 plus AVX512-BF16: the same float32 kernels, and the BF16-activation
 *               products (vdpbf16ps) that SA_PRECISION_BF16 uses for BF16 weights
 * The environment variable SAFEARITH_ISA (avx2, avx512 or avx512bf16) forces a set, for tests and
 * comparisons; asking for a set the CPU lacks is an error, never a silent fallback. Within one set
 * every output of a product has one fixed sequence of operations, so a row computed alone or in a
 * batch is bit-identical; different sets sum in different orders (last bits differ). */
#ifndef SAFEARITH_KSET_H
#define SAFEARITH_KSET_H

#include "safearith/error.h"

typedef enum sa_kset {
    SA_KSET_AUTO = 0, /* SAFEARITH_ISA if set, else the best set the CPU supports */
    SA_KSET_AVX2,
    SA_KSET_AVX512,
    SA_KSET_AVX512BF16
} sa_kset;

/* The activations' precision in the products of BF16 weights. F32 (the default and the reference
 * the tests check against PyTorch at 1e-4): activations stay float32 and weights are widened
 * exactly. BF16: activations are rounded to BF16 (nearest even) and multiplied with vdpbf16ps,
 * float32 sums; needs the avx512bf16 set; F16 and F32 weights keep the float32 path. Its deviation
 * is measured in docs/engine.md. */
typedef enum sa_precision { SA_PRECISION_F32 = 0, SA_PRECISION_BF16 } sa_precision;

/* "avx2", "avx512", "avx512bf16" ("auto" for SA_KSET_AUTO). */
const char *sa_kset_name(sa_kset k);
/* Parse one of those names (what = the flag or variable it came from, for the message). */
sa_status sa_kset_parse(const char *name, const char *what, sa_kset *out, sa_error *err);
/* Whether this CPU (and this build) can run set k. */
int sa_kset_supported(sa_kset k);
/* The set to use for request: AUTO reads SAFEARITH_ISA, then takes the best supported set.
 * Fails with one line for an unknown name or a set this CPU lacks. */
sa_status sa_kset_choose(sa_kset request, sa_kset *out, sa_error *err);

/* "f32" or "bf16"; parse one of them. */
const char *sa_precision_name(sa_precision p);
sa_status sa_precision_parse(const char *name, const char *what, sa_precision *out, sa_error *err);

#endif
