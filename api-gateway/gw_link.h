/*  gw_link: the gateway's one connection to payment-core, with many requests
 *  in flight.
 *
 *  One actor thread owns a DEALER connected to payment-core. Any thread
 *  submits a call (gw_link_submit) by appending it to a queue under a short
 *  mutex; only the submit that finds the queue empty wakes the actor (one
 *  eventfd write), and the actor takes the whole queue at once, so a burst
 *  of requests costs one wake-up, not one per call. The link gives the call a slot of a
 *  fixed table of max_inflight slots and the correlation id
 *  generation << 32 | slot, so a late reply to a recycled slot is ignored,
 *  and sends it. Slots sit in a list in send order; all share one timeout,
 *  so that list is also deadline order and expiry only looks at its head.
 *
 *  Every submitted call ends exactly once, on the link thread, with its done
 *  callback: a reply (err PM_OK, reply body bytes), or err
 *  PM_ERR_UNAVAILABLE when the table is full, payment-core is not connected
 *  (immediate mode: a send fails at once), the deadline passes, or the link
 *  is draining. After done returns, the link never touches the call again. */
#ifndef GW_LINK_H
#define GW_LINK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pm_proto.h"

typedef struct gw_call_t gw_call_t;
typedef void(gw_call_done_fn)(gw_call_t *call);

struct gw_call_t {
    /* Set by the submitter; read-only while the call is submitted. */
    uint32_t type; /* pm_msg_type_t */
    bool has_auth;
    uint8_t auth[PM_AUTH_LEN]; /* BLAKE2b-256 of the client's token */
    char trace_id[PM_TRACE_MAX + 1];
    const void *body; /* msgpack body map; borrowed until done */
    size_t body_len;
    gw_call_done_fn *done; /* runs on the link thread */
    void *arg;             /* for done */

    /* Set by the link before done. */
    int err;       /* PM_OK: the reply is in reply/reply_len */
    char msg[128]; /* why, when err != PM_OK */
    void *reply;   /* reply body (msgpack map), malloc'd: the
                      submitter frees it */
    size_t reply_len;
    uint64_t corr_id; /* as sent (0 if never sent) */

    gw_call_t *next_; /* the link's: submission queue */
};

typedef struct {
    const char *endpoint;  /* payment-core, e.g. "tcp://127.0.0.1:7100" */
    int64_t timeout_ms;    /* deadline of every call */
    uint32_t max_inflight; /* slots: calls sent and not answered */
    int64_t max_msg_bytes; /* largest frame sent or received */
} gw_link_config_t;

typedef struct gw_link_t gw_link_t;

/* Creates the sockets and starts the link thread. Returns a new link (caller
 * owns: gw_link_destroy), or NULL (logged) when a socket cannot be made. */
gw_link_t *gw_link_new(const gw_link_config_t *cfg);

/* Stops the thread (ending any call still pending with 503) and frees
 * everything. Call only when no
 * thread will submit again. Safe twice; nulls *self_p. */
void gw_link_destroy(gw_link_t **self_p);

/* Hands call to the link; thread-safe. Returns 0 when the call was taken
 * (done will run exactly once), or -1 when it was not (done will not run):
 * out of memory, or the link's queue is full. */
int gw_link_submit(gw_link_t *self, gw_call_t *call);

/* Ends every pending call with 503 and from now on ends each new one at
 * once the same way. Returns when the pending calls are done. */
void gw_link_drain(gw_link_t *self);

#endif
