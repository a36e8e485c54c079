/*  rec: strict field readers for stored records. */
#include "rec.h"

#include <assert.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_log.h"

int rec_str(const msgpack_object *o, char *out, size_t min, size_t max, bool optional)
{
    if (optional && o->type == MSGPACK_OBJECT_NIL) {
        out[0] = '\0';
        return 0;
    }
    if (o->type != MSGPACK_OBJECT_STR)
        return -1;
    size_t n = o->via.str.size;
    if (n < min || n > max || (optional && n == 0) || memchr(o->via.str.ptr, '\0', n))
        return -1;
    memcpy(out, o->via.str.ptr, n);
    out[n] = '\0';
    return 0;
}

int rec_int(const msgpack_object *o, int64_t *out)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
        *out = (int64_t)o->via.u64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return 0;
    }
    return -1;
}

int rec_int_opt(const msgpack_object *o, int64_t *out, bool *is_nil)
{
    *is_nil = o->type == MSGPACK_OBJECT_NIL;
    *out = 0;
    return *is_nil ? 0 : rec_int(o, out);
}

int rec_bool(const msgpack_object *o, bool *out)
{
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return -1;
    *out = o->via.boolean;
    return 0;
}

void rec_be64_put(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)(v & 0xff);
}

uint64_t rec_be64_get(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | in[i];
    return v;
}

void rec_pack_opt(msgpack_packer *pk, const char *s)
{
    pm_mp_pack_cstr(pk, s[0] ? s : NULL);
}

void rec_pack_opt_int(msgpack_packer *pk, bool has, int64_t v)
{
    if (has)
        msgpack_pack_int64(pk, v);
    else
        msgpack_pack_nil(pk);
}

void rec_pack_bool(msgpack_packer *pk, bool v)
{
    if (v)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

void rec_encode(const rec_schema_t *schema, const void *rec, msgpack_sbuffer *buf)
{
    assert(schema && rec && buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, (uint32_t)schema->nfields + 1);
    msgpack_pack_uint32(&pk, schema->version);
    const char *base = rec;
    for (size_t i = 0; i < schema->nfields; i++) {
        const rec_field_t *fd = &schema->fields[i];
        const void *at = base + fd->off;
        switch (fd->kind) {
        case REC_STR:
            pm_mp_pack_cstr(&pk, at);
            break;
        case REC_STR_OPT:
            rec_pack_opt(&pk, at);
            break;
        case REC_I64:
            msgpack_pack_int64(&pk, *(const int64_t *)at);
            break;
        case REC_I64_OPT:
            rec_pack_opt_int(&pk, *(const bool *)(base + fd->aux_off), *(const int64_t *)at);
            break;
        case REC_ENUM:
            msgpack_pack_int(&pk, *(const int *)at);
            break;
        case REC_BOOL:
            rec_pack_bool(&pk, *(const bool *)at);
            break;
        case REC_BIN: {
            size_t n = *(const size_t *)(base + fd->aux_off);
            msgpack_pack_bin(&pk, n);
            msgpack_pack_bin_body(&pk, at, n);
            break;
        }
        }
    }
}

static int s_field(const rec_field_t *fd, const msgpack_object *o, char *base)
{
    void *at = base + fd->off;
    int64_t v = 0;
    bool nil = false;
    switch (fd->kind) {
    case REC_STR:
    case REC_STR_OPT:
        return rec_str(o, at, (size_t)fd->min, (size_t)fd->max, fd->kind == REC_STR_OPT);
    case REC_I64:
        if (rec_int(o, &v) != 0 || v < fd->min || v > fd->max)
            return -1;
        *(int64_t *)at = v;
        return 0;
    case REC_I64_OPT:
        if (rec_int_opt(o, &v, &nil) != 0 || (!nil && (v < fd->min || v > fd->max)))
            return -1;
        *(int64_t *)at = v;
        *(bool *)(base + fd->aux_off) = !nil;
        return 0;
    case REC_ENUM:
        if (rec_int(o, &v) != 0 || v < fd->min || v > fd->max)
            return -1;
        *(int *)at = (int)v;
        return 0;
    case REC_BOOL:
        return rec_bool(o, at);
    case REC_BIN:
        if (o->type != MSGPACK_OBJECT_BIN || (int64_t)o->via.bin.size < fd->min ||
            (int64_t)o->via.bin.size > fd->max)
            return -1;
        memcpy(at, o->via.bin.ptr, o->via.bin.size);
        *(size_t *)(base + fd->aux_off) = o->via.bin.size;
        return 0;
    }
    return -1;
}

int rec_decode(const rec_schema_t *schema, const void *data, size_t size, void *rec,
               const char **why)
{
    assert(schema && rec && why);
    msgpack_unpacked u;
    const msgpack_object *f;
    int rc = -1;
    memset(rec, 0, schema->size);
    if (pm_mp_unpack_record(data, size, schema->version, (uint32_t)schema->nfields + 1, &u, &f,
                            why) != 0)
        goto destroy_unpacked;
    for (size_t i = 0; i < schema->nfields; i++) {
        if (s_field(&schema->fields[i], &f[i + 1], rec) != 0) {
            *why = schema->fields[i].why ? schema->fields[i].why : "a field out of shape";
            goto destroy_unpacked;
        }
    }
    rc = 0;
destroy_unpacked:
    msgpack_unpacked_destroy(&u);
    return rc;
}

int rec_load(db_t *db, MDB_txn *txn, db_name_t table, const void *key, size_t key_len,
             const rec_schema_t *schema, void *rec)
{
    MDB_val val;
    int rc = db_get(db, txn, table, key, key_len, &val);
    if (rc != 0)
        return rc;
    const char *why = NULL;
    if (rec_decode(schema, val.mv_data, val.mv_size, rec, &why) != 0) {
        pm_error("%s record is corrupt: %s", schema->name, why);
        return DB_ECORRUPT;
    }
    return 0;
}

int rec_save(db_t *db, MDB_txn *txn, db_name_t table, const void *key, size_t key_len,
             const rec_schema_t *schema, const void *rec)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    rec_encode(schema, rec, &buf);
    int rc = db_put(db, txn, table, key, key_len, buf.data, buf.size, 0);
    msgpack_sbuffer_destroy(&buf);
    return rc;
}
