/*  libFuzzer target: the TFEB (TSYS OrderProcessing) client's answer
 *  parsers (provider-bank/pbk_tfeb.c): the OAuth2 token answer and the
 *  register, status and refund answers, every transport outcome. Any
 *  status and body must give a well-formed result, never crash. Input
 *  layout: fuzz_answer.h (byte 0 % 4: 0 register, 1 status, 2 refund,
 *  3 token). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../provider-bank/pbk_tfeb.h"
#include "fuzz_answer.h"
#include "fuzz_bank.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const pbk_call_t s_calls[] = {PBK_REGISTER, PBK_STATUS, PBK_REFUND};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_answer_t in;
    if (!fuzz_answer(data, size, 4, &in))
        return 0;
    pbk_answer_t a = fuzz_bank_answer(&in);
    if (in.call < 3) {
        static pbk_result_t r;
        memset(&r, 0xA5, sizeof r);
        pbk_tfeb_classify(s_calls[in.call], &a, &r);
        fuzz_bank_check(s_calls[in.call], &r);
        return 0;
    }
    static char token[PBK_TFEB_TOKEN_MAX + 1];
    char why[PBK_REASON_MAX + 1];
    int64_t exp = -1;
    if (pbk_tfeb_token_parse(&a, token, sizeof token, &exp, why, sizeof why) == 0) {
        size_t n = strnlen(token, sizeof token);
        FUZZ_CHECK(n >= 1 && n <= PBK_TFEB_TOKEN_MAX && exp > 0);
        static pbk_tfeb_token_cache_t c;
        pbk_tfeb_token_cache_set(&c, token, exp, 1000);
        FUZZ_CHECK(pbk_tfeb_token_cache_get(&c, 1000) != NULL);
        pbk_tfeb_token_cache_invalidate(&c, token);
        FUZZ_CHECK(pbk_tfeb_token_cache_get(&c, 1000) == NULL);
    } else {
        FUZZ_CHECK(token[0] == '\0' && fuzz_text_ok(why, sizeof why, PBK_REASON_MAX) && why[0]);
    }
    return 0;
}
