/*  Unit tests of rw_loop against a fake payment-core (a ROUTER in the test
 *  thread). The loop is single-threaded: the test turns it (rw_loop_turn)
 *  while it reads and answers on the ROUTER. Covered: the RETRY_TAKE sent,
 *  the RETRY_DECIDE of each item (retry, park, a malformed item parked, an
 *  anonymous one left), replies matched by correlation id (applied true and
 *  false), a take or a decision left unanswered and abandoned, a late take
 *  reply still decided, a refused take, garbage and multi-frame messages,
 *  payment-core restarting on the same endpoint, and rw_loop_run stopping on
 *  SIGTERM. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../retry-worker/rw_loop.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_signal.h"
#include "pm_sock.h"
#include "pm_time.h"

#define MAX_MSG 65536

static rw_policy_t s_policy_v;

static uint32_t s_high(uint32_t upper_bound)
{
    return upper_bound - 1;
}

/* One request as payment-core sees it. */
typedef struct {
    zframe_t *peer;
    pm_envelope_t *env;
} s_req_t;

static void s_req_done(s_req_t *r)
{
    zframe_destroy(&r->peer);
    pm_envelope_destroy(&r->env);
}

static const pm_header_t *s_hdr(const s_req_t *r)
{
    return pm_envelope_header(r->env);
}

static const msgpack_object *s_body(const s_req_t *r)
{
    return pm_envelope_body(r->env);
}

/* Turns the loop until a request reaches core (true, into *r) or
 * timeout_ms passes (false). */
static bool s_next(rw_loop_t *loop, zsock_t *core, s_req_t *r, int timeout_ms)
{
    int64_t until = pm_mono_ms() + timeout_ms;
    while (pm_mono_ms() <= until) {
        assert_int_equal(rw_loop_turn(loop, 2), 0);
        zmq_pollitem_t item = {zsock_resolve(core), 0, ZMQ_POLLIN, 0};
        assert_true(zmq_poll(&item, 1, 2) >= 0);
        if (!(item.revents & ZMQ_POLLIN))
            continue;
        zmsg_t *msg = zmsg_recv(core);
        assert_non_null(msg);
        assert_int_equal(zmsg_size(msg), 2);
        r->peer = zmsg_pop(msg);
        zframe_t *data = zmsg_pop(msg);
        pm_header_t partial;
        bool header_ok;
        char why[128];
        r->env = pm_envelope_decode(zframe_data(data), zframe_size(data), MAX_MSG, &partial,
                                    &header_ok, why, sizeof why);
        if (!r->env)
            fail_msg("the loop sent a malformed envelope: %s", why);
        zframe_destroy(&data);
        zmsg_destroy(&msg);
        return true;
    }
    return false;
}

static void s_expect(rw_loop_t *loop, zsock_t *core, s_req_t *r, uint32_t type)
{
    if (!s_next(loop, core, r, 3000))
        fail_msg("no request of type %u reached the core", type);
    assert_int_equal(s_hdr(r)->type, type);
    assert_string_equal(s_hdr(r)->principal, "retry-worker");
    assert_false(s_hdr(r)->has_auth);
}

/* Turns the loop for ms, asserting no request reaches core. */
static void s_quiet(rw_loop_t *loop, zsock_t *core, int ms)
{
    s_req_t r;
    if (s_next(loop, core, &r, ms))
        fail_msg("unexpected request of type %u", s_hdr(&r)->type);
}

static void s_turn_for(rw_loop_t *loop, int ms)
{
    int64_t until = pm_mono_ms() + ms;
    while (pm_mono_ms() <= until)
        assert_int_equal(rw_loop_turn(loop, 2), 0);
}

/* Sends header (reply to corr_id) + body bytes to peer. */
static void s_send(zsock_t *core, zframe_t *peer, uint64_t corr_id, const msgpack_sbuffer *body)
{
    pm_header_t h;
    memset(&h, 0, sizeof h);
    h.type = PM_MSG_REPLY;
    h.corr_id = corr_id;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    pm_envelope_pack_header(&buf, &h);
    msgpack_sbuffer_write(&buf, body->data, body->size);
    assert_int_equal(
        pm_sock_send_to(core, zframe_data(peer), zframe_size(peer), buf.data, buf.size), 0);
    msgpack_sbuffer_destroy(&buf);
}

/* S_BANK_DEPOSIT: a deposit that timed out, of an order registered a
 * minute ago; S_BANK_UNPAID: a sync that says registered, past the 1800 s
 * sync limit. */
typedef enum {
    S_CONSUME,
    S_PAID,
    S_BAD_OUTCOME,
    S_ANONYMOUS,
    S_BANK_DEPOSIT,
    S_BANK_UNPAID
} s_item_kind_t;

static void s_pack_item(msgpack_packer *pk, s_item_kind_t what, const char *id, int64_t gen)
{
    bool bp = what == S_PAID;
    bool bank = what == S_BANK_DEPOSIT || what == S_BANK_UNPAID;
    bool ok = bp || what == S_BANK_UNPAID;
    const char *kind = bp                       ? "bazaarpay_trace"
                       : what == S_BANK_DEPOSIT ? "bank_deposit"
                       : what == S_BANK_UNPAID  ? "bank_status"
                                                : "bazaar_consume";
    const char *status = bp ? "paid_not_committed" : what == S_BANK_UNPAID ? "registered" : NULL;
    msgpack_pack_map(pk, what == S_ANONYMOUS ? 8 : 9 + (bp || bank ? 1 : 0));
    if (what != S_ANONYMOUS) {
        pm_mp_pack_cstr(pk, "id");
        pm_mp_pack_cstr(pk, id);
    }
    pm_mp_pack_cstr(pk, "kind");
    pm_mp_pack_cstr(pk, kind);
    pm_mp_pack_cstr(pk, "attempt");
    msgpack_pack_int64(pk, 2);
    pm_mp_pack_cstr(pk, "gen");
    msgpack_pack_int64(pk, gen);
    pm_mp_pack_cstr(pk, "outcome");
    pm_mp_pack_cstr(pk, what == S_BAD_OUTCOME ? "maybe" : ok ? "ok" : "unknown");
    pm_mp_pack_cstr(pk, "reason");
    pm_mp_pack_cstr(pk, ok ? "" : "timeout");
    pm_mp_pack_cstr(pk, "status");
    pm_mp_pack_cstr(pk, status);
    pm_mp_pack_cstr(pk, "created_ms");
    msgpack_pack_int64(pk, pm_now_ms() - 60000);
    pm_mp_pack_cstr(pk, "failed_ms");
    msgpack_pack_int64(pk, pm_now_ms() - 1000);
    if (bp) {
        pm_mp_pack_cstr(pk, "ctx");
        msgpack_pack_map(pk, 6);
        pm_mp_pack_cstr(pk, "phase");
        pm_mp_pack_cstr(pk, "settle");
        pm_mp_pack_cstr(pk, "created_ms");
        msgpack_pack_int64(pk, pm_now_ms() - 120000);
        pm_mp_pack_cstr(pk, "delivered_ms");
        msgpack_pack_int64(pk, pm_now_ms() - 60000);
        pm_mp_pack_cstr(pk, "window_end_ms");
        msgpack_pack_int64(pk, pm_now_ms() + 540000);
        pm_mp_pack_cstr(pk, "commits");
        msgpack_pack_int64(pk, 1);
        pm_mp_pack_cstr(pk, "refunds");
        msgpack_pack_int64(pk, 0);
    }
    if (bank) {
        pm_mp_pack_cstr(pk, "ctx");
        msgpack_pack_map(pk, 3);
        pm_mp_pack_cstr(pk, "phase");
        pm_mp_pack_cstr(pk, "open");
        pm_mp_pack_cstr(pk, "created_ms");
        msgpack_pack_int64(pk, pm_now_ms() - 3600000);
        pm_mp_pack_cstr(pk, "registered_ms");
        msgpack_pack_int64(pk, pm_now_ms() - (what == S_BANK_UNPAID ? 1801000 : 60000));
    }
}

/* Replies {"err": 0, "items": [...]} with the items of whats[] (ids
 * "item-<i>", gen 100 + i). */
static void s_reply_items(zsock_t *core, const s_req_t *r, const s_item_kind_t *whats, int n)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, 0);
    pm_mp_pack_cstr(&pk, "items");
    msgpack_pack_array(&pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "item-%d", i);
        s_pack_item(&pk, whats[i], id, 100 + i);
    }
    s_send(core, r->peer, s_hdr(r)->corr_id, &body);
    msgpack_sbuffer_destroy(&body);
}

static void s_reply_applied(zsock_t *core, const s_req_t *r, bool applied)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, 0);
    pm_mp_pack_cstr(&pk, "applied");
    if (applied)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    s_send(core, r->peer, s_hdr(r)->corr_id, &body);
    msgpack_sbuffer_destroy(&body);
}

static void s_reply_error(zsock_t *core, const s_req_t *r, int err)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, err);
    pm_mp_pack_cstr(&pk, "msg");
    pm_mp_pack_cstr(&pk, "not now");
    s_send(core, r->peer, s_hdr(r)->corr_id, &body);
    msgpack_sbuffer_destroy(&body);
}

static rw_loop_stats_t s_stats(const rw_loop_t *loop)
{
    rw_loop_stats_t st;
    rw_loop_stats(loop, &st);
    return st;
}

/* Turns the loop until the replies it has taken reach want (true). */
static bool s_until_replies(rw_loop_t *loop, uint64_t want, int timeout_ms)
{
    int64_t until = pm_mono_ms() + timeout_ms;
    while (pm_mono_ms() <= until) {
        assert_int_equal(rw_loop_turn(loop, 2), 0);
        rw_loop_stats_t st = s_stats(loop);
        if (st.applied + st.not_applied + st.refused >= want)
            return true;
    }
    return false;
}

static int s_n;

static zsock_t *s_core(char *endpoint, size_t cap)
{
    snprintf(endpoint, cap, "inproc://test-rw-loop-core-%d", ++s_n);
    zsock_t *core = pm_sock_router_bind(endpoint, 1000, MAX_MSG);
    assert_non_null(core);
    return core;
}

static rw_loop_t *s_loop(const char *endpoint, int take_max, int64_t wait_ms, int64_t timeout_ms)
{
    rw_loop_config_t cfg = {endpoint, take_max, wait_ms, timeout_ms, MAX_MSG, &s_policy_v};
    rw_loop_t *loop = rw_loop_new(&cfg);
    assert_non_null(loop);
    return loop;
}

static void s_assert_int(const msgpack_object *body, const char *key, int64_t want)
{
    int64_t v = -1;
    if (pm_mp_get_int(body, key, &v) != 0)
        fail_msg("no integer %s", key);
    assert_int_equal(v, want);
}

static void s_assert_str(const msgpack_object *body, const char *key, const char *want)
{
    char v[256];
    if (want == NULL) {
        assert_null(pm_mp_get(body, key));
        return;
    }
    if (pm_mp_copy_str(body, key, v, sizeof v) != 0)
        fail_msg("no string %s", key);
    assert_string_equal(v, want);
}

static void test_take_then_one_decision_per_item(void **state)
{
    (void)state;
    char endpoint[64];
    zsock_t *core = s_core(endpoint, sizeof endpoint);
    rw_loop_t *loop = s_loop(endpoint, 4, 1000, 2000);

    int64_t before = pm_now_ms();
    s_req_t take;
    s_expect(loop, core, &take, PM_MSG_RETRY_TAKE);
    int64_t after = pm_now_ms();
    assert_int_equal(s_body(&take)->via.map.size, 2);
    s_assert_int(s_body(&take), "max", 4);
    s_assert_int(s_body(&take), "wait_ms", 1000);
    assert_true(s_hdr(&take)->deadline_ms >= before + 3000); /* wait + timeout */
    assert_true(s_hdr(&take)->deadline_ms <= after + 3000);
    s_quiet(loop, core, 50); /* one take at a time */

    static const s_item_kind_t whats[] = {S_CONSUME, S_PAID, S_BAD_OUTCOME, S_ANONYMOUS};
    s_reply_items(core, &take, whats, 4);
    int64_t sent_ms = pm_now_ms();
    s_req_t dec[3];
    for (int i = 0; i < 3; i++)
        s_expect(loop, core, &dec[i], PM_MSG_RETRY_DECIDE);
    int64_t got_ms = pm_now_ms();

    /* item-0: a consume that timed out at attempt 2: again after 4 s. */
    const msgpack_object *b = s_body(&dec[0]);
    assert_int_equal(b->via.map.size, 6);
    s_assert_str(b, "id", "item-0");
    s_assert_int(b, "gen", 100);
    s_assert_str(b, "action", "retry");
    s_assert_str(b, "kind", "bazaar_consume");
    int64_t at = 0;
    assert_int_equal(pm_mp_get_int(b, "at_ms", &at), 0);
    assert_true(at >= sent_ms + 4000 - 5 && at <= got_ms + 4000);
    s_assert_str(b, "note", "bazaar_consume again");
    /* item-1: paid, window open, one commit made: commit now. */
    b = s_body(&dec[1]);
    s_assert_str(b, "id", "item-1");
    s_assert_int(b, "gen", 101);
    s_assert_str(b, "action", "retry");
    s_assert_str(b, "kind", "bazaarpay_commit");
    assert_int_equal(pm_mp_get_int(b, "at_ms", &at), 0);
    assert_true(at >= sent_ms - 5 && at <= got_ms);
    /* item-2: malformed but identified: parked, without kind or at_ms. */
    b = s_body(&dec[2]);
    assert_int_equal(b->via.map.size, 4);
    s_assert_str(b, "id", "item-2");
    s_assert_int(b, "gen", 102);
    s_assert_str(b, "action", "park");
    s_assert_str(b, "kind", NULL);
    assert_null(pm_mp_get(b, "at_ms"));
    char note[RW_NOTE_MAX + 1];
    assert_int_equal(pm_mp_copy_str(b, "note", note, sizeof note), 0);
    assert_non_null(strstr(note, "malformed item: outcome"));
    for (int i = 0; i < 3; i++) /* each under its own corr id */
        for (int j = 0; j < i; j++)
            assert_true(s_hdr(&dec[i])->corr_id != s_hdr(&dec[j])->corr_id);

    /* item-3 had no id: nothing is sent for it. The next take comes now. */
    s_req_t take2;
    s_expect(loop, core, &take2, PM_MSG_RETRY_TAKE);
    assert_true(s_hdr(&take2)->corr_id != s_hdr(&take)->corr_id);

    /* Replies in another order, one not applied. */
    s_reply_applied(core, &dec[2], true);
    s_reply_applied(core, &dec[0], false);
    s_reply_applied(core, &dec[1], true);
    assert_true(s_until_replies(loop, 3, 2000));
    rw_loop_stats_t st = s_stats(loop);
    assert_int_equal(st.takes, 2);
    assert_int_equal(st.items, 4);
    assert_int_equal(st.malformed, 2);
    assert_int_equal(st.decides, 3);
    assert_int_equal(st.applied, 2);
    assert_int_equal(st.not_applied, 1);
    assert_int_equal(st.refused, 0);
    assert_int_equal(st.abandoned, 0);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.bad_messages, 0);

    /* A reply to a decision already answered is late and ignored. */
    s_reply_applied(core, &dec[1], true);
    s_turn_for(loop, 50);
    assert_int_equal(s_stats(loop).applied, 2);

    for (int i = 0; i < 3; i++)
        s_req_done(&dec[i]);
    s_req_done(&take);
    s_req_done(&take2);
    rw_loop_destroy(&loop);
    assert_null(loop);
    rw_loop_destroy(&loop); /* safe twice */
    zsock_destroy(&core);
}

static void test_unanswered_take_is_asked_again_and_a_late_reply_used(void **state)
{
    (void)state;
    char endpoint[64];
    zsock_t *core = s_core(endpoint, sizeof endpoint);
    rw_loop_t *loop = s_loop(endpoint, 2, 100, 200);
    s_req_t t1, t2;
    s_expect(loop, core, &t1, PM_MSG_RETRY_TAKE);
    int64_t t0 = pm_mono_ms();
    s_quiet(loop, core, 200); /* not before wait + timeout */
    s_expect(loop, core, &t2, PM_MSG_RETRY_TAKE);
    int64_t waited = pm_mono_ms() - t0;
    assert_true(waited >= 290 && waited < 1500);
    assert_true(s_hdr(&t2)->corr_id != s_hdr(&t1)->corr_id);
    assert_int_equal(s_stats(loop).abandoned, 1);

    /* The first take's reply comes late: its items are leased to this
     * worker, so they are decided all the same. */
    static const s_item_kind_t one[] = {S_CONSUME};
    s_reply_items(core, &t1, one, 1);
    s_req_t dec;
    s_expect(loop, core, &dec, PM_MSG_RETRY_DECIDE);
    s_assert_str(s_body(&dec), "id", "item-0");
    s_reply_applied(core, &dec, true);
    assert_true(s_until_replies(loop, 1, 2000));
    s_req_done(&dec);
    s_req_done(&t1);
    s_req_done(&t2);
    rw_loop_destroy(&loop);
    zsock_destroy(&core);
}

static void test_unanswered_decision_is_abandoned(void **state)
{
    (void)state;
    char endpoint[64];
    zsock_t *core = s_core(endpoint, sizeof endpoint);
    rw_loop_t *loop = s_loop(endpoint, 2, 5000, 150);
    s_req_t take, dec;
    s_expect(loop, core, &take, PM_MSG_RETRY_TAKE);
    static const s_item_kind_t one[] = {S_PAID};
    s_reply_items(core, &take, one, 1);
    s_expect(loop, core, &dec, PM_MSG_RETRY_DECIDE);
    int64_t deadline = 0;
    deadline = s_hdr(&dec)->deadline_ms;
    assert_true(deadline >= pm_now_ms() + 150 - 100 && deadline <= pm_now_ms() + 150);
    s_req_t take2;
    s_expect(loop, core, &take2, PM_MSG_RETRY_TAKE);
    s_turn_for(loop, 250);
    rw_loop_stats_t st = s_stats(loop);
    assert_int_equal(st.abandoned, 1);
    assert_int_equal(st.applied + st.not_applied, 0);
    /* Its reply after that is late and ignored. */
    s_reply_applied(core, &dec, true);
    s_turn_for(loop, 50);
    assert_int_equal(s_stats(loop).applied, 0);
    s_req_done(&dec);
    s_req_done(&take);
    s_req_done(&take2);
    rw_loop_destroy(&loop);
    zsock_destroy(&core);
}

static void test_refusals_and_garbage_are_survived(void **state)
{
    (void)state;
    char endpoint[64];
    zsock_t *core = s_core(endpoint, sizeof endpoint);
    rw_loop_t *loop = s_loop(endpoint, 2, 1000, 2000);
    s_req_t take;
    s_expect(loop, core, &take, PM_MSG_RETRY_TAKE);

    /* Garbage, a header with a body that is not a map, a message of two
     * frames, a request instead of a reply, a take reply whose items are
     * not a list: all taken and dropped. */
    zframe_t *peer = take.peer;
    assert_int_equal(pm_sock_send_to(core, zframe_data(peer), zframe_size(peer), "\xc1", 1), 0);
    msgpack_sbuffer raw;
    msgpack_sbuffer_init(&raw);
    msgpack_sbuffer_write(&raw, "\x01", 1);
    s_send(core, peer, 999, &raw);
    msgpack_sbuffer_destroy(&raw);
    void *s = zsock_resolve(core);
    assert_true(zmq_send(s, zframe_data(peer), zframe_size(peer), ZMQ_SNDMORE) >= 0);
    assert_true(zmq_send(s, "a", 1, ZMQ_SNDMORE) >= 0);
    assert_true(zmq_send(s, "b", 1, 0) >= 0);
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, 0);
    pm_mp_pack_cstr(&pk, "items");
    msgpack_pack_int(&pk, 3);
    s_send(core, peer, 998, &body);
    msgpack_sbuffer_destroy(&body);
    s_turn_for(loop, 100);
    assert_int_equal(s_stats(loop).bad_messages, 4);

    /* A reply to the take with no item list at all: dropped, and the next
     * take goes out. */
    msgpack_sbuffer bare;
    msgpack_sbuffer_init(&bare);
    msgpack_packer_init(&pk, &bare, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, 0);
    s_send(core, peer, s_hdr(&take)->corr_id, &bare);
    msgpack_sbuffer_destroy(&bare);
    s_req_t again;
    s_expect(loop, core, &again, PM_MSG_RETRY_TAKE);
    assert_int_equal(s_stats(loop).bad_messages, 5);
    s_req_done(&take);
    take = again;

    /* The take refused: asked again after a pause. */
    s_reply_error(core, &take, PM_ERR_UNAVAILABLE);
    int64_t t0 = pm_mono_ms();
    s_req_t take2;
    s_expect(loop, core, &take2, PM_MSG_RETRY_TAKE);
    assert_true(pm_mono_ms() - t0 >= 150);
    assert_int_equal(s_stats(loop).refused, 1);

    /* A refused decision (an unsafe ask) frees its slot. */
    static const s_item_kind_t one[] = {S_CONSUME};
    s_reply_items(core, &take2, one, 1);
    s_req_t dec;
    s_expect(loop, core, &dec, PM_MSG_RETRY_DECIDE);
    s_reply_error(core, &dec, PM_ERR_VALIDATION);
    assert_true(s_until_replies(loop, 2, 2000));
    rw_loop_stats_t st = s_stats(loop);
    assert_int_equal(st.refused, 2);
    assert_int_equal(st.abandoned, 0);
    s_req_done(&dec);
    s_req_done(&take);
    s_req_done(&take2);
    rw_loop_destroy(&loop);
    zsock_destroy(&core);
}

static void test_bank_items_get_a_status_or_expire(void **state)
{
    (void)state;
    char endpoint[64];
    zsock_t *core = s_core(endpoint, sizeof endpoint);
    rw_loop_t *loop = s_loop(endpoint, 4, 1000, 2000);
    s_req_t take;
    s_expect(loop, core, &take, PM_MSG_RETRY_TAKE);
    static const s_item_kind_t whats[] = {S_BANK_DEPOSIT, S_BANK_UNPAID};
    s_reply_items(core, &take, whats, 2);
    int64_t sent_ms = pm_now_ms();
    s_req_t dec[2];
    for (int i = 0; i < 2; i++)
        s_expect(loop, core, &dec[i], PM_MSG_RETRY_DECIDE);
    int64_t got_ms = pm_now_ms();

    /* item-0: the deposit is not sent again: a status, after the deposit
     * row's backoff at attempt 2 (4 s). */
    const msgpack_object *b = s_body(&dec[0]);
    assert_int_equal(b->via.map.size, 6);
    s_assert_str(b, "id", "item-0");
    s_assert_str(b, "action", "retry");
    s_assert_str(b, "kind", "bank_status");
    int64_t at = 0;
    assert_int_equal(pm_mp_get_int(b, "at_ms", &at), 0);
    assert_true(at >= sent_ms + 4000 - 5 && at <= got_ms + 4000);
    s_assert_str(b, "note", "bank_deposit unknown: status before anything else");
    /* item-1: never paid, past the sync limit: expired. */
    b = s_body(&dec[1]);
    assert_int_equal(b->via.map.size, 4);
    s_assert_str(b, "id", "item-1");
    s_assert_int(b, "gen", 101);
    s_assert_str(b, "action", "expire");
    s_assert_str(b, "kind", NULL);
    assert_null(pm_mp_get(b, "at_ms"));
    char note[RW_NOTE_MAX + 1];
    assert_int_equal(pm_mp_copy_str(b, "note", note, sizeof note), 0);
    assert_non_null(strstr(note, "bank says registered: never paid, expire"));

    s_reply_applied(core, &dec[0], true);
    s_reply_applied(core, &dec[1], true);
    assert_true(s_until_replies(loop, 2, 2000));
    rw_loop_stats_t st = s_stats(loop);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(st.applied, 2);
    for (int i = 0; i < 2; i++)
        s_req_done(&dec[i]);
    s_req_done(&take);
    rw_loop_destroy(&loop);
    zsock_destroy(&core);
}

static void test_core_restart_on_the_same_endpoint(void **state)
{
    (void)state;
    zsock_t *core = pm_sock_router_bind("tcp://127.0.0.1:*", 1000, MAX_MSG);
    assert_non_null(core);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "%s", zsock_endpoint(core));
    rw_loop_t *loop = s_loop(endpoint, 2, 200, 300);
    s_req_t take;
    s_expect(loop, core, &take, PM_MSG_RETRY_TAKE);
    s_req_done(&take);

    /* payment-core goes away with the take unanswered, and comes back. */
    zsock_destroy(&core);
    s_turn_for(loop, 100);
    core = pm_sock_router_bind(endpoint, 1000, MAX_MSG);
    assert_non_null(core);
    s_expect(loop, core, &take, PM_MSG_RETRY_TAKE);
    static const s_item_kind_t one[] = {S_PAID};
    s_reply_items(core, &take, one, 1);
    s_req_t dec;
    s_expect(loop, core, &dec, PM_MSG_RETRY_DECIDE);
    s_assert_str(s_body(&dec), "kind", "bazaarpay_commit");
    s_reply_applied(core, &dec, true);
    assert_true(s_until_replies(loop, 1, 2000));
    assert_true(s_stats(loop).abandoned >= 1);
    s_req_done(&dec);
    s_req_done(&take);
    rw_loop_destroy(&loop);
    zsock_destroy(&core);
}

static void test_no_core_at_all_sends_nothing_and_stays_calm(void **state)
{
    (void)state;
    rw_loop_t *loop = s_loop("tcp://127.0.0.1:1", 2, 1000, 1000);
    s_turn_for(loop, 300);
    rw_loop_stats_t st = s_stats(loop);
    assert_int_equal(st.takes, 0); /* immediate mode: no peer, no send */
    assert_int_equal(st.decides, 0);
    rw_loop_destroy(&loop);
}

static void *s_term_later(void *arg)
{
    (void)arg;
    zclock_sleep(100);
    kill(getpid(), SIGTERM);
    return NULL;
}

/* Last: the stop flag stays set for the rest of the process. */
static void test_run_returns_on_sigterm(void **state)
{
    (void)state;
    char endpoint[64];
    zsock_t *core = s_core(endpoint, sizeof endpoint);
    rw_loop_t *loop = s_loop(endpoint, 2, 5000, 2000);
    pm_signal_install();
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, s_term_later, NULL), 0);
    int64_t t0 = pm_mono_ms();
    assert_int_equal(rw_loop_run(loop), 0);
    int64_t took = pm_mono_ms() - t0;
    assert_true(took >= 90 && took < 1000);
    assert_true(pm_signal_stopping());
    pthread_join(t, NULL);
    assert_true(s_stats(loop).takes >= 1);
    rw_loop_destroy(&loop);
    zsock_destroy(&core);
}

static int s_setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    pm_sock_init();
    rw_policy_defaults(&s_policy_v);
    s_policy_v.uniform = s_high; /* delays are the ceilings exactly */
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_take_then_one_decision_per_item),
        cmocka_unit_test(test_unanswered_take_is_asked_again_and_a_late_reply_used),
        cmocka_unit_test(test_unanswered_decision_is_abandoned),
        cmocka_unit_test(test_refusals_and_garbage_are_survived),
        cmocka_unit_test(test_bank_items_get_a_status_or_expire),
        cmocka_unit_test(test_core_restart_on_the_same_endpoint),
        cmocka_unit_test(test_no_core_at_all_sends_nothing_and_stays_calm),
        cmocka_unit_test(test_run_returns_on_sigterm),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
