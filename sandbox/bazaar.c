/*  bazaar: store of simulated purchases, access tokens, and the handlers of
 *  the Cafe Bazaar developer API and its admin endpoints. */
#include "bazaar.h"

#include <assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pm_log.h"
#include "sb_index.h"

typedef struct {
    char token[SB_BZ_ACCESS_LEN + 1];
    int64_t expires_mono_ms;
} s_access_t;

struct sb_bazaar_t {
    sb_bazaar_config_t cfg;
    sb_index_t *purchases;               /* sb_purchase_t by token, up to max_purchases */
    s_access_t access[SB_BZ_ACCESS_MAX]; /* ring */
    size_t access_next;
};

static void s_random_text(char *out, size_t raw_len)
{
    unsigned char raw[32];
    assert(raw_len <= sizeof raw);
    randombytes_buf(raw, raw_len);
    sodium_bin2base64(out,
                      sodium_base64_ENCODED_LEN(raw_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                      raw, raw_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

sb_bazaar_t *sb_bazaar_new(const sb_bazaar_config_t *cfg)
{
    assert(cfg && cfg->client_id && cfg->client_secret && cfg->refresh_token &&
           cfg->pishkhan_secret && cfg->access_token_ttl_s > 0 && cfg->max_purchases > 0 &&
           cfg->max_purchases < UINT32_MAX);
    sb_bazaar_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    self->purchases =
        sb_index_new(sizeof(sb_purchase_t), offsetof(sb_purchase_t, token), cfg->max_purchases);
    if (!self->purchases) {
        free(self);
        return NULL;
    }
    return self;
}

void sb_bazaar_destroy(sb_bazaar_t **self_p)
{
    assert(self_p);
    sb_bazaar_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < sb_index_count(self->purchases); i++) {
        sb_purchase_t *p = sb_index_at(self->purchases, i);
        free(p->package_name);
        free(p->sku);
        free(p->developer_payload);
    }
    sb_index_destroy(&self->purchases);
    sodium_memzero(self->access, sizeof self->access);
    free(self);
    *self_p = NULL;
}

const sb_purchase_t *sb_bazaar_add(sb_bazaar_t *self, const char *package_name, const char *sku,
                                   const char *payload, int64_t now_ms)
{
    assert(self && package_name && sku);
    sb_purchase_t *p = sb_index_reserve(self->purchases);
    if (!p)
        return NULL;
    p->package_name = strdup(package_name);
    p->sku = strdup(sku);
    p->developer_payload = strdup(payload ? payload : "");
    if (!p->package_name || !p->sku || !p->developer_payload) {
        free(p->package_name);
        free(p->sku);
        free(p->developer_payload);
        return NULL;
    }
    do /* 256 random bits do not collide; the loop documents the invariant */
        s_random_text(p->token, 32);
    while (sb_bazaar_find(self, p->token));
    p->purchase_state = SB_BZ_PURCHASED;
    p->consumption_state = SB_BZ_NOT_CONSUMED;
    p->purchase_time_ms = now_ms;
    sb_index_commit(self->purchases);
    return p;
}

static sb_purchase_t *s_find(const sb_bazaar_t *self, const char *token)
{
    assert(self && token);
    return sb_index_find(self->purchases, token);
}

const sb_purchase_t *sb_bazaar_find(const sb_bazaar_t *self, const char *token)
{
    return s_find(self, token);
}

const sb_purchase_t *sb_bazaar_validate(const sb_bazaar_t *self, const char *package_name,
                                        const char *sku, const char *token)
{
    assert(package_name && sku);
    const sb_purchase_t *p = s_find(self, token);
    if (!p || strcmp(p->package_name, package_name) != 0 || strcmp(p->sku, sku) != 0)
        return NULL;
    return p;
}

sb_bz_consume_t sb_bazaar_consume(sb_bazaar_t *self, const char *package_name, const char *token)
{
    assert(package_name);
    sb_purchase_t *p = s_find(self, token);
    if (!p || strcmp(p->package_name, package_name) != 0)
        return SB_BZ_CONSUME_UNKNOWN;
    if (p->purchase_state == SB_BZ_REFUNDED)
        return SB_BZ_CONSUME_REFUNDED;
    if (p->consumption_state == SB_BZ_CONSUMED)
        return SB_BZ_CONSUME_ALREADY;
    p->consumption_state = SB_BZ_CONSUMED;
    return SB_BZ_CONSUME_OK;
}

int sb_bazaar_refund(sb_bazaar_t *self, const char *token)
{
    sb_purchase_t *p = s_find(self, token);
    if (!p)
        return -1;
    p->purchase_state = SB_BZ_REFUNDED;
    return 0;
}

void sb_bazaar_access_issue(sb_bazaar_t *self, int64_t now_mono_ms, char out[SB_BZ_ACCESS_LEN + 1])
{
    assert(self && out);
    s_access_t *a = &self->access[self->access_next];
    self->access_next = (self->access_next + 1) % SB_BZ_ACCESS_MAX;
    s_random_text(a->token, 24);
    a->expires_mono_ms = now_mono_ms + (int64_t)self->cfg.access_token_ttl_s * 1000;
    memcpy(out, a->token, sizeof a->token);
}

bool sb_bazaar_access_live(const sb_bazaar_t *self, const char *token, int64_t now_mono_ms)
{
    assert(self && token);
    if (strlen(token) != SB_BZ_ACCESS_LEN)
        return false;
    for (size_t i = 0; i < SB_BZ_ACCESS_MAX; i++) {
        const s_access_t *a = &self->access[i];
        if (a->token[0] && sodium_memcmp(a->token, token, SB_BZ_ACCESS_LEN) == 0)
            return now_mono_ms < a->expires_mono_ms;
    }
    return false;
}

const char *sb_bazaar_bearer(const char *header, size_t *len)
{
    assert(len);
    if (!header)
        return NULL;
    while (*header == ' ' || *header == '\t')
        header++;
    if (strncasecmp(header, "Bearer ", 7) == 0)
        header += 7;
    while (*header == ' ' || *header == '\t')
        header++;
    size_t n = strlen(header);
    while (n > 0 && (header[n - 1] == ' ' || header[n - 1] == '\t'))
        n--;
    *len = n;
    return n ? header : NULL;
}

/* ---- developer API handlers -------------------------------------------------- */

/* Constant-time string equality for secrets. */
static bool s_secret_eq(const char *given, const char *want)
{
    size_t n = strlen(want);
    return strlen(given) == n && sodium_memcmp(given, want, n) == 0;
}

/* True when the request carries a live access token or the Pishkhan secret.
 * Otherwise answers 401. */
static bool s_authorized(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    const sb_bazaar_config_t *cfg = &sb->bazaar->cfg;
    if (req->pishkhan && s_secret_eq(req->pishkhan, cfg->pishkhan_secret))
        return true;
    char tokens[2][SB_BZ_ACCESS_LEN + 1];
    int n = 0;
    size_t len = 0;
    const char *t = sb_bazaar_bearer(req->authorization, &len);
    if (t && len == SB_BZ_ACCESS_LEN) {
        memcpy(tokens[n], t, len);
        tokens[n++][len] = '\0';
    }
    if (req->q_access_token && strlen(req->q_access_token) == SB_BZ_ACCESS_LEN)
        memcpy(tokens[n++], req->q_access_token, SB_BZ_ACCESS_LEN + 1);
    bool live = false;
    int64_t now = sb_mono_ms();
    sb_lock(sb);
    for (int i = 0; i < n && !live; i++)
        live = sb_bazaar_access_live(sb->bazaar, tokens[i], now);
    sb_unlock(sb);
    if (live)
        return true;
    bool given = req->pishkhan || req->authorization || req->q_access_token;
    sb_resp_error(resp, 401, "unauthorized",
                  given ? "The access token is invalid or has expired."
                        : "Authentication credentials were not provided.");
    return false;
}

void sb_bazaar_on_token(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    const sb_bazaar_config_t *cfg = &sb->bazaar->cfg;
    char grant[64], id[256], secret[256], refresh[256];
    if (!sb_form_get(req->body, req->body_len, "grant_type", grant, sizeof grant)) {
        sb_resp_error(resp, 400, "unsupported_grant_type", "grant_type is required.");
        return;
    }
    if (strcmp(grant, "authorization_code") == 0) {
        sb_resp_error(
            resp, 400, "invalid_grant",
            "The sandbox does not issue authorization codes; use grant_type=refresh_token.");
        return;
    }
    if (strcmp(grant, "refresh_token") != 0) {
        sb_resp_error(resp, 400, "unsupported_grant_type", NULL);
        return;
    }
    if (!sb_form_get(req->body, req->body_len, "client_id", id, sizeof id) ||
        !sb_form_get(req->body, req->body_len, "client_secret", secret, sizeof secret) ||
        !sb_form_get(req->body, req->body_len, "refresh_token", refresh, sizeof refresh) ||
        !s_secret_eq(id, cfg->client_id) || !s_secret_eq(secret, cfg->client_secret) ||
        !s_secret_eq(refresh, cfg->refresh_token)) {
        sb_resp_error(resp, 401, "invalid_client", NULL);
        return;
    }
    char token[SB_BZ_ACCESS_LEN + 1];
    sb_lock(sb);
    sb_bazaar_access_issue(sb->bazaar, sb_mono_ms(), token);
    sb_unlock(sb);
    json_object *o = json_object_new_object();
    if (o) {
        json_object_object_add(o, "access_token", json_object_new_string(token));
        json_object_object_add(o, "token_type", json_object_new_string("Bearer"));
        json_object_object_add(o, "expires_in", json_object_new_int(cfg->access_token_ttl_s));
        json_object_object_add(o, "scope", json_object_new_string("androidpublisher"));
    }
    sodium_memzero(token, sizeof token);
    sb_resp_json(resp, 200, &o);
}

/* caps: package_name, sku, token */
void sb_bazaar_on_validate(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    assert(req->ncaps == 3);
    if (!s_authorized(sb, req, resp))
        return;
    json_object *o = NULL;
    sb_lock(sb);
    const sb_purchase_t *p =
        sb_bazaar_validate(sb->bazaar, req->caps[0], req->caps[1], req->caps[2]);
    if (p && (o = json_object_new_object()) != NULL) {
        json_object_object_add(o, "consumptionState", json_object_new_int(p->consumption_state));
        json_object_object_add(o, "purchaseState", json_object_new_int(p->purchase_state));
        json_object_object_add(o, "kind", json_object_new_string("androidpublisher#inappPurchase"));
        json_object_object_add(o, "developerPayload", json_object_new_string(p->developer_payload));
        json_object_object_add(o, "purchaseTime", json_object_new_int64(p->purchase_time_ms));
    }
    sb_unlock(sb);
    if (!p) {
        sb_resp_error(resp, 404, "not_found", "The requested purchase is not found!");
        return;
    }
    sb_resp_json(resp, 200, &o);
}

/* caps: package_name; body {"token": "..."} (a form body is accepted too) */
void sb_bazaar_on_consume(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    assert(req->ncaps == 1);
    if (!s_authorized(sb, req, resp))
        return;
    char token[SB_BZ_NAME_MAX + 1];
    json_object *body = sb_json_parse_object(req->body, req->body_len);
    const char *t = sb_json_string(body, "token", SB_BZ_NAME_MAX);
    bool ok = false;
    if (t) {
        snprintf(token, sizeof token, "%s", t);
        ok = true;
    } else if (!body) {
        ok = sb_form_get(req->body, req->body_len, "token", token, sizeof token) && token[0];
    }
    json_object_put(body);
    if (!ok) {
        sb_resp_error(resp, 400, "invalid_value", "token is required.");
        return;
    }
    sb_lock(sb);
    sb_bz_consume_t rc = sb_bazaar_consume(sb->bazaar, req->caps[0], token);
    sb_unlock(sb);
    switch (rc) {
    case SB_BZ_CONSUME_OK: {
        json_object *o = json_object_new_object();
        sb_resp_json(resp, 200, &o);
        return;
    }
    case SB_BZ_CONSUME_UNKNOWN:
        sb_resp_error(resp, 404, "invalid_value", "Invalid token!");
        return;
    case SB_BZ_CONSUME_REFUNDED:
        sb_resp_error(resp, 400, "is_refunded", "The purchase is refunded.");
        return;
    case SB_BZ_CONSUME_ALREADY:
        sb_resp_error(resp, 400, "already_consumed", "The purchase is already consumed.");
        return;
    }
}

/* ---- admin handlers ---------------------------------------------------------- */

static json_object *s_purchase_json(const sb_purchase_t *p)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "purchase_token", json_object_new_string(p->token));
    json_object_object_add(o, "package_name", json_object_new_string(p->package_name));
    json_object_object_add(o, "sku", json_object_new_string(p->sku));
    json_object_object_add(o, "purchase_state", json_object_new_int(p->purchase_state));
    json_object_object_add(o, "consumption_state", json_object_new_int(p->consumption_state));
    json_object_object_add(o, "purchase_time_ms", json_object_new_int64(p->purchase_time_ms));
    json_object_object_add(o, "developer_payload", json_object_new_string(p->developer_payload));
    return o;
}

void sb_bazaar_on_admin_create(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    json_object *body = sb_json_parse_object(req->body, req->body_len);
    if (!body) {
        sb_resp_error(resp, 400, "the body must be a JSON object", NULL);
        return;
    }
    const char *pkg = sb_json_string(body, "package_name", SB_BZ_NAME_MAX);
    const char *sku = sb_json_string(body, "sku", SB_BZ_NAME_MAX);
    const char *payload = NULL;
    json_object *v;
    const char *err = NULL;
    if (!pkg || strchr(pkg, '/'))
        err = "package_name must be a string of 1..255 bytes without '/'";
    else if (!sku || strchr(sku, '/'))
        err = "sku must be a string of 1..255 bytes without '/'";
    else if (json_object_object_get_ex(body, "developer_payload", &v) &&
             !json_object_is_type(v, json_type_null)) {
        payload = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        if (!payload || (size_t)json_object_get_string_len(v) > SB_BZ_PAYLOAD_MAX ||
            strlen(payload) != (size_t)json_object_get_string_len(v))
            err = "developer_payload must be a string of at most 4096 bytes";
    }
    if (err) {
        json_object_put(body);
        sb_resp_error(resp, 400, err, NULL);
        return;
    }
    sb_lock(sb);
    const sb_purchase_t *p = sb_bazaar_add(sb->bazaar, pkg, sku, payload, sb_now_ms());
    json_object *o = p ? s_purchase_json(p) : NULL;
    sb_unlock(sb);
    json_object_put(body);
    if (!p) {
        sb_resp_error(resp, 507, "the sandbox holds max-purchases purchases already", NULL);
        return;
    }
    pm_debug("bazaar purchase created for sku %s",
             json_object_get_string(json_object_object_get(o, "sku")));
    sb_resp_json(resp, 201, &o);
}

void sb_bazaar_on_admin_get(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    assert(req->ncaps == 1);
    sb_lock(sb);
    const sb_purchase_t *p = sb_bazaar_find(sb->bazaar, req->caps[0]);
    json_object *o = p ? s_purchase_json(p) : NULL;
    sb_unlock(sb);
    if (!p) {
        sb_resp_error(resp, 404, "no purchase has this token", NULL);
        return;
    }
    sb_resp_json(resp, 200, &o);
}

void sb_bazaar_on_admin_refund(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    assert(req->ncaps == 1);
    sb_lock(sb);
    json_object *o = NULL;
    bool found = sb_bazaar_refund(sb->bazaar, req->caps[0]) == 0;
    if (found)
        o = s_purchase_json(sb_bazaar_find(sb->bazaar, req->caps[0]));
    sb_unlock(sb);
    if (!found) {
        sb_resp_error(resp, 404, "no purchase has this token", NULL);
        return;
    }
    sb_resp_json(resp, 200, &o);
}
