/* kset.c: which kernel set runs (see safearith/kset.h): CPUID detection, SAFEARITH_ISA, names.
 *
 * Detection uses the compiler's CPU model (__builtin_cpu_supports), which also checks that the
 * operating system saves the AVX-512 registers (XGETBV), so a set reported here can run. */
#include "safearith/kset.h"

#include "tensor/gemm.h"
#include "tensor/kernels.h"

#include <stdlib.h>
#include <string.h>

static const char *const kset_names[] = {"auto", "avx2", "avx512", "avx512bf16"};

const char *sa_kset_name(sa_kset k) {
    return (unsigned)k < sizeof kset_names / sizeof kset_names[0] ? kset_names[k] : "?";
}

sa_status sa_kset_parse(const char *name, const char *what, sa_kset *out, sa_error *err) {
    for (int k = 0; k < (int)(sizeof kset_names / sizeof kset_names[0]); k++)
        if (!strcmp(name, kset_names[k])) {
            *out = (sa_kset)k;
            return SA_OK;
        }
    return sa_error_set(err, SA_EINVAL,
                        "%s: unknown kernel set '%s' (expected avx2, avx512 or avx512bf16)", what,
                        name);
}

/* The tables (kernels.h). gemm_min_t: from this many activation rows on, the packed product. */
static const sa_kernels kernels_avx2 = {
    .set = SA_KSET_AVX2,
    .mv_prep = sa_mv_prep_avx2,
    .mv_rows = sa_mv_rows_avx2,
    .gemm_min_t = SA_MM_GEMM_MIN_T,
    .gemm_mr = SA_GEMM_AVX2_MR,
    .gemm_nc = SA_GEMM_AVX2_NC,
    .gemm_scratch_floats = (size_t)SA_GEMM_AVX2_NC * SA_GEMM_AVX2_KC,
    .gemm_pack_x = sa_gemm_pack_x_avx2,
    .gemm_block = sa_gemm_block_avx2,
};

#ifdef SA_HAVE_AVX512
#define KERNELS_AVX512_COMMON                                                                      \
    .mv_prep = sa_mv_prep_avx512, .mv_rows = sa_mv_rows_avx512, .gemm_min_t = SA_MM_GEMM_MIN_T,    \
    .gemm_mr = SA_GEMM_AVX512_MR, .gemm_nc = SA_GEMM_AVX512_NC,                                    \
    .gemm_scratch_floats = (size_t)SA_GEMM_AVX512_NC * SA_GEMM_AVX512_KC,                          \
    .gemm_pack_x = sa_gemm_pack_x_avx512, .gemm_block = sa_gemm_block_avx512

static const sa_kernels kernels_avx512 = {.set = SA_KSET_AVX512, KERNELS_AVX512_COMMON};
static const sa_kernels kernels_avx512bf16 = {
    .set = SA_KSET_AVX512BF16,
    KERNELS_AVX512_COMMON,
    .bf16_prep = sa_bf16_prep_avx512bf16,
    .bf16_rows = sa_bf16_rows_avx512bf16,
    .bf16_rows_max = SA_DOT_BF16_ROWS_MAX,
    .bf16_scratch_floats = SA_DOT_BF16_SCRATCH_FLOATS,
};
#endif

const sa_kernels *sa_kernels_get(sa_kset k) {
    switch (k) {
    case SA_KSET_AVX2:
        return &kernels_avx2;
#ifdef SA_HAVE_AVX512
    case SA_KSET_AVX512:
        return &kernels_avx512;
    case SA_KSET_AVX512BF16:
        return &kernels_avx512bf16;
#endif
    default:
        return NULL;
    }
}

int sa_kset_supported(sa_kset k) {
    if (!sa_kernels_get(k)) return 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    int avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    switch (k) {
    case SA_KSET_AVX2:
        return avx2;
    case SA_KSET_AVX512:
        return avx512;
    case SA_KSET_AVX512BF16:
        return avx512 && __builtin_cpu_supports("avx512bf16");
    default:
        return 0;
    }
#else
    return k == SA_KSET_AVX2; /* the portable C of the avx2 files */
#endif
}

sa_status sa_kset_choose(sa_kset request, sa_kset *out, sa_error *err) {
    const char *what = "kernel set";
    if (request == SA_KSET_AUTO) {
        const char *env = getenv("SAFEARITH_ISA");
        if (env && *env) {
            what = "SAFEARITH_ISA";
            sa_status st = sa_kset_parse(env, what, &request, err);
            if (st) return st;
        }
    }
    if (request == SA_KSET_AUTO) {
        for (int k = SA_KSET_AVX512BF16; k > SA_KSET_AUTO; k--)
            if (sa_kset_supported((sa_kset)k)) {
                *out = (sa_kset)k;
                return SA_OK;
            }
        return sa_error_set(err, SA_EUNSUPPORTED, "%s: this CPU lacks AVX2 and FMA", what);
    }
    if (!sa_kset_supported(request))
        return sa_error_set(err, SA_EUNSUPPORTED, "%s: this CPU (or build) cannot run %s", what,
                            sa_kset_name(request));
    *out = request;
    return SA_OK;
}

const char *sa_precision_name(sa_precision p) {
    return p == SA_PRECISION_BF16 ? "bf16" : "f32";
}

sa_status sa_precision_parse(const char *name, const char *what, sa_precision *out, sa_error *err) {
    if (!strcmp(name, "f32") || !strcmp(name, "bf16")) {
        *out = name[0] == 'b' ? SA_PRECISION_BF16 : SA_PRECISION_F32;
        return SA_OK;
    }
    return sa_error_set(err, SA_EINVAL, "%s: unknown precision '%s' (expected f32 or bf16)", what,
                        name);
}
