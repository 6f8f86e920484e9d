/* io.c: the system calls that write files, retried where the system allows, and, in
 * SA_IO_FAULTS builds, a counter that fails the n-th of them on request (see core/io.h). The
 * counter is global state that exists only in those test builds, like core/alloc.c's. */
#include "core/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef SA_IO_FAULTS
#include <stdatomic.h>

static atomic_long fault_target, fault_seen;
static atomic_int fault_hit, fault_errno;
static atomic_uint fault_ops;

void sa_io_fault_at(unsigned ops, int errno_value, long n) {
    atomic_store(&fault_target, 0);
    atomic_store(&fault_seen, 0);
    atomic_store(&fault_hit, 0);
    atomic_store(&fault_ops, ops);
    atomic_store(&fault_errno, errno_value);
    atomic_store(&fault_target, n);
}
long sa_io_fault_count(void) {
    return atomic_load(&fault_seen);
}
int sa_io_fault_hit(void) {
    return atomic_load(&fault_hit);
}
/* The errno this call of kind op must fail with (SA_IO_SHORT for a short write), or -1. */
static int fault_now(unsigned op) {
    if (!(atomic_load(&fault_ops) & op) || !atomic_load(&fault_target)) return -1;
    long seen = atomic_fetch_add(&fault_seen, 1) + 1;
    if (seen != atomic_load(&fault_target)) return -1;
    atomic_store(&fault_hit, 1);
    return atomic_load(&fault_errno);
}
#else
static int fault_now(unsigned op) {
    (void)op;
    return -1;
}
#endif

/* -1 with errno set if the fault of this call is an error, else 0. */
static int injected(unsigned op) {
    int e = fault_now(op);
    if (e <= 0) return 0;
    errno = e;
    return -1;
}

ssize_t sa_io_write(int fd, const void *buf, size_t n) {
    int e = fault_now(SA_IO_OP_WRITE);
    if (e == 0 && n > 1) n /= 2; /* SA_IO_SHORT */
    if (e > 0) return errno = e, -1;
    return write(fd, buf, n);
}

int sa_io_write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n) {
        ssize_t w = sa_io_write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        if (w == 0) return errno = EIO, -1; /* no progress on a regular file: give up */
        p += w, n -= (size_t)w;
    }
    return 0;
}

int sa_io_fsync(int fd) {
    return injected(SA_IO_OP_SYNC) ? -1 : fsync(fd);
}
int sa_io_fdatasync(int fd) {
    return injected(SA_IO_OP_SYNC) ? -1 : fdatasync(fd);
}
int sa_io_rename(const char *from, const char *to) {
    return injected(SA_IO_OP_RENAME) ? -1 : rename(from, to);
}
int sa_io_linkat(int from_dir, const char *from, int to_dir, const char *to, int flags) {
    return injected(SA_IO_OP_RENAME) ? -1 : linkat(from_dir, from, to_dir, to, flags);
}
int sa_io_open(const char *path, int flags, mode_t mode) {
    return injected(SA_IO_OP_CREATE) ? -1 : open(path, flags, mode);
}
int sa_io_mkdir(const char *path, mode_t mode) {
    return injected(SA_IO_OP_CREATE) ? -1 : mkdir(path, mode);
}
int sa_io_truncate(const char *path, off_t len) {
    return injected(SA_IO_OP_TRUNCATE) ? -1 : truncate(path, len);
}
int sa_io_ftruncate(int fd, off_t len) {
    return injected(SA_IO_OP_TRUNCATE) ? -1 : ftruncate(fd, len);
}

int sa_io_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = sa_io_fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* ---- stdio streams ---- */

/* glibc calls this to empty the stream's buffer; anything short of n marks the stream failed. */
static ssize_t stream_write(void *cookie, const char *buf, size_t n) {
    return sa_io_write_all((int)(intptr_t)cookie, buf, n) ? -1 : (ssize_t)n;
}
static int stream_close(void *cookie) {
    return close((int)(intptr_t)cookie);
}

FILE *sa_io_stream(int fd) {
    cookie_io_functions_t fns = {NULL, stream_write, NULL, stream_close};
    return fopencookie((void *)(intptr_t)fd, "w", fns);
}

FILE *sa_io_fopen_write(const char *path) {
    int fd = sa_io_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return NULL;
    FILE *f = sa_io_stream(fd);
    if (!f) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return f;
}

int sa_io_fclose(FILE *f) {
    /* a failed flush in the middle drops its buffer and later ones may succeed: the error flag
     * is what remembers the hole */
    errno = 0;
    int bad = fflush(f) != 0 || ferror(f);
    int e = errno;
    bad |= fclose(f) != 0;
    if (bad && e) errno = e;
    if (bad && !errno) errno = EIO;
    return bad ? -1 : 0;
}

static sa_status append_lines(int fd, const char *path, const char *text, size_t n, int sync,
                              sa_error *err) {
    off_t before = lseek(fd, 0, SEEK_END);
    const char *what = "write failed";
    if (sa_io_write_all(fd, text, n) == 0) {
        if (!sync || sa_io_fdatasync(fd) == 0) return SA_OK;
        what = "fdatasync failed";
    }
    sa_status st = sa_error_set(err, SA_EIO, "%s: %s: %s", path, what, strerror(errno));
    if (before >= 0) (void)sa_io_ftruncate(fd, before); /* else resume cuts the torn line */
    return st;
}

sa_status sa_io_append_lines(int fd, const char *path, const char *text, size_t n, sa_error *err) {
    return append_lines(fd, path, text, n, 1, err);
}

sa_status sa_io_append_lines_nosync(int fd, const char *path, const char *text, size_t n,
                                    sa_error *err) {
    return append_lines(fd, path, text, n, 0, err);
}
