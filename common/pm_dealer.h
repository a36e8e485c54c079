/*  pm_dealer: the client side of payment-core's worker socket.
 *
 *  provider-bazaar and retry-worker each own one DEALER connected to that
 *  ROUTER and speak to it the same way: every request is one frame, an
 *  envelope whose header carries the worker's principal, a correlation id
 *  it chose and a trace id made from them; every answer is one REPLY frame
 *  with an integer "err" (and a "msg" when err is not 0). This module packs
 *  the header of such a request and reads the socket dry, decoding each
 *  frame strictly and handing on only the well-formed replies; what each
 *  daemon does with a reply stays in its loop.
 *
 *  Nothing payment-core sends reaches an assert: a malformed or unexpected
 *  frame is logged once, here, and counted for the caller. */
#ifndef PM_DEALER_H
#define PM_DEALER_H
#include <czmq.h>
#include <msgpack.h>
#include <stdint.h>

#include "pm_proto.h"

/* The setting of payment-core's worker socket, the same in every worker. */
#define PM_SETTING_CORE_WORKER_ENDPOINT                                                            \
    {                                                                                              \
        "core-worker-endpoint", PM_CFG_STR, "tcp://127.0.0.1:7101", 1, 255,                        \
            "payment-core's worker socket", 0, NULL                                                \
    }

/* Initialises buf and pk (packing into buf) and packs the header of a
 * request: type, corr_id, a deadline ttl_ms from now, principal, no auth,
 * trace id the thread's log trace (pm_log_trace: the job or item this
 * request is for) or, without one, "<trace_prefix>-<corr_id>". The caller packs the body map next,
 * sends buf->data and destroys buf. */
void pm_dealer_begin(msgpack_sbuffer *buf, msgpack_packer *pk, uint32_t type, uint64_t corr_id,
                     int64_t ttl_ms, const char *principal, const char *trace_prefix);

/* One reply from payment-core, valid during the callback only. */
typedef struct {
    const pm_header_t *header; /* type PM_MSG_REPLY */
    const msgpack_object *body;
    int64_t err;   /* the body's "err": 0, or a pm_err_t */
    char msg[128]; /* the body's "msg" when err != 0 (clipped), else "" */
} pm_dealer_reply_t;

typedef void (*pm_dealer_reply_fn)(void *arg, const pm_dealer_reply_t *reply);

/* Reads every message waiting on dealer without blocking (which also
 * re-arms its edge-triggered ZMQ_FD). Each one-frame message that decodes
 * (at most max_msg_bytes) as a REPLY with an integer "err" goes to
 * on_reply(arg, ...); any other frame is logged; a multi-frame message is
 * not ours and is skipped whole. Returns how many messages were not handed
 * to on_reply. */
int pm_dealer_drain(zsock_t *dealer, int64_t max_msg_bytes, pm_dealer_reply_fn on_reply, void *arg);

#endif
