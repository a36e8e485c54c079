/*  Unit tests of gw_ratelimit: the gateway's bounded table of failed
 *  authentications per client address (issue 13), and of pm_envguard's
 *  sandbox URL test the providers use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>

#include <cmocka.h>

#include "../../api-gateway/gw_ratelimit.h"
#include "pm_err.h"
#include "pm_envguard.h"

static void s_ip(uint32_t n, uint8_t key[4])
{
    key[0] = (uint8_t)(n >> 24), key[1] = (uint8_t)(n >> 16);
    key[2] = (uint8_t)(n >> 8), key[3] = (uint8_t)n;
}

static void test_blocks_after_limit_failures_then_expires(void **state)
{
    (void)state;
    gw_ratelimit_t *rl = gw_ratelimit_new(64, 3, 2000);
    assert_non_null(rl);
    uint8_t a[4], b[4];
    s_ip(0x7f000001, a);
    s_ip(0x7f000002, b);
    assert_int_equal(gw_ratelimit_blocked(rl, a, 4, 1000), 0);
    assert_int_equal(gw_ratelimit_fail(rl, a, 4, 1000), 0);
    assert_int_equal(gw_ratelimit_fail(rl, a, 4, 1100), 0);
    assert_int_equal(gw_ratelimit_blocked(rl, a, 4, 1150), 0); /* 2 of 3: not yet */
    assert_int_equal(gw_ratelimit_fail(rl, a, 4, 1200), 2000); /* the 3rd starts the block */
    assert_int_equal(gw_ratelimit_blocked(rl, a, 4, 1200), 2000);
    assert_int_equal(gw_ratelimit_blocked(rl, a, 4, 2700), 500);
    assert_int_equal(gw_ratelimit_blocked(rl, b, 4, 2700), 0); /* another address is free */
    /* The refused requests do not lengthen the block; it ends on time. */
    assert_int_equal(gw_ratelimit_blocked(rl, a, 4, 3199), 1);
    assert_int_equal(gw_ratelimit_blocked(rl, a, 4, 3200), 0);
    /* Afresh after the block: one failure does not block again. */
    assert_int_equal(gw_ratelimit_fail(rl, a, 4, 3300), 0);
    assert_int_equal(gw_ratelimit_blocked(rl, a, 4, 3300), 0);
    gw_ratelimit_destroy(&rl);
    assert_null(rl);
    gw_ratelimit_destroy(&rl); /* safe twice */
}

static void test_window_expiry_forgets_old_failures(void **state)
{
    (void)state;
    gw_ratelimit_t *rl = gw_ratelimit_new(64, 3, 1000);
    uint8_t a[4];
    s_ip(0x0a000001, a);
    assert_int_equal(gw_ratelimit_fail(rl, a, 4, 0), 0);
    assert_int_equal(gw_ratelimit_fail(rl, a, 4, 500), 0);
    assert_int_equal(gw_ratelimit_used(rl, 999), 1);
    assert_int_equal(gw_ratelimit_used(rl, 1000), 0); /* the window passed */
    /* A window that passed restarts the count: two more are not three. */
    assert_int_equal(gw_ratelimit_fail(rl, a, 4, 1000), 0);
    assert_int_equal(gw_ratelimit_fail(rl, a, 4, 1100), 0);
    assert_int_equal(gw_ratelimit_blocked(rl, a, 4, 1100), 0);
    assert_int_equal(gw_ratelimit_fail(rl, a, 4, 1200), 1000);
    assert_true(gw_ratelimit_blocked(rl, a, 4, 1200) > 0);
    gw_ratelimit_destroy(&rl);
}

static void test_bounded_table_evicts_least_recently_used(void **state)
{
    (void)state;
    /* Capacity GW_RL_WAYS: one set, so every address competes. */
    gw_ratelimit_t *rl = gw_ratelimit_new(GW_RL_WAYS, 2, 60000);
    uint8_t k[4];
    for (uint32_t i = 0; i < GW_RL_WAYS; i++) {
        s_ip(i + 1, k);
        assert_int_equal(gw_ratelimit_fail(rl, k, 4, 10 + i), 0);
    }
    assert_int_equal(gw_ratelimit_used(rl, 100), GW_RL_WAYS);
    s_ip(1, k); /* address 1 is touched again: now 2 is the oldest */
    assert_int_equal(gw_ratelimit_fail(rl, k, 4, 100), 60000); /* and blocked */
    s_ip(1000, k);
    assert_int_equal(gw_ratelimit_fail(rl, k, 4, 200), 0); /* evicts address 2 */
    assert_int_equal(gw_ratelimit_used(rl, 200), GW_RL_WAYS);
    s_ip(2, k);
    assert_int_equal(gw_ratelimit_fail(rl, k, 4, 300), 0); /* afresh: 1 of 2 (evicts 3) */
    s_ip(3, k);
    assert_int_equal(gw_ratelimit_fail(rl, k, 4, 400), 0); /* 3 was evicted too */
    s_ip(1, k);
    assert_int_equal(gw_ratelimit_blocked(rl, k, 4, 400), 60000 - 300); /* kept */

    /* A flood of new addresses never evicts a blocked one. */
    for (uint32_t i = 0; i < 10 * GW_RL_WAYS; i++) {
        s_ip(5000 + i, k);
        gw_ratelimit_fail(rl, k, 4, 500 + i);
    }
    s_ip(1, k);
    assert_true(gw_ratelimit_blocked(rl, k, 4, 1000) > 0);
    assert_int_equal(gw_ratelimit_used(rl, 1000), GW_RL_WAYS);
    gw_ratelimit_destroy(&rl);
}

static void test_large_table_keeps_many_addresses(void **state)
{
    (void)state;
    gw_ratelimit_t *rl = gw_ratelimit_new(4096, 1, 60000);
    uint8_t k[4];
    for (uint32_t i = 0; i < 100000; i++) {
        s_ip(i, k);
        gw_ratelimit_fail(rl, k, 4, 1);
    }
    assert_int_equal(gw_ratelimit_used(rl, 2), 4096); /* bounded */
    gw_ratelimit_destroy(&rl);
}

static void test_limit_zero_is_off(void **state)
{
    (void)state;
    gw_ratelimit_t *rl = gw_ratelimit_new(64, 0, 1000);
    uint8_t a[4] = {1, 2, 3, 4};
    for (int i = 0; i < 100; i++)
        assert_int_equal(gw_ratelimit_fail(rl, a, 4, i), 0);
    assert_int_equal(gw_ratelimit_blocked(rl, a, 4, 100), 0);
    assert_int_equal(gw_ratelimit_blocked(NULL, a, 4, 100), 0);
    assert_int_equal(gw_ratelimit_fail(rl, a, 0, 100), 0); /* no key: not counted */
    gw_ratelimit_destroy(&rl);
}

static void test_keys_of_addresses(void **state)
{
    (void)state;
    uint8_t k[GW_RL_KEY_MAX], k2[GW_RL_KEY_MAX];
    struct sockaddr_in in = {.sin_family = AF_INET};
    inet_pton(AF_INET, "192.0.2.7", &in.sin_addr);
    assert_int_equal(gw_ratelimit_key(&in, k), 4);
    assert_memory_equal(k, "\xc0\x00\x02\x07", 4);
    struct sockaddr_in6 m = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:192.0.2.7", &m.sin6_addr);
    assert_int_equal(gw_ratelimit_key(&m, k2), 4); /* IPv4-mapped: the same key */
    assert_memory_equal(k, k2, 4);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6}, b = a;
    inet_pton(AF_INET6, "2001:db8:1:2::1", &a.sin6_addr);
    inet_pton(AF_INET6, "2001:db8:1:2:ffff::9", &b.sin6_addr);
    assert_int_equal(gw_ratelimit_key(&a, k), 8);
    assert_int_equal(gw_ratelimit_key(&b, k2), 8);
    assert_memory_equal(k, k2, 8); /* one /64, one key */
    struct sockaddr un = {.sa_family = AF_UNIX};
    assert_int_equal(gw_ratelimit_key(&un, k), 0);
    assert_int_equal(gw_ratelimit_key(NULL, k), 0);
}

typedef struct {
    gw_ratelimit_t *rl;
    uint32_t base;
} s_worker_arg_t;

static void *s_worker(void *arg)
{
    s_worker_arg_t *w = arg;
    uint8_t k[4];
    for (uint32_t i = 0; i < 20000; i++) {
        s_ip(w->base + i % 300, k);
        gw_ratelimit_fail(w->rl, k, 4, i);
        gw_ratelimit_blocked(w->rl, k, 4, i);
    }
    return NULL;
}

static void test_shared_by_threads(void **state)
{
    (void)state;
    gw_ratelimit_t *rl = gw_ratelimit_new(256, 50, 100000);
    pthread_t t[4];
    s_worker_arg_t args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (s_worker_arg_t){rl, 0}; /* the same addresses from every thread */
        assert_int_equal(pthread_create(&t[i], NULL, s_worker, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_true(gw_ratelimit_used(rl, 20000) <= 256);
    gw_ratelimit_destroy(&rl);
}

static void test_rate_limited_error_code(void **state)
{
    (void)state;
    assert_string_equal(pm_err_code(PM_ERR_RATE_LIMITED), "rate_limited");
    assert_int_equal(pm_err_http_status(PM_ERR_RATE_LIMITED), 429);
}

static void test_envguard_sandbox_urls(void **state)
{
    (void)state;
    static const char *sandbox[] = {
        "http://127.0.0.1:8090/devapi/v2/",
        "http://localhost:8090/badje/v1/",
        "http://LOCALHOST./x/",
        "http://sandbox:8090/payment/rest/",
        "http://[::1]:8090/x/",
        "https://127.5.6.7/x/",
        "https://pay.example.com/sandbox/",
        "https://pay.example.com/api/sandbox/v1/",
        "https://user:pw@localhost/x/",
        "http://0.0.0.0:8090/x/",
    };
    static const char *real[] = {
        "https://pardakht.cafebazaar.ir/devapi/v2/",
        "https://api.bazaar-pay.ir/badje/v1/",
        "https://mpi.gov.tm/payment/rest/",
        "https://ecomt.tfeb.gov.tm/OrderProcessing_TURK/v1/",
        "https://sandboxed.example.com/x/",
        "https://pay.example.com/sandboxes/",
        "https://sandbox@pay.example.com/x/",
    };
    for (size_t i = 0; i < sizeof sandbox / sizeof sandbox[0]; i++)
        assert_true(pm_envguard_url_is_sandbox(sandbox[i]));
    for (size_t i = 0; i < sizeof real / sizeof real[0]; i++)
        assert_false(pm_envguard_url_is_sandbox(real[i]));
    bool prod = false;
    assert_int_equal(pm_envguard_environment("t", "production", &prod), 0);
    assert_true(prod);
    assert_int_equal(pm_envguard_environment("t", "sandbox", &prod), 0);
    assert_false(prod);
    assert_int_equal(pm_envguard_environment("t", "staging", &prod), -1);
    assert_int_equal(pm_envguard_url("t", false, "x-url", sandbox[0]), 0);
    assert_int_equal(pm_envguard_url("t", true, "x-url", sandbox[0]), -1);
    assert_int_equal(pm_envguard_url("t", true, "x-url", real[0]), 0);
    assert_int_equal(pm_envguard_secret("t", true, "x-secret", "sandbox-secret", "sandbox-secret"),
                     -1);
    assert_int_equal(pm_envguard_secret("t", true, "x-secret", "real", "sandbox-secret"), 0);
    assert_int_equal(pm_envguard_secret("t", false, "x-secret", "sandbox-secret", "sandbox-secret"),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_after_limit_failures_then_expires),
        cmocka_unit_test(test_window_expiry_forgets_old_failures),
        cmocka_unit_test(test_bounded_table_evicts_least_recently_used),
        cmocka_unit_test(test_large_table_keeps_many_addresses),
        cmocka_unit_test(test_limit_zero_is_off),
        cmocka_unit_test(test_keys_of_addresses),
        cmocka_unit_test(test_shared_by_threads),
        cmocka_unit_test(test_rate_limited_error_code),
        cmocka_unit_test(test_envguard_sandbox_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
