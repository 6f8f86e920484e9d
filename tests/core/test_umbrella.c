/* test_umbrella.c: the umbrella header compiles on its own (every public header is
 * self-contained and they do not clash) and a program can use the library through it. */
#include "safearith/safearith.h"

#include "common/check.h"

int main(void) {
    sa_error err;
    sa_error_clear(&err);
    CHECK(err.code == SA_OK);
    CHECK(sa_status_name(SA_EFORMAT)[0] != '\0');
    sa_checkpoint *ck = NULL;
    CHECK(sa_ckpt_open("/nonexistent/model", &ck, &err) != SA_OK);
    CHECK_STR_CONTAINS(err.msg, "/nonexistent/model");
    return CHECK_DONE();
}
