/*  Shared by fuzz_rbs and fuzz_tfeb: a fuzz_answer_t as a pbk_answer_t, and
 *  the checks every classified bank result must pass (pbk_wire.h). */
#ifndef FUZZ_BANK_H
#define FUZZ_BANK_H
#include <string.h>

#include "../../provider-bank/pbk_wire.h"
#include "fuzz_answer.h"

static inline pbk_answer_t fuzz_bank_answer(const fuzz_answer_t *in)
{
    return (pbk_answer_t){.transport = (pbk_transport_t)in->transport,
                          .error = in->transport == PBK_NO_ANSWER ? "Connection refused" : NULL,
                          .status = in->status,
                          .body = in->body,
                          .len = in->len};
}

static inline void fuzz_bank_check(pbk_call_t call, const pbk_result_t *r)
{
    FUZZ_CHECK(r->outcome == PBK_OK || r->outcome == PBK_REJECTED || r->outcome == PBK_UNKNOWN);
    FUZZ_CHECK(fuzz_text_ok(r->reason, sizeof r->reason, PBK_REASON_MAX));
    FUZZ_CHECK(pbk_text_valid(r->reason, strlen(r->reason)));
    FUZZ_CHECK(r->outcome != PBK_REJECTED || r->reason[0] != '\0');
    FUZZ_CHECK(strnlen(r->code, sizeof r->code) < sizeof r->code);
    FUZZ_CHECK(strnlen(r->order_id, sizeof r->order_id) < sizeof r->order_id);
    FUZZ_CHECK(strnlen(r->checkout_url, sizeof r->checkout_url) < sizeof r->checkout_url);
    if (r->outcome == PBK_OK && call == PBK_REGISTER) {
        FUZZ_CHECK(pbk_order_id_valid(r->order_id, strlen(r->order_id)));
        FUZZ_CHECK(
            pbk_http_url_valid(r->checkout_url, strlen(r->checkout_url), PBK_CHECKOUT_URL_MAX));
    }
    if (r->outcome == PBK_OK && call == PBK_STATUS)
        FUZZ_CHECK(r->state != PBK_STATE_NONE && pbk_state_name(r->state)[0]);
    if (r->outcome != PBK_OK || call != PBK_STATUS)
        FUZZ_CHECK(r->state == PBK_STATE_NONE);
    if (r->has_amount)
        FUZZ_CHECK(r->amount_minor >= 0);
    if (r->has_refunded)
        FUZZ_CHECK(r->refunded_minor >= 0);
}

#endif
