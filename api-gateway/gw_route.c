/*  gw_route: segment-by-segment path matching against the routing table. */
#include "gw_route.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pm_err.h"

/* Matches path[0..len) against pattern. On a match sets the capture (if the
 * pattern has one) and returns true. Empty segments never match, so "//x" is
 * not "/x". */
static bool s_match_pattern(const char *pattern, const char *path, size_t len, const char **id,
                            size_t *id_len)
{
    const char *p = pattern, *s = path, *end = path + len;
    *id = NULL;
    *id_len = 0;
    while (*p && s < end) {
        if (*p != '/' || *s != '/')
            return false;
        p++, s++;
        const char *pseg_end = strchr(p, '/');
        size_t plen = pseg_end ? (size_t)(pseg_end - p) : strlen(p);
        const char *sseg_end = memchr(s, '/', (size_t)(end - s));
        size_t slen = sseg_end ? (size_t)(sseg_end - s) : (size_t)(end - s);
        if (slen == 0)
            return false;
        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            *id = s;
            *id_len = slen;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return false;
        }
        p += plen;
        s += slen;
    }
    return *p == '\0' && s == end;
}

gw_route_result_t gw_route_match(const gw_route_t *table, size_t count, const char *method,
                                 const char *path, gw_match_t *m)
{
    assert(table && method && path && m);
    memset(m, 0, sizeof *m);
    size_t len = strlen(path);
    if (len > 1 && path[len - 1] == '/')
        len--;
    const char *methods[8]; /* methods of the path, each once, in table order */
    size_t n_methods = 0;
    bool path_known = false;
    for (size_t i = 0; i < count; i++) {
        const char *id;
        size_t id_len;
        if (!s_match_pattern(table[i].pattern, path, len, &id, &id_len))
            continue;
        if (!path_known)
            m->errors = table[i].errors; /* the first row of the path */
        if (strcmp(table[i].method, method) == 0) {
            m->route = &table[i];
            m->errors = table[i].errors;
            m->id = id;
            m->id_len = id_len;
            return GW_ROUTE_OK;
        }
        path_known = true;
        bool listed = false;
        for (size_t k = 0; k < n_methods; k++)
            listed = listed || strcmp(methods[k], table[i].method) == 0;
        if (!listed && n_methods < sizeof methods / sizeof methods[0])
            methods[n_methods++] = table[i].method;
    }
    size_t used = 0;
    for (size_t k = 0; k < n_methods; k++) {
        int n =
            snprintf(m->allow + used, sizeof m->allow - used, "%s%s", k ? ", " : "", methods[k]);
        if (n < 0 || (size_t)n >= sizeof m->allow - used) {
            m->allow[used] = '\0'; /* never a half-written method */
            break;
        }
        used += (size_t)n;
    }
    return path_known ? GW_ROUTE_NO_METHOD : GW_ROUTE_NO_PATH;
}

const char *gw_input_header(const gw_input_t *in, const char *name)
{
    assert(in && name);
    return in->header ? in->header(in->lookup_ctx, name) : NULL;
}

const char *gw_input_query(const gw_input_t *in, const char *name)
{
    assert(in && name);
    return in->query ? in->query(in->lookup_ctx, name) : NULL;
}

void gw_build_init(gw_build_t *b)
{
    assert(b);
    memset(b, 0, sizeof *b);
    msgpack_sbuffer_init(&b->body);
}

void gw_build_destroy(gw_build_t *b)
{
    assert(b);
    msgpack_sbuffer_destroy(&b->body);
    b->body.data = NULL;
    b->body.size = b->body.alloc = 0;
}

int gw_build_fail(gw_build_t *b, int err, const char *fmt, ...)
{
    assert(b && err != PM_OK);
    b->err = err;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->msg, sizeof b->msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        b->msg[0] = '\0';
    return -1;
}

void gw_response_clear(gw_response_t *r)
{
    assert(r);
    free(r->json);
    r->json = NULL;
    r->len = 0;
    r->status = 0;
}
