/* journal.c: study.json and trials.jsonl (see journal.h). */
#include "tune/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/json_build.h"
#include "formats/jsonl.h"
#include "core/fsutil.h"
#include "core/io.h"

#define STUDY_FORMAT "safearith-tune/1"

static sa_status write_study(const sa_tune_recipe *r, const char *path, sa_error *err) {
    sa_jb b = {0}; /* study.json whole or not at all */
    cJSON *s = sa_jb_root(&b);
    sa_jb_str(&b, s, "format", STUDY_FORMAT);
    sa_jb_str(&b, s, "fingerprint", r->fingerprint);
    sa_jb_str(&b, s, "recipe_path", r->path);
    sa_jb_add(&b, s, "recipe", cJSON_Duplicate(r->json, 1));
    char *text = b.oom ? NULL : cJSON_Print(s);
    cJSON_Delete(s);
    if (!text) return sa_error_set(err, SA_ENOMEM, "out of memory");
    sa_afile af;
    sa_status st = sa_afile_open(&af, path, 0, err);
    if (!st) fprintf(af.fp, "%s\n", text), st = sa_afile_commit(&af, err);
    free(text);
    return st;
}

sa_status sa_tune_study_read(const char *dir, cJSON **study, sa_error *err) {
    char *p = sa_path_join(dir, "study.json");
    sa_status st = p ? sa_json_read(p, study, err) : sa_error_set(err, SA_ENOMEM, "out of memory");
    if (!st && (!cJSON_IsObject(*study) ||
                !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(*study, "fingerprint")) ||
                !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(*study, "recipe")))) {
        cJSON_Delete(*study), *study = NULL;
        st = sa_error_set(err, SA_EFORMAT, "%s: not a safearith tune study", p);
    }
    free(p);
    return st;
}

/* Cut a torn last line (no newline: a write that SIGKILL interrupted). */
static sa_status cut_torn(const char *path, sa_error *err) {
    char *text = NULL;
    size_t len = 0;
    sa_status st = sa_read_file(path, &text, &len, err);
    if (st) return st;
    size_t keep = len;
    while (keep > 0 && text[keep - 1] != '\n') keep--;
    free(text);
    if (keep < len && sa_io_truncate(path, (off_t)keep) != 0)
        return sa_error_set(err, SA_EIO, "%s: cannot cut the torn last line: %s", path,
                            strerror(errno));
    return SA_OK;
}

static sa_status read_trials(sa_tune_journal *j, sa_error *err) {
    sa_status st = cut_torn(j->path, err);
    size_t *line_of = NULL;
    if (!st) st = sa_jsonl_read(j->path, 1, &j->trials, &line_of, err);
    int i = 0;
    const cJSON *t, *all = st ? NULL : j->trials;
    cJSON_ArrayForEach(t, all) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "trial");
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(t, "objectives");
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(t, "u");
        if (!cJSON_IsNumber(n) || n->valuedouble != i || !cJSON_IsObject(o) || !cJSON_IsArray(u)) {
            st = sa_error_set(err, SA_EFORMAT, "%s:%zu: expected trial %d with objectives and u",
                              j->path, line_of ? line_of[i] : (size_t)i + 1, i);
            break;
        }
        i++;
    }
    free(line_of);
    return st;
}

/* A new study goes into a new or empty directory that is not, does not lie inside and does not
 * contain an input. */
static sa_status check_place(const sa_tune_recipe *r, const char *dir, sa_error *err) {
    const char *inputs[] = {r->target,  r->base,      r->harmful, r->sft,
                            r->aligned, r->unaligned, r->pairs,   r->prompt_template};
    sa_status st = sa_output_check(dir, inputs, (int)(sizeof inputs / sizeof *inputs), 1, err);
    DIR *d = st ? NULL : opendir(dir);
    for (struct dirent *e; d && !st && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            st = sa_error_set(err, SA_EEXIST, "%s exists and is not empty (and holds no study)",
                              dir);
    if (d) closedir(d);
    return st;
}

sa_status sa_tune_journal_open(sa_tune_journal *j, const sa_tune_recipe *r, const char *dir,
                               int resume, sa_error *err) {
    memset(j, 0, sizeof *j);
    j->fd = -1;
    char *study = sa_path_join(dir, "study.json");
    j->path = sa_path_join(dir, "trials.jsonl");
    if (!study || !j->path) return free(study), sa_error_set(err, SA_ENOMEM, "out of memory");
    int has = access(study, F_OK) == 0;
    sa_status st = SA_OK;
    if (has && !resume) {
        st = sa_error_set(err, SA_EEXIST,
                          "%s already holds a study (use --resume to continue it, or another -o)",
                          dir);
    } else if (has) {
        cJSON *s = NULL;
        st = sa_tune_study_read(dir, &s, err);
        const char *fp = s ? cJSON_GetObjectItemCaseSensitive(s, "fingerprint")->valuestring : "";
        if (!st && strcmp(fp, r->fingerprint))
            st = sa_error_set(err, SA_EMISMATCH,
                              "%s holds a study of another recipe or other data (fingerprint "
                              "%.12s, this recipe %.12s): resume refused",
                              dir, fp, r->fingerprint);
        cJSON_Delete(s);
        if (!st && access(j->path, F_OK) == 0) st = read_trials(j, err);
    } else if ((st = check_place(r, dir, err)) == SA_OK) {
        j->started = 1 + (sa_io_mkdir(dir, 0777) == 0);
        if (j->started == 1 && errno != EEXIST)
            st = sa_error_set(err, SA_EIO, "%s: cannot create: %s", dir, strerror(errno));
        else if (!sa_is_dir(dir))
            st = sa_error_set(err, SA_EEXIST, "%s exists and is not a directory", dir);
        if (!st) st = write_study(r, study, err);
    }
    free(study);
    if (!st && !j->trials && !(j->trials = cJSON_CreateArray()))
        st = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (!st && (j->fd = sa_io_open(j->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666)) < 0)
        st = sa_error_set(err, SA_EIO, "%s: %s", j->path, strerror(errno));
    if (st) sa_tune_journal_close(j);
    return st;
}

sa_status sa_tune_journal_append(sa_tune_journal *j, const cJSON *trial, sa_error *err) {
    /* the copy the study reads back is made first: the file and j->trials never differ */
    cJSON *copy = cJSON_Duplicate(trial, 1);
    char *line = copy ? cJSON_PrintUnformatted(trial) : NULL;
    sa_status st = line ? SA_OK : sa_error_set(err, SA_ENOMEM, "out of memory");
    if (!st) {
        size_t n = strlen(line);
        line[n] = '\n'; /* replaces the NUL */
        st = sa_io_append_lines(j->fd, j->path, line, n + 1, err);
    }
    free(line);
    if (!st && cJSON_AddItemToArray(j->trials, copy)) copy = NULL; /* open made the list */
    cJSON_Delete(copy);
    return st;
}

void sa_tune_journal_discard(sa_tune_journal *j, const char *dir) {
    int started = j->started;
    char *study = started ? sa_path_join(dir, "study.json") : NULL;
    if (started && j->path) unlink(j->path);
    if (study) unlink(study);
    if (started == 2) rmdir(dir);
    free(study);
    sa_tune_journal_close(j);
}

void sa_tune_journal_close(sa_tune_journal *j) {
    if (j->fd >= 0) close(j->fd);
    cJSON_Delete(j->trials);
    free(j->path);
    memset(j, 0, sizeof *j);
    j->fd = -1;
}
