/*  Unit tests of provider-bank's job decoding (pbk_job), the pure part of
 *  its worker loop: every bank job of pm_proto.h decoded from the msgpack
 *  payment-core sends, every malformed field answered unknown "malformed
 *  job: <field>", unknown banks and what TFEB cannot do rejected, the bank
 *  picked by payload.bank, the TFEB RequestId, which calls get a fresh
 *  connection, and the data map of each result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../provider-bank/pbk_job.h"
#include "pm_envelope.h"

#define UUID "c03365ad-af93-4ccf-85d3-3d3a3ae129d5"
#define JOB_ID "6f1c2d3e-0000-4000-8000-000000000001"

static const pbk_rbs_account_t s_rbs = {
    .base_url = "https://mpi.example/payment/rest/", .username = "shop-api", .password = "pw"};
static const pbk_tfeb_account_t s_tfeb = {
    .base_url = "https://ecomt.example/OrderProcessing_TURK/v1/",
    .token_url = "https://3dst.example/identityserver/connect/token",
    .client_id = "client",
    .client_secret = "secret",
    .merchant_id = "M1",
    .terminal_id = "T1",
};

/* One field of a payload being packed: a key and how its value is packed. */
typedef enum { V_STR, V_INT, V_BOOL, V_NIL, V_BIN, V_SKIP } v_type_t;
typedef struct {
    const char *key;
    v_type_t type;
    const char *s;
    int64_t i;
} field_t;

/* A packed JOB and its decoded view. */
typedef struct {
    msgpack_sbuffer buf;
    msgpack_unpacked u;
} packed_t;

static void s_pack_value(msgpack_packer *pk, const field_t *f)
{
    switch (f->type) {
    case V_STR:
        pm_mp_pack_cstr(pk, f->s);
        break;
    case V_INT:
        msgpack_pack_int64(pk, f->i);
        break;
    case V_BOOL:
        if (f->i)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        break;
    case V_NIL:
    case V_SKIP:
        msgpack_pack_nil(pk);
        break;
    case V_BIN:
        msgpack_pack_bin(pk, 2);
        msgpack_pack_bin_body(pk, "ab", 2);
        break;
    }
}

/* A JOB map {id, kind, attempt, payload {fields...}} in buf, decoded into
 * u. A field whose key is `drop` is left out; one whose key is `over` is
 * replaced by *with. */
static const msgpack_object *s_job(packed_t *p, const char *kind, int64_t attempt,
                                   const field_t *fields, size_t n, const char *drop,
                                   const field_t *over)
{
    msgpack_sbuffer_init(&p->buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &p->buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    pm_mp_pack_cstr(&pk, "id");
    pm_mp_pack_cstr(&pk, JOB_ID);
    pm_mp_pack_cstr(&pk, "kind");
    pm_mp_pack_cstr(&pk, kind);
    pm_mp_pack_cstr(&pk, "attempt");
    msgpack_pack_int64(&pk, attempt);
    pm_mp_pack_cstr(&pk, "payload");
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (!drop || strcmp(fields[i].key, drop) != 0)
            count++;
    msgpack_pack_map(&pk, count);
    for (size_t i = 0; i < n; i++) {
        if (drop && strcmp(fields[i].key, drop) == 0)
            continue;
        const field_t *f = over && strcmp(fields[i].key, over->key) == 0 ? over : &fields[i];
        pm_mp_pack_cstr(&pk, f->key);
        s_pack_value(&pk, f);
    }
    msgpack_unpacked_init(&p->u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&p->u, p->buf.data, p->buf.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    return &p->u.data;
}

static void s_free(packed_t *p)
{
    msgpack_unpacked_destroy(&p->u);
    msgpack_sbuffer_destroy(&p->buf);
}

static const field_t s_register[] = {
    {"bank", V_STR, "halkbank", 0},
    {"order_number", V_STR, "INV-0001", 0},
    {"amount_minor", V_INT, NULL, 1750},
    {"currency", V_STR, "934", 0},
    {"return_url", V_STR, "https://shop.example/paid", 0},
    {"fail_url", V_NIL, NULL, 0},
    {"description", V_STR, "Order INV-0001", 0},
    {"language", V_STR, "ru", 0},
    {"two_phase", V_BOOL, NULL, 0},
};
#define N_REGISTER (sizeof s_register / sizeof s_register[0])

static const field_t s_refund[] = {
    {"bank", V_STR, "halkbank", 0},
    {"order_id", V_STR, UUID, 0},
    {"amount_minor", V_INT, NULL, 500},
};
#define N_REFUND (sizeof s_refund / sizeof s_refund[0])

/* Decodes a job and checks rc and, for -1, the outcome and reason. */
static void s_decode(const char *kind, const field_t *fields, size_t n, const char *drop,
                     const field_t *over, int want_rc, pbk_outcome_t want, const char *reason,
                     pbk_job_t *job)
{
    packed_t p;
    pbk_result_t r;
    int rc = pbk_job_decode(s_job(&p, kind, 3, fields, n, drop, over), job, &r);
    assert_int_equal(rc, want_rc);
    if (want_rc == -1) {
        assert_int_equal(r.outcome, want);
        assert_string_equal(r.reason, reason);
        assert_string_equal(job->id, JOB_ID); /* still answerable */
        assert_int_equal(job->attempt, 3);
    }
    s_free(&p);
}

static void test_register_decodes(void **state)
{
    (void)state;
    pbk_job_t job;
    s_decode("bank_register", s_register, N_REGISTER, NULL, NULL, 0, PBK_OK, NULL, &job);
    assert_string_equal(job.id, JOB_ID);
    assert_int_equal(job.attempt, 3);
    assert_int_equal(job.call, PBK_REGISTER);
    assert_int_equal(job.bank, PBK_BANK_HALKBANK);
    assert_string_equal(job.order_number, "INV-0001");
    assert_int_equal(job.amount_minor, 1750);
    assert_string_equal(job.return_url, "https://shop.example/paid");
    assert_string_equal(job.fail_url, "");
    assert_string_equal(job.language, "ru");
    assert_false(job.two_phase);
    pbk_order_t o;
    pbk_job_order(&job, &o);
    assert_null(o.fail_url);
    assert_string_equal(o.description, "Order INV-0001");

    /* Absent optional fields are none, like nil. */
    s_decode("bank_register", s_register, N_REGISTER, "description", NULL, 0, PBK_OK, NULL, &job);
    pbk_job_order(&job, &o);
    assert_null(o.description);
    field_t two = {"two_phase", V_BOOL, NULL, 1};
    s_decode("bank_register", s_register, N_REGISTER, NULL, &two, 0, PBK_OK, NULL, &job);
    assert_true(job.two_phase);

    /* The request goes to the bank the payload names. */
    pbk_request_t req = {0};
    const char *why = NULL;
    assert_int_equal(pbk_job_request(&job, &s_rbs, &s_tfeb, NULL, &req, &why), 0);
    assert_string_equal(req.url, "https://mpi.example/payment/rest/registerPreAuth.do");
    assert_non_null(strstr(req.body, "orderNumber=INV-0001"));
    pbk_request_clear(&req);
    assert_true(pbk_job_fresh_connection(&job));
}

static void test_register_malformed(void **state)
{
    (void)state;
    pbk_job_t job;
    struct {
        const char *drop;
        field_t over;
        const char *reason;
    } cases[] = {
        {"order_number", {0}, "malformed job: order_number"},
        {NULL, {"order_number", V_INT, NULL, 7}, "malformed job: order_number"},
        {NULL,
         {"order_number", V_STR, "INV 0001", 0},
         "malformed job: order_number is not 1..32 of [A-Za-z0-9_-]"},
        {"amount_minor", {0}, "malformed job: amount_minor"},
        {NULL, {"amount_minor", V_INT, NULL, 0}, "malformed job: amount_minor"},
        {NULL, {"amount_minor", V_INT, NULL, -5}, "malformed job: amount_minor"},
        {NULL, {"amount_minor", V_INT, NULL, PBK_AMOUNT_MAX + 1}, "malformed job: amount_minor"},
        {NULL, {"amount_minor", V_STR, "1750", 0}, "malformed job: amount_minor"},
        {"currency", {0}, "malformed job: currency"},
        {NULL, {"currency", V_STR, "9340", 0}, "malformed job: currency"},
        {NULL,
         {"currency", V_STR, "TMT", 0},
         "malformed job: currency is not an ISO 4217 numeric code"},
        {"return_url", {0}, "malformed job: return_url"},
        {NULL,
         {"return_url", V_STR, "javascript:alert(1)", 0},
         "malformed job: return_url is not an http(s) URL of at most 512 bytes"},
        {NULL, {"fail_url", V_INT, NULL, 1}, "malformed job: fail_url"},
        {NULL, {"fail_url", V_STR, "", 0}, "malformed job: fail_url"},
        {NULL, {"description", V_BIN, NULL, 0}, "malformed job: description"},
        {NULL,
         {"description", V_STR, "a\nb", 0},
         "malformed job: description is not text of at most 512 bytes"},
        {NULL, {"language", V_STR, "rus", 0}, "malformed job: language"},
        {NULL,
         {"language", V_STR, "RU", 0},
         "malformed job: language is not two lower-case letters"},
        {"two_phase", {0}, "malformed job: two_phase"},
        {NULL, {"two_phase", V_INT, NULL, 1}, "malformed job: two_phase"},
        {"bank", {0}, "malformed job: bank"},
        {NULL, {"bank", V_NIL, NULL, 0}, "malformed job: bank"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        s_decode("bank_register", s_register, N_REGISTER, cases[i].drop,
                 cases[i].over.key ? &cases[i].over : NULL, -1, PBK_UNKNOWN, cases[i].reason, &job);

    /* A description of 513 bytes does not fit. */
    char big[PBK_DESCRIPTION_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    field_t longer = {"description", V_STR, big, 0};
    s_decode("bank_register", s_register, N_REGISTER, NULL, &longer, -1, PBK_UNKNOWN,
             "malformed job: description", &job);
}

static void test_envelope_malformed(void **state)
{
    (void)state;
    pbk_job_t job;
    pbk_result_t r;
    s_decode("bank_pay", s_refund, N_REFUND, NULL, NULL, -1, PBK_UNKNOWN, "malformed job: kind",
             &job);
    s_decode("bazaar_validate", s_refund, N_REFUND, NULL, NULL, -1, PBK_UNKNOWN,
             "malformed job: kind", &job);

    /* No id: nothing can be answered. */
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    pm_mp_pack_cstr(&pk, "kind");
    pm_mp_pack_cstr(&pk, "bank_status");
    /* An id but no attempt and a payload that is no map. */
    msgpack_pack_map(&pk, 3);
    pm_mp_pack_cstr(&pk, "id");
    pm_mp_pack_cstr(&pk, JOB_ID);
    pm_mp_pack_cstr(&pk, "kind");
    pm_mp_pack_cstr(&pk, "bank_status");
    pm_mp_pack_cstr(&pk, "payload");
    msgpack_pack_array(&pk, 0);
    /* An id, an attempt and a payload that is no map. */
    msgpack_pack_map(&pk, 4);
    pm_mp_pack_cstr(&pk, "id");
    pm_mp_pack_cstr(&pk, JOB_ID);
    pm_mp_pack_cstr(&pk, "kind");
    pm_mp_pack_cstr(&pk, "bank_status");
    pm_mp_pack_cstr(&pk, "attempt");
    msgpack_pack_int(&pk, 1);
    pm_mp_pack_cstr(&pk, "payload");
    msgpack_pack_array(&pk, 0);
    /* Not a map at all. */
    msgpack_pack_int(&pk, 5);

    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, buf.data, buf.size, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(pbk_job_decode(&u.data, &job, &r), -2);
    assert_int_equal(msgpack_unpack_next(&u, buf.data, buf.size, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(pbk_job_decode(&u.data, &job, &r), -1);
    assert_string_equal(r.reason, "malformed job: attempt");
    assert_string_equal(job.id, JOB_ID);
    assert_int_equal(job.attempt, 0);
    assert_int_equal(msgpack_unpack_next(&u, buf.data, buf.size, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(pbk_job_decode(&u.data, &job, &r), -1);
    assert_int_equal(r.outcome, PBK_UNKNOWN);
    assert_string_equal(r.reason, "malformed job: payload");
    assert_int_equal(msgpack_unpack_next(&u, buf.data, buf.size, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(pbk_job_decode(&u.data, &job, &r), -2);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
}

static void test_order_calls(void **state)
{
    (void)state;
    pbk_job_t job;
    pbk_request_t req = {0};
    const char *why = NULL;
    /* status: {bank, order_id}; amount_minor is not read. */
    s_decode("bank_status", s_refund, N_REFUND, "amount_minor", NULL, 0, PBK_OK, NULL, &job);
    assert_int_equal(job.call, PBK_STATUS);
    assert_string_equal(job.order_id, UUID);
    assert_false(pbk_job_fresh_connection(&job));
    assert_int_equal(pbk_job_request(&job, &s_rbs, &s_tfeb, NULL, &req, &why), 0);
    assert_string_equal(req.url, "https://mpi.example/payment/rest/getOrderStatusExtended.do");
    pbk_request_clear(&req);

    s_decode("bank_reverse", s_refund, N_REFUND, "amount_minor", NULL, 0, PBK_OK, NULL, &job);
    assert_true(pbk_job_fresh_connection(&job));
    assert_int_equal(pbk_job_request(&job, &s_rbs, &s_tfeb, NULL, &req, &why), 0);
    assert_string_equal(req.url, "https://mpi.example/payment/rest/reverse.do");
    pbk_request_clear(&req);

    s_decode("bank_deposit", s_refund, N_REFUND, NULL, NULL, 0, PBK_OK, NULL, &job);
    assert_int_equal(job.amount_minor, 500);
    assert_true(pbk_job_fresh_connection(&job));
    assert_int_equal(pbk_job_request(&job, &s_rbs, &s_tfeb, NULL, &req, &why), 0);
    assert_string_equal(req.url, "https://mpi.example/payment/rest/deposit.do");
    assert_non_null(strstr(req.body, "amount=500"));
    pbk_request_clear(&req);

    s_decode("bank_refund", s_refund, N_REFUND, NULL, NULL, 0, PBK_OK, NULL, &job);
    assert_true(pbk_job_fresh_connection(&job));

    s_decode("bank_deposit", s_refund, N_REFUND, "amount_minor", NULL, -1, PBK_UNKNOWN,
             "malformed job: amount_minor", &job);
    s_decode("bank_refund", s_refund, N_REFUND, "order_id", NULL, -1, PBK_UNKNOWN,
             "malformed job: order_id", &job);
    field_t bad_id = {"order_id", V_STR, "../../admin", 0};
    s_decode("bank_status", s_refund, N_REFUND, NULL, &bad_id, -1, PBK_UNKNOWN,
             "malformed job: order_id", &job);
}

static void test_banks(void **state)
{
    (void)state;
    pbk_job_t job;
    pbk_request_t req = {0};
    const char *why = NULL;
    field_t other = {"bank", V_STR, "senagat", 0};
    s_decode("bank_status", s_refund, N_REFUND, NULL, &other, -1, PBK_REJECTED, "unknown bank",
             &job);
    s_decode("bank_register", s_register, N_REGISTER, NULL, &other, -1, PBK_REJECTED,
             "unknown bank", &job);
    assert_true(job.has_call);
    assert_false(job.has_bank);

    /* TFEB: register, status and refund go to it, with the token and
     * RequestId "<job id>-<attempt>". */
    field_t tfeb = {"bank", V_STR, "foreign_affairs_bank", 0};
    s_decode("bank_register", s_register, N_REGISTER, NULL, &tfeb, 0, PBK_OK, NULL, &job);
    assert_int_equal(job.bank, PBK_BANK_TFEB);
    assert_string_equal(pbk_bank_name(job.bank), "foreign_affairs_bank");
    assert_true(job.has_call && job.has_bank);
    char rid[PBK_TFEB_ID_MAX + 1];
    assert_int_equal(pbk_job_request_id(&job, rid, sizeof rid), 0);
    assert_string_equal(rid, JOB_ID "-3");
    assert_int_equal(pbk_job_request(&job, &s_rbs, &s_tfeb, "tok", &req, &why), 0);
    assert_string_equal(req.url, "https://ecomt.example/OrderProcessing_TURK/v1/orders");
    assert_string_equal(req.authorization, "Authorization: Bearer tok");
    assert_non_null(strstr(req.body, "\"RequestId\":\"" JOB_ID "-3\""));
    assert_non_null(strstr(req.body, "17.50"));
    pbk_request_clear(&req);

    s_decode("bank_refund", s_refund, N_REFUND, NULL, &tfeb, 0, PBK_OK, NULL, &job);
    assert_int_equal(pbk_job_request(&job, &s_rbs, &s_tfeb, "tok", &req, &why), 0);
    assert_string_equal(req.url,
                        "https://ecomt.example/OrderProcessing_TURK/v1/Orders/" UUID "/refund");
    pbk_request_clear(&req);
    s_decode("bank_status", s_refund, N_REFUND, NULL, &tfeb, 0, PBK_OK, NULL, &job);
    assert_int_equal(pbk_job_request(&job, &s_rbs, &s_tfeb, "tok", &req, &why), 0);
    assert_false(req.post);
    pbk_request_clear(&req);

    /* What TFEB cannot do is refused before anything is sent. */
    s_decode("bank_deposit", s_refund, N_REFUND, NULL, &tfeb, -1, PBK_REJECTED,
             "foreign_affairs_bank has no deposit (one-phase orders only)", &job);
    s_decode("bank_reverse", s_refund, N_REFUND, NULL, &tfeb, -1, PBK_REJECTED,
             "foreign_affairs_bank has no reverse (one-phase orders only)", &job);
    field_t fields[N_REGISTER];
    memcpy(fields, s_register, sizeof fields);
    fields[0] = tfeb;
    field_t two = {"two_phase", V_BOOL, NULL, 1};
    s_decode("bank_register", fields, N_REGISTER, NULL, &two, -1, PBK_REJECTED,
             "foreign_affairs_bank has no two-phase orders", &job);
    field_t usd = {"currency", V_STR, "840", 0};
    s_decode("bank_register", fields, N_REGISTER, NULL, &usd, -1, PBK_REJECTED,
             "foreign_affairs_bank takes currency 934 only", &job);

    /* A job id that makes no RequestId is no request. */
    s_decode("bank_refund", s_refund, N_REFUND, NULL, &tfeb, 0, PBK_OK, NULL, &job);
    snprintf(job.id, sizeof job.id, "job:1");
    assert_int_equal(pbk_job_request_id(&job, rid, sizeof rid), -1);
    assert_int_equal(pbk_job_request(&job, &s_rbs, &s_tfeb, "tok", &req, &why), -1);
    assert_string_equal(why, "the job id and attempt make no TFEB RequestId");
    pbk_request_clear(&req);
}

/* Packs the data of r for job and unpacks it into u. */
static const msgpack_object *s_data(const pbk_job_t *job, const pbk_result_t *r,
                                    msgpack_sbuffer *buf, msgpack_unpacked *u)
{
    msgpack_sbuffer_init(buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    pbk_job_pack_data(&pk, job, r);
    msgpack_unpacked_init(u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(u, buf->data, buf->size, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(u->data.type, MSGPACK_OBJECT_MAP);
    return &u->data;
}

static void test_classify_and_data(void **state)
{
    (void)state;
    pbk_job_t job;
    pbk_result_t r;
    msgpack_sbuffer buf;
    msgpack_unpacked u;
    char s[PBK_CHECKOUT_URL_MAX + 1];
    int64_t n;

    /* register ok -> {order_id, checkout_url}. */
    s_decode("bank_register", s_register, N_REGISTER, NULL, NULL, 0, PBK_OK, NULL, &job);
    const char *body =
        "{\"orderId\":\"" UUID "\",\"formUrl\":\"https://mpi.example/pay?mdOrder=" UUID "\"}";
    pbk_answer_t a = {.transport = PBK_ANSWERED, .status = 200, .body = body, .len = strlen(body)};
    pbk_job_classify(&job, &a, &r);
    assert_int_equal(r.outcome, PBK_OK);
    const msgpack_object *d = s_data(&job, &r, &buf, &u);
    assert_int_equal(d->via.map.size, 2);
    assert_int_equal(pm_mp_copy_str(d, "order_id", s, sizeof s), 0);
    assert_string_equal(s, UUID);
    assert_int_equal(pm_mp_copy_str(d, "checkout_url", s, sizeof s), 0);
    assert_string_equal(s, "https://mpi.example/pay?mdOrder=" UUID);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);

    /* A timeout is unknown, with no data. */
    pbk_answer_t t = {.transport = PBK_TIMEOUT};
    pbk_job_classify(&job, &t, &r);
    assert_int_equal(r.outcome, PBK_UNKNOWN);
    d = s_data(&job, &r, &buf, &u);
    assert_int_equal(d->via.map.size, 0);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);

    /* status ok -> {state, amount_minor, code}. */
    s_decode("bank_status", s_refund, N_REFUND, NULL, NULL, 0, PBK_OK, NULL, &job);
    body = "{\"errorCode\":\"0\",\"orderStatus\":2,\"amount\":1750,\"actionCode\":0}";
    a.body = body;
    a.len = strlen(body);
    pbk_job_classify(&job, &a, &r);
    assert_int_equal(r.outcome, PBK_OK);
    d = s_data(&job, &r, &buf, &u);
    assert_int_equal(d->via.map.size, 3);
    assert_int_equal(pm_mp_copy_str(d, "state", s, sizeof s), 0);
    assert_string_equal(s, "paid");
    assert_int_equal(pm_mp_get_int(d, "amount_minor", &n), 0);
    assert_int_equal(n, 1750);
    assert_int_equal(pm_mp_copy_str(d, "code", s, sizeof s), 0);
    assert_string_equal(s, "orderStatus 2, actionCode 0");
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);

    /* A TFEB status has no amount: nil. */
    field_t tfeb = {"bank", V_STR, "foreign_affairs_bank", 0};
    s_decode("bank_status", s_refund, N_REFUND, NULL, &tfeb, 0, PBK_OK, NULL, &job);
    body = "{\"response\":{\"operationResult\":\"GEN-00000\"}}";
    a.body = body;
    a.len = strlen(body);
    pbk_job_classify(&job, &a, &r);
    assert_int_equal(r.outcome, PBK_OK);
    d = s_data(&job, &r, &buf, &u);
    const msgpack_object *amount = pm_mp_get(d, "amount_minor");
    assert_non_null(amount);
    assert_int_equal(amount->type, MSGPACK_OBJECT_NIL);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);

    /* TFEB 401: unknown with auth_failed, so the worker fetches a token. */
    a.status = 401;
    pbk_job_classify(&job, &a, &r);
    assert_int_equal(r.outcome, PBK_UNKNOWN);
    assert_true(r.auth_failed);

    /* A deposit done -> {}. */
    s_decode("bank_deposit", s_refund, N_REFUND, NULL, NULL, 0, PBK_OK, NULL, &job);
    body = "{\"errorCode\":\"0\"}";
    a.status = 200;
    a.body = body;
    a.len = strlen(body);
    pbk_job_classify(&job, &a, &r);
    assert_int_equal(r.outcome, PBK_OK);
    d = s_data(&job, &r, &buf, &u);
    assert_int_equal(d->via.map.size, 0);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_decodes),
        cmocka_unit_test(test_register_malformed),
        cmocka_unit_test(test_envelope_malformed),
        cmocka_unit_test(test_order_calls),
        cmocka_unit_test(test_banks),
        cmocka_unit_test(test_classify_and_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
