/* test_tokenizer_unit.c: the tokenizer features that the four real tokenizers of
 * test_reference.mjs do not exercise, on small tokenizer.json files written here.
 *
 * Expected pieces follow the behaviour documented (and unit-tested) in Hugging Face tokenizers:
 * Split behaviours on "the-final--countdown", Metaspace prepend schemes and split, Digits,
 * Punctuation, Whitespace, normalizers, added-token lstrip/rstrip/single_word/normalized, BPE
 * unk/fuse_unk/affixes/legacy merges, post-processor and config overrides, decoders, streaming
 * decode, refusal of unsupported components by name, and chat templates for the families without
 * a real config in the reference packages (llama-2, mistral, chatml, qwen2.5). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/check.h"
#include "safearith/tokenizer.h"

static char dir[] = "/tmp/sa-tok-unit-XXXXXX";

/* JSON written with single quotes in C literals: ' becomes ". */
static char *q(const char *s) {
    char *d = strdup(s);
    for (char *p = d; *p; p++)
        if (*p == '\'') *p = '"';
    return d;
}

static void write_file(const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* The vocab: <unk>, printable ASCII one character each, then `words` (NULL-terminated). */
static char *vocab_json(const char *const *words) {
    cJSON *v = cJSON_CreateObject();
    int id = 0;
    cJSON_AddNumberToObject(v, "<unk>", id++);
    for (int c = 0x20; c < 0x7F; c++) {
        char s[2] = {(char)c, 0};
        if (!cJSON_GetObjectItemCaseSensitive(v, s)) cJSON_AddNumberToObject(v, s, id++);
    }
    for (; words && *words; words++)
        if (!cJSON_GetObjectItemCaseSensitive(v, *words)) cJSON_AddNumberToObject(v, *words, id++);
    char *s = cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    return s;
}

typedef struct spec {
    const char *normalizer, *pre, *post, *decoder, *added, *model_extra, *merges, *config;
    const char *const *words;
} spec;

static sa_tokenizer *build(const spec *s, sa_status *st_out, char *msg) {
    char *vocab = vocab_json(s->words);
    char *norm = q(s->normalizer ? s->normalizer : "null"), *pre = q(s->pre ? s->pre : "null");
    char *post = q(s->post ? s->post : "null"), *dec = q(s->decoder ? s->decoder : "null");
    char *added = q(s->added ? s->added : ""),
         *extra = q(s->model_extra ? s->model_extra : "'ignore_merges':true");
    char *merges = q(s->merges ? s->merges : "");
    size_t n = strlen(vocab) + strlen(norm) + strlen(pre) + strlen(post) + strlen(dec) +
               strlen(added) + strlen(extra) + strlen(merges) + 512;
    char *json = malloc(n);
    snprintf(json, n,
             "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[%s],"
             "\"normalizer\":%s,\"pre_tokenizer\":%s,\"post_processor\":%s,\"decoder\":%s,"
             "\"model\":{\"type\":\"BPE\",\"unk_token\":\"<unk>\",%s,\"vocab\":%s,"
             "\"merges\":[%s]}}",
             added, norm, pre, post, dec, extra, vocab, merges);
    write_file("tokenizer.json", json);
    char cfgpath[512];
    snprintf(cfgpath, sizeof cfgpath, "%s/tokenizer_config.json", dir);
    unlink(cfgpath);
    if (s->config) {
        char *c = q(s->config);
        write_file("tokenizer_config.json", c);
        free(c);
    }
    free(vocab), free(norm), free(pre), free(post), free(dec), free(added), free(extra),
        free(merges), free(json);
    sa_tokenizer *t = NULL;
    sa_error err = {0};
    sa_status st = sa_tokenizer_load(dir, &t, &err);
    if (st_out) *st_out = st;
    if (msg) strcpy(msg, err.msg);
    if (st != SA_OK && !st_out) fprintf(stderr, "load failed: %s\n", err.msg);
    return t;
}

/* Pieces of an encoding joined by '|'. */
static char *pieces(sa_tokenizer *t, const char *text, unsigned flags) {
    static char out[4096];
    sa_tokens ids = {0};
    sa_error err;
    out[0] = 0;
    if (!t || sa_tokenizer_encode(t, text, strlen(text), flags, &ids, &err) != SA_OK)
        return strcpy(out, "(error)");
    for (size_t i = 0; i < ids.n; i++) {
        if (i) strcat(out, "|");
        const char *p = sa_tokenizer_id_to_piece(t, ids.ids[i]);
        strncat(out, p ? p : "(null)", sizeof out - strlen(out) - 1);
    }
    sa_tokens_free(&ids);
    return out;
}

#define CHECK_PIECES(t, text, flags, want)                                                         \
    do {                                                                                           \
        const char *got_ = pieces((t), (text), (flags));                                           \
        CHECK_MSG(!strcmp(got_, (want)), "\"%s\": got \"%s\", want \"%s\"", (text), got_, (want)); \
    } while (0)

/* Build the tokenizer of s, check one encoding, free it. */
static void check_built(const spec *s, const char *text, unsigned flags, const char *want) {
    sa_tokenizer *t = build(s, NULL, NULL);
    CHECK_PIECES(t, text, flags, want);
    sa_tokenizer_free(t);
}

static char *decode(sa_tokenizer *t, const char *const *toks, unsigned flags) {
    static char out[1024];
    sa_tokens ids = {0};
    sa_error err;
    for (; *toks; toks++) sa_tokens_push(&ids, sa_tokenizer_piece_to_id(t, *toks), &err);
    char *s;
    size_t n;
    out[0] = 0;
    if (sa_tokenizer_decode(t, ids.ids, ids.n, flags, &s, &n, &err) == SA_OK) {
        snprintf(out, sizeof out, "%s", s);
        free(s);
    }
    sa_tokens_free(&ids);
    return out;
}

static void split_behaviours(void) {
    static const char *const words[] = {"the",    "final",      "countdown", "the-", "final-",
                                        "-final", "-countdown", "--",        NULL};
    static const char *const beh[][2] = {{"Removed", "the|final|countdown"},
                                         {"Isolated", "the|-|final|-|-|countdown"},
                                         {"MergedWithPrevious", "the-|final-|-|countdown"},
                                         {"MergedWithNext", "the|-final|-|-countdown"},
                                         {"Contiguous", "the|-|final|--|countdown"}};
    for (int i = 0; i < 5; i++) {
        char pre[256];
        snprintf(pre, sizeof pre,
                 "{'type':'Split','pattern':{'String':'-'},'behavior':'%s','invert':false}",
                 beh[i][0]);
        spec s = {.pre = pre, .words = words};
        check_built(&s, "the-final--countdown", 0, beh[i][1]);
    }
    spec inv = {
        .pre = "{'type':'Split','pattern':{'Regex':'[a-z]+'},'behavior':'Removed','invert':true}",
        .words = words};
    check_built(&inv, "the-final--countdown", 0, "the|final|countdown");
}

static void other_pretokenizers(void) {
    static const char *const words[] = {"ab",
                                        "123",
                                        "Hey",
                                        " you",
                                        "friend",
                                        "friend!",
                                        "\xe2\x96\x81Hey",
                                        "\xe2\x96\x81"
                                        "friend!",
                                        "\xe2\x96\x81",
                                        NULL};
    /* {pre_tokenizer, text, pieces} */
    static const char *const cases[][3] = {
        {"{'type':'Digits','individual_digits':true}", "ab123c4", "ab|1|2|3|c|4"},
        {"{'type':'Digits','individual_digits':false}", "ab123c4", "ab|123|c|4"},
        {"{'type':'Punctuation','behavior':'Isolated'}", "Hey, you!!", "Hey|,| you|!|!"},
        {"{'type':'Whitespace'}", "Hey  friend!", "Hey|friend|!"},
        {"{'type':'WhitespaceSplit'}", "Hey \t friend! ", "Hey|friend!"},
        {"{'type':'Metaspace','replacement':'\xe2\x96\x81','add_prefix_space':false}", "Hey",
         "Hey"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        spec s = {.pre = cases[i][0], .words = words};
        check_built(&s, cases[i][1], 0, cases[i][2]);
    }
    /* Metaspace: split on the replacement, merged with the next piece; prepend schemes */
    spec m1 = {.pre = "{'type':'Metaspace','replacement':'\xe2\x96\x81','prepend_scheme':'always','"
                      "split':true}",
               .added = "{'id':200,'content':'<x>','single_word':false,'lstrip':false,'rstrip':"
                        "false,'normalized':false,'special':true}",
               .words = words};
    sa_tokenizer *t = build(&m1, NULL, NULL);
    CHECK_PIECES(t, "Hey friend!", 0,
                 "\xe2\x96\x81Hey|\xe2\x96\x81"
                 "friend!");
    CHECK_PIECES(t, "<x>Hey", SA_TOK_PARSE_SPECIAL, "<x>|\xe2\x96\x81Hey");
    sa_tokenizer_free(t);
    spec m2 = {.pre = "{'type':'Metaspace','replacement':'\xe2\x96\x81','prepend_scheme':'first','"
                      "split':false}",
               .added = "{'id':200,'content':'<x>','single_word':false,'lstrip':false,'rstrip':"
                        "false,'normalized':false,'special':true}",
               .words = words};
    t = build(&m2, NULL, NULL);
    CHECK_PIECES(t, "Hey", 0, "\xe2\x96\x81Hey");
    CHECK_PIECES(t, "Hey<x>Hey", SA_TOK_PARSE_SPECIAL, "\xe2\x96\x81Hey|<x>|Hey");
    CHECK_PIECES(t, " Hey", 0, "\xe2\x96\x81Hey");
    sa_tokenizer_free(t);
}

static void normalizers(void) {
    static const char *const words[] = {"h\xc3\xa9llo i\xcc\x87 \xcf\x83\xce\xb1\xcf\x82",
                                        "fi1",
                                        "a b",
                                        "x",
                                        "\xe2\x96\x81hi",
                                        NULL};
    spec lc = {.normalizer = "{'type':'Lowercase'}", .words = words};
    check_built(&lc, "H\xc3\x89LLO \xc4\xb0 \xce\xa3\xce\x91\xce\xa3", 0,
                "h\xc3\xa9llo i\xcc\x87 \xcf\x83\xce\xb1\xcf\x82");
    spec nfkc = {.normalizer = "{'type':'NFKC'}", .words = words};
    check_built(&nfkc, "\xef\xac\x81\xe2\x91\xa0", 0, "fi1"); /* ﬁ① */
    spec seq = {.normalizer = "{'type':'Sequence','normalizers':[{'type':'Strip','strip_left':true,"
                              "'strip_right':true},"
                              "{'type':'Replace','pattern':{'Regex':'\\\\s+'},'content':' '}]}",
                .words = words};
    check_built(&seq, "  a \t\n b  ", 0, "a b");
    spec pre = {
        .normalizer =
            "{'type':'Sequence','normalizers':[{'type':'Prepend','prepend':'\xe2\x96\x81'}]}",
        .words = words};
    sa_tokenizer *t = build(&pre, NULL, NULL);
    CHECK_PIECES(t, "hi", 0, "\xe2\x96\x81hi");
    CHECK_PIECES(t, "", SA_TOK_DEFAULT, "");
    sa_tokenizer_free(t);
}

static void added_tokens(void) {
    static const char *const words[] = {"Hello", "x", "ab", "xab", "hello", "there", NULL};
    spec s = {.pre = "{'type':'WhitespaceSplit'}",
              .normalizer = "{'type':'Lowercase'}",
              .added = "{'id':300,'content':'<mask>','single_word':false,'lstrip':true,'rstrip':"
                       "false,'normalized':false,'special':true},"
                       "{'id':301,'content':'ab','single_word':true,'lstrip':false,'rstrip':false,'"
                       "normalized':false,'special':false},"
                       "{'id':302,'content':'<r>','single_word':false,'lstrip':false,'rstrip':true,"
                       "'normalized':false,'special':true},"
                       "{'id':303,'content':'HELLO','single_word':false,'lstrip':false,'rstrip':"
                       "false,'normalized':true,'special':false},"
                       "{'id':304,'content':'<mask><r>','single_word':false,'lstrip':false,'rstrip'"
                       ":false,'normalized':false,'special':true}",
              .words = words};
    sa_tokenizer *t = build(&s, NULL, NULL);
    /* lstrip: the spaces before <mask> belong to it */
    sa_tokens ids = {0};
    sa_error err;
    sa_tokenizer_encode(t, "x  <mask> x", 11, SA_TOK_PARSE_SPECIAL, &ids, &err);
    CHECK(ids.n == 3 && ids.ids[1] == 300);
    sa_tokens_free(&ids);
    CHECK_PIECES(t, "ab xab ab", SA_TOK_PARSE_SPECIAL, "ab|xab|ab");
    sa_tokenizer_encode(t, "ab xab ab", 9, SA_TOK_PARSE_SPECIAL, &ids, &err);
    CHECK(ids.n == 3 && ids.ids[0] == 301 && ids.ids[1] != 301 && ids.ids[2] == 301);
    sa_tokens_free(&ids);
    /* rstrip swallows following whitespace; longest match wins */
    CHECK_PIECES(t, "<r>   x", SA_TOK_PARSE_SPECIAL, "<r>|x");
    CHECK_PIECES(t, "<mask><r>x", SA_TOK_PARSE_SPECIAL, "<mask><r>|x");
    /* normalized added token matches after lowercasing; a special one is plain text without parsing
     */
    sa_tokenizer_encode(t, "Hello there", 11, SA_TOK_PARSE_SPECIAL, &ids, &err);
    CHECK(ids.n == 2 && ids.ids[0] == 303);
    sa_tokens_free(&ids);
    CHECK_PIECES(t, "<r>", 0, "<|r|>");
    sa_tokenizer_free(t);
}

static void bpe_model(void) {
    /* unk and fuse_unk */
    static const char *const w1[] = {NULL};
    spec u = {.model_extra = "'fuse_unk':true", .words = w1};
    check_built(&u,
                "a\xc3\xa9\xc3\xa9"
                "b",
                0, "a|<unk>|b");
    spec u2 = {.model_extra = "'fuse_unk':false", .words = w1};
    check_built(&u2,
                "a\xc3\xa9\xc3\xa9"
                "b",
                0, "a|<unk>|<unk>|b");
    /* byte fallback: present bytes used, a character with a missing byte becomes unk */
    static const char *const w2[] = {"<0xC3>", "<0xA9>", NULL};
    spec bf = {.model_extra = "'byte_fallback':true", .words = w2};
    check_built(&bf, "\xc3\xa9\xc3\xb1", 0, "<0xC3>|<0xA9>|<unk>");
    /* rank order, ties to the left, both merge serialisations, #version line skipped */
    static const char *const w3[] = {"aa", "aaa", "ab", "abc", "bc", NULL};
    spec r = {.model_extra = "'ignore_merges':false",
              .merges = "'#version: 0.2','a a',['b','c'],'a bc'",
              .words = w3};
    sa_tokenizer *t = build(&r, NULL, NULL);
    CHECK_PIECES(t, "aaa", 0, "aa|a");
    CHECK_PIECES(t, "abc", 0, "abc"); /* b c (rank 1) before a b (no merge), then a bc (rank 2) */
    sa_tokenizer_free(t);
    /* ignore_merges: a word in the vocab wins over what the merges would give */
    static const char *const w4[] = {"aa", "aaa", NULL};
    spec im = {.model_extra = "'ignore_merges':true", .merges = "'a a'", .words = w4};
    check_built(&im, "aaa", 0, "aaa");
    /* continuing_subword_prefix: merge of h + ##e gives he */
    static const char *const w5[] = {"##e", "##y", "he", "hey", NULL};
    spec cp = {.model_extra = "'ignore_merges':false,'continuing_subword_prefix':'##'",
               .merges = "'h ##e','he ##y'",
               .words = w5};
    t = build(&cp, NULL, NULL);
    CHECK_PIECES(t, "hey", 0, "hey");
    CHECK_PIECES(t, "hye", 0, "h|##y|##e");
    sa_tokenizer_free(t);
    /* end_of_word_suffix and the BPE decoder */
    static const char *const w6[] = {"b</w>", "ab</w>", "c</w>", NULL};
    spec ew = {.model_extra = "'ignore_merges':false,'end_of_word_suffix':'</w>'",
               .merges = "'a b</w>'",
               .pre = "{'type':'WhitespaceSplit'}",
               .decoder = "{'type':'BPEDecoder','suffix':'</w>'}",
               .words = w6};
    t = build(&ew, NULL, NULL);
    CHECK_PIECES(t, "ab c", 0, "ab</w>|c</w>");
    static const char *const d6[] = {"ab</w>", "c</w>", NULL};
    CHECK(!strcmp(decode(t, d6, 0), "ab c"));
    sa_tokenizer_free(t);
    /* no unk token and no byte fallback: characters outside the vocabulary are dropped (as in
     * Hugging Face), so a word can give no ids; encoded twice, the second time from the word
     * cache (an empty cache entry once did pointer arithmetic on NULL: fuzz_tokenizer_json) */
    write_file("tokenizer.json",
               "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}");
    sa_error err;
    CHECK(sa_tokenizer_load(dir, &t, &err) == SA_OK);
    for (int k = 0; k < 2 && t; k++) {
        sa_tokens ids = {0};
        CHECK(sa_tokenizer_encode(t, "z", 1, 0, &ids, &err) == SA_OK && ids.n == 0);
        CHECK(sa_tokenizer_encode(t, "za", 2, 0, &ids, &err) == SA_OK && ids.n == 1 &&
              ids.ids[0] == 0);
        sa_tokens_free(&ids);
    }
    sa_tokenizer_free(t);
}

static void post_and_config(void) {
    static const char *const w[] = {"<s>", "</s>", NULL};
    const char *added =
        "{'id':96,'content':'<s>','single_word':false,'lstrip':false,'rstrip':false,'normalized':"
        "false,'special':true},"
        "{'id':97,'content':'</"
        "s>','single_word':false,'lstrip':false,'rstrip':false,'normalized':false,'special':true}";
    const char *post = "{'type':'TemplateProcessing','single':[{'SpecialToken':{'id':'<s>','type_"
                       "id':0}},{'Sequence':{'id':'A','type_id':0}},"
                       "{'SpecialToken':{'id':'</"
                       "s>','type_id':0}}],'pair':[],'special_tokens':{'<s>':{'id':'<s>','ids':[96]"
                       ",'tokens':['<s>']},"
                       "'</s>':{'id':'</s>','ids':[97],'tokens':['</s>']}}}";
    spec s = {.post = post, .added = added, .words = w};
    sa_tokenizer *t = build(&s, NULL, NULL);
    CHECK_PIECES(t, "ab", SA_TOK_DEFAULT, "<s>|a|b|</s>");
    CHECK_PIECES(t, "ab", SA_TOK_PARSE_SPECIAL, "a|b");
    CHECK_EQ_INT(sa_tokenizer_bos_id(t), 96); /* no config: taken from the template */
    sa_tokenizer_free(t);
    spec c = {
        .post = post,
        .added = added,
        .words = w,
        .decoder = "{'type':'Fuse'}",
        .config =
            "{'bos_token':'<s>','eos_token':'</"
            "s>','add_bos_token':true,'add_eos_token':false,'clean_up_tokenization_spaces':true}"};
    t = build(&c, NULL, NULL);
    CHECK_PIECES(t, "ab", SA_TOK_DEFAULT, "<s>|a|b");
    static const char *const d[] = {"a", " ", ".", " ", "n", "'", "t", NULL};
    CHECK(!strcmp(decode(t, d, 0), "a.n't"));
    CHECK(!strcmp(decode(t, d, SA_DECODE_NO_CLEANUP), "a . n't"));
    sa_tokenizer_free(t);
}

/* Streamed pieces of the tokens named in `pieces`, joined, against `want`; with `steps`, also
 * what each step printed, then the flush (the stream holds back only what may still change). */
static void check_stream(sa_tokenizer *t, const char *const *pieces, const char *want,
                         const char *const *steps) {
    sa_tok_stream *st;
    sa_error err;
    CHECK(sa_tok_stream_new(t, 0, &st, &err) == SA_OK);
    char acc[256] = "";
    const char *p;
    size_t n, i;
    for (i = 0; pieces[i]; i++) {
        CHECK_MSG(sa_tok_stream_step(st, sa_tokenizer_piece_to_id(t, pieces[i]), &p, &n, &err) ==
                      SA_OK,
                  "step %zu: %s", i, err.msg);
        CHECK_MSG(!steps || (strlen(steps[i]) == n && !memcmp(steps[i], p, n)),
                  "step %zu printed \"%.*s\", want \"%s\"", i, (int)n, p, steps[i]);
        strncat(acc, p, n);
    }
    CHECK_MSG(sa_tok_stream_flush(st, &p, &n, &err) == SA_OK, "flush: %s", err.msg);
    CHECK_MSG(!steps || (strlen(steps[i]) == n && !memcmp(steps[i], p, n)),
              "flush printed \"%.*s\", want \"%s\"", (int)n, p, steps[i]);
    strncat(acc, p, n);
    CHECK_MSG(!strcmp(acc, want), "streamed \"%s\", want \"%s\"", acc, want);
    sa_tok_stream_free(st);
}

/* ByteLevel pieces are bytes: "\xc3\xa2" (â) is E2, "\xc4\xa4" (Ĥ) 82, "\xc2\xac" (¬) AC,
 * "\xc3\xa0" (à) E0, "\xc4\xa2" (Ģ) 80, "\xc3\xaf" (ï) EF, "\xc2\xbf" (¿) BF, "\xc2\xbd" (½) BD. A
 * character split across tokens prints when complete; bytes that nothing can complete print at
 * once. */
static void stream_byte_level(void) {
    static const char *const w[] = {"\xc3\xa2", "\xc4\xa4", "\xc2\xac", "\xc3\xa0", "\xc4\xa2",
                                    "\xc3\xaf", "\xc2\xbf", "\xc2\xbd", NULL};
    spec s = {.decoder = "{'type':'ByteLevel','add_prefix_space':true,'trim_offsets':true,"
                         "'use_regex':true}",
              .words = w};
    sa_tokenizer *t = build(&s, NULL, NULL);
    static const char *const euro[] = {"\xc3\xa2", "\xc4\xa4", "\xc2\xac", "a", NULL};
    static const char *const euro_steps[] = {"", "", "\xe2\x82\xac", "a", ""};
    check_stream(t, euro,
                 "\xe2\x82\xac"
                 "a",
                 euro_steps);
    /* a lone continuation byte, then a lead byte left open at the end (flushed as U+FFFD) */
    static const char *const junk[] = {"\xc4\xa4", "a", "\xc3\xa2", NULL};
    static const char *const junk_steps[] = {"\xef\xbf\xbd", "a", "", "\xef\xbf\xbd"};
    check_stream(t, junk,
                 "\xef\xbf\xbd"
                 "a\xef\xbf\xbd",
                 junk_steps);
    /* E0 80 is no prefix of a character (E0 needs A0..BF next): two U+FFFD at the second byte */
    static const char *const e0[] = {"\xc3\xa0", "\xc4\xa2", NULL};
    static const char *const e0_steps[] = {"", "\xef\xbf\xbd\xef\xbf\xbd", ""};
    check_stream(t, e0, "\xef\xbf\xbd\xef\xbf\xbd", e0_steps);
    /* a U+FFFD that the model spelled out (EF BF BD) is a character like any other */
    static const char *const fffd[] = {"\xc3\xaf", "\xc2\xbf", "\xc2\xbd", NULL};
    static const char *const fffd_steps[] = {"", "", "\xef\xbf\xbd", ""};
    check_stream(t, fffd, "\xef\xbf\xbd", fffd_steps);
    sa_tokenizer_free(t);
}

static void decoders(void) {
    static const char *const w[] = {
        "<0xE2>", "<0x82>", "<0xAC>", "<0x67>", "\xe2\x96\x81hi", "\xe2\x96\x81\xe2\x96\x81",
        "<s>",    NULL};
    spec s = {.decoder = "{'type':'Sequence','decoders':[{'type':'Replace','pattern':{'String':'"
                         "\xe2\x96\x81'},'content':' '},"
                         "{'type':'ByteFallback'},{'type':'Fuse'},{'type':'Strip','content':' "
                         "','start':1,'stop':0}]}",
              .added = "{'id':150,'content':'<s>','single_word':false,'lstrip':false,'rstrip':"
                       "false,'normalized':false,'special':true}",
              .words = w};
    sa_tokenizer *t = build(&s, NULL, NULL);
    static const char *const euro[] = {"\xe2\x96\x81hi", "<0xE2>", "<0x82>", "<0xAC>", NULL};
    CHECK(!strcmp(decode(t, euro, 0), "hi\xe2\x82\xac"));
    static const char *const broken[] = {"<0xE2>", "<0x82>", "x", NULL};
    CHECK(!strcmp(decode(t, broken, 0), "\xef\xbf\xbd\xef\xbf\xbdx")); /* one U+FFFD per byte */
    /* a run that is not UTF-8 as a whole becomes U+FFFD per byte, "g" included: the stream once
     * printed the "g" before the run ended, then failed (found by fuzz_tokenize) */
    static const char *const g_run[] = {"<0x67>", "<0xE2>", "\xe2\x96\x81hi", NULL};
    CHECK(!strcmp(decode(t, g_run, 0), "\xef\xbf\xbd\xef\xbf\xbd hi"));
    static const char *const g_run_steps[] = {"", "", "\xef\xbf\xbd\xef\xbf\xbd hi", ""};
    check_stream(t, g_run, "\xef\xbf\xbd\xef\xbf\xbd hi", g_run_steps);
    static const char *const g_end[] = {"\xe2\x96\x81hi", "<0x67>", NULL};
    static const char *const g_end_steps[] = {"hi", "", "g"}; /* a run open at the end */
    check_stream(t, g_end, "hig", g_end_steps);
    check_stream(t, euro, "hi\xe2\x82\xac", NULL);
    static const char *const sp[] = {"<s>", "\xe2\x96\x81hi", NULL};
    CHECK(!strcmp(decode(t, sp, SA_DECODE_SKIP_SPECIAL), "hi"));
    CHECK(!strcmp(decode(t, sp, 0), "<s> hi"));
    sa_tokenizer_free(t);
    spec m = {.decoder = "{'type':'Metaspace','replacement':'\xe2\x96\x81','prepend_scheme':'"
                         "always','split':true}",
              .words = w};
    t = build(&m, NULL, NULL);
    static const char *const two[] = {"\xe2\x96\x81hi", "\xe2\x96\x81hi", NULL};
    CHECK(!strcmp(decode(t, two, 0), "hi hi"));
    sa_tokenizer_free(t);
    /* audit of counts: Strip's start and stop beyond int were converted as they came (undefined;
     * the sanitizer build stops); they strip every occurrence there is */
    spec big = {.decoder =
                    "{'type':'Sequence','decoders':[{'type':'Replace','pattern':{'String':"
                    "'\xe2\x96\x81'},'content':' '},{'type':'Fuse'},{'type':'Strip','content':' ',"
                    "'start':1e300,'stop':-1e300}]}",
                .words = w};
    t = build(&big, NULL, NULL);
    CHECK(t && !strcmp(decode(t, two, 0), "hi hi"));
    sa_tokenizer_free(t);
}

static void refusals(void) {
    static const char *const w[] = {NULL};
    struct {
        spec s;
        const char *name;
    } cases[] = {
        {{.normalizer = "{'type':'BertNormalizer'}", .words = w}, "BertNormalizer"},
        {{.pre = "{'type':'BertPreTokenizer'}", .words = w}, "BertPreTokenizer"},
        {{.decoder = "{'type':'WordPiece','prefix':'##'}", .words = w}, "WordPiece"},
        {{.post = "{'type':'BertProcessing','sep':['[SEP]',1],'cls':['[CLS]',0]}", .words = w},
         "BertProcessing"},
        {{.model_extra = "'dropout':0.1", .words = w}, "dropout"},
        {{.pre = "{'type':'Split','pattern':{'String':'-'},'behavior':'Sideways','invert':false}",
          .words = w},
         "Sideways"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sa_status st;
        char msg[SA_ERROR_MSG_MAX];
        sa_tokenizer *t = build(&cases[i].s, &st, msg);
        CHECK(t == NULL && st == SA_EUNSUPPORTED);
        CHECK_MSG(strstr(msg, cases[i].name) != NULL, "'%s' does not name '%s'", msg,
                  cases[i].name);
        sa_tokenizer_free(t);
    }
    write_file("tokenizer.json", "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}");
    sa_tokenizer *t = NULL;
    sa_error err;
    CHECK(sa_tokenizer_load(dir, &t, &err) == SA_EUNSUPPORTED);
    CHECK_MSG(strstr(err.msg, "WordPiece") != NULL, "%s", err.msg);
    /* invalid UTF-8 inside a regex pattern once crashed PCRE2 (found by fuzz_tokenizer_json) */
    write_file("tokenizer.json", "{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":"
                                 "{\"Regex\":\"(?i:'s|\xff\xff\xff't)\"},\"behavior\":"
                                 "\"Isolated\",\"invert\":false},\n"
                                 "\"model\":{\"type\":\"BPE\",\"vocab\":{}}}");
    CHECK(sa_tokenizer_load(dir, &t, &err) == SA_EFORMAT && t == NULL);
    CHECK_MSG(strstr(err.msg, "tokenizer.json: line 1: invalid UTF-8 (byte 0xFF") != NULL, "%s",
              err.msg);
    /* ids beyond what the file can hold: a 26 KB file with id 2e9 once made the loader allocate
     * gigabytes (found by fuzz_tokenizer_json); ids index arrays sized by the largest id */
    static const char *const huge[][2] = {
        {"{'model':{'type':'BPE','vocab':{'a':0,'b':1000000},'merges':[]}}",
         "model.vocab[\"b\"]: id 1000000 is beyond what the file's tokens can use (ids below "
         "1028)"},
        {"{'added_tokens':[{'id':1030,'content':'<s>'}],"
         "'model':{'type':'BPE','vocab':{'a':0,'b':1},'merges':[]}}",
         "added_tokens[0]: id 1030 is beyond what the file's tokens can use (ids below 1030)"},
        {"{'added_tokens':[{'id':1029,'content':'<s>'}],"
         "'model':{'type':'BPE','vocab':{'a':0,'b':1},'merges':[]}}",
         NULL},
        {"{'post_processor':{'type':'TemplateProcessing','single':[{'SpecialToken':{'id':'<s>'}},"
         "{'Sequence':{'id':'A'}}],'special_tokens':{'<s>':{'ids':[1e300]}}},"
         "'model':{'type':'BPE','vocab':{'a':0,'b':1},'merges':[]}}",
         "special token \"<s>\" has an id that is not a valid number"},
        {"{'post_processor':{'type':'TemplateProcessing','single':[{'SpecialToken':{'id':'<s>'}},"
         "{'Sequence':{'id':'A'}}],'special_tokens':{'<s>':{'ids':[7]}}},"
         "'model':{'type':'BPE','vocab':{'a':0,'b':1},'merges':[]}}",
         "special token id 7 is beyond the vocabulary (2 ids)"},
        {"{'model':{'type':'BPE','vocab':{'a':0,'b':2e9},'merges':[]}}",
         "model.vocab[\"b\"]: id 2000000000 is beyond"},
    };
    for (size_t i = 0; i < sizeof huge / sizeof *huge; i++) {
        char *j = q(huge[i][0]);
        write_file("tokenizer.json", j);
        free(j);
        sa_status st = sa_tokenizer_load(dir, &t, &err);
        if (!huge[i][1]) {
            CHECK_MSG(st == SA_OK && sa_tokenizer_vocab_size(t) == 1030, "case %zu: %s", i,
                      err.msg);
        } else {
            CHECK_MSG(st == SA_EFORMAT && t == NULL, "case %zu accepted", i);
            CHECK_MSG(strstr(err.msg, huge[i][1]) != NULL, "case %zu: %s", i, err.msg);
        }
        sa_tokenizer_free(t);
        t = NULL;
    }
    write_file("tokenizer.json", "{\"model\":\n{\"type\":\"BPE\",\n\"vocab\":{");
    CHECK(sa_tokenizer_load(dir, &t, &err) == SA_EFORMAT && t == NULL);
    CHECK_MSG(strstr(err.msg, "tokenizer.json: line 3: not valid JSON") != NULL, "%s", err.msg);
}

/* A byte-level tokenizer without merges: every byte is a token, so characters split across tokens.
 */
static void streaming(void) {
    spec s = {
        .pre = "{'type':'ByteLevel','add_prefix_space':false,'trim_offsets':true,'use_regex':true}",
        .decoder =
            "{'type':'ByteLevel','add_prefix_space':true,'trim_offsets':true,'use_regex':true}",
        .model_extra = "'ignore_merges':false"};
    /* the vocab needs all 256 byte-level characters */
    static char chars[256][4];
    static const char *words[257];
    for (int b = 0, extra = 0; b < 256; b++) {
        int keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        unsigned cp = keep ? (unsigned)b : 256u + (unsigned)extra++;
        if (cp < 0x80)
            chars[b][0] = (char)cp;
        else
            chars[b][0] = (char)(0xC0 | (cp >> 6)), chars[b][1] = (char)(0x80 | (cp & 0x3F));
        words[b] = chars[b];
    }
    words[256] = NULL;
    s.words = words;
    sa_tokenizer *t = build(&s, NULL, NULL);
    const char *text = "a \xe2\x82\xac\xf0\x9f\x98\x80 z\xc3\xa9";
    sa_tokens ids = {0};
    sa_error err;
    CHECK(t && sa_tokenizer_encode(t, text, strlen(text), 0, &ids, &err) == SA_OK);
    CHECK_EQ_INT(ids.n, strlen(text));
    sa_tok_stream *st;
    sa_tok_stream_new(t, 0, &st, &err);
    char acc[256] = "";
    int partial = 0;
    for (size_t i = 0; i < ids.n; i++) {
        const char *piece;
        size_t n;
        CHECK(sa_tok_stream_step(st, ids.ids[i], &piece, &n, &err) == SA_OK);
        partial |= n && strstr(piece, "\xef\xbf\xbd") != NULL;
        strncat(acc, piece, n);
        if (i == 4)
            CHECK(!strcmp(acc, "a \xe2\x82\xac")); /* the euro sign appears with its third byte */
    }
    const char *rest;
    size_t rn;
    sa_tok_stream_flush(st, &rest, &rn, &err);
    strncat(acc, rest, rn);
    CHECK(!partial);
    CHECK(!strcmp(acc, text));
    sa_tok_stream_free(st);
    /* an incomplete character at the end comes out as U+FFFD on flush */
    sa_tok_stream_new(t, 0, &st, &err);
    const char *p;
    size_t n;
    sa_tok_stream_step(st, ids.ids[2], &p, &n, &err);
    CHECK_EQ_INT(n, 0);
    sa_tok_stream_flush(st, &p, &n, &err);
    CHECK(n == 3 && !memcmp(p, "\xef\xbf\xbd", 3));
    sa_tok_stream_free(st);
    sa_tokens_free(&ids);
    sa_tokenizer_free(t);
}

static void chat_templates(void) {
    static const char *const w[] = {"<s>", "</s>", NULL};
    spec s = {.added = "{'id':96,'content':'<s>','single_word':false,'lstrip':false,'rstrip':false,"
                       "'normalized':false,'special':true},"
                       "{'id':97,'content':'</"
                       "s>','single_word':false,'lstrip':false,'rstrip':false,'normalized':false,'"
                       "special':true}",
              .post =
                  "{'type':'TemplateProcessing','single':[{'SpecialToken':{'id':'<s>','type_id':0}}"
                  ",{'Sequence':{'id':'A','type_id':0}}],"
                  "'pair':[],'special_tokens':{'<s>':{'id':'<s>','ids':[96],'tokens':['<s>']}}}",
              .config = "{'bos_token':'<s>','eos_token':'</s>','chat_template':'{{ bos_token "
                        "}}[INST] <<SYS>> {{ x }}'}",
              .words = w};
    sa_tokenizer *t = build(&s, NULL, NULL);
    sa_error err;
    sa_chat_family f;
    CHECK(sa_tokenizer_chat_family(t, &f, &err) == SA_OK && f == SA_CHAT_LLAMA2);
    sa_chat_msg conv[] = {
        {"system", "S"}, {"user", "Hello"}, {"assistant", "Hi there"}, {"user", "Who are you"}};
    char *out = NULL;
    CHECK(sa_chat_render(t, SA_CHAT_LLAMA2, conv, 4, 1, &out, &err) == SA_OK);
    CHECK(out && !strcmp(out, "<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nHello [/INST] Hi there "
                              "</s><s>[INST] Who are you [/INST]"));
    free(out);
    static const struct {
        sa_chat_family f;
        const char *want;
    } mis[] = {
        {SA_CHAT_MISTRAL_V1, "<s>[INST] S\n\nHello [/INST]Hi there</s>[INST] Who are you [/INST]"},
        /* v3 and tekken: the system message goes into the last user turn (the official
         * templates; tekken is also checked against Mistral-Nemo's template by jinja2) */
        {SA_CHAT_MISTRAL_V3, "<s>[INST] Hello[/INST] Hi there</s>[INST] S\n\nWho are you[/INST]"},
        {SA_CHAT_MISTRAL_V3_TEKKEN,
         "<s>[INST]Hello[/INST]Hi there</s>[INST]S\n\nWho are you[/INST]"},
        {SA_CHAT_CHATML, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_"
                         "start|>assistant\nHi there<|im_end|>\n"
                         "<|im_start|>user\nWho are you<|im_end|>\n<|im_start|>assistant\n"},
        {SA_CHAT_RAW, "S\nHello\nHi there\nWho are you"}};
    for (size_t i = 0; i < sizeof mis / sizeof *mis; i++) {
        CHECK(sa_chat_render(t, mis[i].f, conv, 4, 1, &out, &err) == SA_OK);
        CHECK_MSG(out && !strcmp(out, mis[i].want), "%s: got \"%s\"", sa_chat_family_name(mis[i].f),
                  out ? out : "(null)");
        free(out);
    }
    sa_chat_msg one[] = {{"user", "Hi"}};
    CHECK(sa_chat_render(t, SA_CHAT_QWEN25, one, 1, 1, &out, &err) == SA_OK);
    CHECK(out && !strcmp(out, "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are "
                              "a helpful assistant.<|im_end|>\n"
                              "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"));
    free(out);
    /* BOS once: the template writes it, encode must not add another */
    sa_tokens ids = {0};
    CHECK(sa_chat_encode(t, SA_CHAT_LLAMA2, one, 1, 1, &ids, &err) == SA_OK);
    int bos = 0;
    for (size_t i = 0; i < ids.n; i++) bos += ids.ids[i] == 96;
    CHECK_EQ_INT(bos, 1);
    CHECK(ids.n && ids.ids[0] == 96);
    sa_tokens_free(&ids);
    CHECK(sa_chat_encode(t, SA_CHAT_RAW, one, 1, 1, &ids, &err) == SA_OK);
    CHECK(ids.n == 3 && ids.ids[0] == 96);
    sa_tokens_free(&ids);
    /* trimming (as the templates' | trim) stops at bytes that are not UTF-8: "x\t" followed by
     * stray continuation bytes once lost the tab and everything after it (found by fuzz_chat) */
    sa_chat_msg raw[] = {{"user", " x\t\xbc\x80"}, {"user", " y \n"}};
    CHECK(sa_chat_render(t, SA_CHAT_LLAMA2, raw, 1, 0, &out, &err) == SA_OK);
    CHECK_MSG(out && !strcmp(out, "<s>[INST] x\t\xbc\x80 [/INST]"), "got \"%s\"", out);
    free(out);
    CHECK(sa_chat_render(t, SA_CHAT_LLAMA2, raw + 1, 1, 0, &out, &err) == SA_OK);
    CHECK_MSG(out && !strcmp(out, "<s>[INST] y [/INST]"), "got \"%s\"", out);
    free(out);
    /* role errors */
    sa_chat_msg bad[] = {{"user", "a"}, {"user", "b"}};
    CHECK(sa_chat_render(t, SA_CHAT_LLAMA2, bad, 2, 1, &out, &err) == SA_EINVAL);
    CHECK(sa_chat_render(t, SA_CHAT_GEMMA, bad, 2, 1, &out, &err) == SA_EINVAL);
    CHECK(sa_chat_family_from_name("nope", &f, &err) == SA_EINVAL);
    CHECK(strstr(err.msg, "nope") != NULL);
    CHECK(sa_chat_family_from_name("qwen3", &f, &err) == SA_OK && f == SA_CHAT_QWEN3);
    CHECK(sa_chat_family_detect("{{ '[INST]' + m + '[/INST]' }}", &f, &err) == SA_OK &&
          f == SA_CHAT_MISTRAL_V3_TEKKEN);
    CHECK(sa_chat_family_detect("{{ '[INST] ' + m + ' [/INST]' }}", &f, &err) == SA_OK &&
          f == SA_CHAT_MISTRAL_V1);
    CHECK(sa_chat_family_detect("{{ '[INST] ' + m + '[/INST]' }}", &f, &err) == SA_OK &&
          f == SA_CHAT_MISTRAL_V3);
    CHECK(sa_chat_family_detect("Cutting Knowledge Date <|start_header_id|>", &f, &err) == SA_OK &&
          f == SA_CHAT_LLAMA31);
    CHECK(sa_chat_family_detect("{{ messages }}", &f, &err) == SA_EUNSUPPORTED);
    sa_tokenizer_free(t);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    split_behaviours();
    other_pretokenizers();
    normalizers();
    added_tokens();
    bpe_model();
    post_and_config();
    decoders();
    refusals();
    streaming();
    stream_byte_level();
    chat_templates();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return CHECK_DONE();
}
