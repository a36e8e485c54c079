/*  Unit tests of gw_link against a fake payment-core (a ROUTER in the test
 *  thread). The link is single-threaded: the test is its event loop, polling
 *  gw_link_socket and calling gw_link_process and gw_link_expire itself.
 *  Covered: the envelope sent, replies matched by correlation id, deadlines,
 *  late replies to recycled slots, a full table, a core that is not there,
 *  draining, destroy, malformed replies, next_deadline and inflight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../api-gateway/gw_link.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_sock.h"
#include "pm_time.h"

#define MAX_MSG 65536
#define ABSENT_CORE "tcp://127.0.0.1:1" /* nothing listens there */

/* A call and how many times its done ran. */
typedef struct {
    gw_call_t call;
    int ran;
} s_call_t;

static int s_done;    /* done runs, all calls together */
static int s_msgs;    /* messages gw_link_process took in s_pump */
static int s_expired; /* calls gw_link_expire ended in s_pump */

static void s_on_done(gw_call_t *call)
{
    s_call_t *c = call->arg;
    assert_ptr_equal(&c->call, call);
    c->ran++;
    s_done++;
}

static uint32_t s_slot(uint64_t corr_id)
{
    return (uint32_t)(corr_id & 0xFFFFFFFFu);
}

static uint32_t s_gen(uint64_t corr_id)
{
    return (uint32_t)(corr_id >> 32);
}

/* Runs the link as its event loop would: waits up to 5 ms for the socket,
 * takes the replies, ends the calls past their deadline; until *counter
 * reaches want (true) or timeout_ms has passed (false). */
static bool s_pump(gw_link_t *link, const int *counter, int want, int timeout_ms)
{
    int64_t until = pm_mono_ms() + timeout_ms;
    for (;;) {
        if (*counter >= want)
            return true;
        if (pm_mono_ms() > until)
            return false;
        zmq_pollitem_t item = {gw_link_socket(link), 0, ZMQ_POLLIN, 0};
        assert_true(zmq_poll(&item, 1, 5) >= 0);
        int n = gw_link_process(link);
        assert_true(n >= 0);
        if (item.revents & ZMQ_POLLIN)
            assert_true(n > 0); /* readable: something was there to take */
        s_msgs += n;
        int ended = gw_link_expire(link, pm_mono_ms());
        assert_true(ended >= 0);
        s_expired += ended;
    }
}

/* Runs the link for ms, whatever happens. */
static void s_pump_for(gw_link_t *link, int ms)
{
    int never = 0;
    assert_false(s_pump(link, &never, 1, ms));
}

static const uint8_t s_body[] = {0x81, 0xa1, 'k', 0x07}; /* {"k": 7} */

static void s_call_init(s_call_t *c, const char *trace)
{
    memset(c, 0, sizeof *c);
    c->call.type = PM_MSG_PAYMENT_GET;
    c->call.has_auth = true;
    memset(c->call.auth, 0xAB, PM_AUTH_LEN);
    snprintf(c->call.trace_id, sizeof c->call.trace_id, "%s", trace);
    c->call.body = s_body;
    c->call.body_len = sizeof s_body;
    c->call.done = s_on_done;
    c->call.arg = c;
}

/* Asserts that submit refused the call at once, with err and msg, and left
 * it untouched otherwise. */
static void s_assert_refused(gw_link_t *link, s_call_t *c, int err, const char *msg)
{
    assert_int_equal(gw_link_submit(link, &c->call), -1);
    assert_int_equal(c->ran, 0);
    assert_int_equal(c->call.err, err);
    assert_string_equal(c->call.msg, msg);
    assert_null(c->call.reply);
    assert_int_equal(c->call.corr_id, 0);
}

/* Submits a call that must be accepted. */
static void s_submit(gw_link_t *link, s_call_t *c)
{
    assert_int_equal(gw_link_submit(link, &c->call), 0);
    assert_int_equal(c->ran, 0); /* done runs later, never inside submit */
    assert_int_not_equal(c->call.corr_id, 0);
}

/* Submits until the link's DEALER has connected (immediate mode refuses
 * sends before that), and leaves the call in flight. Returns pm_mono_ms just
 * before the submit that was accepted. */
static int64_t s_submit_connected(gw_link_t *link, s_call_t *c)
{
    for (int tries = 0; tries < 1000; tries++) {
        int64_t t = pm_mono_ms();
        if (gw_link_submit(link, &c->call) == 0) {
            assert_int_equal(c->ran, 0);
            assert_int_not_equal(c->call.corr_id, 0);
            return t;
        }
        assert_int_equal(c->ran, 0);
        assert_int_equal(c->call.err, PM_ERR_UNAVAILABLE);
        assert_string_equal(c->call.msg, "payment-core is not reachable");
        zclock_sleep(2);
    }
    fail_msg("the link never connected");
    return 0;
}

/* One request as payment-core sees it. */
typedef struct {
    zframe_t *peer;
    pm_envelope_t *env;
} s_req_t;

static void s_core_recv(zsock_t *core, s_req_t *r)
{
    zsock_set_rcvtimeo(core, 2000);
    zmsg_t *msg = zmsg_recv(core);
    assert_non_null(msg);
    assert_int_equal(zmsg_size(msg), 2);
    r->peer = zmsg_pop(msg);
    zframe_t *data = zmsg_pop(msg);
    pm_header_t partial;
    bool header_ok;
    char why[128];
    r->env = pm_envelope_decode(zframe_data(data), zframe_size(data), MAX_MSG, &partial, &header_ok,
                                why, sizeof why);
    assert_non_null(r->env);
    zframe_destroy(&data);
    zmsg_destroy(&msg);
}

static uint64_t s_req_corr(const s_req_t *r)
{
    return pm_envelope_header(r->env)->corr_id;
}

static void s_req_done(s_req_t *r)
{
    zframe_destroy(&r->peer);
    pm_envelope_destroy(&r->env);
}

/* Sends a reply header for corr_id followed by the raw bytes body. */
static void s_core_send(zsock_t *core, zframe_t *peer, uint64_t corr_id, const void *body,
                        size_t body_len)
{
    pm_header_t h;
    memset(&h, 0, sizeof h);
    h.type = PM_MSG_REPLY;
    h.corr_id = corr_id;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    pm_envelope_pack_header(&buf, &h);
    msgpack_sbuffer_write(&buf, body, body_len);
    assert_int_equal(
        pm_sock_send_to(core, zframe_data(peer), zframe_size(peer), buf.data, buf.size), 0);
    msgpack_sbuffer_destroy(&buf);
}

/* Replies {"err": 0, "tag": tag} to corr_id. */
static void s_core_reply(zsock_t *core, zframe_t *peer, uint64_t corr_id, int tag)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, 0);
    pm_mp_pack_cstr(&pk, "tag");
    msgpack_pack_int(&pk, tag);
    s_core_send(core, peer, corr_id, buf.data, buf.size);
    msgpack_sbuffer_destroy(&buf);
}

/* The "tag" of a call's reply body. */
static int64_t s_reply_tag(const gw_call_t *call)
{
    assert_non_null(call->reply);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, call->reply, call->reply_len, &off),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, call->reply_len);
    int64_t tag = -1;
    assert_int_equal(pm_mp_get_int(&u.data, "tag", &tag), 0);
    msgpack_unpacked_destroy(&u);
    return tag;
}

static int s_n = 0;

static gw_link_t *s_link(zsock_t **core, int64_t timeout_ms, uint32_t max_inflight)
{
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://test-gw-link-core-%d", ++s_n);
    *core = pm_sock_router_bind(endpoint, 1000, MAX_MSG);
    assert_non_null(*core);
    gw_link_config_t cfg = {endpoint, timeout_ms, max_inflight, MAX_MSG};
    gw_link_t *link = gw_link_new(&cfg); /* must keep its own copy of endpoint */
    assert_non_null(link);
    assert_int_equal(gw_link_inflight(link), 0);
    assert_true(gw_link_next_deadline(link) == INT64_MAX);
    return link;
}

static void test_request_carries_the_envelope_and_gets_its_reply(void **state)
{
    (void)state;
    zsock_t *core;
    gw_link_t *link = s_link(&core, 2000, 16);
    assert_int_equal(gw_link_process(link), 0); /* nothing to take yet */
    s_call_t c;
    s_call_init(&c, "trace-1");
    int64_t before_ms = pm_now_ms();
    s_submit_connected(link, &c);
    int64_t after_ms = pm_now_ms();

    s_req_t r;
    s_core_recv(core, &r);
    const pm_header_t *h = pm_envelope_header(r.env);
    assert_int_equal(h->type, PM_MSG_PAYMENT_GET);
    assert_string_equal(h->trace_id, "trace-1");
    assert_string_equal(h->principal, "");
    assert_true(h->has_auth);
    uint8_t auth[PM_AUTH_LEN];
    memset(auth, 0xAB, sizeof auth);
    assert_memory_equal(h->auth, auth, PM_AUTH_LEN);
    assert_int_equal(h->corr_id, c.call.corr_id);
    assert_true(s_gen(h->corr_id) >= 1);
    assert_true(s_slot(h->corr_id) < 16);
    assert_true(h->deadline_ms >= before_ms + 2000); /* wall clock, now + timeout */
    assert_true(h->deadline_ms <= after_ms + 2000);
    size_t len;
    const void *body = pm_envelope_body_bytes(r.env, &len);
    assert_int_equal(len, sizeof s_body);
    assert_memory_equal(body, s_body, len);
    assert_int_equal(gw_link_inflight(link), 1);

    /* The reply waits on the socket until the loop takes it. */
    s_core_reply(core, r.peer, h->corr_id, 42);
    zmq_pollitem_t item = {gw_link_socket(link), 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&item, 1, 2000), 1);
    zclock_sleep(20);
    assert_int_equal(c.ran, 0);
    assert_int_equal(gw_link_process(link), 1);
    assert_int_equal(c.ran, 1);
    assert_int_equal(c.call.err, PM_OK);
    assert_int_equal(s_reply_tag(&c.call), 42);
    assert_int_equal(gw_link_inflight(link), 0);
    assert_true(gw_link_next_deadline(link) == INT64_MAX);
    free(c.call.reply);
    s_req_done(&r);

    /* Another type, no auth: the header says so, under a new corr id. */
    uint64_t first_corr = c.call.corr_id;
    s_call_t c2;
    s_call_init(&c2, "trace-2");
    c2.call.type = PM_MSG_PAYMENT_CREATE;
    c2.call.has_auth = false;
    s_submit(link, &c2);
    assert_int_not_equal(c2.call.corr_id, first_corr);
    s_core_recv(core, &r);
    h = pm_envelope_header(r.env);
    assert_int_equal(h->type, PM_MSG_PAYMENT_CREATE);
    assert_string_equal(h->trace_id, "trace-2");
    assert_false(h->has_auth);
    assert_int_equal(h->corr_id, c2.call.corr_id);
    s_core_reply(core, r.peer, h->corr_id, 43);
    assert_true(s_pump(link, &c2.ran, 1, 2000));
    assert_int_equal(c2.call.err, PM_OK);
    assert_int_equal(s_reply_tag(&c2.call), 43);
    free(c2.call.reply);
    s_req_done(&r);

    gw_link_destroy(&link);
    assert_null(link);
    gw_link_destroy(&link); /* safe twice */
    assert_null(link);
    assert_int_equal(s_done, 2); /* nothing was pending at destroy */
    assert_int_equal(c.ran, 1);
    assert_int_equal(c2.ran, 1);
    zsock_destroy(&core);
}

#define S_ORDER_N 8

static void test_replies_in_any_order_reach_their_own_calls(void **state)
{
    (void)state;
    zsock_t *core;
    gw_link_t *link = s_link(&core, 2000, 16);
    s_call_t calls[S_ORDER_N];
    s_req_t reqs[S_ORDER_N];
    for (int i = 0; i < S_ORDER_N; i++) {
        char trace[16];
        snprintf(trace, sizeof trace, "t%d", i);
        s_call_init(&calls[i], trace);
        if (i == 0)
            s_submit_connected(link, &calls[i]);
        else
            s_submit(link, &calls[i]);
        for (int j = 0; j < i; j++) {
            assert_int_not_equal(calls[i].call.corr_id, calls[j].call.corr_id);
            assert_int_not_equal(s_slot(calls[i].call.corr_id), s_slot(calls[j].call.corr_id));
        }
    }
    assert_int_equal(gw_link_inflight(link), S_ORDER_N);
    /* Requests arrive with each call's corr id; file them by trace id. */
    for (int i = 0; i < S_ORDER_N; i++) {
        s_req_t r;
        s_core_recv(core, &r);
        const pm_header_t *h = pm_envelope_header(r.env);
        int k = -1;
        assert_int_equal(sscanf(h->trace_id, "t%d", &k), 1);
        assert_true(k >= 0 && k < S_ORDER_N);
        assert_int_equal(h->corr_id, calls[k].call.corr_id);
        reqs[k] = r;
    }
    static const int order[S_ORDER_N] = {5, 2, 7, 0, 3, 6, 1, 4};
    for (int i = 0; i < S_ORDER_N; i++) {
        int k = order[i];
        s_core_reply(core, reqs[k].peer, s_req_corr(&reqs[k]), 100 + k);
    }
    assert_true(s_pump(link, &s_done, S_ORDER_N, 2000));
    assert_int_equal(s_msgs, S_ORDER_N);
    for (int i = 0; i < S_ORDER_N; i++) {
        assert_int_equal(calls[i].ran, 1);
        assert_int_equal(calls[i].call.err, PM_OK);
        assert_int_equal(s_reply_tag(&calls[i].call), 100 + i);
        free(calls[i].call.reply);
        s_req_done(&reqs[i]);
    }
    assert_int_equal(gw_link_inflight(link), 0);
    gw_link_destroy(&link);
    assert_int_equal(s_done, S_ORDER_N);
    zsock_destroy(&core);
}

static void test_core_not_there_is_refused_at_once(void **state)
{
    (void)state;
    gw_link_config_t cfg = {ABSENT_CORE, 5000, 16, MAX_MSG};
    gw_link_t *link = gw_link_new(&cfg);
    assert_non_null(link);
    s_call_t c;
    s_call_init(&c, "t");
    int64_t t0 = pm_mono_ms();
    s_assert_refused(link, &c, PM_ERR_UNAVAILABLE, "payment-core is not reachable");
    assert_true(pm_mono_ms() - t0 < 500);   /* at once, not after the 5 s deadline */
    assert_true(gw_link_unreachable(link)); /* not connected: the gateway may wait */
    assert_int_equal(gw_link_inflight(link), 0);
    assert_true(gw_link_next_deadline(link) == INT64_MAX);
    s_pump_for(link, 50);
    gw_link_destroy(&link);
    assert_int_equal(c.ran, 0); /* a refused call never sees done */
    assert_int_equal(s_done, 0);
}

/* gw_link_unreachable tells "no connection" from the other refusals: false
 * before any send, true after a send found no peer, false again once a send
 * went out, and false while draining. */
static void test_unreachable_follows_the_connection(void **state)
{
    (void)state;
    zsock_t *core = NULL;
    gw_link_t *link = s_link(&core, 5000, 16);
    assert_false(gw_link_unreachable(link));
    s_call_t c;
    s_call_init(&c, "u");
    (void)s_submit_connected(link, &c);
    assert_false(gw_link_unreachable(link));
    gw_link_drain(link);
    assert_int_equal(c.ran, 1);
    assert_false(gw_link_unreachable(link));
    gw_link_destroy(&link);
    zsock_destroy(&core);

    gw_link_config_t cfg = {ABSENT_CORE, 5000, 16, MAX_MSG};
    link = gw_link_new(&cfg);
    assert_non_null(link);
    s_call_t d;
    s_call_init(&d, "u2");
    s_assert_refused(link, &d, PM_ERR_UNAVAILABLE, "payment-core is not reachable");
    assert_true(gw_link_unreachable(link));
    gw_link_drain(link);
    assert_false(gw_link_unreachable(link)); /* shutting down: not worth a wait */
    gw_link_destroy(&link);
}

#define S_BURST 1000

static void test_burst_against_absent_core_is_refused_call_by_call(void **state)
{
    (void)state;
    /* 16 slots for 1000 calls: a refused call must not keep a slot, or the
     * 17th would be refused as "too many requests" instead. */
    gw_link_config_t cfg = {ABSENT_CORE, 5000, 16, MAX_MSG};
    gw_link_t *link = gw_link_new(&cfg);
    assert_non_null(link);
    s_call_t *calls = calloc(S_BURST, sizeof *calls);
    assert_non_null(calls);
    int64_t t0 = pm_mono_ms();
    for (int i = 0; i < S_BURST; i++) {
        s_call_init(&calls[i], "burst");
        s_assert_refused(link, &calls[i], PM_ERR_UNAVAILABLE, "payment-core is not reachable");
    }
    assert_true(pm_mono_ms() - t0 < 1000);
    assert_int_equal(gw_link_inflight(link), 0);
    assert_true(gw_link_next_deadline(link) == INT64_MAX);
    s_pump_for(link, 50);
    gw_link_destroy(&link);
    assert_int_equal(s_done, 0);
    for (int i = 0; i < S_BURST; i++)
        assert_int_equal(calls[i].ran, 0);
    free(calls);
}

static void test_deadline_gives_503_and_late_replies_are_ignored(void **state)
{
    (void)state;
    zsock_t *core;
    /* One slot: the second call has to reuse the first one's. */
    gw_link_t *link = s_link(&core, 100, 1);
    s_call_t first;
    s_call_init(&first, "late");
    int64_t t0 = s_submit_connected(link, &first);
    int64_t deadline = gw_link_next_deadline(link);
    assert_true(deadline >= t0 + 100);
    assert_true(deadline <= pm_mono_ms() + 100);
    s_req_t r1;
    s_core_recv(core, &r1);
    uint64_t old_corr = s_req_corr(&r1);
    assert_int_equal(old_corr, first.call.corr_id);
    assert_int_equal(gw_link_expire(link, deadline - 1), 0);
    assert_int_equal(first.ran, 0);

    /* Past the deadline nothing happens until the loop calls expire. */
    while (pm_mono_ms() <= deadline + 20)
        zclock_sleep(5);
    assert_int_equal(first.ran, 0);
    assert_int_equal(gw_link_inflight(link), 1);
    assert_true(s_pump(link, &first.ran, 1, 2000));
    assert_int_equal(s_expired, 1);
    assert_true(pm_mono_ms() - t0 >= 100);
    assert_int_equal(first.call.err, PM_ERR_UNAVAILABLE);
    assert_string_equal(first.call.msg, "payment-core did not answer within 100 ms");
    assert_null(first.call.reply);
    assert_int_equal(gw_link_inflight(link), 0);
    assert_true(gw_link_next_deadline(link) == INT64_MAX);

    /* A late reply to the free slot is taken and ignored. */
    s_core_reply(core, r1.peer, old_corr, 1);
    assert_true(s_pump(link, &s_msgs, 1, 2000));
    assert_int_equal(first.ran, 1);
    assert_int_equal(s_done, 1);

    /* The next call reuses the slot under a new generation. */
    s_call_t second;
    s_call_init(&second, "second");
    s_submit(link, &second);
    s_req_t r2;
    s_core_recv(core, &r2);
    uint64_t new_corr = s_req_corr(&r2);
    assert_int_equal(new_corr, second.call.corr_id);
    assert_int_equal(s_slot(new_corr), s_slot(old_corr));
    assert_int_not_equal(s_gen(new_corr), s_gen(old_corr));

    /* A late reply to the old generation must not end the second call. */
    s_core_reply(core, r1.peer, old_corr, 1);
    assert_true(s_pump(link, &s_msgs, 2, 2000));
    assert_int_equal(second.ran, 0);
    assert_int_equal(first.ran, 1);
    assert_int_equal(gw_link_inflight(link), 1);

    s_core_reply(core, r2.peer, new_corr, 2);
    assert_true(s_pump(link, &second.ran, 1, 2000));
    assert_int_equal(second.call.err, PM_OK);
    assert_int_equal(s_reply_tag(&second.call), 2);
    assert_int_equal(first.ran, 1);
    assert_int_equal(s_done, 2);
    assert_int_equal(s_expired, 1);
    free(second.call.reply);
    s_req_done(&r1);
    s_req_done(&r2);
    gw_link_destroy(&link);
    assert_int_equal(s_done, 2);
    zsock_destroy(&core);
}

static void test_full_table_refuses_at_once_and_the_16_get_their_replies(void **state)
{
    (void)state;
    zsock_t *core;
    gw_link_t *link = s_link(&core, 10000, 16);
    s_call_t calls[17];
    s_req_t reqs[16];
    for (int i = 0; i < 16; i++) {
        char trace[16];
        snprintf(trace, sizeof trace, "t%d", i);
        s_call_init(&calls[i], trace);
        if (i == 0)
            s_submit_connected(link, &calls[i]);
        else
            s_submit(link, &calls[i]);
    }
    assert_int_equal(gw_link_inflight(link), 16);
    for (int i = 0; i < 16; i++) { /* all 16 really sent */
        s_req_t r;
        s_core_recv(core, &r);
        int k = -1;
        assert_int_equal(sscanf(pm_envelope_header(r.env)->trace_id, "t%d", &k), 1);
        assert_true(k >= 0 && k < 16);
        assert_int_equal(s_req_corr(&r), calls[k].call.corr_id);
        reqs[k] = r;
    }

    s_call_init(&calls[16], "t16");
    int64_t t0 = pm_mono_ms();
    s_assert_refused(link, &calls[16], PM_ERR_UNAVAILABLE,
                     "too many requests in flight to payment-core");
    assert_true(pm_mono_ms() - t0 < 500);
    assert_int_equal(gw_link_inflight(link), 16);
    assert_int_equal(s_done, 0);

    for (int i = 15; i >= 0; i--)
        s_core_reply(core, reqs[i].peer, s_req_corr(&reqs[i]), 200 + i);
    assert_true(s_pump(link, &s_done, 16, 2000));
    for (int i = 0; i < 16; i++) {
        assert_int_equal(calls[i].ran, 1);
        assert_int_equal(calls[i].call.err, PM_OK);
        assert_int_equal(s_reply_tag(&calls[i].call), 200 + i);
        free(calls[i].call.reply);
        s_req_done(&reqs[i]);
    }
    assert_int_equal(calls[16].ran, 0);
    assert_int_equal(gw_link_inflight(link), 0);

    /* The slots are free again. */
    s_submit(link, &calls[16]);
    assert_int_equal(gw_link_inflight(link), 1);
    gw_link_destroy(&link);
    assert_int_equal(calls[16].ran, 1);
    assert_int_equal(s_done, 17);
    zsock_destroy(&core);
}

static void test_drain_ends_pending_at_once_and_refuses_later_calls(void **state)
{
    (void)state;
    zsock_t *core;
    gw_link_t *link = s_link(&core, 10000, 16);
    s_call_t calls[3];
    s_req_t reqs[3];
    for (int i = 0; i < 3; i++) {
        s_call_init(&calls[i], "t");
        if (i == 0)
            s_submit_connected(link, &calls[i]);
        else
            s_submit(link, &calls[i]);
    }
    for (int i = 0; i < 3; i++)
        s_core_recv(core, &reqs[i]);
    assert_int_equal(gw_link_inflight(link), 3);

    gw_link_drain(link); /* the 3 pending end inside this call */
    assert_int_equal(s_done, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(calls[i].ran, 1);
        assert_int_equal(calls[i].call.err, PM_ERR_UNAVAILABLE);
        assert_string_equal(calls[i].call.msg, "api-gateway is shutting down");
        assert_null(calls[i].call.reply);
    }
    assert_int_equal(gw_link_inflight(link), 0);
    assert_true(gw_link_next_deadline(link) == INT64_MAX);

    s_call_t later;
    s_call_init(&later, "later");
    s_assert_refused(link, &later, PM_ERR_UNAVAILABLE, "api-gateway is shutting down");
    s_assert_refused(link, &later, PM_ERR_UNAVAILABLE, "api-gateway is shutting down");

    /* Replies to the drained calls are taken and ignored: done ran once. */
    for (int i = 0; i < 3; i++)
        s_core_reply(core, reqs[i].peer, s_req_corr(&reqs[i]), i);
    assert_true(s_pump(link, &s_msgs, 3, 2000));
    assert_int_equal(s_done, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(calls[i].ran, 1);
        assert_int_equal(calls[i].call.err, PM_ERR_UNAVAILABLE);
        assert_null(calls[i].call.reply);
        s_req_done(&reqs[i]);
    }
    gw_link_destroy(&link);
    assert_int_equal(s_done, 3);
    assert_int_equal(later.ran, 0);
    zsock_destroy(&core);
}

static void test_destroy_ends_pending_calls(void **state)
{
    (void)state;
    zsock_t *core;
    gw_link_t *link = s_link(&core, 10000, 16);
    s_call_t calls[2];
    s_call_init(&calls[0], "t0");
    s_submit_connected(link, &calls[0]);
    s_call_init(&calls[1], "t1");
    s_submit(link, &calls[1]);
    s_req_t reqs[2];
    s_core_recv(core, &reqs[0]);
    s_core_recv(core, &reqs[1]);
    assert_int_equal(gw_link_inflight(link), 2);
    gw_link_destroy(&link);
    assert_null(link);
    assert_int_equal(s_done, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(calls[i].ran, 1);
        assert_int_equal(calls[i].call.err, PM_ERR_UNAVAILABLE);
        assert_true(calls[i].call.msg[0] != '\0');
        assert_null(calls[i].call.reply);
    }
    gw_link_destroy(&link); /* safe twice: nothing runs again */
    assert_int_equal(s_done, 2);
    s_req_done(&reqs[0]);
    s_req_done(&reqs[1]);
    zsock_destroy(&core);
}

static void test_malformed_reply_to_a_pending_call_is_internal_error(void **state)
{
    (void)state;
    zsock_t *core;
    gw_link_t *link = s_link(&core, 2000, 16);
    s_call_t c;
    s_call_init(&c, "t");
    s_submit_connected(link, &c);
    s_req_t r;
    s_core_recv(core, &r);
    uint64_t corr = s_req_corr(&r);

    /* Garbage with no header: taken, dropped, the call still waits. */
    assert_int_equal(pm_sock_send_to(core, zframe_data(r.peer), zframe_size(r.peer), "\xc1", 1), 0);
    assert_true(s_pump(link, &s_msgs, 1, 2000));
    assert_int_equal(c.ran, 0);
    assert_int_equal(gw_link_inflight(link), 1);

    /* A readable header for another generation of the slot: not this call. */
    s_core_send(core, r.peer, corr + ((uint64_t)1 << 32), "\x01", 1);
    assert_true(s_pump(link, &s_msgs, 2, 2000));
    assert_int_equal(c.ran, 0);
    assert_int_equal(gw_link_inflight(link), 1);

    /* A readable header for the call, then a body that is not a map. */
    s_core_send(core, r.peer, corr, "\x01", 1);
    assert_true(s_pump(link, &c.ran, 1, 2000));
    assert_int_equal(c.call.err, PM_ERR_INTERNAL);
    assert_string_equal(c.call.msg, "payment-core sent a malformed reply");
    assert_null(c.call.reply);
    assert_int_equal(gw_link_inflight(link), 0);

    /* A good reply coming after that is a late one. */
    s_core_reply(core, r.peer, corr, 9);
    assert_true(s_pump(link, &s_msgs, 4, 2000));
    assert_int_equal(c.ran, 1);
    assert_int_equal(c.call.err, PM_ERR_INTERNAL);
    assert_null(c.call.reply);
    s_req_done(&r);
    gw_link_destroy(&link);
    assert_int_equal(s_done, 1);
    zsock_destroy(&core);
}

static void test_next_deadline_and_inflight_follow_the_calls(void **state)
{
    (void)state;
    zsock_t *core;
    gw_link_t *link = s_link(&core, 1000, 16);
    s_call_t a, b, c;
    s_call_init(&a, "a");
    s_call_init(&b, "b");
    s_call_init(&c, "c");

    int64_t ta0 = s_submit_connected(link, &a);
    int64_t ta1 = pm_mono_ms();
    int64_t dl_a = gw_link_next_deadline(link);
    assert_true(dl_a >= ta0 + 1000 && dl_a <= ta1 + 1000);
    assert_int_equal(gw_link_inflight(link), 1);
    zclock_sleep(10);
    s_submit(link, &b);
    int64_t tb1 = pm_mono_ms();
    assert_true(gw_link_next_deadline(link) == dl_a); /* still the oldest */
    zclock_sleep(10);
    int64_t tc0 = pm_mono_ms();
    s_submit(link, &c);
    int64_t tc1 = pm_mono_ms();
    assert_true(tb1 < tc0);
    assert_true(gw_link_next_deadline(link) == dl_a);
    assert_int_equal(gw_link_inflight(link), 3);

    s_req_t reqs[3];
    for (int i = 0; i < 3; i++)
        s_core_recv(core, &reqs[i]);
    int ib = -1, ic = -1;
    for (int i = 0; i < 3; i++) {
        if (s_req_corr(&reqs[i]) == b.call.corr_id)
            ib = i;
        if (s_req_corr(&reqs[i]) == c.call.corr_id)
            ic = i;
    }
    assert_true(ib >= 0 && ic >= 0);

    /* b, the middle one, is answered: a stays the earliest. */
    s_core_reply(core, reqs[ib].peer, b.call.corr_id, 2);
    assert_true(s_pump(link, &b.ran, 1, 2000));
    assert_int_equal(b.call.err, PM_OK);
    free(b.call.reply);
    assert_int_equal(gw_link_inflight(link), 2);
    assert_true(gw_link_next_deadline(link) == dl_a);

    /* a ends at its deadline (not before); c, sent later, does not. */
    assert_int_equal(gw_link_expire(link, dl_a - 1), 0);
    assert_int_equal(a.ran, 0);
    assert_int_equal(gw_link_expire(link, dl_a), 1);
    assert_int_equal(a.ran, 1);
    assert_int_equal(a.call.err, PM_ERR_UNAVAILABLE);
    assert_string_equal(a.call.msg, "payment-core did not answer within 1000 ms");
    assert_int_equal(c.ran, 0);
    assert_int_equal(gw_link_inflight(link), 1);
    int64_t dl_c = gw_link_next_deadline(link);
    /* c's, not b's (tb1 < tc0) */
    assert_true(dl_c >= tc0 + 1000 && dl_c <= tc1 + 1000);

    s_core_reply(core, reqs[ic].peer, c.call.corr_id, 3);
    assert_true(s_pump(link, &c.ran, 1, 2000));
    assert_int_equal(c.call.err, PM_OK);
    assert_int_equal(s_reply_tag(&c.call), 3);
    free(c.call.reply);
    assert_int_equal(gw_link_inflight(link), 0);
    assert_true(gw_link_next_deadline(link) == INT64_MAX);
    assert_int_equal(gw_link_expire(link, INT64_MAX - 1), 0);
    for (int i = 0; i < 3; i++)
        s_req_done(&reqs[i]);
    gw_link_destroy(&link);
    assert_int_equal(s_done, 3);
    zsock_destroy(&core);
}

static void test_oversized_request_is_refused_and_not_sent(void **state)
{
    (void)state;
    zsock_t *core;
    gw_link_t *link = s_link(&core, 2000, 16);
    s_call_t ok;
    s_call_init(&ok, "ok");
    s_submit_connected(link, &ok);
    s_req_t r;
    s_core_recv(core, &r);

    uint8_t *big = calloc(1, MAX_MSG + 1);
    assert_non_null(big);
    s_call_t c;
    s_call_init(&c, "big");
    c.call.body = big;
    c.call.body_len = MAX_MSG + 1;
    assert_int_equal(gw_link_submit(link, &c.call), -1);
    assert_int_equal(c.call.err, PM_ERR_INTERNAL);
    assert_true(c.call.msg[0] != '\0');
    assert_int_equal(c.call.corr_id, 0);
    assert_int_equal(gw_link_inflight(link), 1);
    zsock_set_rcvtimeo(core, 100);
    zmsg_t *none = zmsg_recv(core);
    assert_null(none);
    free(big);

    s_core_reply(core, r.peer, ok.call.corr_id, 5);
    assert_true(s_pump(link, &ok.ran, 1, 2000));
    assert_int_equal(s_reply_tag(&ok.call), 5);
    free(ok.call.reply);
    s_req_done(&r);
    gw_link_destroy(&link);
    assert_int_equal(c.ran, 0);
    assert_int_equal(s_done, 1);
    zsock_destroy(&core);
}

static int s_setup(void **state)
{
    (void)state;
    pm_sock_init();
    return 0;
}

static int s_reset(void **state)
{
    (void)state;
    s_done = s_msgs = s_expired = 0;
    return 0;
}

#define S_TEST(f) cmocka_unit_test_setup(f, s_reset)

int main(void)
{
    const struct CMUnitTest tests[] = {
        S_TEST(test_request_carries_the_envelope_and_gets_its_reply),
        S_TEST(test_replies_in_any_order_reach_their_own_calls),
        S_TEST(test_core_not_there_is_refused_at_once),
        S_TEST(test_burst_against_absent_core_is_refused_call_by_call),
        S_TEST(test_unreachable_follows_the_connection),
        S_TEST(test_deadline_gives_503_and_late_replies_are_ignored),
        S_TEST(test_full_table_refuses_at_once_and_the_16_get_their_replies),
        S_TEST(test_drain_ends_pending_at_once_and_refuses_later_calls),
        S_TEST(test_destroy_ends_pending_calls),
        S_TEST(test_malformed_reply_to_a_pending_call_is_internal_error),
        S_TEST(test_next_deadline_and_inflight_follow_the_calls),
        S_TEST(test_oversized_request_is_refused_and_not_sent),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
