/*  libFuzzer target: the BazaarPay merchant client's answer classifier
 *  (provider-bazaar/pb_bazaarpay.c): checkout/init/, trace/, commit/ and
 *  refund/, every transport outcome, and the DRF error-text reader. Any
 *  status and body must classify into a well-formed result, never crash.
 *  Input layout: fuzz_answer.h (byte 0: call % 4, and (selector / 4) % 2
 *  picks whether the init job has a phone: seed '4'). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../provider-bazaar/pb_bazaarpay.h"
#include "fuzz_answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_answer_t in;
    if (!fuzz_answer(data, size, PBP_CALLS, &in))
        return 0;
    pbp_call_t call = (pbp_call_t)in.call;
    const char *phone = (in.sel / PBP_CALLS) % 2 ? "09123456789" : NULL;
    pbp_answer_t a = {.transport = (pbp_transport_t)in.transport,
                      .error = in.transport == PBP_NO_ANSWER ? "Connection refused" : NULL,
                      .status = in.status,
                      .body = in.body,
                      .len = in.len};
    static pbp_result_t r;
    memset(&r, 0xA5, sizeof r);
    pbp_classify(call, &a, "https://shop.example/back?order=42&x=a b", phone, &r);
    FUZZ_CHECK(r.outcome == PB_OK || r.outcome == PB_REJECTED || r.outcome == PB_UNKNOWN);
    FUZZ_CHECK(fuzz_text_ok(r.reason, sizeof r.reason, PBP_REASON_MAX));
    FUZZ_CHECK(r.outcome != PB_OK || r.reason[0] == '\0');
    FUZZ_CHECK(r.outcome != PB_REJECTED || r.reason[0] != '\0');
    FUZZ_CHECK(call != PBP_TRACE || r.outcome != PB_REJECTED);
    if (r.outcome == PB_OK && call == PBP_INIT) {
        size_t n = strnlen(r.checkout_token, sizeof r.checkout_token);
        FUZZ_CHECK(pbp_token_valid(r.checkout_token, n));
        FUZZ_CHECK(strnlen(r.payment_url, sizeof r.payment_url) < sizeof r.payment_url);
        FUZZ_CHECK(strstr(r.payment_url, "redirect_url=") != NULL);
    }
    if (r.outcome == PB_OK && call == PBP_TRACE)
        FUZZ_CHECK(r.status[0] && strnlen(r.status, sizeof r.status) <= PBP_STATUS_MAX);

    /* The reason reader on its own, with a small buffer (cutting). */
    char text[24];
    if (pbp_error_text(in.body, in.len, text, sizeof text) == 0)
        FUZZ_CHECK(fuzz_text_ok(text, sizeof text, sizeof text - 1));
    return 0;
}
