/*  gw_json: strict JSON in, stable JSON out, and the field checks every API
 *  family shares.
 *
 *  Parsing: one JSON object per body, json-c's strict tokener with UTF-8
 *  validation and a depth of 16, plus a lexical pass that refuses what json-c
 *  tolerates but JSON does not (single quotes, NaN/Infinity, leading zeros,
 *  "1."). json-c keeps each double's original text, so amounts are taken from
 *  the characters the client sent and never pass through a double.
 *
 *  Field checks report into a gw_build_t: the first problem found, as a
 *  validation_error whose message names the field with its path
 *  ("money_info.amount has more decimal places than the currency allows").
 *
 *  Rendering: compact json-c output in insertion order, so the same reply
 *  always gives the same bytes. */
#ifndef GW_JSON_H
#define GW_JSON_H
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_route.h"
#include "pm_money.h"

#define GW_JSON_DEPTH 16 /* deepest nesting accepted */
#define GW_ID_MAX 128    /* bytes of an id field (user, method, ...) */
#define GW_IDEM_MAX 255  /* bytes of an idempotency_token */

/* Refuses JSON text that json-c accepts in strict mode but RFC 8259 does not
 * (or that json-c would silently alter: an unpaired surrogate escape becomes
 * U+FFFD). Returns 0, or -1 with the client message in why (cap bytes),
 * naming the field where there is one ("recipcient.recipcient_id holds an
 * unpaired UTF-16 surrogate escape"). Pure. */
int gw_json_lex_check(const char *text, size_t len, char *why, size_t cap);

/* Parses text as exactly one JSON object. Returns a new object (caller owns:
 * json_object_put), or NULL with a validation_error in b. */
json_object *gw_json_parse_object(const char *text, size_t len, gw_build_t *b);

/* Field accessors. prefix is the path of obj ("" at the top, "money_info"
 * below). Each returns 0, or -1 with a validation_error in b. A missing
 * optional field, or one that is JSON null, leaves the output NULL. */

/* Fails on the first key of obj not in allowed (NULL-terminated). */
int gw_json_only(json_object *obj, const char *prefix, const char *const *allowed, gw_build_t *b);

/* An object field. */
int gw_json_object(json_object *obj, const char *prefix, const char *key, bool required,
                   json_object **out, gw_build_t *b);

/* An id: 1..GW_ID_MAX bytes of UTF-8 without control characters. The view is
 * borrowed from obj. */
int gw_json_id(json_object *obj, const char *prefix, const char *key, bool required,
               const char **out, size_t *out_len, gw_build_t *b);

/* An idempotency_token: 1..GW_IDEM_MAX printable ASCII characters. */
int gw_json_idem(json_object *obj, const char *prefix, const char *key, const char **out,
                 size_t *out_len, gw_build_t *b);

/* A required currency code, matched case-insensitively. */
int gw_json_currency(json_object *obj, const char *prefix, const char *key,
                     const pm_currency_t **out, gw_build_t *b);

/* A required amount in minor units of cur: a JSON number (its original text)
 * or a string holding a plain decimal; > 0 and <= max_minor. */
int gw_json_amount(json_object *obj, const char *prefix, const char *key, const pm_currency_t *cur,
                   int64_t max_minor, int64_t *out, gw_build_t *b);

/* The decimal text of a JSON value that may be an amount: a number's
 * original characters, or a string's content. NULL for any other type. */
const char *gw_json_amount_text(json_object *v, size_t *len);

/* ---- output ---------------------------------------------------------- */

/* A JSON number with exactly cur->exponent fraction digits ("1.10"). Caller
 * owns. NULL if minor is negative. */
json_object *gw_json_new_amount(int64_t minor, const pm_currency_t *cur);

/* A string from len bytes, or NULL (JSON null) when s is NULL. */
json_object *gw_json_new_strn(const char *s, size_t len);

/* Serializes obj compactly into out (status set), then releases obj. Returns
 * 0, or -1 on out of memory. */
int gw_json_finish(json_object *obj, int status, gw_response_t *out);

/* {"code": pm_err_code(err), "message": msg} with pm_err_http_status(err). */
int gw_json_error(int err, const char *msg, gw_response_t *out);

/* An error body in the given shape: GW_ERRORS_CORE as gw_json_error;
 * GW_ERRORS_ORDER {"status": 0, "message": msg, "code": pm_err_code(err)};
 * GW_ERRORS_STORE {"error": msg, "code": pm_err_code(err)}, where a 401's
 * message is always "Log in" (seed 000). */
int gw_json_error_as(gw_errors_t errors, int err, const char *msg, gw_response_t *out);

/* Packs key and s[0..len) as a msgpack str, or nil when s is NULL. */
void gw_pack_kv(msgpack_packer *pk, const char *key, const char *s, size_t len);

/* Adds key to o: ISO-8601 UTC of ms, or null when !set. Returns 0, or -1
 * when ms is out of range. */
int gw_json_add_time(json_object *o, const char *key, bool set, int64_t ms);

/* ---- payment-core replies ------------------------------------------- */

/* The "err" of a reply body (raw msgpack bytes, a map): a pm_err_t, or
 * PM_ERR_INTERNAL when the body is malformed. */
int gw_reply_err(const void *bytes, size_t len);

/* A string under key in a reply map: valid UTF-8 of at most max bytes, or nil
 * when nullable (then *s is NULL). Views into the reply. Returns 0 or -1. */
int gw_reply_str(const msgpack_object *map, const char *key, bool nullable, size_t max,
                 const char **s, size_t *len);

/* Renders a reply body: an error reply as gw_json_error with the core's
 * "msg"; a success through render (NULL: none expected); anything malformed
 * as 500 internal_error. Returns 0, or -1 on out of memory. */
int gw_reply_render(gw_render_fn render, const void *bytes, size_t len, gw_response_t *out);

/* gw_reply_render for a route: errors in the route's shape, a success
 * through route->render_req (with in) or route->render. route NULL: errors
 * only, in the core shape. */
int gw_reply_render_route(const gw_route_t *route, const gw_input_t *in, const void *bytes,
                          size_t len, gw_response_t *out);

/* Copies at most max bytes of src into dst (cap bytes) as printable ASCII,
 * replacing anything else by '?', for echoing client text in messages. */
void gw_text_clip(char *dst, size_t cap, const char *src, size_t len, size_t max);

/* ISO-8601 UTC with milliseconds: "2026-11-23T08:00:00.123Z". Returns 0, or
 * -1 if ms is outside years 0..9999. */
int gw_time_format(int64_t ms, char *buf, size_t cap);

/* True when s[0..len) is valid UTF-8 (no overlongs, surrogates, > U+10FFFF). */
bool gw_utf8_valid(const char *s, size_t len);

#endif
