/* card.c: the README.md model card of every checkpoint an arithmetic operation writes.
 *
 * Hugging Face's model-card form: YAML front matter (base_model: the model whose config and
 * tokenizer the output carries; tags: safearith and the operation; library_name: transformers,
 * since the output loads there), then the operation, every parameter (the operation's
 * safearith_params, the same JSON its __metadata__ records), each input with its identifying
 * files (provenance.h: SHA-256, or size and mtime above the hash limit; a BASE+ADAPTER input:
 * the base's, then the adapter's, as "ROLE (adapter)"), the exact command line
 * and the safearith version. Nothing in it depends on the time or the machine, so the recorded
 * command, run again, writes the same card and the same weights.
 * A README.md that came along with the copied non-weight files (the source model's own card) is
 * kept as README.source.md (or README.source-N.md if that name is taken) and linked. */
#include "arith/card.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/fsutil.h"
#include "core/io.h"
#include "safearith/provenance.h"
#include "safearith/safetensors.h"

static const char *describe(const char *op) {
    static const struct {
        const char *op, *text;
    } ops[] = {
        {"hdr", "Harm Direction Removal (Safety Arithmetic): out = target - lambda * "
                "trim_k(harmful - base), the harmful task vector's largest entries removed from "
                "the target."},
        {"resta", "RESTA: out = sft + beta * (aligned - unaligned), the safety vector added back "
                  "to a fine-tuned model (with DARE on sft - aligned when dare_p > 0)."},
        {"merge", "A mergekit-style merge of task vectors (base + combined model - base)."},
        {"task_vector", "The task vector tau = model - base, stored as a checkpoint (not a "
                        "runnable model; input to hdr --harmful or merges)."},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(op, ops[i].op)) return ops[i].text;
    return "A weight-space operation.";
}

/* A YAML double-quoted scalar. */
static void yaml_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* A Markdown table cell: | and newlines would break the row. */
static void md_cell(FILE *f, const char *s) {
    for (; *s; s++) fputs(*s == '|' ? "\\|" : *s == '\n' ? " " : (char[2]){*s, 0}, f);
}

/* The parameter name under which params records path (an input's role), or NULL. */
static const char *role_of(const cJSON *params, const char *path) {
    const cJSON *it;
    cJSON_ArrayForEach(it, params) {
        if (cJSON_IsString(it) && !strcmp(it->valuestring, path)) return it->string;
        if (cJSON_IsArray(it)) {
            const cJSON *m;
            cJSON_ArrayForEach(m, it) {
                const cJSON *p = cJSON_GetObjectItemCaseSensitive(m, "model");
                if (cJSON_IsString(p) && !strcmp(p->valuestring, path)) return it->string;
            }
        }
    }
    return NULL;
}

/* 0, or -1 if a value could not be printed (out of memory). */
static int write_params(FILE *f, const cJSON *params) {
    fputs("## Parameters\n\n| parameter | value |\n|---|---|\n", f);
    const cJSON *it;
    cJSON_ArrayForEach(it, params) {
        char *v = cJSON_IsString(it) ? NULL : cJSON_PrintUnformatted(it);
        if (!v && !cJSON_IsString(it)) return -1;
        fputs("| ", f);
        md_cell(f, it->string);
        fputs(" | ", f);
        md_cell(f, v ? v : it->valuestring);
        fputs(" |\n", f);
        free(v);
    }
    return 0;
}

/* The rows of one input directory (or the bare input when it is not a directory). */
static sa_status write_input_rows(FILE *f, const char *role, const char *input, const char *dir,
                                  sa_error *err) {
    sa_input_files in = {0};
    if (dir) {
        sa_status st = sa_input_files_scan(dir, &in, err);
        if (st) return st;
    }
    for (int k = 0; k < (in.n ? in.n : 1); k++) {
        fputs("| ", f);
        md_cell(f, role);
        fputs(" | ", f);
        md_cell(f, input);
        if (!in.n) {
            fputs(" | | | |\n", f);
            continue;
        }
        fputs(" | ", f);
        md_cell(f, in.f[k].name);
        fprintf(f, " | %llu | ", (unsigned long long)in.f[k].size);
        if (in.f[k].sha256[0])
            fprintf(f, "%s |\n", in.f[k].sha256);
        else
            fprintf(f, "mtime %lld |\n", (long long)in.f[k].mtime);
    }
    sa_input_files_free(&in);
    return SA_OK;
}

/* Each input's files; a BASE+ADAPTER input lists the base's, then the adapter's. */
static sa_status write_inputs(FILE *f, const sa_card_info *c, const cJSON *params, sa_error *err) {
    fputs("\n## Inputs\n\n| role | input | file | size | SHA-256 (or mtime) |\n"
          "|---|---|---|---|---|\n",
          f);
    sa_status st = SA_OK;
    for (int i = 0; i < c->n_inputs && !st; i++) {
        const char *role = role_of(params, c->inputs[i]);
        char *base = NULL, *adapter = NULL;
        if (sa_is_dir(c->inputs[i]))
            st = write_input_rows(f, role ? role : "input", c->inputs[i], c->inputs[i], err);
        else if (sa_ckpt_path_split(c->inputs[i], &base, &adapter, NULL) == SA_OK && adapter &&
                 sa_is_dir(base) && sa_is_dir(adapter)) {
            char ar[64];
            snprintf(ar, sizeof ar, "%s (adapter)", role ? role : "input");
            st = write_input_rows(f, role ? role : "input", base, base, err);
            if (!st) st = write_input_rows(f, ar, adapter, adapter, err);
        } else
            st = write_input_rows(f, role ? role : "input", c->inputs[i], NULL, err);
        free(base), free(adapter);
    }
    return st;
}

/* Move a copied README.md aside; *kept receives the new name ("" if there was none). */
static sa_status keep_old_card(const char *dir, char kept[64], sa_error *err) {
    kept[0] = 0;
    char *old = sa_path_join(dir, "README.md");
    struct stat sb;
    sa_status st = SA_OK;
    if (old && stat(old, &sb) == 0) {
        for (int n = 1; n < 1000 && !kept[0]; n++) {
            char name[64];
            if (n == 1)
                snprintf(name, sizeof name, "README.source.md");
            else
                snprintf(name, sizeof name, "README.source-%d.md", n);
            char *p = sa_path_join(dir, name);
            if (p && stat(p, &sb) != 0) {
                if (sa_io_rename(old, p) != 0)
                    st = sa_error_set(err, SA_EIO, "%s: cannot rename to %s", old, p);
                snprintf(kept, 64, "%s", name);
            }
            free(p);
        }
    }
    free(old);
    return old ? st : sa_error_set(err, SA_ENOMEM, "out of memory");
}

static void front_matter(FILE *f, const sa_card_info *c) {
    fputs("---\nbase_model: ", f);
    yaml_str(f, c->base_model);
    fputs("\ntags:\n- safearith\n- ", f);
    yaml_str(f, c->op);
    fputs("\nlibrary_name: transformers\n---\n\n", f);
}

sa_status sa_card_write(const char *dir, const sa_card_info *c, sa_error *err) {
    char kept[64];
    cJSON *params = cJSON_Parse(c->params_json);
    if (!params) return sa_error_set(err, SA_ENOMEM, "model card: unreadable parameters");
    sa_status st = keep_old_card(dir, kept, err);
    char *path = st ? NULL : sa_path_join(dir, "README.md");
    FILE *f = path ? sa_io_fopen_write(path) : NULL;
    if (!st && !path) st = sa_error_set(err, SA_ENOMEM, "%s: out of memory", dir);
    if (!st && !f)
        st = sa_error_set(err, errno == ENOMEM ? SA_ENOMEM : SA_EIO,
                          "%s: cannot create the model card: %s", dir, strerror(errno));
    if (!st) {
        front_matter(f, c);
        const char *name = strrchr(c->output, '/');
        fprintf(f, "# %s\n\n", name && name[1] ? name + 1 : c->output);
        fprintf(f, "Written by safearith %s, operation `%s`.\n\n%s\n\n", SA_VERSION, c->op,
                describe(c->op));
        if (kept[0])
            fprintf(f, "The card of `%s` that came with its files is kept as [%s](%s).\n\n",
                    c->base_model, kept, kept);
        st = write_params(f, params) ? sa_error_set(err, SA_ENOMEM, "model card: out of memory")
                                     : write_inputs(f, c, params, err);
    }
    if (!st) {
        fputs("\n## Command\n\nRun from the same directory, with the inputs above, it writes this "
              "checkpoint again bit for bit:\n\n```sh\n",
              f);
        fprintf(f, "%s\n```\n\nsafearith version: %s\n",
                c->command_line ? c->command_line
                                : "(not recorded: "
                                  "written through the "
                                  "library)",
                SA_VERSION);
    }
    if (f && sa_io_fclose(f) != 0 && !st)
        st = sa_error_set(err, SA_EIO, "%s: write failed: %s", path, strerror(errno));
    free(path);
    cJSON_Delete(params);
    return st;
}
