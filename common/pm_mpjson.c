/*  pm_mpjson: msgpack to json-c. */
#include "pm_mpjson.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#define S_KEY_MAX 128

static json_object *s_value(const msgpack_object *o, int depth_left, bool *ok)
{
    if (depth_left < 0) {
        *ok = false;
        return NULL;
    }
    switch (o->type) {
    case MSGPACK_OBJECT_BOOLEAN:
        return json_object_new_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return o->via.u64 <= INT64_MAX ? json_object_new_int64((int64_t)o->via.u64)
                                       : json_object_new_uint64(o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_object_new_int64(o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return json_object_new_double(o->via.f64);
    case MSGPACK_OBJECT_STR:
        return json_object_new_string_len(o->via.str.ptr ? o->via.str.ptr : "",
                                          (int)o->via.str.size);
    case MSGPACK_OBJECT_ARRAY: {
        json_object *a = json_object_new_array_ext((int)o->via.array.size);
        if (!a)
            *ok = false;
        for (uint32_t i = 0; a && i < o->via.array.size; i++) {
            json_object *v = s_value(&o->via.array.ptr[i], depth_left - 1, ok);
            if (!*ok || json_object_array_add(a, v) != 0) {
                json_object_put(v);
                json_object_put(a);
                *ok = false;
                return NULL;
            }
        }
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_object *m = json_object_new_object();
        if (!m)
            *ok = false;
        for (uint32_t i = 0; m && i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR || kv->key.via.str.size > S_KEY_MAX)
                continue;
            char key[S_KEY_MAX + 1];
            memcpy(key, kv->key.via.str.ptr, kv->key.via.str.size);
            key[kv->key.via.str.size] = '\0';
            json_object *v = s_value(&kv->val, depth_left - 1, ok);
            if (!*ok || json_object_object_add(m, key, v) != 0) {
                json_object_put(v);
                json_object_put(m);
                *ok = false;
                return NULL;
            }
        }
        return m;
    }
    default: /* nil, bin, ext */
        return NULL;
    }
}

json_object *pm_mp_to_json(const msgpack_object *o, int max_depth, bool *ok)
{
    assert(o && ok && max_depth >= 0);
    *ok = true;
    return s_value(o, max_depth, ok);
}
