/* journal.h: TUNE_DIR/study.json and the append-only TUNE_DIR/trials.jsonl (internal).
 *
 * study.json names the recipe (canonical JSON) and its fingerprint; it is written once,
 * atomically, when a study starts, and a resume with another fingerprint is refused.
 * trials.jsonl gets one line per finished trial, appended whole and fdatasync'ed before the next
 * trial starts (sa_io_append_lines, which cuts a failed append off again), so after a SIGKILL the
 * file holds every finished trial and at most one torn line, which the resume cuts off. */
#ifndef SA_TUNE_JOURNAL_H
#define SA_TUNE_JOURNAL_H

#include <cjson/cJSON.h>

#include "safearith/error.h"
#include "tune/tune_internal.h"

typedef struct sa_tune_journal {
    char *path;
    int fd;
    cJSON *trials; /* the finished trials, in order */
    int started;   /* this open began the study: 1; and made its directory: 2 */
} sa_tune_journal;

/* Start a study in dir (created; refused if it holds one unless resume) or resume it: checks
 * study.json's fingerprint, cuts a torn last line, reads the finished trials. */
sa_status sa_tune_journal_open(sa_tune_journal *j, const sa_tune_recipe *r, const char *dir,
                               int resume, sa_error *err);
/* Append one trial (its line) and make it durable. */
sa_status sa_tune_journal_append(sa_tune_journal *j, const cJSON *trial, sa_error *err);
void sa_tune_journal_close(sa_tune_journal *j);
/* Close a study this open began, and remove it again (its files, and the directory if it made
 * it; other files, such as kl_prompts.json, are the caller's to remove first). */
void sa_tune_journal_discard(sa_tune_journal *j, const char *dir);
/* Read TUNE_DIR/study.json (for --apply). */
sa_status sa_tune_study_read(const char *dir, cJSON **study, sa_error *err);

#endif
