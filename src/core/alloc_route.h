/* alloc_route.h: forced into every source of src/ (`-include`, see CMakeLists.txt) to route the
 * C library's allocation functions through the library's allocator (core/alloc.h). The system
 * headers that declare them come first, so that their declarations keep the real names; only calls
 * written after this point are renamed. Pointers from either side may be freed by the other: the
 * allocator hands out the C library's own blocks. */
#ifndef SAFEARITH_CORE_ALLOC_ROUTE_H
#define SAFEARITH_CORE_ALLOC_ROUTE_H

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

#undef malloc
#undef calloc
#undef realloc
#undef aligned_alloc
#undef strdup
#undef strndup
#undef free
#define malloc(n) sa_malloc(n)
#define calloc(c, n) sa_calloc(c, n)
#define realloc(p, n) sa_realloc(p, n)
#define aligned_alloc(a, n) sa_aligned_alloc(a, n)
#define strdup(s) sa_strdup(s)
#define strndup(s, n) sa_strndup(s, n)
#define free(p) sa_free(p)

#endif
