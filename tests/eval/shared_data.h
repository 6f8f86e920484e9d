/* shared_data.h: where the tests find the public safety data (shared/data beside the checkout).
 *
 * $SA_SHARED_DATA if set, else ../shared/data relative to the source tree, else /work/shared/data.
 * Returns NULL (and the test fails loudly) when none exists. */
#ifndef SA_TEST_SHARED_DATA_H
#define SA_TEST_SHARED_DATA_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static const char *shared_data_dir(void) {
    static char buf[4096];
    const char *env = getenv("SA_SHARED_DATA");
    struct stat st;
    if (env && stat(env, &st) == 0) return env;
    const char *src = getenv("SA_SOURCE_DIR");
    if (src) {
        snprintf(buf, sizeof buf, "%s/../shared/data", src);
        if (stat(buf, &st) == 0) return buf;
    }
    if (stat("/work/shared/data", &st) == 0) return "/work/shared/data";
    fprintf(stderr, "shared/data not found: set SA_SHARED_DATA\n");
    return NULL;
}

static const char *data_path(const char *rel) {
    static char buf[8][4096];
    static int k;
    const char *d = shared_data_dir();
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", d ? d : "/nonexistent", rel);
    return buf[k];
}

#endif
