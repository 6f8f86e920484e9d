/* output.c: input opening and the common output path of every arithmetic operation (see
 * output.h).
 *
 * Non-weight files are every regular, non-hidden file of the target directory except weights in
 * any format (*.safetensors, their index, *.bin, *.pt, *.pth, *.ckpt, *.gguf, *.h5, *.msgpack,
 * *.onnx), since those would describe the old weights. When the output dtype is forced,
 * config.json's torch_dtype is updated to match. */
#include "arith/output.h"
#include "core/io.h"
#include "core/opts.h"
#include "safearith/version.h"

#include "arith/card.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/fsutil.h"
#include "formats/jsonl.h"
#include "core/fsutil.h"
#include "safearith/provenance.h"

sa_status sa_open_all(const char *const *paths, int n, sa_checkpoint **cks, sa_error *err) {
    for (int i = 0; i < n; i++) cks[i] = NULL;
    for (int i = 0; i < n; i++) {
        sa_status s = sa_ckpt_open(paths[i], &cks[i], err);
        if (s != SA_OK) {
            sa_close_all(cks, n);
            return s;
        }
    }
    return SA_OK;
}

void sa_close_all(sa_checkpoint **cks, int n) {
    for (int i = 0; i < n; i++) {
        sa_ckpt_close(cks[i]);
        cks[i] = NULL;
    }
}

/* A config.json that is there must be a JSON object. */
static sa_status check_config(const char *dir, sa_error *err) {
    char *path = sa_path_join(dir, "config.json");
    struct stat st;
    if (!path) return sa_error_set(err, SA_ENOMEM, "out of memory");
    cJSON *root = NULL;
    sa_status s = stat(path, &st) != 0 ? SA_OK : sa_json_read(path, &root, err);
    if (s == SA_OK && root && !cJSON_IsObject(root))
        s = sa_error_set(err, SA_EFORMAT, "%s: not a JSON object", path);
    if (s != SA_OK) { /* one line: what is wrong, then what we do about it */
        char why[SA_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err ? err->msg : "");
        s = sa_error_set(err, s, "%.400s; refusing to copy it into the output", why);
    }
    cJSON_Delete(root);
    free(path);
    return s;
}

sa_status sa_output_source(const char *target, char **dir, sa_error *err) {
    *dir = NULL;
    char *base, *adapter; /* BASE+ADAPTER: the base's files */
    sa_status sp = sa_ckpt_path_split(target, &base, &adapter, err);
    if (sp != SA_OK) return sp;
    if (adapter) {
        free(adapter);
        sp = sa_output_source(base, dir, err);
        free(base);
        return sp;
    }
    free(base);
    char *d = NULL;
    if (sa_is_dir(target)) {
        d = strdup(target);
    } else {
        const char *slash = strrchr(target, '/');
        d = !slash            ? strdup(".")
            : slash == target ? strdup("/")
                              : strndup(target, (size_t)(slash - target));
        char *cfg = d ? sa_path_join(d, "config.json") : NULL;
        struct stat st;
        int model_dir = cfg && stat(cfg, &st) == 0;
        free(cfg);
        if (d && !model_dir) {
            free(d);
            return sa_error_set(err, SA_EINVAL,
                                "%s: a weights file outside a model directory (no config.json "
                                "beside it); give the model directory, whose config and tokenizer "
                                "go with the output",
                                target);
        }
    }
    if (!d) return sa_error_set(err, SA_ENOMEM, "out of memory");
    sa_status s = check_config(d, err);
    if (s != SA_OK) {
        free(d);
        return s;
    }
    *dir = d;
    return SA_OK;
}

/* --overwrite replaces a previous output only: an empty directory or one whose checkpoint was
 * written by safearith (its metadata holds safearith_op), never a file or someone's directory. */
static sa_status replaceable(const char *out, sa_error *err) {
    struct stat st;
    if (lstat(out, &st) != 0) return SA_OK;
    DIR *d = S_ISDIR(st.st_mode) ? opendir(out) : NULL;
    int empty = d != NULL;
    for (struct dirent *e; d && empty && (e = readdir(d));)
        empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    if (d) closedir(d);
    if (empty) return SA_OK;
    sa_checkpoint *ck = NULL;
    sa_error ignored = {0};
    int ours = S_ISDIR(st.st_mode) && sa_ckpt_open(out, &ck, &ignored) == SA_OK &&
               sa_ckpt_metadata(ck, "safearith_op") != NULL;
    sa_ckpt_close(ck);
    if (ours) return SA_OK;
    return sa_error_set(err, SA_EEXIST,
                        "%s: exists and is not an output of safearith (no safearith_op in its "
                        "metadata); --overwrite only replaces a previous output",
                        out);
}

sa_status sa_output_prepare(const sa_arith_opts *o, const char *const *paths, int n,
                            const char *extra, sa_error *err) {
    if (!o->output) return sa_error_set(err, SA_EINVAL, "no output directory given");
    const char *inputs[SA_MAX_INPUTS + 1];
    int k = 0;
    for (int i = 0; i < n && k < SA_MAX_INPUTS; i++) inputs[k++] = paths[i];
    if (extra) inputs[k++] = extra;
    sa_status s = sa_output_check(o->output, inputs, k, o->overwrite, err);
    if (s == SA_OK && o->overwrite) s = replaceable(o->output, err);
    char *dir = NULL;
    if (s == SA_OK) s = sa_output_source(paths[0], &dir, err);
    free(dir);
    return s;
}

static int is_weight_file(const char *name) {
    static const char *const ext[] = {".safetensors",   ".safetensors.index.json",
                                      ".bin",           ".pt",
                                      ".pth",           ".ckpt",
                                      ".gguf",          ".h5",
                                      ".msgpack",       ".onnx",
                                      ".bin.index.json"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t m = strlen(ext[i]);
        if (n >= m && !strcmp(name + n - m, ext[i])) return 1;
    }
    return 0;
}

static const char *torch_dtype_name(int dt) {
    return dt == SA_F32 ? "float32" : dt == SA_BF16 ? "bfloat16" : "float16";
}

/* Copy config.json with torch_dtype (and dtype) set to the forced output dtype. */
static sa_status copy_config(const char *src, const char *dst, int out_dtype, sa_error *err) {
    char *text;
    size_t len;
    sa_status s = sa_read_file(src, &text, &len, err);
    if (s != SA_OK) return s;
    if (!strstr(text, "dtype")) { /* nothing to set: the bytes as they are */
        free(text);
        return sa_copy_file(src, dst, err);
    }
    cJSON *root = cJSON_ParseWithLength(text, len);
    int no_memory = !root && sa_json_syntax_ok(text, len);
    free(text);
    if (no_memory) return sa_error_set(err, SA_ENOMEM, "%s: out of memory", src);
    if (!cJSON_IsObject(root)) { /* sa_output_source refused it already */
        cJSON_Delete(root);
        return sa_error_set(err, SA_EFORMAT, "%s: not a valid JSON object", src);
    }
    const char *keys[] = {"torch_dtype", "dtype"};
    int oom = 0;
    for (int i = 0; i < 2; i++)
        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, keys[i]))) {
            cJSON *v = cJSON_CreateString(torch_dtype_name(out_dtype));
            if (!v || !cJSON_ReplaceItemInObjectCaseSensitive(root, keys[i], v))
                cJSON_Delete(v), oom = 1;
        }
    char *out = oom ? NULL : cJSON_Print(root);
    cJSON_Delete(root);
    if (!out) return sa_error_set(err, SA_ENOMEM, "out of memory");
    FILE *f = sa_io_fopen_write(dst);
    int bad = !f || fputs(out, f) < 0 || fputc('\n', f) == EOF;
    if (f) bad |= sa_io_fclose(f) != 0;
    free(out);
    return bad ? sa_error_set(err, SA_EIO, "%s: write failed: %s", dst, strerror(errno)) : SA_OK;
}

static sa_status copy_non_weights(const char *from, const char *to, int out_dtype, sa_error *err) {
    DIR *d = opendir(from);
    if (!d) return sa_error_set(err, SA_EIO, "%s: cannot list directory", from);
    struct dirent *e;
    sa_status s = SA_OK;
    while (s == SA_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.' || is_weight_file(e->d_name)) continue;
        char *src = sa_path_join(from, e->d_name), *dst = sa_path_join(to, e->d_name);
        struct stat st;
        if (!src || !dst)
            s = sa_error_set(err, SA_ENOMEM, "out of memory");
        else if (stat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
        } else if (out_dtype >= 0 && !strcmp(e->d_name, "config.json"))
            s = copy_config(src, dst, out_dtype, err);
        else
            s = sa_copy_file(src, dst, err);
        free(src);
        free(dst);
    }
    closedir(d);
    return s;
}

static sa_status write_model(const sa_output_job *j, const char *dir, sa_error *err) {
    const char *meta[] = {"safearith_op", j->op, "safearith_params", j->params, "safearith_version",
                          sa_version(),   NULL};
    sa_st_writer_opts wo;
    sa_st_writer_opts_init(&wo);
    wo.max_shard_bytes = j->opts->max_shard_bytes, wo.metadata_kv = meta;
    sa_st_writer *w;
    sa_status s = sa_st_writer_create(dir, &wo, &w, err);
    if (s != SA_OK) return s;
    const sa_aligned *a = sa_stream_aligned(j->stream);
    sa_stream_stage(j->stream, "writing", sa_ckpt_total_params(a->ck[0]));
    s = sa_stream_write(j->stream, w, j->spec, err);
    if (s == SA_OK) s = sa_st_writer_finish(w, err);
    sa_st_writer_free(w);
    char *from = NULL;
    if (s == SA_OK && j->copy_from) s = sa_output_source(j->copy_from, &from, err);
    if (s == SA_OK && from) s = copy_non_weights(from, dir, j->opts->out_dtype, err);
    free(from);
    if (s == SA_OK && !j->opts->no_model_card) {
        sa_card_info c = {j->opts->output,
                          j->op,
                          j->params,
                          j->copy_from ? j->copy_from : j->inputs[0],
                          j->inputs,
                          j->n_inputs,
                          j->opts->command_line};
        s = sa_card_write(dir, &c, err);
    }
    return s;
}

sa_status sa_output_run(const sa_output_job *j, sa_error *err) {
    if (!j->opts->output) return sa_error_set(err, SA_EINVAL, "no output directory given");
    sa_outdir od;
    sa_status s = j->opts->overwrite ? replaceable(j->opts->output, err) : SA_OK;
    if (s == SA_OK)
        s = sa_outdir_open(&od, j->opts->output, j->inputs, j->n_inputs, j->opts->overwrite, err);
    if (s != SA_OK) return s;
    s = write_model(j, od.tmp_path, err);
    if (s == SA_OK) return sa_outdir_commit(&od, err);
    sa_outdir_abort(&od);
    return s;
}

void sa_arith_opts_init(sa_arith_opts *o) {
    *o = (sa_arith_opts){
        .struct_size = sizeof *o, .out_dtype = -1, .max_shard_bytes = SA_DEFAULT_SHARD_BYTES};
}

sa_status sa_arith_opts_take(const sa_arith_opts *in, sa_arith_opts *out, sa_error *err) {
    sa_arith_opts_init(out);
    return sa_opts_take(out, sizeof *out, in, "sa_arith_opts", err);
}
