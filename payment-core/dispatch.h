/*  dispatch: turns a batch of request frames into reply frames, with every
 *  write of the batch committed in one transaction (group commit).
 *
 *  This is payment-core without its sockets: core receives the frames that
 *  are waiting, hands them here, and sends what comes back. Because it
 *  touches no socket it can be driven directly by unit tests.
 *
 *  dispatch_batch, for items[0..n):
 *    1. decodes each frame (malformed: a validation reply when the header
 *       decoded, else dropped with a warning);
 *    2. routes it by type, refusing types the item's socket may not send;
 *    3. drops requests whose deadline has passed (the requester has already
 *       answered 503);
 *    4. runs each request inside its own child of ONE write transaction:
 *       committed into the parent when the request succeeds or was refused by
 *       the payment's state, aborted when it fails, so a failing request
 *       leaves nothing behind while its neighbours keep their effects;
 *    5. commits the parent once (one fsync for the whole batch);
 *    6. only then fills the replies. If the commit fails, every reply of the
 *       batch becomes "unavailable": nothing is acknowledged that is not on
 *       disk. */
#ifndef DISPATCH_H
#define DISPATCH_H
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pm_proto.h"
#include "store.h"

typedef enum {
    DISPATCH_SRC_API = 1,   /* the api ROUTER: gateways; payment, AUTH, PING */
    DISPATCH_SRC_ADMIN = 2, /* the admin ROUTER: paymentctl; ADMIN_*, PING */
} dispatch_src_t;

typedef struct {
    int64_t max_amount_minor; /* largest amount_minor accepted */
    int64_t max_msg_bytes;    /* largest frame decoded */
} dispatch_limits_t;

/* One request of a batch and, afterwards, its reply. */
typedef struct {
    /* In: set by the caller. */
    dispatch_src_t src;
    const void *frame; /* the envelope; borrowed during dispatch_batch */
    size_t frame_size;
    /* Out: set by dispatch_batch. */
    bool has_reply;        /* false: dropped (malformed header, expired) */
    msgpack_sbuffer reply; /* the reply frame, when has_reply */
    /* Private to dispatch. */
    pm_header_t header_;
    bool header_ok_;
} dispatch_item_t;

/* Prepares / releases an item's reply buffer (kept across batches). */
void dispatch_item_init(dispatch_item_t *item);
void dispatch_item_fini(dispatch_item_t *item);

typedef struct dispatch_t dispatch_t;

/* store is borrowed and must outlive the dispatcher; limits are copied.
 * Caller owns the result. */
dispatch_t *dispatch_new(store_t *store, const dispatch_limits_t *limits);

void dispatch_destroy(dispatch_t **self_p);

/* Processes items[0..n) as one batch at time now_ms (Unix ms; timestamps and
 * deadlines are judged against it). Returns 0 when the batch committed, -1
 * when it could not (then every reply says unavailable). */
int dispatch_batch(dispatch_t *self, dispatch_item_t *items, size_t n, int64_t now_ms);

#endif
