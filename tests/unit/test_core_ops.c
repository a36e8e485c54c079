/*  Unit tests of the operator's tools in payment-core: backup (a copy of a
 *  store another process holds open, never overwriting a file) and the
 *  admin calls of ops_admin (token list and revoke, payment show and list,
 *  the counts stats adds), driven through dispatch with real envelopes and
 *  a real LMDB store, as test_core_dispatch.c does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../payment-core/auth.h"
#include "../../payment-core/backup.h"
#include "../../payment-core/db.h"
#include "../../payment-core/dispatch.h"
#include "../../payment-core/jobs.h"
#include "../../payment-core/ops_admin.h"
#include "../../payment-core/payment.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_ids.h"
#include "pm_log.h"

#define NOW 1790000000000LL
#define MAX_KEEP 64

typedef struct {
    char dir[64];
    db_t *db;
    dispatch_t *dispatch;
    uint64_t corr;
    pm_envelope_t *keep[MAX_KEEP];
    size_t kept;
} fixture_t;

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    strcpy(fx->dir, "/tmp/pm-test-ops-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    char data[128];
    snprintf(data, sizeof data, "%s/data", fx->dir);
    fx->db = db_open(data, 16);
    assert_non_null(fx->db);
    dispatch_limits_t limits = {.max_amount_minor = 1000000000000LL, .max_msg_bytes = 65536};
    fx->dispatch = dispatch_new(fx->db, &limits);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    for (size_t i = 0; i < fx->kept; i++)
        pm_envelope_destroy(&fx->keep[i]);
    dispatch_destroy(&fx->dispatch);
    db_destroy(&fx->db);
    nftw(fx->dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

/* ---- admin calls ---------------------------------------------------------- */

/* Sends one admin request of type whose body is the map of n pairs already
 * packed in body; returns the reply (kept until teardown). */
static const msgpack_object *s_admin(fixture_t *fx, uint32_t type, uint32_t n,
                                     const msgpack_sbuffer *body)
{
    pm_header_t h;
    memset(&h, 0, sizeof h);
    h.type = type;
    h.corr_id = ++fx->corr;
    snprintf(h.trace_id, sizeof h.trace_id, "ops-%llu", (unsigned long long)h.corr_id);
    msgpack_sbuffer frame;
    msgpack_sbuffer_init(&frame);
    pm_envelope_pack_header(&frame, &h);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &frame, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, n);
    if (body)
        msgpack_sbuffer_write(&frame, body->data, body->size);
    dispatch_item_t item;
    dispatch_item_init(&item);
    item.src = DISPATCH_SRC_ADMIN;
    item.frame = frame.data;
    item.frame_size = frame.size;
    assert_int_equal(dispatch_batch(fx->dispatch, &item, 1, NOW), 0);
    assert_true(item.has_reply);
    pm_header_t partial;
    bool header_ok;
    char why[128];
    pm_envelope_t *env = pm_envelope_decode(item.reply.data, item.reply.size, 1 << 20, &partial,
                                            &header_ok, why, sizeof why);
    assert_non_null(env);
    dispatch_item_fini(&item);
    msgpack_sbuffer_destroy(&frame);
    assert_true(fx->kept < MAX_KEEP);
    fx->keep[fx->kept++] = env;
    return pm_envelope_body(env);
}

/* A body of up to two string pairs (NULL key: none) and an int pair. */
static const msgpack_object *s_call(fixture_t *fx, uint32_t type, const char *k1, const char *v1,
                                    const char *k2, const char *v2, const char *ki, int64_t vi)
{
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    uint32_t n = 0;
    if (k1) {
        pm_mp_pack_cstr(&pk, k1);
        pm_mp_pack_cstr(&pk, v1);
        n++;
    }
    if (k2) {
        pm_mp_pack_cstr(&pk, k2);
        pm_mp_pack_cstr(&pk, v2);
        n++;
    }
    if (ki) {
        pm_mp_pack_cstr(&pk, ki);
        msgpack_pack_int64(&pk, vi);
        n++;
    }
    const msgpack_object *r = s_admin(fx, type, n, &b);
    msgpack_sbuffer_destroy(&b);
    return r;
}

static int64_t s_err(const msgpack_object *body)
{
    int64_t err = -1;
    assert_int_equal(pm_mp_get_int(body, "err", &err), 0);
    return err;
}

static const msgpack_object_array *s_array(const msgpack_object *body, const char *key)
{
    const msgpack_object *a = pm_mp_get(body, key);
    assert_non_null(a);
    assert_int_equal(a->type, MSGPACK_OBJECT_ARRAY);
    return &a->via.array;
}

static void s_str(const msgpack_object *map, const char *key, char *out, size_t cap)
{
    assert_int_equal(pm_mp_copy_str(map, key, out, cap), 0);
}

static void s_issue(fixture_t *fx, const char *principal, auth_role_t role, int64_t at,
                    uint8_t hash[PM_AUTH_LEN])
{
    MDB_txn *txn;
    char token[AUTH_TOKEN_CAP];
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    assert_int_equal(auth_token_create(fx->db, txn, principal, role, at, token, sizeof token), 0);
    assert_int_equal(db_commit(fx->db, txn), 0);
    pm_token_hash(token, strlen(token), hash);
}

/* Payment i (ids in creation order, as UUIDv7 are) with status st. */
static void s_payment(fixture_t *fx, int i, payment_status_t st)
{
    payment_t p;
    memset(&p, 0, sizeof p);
    snprintf(p.id, sizeof p.id, "01900000-0000-7000-8000-%012d", i);
    strcpy(p.sender_id, "alice");
    strcpy(p.recipient_id, "bob");
    strcpy(p.recipient_method, "card-1");
    strcpy(p.currency, "USD");
    p.amount_minor = 100 * i;
    p.status = st;
    p.created_ms = p.updated_ms = NOW + i;
    MDB_txn *txn;
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    assert_int_equal(payment_save(fx->db, txn, &p), 0);
    assert_int_equal(db_commit(fx->db, txn), 0);
}

/* ---- backup ------------------------------------------------------------------ */

/* backup_copy in a child process, as paymentctl runs beside payment-core
 * (LMDB wants one environment handle per process). Returns its result. */
static int s_backup_child(const char *data, const char *to, backup_result_t *r)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        char why[512];
        backup_result_t res;
        int rc = backup_copy(data, to, &res, why, sizeof why);
        if (rc != 0 && getenv("PM_TEST_LOG"))
            fprintf(stderr, "backup: %s\n", why);
        ssize_t w = write(fds[1], &res, sizeof res);
        _exit(w == (ssize_t)sizeof res ? (rc == 0        ? 0
                                          : rc == EEXIST ? 3
                                          : rc == ENOENT ? 4
                                                         : 5)
                                       : 6);
    }
    close(fds[1]);
    memset(r, 0, sizeof *r);
    ssize_t got = read(fds[0], r, sizeof *r);
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(got, (ssize_t)sizeof *r);
    return WEXITSTATUS(status);
}

static void test_backup_copies_an_open_store_and_the_copy_opens_as_one(void **state)
{
    fixture_t *fx = *state;
    for (int i = 1; i <= 50; i++)
        s_payment(fx, i, PAYMENT_CREATED);
    char data[128], to[128], restored[128], file[160];
    snprintf(data, sizeof data, "%s/data", fx->dir);
    snprintf(to, sizeof to, "%s/backup.mdb", fx->dir);
    backup_result_t r;
    assert_int_equal(s_backup_child(data, to, &r), 0);
    struct stat st;
    assert_int_equal(stat(to, &st), 0);
    assert_int_equal((uint64_t)st.st_size, r.bytes);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(r.payments, 50);
    assert_true(r.ms >= 0);
    /* Writes after the copy are not in it. */
    s_payment(fx, 51, PAYMENT_CREATED);
    snprintf(restored, sizeof restored, "%s/restored", fx->dir);
    assert_int_equal(mkdir(restored, 0700), 0);
    snprintf(file, sizeof file, "%s/" BACKUP_DATA_FILE, restored);
    assert_int_equal(link(to, file), 0);
    db_t *copy = db_open(restored, 16);
    assert_non_null(copy);
    MDB_txn *txn;
    uint64_t n = 0;
    assert_int_equal(db_read_begin(copy, &txn), 0);
    assert_int_equal(db_count(copy, txn, DB_PAYMENTS, &n), 0);
    payment_t p;
    assert_int_equal(payment_load(copy, txn, "01900000-0000-7000-8000-000000000050", &p), 0);
    assert_int_equal(p.amount_minor, 5000);
    db_read_end(copy, &txn);
    db_destroy(&copy);
    assert_int_equal(n, 50);
}

static void test_backup_never_overwrites_and_leaves_nothing_on_failure(void **state)
{
    fixture_t *fx = *state;
    char data[128], to[128], other[128];
    snprintf(data, sizeof data, "%s/data", fx->dir);
    snprintf(to, sizeof to, "%s/exists.mdb", fx->dir);
    FILE *f = fopen(to, "w");
    assert_non_null(f);
    fputs("keep me", f);
    fclose(f);
    backup_result_t r;
    assert_int_equal(s_backup_child(data, to, &r), 3); /* EEXIST */
    char buf[16] = "";
    f = fopen(to, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_string_equal(buf, "keep me");
    /* No store there: ENOENT, and no file made. */
    snprintf(other, sizeof other, "%s/other.mdb", fx->dir);
    assert_int_equal(s_backup_child(fx->dir, other, &r), 4);
    assert_int_equal(access(other, F_OK), -1);
    /* Neither left a temporary file. */
    DIR *d = opendir(fx->dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        assert_null(strstr(e->d_name, ".tmp-"));
    closedir(d);
    char why[128];
    assert_int_equal(backup_copy(data, "", &r, why, sizeof why), EINVAL);
}

/* ---- tokens ------------------------------------------------------------------ */

static void test_token_list_shows_ids_never_hashes_oldest_first(void **state)
{
    fixture_t *fx = *state;
    uint8_t a[PM_AUTH_LEN], b[PM_AUTH_LEN], c[PM_AUTH_LEN];
    s_issue(fx, "bob", AUTH_ROLE_USER, NOW - 10, b);
    s_issue(fx, "alice", AUTH_ROLE_USER, NOW - 30, a);
    s_issue(fx, "ops", AUTH_ROLE_SERVICE, NOW - 20, c);
    const msgpack_object *body =
        s_call(fx, PM_MSG_ADMIN_TOKEN_LIST, NULL, NULL, NULL, NULL, NULL, 0);
    assert_int_equal(s_err(body), PM_OK);
    const msgpack_object_array *list = s_array(body, "tokens");
    assert_int_equal(list->size, 3);
    static const char *const order[] = {"alice", "ops", "bob"};
    const uint8_t *hashes[] = {a, c, b};
    for (uint32_t i = 0; i < 3; i++) {
        const msgpack_object *t = &list->ptr[i];
        assert_int_equal(t->via.map.size, 4); /* id, principal, role, created_ms */
        char who[64], id[32], want[OPS_TOKEN_ID_LEN + 1];
        s_str(t, "principal", who, sizeof who);
        assert_string_equal(who, order[i]);
        s_str(t, "id", id, sizeof id);
        ops_token_id(hashes[i], want);
        assert_string_equal(id, want);
        assert_null(pm_mp_get(t, "hash"));
    }
    body = s_call(fx, PM_MSG_ADMIN_TOKEN_LIST, "principal", "ops", NULL, NULL, "max", 1);
    assert_int_equal(s_array(body, "tokens")->size, 1);
    body = s_call(fx, PM_MSG_ADMIN_TOKEN_LIST, NULL, NULL, NULL, NULL, "max", 2);
    assert_int_equal(s_array(body, "tokens")->size, 2);
    const msgpack_object *tr = pm_mp_get(body, "truncated");
    assert_true(tr && tr->type == MSGPACK_OBJECT_BOOLEAN && tr->via.boolean);
    body = s_call(fx, PM_MSG_ADMIN_TOKEN_LIST, NULL, NULL, NULL, NULL, "max", 0);
    assert_int_equal(s_err(body), PM_ERR_VALIDATION);
}

static void test_token_revoke_by_id_or_principal_and_the_token_stops_working(void **state)
{
    fixture_t *fx = *state;
    uint8_t a1[PM_AUTH_LEN], a2[PM_AUTH_LEN], b[PM_AUTH_LEN];
    s_issue(fx, "alice", AUTH_ROLE_USER, NOW - 3, a1);
    s_issue(fx, "alice", AUTH_ROLE_USER, NOW - 2, a2);
    s_issue(fx, "bob", AUTH_ROLE_USER, NOW - 1, b);
    char id[OPS_TOKEN_ID_LEN + 1];
    ops_token_id(b, id);
    const msgpack_object *body =
        s_call(fx, PM_MSG_ADMIN_TOKEN_REVOKE, "id", id, NULL, NULL, NULL, 0);
    assert_int_equal(s_err(body), PM_OK);
    assert_int_equal(s_array(body, "revoked")->size, 1);
    MDB_txn *txn;
    auth_identity_t who;
    assert_int_equal(db_read_begin(fx->db, &txn), 0);
    assert_int_equal(auth_lookup(fx->db, txn, b, &who), MDB_NOTFOUND);
    assert_int_equal(auth_lookup(fx->db, txn, a1, &who), 0);
    db_read_end(fx->db, &txn);
    body = s_call(fx, PM_MSG_ADMIN_TOKEN_REVOKE, "principal", "alice", NULL, NULL, NULL, 0);
    assert_int_equal(s_err(body), PM_OK);
    assert_int_equal(s_array(body, "revoked")->size, 2);
    assert_int_equal(db_read_begin(fx->db, &txn), 0);
    assert_int_equal(auth_lookup(fx->db, txn, a1, &who), MDB_NOTFOUND);
    assert_int_equal(auth_lookup(fx->db, txn, a2, &who), MDB_NOTFOUND);
    db_read_end(fx->db, &txn);
    /* Nothing left to revoke; and exactly one of id and principal. */
    body = s_call(fx, PM_MSG_ADMIN_TOKEN_REVOKE, "id", id, NULL, NULL, NULL, 0);
    assert_int_equal(s_err(body), PM_ERR_NOT_FOUND);
    body = s_call(fx, PM_MSG_ADMIN_TOKEN_REVOKE, "id", id, "principal", "bob", NULL, 0);
    assert_int_equal(s_err(body), PM_ERR_VALIDATION);
    body = s_call(fx, PM_MSG_ADMIN_TOKEN_REVOKE, NULL, NULL, NULL, NULL, NULL, 0);
    assert_int_equal(s_err(body), PM_ERR_VALIDATION);
    body = s_call(fx, PM_MSG_ADMIN_TOKEN_REVOKE, "id", "short", NULL, NULL, NULL, 0);
    assert_int_equal(s_err(body), PM_ERR_VALIDATION);
}

/* ---- payments ------------------------------------------------------------------ */

static void test_payment_show_finds_any_payment_in_any_case(void **state)
{
    fixture_t *fx = *state;
    s_payment(fx, 7, PAYMENT_ACCEPTED);
    const msgpack_object *body =
        s_call(fx, PM_MSG_ADMIN_PAYMENT_SHOW, "id", "01900000-0000-7000-8000-000000000007", NULL,
               NULL, NULL, 0);
    assert_int_equal(s_err(body), PM_OK);
    char st[32];
    s_str(pm_mp_get(body, "payment"), "status", st, sizeof st);
    assert_string_equal(st, "accepted");
    assert_null(pm_mp_get(body, "bank"));
    body = s_call(fx, PM_MSG_ADMIN_PAYMENT_SHOW, "id", "01900000-0000-7000-8000-00000000000A", NULL,
                  NULL, NULL, 0);
    assert_int_equal(s_err(body), PM_ERR_NOT_FOUND);
    body = s_call(fx, PM_MSG_ADMIN_PAYMENT_SHOW, "id", "not-a-uuid", NULL, NULL, NULL, 0);
    assert_int_equal(s_err(body), PM_ERR_NOT_FOUND);
    body = s_call(fx, PM_MSG_ADMIN_PAYMENT_SHOW, NULL, NULL, NULL, NULL, NULL, 0);
    assert_int_equal(s_err(body), PM_ERR_VALIDATION);
}

static void test_payment_list_is_newest_first_by_status_and_pages(void **state)
{
    fixture_t *fx = *state;
    for (int i = 1; i <= 9; i++)
        s_payment(fx, i, i % 3 == 0 ? PAYMENT_CANCELLED : PAYMENT_CREATED);
    const msgpack_object *body =
        s_call(fx, PM_MSG_ADMIN_PAYMENT_LIST, "status", "cancelled", NULL, NULL, NULL, 0);
    assert_int_equal(s_err(body), PM_OK);
    const msgpack_object_array *list = s_array(body, "payments");
    assert_int_equal(list->size, 3);
    char id[64];
    s_str(&list->ptr[0], "id", id, sizeof id);
    assert_string_equal(id, "01900000-0000-7000-8000-000000000009");
    s_str(&list->ptr[2], "id", id, sizeof id);
    assert_string_equal(id, "01900000-0000-7000-8000-000000000003");
    assert_int_equal(pm_mp_get(body, "next")->type, MSGPACK_OBJECT_NIL);
    /* Pages of 4 of every status: 9..6, 5..2, 1. */
    char before[64] = "";
    int seen = 0;
    for (int page = 0; page < 3; page++) {
        body = s_call(fx, PM_MSG_ADMIN_PAYMENT_LIST, before[0] ? "before" : NULL, before, NULL,
                      NULL, "max", 4);
        assert_int_equal(s_err(body), PM_OK);
        list = s_array(body, "payments");
        assert_int_equal(list->size, page < 2 ? 4 : 1);
        for (uint32_t i = 0; i < list->size; i++) {
            s_str(&list->ptr[i], "id", id, sizeof id);
            char want[64];
            snprintf(want, sizeof want, "01900000-0000-7000-8000-%012d", 9 - seen++);
            assert_string_equal(id, want);
        }
        const msgpack_object *next = pm_mp_get(body, "next");
        if (page < 2)
            s_str(body, "next", before, sizeof before);
        else
            assert_int_equal(next->type, MSGPACK_OBJECT_NIL);
    }
    assert_int_equal(seen, 9);
    body = s_call(fx, PM_MSG_ADMIN_PAYMENT_LIST, "status", "paid", NULL, NULL, NULL, 0);
    assert_int_equal(s_err(body), PM_ERR_VALIDATION);
    body = s_call(fx, PM_MSG_ADMIN_PAYMENT_LIST, NULL, NULL, NULL, NULL, "max", 1001);
    assert_int_equal(s_err(body), PM_ERR_VALIDATION);
}

/* ---- stats ------------------------------------------------------------------ */

static void test_stats_count_jobs_by_state(void **state)
{
    fixture_t *fx = *state;
    MDB_txn *txn;
    char id[PM_UUID_LEN + 1];
    uint8_t payload[1] = {0x80}; /* {} */
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    assert_int_equal(jobs_enqueue(fx->db, txn, "bank_status", payload, 1, NOW, id), 0);
    assert_int_equal(jobs_enqueue(fx->db, txn, "bank_status", payload, 1, NOW, id), 0);
    jobs_job_t *j = malloc(sizeof *j);
    assert_int_equal(jobs_load(fx->db, txn, id, j), 0);
    j->state = JOBS_PARKED;
    assert_int_equal(jobs_save(fx->db, txn, j), 0);
    free(j);
    assert_int_equal(db_commit(fx->db, txn), 0);
    const msgpack_object *body = s_call(fx, PM_MSG_ADMIN_STATS, NULL, NULL, NULL, NULL, NULL, 0);
    assert_int_equal(s_err(body), PM_OK);
    int64_t v;
    static const struct {
        const char *key;
        int64_t want;
    } want[] = {{"payments", 0},    {"purchases", 0},   {"checkouts", 0},  {"jobs", 2},
                {"jobs_queued", 1}, {"jobs_leased", 0}, {"jobs_retry", 0}, {"jobs_parked", 1}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(pm_mp_get_int(body, want[i].key, &v), 0);
        assert_int_equal(v, want[i].want);
    }
    const msgpack_object *counted = pm_mp_get(body, "jobs_counted");
    assert_true(counted && counted->type == MSGPACK_OBJECT_BOOLEAN && counted->via.boolean);
}

int main(void)
{
    /* Quiet: the failure paths log errors on purpose. PM_TEST_LOG=1 shows them. */
    pm_log_init("test_core_ops", getenv("PM_TEST_LOG") ? PM_LOG_DEBUG : -1);
    pm_ids_init();
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_backup_copies_an_open_store_and_the_copy_opens_as_one),
        T(test_backup_never_overwrites_and_leaves_nothing_on_failure),
        T(test_token_list_shows_ids_never_hashes_oldest_first),
        T(test_token_revoke_by_id_or_principal_and_the_token_stops_working),
        T(test_payment_show_finds_any_payment_in_any_case),
        T(test_payment_list_is_newest_first_by_status_and_pages),
        T(test_stats_count_jobs_by_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
