/* io_floor.c: the I/O floor of an HDR run (bench/hdr.md): read every byte of the three input
 * checkpoints' shard files and write one output file as large as the target's, fsynced, as
 * safearith does. Prints the seconds taken.
 *
 *   io_floor OUTFILE TARGET BASE HARMFUL */
#include "bench_util.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "safearith/safetensors.h"

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: io_floor OUTFILE TARGET BASE HARMFUL\n");
        return 2;
    }
    enum { BUF = 8 << 20 };
    char *buf = malloc(BUF);
    double t0 = bench_now();
    uint64_t target_bytes = 0, sum = 0;
    for (int k = 2; k < 5; k++) {
        sa_checkpoint *ck;
        sa_error err;
        if (sa_ckpt_open(argv[k], &ck, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
        for (int s = 0; s < sa_ckpt_shard_count(ck); s++) {
            int fd = open(sa_ckpt_shard_path(ck, s), O_RDONLY);
            ssize_t got;
            while ((got = read(fd, buf, BUF)) > 0) {
                sum += (unsigned char)buf[got - 1];
                if (k == 2) target_bytes += (uint64_t)got;
            }
            close(fd);
        }
        sa_ckpt_close(ck);
    }
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    memset(buf, (int)(sum & 0x7f), BUF);
    for (uint64_t at = 0; at < target_bytes; at += BUF) {
        size_t n = target_bytes - at < BUF ? (size_t)(target_bytes - at) : BUF;
        if (write(fd, buf, n) != (ssize_t)n) return perror("write"), 1;
    }
    fsync(fd);
    close(fd);
    printf("%.3f\n", bench_now() - t0);
    free(buf);
    return 0;
}
