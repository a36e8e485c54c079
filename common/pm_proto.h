/*  pm_proto: the wire protocol between paymesh daemons.
 *
 *  One ZeroMQ message frame carries one envelope: two msgpack objects back to
 *  back, a header array and a body map.
 *
 *      header = [version, type, corr_id, deadline_ms, principal, auth, trace_id]
 *        version      uint     PM_PROTO_VERSION; anything else is refused
 *        type         uint     pm_msg_type_t
 *        corr_id      uint64   chosen by the requester, echoed in the reply
 *        deadline_ms  int64    Unix ms after which the requester has given up
 *                              (0: none); payment-core drops expired requests
 *        principal    str      acting principal when the sender is trusted
 *                              (provider, worker); "" from the gateway
 *        auth         bin(32)  BLAKE2b-256 of the client's API token, or nil;
 *                              payment-core resolves it to a principal
 *        trace_id     str      request id for logs, <= 64 bytes
 *      body   = map of string keys, schema per type (below)
 *
 *  Replies have type PM_MSG_REPLY, the request's corr_id and trace_id, and a
 *  body {"err": pm_err_t, "msg": str (when err != 0), ...result fields}.
 *  The body follows the header so that its raw bytes can be hashed
 *  (idempotency fingerprints) and stored (idempotent replays) as they are.
 *
 *  Bodies (keys; "?" = may be absent or nil):
 *    PAYMENT_CREATE  idem, sender_id, sender_method?, recipient_id,
 *                    recipient_method, currency, amount_minor (int)
 *    PAYMENT_GET     id
 *    PAYMENT_CANCEL  idem, id, reason
 *    PAYMENT_EDIT    idem, id, currency, amount_minor, recipient_method?
 *    PAYMENT_ACCEPT  idem, id, accept_info? (JSON text of an object)
 *    reply to the five above: {"err": 0, "payment": PAYMENT}
 *      PAYMENT = {id, sender_id, sender_method (str|nil), recipient_id,
 *                 recipient_method, currency, amount_minor, status,
 *                 cancel_reason (str|nil), created_ms, updated_ms}
 *    ADMIN_TOKEN_CREATE  principal, role ("user"|"service")
 *      reply {"err": 0, "token": str, "principal": str, "role": str}
 *    ADMIN_STATS  {} -> {"err": 0, "payments": n, "idempotency_keys": n,
 *                        "tokens": n}
 *    AUTH  {} -> {"err": 0, "principal": str, "role": str}; resolves the
 *          header's auth (the gateway asks this only when it already has a
 *          4xx for the request, so that 401 still wins over 400)
 *    PING  {} -> {"err": 0}
 */
#ifndef PM_PROTO_H
#define PM_PROTO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PM_PROTO_VERSION 1
#define PM_AUTH_LEN 32       /* BLAKE2b-256 of an API token */
#define PM_PRINCIPAL_MAX 128 /* bytes of a principal id */
#define PM_TRACE_MAX 64      /* bytes of a trace id */
#define PM_HEADER_FIELDS 7

typedef enum {
    PM_MSG_REPLY = 1,
    PM_MSG_PING = 2,
    PM_MSG_AUTH = 3,
    PM_MSG_PAYMENT_CREATE = 10,
    PM_MSG_PAYMENT_GET = 11,
    PM_MSG_PAYMENT_CANCEL = 12,
    PM_MSG_PAYMENT_EDIT = 13,
    PM_MSG_PAYMENT_ACCEPT = 14,
    PM_MSG_ADMIN_TOKEN_CREATE = 100,
    PM_MSG_ADMIN_STATS = 101,
} pm_msg_type_t;

/* A decoded header. Fixed-size copies, so it outlives the frame it came from. */
typedef struct {
    uint32_t version;
    uint32_t type;
    uint64_t corr_id;
    int64_t deadline_ms;
    char principal[PM_PRINCIPAL_MAX + 1];
    bool has_auth;
    uint8_t auth[PM_AUTH_LEN];
    char trace_id[PM_TRACE_MAX + 1];
} pm_header_t;

#endif
