/* fuzz_chat.c: any conversation rendered with any chat family either is refused with a message
 * (roles the family cannot express) or renders to a text that holds every message's content
 * (trimmed: the Llama-3 templates trim it).
 * Input: a mode byte (family = mode % SA_CHAT_N_FAMILIES; bit 7: add the generation prompt),
 * then messages separated by NUL bytes, each a role byte (0 system, 1 user, 2 assistant) and
 * its content. Rendering uses the organisms' tokenizer (SA_FUZZ_TOKENIZER to change it). */
#include "fuzz_util.h"
#include "fuzz_tokenizer.h"

static sa_tokenizer *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    tok = fz_load_tokenizer("fuzz_chat");
    return 0;
}

/* Python's whitespace (what str.strip drops), as UTF-8. */
static const char *const py_ws[] = {" ",
                                    "\t",
                                    "\n",
                                    "\v",
                                    "\f",
                                    "\r",
                                    "\x1c",
                                    "\x1d",
                                    "\x1e",
                                    "\x1f",
                                    "\xc2\x85",
                                    "\xc2\xa0",
                                    "\xe1\x9a\x80",
                                    "\xe2\x80\x80",
                                    "\xe2\x80\x81",
                                    "\xe2\x80\x82",
                                    "\xe2\x80\x83",
                                    "\xe2\x80\x84",
                                    "\xe2\x80\x85",
                                    "\xe2\x80\x86",
                                    "\xe2\x80\x87",
                                    "\xe2\x80\x88",
                                    "\xe2\x80\x89",
                                    "\xe2\x80\x8a",
                                    "\xe2\x80\xa8",
                                    "\xe2\x80\xa9",
                                    "\xe2\x80\xaf",
                                    "\xe2\x81\x9f",
                                    "\xe3\x80\x80"};

/* Length of the whitespace character s[0..n) starts (at_end: ends) with, or 0. */
static size_t ws_len(const char *s, size_t n, int at_end) {
    for (size_t i = 0; i < sizeof py_ws / sizeof *py_ws; i++) {
        size_t k = strlen(py_ws[i]);
        if (k <= n && !memcmp(at_end ? s + n - k : s, py_ws[i], k)) return k;
    }
    return 0;
}

/* Whether out holds s without its surrounding whitespace (the Llama-3 templates trim). */
static int contains_trimmed(const char *out, const char *s) {
    size_t n = strlen(s), k;
    while ((k = ws_len(s, n, 0)) != 0) s += k, n -= k;
    while ((k = ws_len(s, n, 1)) != 0) n -= k;
    if (!n) return 1;
    for (const char *p = out; (p = strchr(p, s[0])) != NULL; p++)
        if (!strncmp(p, s, n)) return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    static const char *const roles[] = {"system", "user", "assistant"};
    sa_chat_family f = (sa_chat_family)(data[0] % SA_CHAT_N_FAMILIES);
    int gen = data[0] >> 7;
    char *text = fz_text(data + 1, size - 1);
    sa_chat_msg msgs[16];
    size_t n = 0;
    for (char *p = text; p < text + size - 1 && n < 16; p += strlen(p) + 1) {
        msgs[n].role = roles[(unsigned char)*p % 3];
        msgs[n].content = *p ? p + 1 : p;
        n++;
    }
    char *out;
    sa_error err;
    if (sa_chat_render(tok, f, msgs, n, gen, &out, &err) == SA_OK) {
        /* qwen3 drops old <think> parts; a system message has nowhere to go when no turn
         * follows it in the families that fold it into the first user turn, or when the last
         * turn is not the user's in mistral v3 and tekken (as in their templates) */
        int last_user = n && !strcmp(msgs[n - 1].role, "user");
        int v3 = f == SA_CHAT_MISTRAL_V3 || f == SA_CHAT_MISTRAL_V3_TEKKEN;
        for (size_t i = 0; i < n && f != SA_CHAT_QWEN3; i++)
            if ((strcmp(msgs[i].role, "system") || (i + 1 < n && (!v3 || last_user))) &&
                !contains_trimmed(out, msgs[i].content)) {
                fprintf(stderr, "message %zu (%s) lost; rendered:\n%s\n", i, msgs[i].role, out);
                abort();
            }
        free(out);
        sa_tokens t = {0};
        (void)sa_chat_encode(tok, f, msgs, n, gen, &t, NULL);
        sa_tokens_free(&t);
    } else if (!err.msg[0])
        abort();
    free(text);
    return 0;
}
