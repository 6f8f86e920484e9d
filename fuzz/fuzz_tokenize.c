/* fuzz_tokenize.c: any bytes through a fixed tokenizer (SA_FUZZ_TOKENIZER, a model directory;
 * the organisms' by default). The first byte is a mode:
 *   bit 7 set: the rest are little-endian 16-bit ids (some out of range) to decode;
 *   otherwise the rest is text to encode (bit 0: add special tokens, bit 1: parse special-token
 *   text, bit 6: also render and encode it as a user turn with the tokenizer's chat template),
 *   and the ids are decoded back.
 * Every id an encoding gives must be in the vocabulary, and decoding ids in steps (the streaming
 * decoder) must give exactly what decoding them at once gives (bit 2: skipping special tokens). */
#include "fuzz_util.h"
#include "fuzz_tokenizer.h"

static sa_tokenizer *tok;
static sa_chat_family family = SA_CHAT_RAW;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    tok = fz_load_tokenizer("fuzz_tokenize");
    if (sa_tokenizer_chat_family(tok, &family, NULL) != SA_OK) family = SA_CHAT_RAW;
    return 0;
}

/* Decoding in steps equals decoding at once (the stream never applies the cleanup). */
static void check_decode(const int32_t *ids, size_t n, unsigned flags) {
    char *whole;
    size_t len;
    if (sa_tokenizer_decode(tok, ids, n, flags | SA_DECODE_NO_CLEANUP, &whole, &len, NULL) != SA_OK)
        return;
    sa_tok_stream *st;
    if (sa_tok_stream_new(tok, flags, &st, NULL) != SA_OK) abort();
    char *cat = malloc(len + 1);
    size_t got = 0;
    for (size_t i = 0; i <= n; i++) {
        const char *t;
        size_t l;
        sa_status s = i < n ? sa_tok_stream_step(st, ids[i], &t, &l, NULL)
                            : sa_tok_stream_flush(st, &t, &l, NULL);
        if (s != SA_OK || got + l > len) abort(); /* decode accepted what the stream refuses */
        memcpy(cat + got, t, l);
        got += l;
    }
    if (got != len || memcmp(cat, whole, len)) abort();
    sa_tok_stream_free(st);
    free(cat);
    free(whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    unsigned mode = data[0], dflags = mode & 4 ? SA_DECODE_SKIP_SPECIAL : 0;
    data++, size--;
    if (mode & 0x80) {
        size_t n = size / 2, vocab = sa_tokenizer_vocab_size(tok);
        int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
        for (size_t i = 0; i < n; i++)
            ids[i] = (int32_t)((data[2 * i] | data[2 * i + 1] << 8) % (vocab + 8)) - 4;
        check_decode(ids, n, dflags);
        free(ids);
        return 0;
    }
    sa_tokens t = {0};
    unsigned eflags = (mode & 1 ? SA_TOK_ADD_SPECIAL : 0) | (mode & 2 ? SA_TOK_PARSE_SPECIAL : 0);
    if (sa_tokenizer_encode(tok, (const char *)data, size, eflags, &t, NULL) == SA_OK) {
        for (size_t i = 0; i < t.n; i++)
            if (t.ids[i] < 0 || (size_t)t.ids[i] >= sa_tokenizer_vocab_size(tok)) abort();
        check_decode(t.ids, t.n, dflags);
    }
    sa_tokens_free(&t);
    if (mode & 0x40) {
        char *text = fz_text(data, size);
        sa_chat_msg msg = {"user", text};
        sa_tokens c = {0};
        (void)sa_chat_encode(tok, family, &msg, 1, 1, &c, NULL);
        sa_tokens_free(&c);
        free(text);
    }
    return 0;
}
