/* backend_engine.c: the evaluation backend on top of the inference engine and the tokenizer.
 *
 * Until the tokenizer API is part of the build this file only reports that the engine backend
 * is unavailable; the harness itself is tested with the fake backend. */
#include "safearith/eval.h"

#if !__has_include("safearith/tokenizer.h")
sa_status sa_eval_backend_engine(const char *model_dir, const sa_eval_engine_opts *opts,
                                 sa_eval_backend *out, sa_error *err) {
    (void)opts, (void)out;
    return sa_error_set(err, SA_EUNSUPPORTED,
                        "%s: this build has no tokenizer, so models cannot be evaluated yet",
                        model_dir);
}
#endif
