/*  db: the LMDB environment, named databases, transactions. */
#include "db.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pm_log.h"

#define DB_MAX_DBS 32
#define DB_LOCK_FILE "payment-core.lock"
#define DB_SCHEMA_KEY "schema_version"

static const char *s_db_names[DB__COUNT] = {
    [DB_META] = "meta",
    [DB_PAYMENTS] = "payments",
    [DB_IDEM] = "idem",
    [DB_IDEM_TTL] = "idem_ttl",
    [DB_TOKENS] = "tokens",
    [DB_PACKAGES] = "packages",
    [DB_PACKAGE_ORDER] = "package_order",
    [DB_PURCHASES] = "purchases",
    [DB_BAZAAR_TOKENS] = "bazaar_tokens",
    [DB_BALANCES] = "balances",
    [DB_LEDGER] = "ledger",
    [DB_JOBS] = "jobs",
    [DB_JOBS_DUE] = "jobs_due",
    [DB_CHECKOUTS] = "checkouts",
    [DB_CHECKOUT_TOKENS] = "checkout_tokens",
    [DB_CHECKOUT_ATTEMPTS] = "checkout_attempts",
    [DB_REGNO_TYPES] = "regno_types",
    [DB_REGNOS] = "regnos",
    [DB_INVOICES] = "invoices",
    [DB_INVOICE_LINES] = "invoice_lines",
    [DB_METHODS] = "methods",
};

struct db_t {
    MDB_env *env;
    MDB_dbi dbi[DB__COUNT];
    int lock_fd;               /* flock'd while open: one payment-core per data dir */
    int64_t fail_commit_after; /* fault injection: -1 off */
    int64_t fail_put_after;    /* fault injection: -1 off */
    uint64_t puts;
    uint64_t write_calls;  /* db_put + db_del calls, failed ones too */
    db_name_t fail_key_db; /* fault injection: every put of this key fails */
    size_t fail_key_len;   /* 0: off */
    uint8_t fail_key[DB_FAIL_KEY_MAX];
    MDB_txn *top;  /* the open top-level txn, to tell it from children */
    MDB_txn *rtxn; /* the read-only txn, reset between uses */
    bool rtxn_live;
};

/* mkdir -p: creates dir and missing parents (mode 0700). */
static int s_mkdir_p(const char *dir)
{
    char path[PATH_MAX];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path)
        return -1;
    memcpy(path, dir, len + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static int s_lock(const char *dir)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, DB_LOCK_FILE) >= (int)sizeof path) {
        pm_error("open store failed: path of %s too long", dir);
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        pm_error("open store failed: %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        pm_error("open store failed: %s is locked by another payment-core (%s)", dir,
                 strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Opens every DBI and checks (or writes) the schema version, in one txn. */
static int s_open_dbis(db_t *self)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc != 0)
        goto fail;
    for (int db = 0; db < DB__COUNT; db++) {
        rc = mdb_dbi_open(txn, s_db_names[db], MDB_CREATE, &self->dbi[db]);
        if (rc != 0)
            goto abort_txn;
    }
    MDB_val key = {sizeof DB_SCHEMA_KEY - 1, (void *)DB_SCHEMA_KEY};
    MDB_val val;
    rc = mdb_get(txn, self->dbi[DB_META], &key, &val);
    if (rc == MDB_NOTFOUND) {
        uint8_t be[4] = {DB_SCHEMA_VERSION >> 24, (DB_SCHEMA_VERSION >> 16) & 0xff,
                         (DB_SCHEMA_VERSION >> 8) & 0xff, DB_SCHEMA_VERSION & 0xff};
        val.mv_size = sizeof be;
        val.mv_data = be;
        rc = mdb_put(txn, self->dbi[DB_META], &key, &val, 0);
        if (rc != 0)
            goto abort_txn;
    } else if (rc != 0) {
        goto abort_txn;
    } else {
        const uint8_t *b = val.mv_data;
        uint32_t v =
            val.mv_size == 4
                ? ((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3])
                : 0;
        if (v != DB_SCHEMA_VERSION) {
            pm_error("open store failed: schema version %u, this build knows %u", v,
                     DB_SCHEMA_VERSION);
            mdb_txn_abort(txn);
            return -1;
        }
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0)
        goto fail;
    return 0;
abort_txn:
    mdb_txn_abort(txn);
fail:
    pm_error("open store failed: databases: %s", mdb_strerror(rc));
    return -1;
}

db_t *db_open(const char *dir, int64_t map_size_mb)
{
    assert(dir && map_size_mb > 0);
    if (s_mkdir_p(dir) != 0) {
        pm_error("open store failed: cannot create %s: %s", dir, strerror(errno));
        return NULL;
    }
    db_t *self = calloc(1, sizeof *self);
    assert(self);
    self->fail_commit_after = -1;
    self->fail_put_after = -1;
    self->lock_fd = s_lock(dir);
    if (self->lock_fd < 0)
        goto free_self;
    int rc = mdb_env_create(&self->env);
    if (rc != 0) {
        pm_error("open store failed: mdb_env_create: %s", mdb_strerror(rc));
        goto unlock;
    }
    if ((rc = mdb_env_set_mapsize(self->env, (size_t)map_size_mb << 20)) != 0 ||
        (rc = mdb_env_set_maxdbs(self->env, DB_MAX_DBS)) != 0) {
        pm_error("open store failed: configuring environment: %s", mdb_strerror(rc));
        goto close_env;
    }
    /* Flags 0: synchronous commits. MDB_NOSYNC, MDB_NOMETASYNC and
     * MDB_MAPASYNC would acknowledge payments that a crash can lose. */
    rc = mdb_env_open(self->env, dir, 0, 0600);
    if (rc != 0) {
        pm_error("open store failed: mdb_env_open %s: %s", dir, mdb_strerror(rc));
        goto close_env;
    }
    int dead = 0;
    mdb_reader_check(self->env, &dead);
    if (s_open_dbis(self) != 0)
        goto close_env;
    return self;
close_env:
    mdb_env_close(self->env);
unlock:
    if (self->lock_fd >= 0)
        close(self->lock_fd);
free_self:
    free(self);
    return NULL;
}

void db_destroy(db_t **self_p)
{
    assert(self_p);
    db_t *self = *self_p;
    if (!self)
        return;
    if (self->rtxn)
        mdb_txn_abort(self->rtxn);
    mdb_env_close(self->env);
    close(self->lock_fd);
    free(self);
    *self_p = NULL;
}

int db_begin(db_t *self, MDB_txn *parent, MDB_txn **txn)
{
    assert(self && txn);
    *txn = NULL;
    int rc = mdb_txn_begin(self->env, parent, 0, txn);
    if (rc == 0 && !parent)
        self->top = *txn;
    return rc;
}

int db_commit(db_t *self, MDB_txn *txn)
{
    assert(self && txn);
    bool top = txn == self->top;
    if (top)
        self->top = NULL;
    if (top && self->fail_commit_after >= 0) {
        if (self->fail_commit_after == 0) {
            self->fail_commit_after = -1;
            mdb_txn_abort(txn);
            return EIO;
        }
        self->fail_commit_after--;
    }
    return mdb_txn_commit(txn);
}

void db_abort(MDB_txn **txn)
{
    assert(txn);
    if (*txn)
        mdb_txn_abort(*txn);
    *txn = NULL;
}

int db_read_begin(db_t *self, MDB_txn **txn)
{
    assert(self && txn && !self->rtxn_live);
    *txn = NULL;
    int rc = self->rtxn ? mdb_txn_renew(self->rtxn)
                        : mdb_txn_begin(self->env, NULL, MDB_RDONLY, &self->rtxn);
    if (rc != 0)
        return rc;
    self->rtxn_live = true;
    *txn = self->rtxn;
    return 0;
}

void db_read_end(db_t *self, MDB_txn **txn)
{
    assert(self && txn);
    if (!*txn)
        return;
    assert(*txn == self->rtxn && self->rtxn_live);
    mdb_txn_reset(self->rtxn);
    self->rtxn_live = false;
    *txn = NULL;
}

int db_txn_run(db_t *self, db_txn_fn *fn, void *arg)
{
    assert(self && fn);
    MDB_txn *txn = NULL;
    int rc = db_begin(self, NULL, &txn);
    if (rc != 0)
        return rc;
    rc = fn(self, txn, arg);
    if (rc != 0) {
        db_abort(&txn);
        return rc;
    }
    return db_commit(self, txn);
}

int db_get(db_t *self, MDB_txn *txn, db_name_t db, const void *key, size_t key_len, MDB_val *val)
{
    assert(self && txn && db < DB__COUNT && val);
    MDB_val k = {key_len, (void *)key};
    return mdb_get(txn, self->dbi[db], &k, val);
}

int db_put(db_t *self, MDB_txn *txn, db_name_t db, const void *key, size_t key_len,
           const void *value, size_t value_len, unsigned flags)
{
    assert(self && txn && db < DB__COUNT);
    self->write_calls++;
    if (self->fail_key_len != 0 && db == self->fail_key_db && key_len == self->fail_key_len &&
        memcmp(key, self->fail_key, key_len) == 0)
        return MDB_MAP_FULL;
    if (self->fail_put_after >= 0) {
        if (self->fail_put_after == 0) {
            self->fail_put_after = -1;
            return MDB_MAP_FULL;
        }
        self->fail_put_after--;
    }
    MDB_val k = {key_len, (void *)key};
    MDB_val v = {value_len, (void *)value};
    int rc = mdb_put(txn, self->dbi[db], &k, &v, flags);
    if (rc == 0)
        self->puts++;
    return rc;
}

int db_del(db_t *self, MDB_txn *txn, db_name_t db, const void *key, size_t key_len)
{
    assert(self && txn && db < DB__COUNT);
    self->write_calls++;
    MDB_val k = {key_len, (void *)key};
    return mdb_del(txn, self->dbi[db], &k, NULL);
}

int db_count(db_t *self, MDB_txn *txn, db_name_t db, uint64_t *count)
{
    assert(self && txn && db < DB__COUNT && count);
    MDB_stat st;
    int rc = mdb_stat(txn, self->dbi[db], &st);
    *count = rc == 0 ? (uint64_t)st.ms_entries : 0;
    return rc;
}

MDB_dbi db_dbi(const db_t *self, db_name_t db)
{
    assert(self && db < DB__COUNT);
    return self->dbi[db];
}

const char *db_strerror(int rc)
{
    if (rc == DB_ECORRUPT)
        return "corrupt record";
    return mdb_strerror(rc);
}

void db_fail_commit_after(db_t *self, int64_t after)
{
    assert(self);
    self->fail_commit_after = after;
}

void db_fail_put_after(db_t *self, int64_t after)
{
    assert(self);
    self->fail_put_after = after;
}

uint64_t db_put_count(const db_t *self)
{
    assert(self);
    return self->puts;
}

void db_fail_put_key(db_t *self, db_name_t db, const void *key, size_t key_len)
{
    assert(self && db < DB__COUNT && (key || key_len == 0) && key_len <= DB_FAIL_KEY_MAX);
    self->fail_key_db = db;
    self->fail_key_len = key_len;
    if (key_len)
        memcpy(self->fail_key, key, key_len);
}

uint64_t db_write_calls(const db_t *self)
{
    assert(self);
    return self->write_calls;
}
