/*  catalog: package records, their order, validation. */
#include "catalog.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_log.h"
#include "rec.h"
#include "request.h"

#define CATALOG_RECORD_VERSION 1

bool catalog_sku_valid(const char *sku, size_t len)
{
    if (!sku || len == 0 || len > CATALOG_SKU_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = sku[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

const char *catalog_type_name(catalog_type_t type)
{
    return type == CATALOG_TIME ? "time" : "coin";
}

int catalog_type_parse(const char *text, size_t len, catalog_type_t *type)
{
    if (len == 4 && memcmp(text, "coin", 4) == 0)
        *type = CATALOG_COIN;
    else if (len == 4 && memcmp(text, "time", 4) == 0)
        *type = CATALOG_TIME;
    else
        return -1;
    return 0;
}

unsigned catalog_platform_parse(const char *text, size_t len)
{
    if (len == 7 && memcmp(text, "android", 7) == 0)
        return CATALOG_ANDROID;
    if (len == 3 && memcmp(text, "ios", 3) == 0)
        return CATALOG_IOS;
    return 0;
}

const char *catalog_check(const catalog_package_t *p)
{
    if (!catalog_sku_valid(p->sku, strlen(p->sku)))
        return "sku must be 1 to 64 characters of A-Z a-z 0-9 . _ -";
    size_t name_len = strlen(p->name);
    if (name_len == 0 || name_len > CATALOG_NAME_MAX || !req_utf8_valid(p->name, name_len, true))
        return "name must be 1 to 128 bytes of UTF-8 text without control characters";
    if (p->price < 0 || p->price > CATALOG_PRICE_MAX)
        return "price must be an integer from 0 to 10^15";
    size_t icon_len = strlen(p->icon);
    if (icon_len > CATALOG_ICON_MAX || !req_utf8_valid(p->icon, icon_len, true))
        return "icon must be at most 512 bytes of text";
    if (p->type == CATALOG_COIN) {
        if (p->coins < 1 || p->coins > CATALOG_COINS_MAX)
            return "coins must be 1 to 10^12 for a coin package";
        if (p->duration_days != 0)
            return "duration_days must be 0 for a coin package";
    } else if (p->type == CATALOG_TIME) {
        if (p->duration_days < 1 || p->duration_days > CATALOG_DAYS_MAX)
            return "duration_days must be 1 to 3650 for a time package";
        if (p->coins != 0)
            return "coins must be 0 for a time package";
    } else {
        return "package_type must be coin or time";
    }
    if (p->platforms == 0 || (p->platforms & ~(unsigned)CATALOG_PLATFORMS_ALL))
        return "platforms must be a non-empty subset of android, ios";
    return NULL;
}

#define F(kind, field, min, max)                                                                   \
    {                                                                                              \
        kind, offsetof(catalog_package_t, field), min, max, 0, NULL                                \
    }
static const rec_field_t s_package_fields[] = {
    F(REC_STR, sku, 1, CATALOG_SKU_MAX),
    F(REC_STR, name, 1, CATALOG_NAME_MAX),
    F(REC_I64, price, INT64_MIN, INT64_MAX),
    F(REC_STR_OPT, icon, 1, CATALOG_ICON_MAX),
    F(REC_ENUM, type, CATALOG_COIN, CATALOG_TIME),
    F(REC_I64, coins, INT64_MIN, INT64_MAX),
    F(REC_I64, duration_days, INT64_MIN, INT64_MAX),
    F(REC_ENUM, platforms, 0, 0xff),
    F(REC_BOOL, retired, 0, 0),
    F(REC_I64, seq, 1, INT64_MAX), /* a uint64_t, stored as an int */
    F(REC_I64, created_ms, INT64_MIN, INT64_MAX),
    F(REC_I64, updated_ms, INT64_MIN, INT64_MAX),
};
#undef F
static const rec_schema_t s_package_schema = {
    "package", CATALOG_RECORD_VERSION, sizeof(catalog_package_t), REC_FIELDS(s_package_fields)};
_Static_assert(sizeof(catalog_type_t) == sizeof(int), "stored as REC_ENUM");
_Static_assert(sizeof(unsigned) == sizeof(int), "platforms stored as REC_ENUM");
_Static_assert(sizeof(uint64_t) == sizeof(int64_t), "seq stored as REC_I64");

void catalog_encode(const catalog_package_t *p, msgpack_sbuffer *buf)
{
    assert(p && buf);
    rec_encode(&s_package_schema, p, buf);
}

int catalog_decode(const void *data, size_t size, catalog_package_t *p, const char **why)
{
    assert(p && why);
    if (rec_decode(&s_package_schema, data, size, p, why) != 0)
        return -1;
    return (*why = catalog_check(p)) != NULL ? -1 : 0;
}

void catalog_pack(msgpack_packer *pk, const catalog_package_t *p)
{
    assert(pk && p);
    msgpack_pack_map(pk, 9);
    pm_mp_pack_cstr(pk, "sku");
    pm_mp_pack_cstr(pk, p->sku);
    pm_mp_pack_cstr(pk, "name");
    pm_mp_pack_cstr(pk, p->name);
    pm_mp_pack_cstr(pk, "price");
    msgpack_pack_int64(pk, p->price);
    pm_mp_pack_cstr(pk, "icon");
    rec_pack_opt(pk, p->icon);
    pm_mp_pack_cstr(pk, "package_type");
    pm_mp_pack_cstr(pk, catalog_type_name(p->type));
    pm_mp_pack_cstr(pk, "coins");
    msgpack_pack_int64(pk, p->coins);
    pm_mp_pack_cstr(pk, "duration_days");
    msgpack_pack_int64(pk, p->duration_days);
    pm_mp_pack_cstr(pk, "platforms");
    msgpack_pack_array(pk, (p->platforms & CATALOG_ANDROID ? 1 : 0) +
                               (p->platforms & CATALOG_IOS ? 1 : 0));
    if (p->platforms & CATALOG_ANDROID)
        pm_mp_pack_cstr(pk, "android");
    if (p->platforms & CATALOG_IOS)
        pm_mp_pack_cstr(pk, "ios");
    pm_mp_pack_cstr(pk, "retired");
    rec_pack_bool(pk, p->retired);
}

static int s_decode_val(const MDB_val *val, const char *sku, catalog_package_t *p)
{
    const char *why = NULL;
    if (catalog_decode(val->mv_data, val->mv_size, p, &why) != 0) {
        pm_error("package record %s is corrupt: %s", sku, why);
        return DB_ECORRUPT;
    }
    return 0;
}

int catalog_load(db_t *db, MDB_txn *txn, const char *sku, catalog_package_t *p)
{
    assert(db && txn && sku && p);
    MDB_val val;
    int rc = db_get(db, txn, DB_PACKAGES, sku, strlen(sku), &val);
    if (rc != 0)
        return rc;
    if ((rc = s_decode_val(&val, sku, p)) != 0)
        return rc;
    if (strcmp(p->sku, sku) != 0) {
        pm_error("package record %s is corrupt: it holds sku %s", sku, p->sku);
        return DB_ECORRUPT;
    }
    return 0;
}

/* The seq after the last one in the order index (1 for an empty catalog). */
static int s_next_seq(db_t *db, MDB_txn *txn, uint64_t *seq)
{
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, db_dbi(db, DB_PACKAGE_ORDER), &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (rc == MDB_NOTFOUND) {
        *seq = 1;
        rc = 0;
    } else if (rc == 0) {
        if (k.mv_size != 8)
            rc = DB_ECORRUPT;
        else
            *seq = rec_be64_get(k.mv_data) + 1;
    }
    mdb_cursor_close(cur);
    return rc;
}

int catalog_put(db_t *db, MDB_txn *txn, catalog_package_t *p, bool create, uint64_t max_packages)
{
    assert(db && txn && p && catalog_check(p) == NULL);
    catalog_package_t old;
    int rc = catalog_load(db, txn, p->sku, &old);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    if (create && rc == 0)
        return MDB_KEYEXIST;
    if (!create && rc == MDB_NOTFOUND)
        return MDB_NOTFOUND;
    if (create) {
        uint64_t count = 0;
        if ((rc = db_count(db, txn, DB_PACKAGES, &count)) != 0)
            return rc;
        if (count >= max_packages)
            return CATALOG_EFULL;
        if ((rc = s_next_seq(db, txn, &p->seq)) != 0)
            return rc;
        uint8_t key[8];
        rec_be64_put(key, p->seq);
        rc = db_put(db, txn, DB_PACKAGE_ORDER, key, sizeof key, p->sku, strlen(p->sku),
                    MDB_NOOVERWRITE);
        if (rc != 0)
            return rc;
    } else {
        p->seq = old.seq;
        p->created_ms = old.created_ms;
        if (p->updated_ms < old.updated_ms)
            p->updated_ms = old.updated_ms;
    }
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    catalog_encode(p, &buf);
    rc = db_put(db, txn, DB_PACKAGES, p->sku, strlen(p->sku), buf.data, buf.size, 0);
    msgpack_sbuffer_destroy(&buf);
    return rc;
}

int catalog_each(db_t *db, MDB_txn *txn, catalog_each_fn *fn, void *arg)
{
    assert(db && txn && fn);
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, db_dbi(db, DB_PACKAGE_ORDER), &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char sku[CATALOG_SKU_MAX + 1];
        if (v.mv_size == 0 || v.mv_size > CATALOG_SKU_MAX) {
            rc = DB_ECORRUPT;
            break;
        }
        memcpy(sku, v.mv_data, v.mv_size);
        sku[v.mv_size] = '\0';
        catalog_package_t p;
        if ((rc = catalog_load(db, txn, sku, &p)) != 0) {
            if (rc == MDB_NOTFOUND)
                rc = DB_ECORRUPT;
            break;
        }
        if ((rc = fn(&p, arg)) != 0)
            break;
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
    mdb_cursor_close(cur);
    return rc;
}
