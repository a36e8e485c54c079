/*  Unit tests of payment-core's idempotency records: replay of the stored
 *  bytes, refusal of a different request, the in-progress state of flows
 *  that span loop turns, scoping by principal, and the sweep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../payment-core/idem.h"
#include "../../payment-core/db.h"
#include "pm_ids.h"
#include "pm_log.h"

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

typedef struct {
    char dir[64];
    db_t *db;
    MDB_txn *txn;
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    strcpy(fx->dir, "/tmp/pm-test-idem-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    fx->db = db_open(fx->dir, 16);
    assert_non_null(fx->db);
    assert_int_equal(db_begin(fx->db, NULL, &fx->txn), 0);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    db_abort(&fx->txn);
    db_destroy(&fx->db);
    nftw(fx->dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

static idem_key_t s_key(const char *principal, const char *token)
{
    idem_key_t k;
    assert_int_equal(idem_key_make(&k, principal, token, strlen(token)), 0);
    return k;
}

static void s_fp(const char *body, uint8_t fp[IDEM_FP_LEN])
{
    idem_fingerprint(10, body, strlen(body), fp);
}

static idem_state_t s_lookup(fixture_t *fx, const idem_key_t *k, const uint8_t fp[IDEM_FP_LEN],
                             const void **reply, size_t *len)
{
    idem_state_t st = (idem_state_t)-1;
    assert_int_equal(idem_lookup(fx->db, fx->txn, k, fp, &st, reply, len), 0);
    return st;
}

static void test_a_new_key_is_reported_new(void **state)
{
    fixture_t *fx = *state;
    idem_key_t k = s_key("alice", "tok-1");
    uint8_t fp[IDEM_FP_LEN];
    s_fp("body", fp);
    assert_int_equal(s_lookup(fx, &k, fp, NULL, NULL), IDEM_NEW);
}

static void test_repeat_with_same_request_replays_the_stored_reply_bytes(void **state)
{
    fixture_t *fx = *state;
    idem_key_t k = s_key("alice", "tok-1");
    uint8_t fp[IDEM_FP_LEN];
    s_fp("create 1 USD", fp);
    const char reply[] = "\x82\xa3"
                         "err\x00\xa1x\xc0"; /* any bytes: stored verbatim */
    assert_int_equal(idem_put_done(fx->db, fx->txn, &k, fp, 1000, reply, sizeof reply), 0);
    const void *got = NULL;
    size_t len = 0;
    assert_int_equal(s_lookup(fx, &k, fp, &got, &len), IDEM_REPLAY);
    assert_int_equal(len, sizeof reply);
    assert_memory_equal(got, reply, sizeof reply);
}

static void test_repeat_with_a_different_request_is_a_mismatch(void **state)
{
    fixture_t *fx = *state;
    idem_key_t k = s_key("alice", "tok-1");
    uint8_t fp1[IDEM_FP_LEN], fp2[IDEM_FP_LEN], fp3[IDEM_FP_LEN];
    s_fp("create 1 USD", fp1);
    s_fp("create 2 USD", fp2);
    idem_fingerprint(12, "create 1 USD", 12, fp3); /* same bytes, other message type */
    assert_memory_not_equal(fp1, fp3, IDEM_FP_LEN);
    assert_int_equal(idem_put_done(fx->db, fx->txn, &k, fp1, 1000, "r", 1), 0);
    assert_int_equal(s_lookup(fx, &k, fp2, NULL, NULL), IDEM_MISMATCH);
    assert_int_equal(s_lookup(fx, &k, fp3, NULL, NULL), IDEM_MISMATCH);
}

static void test_begun_key_is_in_progress_until_completed_then_replays(void **state)
{
    fixture_t *fx = *state;
    idem_key_t k = s_key("alice", "tok-1");
    uint8_t fp[IDEM_FP_LEN], other[IDEM_FP_LEN];
    s_fp("commit checkout", fp);
    s_fp("something else", other);
    assert_int_equal(idem_begin(fx->db, fx->txn, &k, fp, 1000), 0);
    assert_int_equal(s_lookup(fx, &k, fp, NULL, NULL), IDEM_IN_PROGRESS);
    /* A different request is still told it is a different request. */
    assert_int_equal(s_lookup(fx, &k, other, NULL, NULL), IDEM_MISMATCH);
    assert_int_equal(idem_begin(fx->db, fx->txn, &k, fp, 1001), MDB_KEYEXIST);

    assert_int_equal(idem_complete(fx->db, fx->txn, &k, "done!", 5), 0);
    const void *got = NULL;
    size_t len = 0;
    assert_int_equal(s_lookup(fx, &k, fp, &got, &len), IDEM_REPLAY);
    assert_int_equal(len, 5);
    assert_memory_equal(got, "done!", 5);
    assert_int_equal(idem_complete(fx->db, fx->txn, &k, "again", 5), MDB_KEYEXIST);
}

static void test_completing_an_unknown_key_is_not_found(void **state)
{
    fixture_t *fx = *state;
    idem_key_t k = s_key("alice", "never-begun");
    assert_int_equal(idem_complete(fx->db, fx->txn, &k, "x", 1), MDB_NOTFOUND);
}

static void test_tokens_are_scoped_to_the_principal(void **state)
{
    fixture_t *fx = *state;
    idem_key_t a = s_key("alice", "shared-token"), b = s_key("bob", "shared-token");
    uint8_t fp[IDEM_FP_LEN];
    s_fp("body", fp);
    assert_int_equal(idem_put_done(fx->db, fx->txn, &a, fp, 1000, "a", 1), 0);
    assert_int_equal(s_lookup(fx, &b, fp, NULL, NULL), IDEM_NEW);
    /* "al" + "ice\0..." must not collide with "alice": the NUL separates. */
    idem_key_t c = s_key("al", "iceshared-token");
    assert_int_equal(s_lookup(fx, &c, fp, NULL, NULL), IDEM_NEW);
}

static void test_key_bounds_are_enforced(void **state)
{
    (void)state;
    idem_key_t k;
    char token[300];
    memset(token, 'a', sizeof token);
    assert_int_equal(idem_key_make(&k, "alice", token, 255), 0);
    assert_int_equal(idem_key_make(&k, "alice", token, 256), -1);
    assert_int_equal(idem_key_make(&k, "alice", token, 0), -1);
    assert_int_equal(idem_key_make(&k, "alice", "a\0b", 3), -1);
    char principal[200];
    memset(principal, 'p', sizeof principal);
    principal[129] = '\0';
    assert_int_equal(idem_key_make(&k, principal, "t", 1), -1);
    principal[128] = '\0';
    assert_int_equal(idem_key_make(&k, principal, token, 255), 0);
    assert_int_equal(k.len, IDEM_KEY_MAX);
}

static void test_corrupt_record_is_reported_not_trusted(void **state)
{
    fixture_t *fx = *state;
    idem_key_t k = s_key("alice", "tok-1");
    assert_int_equal(db_put(fx->db, fx->txn, DB_IDEM, k.bytes, k.len, "\x95\x01\x01", 3, 0), 0);
    uint8_t fp[IDEM_FP_LEN];
    s_fp("body", fp);
    idem_state_t st;
    assert_int_equal(idem_lookup(fx->db, fx->txn, &k, fp, &st, NULL, NULL), DB_ECORRUPT);
}

static uint64_t s_count(fixture_t *fx, db_name_t db)
{
    uint64_t n = 0;
    assert_int_equal(db_count(fx->db, fx->txn, db, &n), 0);
    return n;
}

static void test_sweep_removes_only_keys_older_than_the_cutoff(void **state)
{
    fixture_t *fx = *state;
    uint8_t fp[IDEM_FP_LEN];
    s_fp("body", fp);
    /* Inserted out of order: the ttl index sorts them by age. */
    const int64_t created[] = {5000, 1000, 9000, 3000, 7000};
    for (int i = 0; i < 5; i++) {
        char tok[16];
        snprintf(tok, sizeof tok, "t%lld", (long long)created[i]);
        idem_key_t k = s_key("alice", tok);
        assert_int_equal(idem_put_done(fx->db, fx->txn, &k, fp, created[i], "r", 1), 0);
    }
    size_t deleted = 99;
    assert_int_equal(idem_sweep(fx->db, fx->txn, 5000, 100, &deleted), 0);
    assert_int_equal(deleted, 2); /* 1000 and 3000; 5000 is not older than the cutoff */
    assert_int_equal(s_count(fx, DB_IDEM), 3);
    assert_int_equal(s_count(fx, DB_IDEM_TTL), 3);
    idem_key_t gone = s_key("alice", "t3000"), kept = s_key("alice", "t5000");
    assert_int_equal(s_lookup(fx, &gone, fp, NULL, NULL), IDEM_NEW);
    assert_int_equal(s_lookup(fx, &kept, fp, NULL, NULL), IDEM_REPLAY);
}

static void test_sweep_deletes_at_most_its_batch_oldest_first(void **state)
{
    fixture_t *fx = *state;
    uint8_t fp[IDEM_FP_LEN];
    s_fp("body", fp);
    for (int i = 0; i < 10; i++) {
        char tok[16];
        snprintf(tok, sizeof tok, "t%d", i);
        idem_key_t k = s_key("alice", tok);
        assert_int_equal(idem_put_done(fx->db, fx->txn, &k, fp, 1000 + i, "r", 1), 0);
    }
    size_t deleted = 0;
    assert_int_equal(idem_sweep(fx->db, fx->txn, 1000000, 3, &deleted), 0);
    assert_int_equal(deleted, 3);
    idem_key_t oldest = s_key("alice", "t0"), fourth = s_key("alice", "t3");
    assert_int_equal(s_lookup(fx, &oldest, fp, NULL, NULL), IDEM_NEW);
    assert_int_equal(s_lookup(fx, &fourth, fp, NULL, NULL), IDEM_REPLAY);
    assert_int_equal(idem_sweep(fx->db, fx->txn, 1000000, 100, &deleted), 0);
    assert_int_equal(deleted, 7);
    assert_int_equal(s_count(fx, DB_IDEM), 0);
    assert_int_equal(idem_sweep(fx->db, fx->txn, 1000000, 100, &deleted), 0);
    assert_int_equal(deleted, 0);
}

int main(void)
{
    /* Quiet: the failure paths log errors on purpose. PM_TEST_LOG=1 shows them. */
    pm_log_init("test_core_idem", getenv("PM_TEST_LOG") ? PM_LOG_DEBUG : -1);
    pm_ids_init();
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_a_new_key_is_reported_new),
        T(test_repeat_with_same_request_replays_the_stored_reply_bytes),
        T(test_repeat_with_a_different_request_is_a_mismatch),
        T(test_begun_key_is_in_progress_until_completed_then_replays),
        T(test_completing_an_unknown_key_is_not_found),
        T(test_tokens_are_scoped_to_the_principal),
        T(test_key_bounds_are_enforced),
        T(test_corrupt_record_is_reported_not_trusted),
        T(test_sweep_removes_only_keys_older_than_the_cutoff),
        T(test_sweep_deletes_at_most_its_batch_oldest_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
