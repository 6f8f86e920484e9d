/* tune_report.h: a finished study's outputs: front.json, report.md and its charts (internal). */
#ifndef SA_TUNE_REPORT_H
#define SA_TUNE_REPORT_H

#include "tune/study.h"

typedef struct sa_tune_report_in {
    const sa_tune_recipe *r;
    const char *dir, *judge;
    const cJSON *trials; /* the journal */
    long chosen;         /* -1: none meets the constraints */
    int hdr_passes;      /* passes over the harm vector (this process; 0: no HDR) */
    sa_tune_point base, ref, base_test, ref_test, chosen_test;
} sa_tune_report_in;

sa_status sa_tune_write_outputs(const sa_tune_report_in *in, sa_tune_result *res, sa_error *err);
/* A journal line's objectives. */
void sa_tune_trial_objectives(const cJSON *trial, double o[SA_TUNE_N_OBJ]);
/* 1 if objectives meet the recipe's constraints against the unmodified model's. */
int sa_tune_feasible(const sa_tune_recipe *r, const double *obj, const double *base);

#endif
