/* io.h (internal): the library's one route to the system calls that write files.
 *
 * Every write of src/ goes through these functions: bytes (sa_io_write_all, and stdio streams
 * from sa_io_stream / sa_io_fopen_write, whose buffers are emptied through it), fsync and
 * fdatasync, rename and link, creating opens and mkdir, truncate. sa_io_write_all retries short
 * writes and EINTR, so a writer that checks its result never has to (glibc's own stdio treats
 * EINTR as an error). tests/core/test_io_sites.sh keeps raw calls out of the rest of src/.
 *
 * A build with -DSA_IO_FAULTS=ON (CMake option) adds fault injection, as SQLite's test builds
 * do for I/O: sa_io_fault_at(ops, errno_value, n) makes the n-th call of the kinds in `ops` fail
 * once with errno_value, or, with SA_IO_SHORT, makes the n-th write write only half its bytes
 * (tests/core/test_io_faults.c runs every writer with each call failing in turn). */
#ifndef SAFEARITH_CORE_IO_H
#define SAFEARITH_CORE_IO_H

#include <stdio.h>
#include <sys/types.h>

#include "safearith/error.h"

/* write(2) once (short counts and EINTR are the caller's). */
ssize_t sa_io_write(int fd, const void *buf, size_t n);
/* Write all n bytes, retrying short writes and EINTR: 0, or -1 with errno. */
int sa_io_write_all(int fd, const void *buf, size_t n);
int sa_io_fsync(int fd);
int sa_io_fdatasync(int fd);
int sa_io_rename(const char *from, const char *to);
int sa_io_linkat(int from_dir, const char *from, int to_dir, const char *to, int flags);
/* open(2) for writing (O_CREAT and the like) and mkdir(2). */
int sa_io_open(const char *path, int flags, mode_t mode);
int sa_io_mkdir(const char *path, mode_t mode);
int sa_io_truncate(const char *path, off_t len);
int sa_io_ftruncate(int fd, off_t len);
/* fsync a directory (after entries in it were created or renamed): 0, or -1 with errno. */
int sa_io_fsync_dir(const char *dir);

/* A write-only stdio stream over fd that empties its buffer through sa_io_write_all; fclose
 * closes fd. NULL with errno on failure (fd is then still open). */
FILE *sa_io_stream(int fd);
/* Create (or truncate) path for writing, as sa_io_stream. NULL with errno on failure. */
FILE *sa_io_fopen_write(const char *path);
/* Close a stream from the two above: 0 if every byte written reached the file (no write failed
 * at any point, including the last flush), else -1 with errno. The stream is closed either way. */
int sa_io_fclose(FILE *f);

/* Append one or more whole lines (text[0..n) ends with '\n') to a file opened with O_APPEND and
 * make them durable (fdatasync). On failure the file is cut back to its length before the call
 * (where the system lets it), so no torn line stays behind; err names path. */
sa_status sa_io_append_lines(int fd, const char *path, const char *text, size_t n, sa_error *err);
/* The same without the fdatasync (the caller makes groups of appends durable with
 * sa_io_fdatasync); a failed write is still cut off. */
sa_status sa_io_append_lines_nosync(int fd, const char *path, const char *text, size_t n,
                                    sa_error *err);

/* kinds of call, for fault injection */
enum {
    SA_IO_OP_WRITE = 1,  /* sa_io_write (each call of sa_io_write_all's loop) */
    SA_IO_OP_SYNC = 2,   /* fsync, fdatasync, sa_io_fsync_dir */
    SA_IO_OP_RENAME = 4, /* rename, linkat */
    SA_IO_OP_CREATE = 8, /* creating opens, mkdir */
    SA_IO_OP_TRUNCATE = 16
};

#ifdef SA_IO_FAULTS
#define SA_IO_SHORT 0 /* errno_value for a short write (half the bytes, at least one) */
/* Make the n-th call (n >= 1) of the kinds in ops from now fail once with errno_value (or be
 * short, SA_IO_SHORT); n = 0 turns injection off. Resets sa_io_fault_count and _hit. */
void sa_io_fault_at(unsigned ops, int errno_value, long n);
/* Calls of the armed kinds since the last sa_io_fault_at. */
long sa_io_fault_count(void);
/* Whether the injected fault happened since the last sa_io_fault_at. */
int sa_io_fault_hit(void);
#endif

#endif
