/*  pm_ids: UUIDs via libuuid, tokens and hashes via libsodium. */
#include "pm_ids.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

void pm_ids_init(void)
{
    if (sodium_init() < 0)
        abort();
}

void pm_uuid_new(char out[PM_UUID_LEN + 1])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

bool pm_uuid_valid(const char *text, size_t len)
{
    if (len != PM_UUID_LEN)
        return false;
    char buf[PM_UUID_LEN + 1];
    memcpy(buf, text, len);
    buf[len] = '\0';
    uuid_t u;
    return uuid_parse(buf, u) == 0;
}

#define S_RANDOM_POOL 4096

void pm_random_buf(void *buf, size_t size)
{
    static _Thread_local uint8_t pool[S_RANDOM_POOL];
    static _Thread_local size_t left;
    uint8_t *out = buf;
    while (size > 0) {
        if (left == 0) {
            randombytes_buf(pool, sizeof pool);
            left = sizeof pool;
        }
        size_t n = size < left ? size : left;
        uint8_t *from = pool + sizeof pool - left;
        memcpy(out, from, n);
        sodium_memzero(from, n); /* each byte is handed out once */
        out += n;
        size -= n;
        left -= n;
    }
}

int pm_token_new(char *out, size_t cap)
{
    unsigned char raw[32];
    const char prefix[] = "pmk_";
    size_t b64 = sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (cap < sizeof prefix - 1 + b64)
        return -1;
    randombytes_buf(raw, sizeof raw);
    memcpy(out, prefix, sizeof prefix - 1);
    sodium_bin2base64(out + sizeof prefix - 1, b64, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    return 0;
}

void pm_token_hash(const char *token, size_t len, uint8_t out[PM_AUTH_LEN])
{
    assert(token);
    crypto_generichash(out, PM_AUTH_LEN, (const unsigned char *)token, len, NULL, 0);
}
