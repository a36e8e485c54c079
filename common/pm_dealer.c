/*  pm_dealer: request headers and the reading of replies on a worker's
 *  DEALER. */
#include "pm_dealer.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_log.h"
#include "pm_time.h"

void pm_dealer_begin(msgpack_sbuffer *buf, msgpack_packer *pk, uint32_t type, uint64_t corr_id,
                     int64_t ttl_ms, const char *principal, const char *trace_prefix)
{
    assert(buf && pk && principal && trace_prefix);
    pm_header_t h;
    memset(&h, 0, sizeof h);
    h.type = type;
    h.corr_id = corr_id;
    h.deadline_ms = pm_now_ms() + ttl_ms;
    snprintf(h.principal, sizeof h.principal, "%s", principal);
    if (pm_log_trace()[0]) /* on behalf of a job or item: its trace */
        snprintf(h.trace_id, sizeof h.trace_id, "%s", pm_log_trace());
    else
        snprintf(h.trace_id, sizeof h.trace_id, "%s-%llu", trace_prefix,
                 (unsigned long long)corr_id);
    msgpack_sbuffer_init(buf);
    pm_envelope_pack_header(buf, &h);
    msgpack_packer_init(pk, buf, msgpack_sbuffer_write);
}

/* Decodes one frame and hands it on when it is a reply. Returns 0 when it
 * was, -1 (logged) when not. */
static int s_on_frame(const void *data, size_t size, int64_t max_msg_bytes,
                      pm_dealer_reply_fn on_reply, void *arg)
{
    pm_header_t partial;
    bool header_ok = false;
    char why[128];
    pm_envelope_t *env = pm_envelope_decode(data, size, (size_t)max_msg_bytes, &partial, &header_ok,
                                            why, sizeof why);
    if (!env) {
        pm_warn("malformed message from payment-core: %s", why);
        return -1;
    }
    pm_dealer_reply_t r = {.header = pm_envelope_header(env), .body = pm_envelope_body(env)};
    r.err = -1;
    int rc = -1;
    if (r.header->type != PM_MSG_REPLY || pm_mp_get_int(r.body, "err", &r.err) != 0) {
        pm_warn("unexpected message from payment-core (type %u)", r.header->type);
        goto done;
    }
    if (r.err != 0)
        pm_mp_copy_str(r.body, "msg", r.msg, sizeof r.msg);
    on_reply(arg, &r);
    rc = 0;
done:
    pm_envelope_destroy(&env);
    return rc;
}

int pm_dealer_drain(zsock_t *dealer, int64_t max_msg_bytes, pm_dealer_reply_fn on_reply, void *arg)
{
    assert(dealer && on_reply);
    void *sock = zsock_resolve(dealer);
    int bad = 0;
    while (zsock_events(dealer) & ZMQ_POLLIN) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            break;
        }
        bool more = zmq_msg_more(&msg);
        if (more ||
            s_on_frame(zmq_msg_data(&msg), zmq_msg_size(&msg), max_msg_bytes, on_reply, arg) != 0)
            bad++;
        zmq_msg_close(&msg);
        while (more) { /* a multi-frame message is not ours: skip it whole */
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&msg);
                break;
            }
            more = zmq_msg_more(&msg);
            zmq_msg_close(&msg);
        }
    }
    return bad;
}
