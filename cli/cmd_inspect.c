/* cmd_inspect.c: `safearith inspect MODEL`: architecture (from config.json), parameter count,
 * dtypes, shards, __metadata__ and tensors of a checkpoint, as text or JSON. Opening the model
 * runs the full safetensors validation, so this is also the way to check a download. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arith_cli.h"
#include "core/fsutil.h"
#include "safearith/safetensors.h"

#define CMD "inspect"

static void usage(void) {
    printf("usage: safearith inspect MODEL [--json] [--no-tensors]\n\n"
           "Describe a checkpoint (a model directory, a .safetensors file or an index .json):\n"
           "architecture from config.json, parameter count, parameters per dtype, shards, the\n"
           "__metadata__ of the first shard (safearith records its operations there) and every\n"
           "tensor with dtype and shape. The whole file is validated on the way. MODEL may be\n"
           "BASE+ADAPTER (a PEFT LoRA adapter applied to BASE): the adapter and the tensors it\n"
           "changes are listed too.\n\n"
           "options:\n"
           "  --json               one JSON object on stdout\n"
           "  --no-tensors         leave out the tensor list\n"
           "  -h, --help           this help\n");
}

static const char *const config_keys[] = {"model_type",          "hidden_size",
                                          "intermediate_size",   "num_hidden_layers",
                                          "num_attention_heads", "num_key_value_heads",
                                          "vocab_size",          "max_position_embeddings",
                                          "torch_dtype",         NULL};

/* The parts of config.json worth showing in *out (NULL without a config.json); a config.json
 * that cannot be read or is not a JSON object is an error (a truncated file is not skipped). */
static sa_status read_config(const sa_checkpoint *ck, cJSON **out, sa_error *err) {
    char *path = sa_path_join(sa_ckpt_dir(ck), "config.json"), *text = NULL;
    size_t len;
    cJSON *cfg = NULL;
    struct stat st;
    *out = NULL;
    if (!path) return sa_error_set(err, SA_ENOMEM, "out of memory");
    if (stat(path, &st) != 0) {
        free(path);
        return SA_OK;
    }
    sa_status s = sa_read_file(path, &text, &len, err);
    if (s == SA_OK) cfg = cJSON_ParseWithLength(text, len);
    if (s == SA_OK && !cJSON_IsObject(cfg))
        s = sa_error_set(err, SA_EFORMAT, "%s: not a valid JSON object (truncated?)", path);
    if (s == SA_OK) {
        cJSON *o = *out = cJSON_CreateObject();
        cJSON *arch = cJSON_GetObjectItemCaseSensitive(cfg, "architectures");
        if (cJSON_IsArray(arch) && cJSON_IsString(arch->child))
            cJSON_AddStringToObject(o, "architecture", arch->child->valuestring);
        for (int i = 0; config_keys[i]; i++) {
            cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, config_keys[i]);
            if (cJSON_IsNumber(v) || cJSON_IsString(v))
                cJSON_AddItemToObject(o, config_keys[i], cJSON_Duplicate(v, 0));
        }
    }
    cJSON_Delete(cfg);
    free(text);
    free(path);
    return s;
}

static cJSON *shape_json(const sa_st_tensor *t) {
    cJSON *a = cJSON_CreateArray();
    for (int d = 0; d < t->ndim; d++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)t->shape[d]));
    return a;
}

static cJSON *describe(const sa_checkpoint *ck, cJSON *cfg, int tensors) {
    cJSON *o = cJSON_CreateObject();
    if (cfg) cJSON_AddItemToObject(o, "config", cfg);
    cJSON_AddNumberToObject(o, "parameters", (double)sa_ckpt_total_params(ck));
    cJSON_AddNumberToObject(o, "bytes", (double)sa_ckpt_total_bytes(ck));
    cJSON_AddNumberToObject(o, "tensor_count", (double)sa_ckpt_count(ck));
    uint64_t per[SA_DTYPE_COUNT] = {0};
    for (size_t i = 0; i < sa_ckpt_count(ck); i++)
        per[sa_ckpt_tensor(ck, i)->dtype] += sa_ckpt_tensor(ck, i)->numel;
    cJSON *dts = cJSON_AddObjectToObject(o, "dtypes");
    for (int d = 0; d < SA_DTYPE_COUNT; d++)
        if (per[d]) cJSON_AddNumberToObject(dts, sa_dtype_name((sa_dtype)d), (double)per[d]);
    cJSON *sh = cJSON_AddArrayToObject(o, "shards");
    for (int s = 0; s < sa_ckpt_shard_count(ck); s++) {
        struct stat st;
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "path", sa_ckpt_shard_path(ck, s));
        cJSON_AddNumberToObject(x, "size",
                                stat(sa_ckpt_shard_path(ck, s), &st) == 0 ? (double)st.st_size : 0);
        cJSON_AddItemToArray(sh, x);
    }
    if (sa_ckpt_adapter_dir(ck)) {
        cJSON_AddStringToObject(o, "adapter", sa_ckpt_adapter_dir(ck));
        cJSON_AddNumberToObject(o, "adapted_tensors", (double)sa_ckpt_computed_count(ck));
    }
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    for (size_t i = 0; i < sa_ckpt_metadata_count(ck); i++) {
        const char *k, *v;
        sa_ckpt_metadata_at(ck, i, &k, &v);
        cJSON_AddStringToObject(md, k, v);
    }
    if (!tensors) return o;
    cJSON *ts = cJSON_AddArrayToObject(o, "tensors");
    for (size_t i = 0; i < sa_ckpt_count(ck); i++) {
        const sa_st_tensor *t = sa_ckpt_tensor(ck, i);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", t->name);
        cJSON_AddStringToObject(x, "dtype", sa_dtype_name(t->dtype));
        cJSON_AddItemToObject(x, "shape", shape_json(t));
        cJSON_AddNumberToObject(x, "shard", t->shard);
        if (!t->data) cJSON_AddBoolToObject(x, "adapted", 1);
        cJSON_AddItemToArray(ts, x);
    }
    return o;
}

static void print_text(const cJSON *o) {
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(o, "config");
    if (cfg) {
        printf("config:\n");
        for (const cJSON *c = cfg->child; c; c = c->next)
            if (cJSON_IsString(c))
                printf("  %-26s %s\n", c->string, c->valuestring);
            else
                printf("  %-26s %.0f\n", c->string, c->valuedouble);
    }
    printf("parameters:                  %.0f (%.3f B)\n",
           cJSON_GetObjectItemCaseSensitive(o, "parameters")->valuedouble,
           cJSON_GetObjectItemCaseSensitive(o, "parameters")->valuedouble / 1e9);
    printf("tensor bytes:                %.0f\n",
           cJSON_GetObjectItemCaseSensitive(o, "bytes")->valuedouble);
    printf("dtypes:\n");
    for (const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "dtypes")->child; c; c = c->next)
        printf("  %-26s %.0f parameters\n", c->string, c->valuedouble);
    printf("shards:\n");
    for (const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "shards")->child; c; c = c->next)
        printf("  %s (%.0f bytes)\n", cJSON_GetObjectItemCaseSensitive(c, "path")->valuestring,
               cJSON_GetObjectItemCaseSensitive(c, "size")->valuedouble);
    const cJSON *ad = cJSON_GetObjectItemCaseSensitive(o, "adapter");
    if (ad)
        printf("adapter:                     %s (%.0f tensors computed with LoRA)\n",
               ad->valuestring,
               cJSON_GetObjectItemCaseSensitive(o, "adapted_tensors")->valuedouble);
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(o, "metadata");
    if (md->child) printf("metadata:\n");
    for (const cJSON *c = md->child; c; c = c->next)
        printf("  %s: %s\n", c->string, c->valuestring);
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(o, "tensors");
    if (!ts) return;
    printf("tensors (%d):\n", cJSON_GetArraySize(ts));
    for (const cJSON *t = ts->child; t; t = t->next) {
        char shape[128];
        size_t at = 0;
        shape[0] = '\0';
        for (const cJSON *d = cJSON_GetObjectItemCaseSensitive(t, "shape")->child;
             d && at < sizeof shape - 24; d = d->next)
            at += (size_t)snprintf(shape + at, sizeof shape - at, "%s%.0f", at ? ", " : "",
                                   d->valuedouble);
        printf("  %-60s %-5s [%s]\n", cJSON_GetObjectItemCaseSensitive(t, "name")->valuestring,
               cJSON_GetObjectItemCaseSensitive(t, "dtype")->valuestring, shape);
    }
}

static int run(int argc, char **argv) {
    const char *path = NULL;
    int json = 0, tensors = 1;
    int no_tensors = 0;
    cli_args p;
    cli_args_init(&p, CMD, argc, argv);
    while (cli_args_next(&p)) {
        if (cli_flag_help(&p)) return usage(), CLI_OK;
        if (!(cli_flag_on(&p, "--json", &json) || cli_flag_on(&p, "--no-tensors", &no_tensors) ||
              cli_positional(&p, &path, 1)))
            cli_args_unknown(&p);
    }
    if (p.failed) return CLI_USAGE;
    tensors = !no_tensors;
    if (!path) return cli_usage_error(CMD, "expected a MODEL");
    sa_checkpoint *ck;
    sa_error err;
    if (sa_ckpt_open(path, &ck, &err) != SA_OK) return cli_report(CMD, &err);
    cJSON *cfg;
    if (read_config(ck, &cfg, &err) != SA_OK) {
        sa_ckpt_close(ck);
        return cli_report(CMD, &err);
    }
    cJSON *o = describe(ck, cfg, tensors);
    sa_ckpt_close(ck);
    if (json)
        arith_cli_print_json(o);
    else {
        print_text(o);
        cJSON_Delete(o);
    }
    return CLI_OK;
}

const sa_cli_command sa_cmd_inspect = {
    "inspect", "architecture, parameters, dtypes, shards and tensors of a model", run};
