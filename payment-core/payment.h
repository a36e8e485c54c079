/*  payment: the payment record, its storage codec and its state machine.
 *
 *  A record lives in the `payments` database under its transaction id (the
 *  36-byte lower-case UUID text). The value is a msgpack array, version first:
 *
 *      [1, id, sender_id, sender_method|nil, recipient_id, recipient_method,
 *       currency, amount_minor, status, cancel_reason|nil, accept_info|nil,
 *       created_ms, updated_ms]
 *
 *  The decoder is strict (exact arity, types, lengths, known status and
 *  currency, trailing bytes refused): a record that does not decode is
 *  corruption, reported as DB_ECORRUPT, never a crash.
 *
 *  Statuses and the actions that move between them:
 *
 *      created --accept--> accepted --(bank leg)--> bank_processing --> succeeded | failed
 *      created | accepted --cancel--> cancelled
 *      created | accepted --edit--> created        (an edit needs a new acceptance)
 */
#ifndef PAYMENT_H
#define PAYMENT_H
#include <lmdb.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "pm_ids.h"
#include "pm_proto.h"
#include "db.h"

#define PAYMENT_RECORD_VERSION 1
#define PAYMENT_ID_MAX 128           /* bytes of sender_id / recipient_id */
#define PAYMENT_METHOD_MAX 128       /* bytes of a method id */
#define PAYMENT_REASON_MAX 32        /* bytes of a cancel reason */
#define PAYMENT_ACCEPT_INFO_MAX 4096 /* bytes of accept_info JSON text */

typedef enum {
    PAYMENT_CREATED = 0,
    PAYMENT_ACCEPTED = 1,
    PAYMENT_BANK_PROCESSING = 2,
    PAYMENT_SUCCEEDED = 3,
    PAYMENT_FAILED = 4,
    PAYMENT_CANCELLED = 5,
    PAYMENT_STATUS__COUNT
} payment_status_t;

typedef enum {
    PAYMENT_ACTION_ACCEPT,
    PAYMENT_ACTION_CANCEL,
    PAYMENT_ACTION_EDIT,
    PAYMENT_ACTION__COUNT
} payment_action_t;

/* Fixed-size fields so that a record is plain data: copy it freely. An empty
 * string is "none" for the optional fields (their present values are never
 * empty). */
typedef struct {
    char id[PM_UUID_LEN + 1];
    char sender_id[PAYMENT_ID_MAX + 1];
    char sender_method[PAYMENT_METHOD_MAX + 1]; /* "" = none */
    char recipient_id[PAYMENT_ID_MAX + 1];
    char recipient_method[PAYMENT_METHOD_MAX + 1];
    char currency[4];
    int64_t amount_minor;
    payment_status_t status;
    char cancel_reason[PAYMENT_REASON_MAX + 1];    /* "" = none */
    char accept_info[PAYMENT_ACCEPT_INFO_MAX + 1]; /* "" = none */
    int64_t created_ms;                            /* Unix ms */
    int64_t updated_ms;                            /* Unix ms */
} payment_t;

/* "created", "bank_processing", ...; "unknown" outside the enum. */
const char *payment_status_name(payment_status_t status);

/* "accept", "cancel", "edit". */
const char *payment_action_name(payment_action_t action);

/* The state machine, pure: true and *to set when action is allowed from
 * status `from`; false (and *to untouched) when it is refused. */
bool payment_transition(payment_status_t from, payment_action_t action, payment_status_t *to);

/* True for the cancel reasons of the API: requested_by_sender, duplicate,
 * fraudulent, abandoned, other. */
bool payment_reason_valid(const char *reason, size_t len);

/* Appends the record's storage encoding to buf. */
void payment_encode(const payment_t *p, msgpack_sbuffer *buf);

/* Strictly decodes a stored record into *p. Returns 0, or -1 with the reason
 * in why (static text). */
int payment_decode(const void *data, size_t size, payment_t *p, const char **why);

/* Packs the PAYMENT map of pm_proto.h (the reply shape; accept_info is not
 * part of it). */
void payment_pack(msgpack_packer *pk, const payment_t *p);

/* Loads payment id into *p. Returns 0, MDB_NOTFOUND, DB_ECORRUPT (logged
 * with the id), or another LMDB code. */
int payment_load(db_t *db, MDB_txn *txn, const char *id, payment_t *p);

/* Writes *p under its id (insert or replace). Returns an LMDB code. */
int payment_save(db_t *db, MDB_txn *txn, const payment_t *p);

#endif
