/*  gw_metrics: request counters and the Prometheus text (no sockets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../api-gateway/gw_metrics.h"
#include "../../api-gateway/gw_route.h"
#include "pm_envelope.h"
#include "pm_proto.h"

static const gw_route_t *s_row(const char *method, const char *pattern)
{
    for (size_t i = 0; i < gw_route_count; i++)
        if (strcmp(gw_routes[i].method, method) == 0 && strcmp(gw_routes[i].pattern, pattern) == 0)
            return &gw_routes[i];
    fail_msg("no row %s %s", method, pattern);
    return NULL;
}

static char *s_text(const msgpack_object *core)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(gw_metrics_text(core, &text, &len), 0);
    assert_int_equal(strlen(text), len);
    return text;
}

/* The value of the sample line that starts with "sample ", or -1. */
static double s_value(const char *text, const char *sample)
{
    size_t n = strlen(sample);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, sample, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

static void test_counts_by_route_and_class(void **state)
{
    (void)state;
    gw_metrics_reset();
    const gw_route_t *hz = s_row("GET", "/healthz");
    gw_metrics_observe(hz, 200, 100);
    gw_metrics_observe(hz, 200, 3000);
    gw_metrics_observe(hz, 503, 20000000); /* 20 s: only +Inf */
    gw_metrics_observe(NULL, 404, 10);
    char *t = s_text(NULL);
    assert_true(s_value(t, "paymesh_http_requests_total{method=\"GET\",route=\"/healthz\","
                           "code=\"2xx\"}") == 2);
    assert_true(s_value(t, "paymesh_http_requests_total{method=\"GET\",route=\"/healthz\","
                           "code=\"5xx\"}") == 1);
    assert_true(
        s_value(t, "paymesh_http_requests_total{method=\"\",route=\"unmatched\",code=\"4xx\"}") ==
        1);
    const char *b =
        "paymesh_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",";
    char key[256];
    snprintf(key, sizeof key, "%sle=\"0.0005\"}", b);
    assert_true(s_value(t, key) == 1);
    snprintf(key, sizeof key, "%sle=\"0.005\"}", b);
    assert_true(s_value(t, key) == 2);
    snprintf(key, sizeof key, "%sle=\"10\"}", b);
    assert_true(s_value(t, key) == 2);
    snprintf(key, sizeof key, "%sle=\"+Inf\"}", b);
    assert_true(s_value(t, key) == 3);
    assert_true(s_value(t, "paymesh_http_request_duration_seconds_count{method=\"GET\","
                           "route=\"/healthz\"}") == 3);
    double sum = s_value(t, "paymesh_http_request_duration_seconds_sum{method=\"GET\","
                            "route=\"/healthz\"}");
    assert_true(sum > 20.0030 && sum < 20.0032);
    assert_true(s_value(t, "paymesh_core_up") == 0);
    assert_null(strstr(t, "paymesh_lmdb")); /* no core figures without a reply */
    free(t);
}

static void test_buckets_cumulative(void **state)
{
    (void)state;
    gw_metrics_reset();
    const gw_route_t *r = s_row("GET", "/metrics");
    for (int64_t us = 1; us < 30000000; us *= 3)
        gw_metrics_observe(r, 200, us);
    char *t = s_text(NULL);
    double last = -1;
    int n = 0;
    const char *pre =
        "paymesh_http_request_duration_seconds_bucket{method=\"GET\",route=\"/metrics\"";
    for (char *p = t; (p = strstr(p, pre)) != NULL; p++) {
        double v = strtod(strchr(p, ' ') + 1, NULL);
        assert_true(v >= last);
        last = v;
        n++;
    }
    assert_int_equal(n, GW_METRICS_LATENCY_BUCKETS);
    free(t);
}

static void test_core_figures(void **state)
{
    (void)state;
    gw_metrics_reset();
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 8);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, 0);
    pm_mp_pack_cstr(&pk, "batch_le_1");
    msgpack_pack_uint64(&pk, 4);
    pm_mp_pack_cstr(&pk, "batch_le_inf");
    msgpack_pack_uint64(&pk, 5);
    pm_mp_pack_cstr(&pk, "batches");
    msgpack_pack_uint64(&pk, 5);
    pm_mp_pack_cstr(&pk, "commit_us_total");
    msgpack_pack_uint64(&pk, 2500000);
    pm_mp_pack_cstr(&pk, "job_bazaar_ok");
    msgpack_pack_uint64(&pk, 7);
    pm_mp_pack_cstr(&pk, "job_bank_latency_ms_sum");
    msgpack_pack_uint64(&pk, 1500);
    pm_mp_pack_cstr(&pk, "db_map_used_pct");
    msgpack_pack_double(&pk, 12.5);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    char *t = s_text(&u.data);
    assert_true(s_value(t, "paymesh_core_up") == 1);
    assert_true(s_value(t, "paymesh_core_batch_size_bucket{le=\"1\"}") == 4);
    assert_true(s_value(t, "paymesh_core_batch_size_bucket{le=\"+Inf\"}") == 5);
    assert_true(s_value(t, "paymesh_core_batch_size_count") == 5);
    assert_true(s_value(t, "paymesh_core_commit_seconds_total") == 2.5);
    assert_true(
        s_value(t, "paymesh_provider_job_results_total{provider=\"bazaar\",outcome=\"ok\"}") == 7);
    assert_true(s_value(t, "paymesh_provider_job_latency_seconds_sum{provider=\"bank\"}") == 1.5);
    assert_true(s_value(t, "paymesh_lmdb_map_used_percent") == 12.5);
    /* absent keys (an older core) leave their samples out, and each family's
     * TYPE line comes once, before its samples */
    assert_true(s_value(t, "paymesh_core_batch_size_bucket{le=\"2\"}") == -1);
    const char *type = strstr(t, "# TYPE paymesh_core_batch_size histogram\n");
    assert_non_null(type);
    assert_null(strstr(type + 1, "# TYPE paymesh_core_batch_size "));
    assert_true(type < strstr(t, "paymesh_core_batch_size_bucket"));
    assert_non_null(strstr(t, "# TYPE paymesh_provider_job_latency_seconds summary\n"));
    free(t);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void test_routes(void **state)
{
    (void)state;
    const gw_route_t *hz = s_row("GET", "/healthz"), *rz = s_row("GET", "/readyz"),
                     *m = s_row("GET", "/metrics");
    assert_null(hz->build); /* answered by the gateway alone */
    assert_false(gw_metrics_public(hz));
    assert_true(gw_metrics_public(rz));
    assert_true(gw_metrics_public(m));
    assert_false(gw_metrics_public(s_row("POST", "/api/v1/payment/create")));
    assert_false(gw_metrics_public(NULL));
    assert_string_equal(gw_metrics_content_type(m), GW_METRICS_CONTENT_TYPE);
    assert_string_equal(gw_metrics_content_type(rz), "application/json");
    assert_string_equal(gw_metrics_content_type(NULL), "application/json");

    gw_response_t r = {0};
    assert_int_equal(gw_healthz_render(NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.json, "{\"status\":\"ok\"}");
    gw_response_clear(&r);
    assert_int_equal(gw_readyz_render(NULL, NULL, &r), 0);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.json, "\"core\":\"unreachable\""));
    gw_response_clear(&r);

    gw_build_t b;
    gw_build_init(&b);
    gw_input_t in = {0};
    assert_int_equal(gw_readyz_build(&in, &b), 0);
    assert_int_equal(b.type, PM_MSG_HEALTH);
    gw_build_destroy(&b);
    gw_build_init(&b);
    assert_int_equal(gw_metrics_build(&in, &b), 0);
    assert_int_equal(b.type, PM_MSG_METRICS);
    gw_build_destroy(&b);

    /* a store that is nearly full */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, 0);
    pm_mp_pack_cstr(&pk, "writable");
    msgpack_pack_false(&pk);
    pm_mp_pack_cstr(&pk, "map_used_pct");
    msgpack_pack_double(&pk, 97.5);
    pm_mp_pack_cstr(&pk, "reason");
    pm_mp_pack_cstr(&pk, "map_nearly_full");
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(gw_readyz_render(NULL, &u.data, &r), 0);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.json, "\"storage\":\"not_writable\""));
    assert_non_null(strstr(r.json, "\"reason\":\"map_nearly_full\""));
    gw_response_clear(&r);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_by_route_and_class),
        cmocka_unit_test(test_buckets_cumulative),
        cmocka_unit_test(test_core_figures),
        cmocka_unit_test(test_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
