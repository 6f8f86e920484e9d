/* fuzz_gguf.c: any bytes parsed as GGUF, then read as a llama.cpp control vector, fail with an
 * error or give tensors and values inside the image. */
#include "fuzz_util.h"
#include "safearith/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sa_gguf g;
    sa_error err;
    if (sa_gguf_parse(data, size, "fuzz.gguf", &g, &err) != SA_OK) return 0;
    (void)sa_gguf_find(&g, "general.architecture");
    sa_cvec cv;
    if (sa_cvec_from_gguf(&g, "fuzz.gguf", 0, &cv, &err) == SA_OK) {
        for (size_t i = 0; i < (size_t)cv.n_layers * (size_t)cv.n_embd; i++)
            fz_consume_float(cv.dir[i]);
        sa_cvec_free(&cv);
    }
    sa_gguf_free(&g);
    return 0;
}
