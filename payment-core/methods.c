/*  methods: payment methods, their admin calls and the check of create. */
#include "methods.h"

#include <assert.h>
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_log.h"
#include "pm_money.h"
#include "rec.h"

#define METHOD_RECORD_VERSION 1
#define S_LIST_MAX 1000
#define S_KEY_MAX (PAYMENT_ID_MAX + 1 + PAYMENT_METHOD_MAX)
#define S_BANK_NAME_MAX 24

#define F(kind, field, min, max)                                                                   \
    {                                                                                              \
        kind, offsetof(method_t, field), min, max, 0, NULL                                         \
    }
static const rec_field_t s_method_fields[] = {
    F(REC_STR, principal, 1, PAYMENT_ID_MAX),
    F(REC_STR, id, 1, PAYMENT_METHOD_MAX),
    F(REC_ENUM, bank, METHOD_BANK_NONE, METHOD_BANK_TFEB),
    F(REC_STR, currencies, 3, METHOD_CURRENCY_TEXT_MAX),
    F(REC_I64, created_ms, INT64_MIN, INT64_MAX),
    F(REC_I64, updated_ms, INT64_MIN, INT64_MAX),
};
#undef F
static const rec_schema_t s_method_schema = {"payment method", METHOD_RECORD_VERSION,
                                             sizeof(method_t), REC_FIELDS(s_method_fields)};
_Static_assert(sizeof(method_bank_t) == sizeof(int), "stored as REC_ENUM");

static const char *const s_bank_names[] = {"none", "halkbank", "foreign_affairs_bank"};

const char *method_bank_name(method_bank_t bank)
{
    return (unsigned)bank <= METHOD_BANK_TFEB ? s_bank_names[bank] : "unknown";
}

int method_bank_parse(const char *name, method_bank_t *out)
{
    for (int b = METHOD_BANK_NONE; b <= METHOD_BANK_TFEB; b++) {
        if (strcmp(name, s_bank_names[b]) == 0) {
            *out = (method_bank_t)b;
            return 0;
        }
    }
    return -1;
}

/* principal '\0' id; returns the key's length. */
static size_t s_key(uint8_t key[S_KEY_MAX], const char *principal, const char *id)
{
    size_t p = strlen(principal), i = strlen(id);
    assert(p <= PAYMENT_ID_MAX && i <= PAYMENT_METHOD_MAX);
    memcpy(key, principal, p);
    key[p] = '\0';
    memcpy(key + p + 1, id, i);
    return p + 1 + i;
}

int method_load(db_t *db, MDB_txn *txn, const char *principal, const char *id, method_t *m)
{
    uint8_t key[S_KEY_MAX];
    size_t n = s_key(key, principal, id);
    return rec_load(db, txn, DB_METHODS, key, n, &s_method_schema, m);
}

static int s_save(db_t *db, MDB_txn *txn, const method_t *m)
{
    uint8_t key[S_KEY_MAX];
    size_t n = s_key(key, m->principal, m->id);
    return rec_save(db, txn, DB_METHODS, key, n, &s_method_schema, m);
}

bool method_takes(const method_t *m, const char *currency)
{
    for (const char *c = m->currencies; *c;) {
        if (strncmp(c, currency, 3) == 0 && (c[3] == ',' || c[3] == '\0'))
            return true;
        c += c[3] == ',' ? 4 : 3;
    }
    return false;
}

int method_check(req_t *req, const char *recipient, const char *id, const char *currency,
                 const char *api_name, method_t *out)
{
    method_t m;
    int rc = method_load(req->db, req->txn, recipient, id, &m);
    if (rc == MDB_NOTFOUND)
        return req_reject(req, PM_ERR_VALIDATION, "%s: %s has no payment method %s", api_name,
                          recipient, id);
    if (rc != 0)
        return req_store_error(req, rc, "method load");
    if (!method_takes(&m, currency))
        return req_reject(req, PM_ERR_VALIDATION, "%s: payment method %s takes %s, not %s",
                          api_name, id, m.currencies, currency);
    if (out)
        *out = m;
    return 0;
}

/* Normalizes a list "usd, TMT" into "USD,TMT" in out: 0, or a static reason. */
static const char *s_currencies(const char *list, char out[METHOD_CURRENCY_TEXT_MAX + 1])
{
    size_t o = 0, count = 0;
    const char *p = list;
    out[0] = '\0';
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        char code[4] = "";
        size_t n = 0;
        while (p[n] && p[n] != ',' && p[n] != ' ' && n < 4)
            n++;
        if (n != 3)
            return "currencies must be 3-letter codes separated by commas";
        for (size_t i = 0; i < 3; i++)
            code[i] = (char)toupper((unsigned char)p[i]);
        if (!pm_currency_find(code, 3))
            return "currencies holds a currency paymesh does not know";
        method_t probe;
        memcpy(probe.currencies, out, o + 1);
        if (method_takes(&probe, code))
            return "currencies names a currency twice";
        if (++count > METHOD_CURRENCIES_MAX)
            return "a method takes at most 16 currencies";
        if (o)
            out[o++] = ',';
        memcpy(out + o, code, 4);
        o += 3;
        p += 3;
    }
    return count ? NULL : "currencies must name at least one currency";
}

static void s_pack(msgpack_packer *pk, const method_t *m)
{
    msgpack_pack_map(pk, 6);
    pm_mp_pack_cstr(pk, "principal");
    pm_mp_pack_cstr(pk, m->principal);
    pm_mp_pack_cstr(pk, "id");
    pm_mp_pack_cstr(pk, m->id);
    pm_mp_pack_cstr(pk, "bank");
    pm_mp_pack_cstr(pk, method_bank_name(m->bank));
    pm_mp_pack_cstr(pk, "currencies");
    pm_mp_pack_cstr(pk, m->currencies);
    pm_mp_pack_cstr(pk, "created_ms");
    msgpack_pack_int64(pk, m->created_ms);
    pm_mp_pack_cstr(pk, "updated_ms");
    msgpack_pack_int64(pk, m->updated_ms);
}

int methods_admin_put(req_t *req)
{
    method_t m;
    memset(&m, 0, sizeof m);
    char bank[S_BANK_NAME_MAX + 1], list[256];
    if (req_text(req, "principal", "principal", 1, PAYMENT_ID_MAX, 0, m.principal,
                 sizeof m.principal) != 0 ||
        req_text(req, "id", "id", 1, PAYMENT_METHOD_MAX, 0, m.id, sizeof m.id) != 0 ||
        req_text(req, "bank", "bank", 1, S_BANK_NAME_MAX, REQ_ASCII, bank, sizeof bank) != 0 ||
        req_text(req, "currencies", "currencies", 3, sizeof list - 1, REQ_ASCII, list,
                 sizeof list) != 0)
        return -1;
    if (method_bank_parse(bank, &m.bank) != 0)
        return req_reject(req, PM_ERR_VALIDATION,
                          "bank must be halkbank, foreign_affairs_bank or none");
    const char *bad = s_currencies(list, m.currencies);
    if (bad)
        return req_reject(req, PM_ERR_VALIDATION, "%s", bad);
    if (m.bank != METHOD_BANK_NONE && strcmp(m.currencies, "TMT") != 0)
        return req_reject(req, PM_ERR_VALIDATION, "%s takes TMT only", method_bank_name(m.bank));
    method_t old;
    int rc = method_load(req->db, req->txn, m.principal, m.id, &old);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return req_store_error(req, rc, "method load");
    bool existed = rc == 0;
    m.created_ms = existed ? old.created_ms : req->now_ms;
    m.updated_ms = req->now_ms;
    if ((rc = s_save(req->db, req->txn, &m)) != 0)
        return req_store_error(req, rc, "method save");
    pm_info("payment method %s of %s %s: bank %s, currencies %s", m.id, m.principal,
            existed ? "updated" : "added", method_bank_name(m.bank), m.currencies);
    msgpack_pack_map(&req->pk, 2);
    pm_mp_pack_cstr(&req->pk, "err");
    msgpack_pack_int(&req->pk, PM_OK);
    pm_mp_pack_cstr(&req->pk, "method");
    s_pack(&req->pk, &m);
    return 0;
}

int methods_admin_list(req_t *req)
{
    char principal[PAYMENT_ID_MAX + 1];
    if (req_text(req, "principal", "principal", 1, PAYMENT_ID_MAX, REQ_OPTIONAL, principal,
                 sizeof principal) != 0)
        return -1;
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(req->txn, db_dbi(req->db, DB_METHODS), &cur);
    if (rc != 0)
        return req_store_error(req, rc, "method list");
    /* Two passes over at most S_LIST_MAX records: count, then pack. */
    uint8_t key[S_KEY_MAX];
    size_t plen = principal[0] ? strlen(principal) + 1 : 0;
    if (plen)
        memcpy(key, principal, plen);
    MDB_val k = {plen, key}, v;
    uint32_t n = 0;
    for (rc = plen ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
                   : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
         rc == 0 && n < S_LIST_MAX && (k.mv_size >= plen && memcmp(k.mv_data, key, plen) == 0);
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        n++;
    if (rc != 0 && rc != MDB_NOTFOUND) {
        mdb_cursor_close(cur);
        return req_store_error(req, rc, "method list");
    }
    req_pack_list_head(&req->pk, "methods", n);
    k = (MDB_val){plen, key};
    uint32_t i = 0;
    for (rc = plen ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
                   : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
         rc == 0 && i < n; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), i++) {
        method_t m;
        const char *why = NULL;
        if (rec_decode(&s_method_schema, v.mv_data, v.mv_size, &m, &why) != 0) {
            mdb_cursor_close(cur);
            return req_store_error(req, DB_ECORRUPT, "method list");
        }
        s_pack(&req->pk, &m);
    }
    mdb_cursor_close(cur);
    return 0;
}
