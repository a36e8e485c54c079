/*  libFuzzer target: the Cafe Bazaar developer API client's answer parsers
 *  (provider-bazaar/pb_bazaar.c): validate, consume and auth/token/. Any
 *  status and body must classify into a well-formed result, never crash.
 *  Input layout: fuzz_answer.h. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../provider-bazaar/pb_bazaar.h"
#include "fuzz_answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_check(const pb_result_t *r, bool consume)
{
    FUZZ_CHECK(r->outcome == PB_OK || r->outcome == PB_REJECTED || r->outcome == PB_UNKNOWN);
    FUZZ_CHECK(fuzz_text_ok(r->reason, sizeof r->reason, PB_REASON_MAX));
    /* ok has no reason, but for a consume whose 400 said already_consumed */
    FUZZ_CHECK(r->outcome != PB_OK || r->reason[0] == '\0' ||
               (consume && strcmp(r->reason, "already_consumed") == 0));
    FUZZ_CHECK(r->outcome != PB_REJECTED || r->reason[0] != '\0');
    FUZZ_CHECK(!r->auth_failed || r->outcome == PB_UNKNOWN);
    if (r->has_payload)
        FUZZ_CHECK(strnlen(r->developer_payload, sizeof r->developer_payload) <= PB_PAYLOAD_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_answer_t a;
    if (!fuzz_answer(data, size, 3, &a))
        return 0;
    static pb_result_t r;
    memset(&r, 0xA5, sizeof r); /* the classifiers must set every field they promise */
    switch (a.call) {
    case 0:
        pb_classify_validate(a.status, a.body, a.len, &r);
        s_check(&r, false);
        break;
    case 1:
        pb_classify_consume(a.status, a.body, a.len, &r);
        s_check(&r, true);
        break;
    default: {
        static char token[PB_TOKEN_MAX + 1];
        int64_t exp = -1;
        const char *why = NULL;
        if (pb_token_parse(a.status, a.body, a.len, token, sizeof token, &exp, &why) == 0) {
            size_t n = strnlen(token, sizeof token);
            FUZZ_CHECK(n >= 1 && n <= PB_TOKEN_MAX && exp > 0);
            static pb_token_cache_t c;
            pb_token_cache_set(&c, token, exp, 1000);
            FUZZ_CHECK(pb_token_cache_get(&c, 1000) != NULL);
            pb_token_cache_invalidate(&c, token);
            FUZZ_CHECK(pb_token_cache_get(&c, 1000) == NULL);
        } else {
            FUZZ_CHECK(why && token[0] == '\0');
        }
        break;
    }
    }
    return 0;
}
