/* rundir.c: the run directory: run.json, the append-only responses.jsonl, and resume.
 *
 * Crash safety rests on two rules. run.json is only ever replaced atomically (sa_afile). Each
 * row of responses.jsonl is one line, appended to an O_APPEND descriptor (sa_io_append_lines: a
 * batch whose write fails is cut off again), so a SIGKILL leaves at most one incomplete last
 * line; resume cuts it off, reads the keys (dataset, item index) of the complete rows, and the
 * runner skips them: nothing is lost and nothing is written twice. Against a crash of the
 * machine the rows are fdatasync'ed in groups: at the first append once SA_EVAL_SYNC_S seconds
 * have passed since the last fdatasync or SA_EVAL_SYNC_ROWS rows have gathered, at the end of a
 * run, and before run.json changes (so it never says more than the rows on disk). A resume is
 * refused when the settings fingerprint (model, steering, datasets with their checksums,
 * prompting, judges, decoding) differs, naming the first setting that changed. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval/rows.h"
#include "formats/json_build.h"
#include "formats/jsonl.h"
#include "eval/eval_json.h"
#include "safearith/eval.h"
#include "core/fsutil.h"
#include "core/io.h"
#include "eval/strbuf.h"

#define RUN_FORMAT "safearith-eval-run/1"

static sa_status write_run_json(sa_eval_rundir *rd, sa_error *err) {
    char *path = sa_path_join(rd->dir, "run.json");
    char *text = cJSON_Print(rd->run);
    sa_afile af;
    sa_status st = (!path || !text) ? sa_error_set(err, SA_ENOMEM, "out of memory")
                                    : sa_afile_open(&af, path, 1, err);
    if (!st) {
        fputs(text, af.fp);
        fputc('\n', af.fp);
        st = sa_afile_commit(&af, err);
    }
    free(path);
    free(text);
    return st;
}

/* Describe the first difference between two settings objects into buf. */
static int first_diff(const cJSON *a, const cJSON *b, const char *where, char *buf, size_t n) {
    if (cJSON_IsObject(a) && cJSON_IsObject(b)) {
        const cJSON *x;
        cJSON_ArrayForEach(x, a) {
            char w[512];
            snprintf(w, sizeof w, "%s.%s", where, x->string);
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
            if (!y) return snprintf(buf, n, "%s is set in the run but not now", w), 1;
            if (first_diff(x, y, w, buf, n)) return 1;
        }
        cJSON_ArrayForEach(x, b) if (!cJSON_GetObjectItemCaseSensitive(a, x->string)) {
            return snprintf(buf, n, "%s.%s is new", where, x->string), 1;
        }
        return 0;
    }
    if (cJSON_IsArray(a) && cJSON_IsArray(b)) {
        int na = cJSON_GetArraySize(a), nb = cJSON_GetArraySize(b);
        for (int i = 0; i < na && i < nb; i++) {
            char w[512];
            snprintf(w, sizeof w, "%s[%d]", where, i);
            if (first_diff(cJSON_GetArrayItem(a, i), cJSON_GetArrayItem(b, i), w, buf, n)) return 1;
        }
        if (na != nb)
            return snprintf(buf, n, "%s has %d entries in the run, %d now", where, na, nb), 1;
        return 0;
    }
    if (cJSON_Compare(a, b, 1)) return 0;
    char *sa = cJSON_PrintUnformatted(a), *sb = cJSON_PrintUnformatted(b);
    snprintf(buf, n, "%s is %.80s in the run, %.80s now", where, sa ? sa : "?", sb ? sb : "?");
    free(sa), free(sb);
    return 1;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Cut an incomplete last line, then load the keys of the rows. */
static sa_status load_rows(sa_eval_rundir *rd, sa_error *err) {
    char *text = NULL;
    size_t len = 0;
    if (access(rd->responses_path, F_OK) != 0) return SA_OK; /* killed before the first row */
    sa_status st = sa_read_file(rd->responses_path, &text, &len, err);
    if (st) return st;
    size_t keep = len;
    while (keep && text[keep - 1] != '\n') keep--;
    if (keep != len && sa_io_truncate(rd->responses_path, (off_t)keep) != 0) {
        free(text);
        return sa_error_set(err, SA_EIO, "%s: cannot cut the incomplete last line: %s",
                            rd->responses_path, strerror(errno));
    }
    cJSON *rows = NULL;
    size_t *line_of = NULL;
    st = sa_jsonl_parse(text, keep, rd->responses_path, 1, &rows, &line_of, err);
    free(text);
    if (!st) st = sa_eval_rows_check(rows, line_of, rd->responses_path, err);
    free(line_of);
    size_t n = (size_t)cJSON_GetArraySize(rows), i = 0;
    rd->done = st ? NULL : malloc((n ? n : 1) * sizeof *rd->done);
    if (!st && !rd->done) st = sa_error_set(err, SA_ENOMEM, "out of memory");
    if (st) {
        cJSON_Delete(rows);
        return st;
    }
    const cJSON *r;
    cJSON_ArrayForEach(r, rows) { /* checked: integer indexes in range */
        double ds = cJSON_GetObjectItemCaseSensitive(r, "ds")->valuedouble;
        double ix = cJSON_GetObjectItemCaseSensitive(r, "i")->valuedouble;
        rd->done[i++] = (uint64_t)ds << 40 | (uint64_t)ix;
    }
    cJSON_Delete(rows);
    qsort(rd->done, n, sizeof *rd->done, cmp_u64);
    for (size_t k = 1; k < n; k++)
        if (rd->done[k] == rd->done[k - 1])
            return sa_error_set(err, SA_EFORMAT, "%s: duplicate row (dataset %llu, item %llu)",
                                rd->responses_path, (unsigned long long)(rd->done[k] >> 40),
                                (unsigned long long)(rd->done[k] & ((1ull << 40) - 1)));
    rd->n_done = n;
    return SA_OK;
}

/* Runs written before seeds were strings (sa_json_u64) stored them as JSON numbers: turn every
 * "seed" string of v that a number held exactly (below 2^53) back into one. */
static void seeds_as_numbers(cJSON *v) {
    cJSON *x;
    cJSON_ArrayForEach(x, v) {
        uint64_t s;
        if (x->string && !strcmp(x->string, "seed") && cJSON_IsString(x) &&
            sa_json_get_u64(x, &s) && s < (1ull << 53)) {
            free(x->valuestring);
            x->valuestring = NULL;
            x->type = cJSON_Number;
            cJSON_SetNumberValue(x, (double)s);
        } else if (cJSON_IsObject(x) || cJSON_IsArray(x)) {
            seeds_as_numbers(x);
        }
    }
}

/* 1 if old_fp is the fingerprint an older safearith gave these settings (seeds as numbers). */
static int legacy_match(const cJSON *settings, const char *old_fp) {
    cJSON *copy = cJSON_Duplicate(settings, 1);
    if (!copy) return 0;
    seeds_as_numbers(copy);
    char fp[65];
    int ok = sa_eval_fingerprint(copy, fp, NULL) == SA_OK;
    cJSON_Delete(copy);
    return ok && !strcmp(fp, old_fp);
}

/* Adopt the current form of the settings (and their fingerprint) in a run made by an older
 * safearith that stored the same settings in another form. */
static int upgrade_settings(cJSON *run, const cJSON *settings, const char *fp) {
    cJSON *s = cJSON_Duplicate(settings, 1), *f = cJSON_CreateString(fp);
    if (s && f && cJSON_ReplaceItemInObjectCaseSensitive(run, "settings", s)) {
        s = NULL;
        if (cJSON_ReplaceItemInObjectCaseSensitive(run, "fingerprint", f)) return 1;
    }
    cJSON_Delete(s);
    cJSON_Delete(f);
    return 0;
}

static sa_status open_existing(sa_eval_rundir *rd, const cJSON *settings, const char *fp,
                               sa_error *err) {
    char *path = sa_path_join(rd->dir, "run.json");
    cJSON *old = NULL;
    sa_status st = sa_json_read(path, &old, err);
    free(path);
    if (st) return sa_error_prefix(err, "--resume: %s is not a run directory", rd->dir);
    const cJSON *ofp = cJSON_GetObjectItemCaseSensitive(old, "fingerprint");
    if (cJSON_IsString(ofp) && strcmp(ofp->valuestring, fp) &&
        legacy_match(settings, ofp->valuestring) && !upgrade_settings(old, settings, fp)) {
        cJSON_Delete(old);
        return sa_error_set(err, SA_ENOMEM, "%s: out of memory", rd->dir);
    }
    ofp = cJSON_GetObjectItemCaseSensitive(old, "fingerprint");
    if (!cJSON_IsString(ofp) || strcmp(ofp->valuestring, fp)) {
        char diff[700] = "the settings fingerprint differs";
        first_diff(cJSON_GetObjectItemCaseSensitive(old, "settings"), settings, "settings", diff,
                   sizeof diff);
        cJSON_Delete(old);
        return sa_error_set(err, SA_EMISMATCH, "--resume: %s was made with different settings: %s",
                            rd->dir, diff);
    }
    rd->run = old;
    return load_rows(rd, err);
}

sa_status sa_eval_rundir_open(const char *dir, const cJSON *settings, const cJSON *info, int resume,
                              sa_eval_rundir *rd, sa_error *err) {
    memset(rd, 0, sizeof *rd);
    rd->fd = -1;
    rd->synced_at = sa_eval_now_s();
    rd->dir = strdup(dir);
    rd->responses_path = sa_path_join(dir, "responses.jsonl");
    char fp[65];
    sa_status fst = sa_eval_fingerprint(settings, fp, NULL);
    char *runjson = sa_path_join(dir, "run.json");
    if (fst || !rd->dir || !rd->responses_path || !runjson) {
        free(runjson);
        sa_eval_rundir_close(rd);
        return sa_error_set(err, SA_ENOMEM, "%s: out of memory", dir);
    }
    int has_run = access(runjson, F_OK) == 0, has_rows = access(rd->responses_path, F_OK) == 0;
    sa_status st = SA_OK;
    int created = 0; /* the directory is ours: a failure removes it again */
    if (resume && has_run) {
        st = open_existing(rd, settings, fp, err);
    } else if (has_run || has_rows) {
        st = sa_error_set(err, SA_EEXIST,
                          "%s already holds a run (use --resume to continue it, or another -o)",
                          dir);
    } else {
        if (sa_io_mkdir(dir, 0777) == 0)
            created = 1;
        else if (errno != EEXIST)
            st = sa_error_set(err, SA_EIO, "%s: cannot create: %s", dir, strerror(errno));
        else if (!sa_is_dir(dir))
            st = sa_error_set(err, SA_EEXIST, "%s exists and is not a directory", dir);
        if (!st) {
            sa_jb b = {0};
            rd->run = sa_jb_root(&b);
            sa_jb_str(&b, rd->run, "format", RUN_FORMAT);
            sa_jb_str(&b, rd->run, "fingerprint", fp);
            sa_jb_add(&b, rd->run, "settings", cJSON_Duplicate(settings, 1));
            sa_jb_num(&b, rd->run, "resumed", 0);
            if (b.oom) st = sa_error_set(err, SA_ENOMEM, "%s: out of memory", dir);
        }
    }
    if (!st) {
        cJSON_DeleteItemFromObject(rd->run, "info");
        if (info && !sa_json_attach(rd->run, "info", cJSON_Duplicate(info, 1)))
            st = sa_error_set(err, SA_ENOMEM, "%s: out of memory", dir);
    }
    if (!st) {
        if (rd->n_done || resume) {
            cJSON *r = cJSON_GetObjectItemCaseSensitive(rd->run, "resumed");
            if (cJSON_IsNumber(r)) cJSON_SetNumberValue(r, r->valuedouble + (resume ? 1 : 0));
        }
        st = sa_eval_rundir_set_status(rd, "running", NULL, err);
    }
    if (!st) {
        rd->fd = sa_io_open(rd->responses_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
        if (rd->fd < 0)
            st = sa_error_set(err, SA_EIO, "%s: cannot open: %s", rd->responses_path,
                              strerror(errno));
    }
    if (st && created) { /* nothing of this run may stay behind */
        unlink(rd->responses_path);
        unlink(runjson);
        rmdir(dir);
    }
    free(runjson);
    if (st) sa_eval_rundir_close(rd);
    return st;
}

int sa_eval_rundir_has(const sa_eval_rundir *rd, int ds, size_t index) {
    uint64_t key = (uint64_t)ds << 40 | (uint64_t)index;
    return rd->n_done && bsearch(&key, rd->done, rd->n_done, sizeof key, cmp_u64) != NULL;
}

sa_status sa_eval_rundir_append(sa_eval_rundir *rd, int n, cJSON *const *rows, sa_error *err) {
    sa_sbuf lines = {0};
    for (int i = 0; i < n && !lines.oom; i++) {
        char *s = cJSON_PrintUnformatted(rows[i]);
        if (s) sa_sbuf_printf(&lines, "%s\n", s);
        lines.oom |= !s;
        free(s);
    }
    sa_status st =
        lines.oom ? sa_error_set(err, SA_ENOMEM, "%s: out of memory", rd->responses_path)
        : lines.n ? sa_io_append_lines_nosync(rd->fd, rd->responses_path, lines.s, lines.n, err)
                  : SA_OK;
    free(lines.s);
    if (st) return st;
    rd->unsynced += (size_t)n;
    if (rd->unsynced >= SA_EVAL_SYNC_ROWS || sa_eval_now_s() - rd->synced_at >= SA_EVAL_SYNC_S)
        return sa_eval_rundir_sync(rd, err);
    return SA_OK;
}

sa_status sa_eval_rundir_sync(sa_eval_rundir *rd, sa_error *err) {
    if (!rd->unsynced || rd->fd < 0) return SA_OK;
    if (sa_io_fdatasync(rd->fd) != 0)
        return sa_error_set(err, SA_EIO, "%s: fdatasync failed: %s", rd->responses_path,
                            strerror(errno));
    rd->unsynced = 0, rd->synced_at = sa_eval_now_s();
    return SA_OK;
}

sa_status sa_eval_rundir_set_status(sa_eval_rundir *rd, const char *status, const cJSON *extra,
                                    sa_error *err) {
    sa_status st = sa_eval_rundir_sync(rd, err);
    if (st) return st;
    sa_jb b = {0};
    cJSON_DeleteItemFromObject(rd->run, "status");
    sa_jb_str(&b, rd->run, "status", status);
    const cJSON *x;
    cJSON_ArrayForEach(x, extra) {
        cJSON_DeleteItemFromObject(rd->run, x->string);
        sa_jb_add(&b, rd->run, x->string, cJSON_Duplicate(x, 1));
    }
    /* run.json keeps its last whole state rather than one short of a field */
    if (b.oom) return sa_error_set(err, SA_ENOMEM, "%s/run.json: out of memory", rd->dir);
    return write_run_json(rd, err);
}

void sa_eval_rundir_close(sa_eval_rundir *rd) {
    if (!rd) return;
    if (rd->fd >= 0) close(rd->fd);
    cJSON_Delete(rd->run);
    free(rd->dir), free(rd->responses_path), free(rd->done);
    memset(rd, 0, sizeof *rd);
    rd->fd = -1;
}

/* Canonical fingerprint of a JSON value: the SHA-256 of its unformatted text. */
sa_status sa_eval_fingerprint(const cJSON *v, char hex[65], sa_error *err) {
    char *s = v ? cJSON_PrintUnformatted(v) : NULL;
    hex[0] = 0;
    if (!s) return sa_error_set(err, SA_ENOMEM, "out of memory (fingerprint)");
    sa_sha256_hex(s, strlen(s), hex);
    free(s);
    return SA_OK;
}
