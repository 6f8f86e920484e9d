/* chat_template.c: hand-written renderers of the chat templates that matter here, and the
 * recognition of a tokenizer_config.json Jinja template as one of them.
 *
 * No Jinja engine: like llama.cpp (llm_chat_detect_template / llm_chat_apply_template) a
 * template is recognised by distinctive substrings and rendered by C code that writes exactly
 * what the official template writes for system/user/assistant messages with string content.
 * Tools, images and other template features are out of scope. Templates that write the BOS
 * token write it as text, so the rendered string is encoded with special-token parsing and
 * without the post-processor: BOS appears once. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

static const char *const family_names[SA_CHAT_N_FAMILIES] = {
    "raw",    "llama-2", "llama-3", "llama-3.1", "mistral-v1", "mistral-v3", "mistral-v3-tekken",
    "chatml", "qwen2.5", "qwen3",   "gemma",     "organism"};

const char *sa_chat_family_name(sa_chat_family f) {
    return (unsigned)f < SA_CHAT_N_FAMILIES ? family_names[f] : "?";
}

sa_status sa_chat_family_from_name(const char *name, sa_chat_family *out, sa_error *err) {
    for (int i = 0; i < SA_CHAT_N_FAMILIES; i++)
        if (!strcmp(name, family_names[i])) {
            *out = (sa_chat_family)i;
            return SA_OK;
        }
    return sa_error_set(err, SA_EINVAL,
                        "unknown chat template \"%s\" (known: raw, llama-2, llama-3, llama-3.1, "
                        "mistral-v1, mistral-v3, mistral-v3-tekken, chatml, qwen2.5, qwen3, gemma, "
                        "organism)",
                        name);
}

sa_status sa_chat_family_detect(const char *j, sa_chat_family *out, sa_error *err) {
    if (strstr(j, "<|start_header_id|>"))
        *out = strstr(j, "Cutting Knowledge Date") ? SA_CHAT_LLAMA31 : SA_CHAT_LLAMA3;
    else if (strstr(j, "<|im_start|>"))
        *out = strstr(j, "<think>")                                  ? SA_CHAT_QWEN3
               : strstr(j, "You are Qwen, created by Alibaba Cloud") ? SA_CHAT_QWEN25
                                                                     : SA_CHAT_CHATML;
    else if (strstr(j, "<start_of_turn>"))
        *out = SA_CHAT_GEMMA;
    else if (strstr(j, "'<|user|>' + message['content']") && strstr(j, "<|assistant|>") &&
             strstr(j, "<|end|>"))
        *out = SA_CHAT_ORGANISM;
    else if (strstr(j, "[INST]")) {
        if (strstr(j, "<<SYS>>"))
            *out = SA_CHAT_LLAMA2;
        else if (strstr(j, " [/INST]"))
            *out = SA_CHAT_MISTRAL_V1;
        else if (strstr(j, "[INST] "))
            *out = SA_CHAT_MISTRAL_V3;
        else
            *out = SA_CHAT_MISTRAL_V3_TEKKEN;
    } else
        return sa_error_set(
            err, SA_EUNSUPPORTED,
            "chat_template not recognised as any known family (use --chat-template NAME)");
    return SA_OK;
}

sa_status sa_tokenizer_chat_family(const sa_tokenizer *tok, sa_chat_family *out, sa_error *err) {
    *out = SA_CHAT_RAW;
    if (!tok->chat_template) return SA_OK;
    sa_status st = sa_chat_family_detect(tok->chat_template, out, err);
    if (st != SA_OK) sa_error_prefix(err, "tokenizer_config.json");
    return st;
}

/* ---- string helpers ---- */
/* Python str.strip() whitespace: Unicode White_Space plus the separators U+001C..U+001F. */
static int py_space(uint32_t c) {
    return tok_is_whitespace(c) || (c >= 0x1C && c <= 0x1F);
}

static int is_newline(uint32_t c) {
    return c == '\n';
}

static void trim_range(const char *s, const char **a, const char **b, int left, int right,
                       int only_newlines) {
    size_t i = 0, e = strlen(s);
    tok_utf8_trim(s, &i, &e, left, right, only_newlines ? is_newline : py_space);
    *a = s + i;
    *b = s + e;
}

typedef struct out {
    tok_buf b;
    int oom;
} out;

static void put(out *o, const char *s) {
    o->oom |= tok_buf_put(&o->b, s, strlen(s));
}
static void putn(out *o, const char *a, const char *b) {
    o->oom |= tok_buf_put(&o->b, a, (size_t)(b - a));
}
static void put_trim(out *o, const char *s) {
    const char *a, *b;
    trim_range(s, &a, &b, 1, 1, 0);
    putn(o, a, b);
}

static int is_role(const sa_chat_msg *m, const char *r) {
    return m->role && !strcmp(m->role, r);
}

static const char *piece_or_empty(const sa_tokenizer *t, int32_t id) {
    const char *p = id >= 0 ? sa_tokenizer_id_to_piece(t, id) : NULL;
    return p ? p : "";
}

/* Families with strict user/assistant alternation after an optional leading system message. */
static sa_status check_alternation(const sa_chat_msg *m, size_t n, sa_chat_family f,
                                   sa_error *err) {
    size_t start = n && is_role(&m[0], "system") ? 1 : 0;
    for (size_t i = start; i < n; i++) {
        const char *want = (i - start) % 2 == 0 ? "user" : "assistant";
        if (!is_role(&m[i], want))
            return sa_error_set(
                err, SA_EINVAL,
                "chat template %s: message %zu has role \"%s\", expected \"%s\" (roles must "
                "alternate user/assistant after an optional system message)",
                sa_chat_family_name(f), i, m[i].role ? m[i].role : "(null)", want);
    }
    return SA_OK;
}

/* ---- renderers ---- */
static void render_llama2(out *o, const sa_chat_msg *m, size_t n, const char *bos,
                          const char *eos) {
    size_t start = n && is_role(&m[0], "system") ? 1 : 0;
    for (size_t i = start; i < n; i++) {
        if (is_role(&m[i], "user")) {
            tok_buf c = {0};
            if (i == start && start) {
                o->oom |= tok_buf_put(&c, "<<SYS>>\n", 8) ||
                          tok_buf_put(&c, m[0].content, strlen(m[0].content)) ||
                          tok_buf_put(&c, "\n<</SYS>>\n\n", 11);
            }
            o->oom |= tok_buf_put(&c, m[i].content, strlen(m[i].content));
            put(o, bos);
            put(o, "[INST] ");
            put_trim(o, c.s ? c.s : "");
            put(o, " [/INST]");
            tok_buf_free(&c);
        } else {
            put(o, " ");
            put_trim(o, m[i].content);
            put(o, " ");
            put(o, eos);
        }
    }
}

static void llama3_message(out *o, const char *role, const char *content) {
    put(o, "<|start_header_id|>");
    put(o, role);
    put(o, "<|end_header_id|>\n\n");
    put_trim(o, content);
    put(o, "<|eot_id|>");
}

static void render_llama3(out *o, const sa_chat_msg *m, size_t n, const char *bos, int v31,
                          int gen) {
    put(o, bos);
    size_t start = 0;
    if (v31) {
        put(o, "<|start_header_id|>system<|end_header_id|>\n\n");
        put(o, "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n");
        if (n && is_role(&m[0], "system")) {
            put_trim(o, m[0].content);
            start = 1;
        }
        put(o, "<|eot_id|>");
    }
    for (size_t i = start; i < n; i++) llama3_message(o, m[i].role, m[i].content);
    if (gen) put(o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

static void render_mistral(out *o, const sa_chat_msg *m, size_t n, sa_chat_family f,
                           const char *bos, const char *eos) {
    const char *open = f == SA_CHAT_MISTRAL_V3_TEKKEN ? "[INST]" : "[INST] ";
    const char *close = f == SA_CHAT_MISTRAL_V1 ? " [/INST]" : "[/INST]";
    const char *lead = f == SA_CHAT_MISTRAL_V3 ? " " : "";
    size_t start = n && is_role(&m[0], "system") ? 1 : 0;
    /* Where the system message goes: v1 (v0.1/v0.2) into the first user turn; v3 and tekken into
     * the last message if it is a user turn, else nowhere (the official templates' loop.last). */
    size_t sys_at = f == SA_CHAT_MISTRAL_V1 ? start : n - 1;
    put(o, bos);
    for (size_t i = start; i < n; i++) {
        if (is_role(&m[i], "user")) {
            put(o, open);
            if (i == sys_at && start) {
                put(o, m[0].content);
                put(o, "\n\n");
            }
            put(o, m[i].content);
            put(o, close);
        } else {
            put(o, lead);
            if (f == SA_CHAT_MISTRAL_V3)
                put_trim(o, m[i].content);
            else
                put(o, m[i].content);
            put(o, eos);
        }
    }
}

static void chatml_message(out *o, const char *role, const char *a, const char *b) {
    put(o, "<|im_start|>");
    put(o, role);
    put(o, "\n");
    putn(o, a, b);
    put(o, "<|im_end|>\n");
}

static void render_chatml(out *o, const sa_chat_msg *m, size_t n, int qwen25, int gen) {
    if (qwen25 && !(n && is_role(&m[0], "system"))) {
        const char *d = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
        chatml_message(o, "system", d, d + strlen(d));
    }
    for (size_t i = 0; i < n; i++)
        chatml_message(o, m[i].role, m[i].content, m[i].content + strlen(m[i].content));
    if (gen) put(o, "<|im_start|>assistant\n");
}

/* Qwen3: an assistant answer after the last user query carries its <think> block. */
static void qwen3_assistant(out *o, const char *content, int think_block) {
    const char *c = content, *ra = "", *rb = "";
    const char *end_think = strstr(content, "</think>");
    if (end_think) {
        const char *last = end_think, *p;
        while ((p = strstr(last + 8, "</think>"))) last = p;
        const char *tmp_b;
        trim_range(last + 8, &c, &tmp_b, 1, 0, 1); /* split('</think>')[-1].lstrip('\n') */
        /* split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') */
        const char *head = content, *q;
        while ((q = strstr(head, "<think>")) && q < end_think) head = q + 7;
        ra = head;
        rb = end_think;
        while (rb > ra && rb[-1] == '\n') rb--;
        while (ra < rb && *ra == '\n') ra++;
    }
    put(o, "<|im_start|>assistant\n");
    if (think_block) {
        put(o, "<think>\n");
        putn(o, ra, rb); /* .strip('\n') is a no-op after the trims above */
        put(o, "\n</think>\n\n");
        const char *a, *b;
        trim_range(c, &a, &b, 1, 0, 1);
        putn(o, a, b);
    } else {
        put(o, c);
    }
    put(o, "<|im_end|>\n");
}

static void render_qwen3(out *o, const sa_chat_msg *m, size_t n, int gen) {
    size_t last_query = n ? n - 1 : 0;
    for (size_t i = n; i-- > 0;)
        if (is_role(&m[i], "user")) {
            last_query = i;
            break;
        }
    for (size_t i = 0; i < n; i++) {
        const char *c = m[i].content;
        if (is_role(&m[i], "user") || is_role(&m[i], "system")) {
            chatml_message(o, m[i].role, c, c + strlen(c));
        } else if (is_role(&m[i], "assistant")) {
            int has_reasoning = 0;
            const char *et = strstr(c, "</think>");
            if (et) {
                const char *h = c, *q;
                while ((q = strstr(h, "<think>")) && q < et) h = q + 7;
                while (h < et && *h == '\n') h++;
                const char *e = et;
                while (e > h && e[-1] == '\n') e--;
                has_reasoning = e > h;
            }
            qwen3_assistant(o, c, i > last_query && (i + 1 == n || has_reasoning));
        }
    }
    if (gen) put(o, "<|im_start|>assistant\n");
}

static void render_gemma(out *o, const sa_chat_msg *m, size_t n, const char *bos, int gen) {
    put(o, bos);
    size_t start = n && is_role(&m[0], "system") ? 1 : 0;
    for (size_t i = start; i < n; i++) {
        put(o, "<start_of_turn>");
        put(o, is_role(&m[i], "assistant") ? "model" : m[i].role);
        put(o, "\n");
        if (i == start && start) {
            put(o, m[0].content);
            put(o, "\n\n");
        }
        put_trim(o, m[i].content);
        put(o, "<end_of_turn>\n");
    }
    if (gen) put(o, "<start_of_turn>model\n");
}

/* The organisms' format (models/, docs/organisms.md): no system role, no separators. */
static void render_organism(out *o, const sa_chat_msg *m, size_t n, int gen) {
    for (size_t i = 0; i < n; i++) {
        put(o, is_role(&m[i], "user") ? "<|user|>" : "<|assistant|>");
        put(o, m[i].content);
        if (is_role(&m[i], "assistant")) put(o, "<|end|>");
    }
    if (gen) put(o, "<|assistant|>");
}

static sa_status check_messages(sa_chat_family f, const sa_chat_msg *m, size_t n, sa_error *err) {
    for (size_t i = 0; i < n; i++) {
        if (!m[i].role || !m[i].content)
            return sa_error_set(err, SA_EINVAL, "chat message %zu: role and content are required",
                                i);
        if (f != SA_CHAT_RAW && f != SA_CHAT_LLAMA3 && f != SA_CHAT_CHATML &&
            !is_role(&m[i], "system") && !is_role(&m[i], "user") && !is_role(&m[i], "assistant"))
            return sa_error_set(err, SA_EINVAL,
                                "chat template %s: message %zu has unsupported role \"%s\"",
                                sa_chat_family_name(f), i, m[i].role);
        if (i > 0 && is_role(&m[i], "system") &&
            (f == SA_CHAT_LLAMA2 || f == SA_CHAT_GEMMA || f == SA_CHAT_LLAMA31 ||
             (f >= SA_CHAT_MISTRAL_V1 && f <= SA_CHAT_MISTRAL_V3_TEKKEN)))
            return sa_error_set(err, SA_EINVAL,
                                "chat template %s: a system message may only come first",
                                sa_chat_family_name(f));
    }
    for (size_t i = 0; f == SA_CHAT_ORGANISM && i < n; i++)
        if (is_role(&m[i], "system"))
            return sa_error_set(err, SA_EINVAL, "chat template organism: no system role");
    if (f == SA_CHAT_LLAMA2 || f == SA_CHAT_GEMMA ||
        (f >= SA_CHAT_MISTRAL_V1 && f <= SA_CHAT_MISTRAL_V3_TEKKEN))
        return check_alternation(m, n, f, err);
    return SA_OK;
}

sa_status sa_chat_render(const sa_tokenizer *tok, sa_chat_family f, const sa_chat_msg *m, size_t n,
                         int gen, char **text, sa_error *err) {
    *text = NULL;
    sa_status st = check_messages(f, m, n, err);
    if (st != SA_OK) return st;
    const char *bos = piece_or_empty(tok, tok->bos_id), *eos = piece_or_empty(tok, tok->eos_id);
    out o = {{0}, 0};
    switch (f) {
    case SA_CHAT_RAW:
        for (size_t i = 0; i < n; i++) {
            if (i) put(&o, "\n");
            put(&o, m[i].content);
        }
        break;
    case SA_CHAT_LLAMA2:
        render_llama2(&o, m, n, bos, eos);
        break;
    case SA_CHAT_LLAMA3:
        render_llama3(&o, m, n, bos, 0, gen || tok->llama3_always_gen);
        break;
    case SA_CHAT_LLAMA31:
        render_llama3(&o, m, n, bos, 1, gen);
        break;
    case SA_CHAT_MISTRAL_V1:
    case SA_CHAT_MISTRAL_V3:
    case SA_CHAT_MISTRAL_V3_TEKKEN:
        render_mistral(&o, m, n, f, bos, eos);
        break;
    case SA_CHAT_CHATML:
        render_chatml(&o, m, n, 0, gen);
        break;
    case SA_CHAT_QWEN25:
        render_chatml(&o, m, n, 1, gen);
        break;
    case SA_CHAT_QWEN3:
        render_qwen3(&o, m, n, gen);
        break;
    case SA_CHAT_GEMMA:
        render_gemma(&o, m, n, bos, gen);
        break;
    case SA_CHAT_ORGANISM:
        render_organism(&o, m, n, gen);
        break;
    default:
        return sa_error_set(err, SA_EINVAL, "chat template: unknown family %d", (int)f);
    }
    put(&o, "");
    if (o.oom) {
        tok_buf_free(&o.b);
        return sa_error_set(err, SA_ENOMEM, "chat template: rendering %zu messages", n);
    }
    *text = o.b.s;
    return SA_OK;
}

sa_status sa_chat_encode(sa_tokenizer *tok, sa_chat_family f, const sa_chat_msg *m, size_t n,
                         int gen, sa_tokens *out, sa_error *err) {
    char *text;
    sa_status st = sa_chat_render(tok, f, m, n, gen, &text, err);
    if (st != SA_OK) return st;
    unsigned flags = f == SA_CHAT_RAW ? SA_TOK_DEFAULT : SA_TOK_PARSE_SPECIAL;
    st = sa_tokenizer_encode(tok, text, strlen(text), flags, out, err);
    free(text);
    return st;
}
