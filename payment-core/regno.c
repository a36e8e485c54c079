/*  regno: registration number types and numbers. */
#include "regno.h"

#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_log.h"
#include "rec.h"

#define TYPE_RECORD_VERSION 1
#define NUMBER_RECORD_VERSION 1
#define S_RANDOM_TRIES 64
#define S_SEQ_SKIPS 4096 /* taken sequential numbers skipped per request at most */
#define S_LIST_MAX 1000
#define S_TYPE_NAME_READ 256

#define F(kind, field, min, max)                                                                   \
    {                                                                                              \
        kind, offsetof(regno_type_t, field), min, max, 0, NULL                                     \
    }
static const rec_field_t s_type_fields[] = {
    F(REC_I64, id, 1, REGNO_TYPE_ID_MAX),
    F(REC_STR, name, 1, REGNO_NAME_MAX),
    F(REC_STR_OPT, prefix, 1, REGNO_PREFIX_MAX),
    F(REC_I64, length, 1, REGNO_LENGTH_MAX),
    F(REC_STR, alphabet, 2, REGNO_ALPHABET_MAX),
    F(REC_I64, next_seq, 0, INT64_MAX),
    F(REC_I64, issued, 0, INT64_MAX),
    F(REC_I64, created_ms, INT64_MIN, INT64_MAX),
    F(REC_I64, updated_ms, INT64_MIN, INT64_MAX),
};
#undef F
static const rec_schema_t s_type_schema = {"regno type", TYPE_RECORD_VERSION, sizeof(regno_type_t),
                                           REC_FIELDS(s_type_fields)};

typedef struct {
    int64_t type_id;
    char principal[PM_PRINCIPAL_MAX + 1];
    int64_t created_ms;
} s_number_t;

static const rec_field_t s_number_fields[] = {
    {REC_I64, offsetof(s_number_t, type_id), 1, REGNO_TYPE_ID_MAX, 0, NULL},
    {REC_STR, offsetof(s_number_t, principal), 1, PM_PRINCIPAL_MAX, 0, NULL},
    {REC_I64, offsetof(s_number_t, created_ms), INT64_MIN, INT64_MAX, 0, NULL},
};
static const rec_schema_t s_number_schema = {"regno", NUMBER_RECORD_VERSION, sizeof(s_number_t),
                                             REC_FIELDS(s_number_fields)};

static bool s_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

const char *regno_type_check(const regno_type_t *t)
{
    if (t->id < 1 || t->id > REGNO_TYPE_ID_MAX)
        return "id must be 1 to 2147483647";
    if (!t->name[0])
        return "name must not be empty";
    for (const char *c = t->prefix; *c; c++)
        if (!s_alnum(*c) && *c != '-' && *c != '_')
            return "prefix must be letters, digits, '-' or '_'";
    if (t->length < 1 || t->length > REGNO_LENGTH_MAX)
        return "length must be 1 to 32";
    size_t n = strlen(t->alphabet);
    if (n < 2)
        return "alphabet must have at least 2 characters";
    for (size_t i = 0; i < n; i++) {
        if (!s_alnum(t->alphabet[i]))
            return "alphabet must be letters and digits";
        if (memchr(t->alphabet + i + 1, t->alphabet[i], n - i - 1))
            return "alphabet characters must be distinct";
    }
    return NULL;
}

static void s_type_key(uint8_t key[8], int64_t id)
{
    rec_be64_put(key, (uint64_t)id);
}

int regno_type_load(db_t *db, MDB_txn *txn, int64_t id, regno_type_t *t)
{
    uint8_t key[8];
    s_type_key(key, id);
    int rc = rec_load(db, txn, DB_REGNO_TYPES, key, sizeof key, &s_type_schema, t);
    if (rc == 0 && (t->id != id || regno_type_check(t))) {
        pm_error("regno type record %lld is corrupt", (long long)id);
        return DB_ECORRUPT;
    }
    return rc;
}

int regno_type_save(db_t *db, MDB_txn *txn, const regno_type_t *t)
{
    uint8_t key[8];
    s_type_key(key, t->id);
    return rec_save(db, txn, DB_REGNO_TYPES, key, sizeof key, &s_type_schema, t);
}

/* How many numbers the type has: n^length, INT64_MAX when that is more. */
static int64_t s_capacity(const regno_type_t *t)
{
    int64_t n = (int64_t)strlen(t->alphabet), cap = 1;
    for (int64_t i = 0; i < t->length; i++) {
        if (cap > INT64_MAX / n)
            return INT64_MAX;
        cap *= n;
    }
    return cap;
}

/* prefix + seq written in the alphabet, left-padded to length. */
static void s_format(const regno_type_t *t, int64_t seq, char out[REGNO_MAX + 1])
{
    size_t p = strlen(t->prefix), n = strlen(t->alphabet);
    memcpy(out, t->prefix, p);
    uint64_t v = (uint64_t)seq;
    for (int64_t i = t->length - 1; i >= 0; i--) {
        out[p + (size_t)i] = t->alphabet[v % n];
        v /= n;
    }
    out[p + (size_t)t->length] = '\0';
}

static void s_draw(const regno_type_t *t, char out[REGNO_MAX + 1])
{
    size_t p = strlen(t->prefix), n = strlen(t->alphabet);
    memcpy(out, t->prefix, p);
    for (int64_t i = 0; i < t->length; i++)
        out[p + (size_t)i] = t->alphabet[randombytes_uniform((uint32_t)n)];
    out[p + (size_t)t->length] = '\0';
}

/* Takes number for t: 0, MDB_KEYEXIST when someone has it, or an LMDB code. */
static int s_take(db_t *db, MDB_txn *txn, const regno_type_t *t, const char *number,
                  const char *principal, int64_t now_ms)
{
    s_number_t rec = {.type_id = t->id, .created_ms = now_ms};
    snprintf(rec.principal, sizeof rec.principal, "%s", principal);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    rec_encode(&s_number_schema, &rec, &buf);
    int rc =
        db_put(db, txn, DB_REGNOS, number, strlen(number), buf.data, buf.size, MDB_NOOVERWRITE);
    msgpack_sbuffer_destroy(&buf);
    return rc;
}

int regno_owner(db_t *db, MDB_txn *txn, const char *number, char *principal)
{
    s_number_t rec;
    int rc = rec_load(db, txn, DB_REGNOS, number, strlen(number), &s_number_schema, &rec);
    if (rc == 0)
        memcpy(principal, rec.principal, sizeof rec.principal);
    return rc;
}

int regno_new(db_t *db, MDB_txn *txn, regno_type_t *t, bool random, const char *principal,
              int64_t now_ms, char out[REGNO_MAX + 1])
{
    assert(db && txn && t && principal && out);
    int rc = MDB_KEYEXIST;
    if (random) {
        for (int i = 0; i < S_RANDOM_TRIES && rc == MDB_KEYEXIST; i++) {
            s_draw(t, out);
            rc = s_take(db, txn, t, out, principal, now_ms);
        }
    } else {
        int64_t cap = s_capacity(t);
        for (int i = 0; i < S_SEQ_SKIPS && rc == MDB_KEYEXIST && t->next_seq < cap; i++) {
            s_format(t, t->next_seq++, out);
            rc = s_take(db, txn, t, out, principal, now_ms);
        }
    }
    if (rc == MDB_KEYEXIST)
        return EEXIST;
    if (rc != 0)
        return rc;
    t->issued++;
    t->updated_ms = now_ms > t->updated_ms ? now_ms : t->updated_ms;
    return regno_type_save(db, txn, t);
}

/* ---- requests ------------------------------------------------------------- */

static void s_pack_type(msgpack_packer *pk, const regno_type_t *t)
{
    msgpack_pack_map(pk, 6);
    pm_mp_pack_cstr(pk, "id");
    msgpack_pack_int64(pk, t->id);
    pm_mp_pack_cstr(pk, "name");
    pm_mp_pack_cstr(pk, t->name);
    pm_mp_pack_cstr(pk, "prefix");
    pm_mp_pack_cstr(pk, t->prefix);
    pm_mp_pack_cstr(pk, "length");
    msgpack_pack_int64(pk, t->length);
    pm_mp_pack_cstr(pk, "alphabet");
    pm_mp_pack_cstr(pk, t->alphabet);
    pm_mp_pack_cstr(pk, "issued");
    msgpack_pack_int64(pk, t->issued);
}

int regno_api_gen(req_t *req)
{
    int64_t id = 0;
    bool random = false;
    char name[S_TYPE_NAME_READ + 1]; /* the seed's label; the type's own name is what counts */
    if (req_int(req, "type_id", "RegNumTypeId", 1, REGNO_TYPE_ID_MAX, 0, 0, &id) != 0 ||
        req_bool(req, "random", "random_mode", &random) != 0 ||
        req_text(req, "type_name", "RegNumTypeName", 1, S_TYPE_NAME_READ, REQ_OPTIONAL, name,
                 sizeof name) != 0)
        return -1;
    regno_type_t t;
    int rc = regno_type_load(req->db, req->txn, id, &t);
    if (rc == MDB_NOTFOUND)
        return req_refuse(req, PM_ERR_NOT_FOUND, "no registration number type %lld", (long long)id);
    if (rc != 0)
        return req_store_error(req, rc, "regno type load");
    char number[REGNO_MAX + 1];
    rc = regno_new(req->db, req->txn, &t, random, req->caller->principal, req->now_ms, number);
    if (rc == EEXIST)
        return req_reject(req, PM_ERR_CONFLICT,
                          "registration number type %lld has no %s number left", (long long)id,
                          random ? "free random" : "sequential");
    if (rc != 0)
        return req_store_error(req, rc, "regno new");
    pm_info("registration number %s (type %lld, %s) for %s", number, (long long)id,
            random ? "random" : "sequential", req->caller->principal);
    msgpack_pack_map(&req->pk, 4);
    pm_mp_pack_cstr(&req->pk, "err");
    msgpack_pack_int(&req->pk, PM_OK);
    pm_mp_pack_cstr(&req->pk, "reg_no");
    pm_mp_pack_cstr(&req->pk, number);
    pm_mp_pack_cstr(&req->pk, "type_id");
    msgpack_pack_int64(&req->pk, t.id);
    pm_mp_pack_cstr(&req->pk, "type_name");
    pm_mp_pack_cstr(&req->pk, t.name);
    return 0;
}

int regno_admin_type_put(req_t *req)
{
    regno_type_t t;
    memset(&t, 0, sizeof t);
    bool create = false;
    if (req_int(req, "id", "id", 1, REGNO_TYPE_ID_MAX, 0, 0, &t.id) != 0 ||
        req_text(req, "name", "name", 1, REGNO_NAME_MAX, REQ_ASCII, t.name, sizeof t.name) != 0 ||
        req_text(req, "prefix", "prefix", 0, REGNO_PREFIX_MAX, REQ_ASCII | REQ_OPTIONAL, t.prefix,
                 sizeof t.prefix) != 0 ||
        req_int(req, "length", "length", 1, REGNO_LENGTH_MAX, 0, 0, &t.length) != 0 ||
        req_text(req, "alphabet", "alphabet", 2, REGNO_ALPHABET_MAX, REQ_ASCII, t.alphabet,
                 sizeof t.alphabet) != 0 ||
        req_bool(req, "create", "create", &create) != 0)
        return -1;
    const char *bad = regno_type_check(&t);
    if (bad)
        return req_reject(req, PM_ERR_VALIDATION, "%s", bad);
    regno_type_t old;
    int rc = regno_type_load(req->db, req->txn, t.id, &old);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return req_store_error(req, rc, "regno type load");
    if (create && rc == 0)
        return req_refuse(req, PM_ERR_CONFLICT, "registration number type %lld exists",
                          (long long)t.id);
    if (!create && rc == MDB_NOTFOUND)
        return req_refuse(req, PM_ERR_NOT_FOUND, "no registration number type %lld",
                          (long long)t.id);
    if (rc == 0) {
        /* Numbers given keep their meaning: only the name may change then. */
        if (old.issued > 0 && (strcmp(old.prefix, t.prefix) != 0 || old.length != t.length ||
                               strcmp(old.alphabet, t.alphabet) != 0))
            return req_refuse(req, PM_ERR_VALIDATION,
                              "type %lld gave numbers already: only its name may change",
                              (long long)t.id);
        t.next_seq = old.next_seq;
        t.issued = old.issued;
        t.created_ms = old.created_ms;
    } else {
        t.created_ms = req->now_ms;
    }
    t.updated_ms = req->now_ms;
    if ((rc = regno_type_save(req->db, req->txn, &t)) != 0)
        return req_store_error(req, rc, "regno type save");
    pm_info("registration number type %lld (%s) %s: prefix '%s', %lld of '%s'", (long long)t.id,
            t.name, create ? "added" : "updated", t.prefix, (long long)t.length, t.alphabet);
    msgpack_pack_map(&req->pk, 2);
    pm_mp_pack_cstr(&req->pk, "err");
    msgpack_pack_int(&req->pk, PM_OK);
    pm_mp_pack_cstr(&req->pk, "type");
    s_pack_type(&req->pk, &t);
    return 0;
}

int regno_admin_type_list(req_t *req)
{
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(req->txn, db_dbi(req->db, DB_REGNO_TYPES), &cur);
    if (rc != 0)
        return req_store_error(req, rc, "regno type list");
    uint64_t n = 0;
    if ((rc = db_count(req->db, req->txn, DB_REGNO_TYPES, &n)) != 0) {
        mdb_cursor_close(cur);
        return req_store_error(req, rc, "regno type count");
    }
    if (n > S_LIST_MAX)
        n = S_LIST_MAX;
    req_pack_list_head(&req->pk, "types", (uint32_t)n);
    MDB_val k, v;
    uint64_t i = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && i < n;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), i++) {
        regno_type_t t;
        const char *why = NULL;
        if (rec_decode(&s_type_schema, v.mv_data, v.mv_size, &t, &why) != 0) {
            mdb_cursor_close(cur);
            return req_store_error(req, DB_ECORRUPT, "regno type list");
        }
        s_pack_type(&req->pk, &t);
    }
    mdb_cursor_close(cur);
    return 0;
}
