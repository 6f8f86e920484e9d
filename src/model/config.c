/* config.c: config.json of a Hugging Face Llama-family checkpoint -> sa_model_config.
 *
 * Reads the fields that change the forward pass (see engine-and-formats.md section 3.1) and
 * refuses, by name, anything that would otherwise be silently ignored: unknown architectures,
 * activations other than silu, rope types other than default/linear/llama3, MLP biases, Qwen2
 * sliding windows. Both RoPE forms are accepted: the older top-level rope_theta + rope_scaling
 * and transformers v5's rope_parameters. The text goes through the checks of every JSON file
 * safearith reads first (sa_json_parse: UTF-8, no NUL byte, nothing after the value, errors
 * naming file and line). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/jsonl.h"
#include "core/fsutil.h"
#include "safearith/model.h"
#include "safearith/safetensors.h"

typedef struct {
    const char *path;
    sa_error *err;
} ctx;

static sa_status bad(ctx *c, const char *field, const char *why) {
    return sa_error_set(c->err, SA_EFORMAT, "%s: field '%s' %s", c->path, field, why);
}

static sa_status unsupported(ctx *c, const char *field, const char *value) {
    return sa_error_set(c->err, SA_EUNSUPPORTED, "%s: unsupported %s '%s'", c->path, field, value);
}

/* 1 if v is an integer in [lo, 1e9] (every count and id of a config fits an int). */
static int is_int_in(const cJSON *v, int lo) {
    return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && v->valuedouble >= lo &&
           v->valuedouble <= 1e9;
}

/* Integer field: required (dflt ignored) or optional with a default. Rejects non-integers. */
static sa_status get_int(ctx *c, const cJSON *o, const char *key, int required, int dflt, int lo,
                         int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        if (required) return bad(c, key, "is missing");
        *out = dflt;
        return SA_OK;
    }
    if (!is_int_in(v, lo)) return bad(c, key, "is not a valid integer");
    *out = (int)v->valuedouble;
    return SA_OK;
}

static sa_status get_num(ctx *c, const cJSON *o, const char *key, double dflt, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        *out = dflt;
        return SA_OK;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return bad(c, key, "is not a number");
    *out = v->valuedouble;
    return SA_OK;
}

static int get_bool(const cJSON *o, const char *key, int dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v);
    return dflt;
}

static sa_status parse_arch(ctx *c, const cJSON *root, sa_model_config *cfg) {
    const cJSON *archs = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    const char *name = NULL;
    if (cJSON_IsArray(archs) && cJSON_GetArraySize(archs) >= 1) {
        if (cJSON_GetArraySize(archs) != 1) return bad(c, "architectures", "lists several");
        const cJSON *a = cJSON_GetArrayItem(archs, 0);
        if (!cJSON_IsString(a)) return bad(c, "architectures", "is not a list of strings");
        name = a->valuestring;
    }
    static const struct {
        const char *cls, *type;
        sa_arch arch;
    } known[] = {{"LlamaForCausalLM", "llama", SA_ARCH_LLAMA},
                 {"MistralForCausalLM", "mistral", SA_ARCH_MISTRAL},
                 {"Qwen2ForCausalLM", "qwen2", SA_ARCH_QWEN2}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        int hit = name ? strcmp(name, known[i].cls) == 0
                       : (cJSON_IsString(mt) && strcmp(mt->valuestring, known[i].type) == 0);
        if (hit) {
            cfg->arch = known[i].arch;
            snprintf(cfg->arch_name, sizeof cfg->arch_name, "%s", known[i].cls);
            return SA_OK;
        }
    }
    if (name) return unsupported(c, "architecture", name);
    if (cJSON_IsString(mt)) return unsupported(c, "model_type", mt->valuestring);
    return bad(c, "architectures", "is missing (and no model_type)");
}

static sa_status parse_shape(ctx *c, const cJSON *root, sa_model_config *cfg) {
    sa_status st;
    if ((st = get_int(c, root, "vocab_size", 1, 0, 1, &cfg->vocab_size)) ||
        (st = get_int(c, root, "hidden_size", 1, 0, 1, &cfg->hidden_size)) ||
        (st = get_int(c, root, "intermediate_size", 1, 0, 1, &cfg->intermediate_size)) ||
        (st = get_int(c, root, "num_hidden_layers", 1, 0, 1, &cfg->n_layers)) ||
        (st = get_int(c, root, "num_attention_heads", 1, 0, 1, &cfg->n_heads)))
        return st;
    if ((st = get_int(c, root, "num_key_value_heads", 0, cfg->n_heads, 1, &cfg->n_kv_heads)))
        return st;
    if (cfg->n_heads % cfg->n_kv_heads)
        return bad(c, "num_key_value_heads", "does not divide num_attention_heads");
    int dflt_hd = cfg->hidden_size / cfg->n_heads;
    if ((st = get_int(c, root, "head_dim", 0, dflt_hd, 1, &cfg->head_dim))) return st;
    if (cfg->head_dim < 1) /* the default, hidden_size / num_attention_heads, rounded to 0 */
        return bad(c, "num_attention_heads", "exceeds hidden_size (no head_dim to fall back on)");
    if (cfg->head_dim % 2) return bad(c, "head_dim", "is odd (RoPE needs pairs)");
    /* the query width is a count like the others (an int product that wrapped around matched the
     * weights' shape and sized the KV cache) */
    if ((double)cfg->n_heads * cfg->head_dim > 1e9)
        return bad(c, "num_attention_heads", "times head_dim exceeds 1e9");
    double eps = 0;
    if ((st = get_num(c, root, "rms_norm_eps", 1e-6, &eps))) return st;
    cfg->rms_norm_eps = (float)eps;
    return get_int(c, root, "max_position_embeddings", 0, 2048, 1, &cfg->max_position_embeddings);
}

static sa_status parse_activation_and_bias(ctx *c, const cJSON *root, sa_model_config *cfg) {
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "hidden_act");
    if (act && !cJSON_IsNull(act)) {
        if (!cJSON_IsString(act)) return bad(c, "hidden_act", "is not a string");
        if (strcmp(act->valuestring, "silu") != 0)
            return unsupported(c, "hidden_act", act->valuestring);
    }
    if (get_bool(root, "mlp_bias", 0)) return unsupported(c, "mlp_bias", "true");
    cfg->qkv_bias = cfg->arch == SA_ARCH_QWEN2 || get_bool(root, "attention_bias", 0);
    if (get_bool(root, "attention_bias", 0) && cfg->arch != SA_ARCH_QWEN2)
        return unsupported(c, "attention_bias", "true (o_proj bias)");
    cfg->tie_word_embeddings = get_bool(root, "tie_word_embeddings", 0);
    return SA_OK;
}

static sa_status parse_window(ctx *c, const cJSON *root, sa_model_config *cfg) {
    cfg->sliding_window = 0;
    if (cfg->arch == SA_ARCH_MISTRAL)
        return get_int(c, root, "sliding_window", 0, 0, 1, &cfg->sliding_window);
    if (cfg->arch == SA_ARCH_QWEN2 && get_bool(root, "use_sliding_window", 0))
        return unsupported(c, "use_sliding_window", "true");
    return SA_OK;
}

/* rope_scaling (legacy) or rope_parameters (v5): type and its parameters. */
static sa_status parse_rope_params(ctx *c, const cJSON *rp, const char *field,
                                   sa_model_config *cfg) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(rp, "rope_type");
    if (!t) t = cJSON_GetObjectItemCaseSensitive(rp, "type");
    const char *type = cJSON_IsString(t) ? t->valuestring : "default";
    sa_status st = get_num(c, rp, "rope_theta", cfg->rope_theta, &cfg->rope_theta);
    if (st) return st;
    if (!strcmp(type, "default")) {
        cfg->rope_kind = SA_ROPE_DEFAULT;
        return SA_OK;
    }
    if ((st = get_num(c, rp, "factor", 0, &cfg->rope_factor))) return st;
    if (!(cfg->rope_factor > 0)) return bad(c, field, "has no positive 'factor'");
    if (!strcmp(type, "linear")) {
        cfg->rope_kind = SA_ROPE_LINEAR;
        return SA_OK;
    }
    if (strcmp(type, "llama3") != 0) return unsupported(c, "rope type", type);
    cfg->rope_kind = SA_ROPE_LLAMA3;
    if ((st = get_num(c, rp, "low_freq_factor", 1.0, &cfg->rope_low_freq_factor)) ||
        (st = get_num(c, rp, "high_freq_factor", 4.0, &cfg->rope_high_freq_factor)) ||
        (st = get_int(c, rp, "original_max_position_embeddings", 0, 8192, 1,
                      &cfg->rope_original_max_position)))
        return st;
    if (!(cfg->rope_high_freq_factor > cfg->rope_low_freq_factor))
        return bad(c, field, "needs high_freq_factor > low_freq_factor");
    return SA_OK;
}

static sa_status parse_rope(ctx *c, const cJSON *root, sa_model_config *cfg) {
    sa_status st = get_num(c, root, "rope_theta", 10000.0, &cfg->rope_theta);
    if (st) return st;
    cfg->rope_kind = SA_ROPE_DEFAULT;
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(root, "rope_parameters");
    if (rp && !cJSON_IsNull(rp)) {
        if (!cJSON_IsObject(rp)) return bad(c, "rope_parameters", "is not an object");
        if ((st = parse_rope_params(c, rp, "rope_parameters", cfg))) return st;
    } else if (rs && !cJSON_IsNull(rs)) {
        if (!cJSON_IsObject(rs)) return bad(c, "rope_scaling", "is not an object");
        if ((st = parse_rope_params(c, rs, "rope_scaling", cfg))) return st;
    }
    if (!(cfg->rope_theta > 0)) return bad(c, "rope_theta", "is not positive");
    return SA_OK;
}

static sa_status parse_special(ctx *c, const cJSON *root, sa_model_config *cfg) {
    sa_status st = get_int(c, root, "bos_token_id", 0, -1, 0, &cfg->bos_token_id);
    if (st) return st;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "eos_token_id");
    cfg->n_eos = 0;
    if (!e || cJSON_IsNull(e)) return SA_OK;
    if (cJSON_IsNumber(e))
        return get_int(c, root, "eos_token_id", 1, 0, 0, &cfg->eos_token_ids[cfg->n_eos++]);
    if (!cJSON_IsArray(e)) return bad(c, "eos_token_id", "is neither an integer nor a list");
    const cJSON *it;
    cJSON_ArrayForEach(it, e) {
        if (!is_int_in(it, 0)) return bad(c, "eos_token_id", "has an entry that is not a valid id");
        if (cfg->n_eos == SA_MAX_EOS) return bad(c, "eos_token_id", "has too many entries");
        cfg->eos_token_ids[cfg->n_eos++] = (int)it->valuedouble;
    }
    return SA_OK;
}

/* The fields of a parsed config.json (when st, the status of parsing it, is SA_OK); frees root. */
static sa_status from_json(sa_status st, cJSON *root, const char *path, sa_model_config *cfg,
                           sa_error *err) {
    ctx c = {path, err};
    memset(cfg, 0, sizeof *cfg);
    if (!st && !cJSON_IsObject(root))
        st = sa_error_set(err, SA_EFORMAT, "%s: not a JSON object", path);
    if (!st && !(st = parse_arch(&c, root, cfg)) && !(st = parse_shape(&c, root, cfg)) &&
        !(st = parse_activation_and_bias(&c, root, cfg)) && !(st = parse_window(&c, root, cfg)) &&
        !(st = parse_rope(&c, root, cfg)))
        st = parse_special(&c, root, cfg);
    cJSON_Delete(root);
    return st;
}

sa_status sa_model_config_parse(const char *json_text, const char *path, sa_model_config *cfg,
                                sa_error *err) {
    cJSON *root = NULL;
    sa_status st = sa_json_parse(json_text, strlen(json_text), path, &root, err);
    return from_json(st, root, path, cfg, err);
}

sa_status sa_model_config_load(const char *dir, sa_model_config *cfg, sa_error *err) {
    char *base, *adapter; /* BASE+ADAPTER: the base's config (an adapter keeps the shapes) */
    sa_status sp = sa_ckpt_path_split(dir, &base, &adapter, err);
    if (sp != SA_OK) return sp;
    char *path = sa_path_join(base, "config.json");
    free(base);
    free(adapter);
    cJSON *root = NULL;
    sa_status st = path ? sa_json_read(path, &root, err)
                        : sa_error_set(err, SA_ENOMEM, "%s: out of memory", dir);
    st = from_json(st, root, path, cfg, err);
    free(path);
    return st;
}
