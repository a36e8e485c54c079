/*  auth: token issue and lookup. */
#include "auth.h"

#include <assert.h>
#include <msgpack.h>
#include <sodium.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_ids.h"
#include "pm_log.h"

#define AUTH_RECORD_VERSION 1
#define AUTH_RECORD_FIELDS 4

const char *auth_role_name(auth_role_t role)
{
    return role == AUTH_ROLE_SERVICE ? "service" : "user";
}

int auth_role_parse(const char *text, size_t len, auth_role_t *role)
{
    assert(text && role);
    if (len == 4 && memcmp(text, "user", 4) == 0)
        *role = AUTH_ROLE_USER;
    else if (len == 7 && memcmp(text, "service", 7) == 0)
        *role = AUTH_ROLE_SERVICE;
    else
        return -1;
    return 0;
}

bool auth_principal_valid(const char *principal, size_t len)
{
    if (!principal || len == 0 || len > PM_PRINCIPAL_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (principal[i] < 0x21 || principal[i] > 0x7e)
            return false;
    return true;
}

int auth_token_create(db_t *db, MDB_txn *txn, const char *principal, auth_role_t role,
                      int64_t now_ms, char *token, size_t cap)
{
    assert(db && txn && principal && token && cap >= AUTH_TOKEN_CAP);
    assert(auth_principal_valid(principal, strlen(principal)));
    int rc = pm_token_new(token, cap);
    assert(rc == 0);
    uint8_t hash[PM_AUTH_LEN];
    pm_token_hash(token, strlen(token), hash);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, AUTH_RECORD_FIELDS);
    msgpack_pack_uint32(&pk, AUTH_RECORD_VERSION);
    pm_mp_pack_cstr(&pk, principal);
    msgpack_pack_uint32(&pk, (uint32_t)role);
    msgpack_pack_int64(&pk, now_ms);
    /* 256 random bits never collide in practice; NOOVERWRITE makes sure. */
    rc = db_put(db, txn, DB_TOKENS, hash, sizeof hash, buf.data, buf.size, MDB_NOOVERWRITE);
    msgpack_sbuffer_destroy(&buf);
    if (rc != 0)
        sodium_memzero(token, cap);
    return rc;
}

static int s_decode(const void *data, size_t size, auth_identity_t *who)
{
    msgpack_unpacked u;
    const msgpack_object *f;
    const char *why;
    int rc = -1;
    if (pm_mp_unpack_record(data, size, AUTH_RECORD_VERSION, AUTH_RECORD_FIELDS, &u, &f, &why) != 0)
        goto destroy_unpacked;
    if (f[1].type != MSGPACK_OBJECT_STR ||
        !auth_principal_valid(f[1].via.str.ptr, f[1].via.str.size))
        goto destroy_unpacked;
    memcpy(who->principal, f[1].via.str.ptr, f[1].via.str.size);
    who->principal[f[1].via.str.size] = '\0';
    if (f[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[2].via.u64 > AUTH_ROLE_SERVICE)
        goto destroy_unpacked;
    who->role = (auth_role_t)f[2].via.u64;
    if (f[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[3].via.u64 > INT64_MAX)
        goto destroy_unpacked;
    who->created_ms = (int64_t)f[3].via.u64;
    rc = 0;
destroy_unpacked:
    msgpack_unpacked_destroy(&u);
    return rc;
}

int auth_lookup(db_t *db, MDB_txn *txn, const uint8_t hash[PM_AUTH_LEN], auth_identity_t *who)
{
    assert(db && txn && hash && who);
    memset(who, 0, sizeof *who);
    MDB_val val;
    int rc = db_get(db, txn, DB_TOKENS, hash, PM_AUTH_LEN, &val);
    if (rc != 0)
        return rc;
    if (s_decode(val.mv_data, val.mv_size, who) != 0) {
        pm_error("token record %02x%02x%02x%02x... is corrupt", hash[0], hash[1], hash[2], hash[3]);
        return DB_ECORRUPT;
    }
    return 0;
}
