/* url.c: the API base URLs of OpenAI-compatible servers (--server, server: judges).
 *
 * A URL is http:// or https://, optional user information ending at the last '@' of the
 * authority, a host (a name, an IPv4 address, or an IPv6 address in brackets, RFC 3986:
 * http://[::1]:8080/v1, a zone as %25NAME), an optional port 1-65535, then a path, query and
 * fragment or nothing. sa_eval_url_check refuses anything else with one line before any request
 * is made; sa_eval_url_authority_end tells a judge spec where the URL's host and port end (its
 * options follow after a ':'); sa_eval_url_public is the form files and messages show: no user
 * information (credentials), no query or fragment. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_json.h"
#include "safearith/eval.h"

typedef struct url_parts {
    size_t auth;     /* where the authority starts (after "scheme://") */
    size_t host;     /* after the user information */
    size_t host_end; /* after the host (its ']' for a bracketed one) */
    size_t end;      /* after the port: where the path starts */
} url_parts;

static void url_split(const char *url, url_parts *u) {
    const char *scheme = strstr(url, "://");
    u->auth =
        scheme && (size_t)(scheme - url) < strcspn(url, "/?#") ? (size_t)(scheme - url) + 3 : 0;
    size_t auth_end = u->auth + strcspn(url + u->auth, "/?#");
    u->host = u->auth;
    for (size_t p = u->auth; p < auth_end; p++)
        if (url[p] == '@') u->host = p + 1;
    const char *rb = url[u->host] == '[' ? memchr(url + u->host, ']', auth_end - u->host) : NULL;
    u->host_end = rb                    ? (size_t)(rb - url) + 1
                  : url[u->host] == '[' ? auth_end /* unclosed: refused by the check */
                                        : u->host + strcspn(url + u->host, ":/?#");
    u->end = u->host_end;
    if (url[u->end] == ':') u->end += 1 + strspn(url + u->end + 1, "0123456789");
}

size_t sa_eval_url_authority_end(const char *url) {
    url_parts u;
    url_split(url, &u);
    return u.end;
}

/* 1 if url[from, to) (inside the brackets) is an IPv6 address, with an optional %25 zone. */
static int ipv6_literal(const char *url, size_t from, size_t to) {
    char a[64];
    const char *zone = memchr(url + from, '%', to - from);
    size_t n = (zone ? (size_t)(zone - url) : to) - from;
    if (n == 0 || n >= sizeof a) return 0;
    if (zone && (to - (size_t)(zone - url) < 4 || strncmp(zone, "%25", 3))) return 0;
    memcpy(a, url + from, n);
    a[n] = 0;
    struct in6_addr addr;
    return inet_pton(AF_INET6, a, &addr) == 1;
}

/* The first thing wrong with url (split as u), as a message without its credentials. */
static sa_status url_fault(const char *url, const url_parts *u, const char *what, const char *s,
                           sa_error *err) {
    const char *h = url + u->host;
    if (u->host_end == u->host)
        return sa_error_set(err, SA_EINVAL, "%s: '%s' has no host%s", what, s,
                            *h == ':' ? " (an IPv6 address goes in brackets: http://[::1]:8080/v1)"
                                      : "");
    if (*h == '[' && url[u->host_end - 1] != ']')
        return sa_error_set(err, SA_EINVAL, "%s: '%s': the IPv6 address has no closing ']'", what,
                            s);
    if (*h == '[' && !ipv6_literal(url, u->host + 1, u->host_end - 1))
        return sa_error_set(err, SA_EINVAL, "%s: '%s': '%.*s' is not an IPv6 address", what, s,
                            (int)(u->host_end - u->host), h);
    if (*h != '[' && memchr(h, ']', u->host_end - u->host))
        return sa_error_set(err, SA_EINVAL, "%s: '%s': ']' without '['", what, s);
    if (url[u->host_end] == ':') {
        long port = u->end - u->host_end - 1 <= 5 ? strtol(url + u->host_end + 1, NULL, 10) : 0;
        if (port < 1 || port > 65535)
            return sa_error_set(err, SA_EINVAL, "%s: '%s': the port must be 1 to 65535", what, s);
    }
    if (url[u->end] && !strchr("/?#", url[u->end]))
        return sa_error_set(err, SA_EINVAL, "%s: '%s': unexpected '%c' after the %s", what, s,
                            url[u->end], url[u->host_end] == ':' ? "port" : "host");
    return SA_OK;
}

sa_status sa_eval_url_check(const char *url, const char *what, sa_error *err) {
    char *shown = url ? sa_eval_url_public(url) : NULL;
    if (url && !shown) return sa_error_set(err, SA_ENOMEM, "out of memory");
    sa_status st = SA_OK;
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
        st = sa_error_set(err, SA_EINVAL, "%s: '%s' is not an http:// or https:// URL", what,
                          shown ? shown : "");
    } else {
        url_parts u;
        url_split(url, &u);
        st = url_fault(url, &u, what, shown, err);
    }
    free(shown);
    return st;
}

char *sa_eval_url_public(const char *url) {
    size_t cut = strcspn(url, "?#"); /* query and fragment dropped */
    url_parts u;
    url_split(url, &u);
    size_t host = u.auth <= cut ? u.auth : 0, from = u.host <= cut ? u.host : host;
    char *o = malloc(host + (cut - from) + 1);
    if (!o) return NULL;
    memcpy(o, url, host);
    memcpy(o + host, url + from, cut - from);
    o[host + cut - from] = 0;
    return o;
}
