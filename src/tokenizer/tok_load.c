/* tok_load.c: building an sa_tokenizer from tokenizer.json and tokenizer_config.json.
 *
 * tokenizer.json gives the pipeline (normalizer, pre_tokenizer, model, post_processor, decoder)
 * and added_tokens; tokenizer_config.json gives the names of BOS/EOS/PAD/UNK, add_bos_token /
 * add_eos_token (which, when present, rebuild the post-processor as transformers' Llama and
 * Gemma tokenizers do: [BOS] A [EOS]), clean_up_tokenization_spaces and the chat template.
 * Components this module does not implement are refused by name, never approximated. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "formats/jsonl.h"
#include "core/fsutil.h"
#include "safearith/safetensors.h"
#include "tokenizer/tok_internal.h"

/* Added tokens; an id must lie below `limit` (tok_id_limit). */
static sa_status parse_added(const cJSON *arr, size_t limit, sa_tokenizer *t, sa_error *err) {
    int n = cJSON_GetArraySize(arr);
    if (arr && !cJSON_IsArray(arr))
        return sa_error_set(err, SA_EFORMAT, "added_tokens is not a list");
    t->added = calloc(n ? (size_t)n : 1, sizeof *t->added);
    if (!t->added || tok_strmap_init(&t->added_map, (size_t)n))
        return sa_error_set(err, SA_ENOMEM, "added_tokens");
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) { /* walks the list once (cJSON_GetArrayItem(i) walks from 0) */
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        const char *content = tok_json_str(e, "content");
        if (!content || !cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble > 2e9)
            return sa_error_set(err, SA_EFORMAT, "added_tokens[%d]: needs \"id\" and \"content\"",
                                i);
        if (id->valuedouble >= (double)limit)
            return sa_error_set(err, SA_EFORMAT,
                                "added_tokens[%d]: id %.0f is beyond what the file's tokens can "
                                "use (ids below %zu)",
                                i, id->valuedouble, limit);
        tok_added *a = &t->added[t->n_added++];
        a->id = (int32_t)id->valuedouble;
        a->content = tok_strdup(content);
        if (!a->content) return sa_error_set(err, SA_ENOMEM, "added_tokens");
        a->len = strlen(content);
        a->special = tok_json_bool(e, "special", 0);
        a->lstrip = tok_json_bool(e, "lstrip", 0);
        a->rstrip = tok_json_bool(e, "rstrip", 0);
        a->single_word = tok_json_bool(e, "single_word", 0);
        a->normalized = tok_json_bool(e, "normalized", !a->special);
        if (tok_strmap_put(&t->added_map, content, a->len, (int32_t)(t->n_added - 1)))
            return sa_error_set(err, SA_ENOMEM, "added_tokens");
        i++;
    }
    return SA_OK;
}

/* Ids of one TemplateProcessing "single" item that names a special token. */
static sa_status template_ids(const cJSON *specials, const char *name, tok_buf *ids,
                              sa_error *err) {
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(specials, name);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(sp, "ids");
    if (!cJSON_IsArray(arr))
        return sa_error_set(err, SA_EFORMAT, "post_processor: special token \"%.40s\" has no ids",
                            name);
    for (const cJSON *e = arr->child; e; e = e->next) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 2e9)
            return sa_error_set(err, SA_EFORMAT,
                                "post_processor: special token \"%.40s\" has an id that is not a "
                                "valid number",
                                name);
        int32_t v = (int32_t)e->valuedouble;
        if (tok_buf_put(ids, &v, sizeof v)) return sa_error_set(err, SA_ENOMEM, "post_processor");
    }
    return SA_OK;
}

static sa_status parse_template(const cJSON *j, tok_buf *pre, tok_buf *post, sa_error *err) {
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(j, "single");
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(j, "special_tokens");
    int seen_a = 0;
    for (const cJSON *it = single ? single->child : NULL; it; it = it->next) {
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(it, "SpecialToken");
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(it, "Sequence");
        if (seq) {
            const char *id = tok_json_str(seq, "id");
            if (!id || strcmp(id, "A"))
                return sa_error_set(
                    err, SA_EUNSUPPORTED,
                    "post_processor TemplateProcessing: single template uses sequence \"%s\"",
                    id ? id : "?");
            seen_a = 1;
        } else if (sp && tok_json_str(sp, "id")) {
            sa_status st = template_ids(specials, tok_json_str(sp, "id"), seen_a ? post : pre, err);
            if (st != SA_OK) return st;
        } else {
            return sa_error_set(err, SA_EFORMAT,
                                "post_processor TemplateProcessing: bad item in \"single\"");
        }
    }
    return seen_a ? SA_OK
                  : sa_error_set(err, SA_EFORMAT,
                                 "post_processor TemplateProcessing: no $A in \"single\"");
}

static sa_status parse_post(const cJSON *j, tok_buf *pre, tok_buf *post, sa_error *err) {
    if (!j || cJSON_IsNull(j)) return SA_OK;
    const char *type = tok_json_str(j, "type");
    if (!type) return sa_error_set(err, SA_EFORMAT, "post_processor without a \"type\"");
    if (!strcmp(type, "ByteLevel")) return SA_OK; /* offsets only */
    if (!strcmp(type, "TemplateProcessing")) return parse_template(j, pre, post, err);
    if (!strcmp(type, "Sequence")) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "processors");
        for (const cJSON *e = arr ? arr->child : NULL; e; e = e->next) {
            sa_status st = parse_post(e, pre, post, err);
            if (st != SA_OK) return st;
        }
        return SA_OK;
    }
    return sa_error_set(err, SA_EUNSUPPORTED, "post_processor type \"%s\" is not supported", type);
}

static sa_status check_extras(const cJSON *root, sa_error *err) {
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(root, "truncation");
    if (tr && !cJSON_IsNull(tr))
        return sa_error_set(err, SA_EUNSUPPORTED,
                            "\"truncation\" in tokenizer.json is not supported");
    const cJSON *pad = cJSON_GetObjectItemCaseSensitive(root, "padding");
    if (pad && !cJSON_IsNull(pad)) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(pad, "strategy");
        if (!(cJSON_IsString(s) && !strcmp(s->valuestring, "BatchLongest")))
            return sa_error_set(
                err, SA_EUNSUPPORTED,
                "\"padding\" other than BatchLongest in tokenizer.json is not supported");
    }
    return SA_OK;
}

static int keep_all(const tok_added *a, void *ud) {
    (void)ud;
    return !a->normalized;
}
static int keep_plain(const tok_added *a, void *ud) {
    (void)ud;
    return !a->normalized && !a->special;
}
static int keep_norm(const tok_added *a, void *ud) {
    int parse_special = *(int *)ud;
    return a->normalized && (parse_special || !a->special);
}

static sa_status build_tries(sa_tokenizer *t, sa_error *err) {
    t->norm_patterns = calloc(t->n_added ? t->n_added : 1, sizeof *t->norm_patterns);
    if (!t->norm_patterns) return sa_error_set(err, SA_ENOMEM, "added tokens");
    int any_norm = 0;
    for (size_t i = 0; i < t->n_added; i++) {
        if (!t->added[i].normalized) continue;
        any_norm = 1;
        if (tok_normalize(t->normalizer, t->added[i].content, t->added[i].len, &t->norm,
                          &t->norm_tmp, t->md))
            return sa_error_set(err, SA_ENOMEM, "added tokens");
        t->norm_patterns[i] = tok_strdup(t->norm.s ? t->norm.s : "");
    }
    int yes = 1, no = 0;
    t->trie_all = tok_trie_build(t->added, t->n_added, NULL, keep_all, NULL);
    t->trie_nospecial = tok_trie_build(t->added, t->n_added, NULL, keep_plain, NULL);
    if (any_norm) {
        t->trie_norm = tok_trie_build(t->added, t->n_added, (const char *const *)t->norm_patterns,
                                      keep_norm, &yes);
        t->trie_norm_plain = tok_trie_build(t->added, t->n_added,
                                            (const char *const *)t->norm_patterns, keep_norm, &no);
    }
    if (!t->trie_all || !t->trie_nospecial || (any_norm && (!t->trie_norm || !t->trie_norm_plain)))
        return sa_error_set(err, SA_ENOMEM, "added tokens");
    return SA_OK;
}

/* The ids a file may use. Tables are indexed by id (id_to_tok, added_by_id), so an id costs memory
 * however few tokens the file has; ids are kept below twice the file's tokens (vocab entries and
 * added tokens) plus 1024, which keeps those tables proportional to the file and still reads the
 * holes that Hugging Face allows between ids. */
static size_t tok_id_limit(const cJSON *model, const cJSON *added) {
    size_t n = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(model, "vocab")) +
               (size_t)cJSON_GetArraySize(added);
    return 2 * n + 1024;
}

sa_status tok_load_json(sa_tokenizer *t, const cJSON *root, sa_error *err) {
    sa_status st = check_extras(root, err);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    size_t id_limit = tok_id_limit(model, added);
    if (st == SA_OK) st = tok_bpe_parse(model, id_limit, &t->bpe, err);
    if (st == SA_OK)
        st = tok_normalizer_parse(cJSON_GetObjectItemCaseSensitive(root, "normalizer"),
                                  &t->normalizer, err);
    if (st == SA_OK)
        st = tok_pretok_parse(cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), &t->pretok,
                              err);
    if (st == SA_OK)
        st = tok_decoder_parse(cJSON_GetObjectItemCaseSensitive(root, "decoder"), &t->decoder, err);
    if (st == SA_OK) st = parse_added(added, id_limit, t, err);
    if (st != SA_OK) return st;
    tok_buf pre = {0}, post = {0};
    st = parse_post(cJSON_GetObjectItemCaseSensitive(root, "post_processor"), &pre, &post, err);
    t->pre_ids = (int32_t *)pre.s;
    t->n_pre = pre.n / sizeof(int32_t);
    t->post_ids = (int32_t *)post.s;
    t->n_post = post.n / sizeof(int32_t);
    if (st != SA_OK) return st;
    size_t nv = t->bpe.n_ids;
    for (size_t i = 0; i < t->n_added; i++)
        if ((size_t)t->added[i].id + 1 > nv) nv = (size_t)t->added[i].id + 1;
    t->n_vocab = nv;
    for (size_t i = 0; i < t->n_pre + t->n_post; i++) {
        int32_t id = i < t->n_pre ? t->pre_ids[i] : t->post_ids[i - t->n_pre];
        if ((size_t)id >= nv)
            return sa_error_set(err, SA_EFORMAT,
                                "post_processor: special token id %d is beyond the vocabulary "
                                "(%zu ids)",
                                id, nv);
    }
    t->added_by_id = malloc(nv * sizeof *t->added_by_id);
    if (!t->added_by_id) return sa_error_set(err, SA_ENOMEM, "vocabulary");
    for (size_t i = 0; i < nv; i++) t->added_by_id[i] = -1;
    for (size_t i = 0; i < t->n_added; i++) t->added_by_id[t->added[i].id] = (int32_t)i;
    return build_tries(t, err);
}

/* A token name in the config: a string or {"content": ..., "__type": "AddedToken"}. */
static const char *config_token(const cJSON *cfg, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (cJSON_IsString(v)) return v->valuestring;
    return cJSON_IsObject(v) ? tok_json_str(v, "content") : NULL;
}

static int32_t lookup(const sa_tokenizer *t, const char *name) {
    return name ? sa_tokenizer_piece_to_id(t, name) : -1;
}

static void set_stop_ids(sa_tokenizer *t) {
    static const char *markers[] = {
        "<|eot_id|>",      "<|eom_id|>",    "<|im_end|>", "<end_of_turn>",
        "<|end_of_text|>", "<|endoftext|>", "</s>",       "<eos>"};
    int32_t cand[16];
    size_t nc = 0;
    cand[nc++] = t->eos_id;
    /* only special tokens count: "</s>" is ordinary text in Qwen's vocabulary and an HTML tag
     * among Gemma's added tokens */
    for (size_t i = 0; i < sizeof markers / sizeof *markers; i++) {
        int32_t id = lookup(t, markers[i]);
        if (id >= 0 && t->added_by_id[id] >= 0 && t->added[t->added_by_id[id]].special)
            cand[nc++] = id;
    }
    for (size_t i = 0; i < nc; i++) {
        int dup = cand[i] < 0;
        for (size_t k = 0; k < t->n_stop; k++) dup |= t->stop_ids[k] == cand[i];
        if (!dup) t->stop_ids[t->n_stop++] = cand[i];
    }
}

static sa_status chat_template_of(const cJSON *cfg, sa_tokenizer *t, sa_error *err) {
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(cfg, "chat_template");
    const char *s = cJSON_IsString(ct) ? ct->valuestring : NULL;
    if (cJSON_IsArray(ct))
        for (const cJSON *e = ct->child; e; e = e->next) {
            const char *name = tok_json_str(e, "name");
            if (name && !strcmp(name, "default")) s = tok_json_str(e, "template");
        }
    if (s && !(t->chat_template = tok_strdup(s)))
        return sa_error_set(err, SA_ENOMEM, "chat_template");
    /* Meta-Llama-3-Instruct's first template writes the assistant header unconditionally */
    sa_chat_family f;
    if (s && sa_chat_family_detect(s, &f, NULL) == SA_OK && f == SA_CHAT_LLAMA3 &&
        !strstr(s, "add_generation_prompt"))
        t->llama3_always_gen = 1;
    return SA_OK;
}

sa_status tok_load_config(sa_tokenizer *t, const cJSON *cfg, sa_error *err) {
    t->bos_id = lookup(t, config_token(cfg, "bos_token"));
    t->eos_id = lookup(t, config_token(cfg, "eos_token"));
    t->pad_id = lookup(t, config_token(cfg, "pad_token"));
    t->unk_id = lookup(t, config_token(cfg, "unk_token"));
    if (t->unk_id < 0) t->unk_id = t->bpe.unk_id;
    if (!cfg && t->n_pre == 1) t->bos_id = t->pre_ids[0];
    if (!cfg && t->n_post == 1) t->eos_id = t->post_ids[0];
    const cJSON *ab = cJSON_GetObjectItemCaseSensitive(cfg, "add_bos_token");
    const cJSON *ae = cJSON_GetObjectItemCaseSensitive(cfg, "add_eos_token");
    if (cJSON_IsBool(ab) || cJSON_IsBool(ae)) {
        int add_bos = tok_json_bool(cfg, "add_bos_token", t->n_pre > 0);
        int add_eos = tok_json_bool(cfg, "add_eos_token", t->n_post > 0);
        if (add_bos && t->bos_id < 0)
            return sa_error_set(err, SA_EFORMAT,
                                "add_bos_token is true but bos_token is not in the vocabulary");
        if (add_eos && t->eos_id < 0)
            return sa_error_set(err, SA_EFORMAT,
                                "add_eos_token is true but eos_token is not in the vocabulary");
        free(t->pre_ids);
        free(t->post_ids);
        t->pre_ids = malloc(sizeof(int32_t));
        t->post_ids = malloc(sizeof(int32_t));
        if (!t->pre_ids || !t->post_ids) return sa_error_set(err, SA_ENOMEM, "post_processor");
        t->n_pre = add_bos ? 1 : 0;
        t->n_post = add_eos ? 1 : 0;
        t->pre_ids[0] = t->bos_id;
        t->post_ids[0] = t->eos_id;
    }
    t->cleanup = tok_json_bool(cfg, "clean_up_tokenization_spaces", 0);
    set_stop_ids(t);
    return chat_template_of(cfg, t, err);
}

sa_status sa_tokenizer_load_files(const char *tokenizer_json, const char *config_json,
                                  sa_tokenizer **out, sa_error *err) {
    *out = NULL;
    sa_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return sa_error_set(err, SA_ENOMEM, "tokenizer");
    t->bos_id = t->eos_id = t->pad_id = t->unk_id = -1;
    t->md = pcre2_match_data_create(16, NULL);
    cJSON *root = NULL, *cfg = NULL;
    sa_status st = t->md ? sa_json_read(tokenizer_json, &root, err)
                         : sa_error_set(err, SA_ENOMEM, "tokenizer");
    if (st == SA_OK) {
        st = tok_load_json(t, root, err);
        if (st != SA_OK) sa_error_prefix(err, "%s", tokenizer_json);
    }
    if (st == SA_OK && config_json) st = sa_json_read(config_json, &cfg, err);
    if (st == SA_OK) {
        st = tok_load_config(t, cfg, err);
        if (st != SA_OK) sa_error_prefix(err, "%s", config_json ? config_json : tokenizer_json);
    }
    cJSON_Delete(root);
    cJSON_Delete(cfg);
    if (st != SA_OK) {
        sa_tokenizer_free(t);
        return st;
    }
    *out = t;
    return SA_OK;
}

sa_status sa_tokenizer_load(const char *model_dir, sa_tokenizer **out, sa_error *err) {
    char *base, *adapter; /* BASE+ADAPTER: the base's tokenizer */
    sa_status sp = sa_ckpt_path_split(model_dir, &base, &adapter, err);
    if (sp != SA_OK) return sp;
    char *tj = sa_path_join(base, "tokenizer.json");
    char *cj = sa_path_join(base, "tokenizer_config.json");
    free(base);
    free(adapter);
    if (!tj || !cj) {
        free(tj);
        free(cj);
        return sa_error_set(err, SA_ENOMEM, "tokenizer paths");
    }
    FILE *f = fopen(cj, "rb");
    if (f) fclose(f);
    sa_status st = sa_tokenizer_load_files(tj, f ? cj : NULL, out, err);
    free(tj);
    free(cj);
    return st;
}

void sa_tokenizer_free(sa_tokenizer *t) {
    if (!t) return;
    tok_normalizer_free(t->normalizer);
    tok_pretok_free(t->pretok);
    tok_bpe_free(&t->bpe);
    tok_decoder_free(t->decoder);
    for (size_t i = 0; i < t->n_added; i++) {
        free(t->added[i].content);
        if (t->norm_patterns) free(t->norm_patterns[i]);
    }
    free(t->added);
    free(t->norm_patterns);
    tok_strmap_free(&t->added_map);
    free(t->added_by_id);
    tok_trie_free(t->trie_all);
    tok_trie_free(t->trie_nospecial);
    tok_trie_free(t->trie_norm);
    tok_trie_free(t->trie_norm_plain);
    free(t->pre_ids);
    free(t->post_ids);
    free(t->chat_template);
    tok_buf_free(&t->sanitized);
    tok_buf_free(&t->norm);
    tok_buf_free(&t->norm_tmp);
    tok_pieces_free(&t->pieces);
    tok_pieces_free(&t->pieces_tmp);
    free(t->sections.s);
    free(t->sections2.s);
    if (t->md) pcre2_match_data_free(t->md);
    free(t);
}
