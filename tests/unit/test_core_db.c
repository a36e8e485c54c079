/*  Unit tests of payment-core's store (LMDB environment, nested transactions,
 *  single-writer lock, schema version, fault injection) and auth (tokens
 *  stored hashed, resolved to principal and role). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../payment-core/auth.h"
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
    char path[128]; /* a store directory inside dir, not created yet */
    db_t *db;
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    strcpy(fx->dir, "/tmp/pm-test-db-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/nested/data", fx->dir);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    db_destroy(&fx->db);
    nftw(fx->dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

static void s_put(db_t *db, MDB_txn *txn, const char *key, const char *value)
{
    assert_int_equal(db_put(db, txn, DB_PAYMENTS, key, strlen(key), value, strlen(value), 0), 0);
}

static bool s_has(db_t *db, const char *key)
{
    MDB_txn *txn;
    assert_int_equal(db_begin(db, NULL, &txn), 0);
    MDB_val v;
    int rc = db_get(db, txn, DB_PAYMENTS, key, strlen(key), &v);
    db_abort(&txn);
    assert_true(rc == 0 || rc == MDB_NOTFOUND);
    return rc == 0;
}

static void test_open_creates_missing_directories_and_data_survives_reopen(void **state)
{
    fixture_t *fx = *state;
    fx->db = db_open(fx->path, 16);
    assert_non_null(fx->db);
    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    MDB_txn *txn;
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    s_put(fx->db, txn, "k", "v");
    assert_int_equal(db_commit(fx->db, txn), 0);
    db_destroy(&fx->db);
    db_destroy(&fx->db); /* safe twice */
    assert_null(fx->db);

    fx->db = db_open(fx->path, 16);
    assert_non_null(fx->db);
    assert_true(s_has(fx->db, "k"));
}

static void test_a_second_store_on_the_same_directory_is_refused(void **state)
{
    fixture_t *fx = *state;
    fx->db = db_open(fx->path, 16);
    assert_non_null(fx->db);
    db_t *second = db_open(fx->path, 16);
    assert_null(second);
    db_destroy(&fx->db);
    second = db_open(fx->path, 16); /* the lock went with the first */
    assert_non_null(second);
    db_destroy(&second);
}

static void test_a_store_of_another_schema_version_is_refused(void **state)
{
    fixture_t *fx = *state;
    fx->db = db_open(fx->path, 16);
    assert_non_null(fx->db);
    MDB_txn *txn;
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    assert_int_equal(db_put(fx->db, txn, DB_META, "schema_version", 14, "\x00\x00\x00\x07", 4, 0),
                     0);
    assert_int_equal(db_commit(fx->db, txn), 0);
    db_destroy(&fx->db);
    assert_null(db_open(fx->path, 16));
}

static void test_aborted_child_leaves_nothing_while_committed_sibling_persists(void **state)
{
    fixture_t *fx = *state;
    fx->db = db_open(fx->path, 16);
    assert_non_null(fx->db);
    MDB_txn *parent, *child;
    assert_int_equal(db_begin(fx->db, NULL, &parent), 0);
    assert_int_equal(db_begin(fx->db, parent, &child), 0);
    s_put(fx->db, child, "kept", "1");
    assert_int_equal(db_commit(fx->db, child), 0);
    assert_int_equal(db_begin(fx->db, parent, &child), 0);
    s_put(fx->db, child, "dropped", "2");
    db_abort(&child);
    assert_null(child);
    assert_int_equal(db_commit(fx->db, parent), 0);
    assert_true(s_has(fx->db, "kept"));
    assert_false(s_has(fx->db, "dropped"));
}

static void test_injected_commit_failure_aborts_the_top_level_transaction(void **state)
{
    fixture_t *fx = *state;
    fx->db = db_open(fx->path, 16);
    assert_non_null(fx->db);
    db_fail_commit_after(fx->db, 1);
    MDB_txn *txn, *child;
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    s_put(fx->db, txn, "first", "1");
    assert_int_equal(db_commit(fx->db, txn), 0);
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    /* Child commits do not count and do not fail. */
    assert_int_equal(db_begin(fx->db, txn, &child), 0);
    s_put(fx->db, child, "second", "2");
    assert_int_equal(db_commit(fx->db, child), 0);
    assert_int_not_equal(db_commit(fx->db, txn), 0);
    assert_true(s_has(fx->db, "first"));
    assert_false(s_has(fx->db, "second"));
}

static void test_injected_put_failure_reports_map_full_once(void **state)
{
    fixture_t *fx = *state;
    fx->db = db_open(fx->path, 16);
    assert_non_null(fx->db);
    MDB_txn *txn;
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    uint64_t before = db_put_count(fx->db);
    db_fail_put_after(fx->db, 1);
    s_put(fx->db, txn, "a", "1");
    assert_int_equal(db_put(fx->db, txn, DB_PAYMENTS, "b", 1, "2", 1, 0), MDB_MAP_FULL);
    s_put(fx->db, txn, "c", "3");
    assert_int_equal(db_put_count(fx->db), before + 2);
    db_abort(&txn);
}

typedef struct {
    const char *key;
    int rc;
} run_arg_t;

/* A db_txn_fn: writes arg's key, then returns arg's code. */
static int s_write_then_return(db_t *db, MDB_txn *txn, void *arg)
{
    const run_arg_t *a = arg;
    s_put(db, txn, a->key, "x");
    return a->rc;
}

static void test_txn_run_commits_on_success_and_aborts_on_error(void **state)
{
    fixture_t *fx = *state;
    fx->db = db_open(fx->path, 16);
    assert_non_null(fx->db);
    run_arg_t ok = {"committed", 0}, failing = {"aborted", MDB_NOTFOUND};
    assert_int_equal(db_txn_run(fx->db, s_write_then_return, &ok), 0);
    assert_int_equal(db_txn_run(fx->db, s_write_then_return, &failing), MDB_NOTFOUND);
    assert_true(s_has(fx->db, "committed"));
    assert_false(s_has(fx->db, "aborted"));
}

static void test_issued_token_resolves_to_its_principal_and_role(void **state)
{
    fixture_t *fx = *state;
    fx->db = db_open(fx->path, 16);
    assert_non_null(fx->db);
    MDB_txn *txn;
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    char user_tok[AUTH_TOKEN_CAP], svc_tok[AUTH_TOKEN_CAP];
    assert_int_equal(
        auth_token_create(fx->db, txn, "alice", AUTH_ROLE_USER, 42, user_tok, sizeof user_tok), 0);
    assert_int_equal(
        auth_token_create(fx->db, txn, "billing", AUTH_ROLE_SERVICE, 43, svc_tok, sizeof svc_tok),
        0);
    assert_int_equal(db_commit(fx->db, txn), 0);
    assert_string_not_equal(user_tok, svc_tok);
    assert_int_equal(strncmp(user_tok, "pmk_", 4), 0);

    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    uint8_t hash[PM_AUTH_LEN];
    auth_identity_t who;
    pm_token_hash(user_tok, strlen(user_tok), hash);
    assert_int_equal(auth_lookup(fx->db, txn, hash, &who), 0);
    assert_string_equal(who.principal, "alice");
    assert_int_equal(who.role, AUTH_ROLE_USER);
    assert_int_equal(who.created_ms, 42);
    pm_token_hash(svc_tok, strlen(svc_tok), hash);
    assert_int_equal(auth_lookup(fx->db, txn, hash, &who), 0);
    assert_string_equal(who.principal, "billing");
    assert_int_equal(who.role, AUTH_ROLE_SERVICE);

    /* Only the hash is stored: the token text appears nowhere in the value. */
    MDB_val v;
    assert_int_equal(db_get(fx->db, txn, DB_TOKENS, hash, PM_AUTH_LEN, &v), 0);
    assert_null(memmem(v.mv_data, v.mv_size, svc_tok, strlen(svc_tok)));
    assert_null(memmem(v.mv_data, v.mv_size, svc_tok + 4, 8));

    /* Unknown, and one character off. */
    pm_token_hash("pmk_nope", 8, hash);
    assert_int_equal(auth_lookup(fx->db, txn, hash, &who), MDB_NOTFOUND);
    user_tok[10] ^= 1;
    pm_token_hash(user_tok, strlen(user_tok), hash);
    assert_int_equal(auth_lookup(fx->db, txn, hash, &who), MDB_NOTFOUND);
    db_abort(&txn);
}

static void test_principal_and_role_validation(void **state)
{
    (void)state;
    assert_true(auth_principal_valid("alice", 5));
    assert_true(auth_principal_valid("svc:billing-1", 13));
    assert_false(auth_principal_valid("", 0));
    assert_false(auth_principal_valid("al ice", 6));
    assert_false(auth_principal_valid("al\nice", 6));
    assert_false(auth_principal_valid("\xc3\xa9t\xc3\xa9", 6));
    char long_p[129];
    memset(long_p, 'p', sizeof long_p);
    assert_true(auth_principal_valid(long_p, 128));
    assert_false(auth_principal_valid(long_p, 129));
    auth_role_t role;
    assert_int_equal(auth_role_parse("service", 7, &role), 0);
    assert_int_equal(role, AUTH_ROLE_SERVICE);
    assert_int_equal(auth_role_parse("user", 4, &role), 0);
    assert_int_equal(role, AUTH_ROLE_USER);
    assert_int_equal(auth_role_parse("admin", 5, &role), -1);
    assert_int_equal(auth_role_parse("use", 3, &role), -1);
}

static void test_corrupt_token_record_is_reported(void **state)
{
    fixture_t *fx = *state;
    fx->db = db_open(fx->path, 16);
    assert_non_null(fx->db);
    MDB_txn *txn;
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    uint8_t hash[PM_AUTH_LEN];
    pm_token_hash("pmk_x", 5, hash);
    assert_int_equal(
        db_put(fx->db, txn, DB_TOKENS, hash, PM_AUTH_LEN, "\x94\x01\xa0\x00\x00", 5, 0), 0);
    auth_identity_t who;
    assert_int_equal(auth_lookup(fx->db, txn, hash, &who), DB_ECORRUPT);
    db_abort(&txn);
}

int main(void)
{
    /* Quiet: the failure paths log errors on purpose. PM_TEST_LOG=1 shows them. */
    pm_log_init("test_core_store", getenv("PM_TEST_LOG") ? PM_LOG_DEBUG : -1);
    pm_ids_init();
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_creates_missing_directories_and_data_survives_reopen),
        T(test_a_second_store_on_the_same_directory_is_refused),
        T(test_a_store_of_another_schema_version_is_refused),
        T(test_aborted_child_leaves_nothing_while_committed_sibling_persists),
        T(test_injected_commit_failure_aborts_the_top_level_transaction),
        T(test_injected_put_failure_reports_map_full_once),
        T(test_txn_run_commits_on_success_and_aborts_on_error),
        T(test_issued_token_resolves_to_its_principal_and_role),
        T(test_principal_and_role_validation),
        T(test_corrupt_token_record_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
