/* test_dtype_torch.c: float32 -> BF16/F16 rounding and F16 -> float32 widening agree bit for bit
 * with torch (Debian's python3-torch, run as a subprocess) on special values, every F16 pattern,
 * values around every rounding boundary and a million random float32 bit patterns. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/check.h"
#include "safearith/dtype.h"

#define N_RANDOM 1000000

static const char *torch_script =
    "import sys, numpy as np, torch\n"
    "x = torch.from_numpy(np.fromfile(sys.argv[1], dtype=np.uint32).view(np.float32))\n"
    "b = x.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)\n"
    "h = x.to(torch.float16).view(torch.int16).numpy().view(np.uint16)\n"
    "w = torch.arange(65536, dtype=torch.int32).to(torch.int16).view(torch.float16).float()\n"
    "np.concatenate([b, h]).tofile(sys.argv[2])\n"
    "w.numpy().view(np.uint32).tofile(sys.argv[3])\n";

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next_u32(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static size_t fill_inputs(uint32_t *x) {
    size_t n = 0;
    const uint32_t specials[] = {0,           0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u,
                                 0x7f800001u, 0x00000001u, 0x007fffffu, 0x7f7fffffu, 0x477ff000u,
                                 0x477fefffu, 0x38800000u, 0x387fffffu, 0x33800000u, 0x33000000u};
    for (size_t i = 0; i < sizeof specials / 4; i++) x[n++] = specials[i];
    for (uint32_t h = 0; h < 65536; h++) { /* every F16 value widened, and its neighbours */
        union {
            float f;
            uint32_t u;
        } v = {sa_f16_to_f32((uint16_t)h)};
        if ((h & 0x7c00) == 0x7c00) continue;
        x[n++] = v.u, x[n++] = v.u + 0x1000, x[n++] = v.u + 0xfff, x[n++] = v.u + 0x1001;
    }
    for (uint32_t b = 0; b < 65536; b += 3) { /* BF16 halfway points */
        x[n++] = (b << 16) | 0x8000u, x[n++] = (b << 16) | 0x7fffu;
    }
    for (int i = 0; i < N_RANDOM; i++) x[n++] = next_u32();
    return n;
}

int main(void) {
    const char *py = getenv("SA_PYTHON");
    if (!py) py = "/usr/bin/python3";
    size_t cap = 16 + 4 * 65536 + 2 * 21846 + N_RANDOM + 16;
    uint32_t *x = malloc(cap * 4);
    size_t n = fill_inputs(x);
    char in[] = "/tmp/sa-dtype-in-XXXXXX", out[] = "/tmp/sa-dtype-out-XXXXXX",
         wid[] = "/tmp/sa-dtype-wid-XXXXXX", scr[] = "/tmp/sa-dtype-py-XXXXXX";
    int fds[4] = {mkstemp(in), mkstemp(out), mkstemp(wid), mkstemp(scr)};
    CHECK(write(fds[0], x, n * 4) == (ssize_t)(n * 4));
    CHECK(write(fds[3], torch_script, strlen(torch_script)) == (ssize_t)strlen(torch_script));
    for (int i = 0; i < 4; i++) close(fds[i]);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s %s %s %s", py, scr, in, out, wid);
    CHECK_MSG(system(cmd) == 0, "torch reference failed: %s", cmd);
    uint16_t *ref = malloc(n * 4);
    uint32_t *wref = malloc(65536 * 4);
    FILE *f = fopen(out, "rb");
    CHECK(f && fread(ref, 2, 2 * n, f) == 2 * n);
    if (f) fclose(f);
    f = fopen(wid, "rb");
    CHECK(f && fread(wref, 4, 65536, f) == 65536);
    if (f) fclose(f);
    size_t bad_b = 0, bad_h = 0, bad_w = 0;
    for (size_t i = 0; i < n; i++) {
        float v;
        memcpy(&v, &x[i], 4);
        uint16_t b = sa_f32_to_bf16(v), h = sa_f32_to_f16(v);
        int nan = v != v; /* NaN payloads may differ; both must be NaN */
        if (nan ? (b & 0x7fff) <= 0x7f80 : b != ref[i]) {
            if (bad_b++ < 5)
                fprintf(stderr, "bf16(0x%08x): ours 0x%04x torch 0x%04x\n", x[i], b, ref[i]);
        }
        if (nan ? (h & 0x7fff) <= 0x7c00 : h != ref[n + i]) {
            if (bad_h++ < 5)
                fprintf(stderr, "f16(0x%08x): ours 0x%04x torch 0x%04x\n", x[i], h, ref[n + i]);
        }
    }
    for (uint32_t h = 0; h < 65536; h++) {
        union {
            float f;
            uint32_t u;
        } v = {sa_f16_to_f32((uint16_t)h)};
        int nan = v.f != v.f;
        if (nan ? (wref[h] & 0x7fffffffu) <= 0x7f800000u : v.u != wref[h]) bad_w++;
    }
    CHECK_MSG(bad_b == 0, "%zu of %zu BF16 roundings differ from torch", bad_b, n);
    CHECK_MSG(bad_h == 0, "%zu of %zu F16 roundings differ from torch", bad_h, n);
    CHECK_MSG(bad_w == 0, "%zu F16 widenings differ from torch", bad_w);
    unlink(in), unlink(out), unlink(wid), unlink(scr);
    free(x), free(ref), free(wref);
    return CHECK_DONE();
}
