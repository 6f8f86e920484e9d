/* fuzz_tokenizer_json.c: any file loaded as a tokenizer.json either fails with an error or gives
 * a tokenizer that encodes and decodes a fixed text without fault. */
#include "fuzz_util.h"
#include "safearith/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write("tokenizer.json", data, size);
    sa_tokenizer *tok;
    sa_error err;
    if (sa_tokenizer_load_files(path, NULL, &tok, &err) != SA_OK) {
        if (!err.msg[0]) abort();
        return 0;
    }
    static const char text[] = "Hello, w\xc3\xb6rld! 123 <s>\n\t end";
    sa_tokens t = {0};
    if (sa_tokenizer_encode(tok, text, sizeof text - 1, SA_TOK_DEFAULT, &t, NULL) == SA_OK) {
        char *back;
        if (sa_tokenizer_decode(tok, t.ids, t.n, 0, &back, NULL, NULL) == SA_OK) free(back);
    }
    sa_tokens_free(&t);
    sa_tokenizer_free(tok);
    return 0;
}
