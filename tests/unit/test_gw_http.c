/*  Unit tests of gw_http's pure part: which request headers carry the API
 *  token, and what of their value is the token. (Several headers that
 *  disagree, and the answers, are tested end to end in t_auth.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../api-gateway/gw_http.h"

/* Expects the header to carry want (NULL: no token). */
static void s_token(const char *key, const char *value, const char *want)
{
    size_t len = 99;
    const char *t = gw_http_header_token(key, value, &len);
    if (!want) {
        if (t)
            fail_msg("%s: %s gave a token '%.*s'", key, value, (int)len, t);
        assert_int_equal(len, 0);
        return;
    }
    if (!t)
        fail_msg("%s: %s gave no token", key, value);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(t, want, len);
}

static void test_x_auth_token_headers(void **state)
{
    (void)state;
    s_token("x_auth_token", "abc", "abc");
    s_token("X_AUTH_TOKEN", "abc", "abc");
    s_token("X-Auth-Token", "abc", "abc");
    s_token("x-auth-token", " \tabc def\t ", "abc def");
    s_token("x_auth_token", "", NULL);
    s_token("x_auth_token", " \t ", NULL);
    /* The value is the token: a scheme word is part of it here. */
    s_token("x_auth_token", "Bearer abc", "Bearer abc");
}

static void test_authorization_bearer(void **state)
{
    (void)state;
    s_token("Authorization", "Bearer abc", "abc");
    s_token("authorization", "bearer abc", "abc");
    s_token("Authorization", "BEARER   abc  ", "abc");
    s_token("Authorization", "Bearer ", NULL);
    s_token("Authorization", "Bearer", NULL);
    s_token("Authorization", "Bearerabc", NULL);
}

/* Django REST Framework's TokenAuthentication form, which the seeds' own
 * APIs use. */
static void test_authorization_token(void **state)
{
    (void)state;
    s_token("Authorization", "Token abc", "abc");
    s_token("Authorization", "token abc", "abc");
    s_token("AUTHORIZATION", "TOKEN \tabc\t", "abc");
    s_token("Authorization", "Token ", NULL);
    s_token("Authorization", "Token", NULL);
    s_token("Authorization", "Tokenabc", NULL);
    s_token("Authorization", "Token  ", NULL);
}

static void test_other_headers_and_schemes_carry_none(void **state)
{
    (void)state;
    s_token("Authorization", "Basic YWxpY2U6eA==", NULL);
    s_token("Authorization", "abc", NULL);
    s_token("Authorization", "", NULL);
    s_token("Proxy-Authorization", "Bearer abc", NULL);
    s_token("X-Token", "abc", NULL);
    s_token("Cookie", "x_auth_token=abc", NULL);
    s_token(NULL, "abc", NULL);
    s_token("x_auth_token", NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x_auth_token_headers),
        cmocka_unit_test(test_authorization_bearer),
        cmocka_unit_test(test_authorization_token),
        cmocka_unit_test(test_other_headers_and_schemes_carry_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
