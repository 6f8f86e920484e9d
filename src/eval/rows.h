/* rows.h: what each row of responses.jsonl must hold (internal to src/eval). The summary and
 * resume read rows written by an earlier run, which a user may have edited or truncated; the
 * check here lets them read each field without testing it again. */
#ifndef SA_EVAL_ROWS_H
#define SA_EVAL_ROWS_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "safearith/error.h"

/* Largest dataset index and item index a row may carry (resume keys rows by ds << 40 | i). */
#define SA_EVAL_MAX_DS ((1 << 23) - 1)
#define SA_EVAL_MAX_ITEM ((double)(1ull << 40) - 1)

/* Why a row cannot be used (a short phrase), or NULL when it is well formed: an object with
 * integer "ds" and "i" in range, strings "dataset" and "group", "kind" one of harmful, benign,
 * mcq, qa; where present, "category" a string, "correct" / "correct_norm" numbers, "judges" an
 * object of verdicts, each an object whose "flag" is -1 (unparseable), 0 or 1. */
const char *sa_eval_row_problem(const cJSON *row);

/* Check every row of an array; the error names path and the line (line_of[i], or the row
 * number when line_of is NULL) of the first bad one. */
sa_status sa_eval_rows_check(const cJSON *rows, const size_t *line_of, const char *path,
                             sa_error *err);

#endif
