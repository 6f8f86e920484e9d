/* sha256_impl.h: the SHA-256 compression functions behind sha256.c (internal). The portable one
 * runs everywhere; on x86-64 CPUs with the SHA extensions (Intel since Goldmont / Ice Lake, AMD
 * since Zen) the SHA-NI one is several times faster. Both give the same state for the same
 * blocks; sa_sha256_best picks one by CPUID. */
#ifndef SA_CORE_SHA256_IMPL_H
#define SA_CORE_SHA256_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* The 64 round constants (FIPS 180-4, 4.2.2). */
extern const uint32_t sa_sha256_k[64];

/* Fold n 64-byte blocks at p into the state h[0..7] (a..h). */
typedef void (*sa_sha256_blocks_fn)(uint32_t h[8], const unsigned char *p, size_t n);

void sa_sha256_blocks_portable(uint32_t h[8], const unsigned char *p, size_t n);
/* NULL where this build or CPU has no SHA extensions. */
sa_sha256_blocks_fn sa_sha256_blocks_ni(void);
/* The fastest this CPU runs. */
sa_sha256_blocks_fn sa_sha256_best(void);

/* sa_sha256_hex with a given compression function (tests compare the two). */
void sa_sha256_hex_using(sa_sha256_blocks_fn fn, const void *data, size_t len, char hex[65]);

#endif
