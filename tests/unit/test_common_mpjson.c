/* pm_mp_to_json: the JSON that paymentctl prints and the admin page gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pm_mpjson.h"

static char s_json[512];

/* Converts the msgpack bytes in buf; returns ok and writes the JSON text. */
static bool s_convert(const msgpack_sbuffer *buf, int depth)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, buf->data, buf->size, &off), MSGPACK_UNPACK_SUCCESS);
    bool ok = false;
    json_object *j = pm_mp_to_json(&u.data, depth, &ok);
    snprintf(s_json, sizeof s_json, "%s",
             ok ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN) : "");
    json_object_put(j);
    msgpack_unpacked_destroy(&u);
    return ok;
}

static void test_scalars_maps_and_arrays(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 7);
    msgpack_pack_str_with_body(&pk, "s", 1);
    msgpack_pack_str_with_body(&pk, "a\"b", 3);
    msgpack_pack_str_with_body(&pk, "big", 3);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    msgpack_pack_str_with_body(&pk, "neg", 3);
    msgpack_pack_int64(&pk, -5);
    msgpack_pack_str_with_body(&pk, "nil", 3);
    msgpack_pack_nil(&pk);
    msgpack_pack_str_with_body(&pk, "list", 4);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_true(&pk);
    msgpack_pack_bin_with_body(&pk, "xy", 2); /* a bin: null */
    msgpack_pack_int(&pk, 7);                 /* an int key: left out */
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str_with_body(&pk, "m", 1);
    msgpack_pack_map(&pk, 0);
    assert_true(s_convert(&buf, 4));
    assert_string_equal(s_json, "{\"s\":\"a\\\"b\",\"big\":18446744073709551615,\"neg\":-5,"
                                "\"nil\":null,\"list\":[true,null],\"m\":{}}");
    msgpack_sbuffer_destroy(&buf);
}

static void test_depth_is_bounded(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    for (int i = 0; i < 5; i++)
        msgpack_pack_array(&pk, 1);
    msgpack_pack_int(&pk, 1);
    assert_true(s_convert(&buf, 5));
    assert_string_equal(s_json, "[[[[[1]]]]]");
    assert_false(s_convert(&buf, 4));
    msgpack_sbuffer_destroy(&buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars_maps_and_arrays),
        cmocka_unit_test(test_depth_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
