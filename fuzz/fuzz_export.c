/* fuzz_export.c: the GGUF export round trip, with the tokenizer as the fuzzed input. The input is
 * tokenizer.json, a NUL, then tokenizer_config.json; they go beside the sft organism's config and
 * weights (SA_FUZZ_MODELS). sa_gguf_export must either refuse with a message and leave no file,
 * or write a GGUF that sa_gguf_read accepts and that holds what the export promises: 39 tensors,
 * the embedding's F32 values unchanged, one token per embedding row, a known tokenizer model and
 * token types 1..6. */
#include "fuzz_util.h"
#include "safearith/gguf.h"
#include "safearith/gguf_export.h"
#include "safearith/safetensors.h"

static char model_dir[256];

static void copy(const char *from, const char *to) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    if (system(cmd) != 0) abort();
}

static void setup(void) {
    if (model_dir[0]) return;
    char tmp[256];
    copy(SA_FUZZ_MODELS "/sft/config.json", fz_path_keep("model/config.json", tmp));
    copy(SA_FUZZ_MODELS "/sft/model.safetensors", fz_path("model/model.safetensors"));
    snprintf(model_dir, sizeof model_dir, "%s", fz_path("model"));
}

/* The exported file against the source: any violation aborts (a finding). */
static void check_output(const char *out) {
    sa_gguf g;
    sa_error err;
    if (sa_gguf_read(out, &g, &err) != SA_OK) abort();
    if (g.n_tensors != 39) abort();
    const sa_gguf_kv *tok = sa_gguf_find(&g, "tokenizer.ggml.tokens");
    const sa_gguf_kv *typ = sa_gguf_find(&g, "tokenizer.ggml.token_type");
    const sa_gguf_kv *model = sa_gguf_find(&g, "tokenizer.ggml.model");
    if (!tok || tok->count != 1024 || !typ || typ->count != 1024 || !model) abort();
    if (strcmp(model->str, "gpt2") && strcmp(model->str, "llama")) abort();
    for (uint64_t i = 0; i < typ->count; i++)
        if (typ->arr[i] < 1 || typ->arr[i] > 6) abort();
    sa_checkpoint *ck;
    if (sa_ckpt_open(model_dir, &ck, &err) != SA_OK) abort();
    const sa_st_tensor *src = sa_ckpt_find(ck, "model.embed_tokens.weight");
    int found = 0;
    for (uint64_t i = 0; i < g.n_tensors; i++)
        if (!strcmp(g.tensors[i].name, "token_embd.weight")) {
            found = 1;
            if (g.tensors[i].nbytes != src->nbytes ||
                memcmp(g.tensors[i].data, src->data, src->nbytes))
                abort();
        }
    if (!found) abort();
    sa_ckpt_close(ck);
    sa_gguf_free(&g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    const uint8_t *rest;
    size_t rest_n, n = fz_split(data, size, &rest, &rest_n);
    char tj[256], tc[256], out[256];
    fz_path_keep("model/tokenizer.json", tj);
    fz_path_keep("model/tokenizer_config.json", tc);
    fz_path_keep("out.gguf", out);
    FILE *f = fopen(tj, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f)) abort();
    unlink(tc);
    if (rest_n) {
        f = fopen(tc, "wb");
        if (!f || fwrite(rest, 1, rest_n, f) != rest_n || fclose(f)) abort();
    }
    unlink(out);
    sa_gguf_export_opts o = {.type = SA_GGUF_FT_SOURCE, .overwrite = 1};
    sa_error err;
    sa_status st = sa_gguf_export(model_dir, out, &o, NULL, &err);
    if (st == SA_OK)
        check_output(out);
    else if (!err.msg[0] || access(out, F_OK) == 0)
        abort(); /* a refusal says why and leaves nothing */
    return 0;
}
