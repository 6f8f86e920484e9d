/* alloc.c: the library's one allocator (see core/alloc.h): the C library's functions, plus, in
 * SA_ALLOC_FAULTS builds, a counter that fails the n-th allocation on request. The counter is the
 * only global state of the library, and exists only in those test builds. */
#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

/* this file calls the C library itself (alloc_route.h was forced in before the first line) */
#undef malloc
#undef calloc
#undef realloc
#undef aligned_alloc
#undef strdup
#undef strndup
#undef free

#ifdef SA_ALLOC_FAULTS
#include <stdatomic.h>

static atomic_long fault_target, fault_seen;
static atomic_int fault_hit;

void sa_alloc_fault_at(long n) {
    atomic_store(&fault_seen, 0);
    atomic_store(&fault_hit, 0);
    atomic_store(&fault_target, n);
}
long sa_alloc_fault_count(void) {
    return atomic_load(&fault_seen);
}
int sa_alloc_fault_hit(void) {
    return atomic_load(&fault_hit);
}
/* Whether this allocation is the one to fail. */
static int fail_now(void) {
    long seen = atomic_fetch_add(&fault_seen, 1) + 1;
    if (seen != atomic_load(&fault_target)) return 0;
    atomic_store(&fault_hit, 1);
    return 1;
}
#else
static int fail_now(void) {
    return 0;
}
#endif

void *sa_malloc(size_t n) {
    return fail_now() ? NULL : malloc(n);
}
void *sa_calloc(size_t count, size_t size) {
    return fail_now() ? NULL : calloc(count, size);
}
/* A failed realloc leaves p allocated, as the C library's does. */
void *sa_realloc(void *p, size_t n) {
    return fail_now() ? NULL : realloc(p, n);
}
void *sa_aligned_alloc(size_t align, size_t n) {
    return fail_now() ? NULL : aligned_alloc(align, n);
}
char *sa_strdup(const char *s) {
    return fail_now() ? NULL : strdup(s);
}
char *sa_strndup(const char *s, size_t n) {
    return fail_now() ? NULL : strndup(s, n);
}
void sa_free(void *p) {
    free(p);
}
