/*  pbk_job: decoding a bank job, choosing its bank's client, packing its
 *  result's data. */
#include "pbk_job.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "pm_envelope.h"

static const char *const s_banks[] = {
    [PBK_BANK_HALKBANK] = "halkbank",
    [PBK_BANK_TFEB] = "foreign_affairs_bank",
};

const char *pbk_bank_name(pbk_bank_t bank)
{
    assert(bank == PBK_BANK_HALKBANK || bank == PBK_BANK_TFEB);
    return s_banks[bank];
}

/* ---- decoding ---------------------------------------------------------------- */

/* Sets r to unknown "malformed job: <field>" and returns -1. */
static int s_malformed(pbk_result_t *r, const char *field)
{
    pbk_result_set(r, PBK_UNKNOWN, "malformed job: %s", field);
    return -1;
}

/* A required string under key, copied into buf (cap bytes): 0, or -1 when
 * absent, nil, not a str, too long, empty or holding a NUL. */
static int s_str(const msgpack_object *map, const char *key, char *buf, size_t cap)
{
    return pm_mp_copy_str(map, key, buf, cap) == 0 && buf[0] ? 0 : -1;
}

/* An optional string (str|nil, or absent) under key: 0 with buf "" for
 * none, or -1 when it is another type, too long, empty or holds a NUL. */
static int s_opt_str(const msgpack_object *map, const char *key, char *buf, size_t cap)
{
    buf[0] = '\0';
    const msgpack_object *v = pm_mp_get(map, key);
    if (!v || v->type == MSGPACK_OBJECT_NIL)
        return 0;
    return s_str(map, key, buf, cap);
}

/* An amount under key: an integer 1..PBK_AMOUNT_MAX. */
static int s_amount(const msgpack_object *map, const char *key, int64_t *out)
{
    return pm_mp_get_int(map, key, out) == 0 && *out >= 1 && *out <= PBK_AMOUNT_MAX ? 0 : -1;
}

/* bank_register's payload {bank, order_number, amount_minor, currency,
 * return_url, fail_url, description, language, two_phase}. */
static int s_register(const msgpack_object *p, pbk_job_t *job, pbk_result_t *r)
{
    if (s_str(p, "order_number", job->order_number, sizeof job->order_number) != 0)
        return s_malformed(r, "order_number");
    if (s_amount(p, "amount_minor", &job->amount_minor) != 0)
        return s_malformed(r, "amount_minor");
    if (s_str(p, "currency", job->currency, sizeof job->currency) != 0)
        return s_malformed(r, "currency");
    if (s_str(p, "return_url", job->return_url, sizeof job->return_url) != 0)
        return s_malformed(r, "return_url");
    if (s_opt_str(p, "fail_url", job->fail_url, sizeof job->fail_url) != 0)
        return s_malformed(r, "fail_url");
    if (s_opt_str(p, "description", job->description, sizeof job->description) != 0)
        return s_malformed(r, "description");
    if (s_opt_str(p, "language", job->language, sizeof job->language) != 0)
        return s_malformed(r, "language");
    const msgpack_object *two = pm_mp_get(p, "two_phase");
    if (!two || two->type != MSGPACK_OBJECT_BOOLEAN)
        return s_malformed(r, "two_phase");
    job->two_phase = two->via.boolean;
    /* The field checks of pbk_wire (alphabets, URLs, text), named by field. */
    pbk_order_t order;
    pbk_job_order(job, &order);
    const char *why;
    if (pbk_order_check(&order, &why) != 0)
        return s_malformed(r, why);
    return 0;
}

/* The payload of the other four: {bank, order_id} and, for deposit and
 * refund, amount_minor. */
static int s_order_call(const msgpack_object *p, pbk_job_t *job, pbk_result_t *r)
{
    if (s_str(p, "order_id", job->order_id, sizeof job->order_id) != 0 ||
        !pbk_order_id_valid(job->order_id, strlen(job->order_id)))
        return s_malformed(r, "order_id");
    if ((job->call == PBK_DEPOSIT || job->call == PBK_REFUND) &&
        s_amount(p, "amount_minor", &job->amount_minor) != 0)
        return s_malformed(r, "amount_minor");
    return 0;
}

/* What TFEB cannot do, as a rejection; 0 when it can. */
static int s_tfeb_can(const pbk_job_t *job, pbk_result_t *r)
{
    if (!pbk_tfeb_supports(job->call)) {
        pbk_result_set(r, PBK_REJECTED, "foreign_affairs_bank has no %s (one-phase orders only)",
                       job->call == PBK_DEPOSIT ? "deposit" : "reverse");
        return -1;
    }
    if (job->call == PBK_REGISTER && job->two_phase) {
        pbk_result_set(r, PBK_REJECTED, "foreign_affairs_bank has no two-phase orders");
        return -1;
    }
    if (job->call == PBK_REGISTER && strcmp(job->currency, PBK_TFEB_CURRENCY) != 0) {
        pbk_result_set(r, PBK_REJECTED, "foreign_affairs_bank takes currency %s only",
                       PBK_TFEB_CURRENCY);
        return -1;
    }
    return 0;
}

int pbk_job_decode(const msgpack_object *o, pbk_job_t *job, pbk_result_t *r)
{
    assert(o && job && r);
    memset(job, 0, sizeof *job);
    pbk_result_reset(r);
    if (o->type != MSGPACK_OBJECT_MAP || s_str(o, "id", job->id, sizeof job->id) != 0) {
        job->id[0] = '\0';
        return -2;
    }
    if (pm_mp_get_int(o, "attempt", &job->attempt) != 0 || job->attempt < 0) {
        job->attempt = 0;
        return s_malformed(r, "attempt");
    }
    char kind[32];
    if (s_str(o, "kind", kind, sizeof kind) != 0 || !pbk_kind_parse(kind, &job->call))
        return s_malformed(r, "kind");
    job->has_call = true;
    const msgpack_object *p = pm_mp_get(o, "payload");
    if (!p || p->type != MSGPACK_OBJECT_MAP)
        return s_malformed(r, "payload");
    char bank[32];
    if (s_str(p, "bank", bank, sizeof bank) != 0)
        return s_malformed(r, "bank");
    if (strcmp(bank, s_banks[PBK_BANK_HALKBANK]) == 0) {
        job->bank = PBK_BANK_HALKBANK;
    } else if (strcmp(bank, s_banks[PBK_BANK_TFEB]) == 0) {
        job->bank = PBK_BANK_TFEB;
    } else {
        pbk_result_set(r, PBK_REJECTED, "unknown bank");
        return -1;
    }
    job->has_bank = true;
    int rc = job->call == PBK_REGISTER ? s_register(p, job, r) : s_order_call(p, job, r);
    if (rc != 0)
        return -1;
    if (job->bank == PBK_BANK_TFEB && s_tfeb_can(job, r) != 0)
        return -1;
    return 0;
}

void pbk_job_order(const pbk_job_t *job, pbk_order_t *order)
{
    assert(job && order);
    *order = (pbk_order_t){
        .order_number = job->order_number,
        .amount_minor = job->amount_minor,
        .currency = job->currency,
        .return_url = job->return_url,
        .fail_url = job->fail_url[0] ? job->fail_url : NULL,
        .description = job->description[0] ? job->description : NULL,
        .language = job->language[0] ? job->language : NULL,
        .two_phase = job->two_phase,
    };
}

/* ---- the call ------------------------------------------------------------------ */

int pbk_job_request_id(const pbk_job_t *job, char *out, size_t cap)
{
    assert(job && out && cap > 0);
    int n = snprintf(out, cap, "%s-%lld", job->id, (long long)job->attempt);
    if (n < 0 || (size_t)n >= cap || !pbk_tfeb_id_valid(out)) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

bool pbk_job_fresh_connection(const pbk_job_t *job)
{
    assert(job);
    return job->call != PBK_STATUS;
}

/* The Halkbank (RBS) request. */
static int s_rbs_request(const pbk_job_t *job, const pbk_rbs_account_t *rbs, pbk_request_t *req,
                         const char **why)
{
    pbk_order_t order;
    switch (job->call) {
    case PBK_REGISTER:
        pbk_job_order(job, &order);
        return pbk_rbs_register(rbs, &order, req, why);
    case PBK_STATUS:
        return pbk_rbs_status(rbs, job->order_id, req, why);
    case PBK_DEPOSIT:
        return pbk_rbs_deposit(rbs, job->order_id, job->amount_minor, req, why);
    case PBK_REVERSE:
        return pbk_rbs_reverse(rbs, job->order_id, req, why);
    case PBK_REFUND:
        return pbk_rbs_refund(rbs, job->order_id, job->amount_minor, req, why);
    }
    *why = "unknown call";
    return -1;
}

/* The TFEB request, made with token. */
static int s_tfeb_request(const pbk_job_t *job, const pbk_tfeb_account_t *tfeb, const char *token,
                          pbk_request_t *req, const char **why)
{
    char request_id[PBK_TFEB_ID_MAX + 1];
    if (job->call != PBK_STATUS && pbk_job_request_id(job, request_id, sizeof request_id) != 0) {
        *why = "the job id and attempt make no TFEB RequestId";
        return -1;
    }
    pbk_order_t order;
    switch (job->call) {
    case PBK_REGISTER:
        pbk_job_order(job, &order);
        return pbk_tfeb_register(tfeb, &order, request_id, token, req, why);
    case PBK_STATUS:
        return pbk_tfeb_status(tfeb, job->order_id, token, req, why);
    case PBK_REFUND:
        return pbk_tfeb_refund(tfeb, job->order_id, job->amount_minor, request_id, token, req, why);
    case PBK_DEPOSIT:
    case PBK_REVERSE:
        break; /* refused when decoded */
    }
    *why = "foreign_affairs_bank has no such call";
    return -1;
}

int pbk_job_request(const pbk_job_t *job, const pbk_rbs_account_t *rbs,
                    const pbk_tfeb_account_t *tfeb, const char *token, pbk_request_t *req,
                    const char **why)
{
    assert(job && req && why);
    if (job->bank == PBK_BANK_HALKBANK) {
        assert(rbs);
        return s_rbs_request(job, rbs, req, why);
    }
    assert(tfeb && token);
    return s_tfeb_request(job, tfeb, token, req, why);
}

void pbk_job_classify(const pbk_job_t *job, const pbk_answer_t *a, pbk_result_t *r)
{
    assert(job && a && r);
    if (job->bank == PBK_BANK_HALKBANK)
        pbk_rbs_classify(job->call, a, r);
    else
        pbk_tfeb_classify(job->call, a, r);
}

void pbk_job_pack_data(msgpack_packer *pk, const pbk_job_t *job, const pbk_result_t *r)
{
    assert(pk && job && r);
    if (r->outcome == PBK_OK && job->call == PBK_REGISTER) {
        msgpack_pack_map(pk, 2);
        pm_mp_pack_cstr(pk, "order_id");
        pm_mp_pack_cstr(pk, r->order_id);
        pm_mp_pack_cstr(pk, "checkout_url");
        pm_mp_pack_cstr(pk, r->checkout_url);
    } else if (r->outcome == PBK_OK && job->call == PBK_STATUS) {
        msgpack_pack_map(pk, 3);
        pm_mp_pack_cstr(pk, "state");
        pm_mp_pack_cstr(pk, pbk_state_name(r->state));
        pm_mp_pack_cstr(pk, "amount_minor");
        if (r->has_amount)
            msgpack_pack_int64(pk, r->amount_minor);
        else
            msgpack_pack_nil(pk);
        pm_mp_pack_cstr(pk, "code");
        pm_mp_pack_cstr(pk, r->code);
    } else {
        msgpack_pack_map(pk, 0);
    }
}
