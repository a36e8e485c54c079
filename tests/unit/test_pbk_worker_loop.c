/*  A test of provider-bank's worker loop (pbk_worker) as payment-core sees
 *  it: the test is payment-core's worker socket (a ROUTER) and both banks
 *  (a small libmicrohttpd server), the worker runs in a thread of its own.
 *
 *  One JOB_TAKE reply leases nine jobs; every one must come back as one
 *  JOB_RESULT with the outcome and data pm_proto.h ("Bank jobs") names:
 *  Halkbank register, status and refund answered; a deposit whose
 *  connection is cut before any answer is unknown and reached the bank
 *  once (no silent second deposit); every register, deposit and refund
 *  went on a connection of its own; malformed jobs, an unknown bank and a
 *  TFEB deposit are answered without a call; two TFEB jobs share one token
 *  fetch, and the token TFEB refuses is replaced once. Then SIGTERM: the
 *  loop returns 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>

#include "../../provider-bank/pbk_worker.h"
#include "pm_envelope.h"
#include "pm_proto.h"
#include "pm_signal.h"
#include "pm_sock.h"
#include "pm_time.h"

#define UUID "c03365ad-af93-4ccf-85d3-3d3a3ae129d5"
#define REQS_MAX 64

/* ---- the banks ---------------------------------------------------------- */

typedef struct {
    char path[256];
    int port; /* the client's port: one per connection */
} req_t;

typedef struct {
    pthread_mutex_t lock;
    req_t reqs[REQS_MAX];
    int n;
    int tokens;
} bank_t;

static bank_t s_bank = {.lock = PTHREAD_MUTEX_INITIALIZER};

static enum MHD_Result s_reply(struct MHD_Connection *c, unsigned code, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result s_on_request(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_size, void **state)
{
    (void)cls;
    (void)method;
    (void)version;
    (void)upload_data;
    static int s_first;
    if (!*state) { /* headers only: the body comes next */
        *state = &s_first;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* the body is not read */
        return MHD_YES;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    pthread_mutex_lock(&s_bank.lock);
    if (s_bank.n < REQS_MAX) {
        req_t *q = &s_bank.reqs[s_bank.n++];
        snprintf(q->path, sizeof q->path, "%s", url);
        q->port = ntohs(((const struct sockaddr_in *)ci->client_addr)->sin_port);
    }
    int token = strcmp(url, "/token") == 0 ? ++s_bank.tokens : 0;
    pthread_mutex_unlock(&s_bank.lock);

    if (strcmp(url, "/rbs/register.do") == 0)
        return s_reply(c, 200,
                       "{\"orderId\":\"" UUID "\",\"formUrl\":\"http://127.0.0.1/pay?mdOrder=" UUID
                       "\"}");
    if (strcmp(url, "/rbs/getOrderStatusExtended.do") == 0)
        return s_reply(c, 200, "{\"errorCode\":\"0\",\"orderStatus\":2,\"amount\":1750}");
    if (strcmp(url, "/rbs/refund.do") == 0)
        return s_reply(c, 200, "{\"errorCode\":0}");
    if (strcmp(url, "/rbs/deposit.do") == 0)
        return MHD_NO; /* the connection is cut: no answer */
    if (token) {
        char body[128];
        snprintf(body, sizeof body, "{\"access_token\":\"tok%d\",\"expires_in\":3600}", token);
        return s_reply(c, 200, body);
    }
    if (strcmp(url, "/tfeb/orders") == 0) {
        if (auth && strcmp(auth, "Bearer tok1") == 0)
            return s_reply(c, 401, "{}");
        return s_reply(c, 200,
                       "{\"response\":{\"operationResult\":\"OPG-00100\",\"orderId\":\"" UUID
                       "\"},\"_links\":{\"redirectToCheckout\":{\"href\":"
                       "\"http://127.0.0.1/Checkout/" UUID "\"}}}");
    }
    if (strcmp(url, "/tfeb/Orders/" UUID) == 0)
        return s_reply(c, 200, "{\"response\":{\"operationResult\":\"GEN-00000\"}}");
    return s_reply(c, 404, "{}");
}

/* How many requests went to path, and whether each was the first on its
 * connection (a fresh one; later calls may reuse it). */
static int s_count(const char *path, bool *own_connection)
{
    int n = 0;
    *own_connection = true;
    for (int i = 0; i < s_bank.n; i++) {
        if (strcmp(s_bank.reqs[i].path, path) != 0)
            continue;
        n++;
        for (int j = 0; j < i; j++)
            if (s_bank.reqs[j].port == s_bank.reqs[i].port)
                *own_connection = false;
    }
    return n;
}

/* ---- payment-core -------------------------------------------------------- */

typedef struct {
    char id[32];
    char outcome[16];
    char reason[300];
    char data_order_id[64];
    char data_state[32];
} result_t;

static void s_pack_job(msgpack_packer *pk, const char *id, const char *kind, const char *bank,
                       const char *order_id, int64_t amount)
{
    msgpack_pack_map(pk, 4);
    pm_mp_pack_cstr(pk, "id");
    pm_mp_pack_cstr(pk, id);
    pm_mp_pack_cstr(pk, "kind");
    pm_mp_pack_cstr(pk, kind);
    pm_mp_pack_cstr(pk, "attempt");
    msgpack_pack_int(pk, 1);
    pm_mp_pack_cstr(pk, "payload");
    if (strcmp(kind, "bank_register") == 0) {
        msgpack_pack_map(pk, 6);
        pm_mp_pack_cstr(pk, "bank");
        pm_mp_pack_cstr(pk, bank);
        pm_mp_pack_cstr(pk, "order_number");
        pm_mp_pack_cstr(pk, "INV-1");
        pm_mp_pack_cstr(pk, "amount_minor");
        msgpack_pack_int64(pk, amount);
        pm_mp_pack_cstr(pk, "currency");
        pm_mp_pack_cstr(pk, "934");
        pm_mp_pack_cstr(pk, "return_url");
        pm_mp_pack_cstr(pk, "https://shop.example/paid");
        pm_mp_pack_cstr(pk, "two_phase");
        msgpack_pack_false(pk);
        return;
    }
    msgpack_pack_map(pk, order_id ? 3 : 2);
    pm_mp_pack_cstr(pk, "bank");
    pm_mp_pack_cstr(pk, bank);
    pm_mp_pack_cstr(pk, "amount_minor");
    msgpack_pack_int64(pk, amount);
    if (order_id) {
        pm_mp_pack_cstr(pk, "order_id");
        pm_mp_pack_cstr(pk, order_id);
    }
}

#define JOBS 9

/* Answers the first JOB_TAKE with the nine jobs, later ones not at all,
 * acknowledges each JOB_RESULT and keeps it. Returns how many came. */
static int s_core(zsock_t *router, result_t *out, int64_t deadline_ms)
{
    int got = 0;
    bool given = false;
    zpoller_t *poller = zpoller_new(router, NULL);
    while (got < JOBS && pm_mono_ms() < deadline_ms) {
        if (!zpoller_wait(poller, 100))
            continue;
        zmsg_t *m = zmsg_recv(router);
        assert_non_null(m);
        zframe_t *who = zmsg_pop(m), *f = zmsg_pop(m);
        pm_header_t partial;
        bool header_ok;
        char why[128];
        pm_envelope_t *env = pm_envelope_decode(zframe_data(f), zframe_size(f), 1 << 20, &partial,
                                                &header_ok, why, sizeof why);
        assert_non_null(env);
        const pm_header_t *h = pm_envelope_header(env);
        const msgpack_object *b = pm_envelope_body(env);
        assert_string_equal(h->principal, "provider-bank");
        msgpack_sbuffer buf;
        msgpack_sbuffer_init(&buf);
        pm_header_t rh;
        pm_header_reply_to(&rh, h);
        pm_envelope_pack_header(&buf, &rh);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
        bool reply = true;
        if (h->type == PM_MSG_JOB_TAKE && !given) {
            int64_t max = 0;
            assert_int_equal(pm_mp_get_int(b, "max", &max), 0);
            assert_true(max >= JOBS);
            const msgpack_object *kinds = pm_mp_get(b, "kinds");
            assert_non_null(kinds);
            assert_int_equal(kinds->via.array.size, 5);
            given = true;
            msgpack_pack_map(&pk, 2);
            pm_mp_pack_cstr(&pk, "err");
            msgpack_pack_int(&pk, 0);
            pm_mp_pack_cstr(&pk, "jobs");
            msgpack_pack_array(&pk, JOBS);
            s_pack_job(&pk, "reg", "bank_register", "halkbank", NULL, 1750);
            s_pack_job(&pk, "st", "bank_status", "halkbank", UUID, 0);
            s_pack_job(&pk, "dep", "bank_deposit", "halkbank", UUID, 1750);
            s_pack_job(&pk, "ref", "bank_refund", "halkbank", UUID, 100);
            s_pack_job(&pk, "bad", "bank_status", "halkbank", NULL, 0);
            s_pack_job(&pk, "xbank", "bank_status", "senagat", UUID, 0);
            s_pack_job(&pk, "t-dep", "bank_deposit", "foreign_affairs_bank", UUID, 1750);
            s_pack_job(&pk, "t-reg", "bank_register", "foreign_affairs_bank", NULL, 1750);
            s_pack_job(&pk, "t-st", "bank_status", "foreign_affairs_bank", UUID, 0);
        } else if (h->type == PM_MSG_JOB_TAKE) {
            reply = false; /* a long poll that never ends: the worker asks again later */
        } else {
            assert_int_equal(h->type, PM_MSG_JOB_RESULT);
            result_t *r = &out[got++];
            memset(r, 0, sizeof *r);
            assert_int_equal(pm_mp_copy_str(b, "id", r->id, sizeof r->id), 0);
            assert_int_equal(pm_mp_copy_str(b, "outcome", r->outcome, sizeof r->outcome), 0);
            assert_int_equal(pm_mp_copy_str(b, "reason", r->reason, sizeof r->reason), 0);
            int64_t attempt = 0;
            assert_int_equal(pm_mp_get_int(b, "attempt", &attempt), 0);
            assert_int_equal(attempt, 1);
            const msgpack_object *data = pm_mp_get(b, "data");
            assert_non_null(data);
            assert_int_equal(data->type, MSGPACK_OBJECT_MAP);
            pm_mp_copy_str(data, "order_id", r->data_order_id, sizeof r->data_order_id);
            pm_mp_copy_str(data, "state", r->data_state, sizeof r->data_state);
            msgpack_pack_map(&pk, 1);
            pm_mp_pack_cstr(&pk, "err");
            msgpack_pack_int(&pk, 0);
        }
        if (reply)
            assert_int_equal(
                pm_sock_send_to(router, zframe_data(who), zframe_size(who), buf.data, buf.size), 0);
        msgpack_sbuffer_destroy(&buf);
        pm_envelope_destroy(&env);
        zframe_destroy(&who);
        zframe_destroy(&f);
        zmsg_destroy(&m);
    }
    zpoller_destroy(&poller);
    return got;
}

static const result_t *s_result(const result_t *rs, int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (strcmp(rs[i].id, id) == 0)
            return &rs[i];
    fail_msg("no result for job %s", id);
    return NULL;
}

/* ---- the worker ------------------------------------------------------------ */

static void *s_run(void *arg)
{
    static int rc;
    rc = pbk_worker_run(arg);
    return &rc;
}

static void test_loop(void **state)
{
    (void)state;
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
                                            NULL, NULL, s_on_request, NULL, MHD_OPTION_END);
    assert_non_null(d);
    int port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
    char endpoint[128], rbs[128], tfeb[128], token[128];
    snprintf(rbs, sizeof rbs, "http://127.0.0.1:%d/rbs/", port);
    snprintf(tfeb, sizeof tfeb, "http://127.0.0.1:%d/tfeb/", port);
    snprintf(token, sizeof token, "http://127.0.0.1:%d/token", port);
    zsock_t *router = pm_sock_router_bind("tcp://127.0.0.1:*", 1000, 1 << 20);
    assert_non_null(router);
    snprintf(endpoint, sizeof endpoint, "%s", zsock_endpoint(router));

    pbk_worker_config_t cfg = {
        .core_endpoint = endpoint,
        .rbs = {.base_url = rbs, .username = "u", .password = "p"},
        .tfeb = {.base_url = tfeb,
                 .token_url = token,
                 .client_id = "c",
                 .client_secret = "s",
                 .merchant_id = "M1",
                 .terminal_id = "T1"},
        .http_timeout_ms = 3000,
        .connect_timeout_ms = 1000,
        .max_concurrency = 16,
        .take_wait_ms = 1000,
        .max_response_bytes = 65536,
        .max_msg_bytes = 1 << 20,
    };
    pbk_worker_t *w = pbk_worker_new(&cfg);
    assert_non_null(w);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, s_run, w), 0);

    result_t rs[JOBS];
    int n = s_core(router, rs, pm_mono_ms() + 10000);
    assert_int_equal(n, JOBS);

    /* SIGTERM: the loop has nothing in flight and returns 0. */
    raise(SIGTERM);
    void *ret;
    assert_int_equal(pthread_join(th, &ret), 0);
    assert_int_equal(*(int *)ret, 0);
    pbk_worker_destroy(&w);
    pbk_worker_destroy(&w); /* safe twice */
    zsock_destroy(&router);
    MHD_stop_daemon(d);

    const result_t *r = s_result(rs, n, "reg");
    assert_string_equal(r->outcome, "ok");
    assert_string_equal(r->data_order_id, UUID);
    r = s_result(rs, n, "st");
    assert_string_equal(r->outcome, "ok");
    assert_string_equal(r->data_state, "paid");
    r = s_result(rs, n, "dep");
    assert_string_equal(r->outcome, "unknown");
    r = s_result(rs, n, "ref");
    assert_string_equal(r->outcome, "ok");
    r = s_result(rs, n, "bad");
    assert_string_equal(r->outcome, "unknown");
    assert_string_equal(r->reason, "malformed job: order_id");
    r = s_result(rs, n, "xbank");
    assert_string_equal(r->outcome, "rejected");
    assert_string_equal(r->reason, "unknown bank");
    r = s_result(rs, n, "t-dep");
    assert_string_equal(r->outcome, "rejected");
    r = s_result(rs, n, "t-reg");
    assert_string_equal(r->outcome, "ok");
    assert_string_equal(r->data_order_id, UUID);
    r = s_result(rs, n, "t-st");
    assert_string_equal(r->outcome, "ok");
    assert_string_equal(r->data_state, "paid");

    /* The cut deposit reached the bank once; what changes money, and the
     * registers, went on connections of their own. */
    bool own;
    assert_int_equal(s_count("/rbs/deposit.do", &own), 1);
    assert_true(own);
    assert_int_equal(s_count("/rbs/refund.do", &own), 1);
    assert_true(own);
    assert_int_equal(s_count("/rbs/register.do", &own), 1);
    assert_true(own);
    assert_int_equal(s_count("/tfeb/orders", &own), 2); /* tok1 refused, then tok2 */
    assert_true(own);
    /* One fetch for both TFEB jobs, one more after the refusal. */
    assert_int_equal(s_count("/token", &own), 2);
    assert_int_equal(s_bank.tokens, 2);
    assert_int_equal(s_count("/rbs/getOrderStatusExtended.do", &own), 1);
    /* The status may reuse a connection: in this run at least one call did. */
    bool reused = false;
    for (int i = 0; i < s_bank.n; i++)
        for (int j = 0; j < i; j++)
            reused = reused || s_bank.reqs[i].port == s_bank.reqs[j].port;
    assert_true(reused);
}

int main(void)
{
    pm_sock_init();
    pm_signal_install();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loop),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
