/*  Unit tests of sb_random: the sandbox's seeded random fault mode
 *  (configuration parsing, the share and kinds of faults drawn, determinism
 *  by seed, counters, the JSON state). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../sandbox/sb_random.h"
#include "../../sandbox/sb_route.h"

static int s_parse(const char *text, sb_random_config_t *cfg, char *err, size_t cap)
{
    json_object *o = sb_json_parse_object(text, strlen(text));
    int rc = sb_random_config_from_json(o, cfg, err, cap);
    json_object_put(o);
    return rc;
}

static sb_random_config_t s_config(const char *text)
{
    sb_random_config_t cfg;
    char err[160] = "";
    if (s_parse(text, &cfg, err, sizeof err) != 0)
        fail_msg("config %s rejected: %s", text, err);
    return cfg;
}

static sb_random_t *s_mode(const char *text)
{
    sb_random_t *r = sb_random_new();
    assert_non_null(r);
    sb_random_config_t cfg = s_config(text);
    sb_random_set(r, &cfg);
    return r;
}

/* The JSON state as a parsed object the test owns. */
static json_object *s_state(const sb_random_t *r)
{
    json_object *o = sb_random_to_json(r);
    assert_non_null(o);
    return o;
}

static int64_t s_path_int(json_object *o, const char *a, const char *b)
{
    json_object *v = NULL;
    assert_true(json_object_object_get_ex(o, a, &v));
    if (b)
        assert_true(json_object_object_get_ex(v, b, &v));
    return json_object_get_int64(v);
}

static void test_parse_defaults(void **state)
{
    (void)state;
    sb_random_config_t c = s_config("{\"per_mille\":250}");
    assert_int_equal(c.per_mille, 250);
    assert_int_equal(c.seed, 1);
    assert_int_equal(c.kinds, 1u << SB_FAULT_TIMEOUT | 1u << SB_FAULT_STATUS | 1u << SB_FAULT_DROP);
    assert_int_equal(c.services, 0xfu);
    assert_int_equal(c.timeout_ms, 3000);
    assert_int_equal(c.delay_ms, 500);
    assert_int_equal(c.status, 503);

    c = s_config("{\"per_mille\":1000,\"seed\":9007199254740992,\"kinds\":[\"delay\",\"status\"],"
                 "\"services\":[\"tfeb\",\"bazaar\"],\"timeout_ms\":1,\"delay_ms\":0,"
                 "\"status\":599}");
    assert_int_equal(c.per_mille, 1000);
    assert_true(c.seed == UINT64_C(9007199254740992));
    assert_int_equal(c.kinds, 1u << SB_FAULT_DELAY | 1u << SB_FAULT_STATUS);
    assert_int_equal(c.services, 1u << sb_service_index("tfeb") | 1u << sb_service_index("bazaar"));
    assert_int_equal(c.timeout_ms, 1);
    assert_int_equal(c.delay_ms, 0);
    assert_int_equal(c.status, 599);
    c = s_config("{\"per_mille\":0,\"seed\":0,\"kinds\":null}");
    assert_int_equal(c.per_mille, 0);
    assert_int_equal(c.seed, 0);
    assert_int_equal(c.kinds, 1u << SB_FAULT_TIMEOUT | 1u << SB_FAULT_STATUS | 1u << SB_FAULT_DROP);
}

static void test_parse_rejects_bad_configs(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{}",
        "{\"per_mille\":null}",
        "{\"per_mille\":-1}",
        "{\"per_mille\":1001}",
        "{\"per_mille\":\"5\"}",
        "{\"per_mille\":5.5}",
        "{\"per_mille\":5,\"seed\":-1}",
        "{\"per_mille\":5,\"seed\":9007199254740993}",
        "{\"per_mille\":5,\"seed\":18446744073709551615}",
        "{\"per_mille\":5,\"seed\":1e3}",
        "{\"per_mille\":5,\"kinds\":[]}",
        "{\"per_mille\":5,\"kinds\":\"status\"}",
        "{\"per_mille\":5,\"kinds\":[\"explode\"]}",
        "{\"per_mille\":5,\"kinds\":[\"status\",\"status\"]}",
        "{\"per_mille\":5,\"kinds\":[7]}",
        "{\"per_mille\":5,\"services\":[]}",
        "{\"per_mille\":5,\"services\":[\"paypal\"]}",
        "{\"per_mille\":5,\"services\":[\"rbs\",\"rbs\"]}",
        "{\"per_mille\":5,\"timeout_ms\":0}",
        "{\"per_mille\":5,\"timeout_ms\":60001}",
        "{\"per_mille\":5,\"delay_ms\":-1}",
        "{\"per_mille\":5,\"delay_ms\":60001}",
        "{\"per_mille\":5,\"status\":499}",
        "{\"per_mille\":5,\"status\":600}",
        "{\"per_mille\":5,\"per_mile\":5}",
        "{\"per_mille\":5,\"count\":3}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sb_random_config_t c;
        char err[160] = "";
        if (s_parse(bad[i], &c, err, sizeof err) == 0)
            fail_msg("accepted %s", bad[i]);
        assert_true(err[0] != '\0');
    }
    sb_random_config_t c;
    char err[160] = "";
    assert_int_equal(sb_random_config_from_json(NULL, &c, err, sizeof err), -1);
    assert_true(err[0] != '\0');
}

static void test_off_draws_nothing_and_counts_nothing(void **state)
{
    (void)state;
    sb_random_t *r = sb_random_new();
    assert_non_null(r);
    assert_false(sb_random_enabled(r));
    sb_fault_t f;
    for (int i = 0; i < 100; i++)
        assert_false(sb_random_draw(r, "bazaar", &f));
    assert_int_equal(f.kind, SB_FAULT_NONE);
    json_object *o = s_state(r);
    assert_int_equal(s_path_int(o, "calls_seen", NULL), 0);
    assert_int_equal(s_path_int(o, "per_mille", NULL), 0);
    json_object_put(o);
    sb_random_destroy(&r);
    sb_random_destroy(&r); /* safe twice */
    assert_null(r);
}

static void test_all_or_nothing_with_exact_counters(void **state)
{
    (void)state;
    sb_random_t *r = s_mode("{\"per_mille\":1000,\"kinds\":[\"status\"],\"status\":502}");
    sb_fault_t f;
    for (int i = 0; i < 50; i++) {
        assert_true(sb_random_draw(r, i % 2 ? "bazaar" : "rbs", &f));
        assert_int_equal(f.kind, SB_FAULT_STATUS);
        assert_int_equal(f.status, 502);
        assert_int_equal(f.id, 0);
        assert_string_equal(f.service, i % 2 ? "bazaar" : "rbs");
    }
    json_object *o = s_state(r);
    assert_int_equal(s_path_int(o, "calls_seen", NULL), 50);
    assert_int_equal(s_path_int(o, "injected", "status"), 50);
    assert_int_equal(s_path_int(o, "injected", "timeout"), 0);
    json_object *by = json_object_object_get(o, "by_service");
    assert_int_equal(s_path_int(json_object_object_get(by, "bazaar"), "seen", NULL), 25);
    assert_int_equal(s_path_int(json_object_object_get(by, "rbs"), "injected", NULL), 25);
    assert_int_equal(s_path_int(json_object_object_get(by, "tfeb"), "seen", NULL), 0);
    json_object_put(o);

    /* setting it again resets the counters */
    sb_random_config_t cfg = s_config("{\"per_mille\":0}");
    sb_random_set(r, &cfg);
    for (int i = 0; i < 500; i++)
        assert_false(sb_random_draw(r, "tfeb", &f));
    o = s_state(r);
    assert_int_equal(s_path_int(o, "calls_seen", NULL), 500);
    assert_int_equal(s_path_int(o, "injected", "status"), 0);
    json_object_put(o);

    /* off: nothing more is seen, and the counters stay to be read */
    sb_random_off(r);
    assert_false(sb_random_draw(r, "tfeb", &f));
    o = s_state(r);
    assert_false(json_object_get_boolean(json_object_object_get(o, "enabled")));
    assert_int_equal(s_path_int(o, "calls_seen", NULL), 500);
    json_object_put(o);
    sb_random_destroy(&r);
}

static void test_only_selected_services_and_kinds(void **state)
{
    (void)state;
    sb_random_t *r = s_mode("{\"per_mille\":1000,\"services\":[\"bazaarpay\"],"
                            "\"kinds\":[\"delay\",\"timeout\"],\"delay_ms\":7,\"timeout_ms\":9}");
    sb_fault_t f;
    assert_false(sb_random_draw(r, "bazaar", &f));
    assert_false(sb_random_draw(r, "rbs", &f));
    int delays = 0, timeouts = 0;
    for (int i = 0; i < 200; i++) {
        assert_true(sb_random_draw(r, "bazaarpay", &f));
        if (f.kind == SB_FAULT_DELAY) {
            assert_int_equal(f.delay_ms, 7);
            delays++;
        } else {
            assert_int_equal(f.kind, SB_FAULT_TIMEOUT);
            assert_int_equal(f.delay_ms, 9);
            timeouts++;
        }
    }
    assert_true(delays > 50 && timeouts > 50); /* uniform among the two */
    json_object *o = s_state(r);
    assert_int_equal(s_path_int(o, "calls_seen", NULL), 200);
    assert_int_equal(s_path_int(o, "injected", "delay"), delays);
    assert_int_equal(s_path_int(o, "injected", "timeout"), timeouts);
    json_object_put(o);
    sb_random_destroy(&r);
}

static void test_share_is_close_to_per_mille(void **state)
{
    (void)state;
    sb_random_t *r = s_mode("{\"per_mille\":300,\"seed\":42}");
    sb_fault_t f;
    int hits = 0, drops = 0;
    for (int i = 0; i < 10000; i++)
        if (sb_random_draw(r, "tfeb", &f)) {
            hits++;
            assert_true(f.kind == SB_FAULT_TIMEOUT || f.kind == SB_FAULT_STATUS ||
                        f.kind == SB_FAULT_DROP);
            drops += f.kind == SB_FAULT_DROP;
        }
    assert_in_range(hits, 2800, 3200); /* mean 3000, sd ~46 */
    assert_in_range(drops, hits / 3 - 200, hits / 3 + 200);
    sb_random_destroy(&r);
}

/* The kinds of n draws as a string of digits (sb_fault_kind_t), '-' for
 * no fault. */
static void s_sequence(sb_random_t *r, int n, char *out)
{
    sb_fault_t f;
    for (int i = 0; i < n; i++)
        out[i] = sb_random_draw(r, i % 3 ? "bazaar" : "bazaarpay", &f) ? (char)('0' + f.kind) : '-';
    out[n] = '\0';
}

static void test_same_seed_same_faults(void **state)
{
    (void)state;
    const char *cfg = "{\"per_mille\":500,\"seed\":7,"
                      "\"kinds\":[\"timeout\",\"status\",\"drop_response\",\"delay\"]}";
    char a[201], b[201], c[201];
    sb_random_t *r = s_mode(cfg);
    s_sequence(r, 200, a);
    sb_random_destroy(&r);
    /* the order the kinds are written in does not matter */
    r = s_mode("{\"per_mille\":500,\"seed\":7,"
               "\"kinds\":[\"delay\",\"drop_response\",\"status\",\"timeout\"]}");
    s_sequence(r, 200, b);
    assert_string_equal(a, b);
    /* setting again starts the PRNG over */
    sb_random_config_t again = s_config(cfg);
    sb_random_set(r, &again);
    s_sequence(r, 200, b);
    assert_string_equal(a, b);
    sb_random_config_t other = s_config("{\"per_mille\":500,\"seed\":8,"
                                        "\"kinds\":[\"timeout\",\"status\",\"drop_response\","
                                        "\"delay\"]}");
    sb_random_set(r, &other);
    s_sequence(r, 200, c);
    assert_string_not_equal(a, c);
    for (int k = SB_FAULT_DELAY; k <= SB_FAULT_DROP; k++)
        assert_non_null(strchr(a, '0' + k)); /* every kind came up */
    sb_random_destroy(&r);
}

static void test_state_json_lists_config_in_order(void **state)
{
    (void)state;
    sb_random_t *r = s_mode("{\"per_mille\":10,\"seed\":3,\"kinds\":[\"delay\",\"timeout\"],"
                            "\"services\":[\"tfeb\",\"bazaar\"]}");
    json_object *o = s_state(r);
    assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                        "{\"enabled\":true,\"per_mille\":10,\"seed\":3,"
                        "\"kinds\":[\"timeout\",\"delay\"],\"services\":[\"bazaar\",\"tfeb\"],"
                        "\"timeout_ms\":3000,\"delay_ms\":500,\"status\":503,\"calls_seen\":0,"
                        "\"injected\":{\"timeout\":0,\"status\":0,\"drop_response\":0,"
                        "\"delay\":0},\"by_service\":{\"bazaar\":{\"seen\":0,\"injected\":0},"
                        "\"bazaarpay\":{\"seen\":0,\"injected\":0},\"rbs\":{\"seen\":0,"
                        "\"injected\":0},\"tfeb\":{\"seen\":0,\"injected\":0}}}");
    json_object_put(o);
    sb_random_destroy(&r);
}

static void test_fault_kind_and_service_names(void **state)
{
    (void)state;
    assert_int_equal(sb_fault_kind_from_name("drop_response"), SB_FAULT_DROP);
    assert_int_equal(sb_fault_kind_from_name("delay"), SB_FAULT_DELAY);
    assert_int_equal(sb_fault_kind_from_name("drop"), SB_FAULT_NONE);
    assert_int_equal(sb_service_index("bazaar"), 0);
    assert_int_equal(sb_service_index("tfeb"), SB_SERVICE_COUNT - 1);
    assert_int_equal(sb_service_index("paypal"), -1);
    for (int i = 0; i < SB_SERVICE_COUNT; i++)
        assert_int_equal(sb_service_index(sb_service_name(i)), i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_defaults),
        cmocka_unit_test(test_parse_rejects_bad_configs),
        cmocka_unit_test(test_off_draws_nothing_and_counts_nothing),
        cmocka_unit_test(test_all_or_nothing_with_exact_counters),
        cmocka_unit_test(test_only_selected_services_and_kinds),
        cmocka_unit_test(test_share_is_close_to_per_mille),
        cmocka_unit_test(test_same_seed_same_faults),
        cmocka_unit_test(test_state_json_lists_config_in_order),
        cmocka_unit_test(test_fault_kind_and_service_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
