/*  libFuzzer target: the Halkbank (BPC RBS) client's answer classifier
 *  (provider-bank/pbk_rbs.c): register, getOrderStatusExtended, deposit,
 *  reverse and refund, every transport outcome. Any status and body must
 *  classify into a well-formed result, never crash. Input layout:
 *  fuzz_answer.h (byte 0: call % 5). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../provider-bank/pbk_rbs.h"
#include "fuzz_answer.h"
#include "fuzz_bank.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_answer_t in;
    if (!fuzz_answer(data, size, PBK_CALLS, &in))
        return 0;
    pbk_answer_t a = fuzz_bank_answer(&in);
    static pbk_result_t r;
    memset(&r, 0xA5, sizeof r);
    pbk_rbs_classify((pbk_call_t)in.call, &a, &r);
    fuzz_bank_check((pbk_call_t)in.call, &r);
    return 0;
}
