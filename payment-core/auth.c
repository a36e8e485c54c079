/*  auth: token issue and lookup. */
#include "auth.h"

#include <assert.h>
#include <msgpack.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_ids.h"
#include "pm_log.h"
#include "rec.h"

#define AUTH_RECORD_VERSION 1

static const rec_field_t s_token_fields[] = {
    {REC_STR, offsetof(auth_identity_t, principal), 1, PM_PRINCIPAL_MAX, 0, NULL},
    {REC_ENUM, offsetof(auth_identity_t, role), AUTH_ROLE_USER, AUTH_ROLE_SERVICE, 0, NULL},
    {REC_I64, offsetof(auth_identity_t, created_ms), 0, INT64_MAX, 0, NULL},
};
static const rec_schema_t s_token_schema = {"token", AUTH_RECORD_VERSION, sizeof(auth_identity_t),
                                            REC_FIELDS(s_token_fields)};
_Static_assert(sizeof(auth_role_t) == sizeof(int), "stored as REC_ENUM");

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
    auth_identity_t who = {.role = role, .created_ms = now_ms};
    snprintf(who.principal, sizeof who.principal, "%s", principal);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    rec_encode(&s_token_schema, &who, &buf);
    /* 256 random bits never collide in practice; NOOVERWRITE makes sure. */
    rc = db_put(db, txn, DB_TOKENS, hash, sizeof hash, buf.data, buf.size, MDB_NOOVERWRITE);
    msgpack_sbuffer_destroy(&buf);
    if (rc != 0)
        sodium_memzero(token, cap);
    return rc;
}

static int s_decode(const void *data, size_t size, auth_identity_t *who)
{
    const char *why = NULL;
    if (rec_decode(&s_token_schema, data, size, who, &why) != 0)
        return -1;
    return auth_principal_valid(who->principal, strlen(who->principal)) ? 0 : -1;
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
