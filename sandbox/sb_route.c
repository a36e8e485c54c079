/*  sb_route: the path matcher and the JSON/form helpers of the handlers. */
#include "sb_route.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

bool sb_route_match_one(const char *pattern, const char *path, sb_req_t *req)
{
    assert(pattern && path);
    const char *p = pattern, *u = path;
    int n = 0;
    while (*p) {
        if (*p == '*') {
            const char *s = u;
            while (*u && *u != '/')
                u++;
            size_t len = (size_t)(u - s);
            if (len == 0 || len > SB_CAP_MAX || n == SB_CAPS_MAX)
                return false;
            if (req) {
                memcpy(req->caps[n], s, len);
                req->caps[n][len] = '\0';
            }
            n++;
            p++;
            continue;
        }
        if (*p != *u)
            return false;
        p++;
        u++;
    }
    if (*u != '\0')
        return false;
    if (req)
        req->ncaps = n;
    return true;
}

/* Admin paths also match with one trailing slash. */
static bool s_match(const sb_route_t *r, const char *path, sb_req_t *req)
{
    if (sb_route_match_one(r->pattern, path, req))
        return true;
    size_t len = strlen(path);
    if (r->service || len < 2 || path[len - 1] != '/' || len > 1024)
        return false;
    char trimmed[1025];
    memcpy(trimmed, path, len - 1);
    trimmed[len - 1] = '\0';
    return sb_route_match_one(r->pattern, trimmed, req);
}

sb_route_result_t sb_route_find(const char *method, const char *path, sb_req_t *req,
                                const sb_route_t **route)
{
    assert(method && path && route);
    bool path_seen = false;
    for (size_t i = 0; i < sb_route_count; i++) {
        const sb_route_t *r = &sb_routes[i];
        if (!s_match(r, path, req))
            continue;
        path_seen = true;
        if (strcmp(r->method, method) == 0) {
            *route = r;
            return SB_ROUTE_OK;
        }
    }
    return path_seen ? SB_ROUTE_NO_METHOD : SB_ROUTE_NO_PATH;
}

const char *sb_service_of_path(const char *path)
{
    assert(path);
    if (strncmp(path, "/devapi/", 8) == 0)
        return "bazaar";
    if (strncmp(path, "/badje/", 7) == 0)
        return "bazaarpay";
    if (strncmp(path, "/payment/rest/", 14) == 0)
        return "rbs";
    if (strncmp(path, "/identityserver/", 16) == 0 ||
        strncmp(path, "/OrderProcessing_TURK/", 22) == 0)
        return "tfeb";
    return NULL;
}

const char *sb_req_query(const sb_req_t *req, const char *key)
{
    assert(req && key);
    return req->query ? req->query(req->query_ctx, key) : NULL;
}

/* ---- JSON ----------------------------------------------------------------- */

void sb_resp_clear(sb_resp_t *resp)
{
    free(resp->json);
    free(resp->location);
    memset(resp, 0, sizeof *resp);
}

void sb_resp_json(sb_resp_t *resp, int status, json_object **obj)
{
    assert(resp && obj);
    sb_resp_clear(resp);
    if (*obj) {
        size_t len = 0;
        const char *text = json_object_to_json_string_length(
            *obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (text && (resp->json = malloc(len + 1)) != NULL) {
            memcpy(resp->json, text, len + 1);
            resp->len = len;
            resp->status = status;
        }
    }
    json_object_put(*obj);
    *obj = NULL;
}

void sb_resp_error(sb_resp_t *resp, int status, const char *error, const char *description)
{
    json_object *o = json_object_new_object();
    if (o) {
        json_object_object_add(o, "error", json_object_new_string(error));
        if (description)
            json_object_object_add(o, "error_description", json_object_new_string(description));
    }
    sb_resp_json(resp, status, &o);
}

void sb_resp_detail(sb_resp_t *resp, int status, const char *detail)
{
    json_object *o = json_object_new_object();
    if (o)
        json_object_object_add(o, "detail", json_object_new_string(detail));
    sb_resp_json(resp, status, &o);
}

void sb_resp_bytes(sb_resp_t *resp, int status, const char *content_type, const void *data,
                   size_t len)
{
    assert(resp && content_type && (data || len == 0));
    sb_resp_clear(resp);
    resp->json = malloc(len + 1);
    if (!resp->json)
        return;
    if (len)
        memcpy(resp->json, data, len);
    resp->json[len] = '\0';
    resp->len = len;
    resp->status = status;
    resp->content_type = content_type;
}

void sb_resp_redirect(sb_resp_t *resp, const char *url)
{
    assert(resp && url);
    static const char hex[] = "0123456789ABCDEF";
    sb_resp_bytes(resp, 303, "text/plain", NULL, 0);
    size_t len = strlen(url);
    char *loc = resp->json ? malloc(3 * len + 1) : NULL;
    if (!loc) {
        sb_resp_clear(resp);
        return;
    }
    size_t n = 0;
    for (const unsigned char *u = (const unsigned char *)url; *u; u++) {
        if (*u > 0x20 && *u < 0x7f) {
            loc[n++] = (char)*u;
            continue;
        }
        loc[n++] = '%';
        loc[n++] = hex[*u >> 4];
        loc[n++] = hex[*u & 15];
    }
    loc[n] = '\0';
    resp->location = loc;
}

json_object *sb_json_parse_object(const char *body, size_t len)
{
    if (!body || len == 0 || len > (size_t)INT32_MAX)
        return NULL;
    struct json_tokener *tok = json_tokener_new_ex(16);
    if (!tok)
        return NULL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *obj = json_tokener_parse_ex(tok, body, (int)len);
    bool ok = json_tokener_get_error(tok) == json_tokener_success &&
              json_tokener_get_parse_end(tok) == len && obj &&
              json_object_is_type(obj, json_type_object);
    json_tokener_free(tok);
    if (!ok) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

const char *sb_json_string(json_object *obj, const char *key, size_t max)
{
    json_object *v;
    if (!obj || !json_object_object_get_ex(obj, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    size_t len = (size_t)json_object_get_string_len(v);
    const char *s = json_object_get_string(v);
    if (len == 0 || len > max || memchr(s, '\0', len))
        return NULL;
    return s;
}

/* ---- forms ------------------------------------------------------------------ */

static int s_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes src[0..len) into out; false when malformed, too long or with a NUL. */
static bool s_form_decode(const char *src, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)src[i];
        if (c == '+')
            c = ' ';
        else if (c == '%') {
            if (i + 2 >= len)
                return false;
            int hi = s_hex(src[i + 1]), lo = s_hex(src[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || n + 1 >= cap)
            return false;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return true;
}

bool sb_form_get(const char *body, size_t len, const char *key, char *out, size_t cap)
{
    assert(key && out && cap > 0);
    size_t klen = strlen(key);
    size_t i = 0;
    while (body && i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        const char *eq = memchr(body + i, '=', end - i);
        size_t name_len = eq ? (size_t)(eq - (body + i)) : end - i;
        if (name_len == klen && memcmp(body + i, key, klen) == 0) {
            const char *v = eq ? eq + 1 : body + end;
            return s_form_decode(v, (size_t)(body + end - v), out, cap);
        }
        i = end + 1;
    }
    return false;
}
