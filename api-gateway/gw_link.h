/*  gw_link: one event loop's connection to payment-core, with many requests
 *  in flight.
 *
 *  A link is owned by one thread, the gateway event loop that also runs its
 *  HTTP connections (gw_http), and every function here is called on that
 *  thread: there is no lock, no queue and no hand-off between threads. The
 *  loop polls gw_link_socket() beside its HTTP sockets; gw_link_submit sends
 *  at once (ZeroMQ's own I/O thread batches the frames on the wire);
 *  gw_link_process takes the replies that arrived and gw_link_expire the
 *  calls whose deadline passed.
 *
 *  A sent call gets a slot of a fixed table of max_inflight slots and the
 *  correlation id generation << 32 | slot, so a late reply to a recycled slot
 *  is ignored. Slots sit in a list in send order; all share one timeout, so
 *  that list is also deadline order and expiry only looks at its head.
 *
 *  A call that gw_link_submit took ends exactly once, with its done callback,
 *  run by gw_link_process (a reply: err PM_OK, reply body bytes),
 *  gw_link_expire (the deadline passed), gw_link_drain or gw_link_destroy
 *  (err PM_ERR_UNAVAILABLE). A call it refused never sees done: err and msg
 *  say why (the table is full, payment-core is not connected, the link is
 *  draining). After done returns, the link never touches the call again. */
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
    const void *body; /* msgpack body map; only read during submit */
    size_t body_len;
    gw_call_done_fn *done; /* runs on the link's thread */
    void *arg;             /* for done */

    /* Set by the link: before done, or when submit refuses the call. */
    int err;       /* PM_OK: the reply is in reply/reply_len */
    char msg[128]; /* why, when err != PM_OK */
    void *reply;   /* reply body (msgpack map), malloc'd: the
                      submitter frees it */
    size_t reply_len;
    uint64_t corr_id; /* as sent (0 if never sent) */
};

typedef struct {
    const char *endpoint;  /* payment-core, e.g. "tcp://127.0.0.1:7100" */
    int64_t timeout_ms;    /* deadline of every call */
    uint32_t max_inflight; /* slots: calls sent and not answered */
    int64_t max_msg_bytes; /* largest frame sent or received */
} gw_link_config_t;

typedef struct gw_link_t gw_link_t;

/* Creates the DEALER and connects it. Returns a new link (caller owns:
 * gw_link_destroy), or NULL (logged) when the socket cannot be made. The
 * link may be created on one thread and then handed to another before use. */
gw_link_t *gw_link_new(const gw_link_config_t *cfg);

/* Ends every pending call with 503, closes the socket, frees everything.
 * Safe twice; nulls *self_p. */
void gw_link_destroy(gw_link_t **self_p);

/* Sends call to payment-core now. Returns 0 when it is in flight (done will
 * run exactly once, later), or -1 when it was refused (done will not run;
 * call->err is PM_ERR_UNAVAILABLE or PM_ERR_INTERNAL and call->msg says
 * why). */
int gw_link_submit(gw_link_t *self, gw_call_t *call);

/* The ZeroMQ socket to poll for ZMQ_POLLIN (the raw handle, void *). */
void *gw_link_socket(gw_link_t *self);

/* Takes the replies waiting on the socket (a bounded number per call) and
 * runs their calls' done. Returns how many messages it took. */
int gw_link_process(gw_link_t *self);

/* Ends with 503 every call whose deadline is at or before now_mono (ms of
 * pm_mono_ms). Returns how many it ended. */
int gw_link_expire(gw_link_t *self, int64_t now_mono);

/* pm_mono_ms time of the earliest deadline, INT64_MAX when nothing is in
 * flight. */
int64_t gw_link_next_deadline(const gw_link_t *self);

/* Calls in flight. */
uint32_t gw_link_inflight(const gw_link_t *self);

/* True when the last gw_link_submit that got as far as sending was refused
 * because the DEALER has no completed connection to payment-core (it is
 * down, or this socket has not reconnected yet), and no send succeeded
 * since; false while draining. Lets the caller tell "not connected" from
 * the other refusals. */
bool gw_link_unreachable(const gw_link_t *self);

/* Ends every pending call with 503 ("api-gateway is shutting down") and
 * from now on refuses each new one the same way. */
void gw_link_drain(gw_link_t *self);

#endif
