/* recipe_read.h: the reading context of a tune recipe and its checked accessors (internal).
 *
 * Every accessor names the key it reads in its error ("FILE: space.lambda: empty range"), so
 * recipe.c and recipe_space.c report problems the same way. Paths are resolved against the
 * recipe's directory when they do not exist as given, and made absolute. */
#ifndef SA_TUNE_RECIPE_READ_H
#define SA_TUNE_RECIPE_READ_H

#include "formats/json_build.h"
#include "tune/tune_internal.h"

typedef struct rctx {
    sa_tune_recipe *r;
    const char *path;
    char *dir;
    sa_error *err;
    sa_jb jb; /* defaults the recipe did not give, and copies, are added through it
               * (formats/json_build.h): a failed add fails the load with SA_ENOMEM */
} rctx;

/* "FILE: key: what" as SA_EFORMAT. */
sa_status sa_rc_bad(rctx *c, const char *key, const char *what);
/* obj must be a mapping whose keys are all in the NULL-terminated allowed list. */
sa_status sa_rc_check_keys(rctx *c, const cJSON *obj, const char *where,
                           const char *const *allowed);
/* An absolute path: p as given if it exists, else relative to the recipe's directory; NULL when
 * out of memory. */
char *sa_rc_resolve(rctx *c, const char *p);
/* Resolve the string item in place. spec: a dataset spec, whose path is the part before the
 * first ':' and must be a file, not a directory. */
sa_status sa_rc_resolve_item(rctx *c, cJSON *item, const char *where, int spec, int must_exist);
/* obj[key] as an integer / a number in [lo, hi]; absent: def, written into obj (a NAN default
 * is not written). */
sa_status sa_rc_get_int(rctx *c, cJSON *obj, const char *key, const char *where, int lo, int hi,
                        int def, int *out);
sa_status sa_rc_get_num(rctx *c, cJSON *obj, const char *key, const char *where, double lo,
                        double hi, double def, double *out);
/* obj[key] as a boolean (true / false); absent: def, written into obj. */
sa_status sa_rc_get_bool(rctx *c, cJSON *obj, const char *key, const char *where, int def,
                         int *out);
const char *sa_rc_get_str(cJSON *obj, const char *key);

/* space: the searched knobs and the fixed values of the method's other knobs (recipe_space.c). */
sa_status sa_rc_parse_space(rctx *c, cJSON *space);
/* reference: a point made of the knobs' first values overridden by the given ones. */
sa_status sa_rc_parse_reference(rctx *c, cJSON *ref);

/* server: the transport of a server judge; generation through a server refused naming a knob
 * (recipe_server.c). Call after eval (it reads the judge) and space. */
sa_status sa_rc_parse_server(rctx *c, cJSON *root);
/* eval.judge "server:URL[:PROMPT][:opt=V...]": the PROMPT path resolved, a URL with credentials
 * refused. */
sa_status sa_rc_resolve_server_judge(rctx *c, cJSON *judge);

#endif
