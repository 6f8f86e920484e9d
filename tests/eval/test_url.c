/* test_url.c: API base URLs (url.c): IPv6 literals in brackets, ports, user information; where
 * a server judge spec's URL ends; malformed URLs refused with one line that keeps credentials
 * out. */
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "safearith/eval.h"

static void test_good(void) {
    static const struct {
        const char *url;
        size_t end; /* sa_eval_url_authority_end */
    } good[] = {
        {"http://127.0.0.1:8080/v1", 21},
        {"http://[::1]:8080/v1", 17},
        {"http://[::1]/v1", 12},
        {"https://[2001:db8::7]:443", 25},
        {"http://[fe80::1%25lo]:8080/v1", 26},
        {"http://[::ffff:127.0.0.1]:9", 27},
        {"http://user:pa:ss@[::1]:8080/v1", 28},
        {"http://localhost", 16},
        {"http://example.com:65535/v1?x=1", 24},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        sa_error err = {0};
        CHECK_MSG(sa_eval_url_check(good[i].url, "--server", &err) == SA_OK, "%s: %s", good[i].url,
                  err.msg);
        CHECK_MSG(sa_eval_url_authority_end(good[i].url) == good[i].end, "%s: %zu", good[i].url,
                  sa_eval_url_authority_end(good[i].url));
    }
    char *p = sa_eval_url_public("http://user:secret@[::1]:8080/v1?key=k");
    CHECK(p && !strcmp(p, "http://[::1]:8080/v1"));
    free(p);
}

static void test_bad(void) {
    static const struct {
        const char *url, *says;
    } bad[] = {
        {"http://[::1:8080/v1", "no closing ']'"},
        {"http://::1:8080/v1", "in brackets"},
        {"http://[::g]:8080/v1", "is not an IPv6 address"},
        {"http://[]:8080", "is not an IPv6 address"},
        {"http://[127.0.0.1]:8080", "is not an IPv6 address"},
        {"http://[fe80::1%eth0]:80", "is not an IPv6 address"},
        {"http://[::1]x:8080/v1", "unexpected 'x' after the host"},
        {"http://[::1]:/v1", "port must be 1 to 65535"},
        {"http://[::1]:65536/v1", "port must be 1 to 65535"},
        {"http://[::1]:0", "port must be 1 to 65535"},
        {"http://[::1]:80x", "unexpected 'x' after the port"},
        {"http://host]:80", "']' without '['"},
        {"http://:80/v1", "has no host"},
        {"ftp://[::1]:80", "not an http:// or https:// URL"},
        {"http://me:secret@[::1:80", "no closing ']'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sa_error err = {0};
        CHECK_MSG(sa_eval_url_check(bad[i].url, "--server", &err) == SA_EINVAL, "%s accepted",
                  bad[i].url);
        CHECK_STR_CONTAINS(err.msg, bad[i].says);
        CHECK_STR_CONTAINS(err.msg, "--server: ");
        CHECK_MSG(!strchr(err.msg, '\n') && !strstr(err.msg, "secret"), "%s", err.msg);
    }
}

static void test_judge_spec(void) {
    sa_eval_judge j;
    sa_error err = {0};
    CHECK(sa_eval_judge_parse("server:http://u:secret@[::1]:8080/v1:model=guard:name=g", NULL, &j,
                              NULL, &err) == SA_OK);
    CHECK(j.server_url && !strcmp(j.server_url, "http://u:secret@[::1]:8080/v1"));
    CHECK(j.server_model && !strcmp(j.server_model, "guard"));
    CHECK(j.spec && !strcmp(j.spec, "server:http://[::1]:8080/v1:model=guard:name=g"));
    CHECK(j.name && !strcmp(j.name, "g"));
    sa_eval_judge_free(&j);
    CHECK(sa_eval_judge_parse("server:http://[::1]:8080:model=guard", NULL, &j, NULL, &err) ==
          SA_OK);
    CHECK(j.server_url && !strcmp(j.server_url, "http://[::1]:8080"));
    sa_eval_judge_free(&j);
    CHECK(sa_eval_judge_parse("server:http://[::1:8080/v1:model=guard", NULL, &j, NULL, &err) ==
          SA_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "--judge server:URL: ");
    CHECK_STR_CONTAINS(err.msg, "no closing ']'");
}

int main(void) {
    test_good();
    test_bad();
    test_judge_spec();
    return CHECK_DONE();
}
