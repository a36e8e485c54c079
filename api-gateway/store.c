/*  store: seed 000 requests -> STORE_* bodies; STORE_* replies -> JSON.
 *
 *  The package list is paginated the way Django REST Framework's
 *  PageNumberPagination does it, since the seed's app was written against
 *  one: a page that is not a positive integer or lies past the end is
 *  404 "Invalid page." (page 1 always exists), page_size is clamped to its
 *  maximum, and next/previous are absolute URLs whose query holds page
 *  (dropped from the link to page 1) and page_size when the client sent it,
 *  in sorted key order. The Host header goes into those URLs, so it is
 *  checked first: a name or address with an optional port, nothing else. */
#include "store.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gw_json.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_proto.h"

#define S_PATH "/finance/packages/"
#define S_URL_MAX (GW_STORE_HOST_MAX + 96)

/* ---- requests ---------------------------------------------------------- */

/* Parses text as a decimal integer in [1, max]; false for anything else
 * (signs, blanks, empty, too large). */
static bool s_positive(const char *text, int64_t max, int64_t *out)
{
    if (!text || !*text)
        return false;
    int64_t v = 0;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9')
            return false;
        v = v * 10 + (*c - '0');
        if (v > max)
            return false;
    }
    if (v < 1)
        return false;
    *out = v;
    return true;
}

int gw_store_paging(const gw_input_t *in, gw_store_paging_t *p, gw_build_t *b)
{
    assert(in && p && b);
    p->page = 1;
    p->page_size = GW_STORE_PAGE_SIZE_DEFAULT;
    p->page_size_given = false;
    const char *page = gw_input_query(in, "page");
    if (page && !s_positive(page, GW_STORE_PAGE_MAX, &p->page))
        return gw_build_fail(b, PM_ERR_NOT_FOUND, "Invalid page.");
    const char *size = gw_input_query(in, "page_size");
    if (size) {
        /* Any length of digits is a valid (clamped) size. */
        bool digits = *size != '\0';
        for (const char *c = size; *c && digits; c++)
            digits = *c >= '0' && *c <= '9';
        int64_t v = 0;
        if (!digits || !s_positive(size, INT64_MAX / 10, &v)) {
            if (digits && strspn(size, "0") != strlen(size))
                v = GW_STORE_PAGE_SIZE_MAX; /* beyond int64: clamped too */
            else
                return gw_build_fail(b, PM_ERR_VALIDATION,
                                     "page_size must be a positive integer (at most %d)",
                                     GW_STORE_PAGE_SIZE_MAX);
        }
        p->page_size = v > GW_STORE_PAGE_SIZE_MAX ? GW_STORE_PAGE_SIZE_MAX : v;
        p->page_size_given = true;
    }
    return 0;
}

bool gw_store_host_valid(const char *host)
{
    if (!host)
        return false;
    size_t len = strlen(host);
    if (len == 0 || len > GW_STORE_HOST_MAX)
        return false;
    const char *port = NULL;
    if (host[0] == '[') { /* [IPv6]:port */
        const char *close = strchr(host, ']');
        if (!close || close == host + 1)
            return false;
        for (const char *c = host + 1; c < close; c++)
            if (!isxdigit((unsigned char)*c) && *c != ':' && *c != '.')
                return false;
        if (close[1] != '\0' && close[1] != ':')
            return false;
        port = close[1] ? close + 1 : NULL;
    } else {
        const char *colon = strchr(host, ':');
        const char *end = colon ? colon : host + len;
        if (end == host)
            return false;
        for (const char *c = host; c < end; c++)
            if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.')
                return false;
        port = colon;
    }
    if (port) {
        int64_t v;
        if (strlen(port + 1) > 5 || !s_positive(port + 1, 65535, &v))
            return false;
    }
    return true;
}

int gw_store_packages_build(const gw_input_t *in, gw_build_t *out)
{
    assert(in && out);
    const char *device = gw_input_header(in, "devicetype");
    const char *platform = NULL;
    if (device && strcasecmp(device, "android") == 0)
        platform = "android";
    else if (device && strcasecmp(device, "ios") == 0)
        platform = "ios";
    if (!platform)
        return gw_build_fail(out, PM_ERR_VALIDATION,
                             "the devicetype header must be android or ios");
    gw_store_paging_t p;
    if (gw_store_paging(in, &p, out) != 0)
        return -1;
    if (!gw_store_host_valid(gw_input_header(in, "Host")))
        return gw_build_fail(out, PM_ERR_VALIDATION, "the Host header is missing or invalid");
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    pm_mp_pack_cstr(&pk, "platform");
    pm_mp_pack_cstr(&pk, platform);
    pm_mp_pack_cstr(&pk, "page");
    msgpack_pack_int64(&pk, p.page);
    pm_mp_pack_cstr(&pk, "page_size");
    msgpack_pack_int64(&pk, p.page_size);
    out->type = PM_MSG_STORE_PACKAGES;
    out->err = PM_OK;
    return 0;
}

int gw_store_purchase_build(const gw_input_t *in, gw_build_t *out)
{
    static const char *const fields[] = {"serial_number", NULL};
    assert(in && out);
    json_object *body = gw_json_parse_object(in->body, in->body_len, out);
    if (!body)
        return -1;
    int rc = -1;
    const char *sku = NULL;
    size_t sku_len = 0;
    if (gw_json_only(body, "", fields, out) != 0 ||
        gw_json_id(body, "", "serial_number", true, &sku, &sku_len, out) != 0)
        goto done;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    pm_mp_pack_cstr(&pk, "sku");
    pm_mp_pack_strn(&pk, sku, sku_len);
    out->type = PM_MSG_STORE_PURCHASE_OPEN;
    out->err = PM_OK;
    rc = 0;
done:
    json_object_put(body);
    return rc;
}

/* A string field that must be 1..max characters each accepted by ok. A
 * missing or null field leaves *s NULL. Returns 0, or -1 with the error. */
static int s_text(json_object *body, const char *key, size_t max, bool (*ok)(char),
                  const char *what, const char **s, size_t *len, gw_build_t *b)
{
    json_object *v = NULL;
    *s = NULL;
    *len = 0;
    if (!json_object_object_get_ex(body, key, &v) || !v)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return gw_build_fail(b, PM_ERR_VALIDATION, "%s must be a string", key);
    const char *t = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    bool good = n >= 1 && n <= max;
    for (size_t i = 0; good && i < n; i++)
        good = ok(t[i]);
    if (!good)
        return gw_build_fail(b, PM_ERR_VALIDATION, "%s must be 1 to %zu %s", key, max, what);
    *s = t;
    *len = n;
    return 0;
}

static bool s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

#define S_TOKEN_CHARS "letters, digits, '-', '.', '_' and '~'"

/* A purchase token goes into a path segment of Bazaar's validate URL: only
 * RFC 3986 unreserved characters, so no escape, '/' or '%' ever reaches it. */
static bool s_is_token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int gw_store_redeem_build(const gw_input_t *in, gw_build_t *out)
{
    static const char *const fields[] = {"serial_number", "ref_id", "purchase_token", NULL};
    assert(in && out);
    json_object *body = gw_json_parse_object(in->body, in->body_len, out);
    if (!body)
        return -1;
    int rc = -1;
    const char *serial, *ref, *tok;
    size_t serial_len, ref_len, tok_len;
    if (gw_json_only(body, "", fields, out) != 0 ||
        s_text(body, "serial_number", GW_STORE_SERIAL_MAX, s_is_digit, "digits", &serial,
               &serial_len, out) != 0 ||
        s_text(body, "ref_id", GW_STORE_TOKEN_MAX, s_is_token_char, S_TOKEN_CHARS, &ref, &ref_len,
               out) != 0 ||
        s_text(body, "purchase_token", GW_STORE_TOKEN_MAX, s_is_token_char, S_TOKEN_CHARS, &tok,
               &tok_len, out) != 0)
        goto done;
    if (!serial) {
        gw_build_fail(out, PM_ERR_VALIDATION, "serial_number is required");
        goto done;
    }
    if (!ref && !tok) {
        gw_build_fail(out, PM_ERR_VALIDATION, "ref_id is required");
        goto done;
    }
    if (ref && tok && (ref_len != tok_len || memcmp(ref, tok, ref_len) != 0)) {
        gw_build_fail(out, PM_ERR_VALIDATION,
                      "ref_id and purchase_token are the same field and differ; send one");
        goto done;
    }
    if (!ref) {
        ref = tok;
        ref_len = tok_len;
    }
    if (strspn(ref, ".") >= ref_len) { /* "." and "..": dot segments of the URL */
        gw_build_fail(out, PM_ERR_VALIDATION, "ref_id must not be made of dots only");
        goto done;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "serial");
    pm_mp_pack_strn(&pk, serial, serial_len);
    pm_mp_pack_cstr(&pk, "token");
    pm_mp_pack_strn(&pk, ref, ref_len);
    out->type = PM_MSG_STORE_REDEEM;
    out->err = PM_OK;
    rc = 0;
done:
    json_object_put(body);
    return rc;
}

/* ---- replies ----------------------------------------------------------- */

/* One PACKAGE -> {"name","price","icon","serial_number","package_type"}. */
static json_object *s_package(const msgpack_object *p)
{
    const char *name, *icon, *sku, *type;
    size_t name_len, icon_len, sku_len, type_len;
    int64_t price;
    if (p->type != MSGPACK_OBJECT_MAP ||
        gw_reply_str(p, "name", false, 1024, &name, &name_len) != 0 ||
        gw_reply_str(p, "icon", true, 2048, &icon, &icon_len) != 0 ||
        gw_reply_str(p, "sku", false, GW_STORE_SKU_MAX, &sku, &sku_len) != 0 ||
        gw_reply_str(p, "package_type", false, 16, &type, &type_len) != 0 ||
        pm_mp_get_int(p, "price", &price) != 0)
        return NULL;
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "name", gw_json_new_strn(name, name_len));
    json_object_object_add(o, "price", json_object_new_int64(price));
    json_object_object_add(o, "icon", gw_json_new_strn(icon, icon_len));
    json_object_object_add(o, "serial_number", gw_json_new_strn(sku, sku_len));
    json_object_object_add(o, "package_type", gw_json_new_strn(type, type_len));
    return o;
}

/* The absolute link to page (DRF: page=1 is left out), or JSON null when the
 * Host is unusable (build refused those, so only for a direct caller). */
static json_object *s_link(const gw_input_t *in, const gw_store_paging_t *p, int64_t page)
{
    const char *host = gw_input_header(in, "Host");
    if (!gw_store_host_valid(host))
        return NULL;
    char url[S_URL_MAX];
    int n;
    if (page > 1 && p->page_size_given)
        n = snprintf(url, sizeof url, "http://%s" S_PATH "?page=%lld&page_size=%lld", host,
                     (long long)page, (long long)p->page_size);
    else if (page > 1)
        n = snprintf(url, sizeof url, "http://%s" S_PATH "?page=%lld", host, (long long)page);
    else if (p->page_size_given)
        n = snprintf(url, sizeof url, "http://%s" S_PATH "?page_size=%lld", host,
                     (long long)p->page_size);
    else
        n = snprintf(url, sizeof url, "http://%s" S_PATH, host);
    if (n < 0 || (size_t)n >= sizeof url)
        return NULL;
    return json_object_new_string(url);
}

int gw_store_packages_render(const gw_input_t *in, const msgpack_object *reply, gw_response_t *out)
{
    assert(in && reply && out);
    gw_build_t b;
    gw_build_init(&b);
    gw_store_paging_t p;
    int paged = gw_store_paging(in, &p, &b);
    gw_build_destroy(&b);
    int64_t count;
    const msgpack_object *results = pm_mp_get(reply, "results");
    if (paged != 0 || pm_mp_get_int(reply, "count", &count) != 0 || count < 0 || !results ||
        results->type != MSGPACK_OBJECT_ARRAY || results->via.array.size > (uint32_t)p.page_size)
        return -1;
    int64_t pages = count == 0 ? 1 : (count + p.page_size - 1) / p.page_size;
    if (p.page > pages)
        return gw_json_error_as(GW_ERRORS_STORE, PM_ERR_NOT_FOUND, "Invalid page.", out);
    json_object *list = json_object_new_array();
    json_object *o = json_object_new_object();
    if (!list || !o)
        goto fail;
    for (uint32_t i = 0; i < results->via.array.size; i++) {
        json_object *item = s_package(&results->via.array.ptr[i]);
        if (!item || json_object_array_add(list, item) != 0) {
            json_object_put(item);
            goto fail;
        }
    }
    json_object_object_add(o, "count", json_object_new_int64(count));
    json_object_object_add(o, "next", p.page < pages ? s_link(in, &p, p.page + 1) : NULL);
    json_object_object_add(o, "previous", p.page > 1 ? s_link(in, &p, p.page - 1) : NULL);
    json_object_object_add(o, "results", list);
    return gw_json_finish(o, 200, out);
fail:
    json_object_put(list);
    json_object_put(o);
    return -1;
}

int gw_store_purchase_render(const msgpack_object *reply, gw_response_t *out)
{
    assert(reply && out);
    const msgpack_object *p = pm_mp_get(reply, "purchase");
    const char *serial, *ref, *state;
    size_t serial_len, ref_len, state_len;
    if (!p || p->type != MSGPACK_OBJECT_MAP ||
        gw_reply_str(p, "serial", false, GW_STORE_SERIAL_MAX, &serial, &serial_len) != 0 ||
        gw_reply_str(p, "ref_id", true, GW_STORE_TOKEN_MAX, &ref, &ref_len) != 0 ||
        gw_reply_str(p, "state", false, 32, &state, &state_len) != 0)
        return -1;
    json_object *o = json_object_new_object();
    if (!o)
        return -1;
    json_object_object_add(o, "serial_number", gw_json_new_strn(serial, serial_len));
    json_object_object_add(o, "ref_id", gw_json_new_strn(ref, ref_len));
    json_object_object_add(o, "state", gw_json_new_strn(state, state_len));
    return gw_json_finish(o, 200, out);
}

int gw_store_redeem_render(const msgpack_object *reply, gw_response_t *out)
{
    assert(reply && out);
    int64_t coins;
    if (pm_mp_get_int(reply, "coins", &coins) != 0)
        return -1;
    json_object *o = json_object_new_object();
    if (!o)
        return -1;
    json_object_object_add(o, "coins", json_object_new_int64(coins));
    return gw_json_finish(o, 200, out);
}
