/* tok_gguf.c: a Hugging Face tokenizer as llama.cpp's GGUF vocabulary (see tok_gguf.h).
 *
 * llama.cpp knows two tokenizer families that cover Llama, Mistral and Qwen2:
 *   gpt2   byte-level BPE: tokens in the byte-to-unicode alphabet ("Ġthe"), ranked merges
 *          "a b", and a pre-tokenizer chosen by *name* (tokenizer.ggml.pre) from regexes
 *          compiled into llama.cpp. We name it by recognising tokenizer.json's pre-tokenizer:
 *          GPT-2's ByteLevel regex is "gpt-2"; a Split on Llama-3's regex "llama-bpe", on
 *          Qwen2's "qwen2", on Tekken's "tekken". llama.cpp applies no normalizer: NFC (Qwen2)
 *          is accepted (ids differ only on text that is not in NFC already); others are refused.
 *   llama  SentencePiece-style BPE with byte fallback (<0xXX> tokens): llama.cpp merges the
 *          adjacent pair whose joined text is a token with the highest score. tokenizer.json has
 *          ranked merges instead of scores, so a token made by merge rank r gets score -(r+1)
 *          (the earliest merge wins, as in HF), single characters, bytes and added tokens 0, and
 *          any other token -1e9 (HF's merges never produce it). The leading space is
 *          add_space_prefix (the legacy Prepend("▁") normalizer, or Metaspace).
 * Token types: 1 normal, 2 unknown, 3 control (special added tokens, added tokens that look like
 * control tokens, and the end-of-generation texts llama.cpp forces to control anyway, such as a
 * Qwen vocabulary's ordinary "</s>": llama.cpp matches those as one token in text and stops
 * generation on them, which Hugging Face does not), 4 user-defined (other added tokens),
 * 5 unused (ids without a token, written "[PADn]"), 6 byte (<0xXX>, llama). */
#include "tokenizer/tok_gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER = 4, TT_UNUSED = 5, TT_BYTE = 6 };

#define LLAMA3_RE                                                                                  \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "                     \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define QWEN2_RE                                                                                   \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "                          \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define TEKKEN_RE                                                                                  \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^" \
    "\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{" \
    "N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* Split regexes llama.cpp implements under a name, with its ignore_merges for that name. */
static const struct {
    const char *name, *regex;
    int ignore_merges;
} known_splits[] = {{"llama-bpe", LLAMA3_RE, 1}, {"qwen2", QWEN2_RE, 0}, {"tekken", TEKKEN_RE, 1}};

/* Every tokenizer.ggml.pre value the llama.cpp this project builds (scripts/llamacpp.sh) loads. */
static const char *const llamacpp_pre_names[] = {"default",
                                                 "minicpm5",
                                                 "llama3",
                                                 "llama-v3",
                                                 "llama-bpe",
                                                 "falcon3",
                                                 "falcon-h1",
                                                 "pixtral",
                                                 "midm-2.0",
                                                 "lfm2",
                                                 "jina-v5-nano",
                                                 "deepseek-llm",
                                                 "deepseek-coder",
                                                 "deepseek-v3",
                                                 "spark2_5",
                                                 "youtu",
                                                 "falcon",
                                                 "mpt",
                                                 "starcoder",
                                                 "gpt-2",
                                                 "phi-2",
                                                 "jina-es",
                                                 "jina-de",
                                                 "gigachat",
                                                 "jina-v2-es",
                                                 "jina-v2-de",
                                                 "a.x-4.0",
                                                 "mellum",
                                                 "modern-bert",
                                                 "jais-2",
                                                 "gemma4",
                                                 "granite-embed-multi-311m",
                                                 "sarvam-moe",
                                                 "jina-v1-en",
                                                 "jina-v2-code",
                                                 "roberta-bpe",
                                                 "whitespace",
                                                 "refact",
                                                 "command-r",
                                                 "qwen2",
                                                 "deepseek-r1-qwen",
                                                 "kormo",
                                                 "f2llmv2",
                                                 "qwen35",
                                                 "stablelm2",
                                                 "olmo",
                                                 "dbrx",
                                                 "smaug-bpe",
                                                 "poro-chat",
                                                 "glm4",
                                                 "chatglm-bpe",
                                                 "viking",
                                                 "jais",
                                                 "tekken",
                                                 "smollm",
                                                 "codeshell",
                                                 "bloom",
                                                 "gpt3-finnish",
                                                 "exaone",
                                                 "exaone4",
                                                 "exaone-moe",
                                                 "chameleon",
                                                 "minerva-7b",
                                                 "megrez",
                                                 "gpt-4o",
                                                 "llama4",
                                                 "kanana2",
                                                 "talkie",
                                                 "granite-embed-multi-97m",
                                                 "tiny_aya",
                                                 "cohere2moe",
                                                 "superbpe",
                                                 "trillion",
                                                 "granite-docling",
                                                 "bailingmoe",
                                                 "bailingmoe2",
                                                 "llada-moe",
                                                 "seed-coder",
                                                 "hunyuan",
                                                 "hunyuan-dense",
                                                 "hy_v4",
                                                 "joyai-llm",
                                                 "kimi-k2",
                                                 "ufakzeka",
                                                 "grok-2",
                                                 "afmoe",
                                                 "laguna",
                                                 "minimax-m2",
                                                 "solar-open",
                                                 "mellum2"};

static sa_status refuse(const tok_gguf_opts *o, sa_error *err, const char *what) {
    return sa_error_set(err, SA_EUNSUPPORTED, "%s/tokenizer.json: %s", o->where, what);
}

static const tok_pretok *find_bytelevel(const tok_pretok *p) {
    if (!p) return NULL;
    if (p->type == TOK_PRE_BYTELEVEL) return p;
    if (p->type == TOK_PRE_SEQUENCE)
        for (size_t i = 0; i < p->n_kids; i++)
            if (p->kids[i]->type == TOK_PRE_BYTELEVEL) return p->kids[i];
    return NULL;
}

/* The pre-tokenizer's llama.cpp name, or an error naming what has none. */
static sa_status byte_level_pre(const sa_tokenizer *t, const tok_gguf_opts *o, const char **pre,
                                sa_error *err) {
    const tok_pretok *p = t->pretok, *bl = find_bytelevel(p);
    char msg[600];
    if (bl->add_prefix_space)
        return refuse(o, err, "ByteLevel add_prefix_space=true has no llama.cpp equivalent");
    if (p == bl && bl->use_regex) {
        *pre = "gpt-2";
        return SA_OK;
    }
    if (p->type == TOK_PRE_SEQUENCE && p->n_kids == 2 && p->kids[1] == bl && !bl->use_regex &&
        p->kids[0]->type == TOK_PRE_SPLIT && !p->kids[0]->literal && !p->kids[0]->invert &&
        p->kids[0]->behavior == TOK_SPLIT_ISOLATED) {
        for (size_t i = 0; i < sizeof known_splits / sizeof known_splits[0]; i++)
            if (!strcmp(p->kids[0]->pattern, known_splits[i].regex)) {
                if (known_splits[i].ignore_merges != t->bpe.ignore_merges) {
                    snprintf(msg, sizeof msg,
                             "model.ignore_merges=%s differs from llama.cpp's '%s' (pass --pre "
                             "NAME to export anyway)",
                             t->bpe.ignore_merges ? "true" : "false", known_splits[i].name);
                    return refuse(o, err, msg);
                }
                *pre = known_splits[i].name;
                return SA_OK;
            }
        snprintf(msg, sizeof msg,
                 "pre_tokenizer Split regex '%.300s' has no llama.cpp pre-tokenizer name (pass "
                 "--pre NAME to choose one)",
                 p->kids[0]->pattern);
        return refuse(o, err, msg);
    }
    return refuse(o, err,
                  "pre_tokenizer is not ByteLevel alone or Split(regex)+ByteLevel: llama.cpp has "
                  "no name for it (pass --pre NAME to choose one)");
}

static int is_legacy_spm_normalizer(const tok_normalizer *n) {
    return n && n->type == TOK_NORM_SEQUENCE && n->n_kids == 2 &&
           n->kids[0]->type == TOK_NORM_PREPEND && !strcmp(n->kids[0]->str, "\xE2\x96\x81") &&
           n->kids[1]->type == TOK_NORM_REPLACE && n->kids[1]->str &&
           !strcmp(n->kids[1]->str, " ") && !strcmp(n->kids[1]->content, "\xE2\x96\x81");
}

/* SentencePiece-style: the normalizer or pre-tokenizer llama.cpp's "llama" tokenizer mirrors;
 * sets *space_prefix. */
static sa_status spm_check(const sa_tokenizer *t, const tok_gguf_opts *o, int *space_prefix,
                           sa_error *err) {
    const tok_pretok *p = t->pretok;
    if (!t->normalizer && p && p->type == TOK_PRE_METASPACE &&
        !strcmp(p->replacement, "\xE2\x96\x81") && !p->split) {
        *space_prefix = p->prepend != TOK_PREPEND_NEVER;
        return SA_OK;
    }
    if (!p && is_legacy_spm_normalizer(t->normalizer)) {
        *space_prefix = 1;
        return SA_OK;
    }
    if (!p && !t->normalizer) {
        *space_prefix = 0;
        return SA_OK;
    }
    return refuse(o, err,
                  "byte-fallback BPE with a normalizer/pre_tokenizer other than "
                  "Prepend+Replace('▁') or Metaspace('▁', split=false): no llama.cpp equivalent");
}

/* Which family; refuses what neither reproduces. */
static sa_status classify(const sa_tokenizer *t, const tok_gguf_opts *o, tok_gguf_info *info,
                          int *space_prefix, sa_error *err) {
    if (t->bpe.cont_prefix || t->bpe.eow_suffix)
        return refuse(o, err, "continuing_subword_prefix / end_of_word_suffix (not in llama.cpp)");
    if (find_bytelevel(t->pretok) && !t->bpe.byte_fallback) {
        if (t->normalizer && t->normalizer->type != TOK_NORM_NFC)
            return refuse(o, err,
                          "a normalizer other than NFC on a byte-level BPE (llama.cpp "
                          "applies none)");
        info->model = "gpt2";
        if (o->pre) {
            info->pre = o->pre;
            return SA_OK;
        }
        return byte_level_pre(t, o, &info->pre, err);
    }
    if (t->bpe.byte_fallback && !find_bytelevel(t->pretok)) {
        if (o->pre) return refuse(o, err, "--pre applies to byte-level BPE tokenizers only");
        for (int b = 0; b < 256; b++)
            if (t->bpe.byte_ids[b] < 0) {
                char msg[120];
                snprintf(msg, sizeof msg, "byte-fallback vocabulary lacks <0x%02X>", b);
                return refuse(o, err, msg);
            }
        info->model = "llama";
        return spm_check(t, o, space_prefix, err);
    }
    return refuse(o, err,
                  "neither byte-level BPE nor byte-fallback BPE: no llama.cpp tokenizer family");
}

static int is_single_char(const char *s) {
    size_t n = strlen(s);
    unsigned char c = (unsigned char)s[0];
    size_t want = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    return n == want;
}

/* Merges in rank order as "a b" (gpt2), or scores from the ranks (llama). */
typedef struct merge_row {
    uint32_t rank;
    int32_t a, b, m;
} merge_row;

static int cmp_rank(const void *x, const void *y) {
    const merge_row *a = x, *b = y;
    return a->rank < b->rank ? -1 : a->rank > b->rank;
}

static merge_row *sorted_merges(const tok_pairmap *pm, size_t *n) {
    merge_row *r = malloc((pm->n ? pm->n : 1) * sizeof *r);
    if (!r) return NULL;
    *n = 0;
    for (size_t i = 0; i <= pm->mask; i++)
        if (pm->keys[i]) {
            uint64_t k = pm->keys[i] - 1;
            r[(*n)++] = (merge_row){pm->rank[i], (int32_t)(k >> 32), (int32_t)(k & 0xffffffffu),
                                    pm->merged[i]};
        }
    qsort(r, *n, sizeof *r, cmp_rank);
    return r;
}

static sa_status write_merges(const sa_tokenizer *t, sa_gguf_writer *w, sa_error *err) {
    size_t n = 0;
    merge_row *r = sorted_merges(&t->bpe.merges, &n);
    char **s = calloc(n ? n : 1, sizeof *s);
    sa_status st = r && s ? SA_OK : sa_error_set(err, SA_ENOMEM, "out of memory (merges)");
    for (size_t i = 0; !st && i < n; i++) {
        const char *a = t->bpe.id_to_tok[r[i].a], *b = t->bpe.id_to_tok[r[i].b];
        if (!(s[i] = malloc(strlen(a) + strlen(b) + 2)))
            st = sa_error_set(err, SA_ENOMEM, "out of memory (merges)");
        else
            sprintf(s[i], "%s %s", a, b);
    }
    if (!st && sa_gguf_w_str_array(w, "tokenizer.ggml.merges", (const char *const *)s, n))
        st = sa_error_set(err, SA_ENOMEM, "out of memory (merges)");
    for (size_t i = 0; s && i < n; i++) free(s[i]);
    free(s), free(r);
    return st;
}

static sa_status write_scores(const sa_tokenizer *t, int n_tok, const char *const *tok,
                              const int32_t *type, sa_gguf_writer *w, sa_error *err) {
    size_t n = 0;
    merge_row *r = sorted_merges(&t->bpe.merges, &n);
    float *score = malloc((size_t)n_tok * sizeof *score);
    sa_status st = r && score ? SA_OK : sa_error_set(err, SA_ENOMEM, "out of memory (scores)");
    for (int i = 0; !st && i < n_tok; i++)
        score[i] = type[i] != TT_NORMAL || is_single_char(tok[i]) ? 0.0f : -1e9f;
    for (size_t i = n; !st && i-- > 0;) /* earliest rank last: it wins */
        if (r[i].m >= 0 && r[i].m < n_tok) score[r[i].m] = -(float)r[i].rank - 1.0f;
    if (!st && sa_gguf_w_f32_array(w, "tokenizer.ggml.scores", score, (uint64_t)n_tok))
        st = sa_error_set(err, SA_ENOMEM, "out of memory (scores)");
    free(score), free(r);
    return st;
}

/* Token texts llama.cpp makes end-of-generation control tokens whatever their type (warning on
 * load when the file says otherwise): this llama.cpp's list (llama-vocab.cpp). */
static const char *const llamacpp_eog_texts[] = {"<|eot_id|>",
                                                 "<|im_end|>",
                                                 "<|end|>",
                                                 "<|return|>",
                                                 "<|call|>",
                                                 "<|flush|>",
                                                 "<|calls|>",
                                                 "<end_of_turn>",
                                                 "<|endoftext|>",
                                                 "</s>",
                                                 "<|eom_id|>",
                                                 "<EOT>",
                                                 "_<EOT>",
                                                 "[EOT]",
                                                 "[EOS]",
                                                 "<|end_of_text|>",
                                                 "<end_of_utterance>",
                                                 "<eos>",
                                                 "<turn|>",
                                                 "<|tool_response>",
                                                 "<｜end▁of▁sentence｜>",
                                                 "[e~["};

/* Control: what llama.cpp's converter marks so (special added tokens, and added tokens that look
 * like control tokens, "<|...|>" or "<｜...｜>") and what llama.cpp itself forces to control. */
static int is_control(const sa_tokenizer *t, const char *s, int32_t id) {
    size_t n = strlen(s);
    if (t->added_by_id[id] >= 0 &&
        (t->added[t->added_by_id[id]].special ||
         (n >= 4 && !strncmp(s, "<|", 2) && !strcmp(s + n - 2, "|>")) ||
         (n >= 8 && !strncmp(s, "<\xEF\xBD\x9C", 4) && !strcmp(s + n - 4, "\xEF\xBD\x9C>"))))
        return 1;
    for (size_t i = 0; i < sizeof llamacpp_eog_texts / sizeof llamacpp_eog_texts[0]; i++)
        if (!strcmp(s, llamacpp_eog_texts[i])) return 1;
    return 0;
}

static int32_t token_type(const sa_tokenizer *t, int32_t id, const char *text, int spm) {
    if (id == t->unk_id) return TT_UNKNOWN;
    if (is_control(t, text, id)) return TT_CONTROL;
    if (t->added_by_id[id] >= 0) return TT_USER;
    if (spm)
        for (int b = 0; b < 256; b++)
            if (t->bpe.byte_ids[b] == id) return TT_BYTE;
    return TT_NORMAL;
}

/* tokens, token_type (and holes as [PADn]); the caller frees *names' padding strings. */
static sa_status write_tokens(const sa_tokenizer *t, const tok_gguf_opts *o, int spm,
                              sa_gguf_writer *w, sa_error *err) {
    int n = o->vocab_size;
    const char **tok = calloc((size_t)n, sizeof *tok);
    char **pads = calloc((size_t)n, sizeof *pads);
    int32_t *type = calloc((size_t)n, sizeof *type);
    sa_status st = tok && pads && type ? SA_OK : sa_error_set(err, SA_ENOMEM, "out of memory");
    for (int i = 0; !st && i < n; i++) {
        tok[i] = sa_tokenizer_id_to_piece(t, i);
        type[i] = tok[i] ? token_type(t, i, tok[i], spm) : TT_UNUSED;
        if (tok[i] && !tok[i][0]) {
            char msg[80];
            snprintf(msg, sizeof msg, "token %d is the empty string", i);
            st = refuse(o, err, msg);
        } else if (!tok[i]) {
            if ((pads[i] = malloc(24)))
                snprintf(pads[i], 24, "[PAD%d]", i), tok[i] = pads[i];
            else
                st = sa_error_set(err, SA_ENOMEM, "out of memory");
        }
    }
    if (!st && (sa_gguf_w_str_array(w, "tokenizer.ggml.tokens", tok, (uint64_t)n) ||
                sa_gguf_w_i32_array(w, "tokenizer.ggml.token_type", type, (uint64_t)n)))
        st = sa_error_set(err, SA_ENOMEM, "out of memory (tokens)");
    if (!st) st = spm ? write_scores(t, n, tok, type, w, err) : write_merges(t, w, err);
    for (int i = 0; pads && i < n; i++) free(pads[i]);
    free(pads), free(tok), free(type);
    return st;
}

/* add_bos / add_eos: what the post-processor adds must be one BOS before, one EOS after. */
static sa_status special_ids(const sa_tokenizer *t, const tok_gguf_opts *o, sa_gguf_writer *w,
                             sa_error *err) {
    int32_t bos = t->bos_id >= 0 ? t->bos_id : o->cfg_bos;
    int32_t eos = t->eos_id >= 0 ? t->eos_id : o->cfg_eos;
    if (t->n_pre > 1 || (t->n_pre == 1 && t->pre_ids[0] != bos))
        return refuse(o, err, "post_processor adds tokens before the text other than one BOS");
    if (t->n_post > 1 || (t->n_post == 1 && t->post_ids[0] != eos))
        return refuse(o, err, "post_processor adds tokens after the text other than one EOS");
    const struct {
        const char *key;
        int32_t id;
    } ids[] = {{"tokenizer.ggml.bos_token_id", bos},
               {"tokenizer.ggml.eos_token_id", eos},
               {"tokenizer.ggml.unknown_token_id", t->unk_id},
               {"tokenizer.ggml.padding_token_id", t->pad_id}};
    sa_status st = SA_OK;
    for (size_t i = 0; !st && i < sizeof ids / sizeof ids[0]; i++) {
        if (ids[i].id < 0) continue;
        if (ids[i].id >= o->vocab_size) {
            char msg[160];
            snprintf(msg, sizeof msg, "%s %d is outside the vocabulary (%d)", ids[i].key, ids[i].id,
                     o->vocab_size);
            return refuse(o, err, msg);
        }
        st = sa_gguf_w_u32(w, ids[i].key, (uint32_t)ids[i].id);
    }
    if (!st) st = sa_gguf_w_bool(w, "tokenizer.ggml.add_bos_token", t->n_pre == 1);
    if (!st) st = sa_gguf_w_bool(w, "tokenizer.ggml.add_eos_token", t->n_post == 1);
    return st ? sa_error_set(err, SA_ENOMEM, "out of memory") : SA_OK;
}

sa_status tok_gguf_write(const sa_tokenizer *t, const tok_gguf_opts *o, sa_gguf_writer *w,
                         tok_gguf_info *info, sa_error *err) {
    tok_gguf_info local;
    if (!info) info = &local;
    memset(info, 0, sizeof *info);
    if (o->pre) {
        size_t i, n = sizeof llamacpp_pre_names / sizeof llamacpp_pre_names[0];
        for (i = 0; i < n && strcmp(o->pre, llamacpp_pre_names[i]); i++) {
        }
        if (i == n)
            return sa_error_set(err, SA_EUNSUPPORTED,
                                "--pre '%s': not a pre-tokenizer name llama.cpp knows", o->pre);
    }
    if (sa_tokenizer_vocab_size(t) > (size_t)o->vocab_size)
        return sa_error_set(err, SA_EUNSUPPORTED,
                            "%s: the tokenizer has %zu tokens but config.json's vocab_size is %d",
                            o->where, sa_tokenizer_vocab_size(t), o->vocab_size);
    int space_prefix = 0;
    sa_status st = classify(t, o, info, &space_prefix, err);
    if (st) return st;
    int spm = !strcmp(info->model, "llama");
    if (sa_gguf_w_str(w, "tokenizer.ggml.model", info->model) ||
        (!spm && sa_gguf_w_str(w, "tokenizer.ggml.pre", info->pre)))
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    if ((st = write_tokens(t, o, spm, w, err)) || (st = special_ids(t, o, w, err))) return st;
    if (spm && sa_gguf_w_bool(w, "tokenizer.ggml.add_space_prefix", space_prefix))
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    if (t->chat_template && sa_gguf_w_str(w, "tokenizer.chat_template", t->chat_template))
        return sa_error_set(err, SA_ENOMEM, "out of memory");
    return SA_OK;
}
