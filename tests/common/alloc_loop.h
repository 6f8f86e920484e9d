/* alloc_loop.h: the allocation-failure loop of the test_alloc_faults*.c programs (SQLite's
 * out-of-memory test): for each entry point, allocation N = 1, 2, ... fails (or one in `stride`
 * where a run makes too many for CI, starting at an offset that moves daily), until a run
 * completes without reaching N. Each failing run must
 * end with SA_ENOMEM and a one-line message, leave no output (or what the entry's own check
 * accepts: a run directory that resumes to the whole run), leave the inputs (the fixtures under
 * in/ and the organisms) as they were and leak nothing (LeakSanitizer, in the sanitizer build of
 * scripts/test.sh); a run that absorbed the failure must have written exactly what a run without
 * faults writes. cJSON allocates through the library's allocator (cJSON_InitHooks); libyaml,
 * PCRE2, utf8proc and libcurl allocate on their own and are not covered.
 * While debugging: SA_ALLOC_ONLY=NAME runs one entry, SA_ALLOC_FROM=N starts at allocation N,
 * SA_ALLOC_EVERY=1 fails every allocation of every entry. Header-only with file-scope state, like
 * fault_fixture.h; needs -DSA_ALLOC_FAULTS=ON. */
#ifndef SA_ALLOC_LOOP_H
#define SA_ALLOC_LOOP_H

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/check.h"
#include "common/fault_fixture.h"
#include "common/test_files.h"
#include "core/alloc.h"

static char root[] = "/tmp/sa-alloc-faults-XXXXXX";

static void clear_out(void) {
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir '%s'", out, out);
    if (system(cmd)) fprintf(stderr, "cannot clear %s\n", out);
}

/* 1 if the output directory holds exactly what a run without faults wrote (kept in root/ref). */
static int same_as_reference(void) {
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "diff -r '%s' '%s/ref' >&2", out, root);
    return system(cmd) == 0;
}

typedef struct alloc_entry {
    const char *name;
    sa_status (*fn)(sa_error *);
    long stride; /* fail allocations 1, 1 + stride, ...: every one unless a run is long */
    /* After a failure: 1 if what it left is acceptable (it clears out/); NULL: out/ is empty */
    int (*left_ok)(void);
} alloc_entry;

/* The inputs of every entry: the fixtures under in/ and the organisms. */
static void inputs_digest(char hex[130]) {
    tree_digest(in, hex);
    tree_digest(models, hex + 64);
}

static void fault_loop(const alloc_entry *e) {
    char before[130], after[130], cmd[1600];
    inputs_digest(before);
    clear_out();
    sa_error e0 = {0};
    CHECK_MSG(e->fn(&e0) == SA_OK, "%s: %s", e->name, e0.msg);
    snprintf(cmd, sizeof cmd, "rm -rf '%s/ref' && mv '%s' '%s/ref' && mkdir '%s'", root, out, root,
             out);
    CHECK(system(cmd) == 0);
    const char *all = getenv("SA_ALLOC_EVERY"); /* 1: every allocation of every entry */
    const char *from = getenv("SA_ALLOC_FROM"); /* start there (while debugging) */
    long stride = all && atoi(all) ? 1 : e->stride > 1 ? e->stride : 1;
    /* a sampled entry starts at 1 + (days since 1970 mod stride), so that successive days fail
     * the other allocations; the line printed names the start (SA_ALLOC_FROM repeats it) */
    long first = from ? atol(from) : 1 + (long)(time(NULL) / 86400) % stride;
    long n = first, failed = 0, absorbed = 0;
    for (;; n += stride) {
        sa_error err = {0};
        sa_alloc_fault_at(n);
        sa_status st = e->fn(&err);
        int hit = sa_alloc_fault_hit();
        sa_alloc_fault_at(0);
        if (!hit) {
            CHECK_MSG(st == SA_OK, "%s without a fault: %s", e->name, err.msg);
            break;
        }
        if (st == SA_OK) { /* the failure was absorbed: the result must be whole */
            absorbed++;
            CHECK_MSG(same_as_reference(),
                      "%s: allocation %ld failed, and the call succeeded with another result",
                      e->name, n);
            clear_out();
            continue;
        }
        failed++;
        CHECK_MSG(st == SA_ENOMEM && err.code == st && err.msg[0] && !strchr(err.msg, '\n'),
                  "%s: allocation %ld: status %d, message '%s'", e->name, n, st, err.msg);
        CHECK_MSG(e->left_ok ? e->left_ok() : test_dir_entries(out) == 0,
                  "%s: allocation %ld left output behind (%s)", e->name, n, err.msg);
    }
    inputs_digest(after);
    CHECK_MSG(before[0] && before[64] && !strcmp(before, after), "%s changed its inputs", e->name);
    printf("%-16s %5ld allocations, %5ld failed cleanly, %ld absorbed", e->name, n - 1, failed,
           absorbed);
    if (stride > 1)
        printf(" (one in %ld from %ld)\n", stride, first);
    else
        printf("\n");
    clear_out();
}

/* A test program's main: the fixtures (in/, out/ under root), the entries (SA_ALLOC_ONLY), then
 * teardown (may be NULL) and root removed. */
static int alloc_loop_main(const alloc_entry *entries, size_t n, int (*fixtures)(void),
                           void (*teardown)(void)) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!mkdtemp(root)) return 1;
    /* cJSON's own allocations go through the library's allocator, so they fail in turn too */
    cJSON_Hooks hooks = {sa_malloc, sa_free};
    cJSON_InitHooks(&hooks);
    if (fixtures()) {
        if (teardown) teardown();
        fprintf(stderr, "cannot make the fixtures under %s\n", root);
        return 1;
    }
    const char *only = getenv("SA_ALLOC_ONLY"); /* one entry, by name (while debugging) */
    for (size_t i = 0; i < n; i++)
        if (!only || !strcmp(only, entries[i].name)) fault_loop(&entries[i]);
    if (teardown) teardown();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", root);
    return CHECK_DONE();
}

#endif
