/* alloc.h: the library's one allocator.
 *
 * Every heap allocation of src/ goes through these functions: the sources are compiled with
 * `-include src/core/alloc_route.h`, which maps malloc, calloc, realloc, aligned_alloc, strdup,
 * strndup and free onto them, so call sites keep the names every C reader knows. In a normal build
 * they are the C library's functions and nothing else.
 *
 * A build with -DSA_ALLOC_FAULTS=ON (CMake option) adds fault injection, as SQLite's test builds
 * do: sa_alloc_fault_at(n) makes the n-th allocation from then on return NULL (once), so that a
 * test can run an entry point with each of its allocations failing in turn
 * (tests/core/test_alloc_faults.c). Memory that other libraries allocate inside themselves
 * (libyaml, PCRE2's match data and compiled patterns, utf8proc, OpenBLAS, stdio buffers,
 * realpath) does not pass through here; cJSON does once a test installs sa_malloc/sa_free as its
 * hooks (cJSON_InitHooks). */
#ifndef SAFEARITH_CORE_ALLOC_H
#define SAFEARITH_CORE_ALLOC_H

#include <stddef.h>

void *sa_malloc(size_t n);
void *sa_calloc(size_t count, size_t size);
void *sa_realloc(void *p, size_t n);
void *sa_aligned_alloc(size_t align, size_t n);
char *sa_strdup(const char *s);
char *sa_strndup(const char *s, size_t n);
void sa_free(void *p);

#ifdef SA_ALLOC_FAULTS
/* Make the n-th allocation from now fail (n >= 1), once; n = 0 turns injection off. Also resets
 * the count of sa_alloc_fault_count. Not thread-safe against allocations running meanwhile. */
void sa_alloc_fault_at(long n);
/* Allocations since the last sa_alloc_fault_at. */
long sa_alloc_fault_count(void);
/* Whether the injected failure happened since the last sa_alloc_fault_at. */
int sa_alloc_fault_hit(void);
#endif

#endif
