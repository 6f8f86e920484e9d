/* opts.h: reading a caller's options struct that may be older (smaller) than the library's
 * (internal).
 *
 * Every growable options struct of the public API starts with `size_t struct_size`, set by its
 * init function to sizeof the struct the caller was compiled with. New fields are only ever
 * appended, so the library reads the caller's first struct_size bytes over its own defaults: a
 * program built against an older header keeps working, and a field it does not know keeps its
 * default. A struct_size of 0 (not initialised) or larger than the library knows is refused. */
#ifndef SAFEARITH_CORE_OPTS_H
#define SAFEARITH_CORE_OPTS_H

#include <stddef.h>

#include "safearith/error.h"

/* dst holds the library's defaults (sizeof dst_size); src the caller's struct. */
sa_status sa_opts_take(void *dst, size_t dst_size, const void *src, const char *type,
                       sa_error *err);

#endif
