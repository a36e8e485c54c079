/*  request: one request's context while dispatch runs its handler, and the
 *  helpers a handler uses to read body fields and state its outcome.
 *
 *  A handler returns 0 after packing a success body (a whole map, "err": 0
 *  first) with req->pk, or -1 after one of the outcome calls below. Outcomes
 *  differ in what happens to the request's child transaction and whether an
 *  idempotent replay will repeat them:
 *
 *    success          child committed; reply stored with the idempotency key
 *    req_refuse       the payment's state or the caller's rights decided it
 *                     (400 transition, 403, 404): child committed, reply stored
 *    req_reject       the input was unusable, or auth failed: child aborted,
 *                     nothing stored, a retry is processed afresh
 *    req_store_error  storage failed: child aborted, nothing stored
 *
 *  Body fields are peer input: every reader checks type and bounds and names
 *  the field (by its public API name) in the validation error. */
#ifndef REQUEST_H
#define REQUEST_H
#include <lmdb.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "dispatch.h"
#include "idem.h"
#include "park.h"
#include "pm_proto.h"
#include "db.h"

#define REQ_MSG_MAX 320

typedef enum { REQ_PARK_NONE = 0, REQ_PARK_WAITER, REQ_PARK_TAKER } req_park_t;

typedef struct {
    /* Set by dispatch before the handler runs; all borrowed. */
    db_t *db;
    MDB_txn *txn; /* this request's child transaction */
    const pm_header_t *header;
    const msgpack_object *body; /* the body map */
    const void *body_bytes;     /* its raw bytes (fingerprints) */
    size_t body_size;
    const dispatch_limits_t *limits;
    const dispatch_stats_t *stats; /* group-commit counters (ADMIN_STATS) */
    int64_t now_ms;                /* Unix ms of this batch */
    const auth_identity_t *caller; /* the token's identity; NULL on unauthenticated routes */

    /* The outcome. */
    msgpack_sbuffer *out; /* the reply body; the handler packs into it via pk */
    msgpack_packer pk;
    int err;        /* pm_err_t; PM_OK on success */
    bool decided;   /* a req_refuse outcome */
    bool db_failed; /* req_store_error was called */
    char msg[REQ_MSG_MAX];

    /* Idempotency, set by req_idem_claim. */
    bool idem_claimed; /* the key is new: dispatch stores the reply */
    bool replayed;     /* out holds a stored reply, to send verbatim */
    idem_key_t idem_key;
    uint8_t idem_fp[IDEM_FP_LEN];

    /* Effects on parked requests, applied by dispatch only once the child
     * transaction committed (so a failed request parks or answers no one). */
    const park_t *park;                    /* for capacity checks; borrowed */
    req_park_t park_as;                    /* this request waits instead of being answered */
    char park_serial[PARK_SERIAL_MAX + 1]; /* REQ_PARK_WAITER: its purchase */
    int64_t park_until_ms;                 /* answered by park_expire from then */
    park_take_t park_take;                 /* REQ_PARK_TAKER: what it waits for */
    bool answer; /* answer the waiters of answer_serial with answer_body */
    char answer_serial[PARK_SERIAL_MAX + 1];
    msgpack_sbuffer *answer_body; /* scratch owned by dispatch */
} req_t;

/* Outcomes; each returns -1 so that a handler can `return req_reject(...)`. */
int req_reject(req_t *req, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int req_refuse(req_t *req, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Logs what failed with the LMDB code and the trace id; the client gets
 * unavailable (storage full) or internal_error. */
int req_store_error(req_t *req, int rc, const char *what);

/* Parks this request as a waiter on serial (a purchase or checkout): it is
 * answered when a report for serial is applied, or unavailable shortly
 * before its deadline (30 s without one). */
void req_park_waiter(req_t *req, const char *serial);

/* The waiters of serial hear an error {"err", "msg"} once this request's
 * transaction is in (req->answer, req->answer_body). */
void req_answer_error(req_t *req, const char *serial, int err, const char *msg);

/* The str under key of map (a provider's result data) copied into buf,
 * "" when map is not a map, the key is absent or the value does not fit. */
const char *req_data_str(const msgpack_object *map, const char *key, char *buf, size_t cap);

/* True when url starts with http:// or https://. */
bool req_http_url(const char *url);

/* Packs {"err": 0, key: [ (n items follow, packed by the caller) } into pk. */
void req_pack_list_head(msgpack_packer *pk, const char *key, uint32_t n);

/* Field readers. flags: */
enum {
    REQ_OPTIONAL = 1, /* absent or nil reads as "" (and returns 0) */
    REQ_ASCII = 2,    /* printable ASCII only (0x20..0x7e) */
    REQ_JSON = 4,     /* JSON text: UTF-8 and whitespace controls allowed */
};

/* Reads the str under key into out (cap > max) after checking: present (unless
 * REQ_OPTIONAL), a str, min..max bytes, no NUL; well-formed UTF-8 without
 * control characters, unless REQ_ASCII or REQ_JSON says otherwise. Returns 0,
 * or -1 with a validation error naming api_name. */
int req_text(req_t *req, const char *key, const char *api_name, size_t min, size_t max, int flags,
             char *out, size_t cap);

/* Reads a known currency code (upper case) into out[4]. */
int req_currency(req_t *req, const char *key, const char *api_name, char out[4]);

/* Reads an integer amount in 1..limits->max_amount_minor. */
int req_amount(req_t *req, const char *key, const char *api_name, int64_t *out);

/* Reads an integer in min..max under key; absent or nil gives def when
 * REQ_OPTIONAL is in flags. */
int req_int(req_t *req, const char *key, const char *api_name, int64_t min, int64_t max, int flags,
            int64_t def, int64_t *out);

/* Reads a bool under key (required). */
int req_bool(req_t *req, const char *key, const char *api_name, bool *out);

/* Reads the "idem" field and checks the caller's key.
 * Returns 0 when the key is new (the reply will be stored with it), 1 when
 * the request is a repeat and req->out now holds the stored reply, or -1
 * with the outcome set (validation, 422 mismatch, 409 in progress, storage). */
int req_idem_claim(req_t *req);

/* True when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or
 * values past U+10FFFF); with no_controls, C0, DEL and C1 controls fail too. */
bool req_utf8_valid(const char *s, size_t len, bool no_controls);

#endif
