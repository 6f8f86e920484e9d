/* fuzz_safetensors.c: any file opened as a safetensors checkpoint, mapped or read, either fails
 * with an error or yields tensors whose data lie inside the file: every tensor's bytes are read
 * (widened to float32 in slices) and its metadata walked. */
#include "fuzz_util.h"
#include "safearith/dtype.h"
#include "safearith/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write("fuzz.safetensors", data, size);
    sa_ckpt_mode mode = size && (data[size - 1] & 1) ? SA_CKPT_READ : SA_CKPT_MMAP;
    sa_checkpoint *ck;
    sa_error err;
    if (sa_ckpt_open_mode(path, mode, &ck, &err) != SA_OK) return 0;
    float buf[256];
    for (size_t i = 0; i < sa_ckpt_count(ck); i++) {
        const sa_st_tensor *t = sa_ckpt_tensor(ck, i);
        if (sa_ckpt_find(ck, t->name) != t) abort();
        if (!sa_dtype_is_arith(t->dtype)) {
            for (uint64_t b = 0; b < t->nbytes; b++)
                fz_consume(((const unsigned char *)t->data)[b]);
            continue;
        }
        size_t es = sa_dtype_bits(t->dtype) / 8;
        for (uint64_t e = 0; e < t->numel; e += 256) {
            size_t n = t->numel - e < 256 ? (size_t)(t->numel - e) : 256;
            sa_to_f32((const unsigned char *)t->data + e * es, t->dtype, buf, n);
            fz_consume_float(buf[n - 1]);
        }
    }
    for (size_t i = 0; i < sa_ckpt_metadata_count(ck); i++) {
        const char *k, *v;
        sa_ckpt_metadata_at(ck, i, &k, &v);
        if (sa_ckpt_metadata(ck, k) == NULL) abort();
    }
    (void)sa_ckpt_total_bytes(ck);
    (void)sa_ckpt_total_params(ck);
    sa_ckpt_close(ck);
    return 0;
}
