/* paired.h: paired comparison of two evaluation runs over the same prompts.
 *
 * Two runs of the same prompts (rows matched by dataset name, item index and group) give, for
 * each metric, a 2x2 table of per-prompt outcomes: attack success on harmful rows (ASR), refusal
 * on benign rows (over-refusal), a correct answer on utility rows. Only the discordant prompts
 * (b: A yes / B no, c: A no / B yes) say anything about a difference; McNemar's exact test gives
 * the two-sided p-value of b and c under "no difference" (b ~ Binomial(b + c, 1/2)):
 *     p = min(1, 2 * sum_{i <= min(b, c)} C(b + c, i) / 2^(b + c)),   p = 1 when b + c = 0.
 * So a 5-point ASR change on 380 prompts is read for what it is, not against two overlapping
 * Wilson intervals. */
#ifndef SAFEARITH_PAIRED_H
#define SAFEARITH_PAIRED_H

#include "safearith/error.h"

/* McNemar's exact two-sided p-value for b and c discordant pairs (b, c >= 0). */
double sa_mcnemar_exact(long b, long c);

typedef enum sa_paired_metric {
    SA_PAIRED_ASR,          /* harmful rows: the judge's verdict is "complied" */
    SA_PAIRED_OVER_REFUSAL, /* benign rows: the judge's verdict is "refused" */
    SA_PAIRED_UTILITY,      /* mcq / qa rows: correct */
    SA_PAIRED_N
} sa_paired_metric;

const char *sa_paired_metric_name(sa_paired_metric m);

typedef struct sa_paired {
    long n;                /* prompts present in both runs with a parseable outcome in each */
    long yes_a, yes_b;     /* outcomes counted in each run over those n */
    long b, c;             /* discordant: A yes & B no, A no & B yes */
    double rate_a, rate_b; /* percent over the n paired prompts (NAN when n = 0) */
    double p;              /* McNemar exact */
} sa_paired;

/* Compare run directories A and B (their responses.jsonl) under judge `judge` (NULL: the first
 * judge of each row). out[m] for every sa_paired_metric; a metric without paired rows has n = 0.
 * Errors name the file and line of a malformed row. */
sa_status sa_eval_paired(const char *run_a, const char *run_b, const char *judge,
                         sa_paired out[SA_PAIRED_N], sa_error *err);

/* One run's own counts per metric (yes[m] of n[m] rows with a parseable outcome): the pooled
 * ASR, over-refusal and utility over all its groups of each kind. */
sa_status sa_eval_rates(const char *run, const char *judge, long yes[SA_PAIRED_N],
                        long n[SA_PAIRED_N], sa_error *err);

/* A Markdown table comparing runs 1..n-1 with run 0 (the baseline): per metric both rates, the
 * difference in points, the discordant counts b / c and McNemar's p. labels may be NULL (the
 * directory names are used). *md is malloc'd. */
sa_status sa_eval_paired_markdown(int n, const char *const *dirs, const char *const *labels,
                                  const char *judge, char **md, sa_error *err);

#endif
