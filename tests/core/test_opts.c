/* test_opts.c: the growable options structs. A caller built against an older (shorter) header
 * passes a smaller struct_size: the library reads only those bytes and keeps its defaults for the
 * rest; a struct not initialised (struct_size 0) or larger than the library knows is refused with
 * a message naming the struct, before any work. */
#include <stddef.h>

#include "core/opts.h"
#include "safearith/arith.h"
#include "safearith/model.h"

#include "common/check.h"

int main(void) {
    /* an "old" caller that knows hdr's fields only up to lambda */
    sa_hdr_opts lib, old;
    sa_hdr_opts_init(&lib);
    sa_hdr_opts_init(&old);
    old.struct_size = offsetof(sa_hdr_opts, scope);
    old.top_k = 25, old.lambda = 1.5;
    old.trim = 0, old.layer_lo = 7; /* beyond what it claims to know: must be ignored */
    CHECK(sa_opts_take(&lib, sizeof lib, &old, "sa_hdr_opts", NULL) == SA_OK);
    CHECK(lib.top_k == 25 && lib.lambda == 1.5);
    CHECK(lib.trim == 1 && lib.layer_lo == -1 && lib.scope == SA_SELECT_GLOBAL);

    sa_error err;
    sa_hdr_opts zero = {0};
    sa_hdr_opts_init(&lib);
    CHECK(sa_opts_take(&lib, sizeof lib, &zero, "sa_hdr_opts", &err) == SA_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "sa_hdr_opts");
    sa_hdr_opts big;
    sa_hdr_opts_init(&big);
    big.struct_size = sizeof big + 8; /* from a newer header than this library */
    CHECK(sa_opts_take(&lib, sizeof lib, &big, "sa_hdr_opts", &err) == SA_EINVAL);

    /* the public calls apply it before any work (no file is opened for these paths) */
    sa_arith_opts o;
    sa_arith_opts_init(&o);
    o.output = "/nonexistent/out";
    sa_hdr_result res;
    CHECK(sa_hdr("/nonexistent/t", NULL, "/nonexistent/h", &zero, &o, &res, &err) == SA_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "sa_hdr_opts");
    sa_arith_opts ozero = {0};
    CHECK(sa_task_vector("/nonexistent/m", "/nonexistent/b", &ozero, &err) == SA_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "sa_arith_opts");
    sa_session_opts so = {0};
    sa_session *s = NULL;
    CHECK(sa_session_create(NULL, &so, &s, &err) == SA_EINVAL && s == NULL);
    CHECK_STR_CONTAINS(err.msg, "sa_session_opts");

    /* init functions give the documented defaults */
    sa_hdr_opts_init(&lib);
    CHECK(lib.struct_size == sizeof lib && lib.top_k == 10 && lib.lambda == 3 && lib.trim == 1);
    sa_resta_opts r;
    sa_resta_opts_init(&r);
    CHECK(r.beta == 1 && r.dare_p == 0 && r.rescale == SA_RESCALE_INVERSE);
    sa_gen_opts g;
    sa_gen_opts_init(&g);
    CHECK(g.max_tokens == 128 && g.sampling.top_k == 40 && g.stop_ids == NULL);
    return CHECK_DONE();
}
