/* tok_regex.c: PCRE2 patterns for Split pre-tokenizers and Replace normalizers.
 *
 * Patterns from tokenizer.json are Oniguruma/Rust regexes; the ones used in practice (GPT-2,
 * Llama-3, Qwen2 splitters with \p{L}, \p{N}, \s, (?i:...) and lookahead) mean the same in PCRE2
 * compiled with PCRE2_UTF | PCRE2_UCP, where \s is Unicode White_Space as in Oniguruma. Patterns
 * are JIT-compiled: the splitter dominates encoding time. */
#include <string.h>

#include "tokenizer/tok_internal.h"

sa_status tok_regex_compile(const char *pattern, int literal, pcre2_code **out, sa_error *err) {
    int ec;
    PCRE2_SIZE eo;
    uint32_t opts = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, opts, &ec, &eo, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        return sa_error_set(err, SA_EUNSUPPORTED, "regex \"%.80s\" at offset %zu: %s", pattern,
                            (size_t)eo, (char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if unavailable */
    *out = re;
    return SA_OK;
}

int tok_regex_next(const pcre2_code *re, const char *s, size_t n, size_t start,
                   pcre2_match_data *md, size_t *ms, size_t *me) {
    while (start <= n) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, n, start, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc < 0) return 0;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (ov[1] > ov[0]) {
            *ms = ov[0];
            *me = ov[1];
            return 1;
        }
        /* empty match: move one character on */
        start = ov[0] + 1;
        while (start < n && ((unsigned char)s[start] & 0xC0) == 0x80) start++;
    }
    return 0;
}
