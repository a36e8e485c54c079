/*  gw_testlib: what the gateway's family tests share to run a build
 *  function and look at the body it packed.
 *
 *  Each tests/unit/test_*.c links alone with the daemon archives, so these
 *  are static functions in a header: include it after cmocka.h. A build is
 *  run into a gw_built_t, which holds its outcome and, when it worked, the
 *  decoded body (a msgpack map) until gw_test_done. */
#ifndef GW_TESTLIB_H
#define GW_TESTLIB_H
#include <string.h>

#include "../../api-gateway/gw_route.h"
#include "pm_err.h"

/* One build: outcome and the decoded body when it worked. */
typedef struct {
    gw_build_t b;
    msgpack_unpacked u;
    const msgpack_object *body; /* NULL unless the build worked */
} gw_built_t;

/* Runs fn(in) into out and returns what fn did: 0 with out->body the one
 * map it packed (asserted), or -1 with an error set (asserted). */
static inline int gw_test_run(gw_build_fn fn, const gw_input_t *in, gw_built_t *out)
{
    gw_build_init(&out->b);
    msgpack_unpacked_init(&out->u);
    out->body = NULL;
    int rc = fn(in, &out->b);
    if (rc == 0) {
        assert_int_equal(out->b.err, PM_OK);
        size_t off = 0;
        assert_int_equal(msgpack_unpack_next(&out->u, out->b.body.data, out->b.body.size, &off),
                         MSGPACK_UNPACK_SUCCESS);
        assert_int_equal(off, out->b.body.size);
        assert_int_equal(out->u.data.type, MSGPACK_OBJECT_MAP);
        out->body = &out->u.data;
    } else {
        assert_int_equal(rc, -1);
        assert_int_not_equal(out->b.err, PM_OK);
    }
    return rc;
}

static inline void gw_test_done(gw_built_t *out)
{
    msgpack_unpacked_destroy(&out->u);
    gw_build_destroy(&out->b);
}

/* Expects fn(in) to fail with err and a message containing part. */
static inline void gw_test_fails(gw_build_fn fn, const gw_input_t *in, int err, const char *part)
{
    gw_built_t r;
    assert_int_equal(gw_test_run(fn, in, &r), -1);
    assert_int_equal(r.b.err, err);
    if (!strstr(r.b.msg, part))
        fail_msg("message '%s' lacks '%s'", r.b.msg, part);
    gw_test_done(&r);
}

#endif
