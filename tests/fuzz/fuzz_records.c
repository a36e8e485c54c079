/*  libFuzzer target: payment-core's stored-record decoders (payments,
 *  catalog packages, purchases, checkouts, jobs). A corrupt record must be
 *  refused with a reason, never crash. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "../../payment-core/catalog.h"
#include "../../payment-core/checkout.h"
#include "../../payment-core/jobs.h"
#include "../../payment-core/payment.h"
#include "../../payment-core/purchase.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    payment_t pay;
    if (payment_decode(data, size, &pay, &why) != 0)
        assert(why);
    catalog_package_t pkg;
    why = NULL;
    if (catalog_decode(data, size, &pkg, &why) != 0)
        assert(why);
    purchase_t pur;
    why = NULL;
    if (purchase_decode(data, size, &pur, &why) != 0)
        assert(why);
    static checkout_t co; /* large: not on the stack */
    why = NULL;
    if (checkout_decode(data, size, &co, &why) != 0)
        assert(why);
    static jobs_job_t job;
    why = NULL;
    if (jobs_decode(data, size, &job, &why) != 0)
        assert(why);
    return 0;
}
