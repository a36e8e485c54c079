/*  orders: seed 004 requests -> core bodies; replies -> the seed's envelope.
 *
 *  The seed's client sends numbers as JSON numbers ("RegNumTypeId": 9,
 *  "random_mode": 1); a form-minded client may send them as strings of
 *  digits, which are taken too. random_mode is 1 (random) or 0
 *  (sequential); true and false are read the same way. */
#include "orders.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "gw_json.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_proto.h"

#define S_TYPE_ID_MAX 2147483647
#define S_TYPE_NAME_MAX 256
#define S_REGNO_MAX 64

/* A whole number in min..max under key: a JSON integer or a string of 1..10
 * digits. Returns 0, 1 when absent or null, or -1 with the error in b. */
static int s_int(json_object *body, const char *key, int64_t min, int64_t max, int64_t *out,
                 gw_build_t *b)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(body, key, &v) || !v)
        return 1;
    if (json_object_is_type(v, json_type_int)) {
        errno = 0;
        int64_t n = json_object_get_int64(v);
        if (errno == 0 && n >= min && n <= max) {
            *out = n;
            return 0;
        }
    } else if (json_object_is_type(v, json_type_boolean)) {
        *out = json_object_get_boolean(v) ? 1 : 0;
        if (*out >= min && *out <= max)
            return 0;
    } else if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        size_t n = (size_t)json_object_get_string_len(v);
        int64_t x = 0;
        size_t i = 0;
        for (; i < n && i < 10 && s[i] >= '0' && s[i] <= '9'; i++)
            x = x * 10 + (s[i] - '0');
        if (n > 0 && i == n && x >= min && x <= max) {
            *out = x;
            return 0;
        }
    }
    gw_build_fail(b, PM_ERR_VALIDATION, "%s must be a whole number from %lld to %lld", key,
                  (long long)min, (long long)max);
    return -1;
}

int gw_order_regno_build(const gw_input_t *in, gw_build_t *out)
{
    static const char *const fields[] = {"RegNumTypeId", "random_mode", "RegNumTypeName", NULL};
    assert(in && out);
    json_object *body = gw_json_parse_object(in->body, in->body_len, out);
    if (!body)
        return -1;
    int rc = -1;
    int64_t type_id = 0, random = 0;
    if (gw_json_only(body, "", fields, out) != 0)
        goto done;
    int got = s_int(body, "RegNumTypeId", 1, S_TYPE_ID_MAX, &type_id, out);
    if (got < 0)
        goto done;
    if (got == 1) {
        gw_build_fail(out, PM_ERR_VALIDATION, "RegNumTypeId is required: a number from 1");
        goto done;
    }
    got = s_int(body, "random_mode", 0, 1, &random, out);
    if (got < 0)
        goto done;
    if (got == 1) {
        gw_build_fail(out, PM_ERR_VALIDATION, "random_mode is required: 1 (random) or 0");
        goto done;
    }
    const char *name = NULL;
    size_t name_len = 0;
    json_object *v = NULL;
    if (json_object_object_get_ex(body, "RegNumTypeName", &v) && v) {
        if (!json_object_is_type(v, json_type_string)) {
            gw_build_fail(out, PM_ERR_VALIDATION, "RegNumTypeName must be a string");
            goto done;
        }
        name = json_object_get_string(v);
        name_len = (size_t)json_object_get_string_len(v);
        if (name_len > S_TYPE_NAME_MAX || !gw_utf8_valid(name, name_len) ||
            memchr(name, '\0', name_len)) {
            gw_build_fail(out, PM_ERR_VALIDATION, "RegNumTypeName must be text of at most %d bytes",
                          S_TYPE_NAME_MAX);
            goto done;
        }
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    pm_mp_pack_cstr(&pk, "type_id");
    msgpack_pack_int64(&pk, type_id);
    pm_mp_pack_cstr(&pk, "random");
    if (random)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    pm_mp_pack_cstr(&pk, "type_name");
    if (name_len > 0)
        pm_mp_pack_strn(&pk, name, name_len);
    else
        msgpack_pack_nil(&pk);
    out->type = PM_MSG_REGNO_GEN;
    out->err = PM_OK;
    rc = 0;
done:
    json_object_put(body);
    return rc;
}

int gw_order_regno_render(const msgpack_object *reply, gw_response_t *out)
{
    assert(reply && out);
    const char *regno;
    size_t len;
    if (gw_reply_str(reply, "reg_no", false, S_REGNO_MAX, &regno, &len) != 0)
        return -1;
    json_object *o = json_object_new_object();
    if (!o)
        return -1;
    json_object_object_add(o, "status", json_object_new_int(1));
    json_object_object_add(o, "data", gw_json_new_strn(regno, len));
    json_object_object_add(o, "message", json_object_new_string("Pred Reg_no generation"));
    return gw_json_finish(o, 200, out);
}
