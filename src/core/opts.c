/* opts.c: taking a caller's options struct over the library's defaults (opts.h). */
#include "core/opts.h"

#include <string.h>

sa_status sa_opts_take(void *dst, size_t dst_size, const void *src, const char *type,
                       sa_error *err) {
    size_t n;
    memcpy(&n, src, sizeof n);
    if (n < sizeof n || n > dst_size)
        return sa_error_set(err, SA_EINVAL,
                            "%s: struct_size %zu is not that of an initialised %s (call its "
                            "init function; this library knows %zu bytes)",
                            type, n, type, dst_size);
    memcpy(dst, src, n);
    return SA_OK;
}
