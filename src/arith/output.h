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
    const char *copy_from; /* directory whose non-weight files are copied, or NULL */
    const char *op;        /* recorded as safearith_op */
    const char *params;    /* JSON object text, recorded as safearith_params */
} sa_output_job;

/* Write the whole output (progress stage "writing"). */
sa_status sa_output_run(const sa_output_job *j, sa_error *err);

/* The directory of path if it is a directory, else NULL (non-weight files are copied only from
 * model directories). */
const char *sa_output_model_dir(const char *path);

#endif
