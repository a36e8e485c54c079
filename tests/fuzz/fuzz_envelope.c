/*  libFuzzer target: the inter-daemon envelope and stored-record decoders.
 *  Any byte string must decode or be refused, never crash or over-allocate. */
#include <stddef.h>
#include <stdint.h>

#include "pm_envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pm_header_t partial;
    bool header_ok = false;
    char err[128];
    pm_envelope_t *env =
        pm_envelope_decode(data, size, 65536, &partial, &header_ok, err, sizeof err);
    if (env) {
        const msgpack_object *body = pm_envelope_body(env);
        char buf[64];
        int64_t n;
        (void)pm_mp_copy_str(body, "id", buf, sizeof buf);
        (void)pm_mp_get_int(body, "amount_minor", &n);
        pm_envelope_destroy(&env);
    }
    msgpack_unpacked u;
    const msgpack_object *f;
    const char *why;
    (void)pm_mp_unpack_record(data, size, 1, 4, &u, &f, &why);
    msgpack_unpacked_destroy(&u);
    return 0;
}
