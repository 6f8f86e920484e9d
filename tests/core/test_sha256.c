/* test_sha256.c: SHA-256 against the FIPS 180-4 example digests, and the SHA-NI compression
 * function against the portable one on every length from 0 to 1100 bytes and on a 1 MB buffer
 * (both must give the same digest for the same bytes); sa_sha256_file on a file written in odd
 * pieces. Where the CPU has no SHA extensions, the skipped comparison is printed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sha256_impl.h"
#include "safearith/provenance.h"

#include "common/check.h"

static const struct {
    const char *msg;
    const char *hex;
} vectors[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
};
static const char million_a[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

static void known_digests(sa_sha256_blocks_fn fn, const char *name) {
    char hex[65];
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        sa_sha256_hex_using(fn, vectors[i].msg, strlen(vectors[i].msg), hex);
        CHECK_MSG(!strcmp(hex, vectors[i].hex), "%s: \"%s\" gave %s", name, vectors[i].msg, hex);
    }
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    sa_sha256_hex_using(fn, a, 1000000, hex);
    CHECK_MSG(!strcmp(hex, million_a), "%s: a million 'a' gave %s", name, hex);
    free(a);
}

static void fill(unsigned char *b, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        b[i] = (unsigned char)seed;
    }
}

static void ni_against_portable(sa_sha256_blocks_fn ni) {
    size_t big = 1 << 20;
    unsigned char *b = malloc(big);
    fill(b, big, 88172645463325252ull);
    char x[65], y[65];
    int same = 1;
    for (size_t n = 0; n <= 1100; n++) {
        sa_sha256_hex_using(ni, b + n % 7, n, x); /* unaligned starts too */
        sa_sha256_hex_using(sa_sha256_blocks_portable, b + n % 7, n, y);
        if (strcmp(x, y)) {
            CHECK_MSG(0, "length %zu: sha-ni %s, portable %s", n, x, y);
            same = 0;
        }
    }
    CHECK(same);
    sa_sha256_hex_using(ni, b, big, x);
    sa_sha256_hex_using(sa_sha256_blocks_portable, b, big, y);
    CHECK_MSG(!strcmp(x, y), "1 MiB: sha-ni %s, portable %s", x, y);
    free(b);
}

/* The file reader (64 KiB reads) against hashing the same bytes at once. */
static void file_digest(void) {
    size_t n = 200000 + 13;
    unsigned char *b = malloc(n);
    fill(b, n, 7);
    char path[] = "/tmp/sa-test-sha256-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    for (size_t off = 0; fd >= 0 && off < n;) { /* odd pieces */
        size_t k = n - off < 4099 ? n - off : 4099;
        CHECK(write(fd, b + off, k) == (ssize_t)k);
        off += k;
    }
    if (fd >= 0) close(fd);
    char x[65], y[65];
    sa_error err;
    CHECK(sa_sha256_file(path, x, &err) == SA_OK);
    sa_sha256_hex(b, n, y);
    CHECK_MSG(!strcmp(x, y), "file %s, buffer %s", x, y);
    unlink(path);
    free(b);
}

int main(void) {
    known_digests(sa_sha256_blocks_portable, "portable");
    sa_sha256_blocks_fn ni = sa_sha256_blocks_ni();
    if (ni) {
        known_digests(ni, "sha-ni");
        ni_against_portable(ni);
        CHECK(sa_sha256_best() == ni);
    } else {
        printf("test_sha256: this CPU (or build) has no SHA extensions: the SHA-NI code was not "
               "run, only the portable one\n");
        CHECK(sa_sha256_best() == sa_sha256_blocks_portable);
    }
    known_digests(sa_sha256_best(), "best");
    file_digest();
    return CHECK_DONE();
}
