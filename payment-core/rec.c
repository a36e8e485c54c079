/*  rec: strict field readers for stored records. */
#include "rec.h"

#include <string.h>

#include "pm_envelope.h"

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
