/*  Unit tests of sb_fault: fault rules (parsing, matching, consumption) and
 *  the call log of the sandbox. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../sandbox/sb_fault.h"
#include "../../sandbox/sb_route.h"

static int s_parse(const char *text, sb_fault_t *f, char *err, size_t cap)
{
    json_object *o = sb_json_parse_object(text, strlen(text));
    int rc = sb_fault_from_json(o, f, err, cap);
    json_object_put(o);
    return rc;
}

static sb_fault_t s_rule(const char *text)
{
    sb_fault_t f;
    char err[160] = "";
    if (s_parse(text, &f, err, sizeof err) != 0)
        fail_msg("rule %s rejected: %s", text, err);
    return f;
}

static void test_parse_reads_every_kind_with_defaults(void **state)
{
    (void)state;
    sb_fault_t f = s_rule("{\"service\":\"bazaar\",\"kind\":\"delay\",\"delay_ms\":250}");
    assert_int_equal(f.kind, SB_FAULT_DELAY);
    assert_int_equal(f.remaining, 1);
    assert_int_equal(f.delay_ms, 250);
    assert_string_equal(f.match, "");
    f = s_rule("{\"service\":\"bazaar\",\"kind\":\"timeout\",\"count\":3}");
    assert_int_equal(f.kind, SB_FAULT_TIMEOUT);
    assert_int_equal(f.delay_ms, SB_FAULT_TIMEOUT_DEF_MS);
    assert_int_equal(f.remaining, 3);
    f = s_rule("{\"service\":\"bazaar\",\"kind\":\"status\",\"status\":503,\"match\":\"consume\"}");
    assert_int_equal(f.kind, SB_FAULT_STATUS);
    assert_int_equal(f.status, 503);
    assert_string_equal(f.match, "consume");
    f = s_rule("{\"service\":\"bazaar\",\"kind\":\"drop_response\",\"count\":1000}");
    assert_int_equal(f.kind, SB_FAULT_DROP);
    assert_int_equal(f.remaining, 1000);
}

static void test_parse_rejects_bad_rules(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"kind\":\"delay\",\"delay_ms\":1}",
        "{\"service\":\"paypal\",\"kind\":\"delay\",\"delay_ms\":1}",
        "{\"service\":\"bazaar\",\"kind\":\"explode\"}",
        "{\"service\":\"bazaar\",\"kind\":\"delay\"}",
        "{\"service\":\"bazaar\",\"kind\":\"delay\",\"delay_ms\":60001}",
        "{\"service\":\"bazaar\",\"kind\":\"delay\",\"delay_ms\":-1}",
        "{\"service\":\"bazaar\",\"kind\":\"delay\",\"delay_ms\":\"5\"}",
        "{\"service\":\"bazaar\",\"kind\":\"status\"}",
        "{\"service\":\"bazaar\",\"kind\":\"status\",\"status\":399}",
        "{\"service\":\"bazaar\",\"kind\":\"status\",\"status\":600}",
        "{\"service\":\"bazaar\",\"kind\":\"timeout\",\"status\":500}",
        "{\"service\":\"bazaar\",\"kind\":\"drop_response\",\"delay_ms\":5}",
        "{\"service\":\"bazaar\",\"kind\":\"drop_response\",\"count\":0}",
        "{\"service\":\"bazaar\",\"kind\":\"drop_response\",\"count\":1001}",
        "{\"service\":\"bazaar\",\"kind\":\"drop_response\",\"match\":7}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sb_fault_t f;
        char err[160] = "";
        if (s_parse(bad[i], &f, err, sizeof err) == 0)
            fail_msg("accepted %s", bad[i]);
        assert_true(err[0] != '\0');
    }
    sb_fault_t f;
    char err[160];
    assert_int_equal(sb_fault_from_json(NULL, &f, err, sizeof err), -1);
}

static void test_take_hits_next_n_matching_calls_then_stops(void **state)
{
    (void)state;
    sb_faults_t *faults = sb_faults_new();
    assert_non_null(faults);
    sb_fault_t r = s_rule("{\"service\":\"bazaar\",\"kind\":\"status\",\"status\":500,"
                          "\"count\":2,\"match\":\"consume\"}");
    assert_int_equal(sb_faults_add(faults, &r), 0);
    assert_int_equal(r.id, 1);

    sb_fault_t got;
    /* other paths and other services are untouched */
    assert_false(
        sb_faults_take(faults, "bazaar", "/devapi/v2/api/validate/p/inapp/s/purchases/t/", &got));
    assert_int_equal(got.kind, SB_FAULT_NONE);
    assert_false(sb_faults_take(faults, "bank", "/devapi/v2/api/consume/p/purchases/", &got));
    for (int i = 0; i < 2; i++) {
        assert_true(sb_faults_take(faults, "bazaar", "/devapi/v2/api/consume/p/purchases/", &got));
        assert_int_equal(got.kind, SB_FAULT_STATUS);
        assert_int_equal(got.status, 500);
    }
    assert_int_equal(sb_faults_count(faults), 0);
    assert_false(sb_faults_take(faults, "bazaar", "/devapi/v2/api/consume/p/purchases/", &got));
    sb_faults_destroy(&faults);
    sb_faults_destroy(&faults); /* safe twice */
    assert_null(faults);
}

static void test_take_uses_rules_in_order_of_addition(void **state)
{
    (void)state;
    sb_faults_t *faults = sb_faults_new();
    sb_fault_t a = s_rule("{\"service\":\"bazaar\",\"kind\":\"delay\",\"delay_ms\":10}");
    sb_fault_t b = s_rule("{\"service\":\"bazaar\",\"kind\":\"timeout\",\"match\":\"validate\"}");
    assert_int_equal(sb_faults_add(faults, &a), 0);
    assert_int_equal(sb_faults_add(faults, &b), 0);
    sb_fault_t got;
    assert_true(sb_faults_take(faults, "bazaar", "/devapi/v2/api/validate/x/", &got));
    assert_int_equal(got.kind, SB_FAULT_DELAY);
    assert_int_equal(got.id, a.id);
    assert_int_equal(sb_faults_count(faults), 1);
    assert_int_equal(sb_faults_at(faults, 0)->id, b.id);
    assert_true(sb_faults_take(faults, "bazaar", "/devapi/v2/api/validate/x/", &got));
    assert_int_equal(got.kind, SB_FAULT_TIMEOUT);
    assert_false(sb_faults_take(faults, "bazaar", "/devapi/v2/api/validate/x/", &got));
    sb_faults_destroy(&faults);
}

static void test_add_is_bounded_and_clear_empties(void **state)
{
    (void)state;
    sb_faults_t *faults = sb_faults_new();
    sb_fault_t r = s_rule("{\"service\":\"bazaar\",\"kind\":\"drop_response\"}");
    for (int i = 0; i < SB_FAULTS_MAX; i++)
        assert_int_equal(sb_faults_add(faults, &r), 0);
    assert_int_equal(sb_faults_add(faults, &r), -1);
    sb_faults_clear(faults);
    assert_int_equal(sb_faults_count(faults), 0);
    assert_int_equal(sb_faults_add(faults, &r), 0);
    sb_faults_destroy(&faults);
}

static void test_calls_ring_keeps_the_last_and_finishes_by_seq(void **state)
{
    (void)state;
    sb_calls_t *calls = sb_calls_new(3);
    uint64_t s1 = sb_calls_begin(calls, "bazaar", "GET", "/a", SB_FAULT_NONE, 1);
    uint64_t s2 = sb_calls_begin(calls, "bazaar", "POST", "/b", SB_FAULT_DROP, 2);
    sb_calls_finish(calls, s1, 200);
    assert_int_equal(sb_calls_count(calls), 2);
    assert_int_equal(sb_calls_at(calls, 0)->status, 200);
    assert_int_equal(sb_calls_at(calls, 1)->status, 0);
    assert_int_equal(sb_calls_at(calls, 1)->fault, SB_FAULT_DROP);
    sb_calls_begin(calls, "bazaar", "GET", "/c", SB_FAULT_NONE, 3);
    sb_calls_begin(calls, "bazaar", "GET", "/d", SB_FAULT_NONE, 4); /* forgets /a */
    assert_int_equal(sb_calls_count(calls), 3);
    assert_string_equal(sb_calls_at(calls, 0)->path, "/b");
    assert_string_equal(sb_calls_at(calls, 2)->path, "/d");
    sb_calls_finish(calls, s1, 500); /* forgotten: ignored */
    sb_calls_finish(calls, s2, 404);
    assert_int_equal(sb_calls_at(calls, 0)->status, 404);
    sb_calls_clear(calls);
    assert_int_equal(sb_calls_count(calls), 0);
    sb_calls_finish(calls, s2, 200); /* cleared: ignored */
    uint64_t s5 = sb_calls_begin(calls, "bazaar", "GET", "/e", SB_FAULT_NONE, 5);
    sb_calls_finish(calls, s2, 201);
    assert_int_equal(sb_calls_at(calls, 0)->status, 0);
    sb_calls_finish(calls, s5, 201);
    assert_int_equal(sb_calls_at(calls, 0)->status, 201);
    sb_calls_destroy(&calls);
    sb_calls_destroy(&calls);
}

static void test_calls_clip_long_paths(void **state)
{
    (void)state;
    char path[SB_CALL_PATH_MAX * 2];
    memset(path, 'x', sizeof path - 1);
    path[sizeof path - 1] = '\0';
    sb_calls_t *calls = sb_calls_new(1);
    sb_calls_begin(calls, "bazaar", "GET", path, SB_FAULT_NONE, 1);
    assert_int_equal(strlen(sb_calls_at(calls, 0)->path), SB_CALL_PATH_MAX);
    sb_calls_destroy(&calls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_reads_every_kind_with_defaults),
        cmocka_unit_test(test_parse_rejects_bad_rules),
        cmocka_unit_test(test_take_hits_next_n_matching_calls_then_stops),
        cmocka_unit_test(test_take_uses_rules_in_order_of_addition),
        cmocka_unit_test(test_add_is_bounded_and_clear_empties),
        cmocka_unit_test(test_calls_ring_keeps_the_last_and_finishes_by_seq),
        cmocka_unit_test(test_calls_clip_long_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
