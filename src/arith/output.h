/* output.h: how arithmetic operations open their inputs and produce an output checkpoint
 * (internal): atomic directory, sharded writer, copied non-weight files, __metadata__. */
#ifndef SAFEARITH_ARITH_OUTPUT_H
#define SAFEARITH_ARITH_OUTPUT_H

#include "arith/stream.h"
#include "safearith/arith.h"

/* Open n checkpoints (all or none). */
sa_status sa_open_all(const char *const *paths, int n, sa_checkpoint **cks, sa_error *err);
void sa_close_all(sa_checkpoint **cks, int n);

typedef struct sa_output_job {
    sa_stream *stream;
    const sa_write_spec *spec;
    const sa_arith_opts *opts;
    const char *const *inputs; /* input paths: the output may not overlap them */
    int n_inputs;
    const char *copy_from; /* the target input (a model directory or a weights file in one) whose
                              non-weight files are copied (see sa_output_source), or NULL */
    const char *op;        /* recorded as safearith_op */
    const char *params;    /* JSON object text, recorded as safearith_params */
} sa_output_job;

/* Write the whole output (progress stage "writing"). */
sa_status sa_output_run(const sa_output_job *j, sa_error *err);

/* The directory whose non-weight files go with an output made from `target`: target itself if
 * it is a directory, the directory of a weights file that lies in a model directory (one holding
 * config.json); a weights file elsewhere is refused, as is a config.json that is not a JSON
 * object (a truncated file is never copied into an output). *dir is malloc'd. */
sa_status sa_output_source(const char *target, char **dir, sa_error *err);

/* What every operation runs before any work: the output checked against the n inputs and
 * `extra` (a recipe file, or NULL) with sa_output_check; with overwrite, an existing output must
 * be a previous one (an empty directory, or one whose checkpoint has safearith_op metadata); and
 * the target paths[0] checked with sa_output_source. */
sa_status sa_output_prepare(const sa_arith_opts *o, const char *const *paths, int n,
                            const char *extra, sa_error *err);

/* The caller's sa_arith_opts over the defaults (core/opts.h), into *out. */
sa_status sa_arith_opts_take(const sa_arith_opts *in, sa_arith_opts *out, sa_error *err);

#endif
