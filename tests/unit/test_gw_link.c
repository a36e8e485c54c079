/*  Unit tests of gw_link against a fake payment-core (a ROUTER in the test
 *  thread): replies matched by correlation id, deadlines, late replies to
 *  recycled slots, a full table, a core that is not there, draining. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
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

static void s_on_done(gw_call_t *call)
{
    atomic_fetch_add((atomic_int *)call->arg, 1);
}

/* Waits until *n reaches want; false after timeout_ms. */
static bool s_wait(atomic_int *n, int want, int timeout_ms)
{
    int64_t until = pm_mono_ms() + timeout_ms;
    while (atomic_load(n) < want) {
        if (pm_mono_ms() > until)
            return false;
        zclock_sleep(1);
    }
    return true;
}

static const uint8_t s_body[] = {0x81, 0xa1, 'k', 0x07}; /* {"k": 7} */

static void s_call_init(gw_call_t *call, atomic_int *done, const char *trace)
{
    memset(call, 0, sizeof *call);
    call->type = PM_MSG_PAYMENT_GET;
    call->has_auth = true;
    memset(call->auth, 0xAB, PM_AUTH_LEN);
    snprintf(call->trace_id, sizeof call->trace_id, "%s", trace);
    call->body = s_body;
    call->body_len = sizeof s_body;
    call->done = s_on_done;
    call->arg = done;
}

/* Submits until the link's DEALER has connected (immediate mode refuses
 * sends before that), then leaves the call in flight. */
static void s_submit_connected(gw_link_t *link, gw_call_t *call, atomic_int *done)
{
    for (int tries = 0; tries < 500; tries++) {
        int before = atomic_load(done);
        assert_int_equal(gw_link_submit(link, call), 0);
        if (!s_wait(done, before + 1, 20))
            return; /* in flight */
        assert_int_equal(call->err, PM_ERR_UNAVAILABLE);
        assert_string_equal(call->msg, "payment-core is not reachable");
        atomic_fetch_sub(done, 1);
        zclock_sleep(2);
    }
    fail_msg("the link never connected");
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

/* Replies {"err": 0, "tag": tag} to corr_id. */
static void s_core_reply(zsock_t *core, zframe_t *peer, uint64_t corr_id, int tag)
{
    pm_header_t h;
    memset(&h, 0, sizeof h);
    h.type = PM_MSG_REPLY;
    h.corr_id = corr_id;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    pm_envelope_pack_header(&buf, &h);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, 0);
    pm_mp_pack_cstr(&pk, "tag");
    msgpack_pack_int(&pk, tag);
    assert_int_equal(
        pm_sock_send_to(core, zframe_data(peer), zframe_size(peer), buf.data, buf.size), 0);
    msgpack_sbuffer_destroy(&buf);
}

static void s_req_done(s_req_t *r)
{
    zframe_destroy(&r->peer);
    pm_envelope_destroy(&r->env);
}

static int64_t s_reply_tag(const gw_call_t *call)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, call->reply, call->reply_len, &off),
                     MSGPACK_UNPACK_SUCCESS);
    int64_t tag = -1;
    assert_int_equal(pm_mp_get_int(&u.data, "tag", &tag), 0);
    msgpack_unpacked_destroy(&u);
    return tag;
}

static int s_n = 0;

static gw_link_t *s_link(char *endpoint, size_t cap, zsock_t **core, int64_t timeout_ms,
                         uint32_t max_inflight)
{
    snprintf(endpoint, cap, "inproc://test-gw-link-core-%d", ++s_n);
    *core = pm_sock_router_bind(endpoint, 1000, MAX_MSG);
    assert_non_null(*core);
    gw_link_config_t cfg = {endpoint, timeout_ms, max_inflight, MAX_MSG};
    gw_link_t *link = gw_link_new(&cfg);
    assert_non_null(link);
    return link;
}

static void test_request_carries_the_envelope_and_gets_its_reply(void **state)
{
    (void)state;
    char ep[64];
    zsock_t *core;
    gw_link_t *link = s_link(ep, sizeof ep, &core, 2000, 16);
    atomic_int done = 0;
    gw_call_t call;
    s_call_init(&call, &done, "trace-1");
    int64_t before_ms = pm_now_ms();
    s_submit_connected(link, &call, &done);

    s_req_t r;
    s_core_recv(core, &r);
    const pm_header_t *h = pm_envelope_header(r.env);
    assert_int_equal(h->type, PM_MSG_PAYMENT_GET);
    assert_string_equal(h->trace_id, "trace-1");
    assert_string_equal(h->principal, "");
    assert_true(h->has_auth);
    assert_int_equal(h->auth[0], 0xAB);
    assert_int_equal(h->auth[PM_AUTH_LEN - 1], 0xAB);
    assert_int_equal(h->corr_id, call.corr_id);
    assert_true(h->corr_id >> 32 >= 1);              /* generation */
    assert_true((h->corr_id & 0xFFFFFFFFu) < 16);    /* slot */
    assert_true(h->deadline_ms >= before_ms + 2000); /* wall-clock deadline */
    assert_true(h->deadline_ms <= pm_now_ms() + 2000);
    size_t len;
    const void *body = pm_envelope_body_bytes(r.env, &len);
    assert_int_equal(len, sizeof s_body);
    assert_memory_equal(body, s_body, len);
    assert_int_equal(atomic_load(&done), 0);

    s_core_reply(core, r.peer, h->corr_id, 42);
    assert_true(s_wait(&done, 1, 2000));
    assert_int_equal(call.err, PM_OK);
    assert_int_equal(s_reply_tag(&call), 42);
    free(call.reply);
    s_req_done(&r);
    gw_link_destroy(&link);
    gw_link_destroy(&link); /* safe twice */
    assert_null(link);
    zsock_destroy(&core);
}

static void test_replies_in_any_order_reach_their_own_calls(void **state)
{
    (void)state;
    char ep[64];
    zsock_t *core;
    gw_link_t *link = s_link(ep, sizeof ep, &core, 2000, 16);
    atomic_int done = 0;
    gw_call_t calls[3];
    s_req_t reqs[3];
    s_call_init(&calls[0], &done, "t0");
    s_submit_connected(link, &calls[0], &done);
    for (int i = 1; i < 3; i++) {
        s_call_init(&calls[i], &done, "t");
        assert_int_equal(gw_link_submit(link, &calls[i]), 0);
    }
    for (int i = 0; i < 3; i++)
        s_core_recv(core, &reqs[i]);
    for (int i = 2; i >= 0; i--) {
        uint64_t corr = pm_envelope_header(reqs[i].env)->corr_id;
        int k = corr == calls[0].corr_id ? 0 : corr == calls[1].corr_id ? 1 : 2;
        assert_int_equal(corr, calls[k].corr_id);
        s_core_reply(core, reqs[i].peer, corr, 100 + k);
    }
    assert_true(s_wait(&done, 3, 2000));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(calls[i].err, PM_OK);
        assert_int_equal(s_reply_tag(&calls[i]), 100 + i);
        free(calls[i].reply);
        s_req_done(&reqs[i]);
    }
    gw_link_destroy(&link);
    zsock_destroy(&core);
}

/* Many threads submitting bursts at once: every call ends, none is left in
 * the queue (the link is woken only when the queue was empty). */
#define S_BURST_THREADS 4
#define S_BURST_CALLS 250

typedef struct {
    gw_link_t *link;
    gw_call_t *calls;
    atomic_int *done;
    int refused;
} s_burst_t;

static void *s_burst(void *arg)
{
    s_burst_t *b = arg;
    for (int i = 0; i < S_BURST_CALLS; i++) {
        s_call_init(&b->calls[i], b->done, "burst");
        if (gw_link_submit(b->link, &b->calls[i]) != 0)
            b->refused++;
    }
    return NULL;
}

static void test_concurrent_bursts_of_submits_all_end(void **state)
{
    (void)state;
    gw_link_config_t cfg = {"tcp://127.0.0.1:1", 5000, 4096, MAX_MSG};
    gw_link_t *link = gw_link_new(&cfg);
    assert_non_null(link);
    atomic_int done = 0;
    pthread_t th[S_BURST_THREADS];
    s_burst_t b[S_BURST_THREADS];
    for (int t = 0; t < S_BURST_THREADS; t++) {
        b[t] = (s_burst_t){link, calloc(S_BURST_CALLS, sizeof(gw_call_t)), &done, 0};
        assert_non_null(b[t].calls);
        assert_int_equal(pthread_create(&th[t], NULL, s_burst, &b[t]), 0);
    }
    int refused = 0;
    for (int t = 0; t < S_BURST_THREADS; t++) {
        pthread_join(th[t], NULL);
        refused += b[t].refused;
    }
    assert_int_equal(refused, 0);
    assert_true(s_wait(&done, S_BURST_THREADS * S_BURST_CALLS, 5000));
    for (int t = 0; t < S_BURST_THREADS; t++) {
        for (int i = 0; i < S_BURST_CALLS; i++)
            assert_int_equal(b[t].calls[i].err, PM_ERR_UNAVAILABLE);
    }
    gw_link_destroy(&link);
    for (int t = 0; t < S_BURST_THREADS; t++)
        free(b[t].calls);
}

static void test_core_not_there_is_503_at_once(void **state)
{
    (void)state;
    gw_link_config_t cfg = {"tcp://127.0.0.1:1", 5000, 16, MAX_MSG};
    gw_link_t *link = gw_link_new(&cfg);
    assert_non_null(link);
    atomic_int done = 0;
    gw_call_t call;
    s_call_init(&call, &done, "t");
    int64_t t0 = pm_mono_ms();
    assert_int_equal(gw_link_submit(link, &call), 0);
    assert_true(s_wait(&done, 1, 1000));
    assert_true(pm_mono_ms() - t0 < 1000); /* not the 5 s deadline */
    assert_int_equal(call.err, PM_ERR_UNAVAILABLE);
    assert_string_equal(call.msg, "payment-core is not reachable");
    assert_null(call.reply);
    gw_link_destroy(&link);
}

static void test_deadline_gives_503_and_a_late_reply_is_ignored(void **state)
{
    (void)state;
    char ep[64];
    zsock_t *core;
    gw_link_t *link = s_link(ep, sizeof ep, &core, 100, 16);
    atomic_int done = 0;
    gw_call_t first;
    s_call_init(&first, &done, "late");
    s_submit_connected(link, &first, &done);
    int64_t t0 = pm_mono_ms() - 20; /* s_submit_connected waited 20 ms already */
    s_req_t r1;
    s_core_recv(core, &r1);
    assert_true(s_wait(&done, 1, 2000));
    int64_t waited = pm_mono_ms() - t0;
    assert_true(waited >= 80 && waited < 1000);
    assert_int_equal(first.err, PM_ERR_UNAVAILABLE);
    assert_string_equal(first.msg, "payment-core did not answer within 100 ms");

    /* The next call reuses the slot under a new generation. */
    gw_call_t second;
    s_call_init(&second, &done, "second");
    assert_int_equal(gw_link_submit(link, &second), 0);
    s_req_t r2;
    s_core_recv(core, &r2);
    uint64_t old_corr = pm_envelope_header(r1.env)->corr_id;
    uint64_t new_corr = pm_envelope_header(r2.env)->corr_id;
    assert_int_equal(old_corr & 0xFFFFFFFFu, new_corr & 0xFFFFFFFFu);
    assert_int_not_equal(old_corr, new_corr);
    s_core_reply(core, r1.peer, old_corr, 1); /* late: must not end the second call */
    zclock_sleep(30);
    assert_int_equal(atomic_load(&done), 1);
    s_core_reply(core, r2.peer, new_corr, 2);
    assert_true(s_wait(&done, 2, 2000));
    assert_int_equal(second.err, PM_OK);
    assert_int_equal(s_reply_tag(&second), 2);
    free(second.reply);
    s_req_done(&r1);
    s_req_done(&r2);
    gw_link_destroy(&link);
    zsock_destroy(&core);
}

static void test_full_table_is_503_at_once_and_drain_ends_the_rest(void **state)
{
    (void)state;
    char ep[64];
    zsock_t *core;
    gw_link_t *link = s_link(ep, sizeof ep, &core, 10000, 16);
    atomic_int done = 0;
    gw_call_t calls[17];
    s_call_init(&calls[0], &done, "t");
    s_submit_connected(link, &calls[0], &done);
    for (int i = 1; i < 16; i++) {
        s_call_init(&calls[i], &done, "t");
        assert_int_equal(gw_link_submit(link, &calls[i]), 0);
    }
    for (int i = 0; i < 16; i++) {
        s_req_t r;
        s_core_recv(core, &r); /* all 16 really sent */
        s_req_done(&r);
    }
    assert_int_equal(atomic_load(&done), 0);
    s_call_init(&calls[16], &done, "t");
    assert_int_equal(gw_link_submit(link, &calls[16]), 0);
    assert_true(s_wait(&done, 1, 1000));
    assert_int_equal(calls[16].err, PM_ERR_UNAVAILABLE);
    assert_string_equal(calls[16].msg, "too many requests in flight to payment-core");

    gw_link_drain(link); /* returns once the 16 pending are done */
    assert_int_equal(atomic_load(&done), 17);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(calls[i].err, PM_ERR_UNAVAILABLE);
        assert_string_equal(calls[i].msg, "api-gateway is shutting down");
    }
    gw_call_t late;
    s_call_init(&late, &done, "t");
    assert_int_equal(gw_link_submit(link, &late), 0);
    assert_true(s_wait(&done, 18, 1000));
    assert_int_equal(late.err, PM_ERR_UNAVAILABLE);
    gw_link_destroy(&link);
    zsock_destroy(&core);
}

static void test_destroy_ends_pending_calls(void **state)
{
    (void)state;
    char ep[64];
    zsock_t *core;
    gw_link_t *link = s_link(ep, sizeof ep, &core, 10000, 16);
    atomic_int done = 0;
    gw_call_t call;
    s_call_init(&call, &done, "t");
    s_submit_connected(link, &call, &done);
    s_req_t r;
    s_core_recv(core, &r);
    gw_link_destroy(&link);
    assert_int_equal(atomic_load(&done), 1);
    assert_int_equal(call.err, PM_ERR_UNAVAILABLE);
    s_req_done(&r);
    zsock_destroy(&core);
}

static void test_malformed_reply_to_a_pending_call_is_internal_error(void **state)
{
    (void)state;
    char ep[64];
    zsock_t *core;
    gw_link_t *link = s_link(ep, sizeof ep, &core, 2000, 16);
    atomic_int done = 0;
    gw_call_t call;
    s_call_init(&call, &done, "t");
    s_submit_connected(link, &call, &done);
    s_req_t r;
    s_core_recv(core, &r);
    /* Garbage with no header: dropped, the call still waits. */
    assert_int_equal(pm_sock_send_to(core, zframe_data(r.peer), zframe_size(r.peer), "\xc1", 1), 0);
    zclock_sleep(30);
    assert_int_equal(atomic_load(&done), 0);
    /* A valid header for the call, then a body that is not a map. */
    pm_header_t h;
    memset(&h, 0, sizeof h);
    h.type = PM_MSG_REPLY;
    h.corr_id = call.corr_id;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    pm_envelope_pack_header(&buf, &h);
    msgpack_sbuffer_write(&buf, "\x01", 1);
    assert_int_equal(
        pm_sock_send_to(core, zframe_data(r.peer), zframe_size(r.peer), buf.data, buf.size), 0);
    assert_true(s_wait(&done, 1, 2000));
    assert_int_equal(call.err, PM_ERR_INTERNAL);
    assert_string_equal(call.msg, "payment-core sent a malformed reply");
    msgpack_sbuffer_destroy(&buf);
    s_req_done(&r);
    gw_link_destroy(&link);
    zsock_destroy(&core);
}

static int s_setup(void **state)
{
    (void)state;
    pm_sock_init();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_carries_the_envelope_and_gets_its_reply),
        cmocka_unit_test(test_replies_in_any_order_reach_their_own_calls),
        cmocka_unit_test(test_core_not_there_is_503_at_once),
        cmocka_unit_test(test_concurrent_bursts_of_submits_all_end),
        cmocka_unit_test(test_deadline_gives_503_and_a_late_reply_is_ignored),
        cmocka_unit_test(test_full_table_is_503_at_once_and_drain_ends_the_rest),
        cmocka_unit_test(test_destroy_ends_pending_calls),
        cmocka_unit_test(test_malformed_reply_to_a_pending_call_is_internal_error),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
