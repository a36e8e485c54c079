/*  backup: a compacted snapshot of a live store, by a second process. */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db.h"

/* At least db.c's DB_MAX_DBS: the named databases are opened by name, and
 * an environment refuses more than maxdbs of them. */
#define BK_MAX_DBS 32
/* The names db.c gives the two databases the check reads back. */
#define BK_META_DB "meta"
#define BK_SCHEMA_KEY "schema_version"
#define BK_PAYMENTS_DB "payments"

static int bk_fail(char *why, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bk_fail(char *why, size_t cap, int rc, const char *fmt, ...)
{
    if (why && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static int64_t bk_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* fsyncs the directory holding path, so that a new name in it survives a
 * crash as the file's data does. */
static int bk_sync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int rc = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return rc;
}

/* Opens the copy at path on its own (no lock file: nothing else has it)
 * and checks that it is a store of this schema; counts its payments. */
static int bk_verify(const char *path, uint64_t *payments, char *why, size_t cap)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    int rc = mdb_env_create(&env);
    if (rc != 0)
        return bk_fail(why, cap, rc, "checking the copy: %s", mdb_strerror(rc));
    if ((rc = mdb_env_set_maxdbs(env, BK_MAX_DBS)) != 0 ||
        (rc = mdb_env_open(env, path, MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK, 0600)) != 0 ||
        (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0) {
        rc = bk_fail(why, cap, rc, "checking the copy: cannot open it: %s", mdb_strerror(rc));
        goto close_env;
    }
    MDB_dbi meta, pay;
    MDB_val key = {sizeof BK_SCHEMA_KEY - 1, (void *)BK_SCHEMA_KEY}, val;
    if ((rc = mdb_dbi_open(txn, BK_META_DB, 0, &meta)) != 0 ||
        (rc = mdb_get(txn, meta, &key, &val)) != 0) {
        rc = bk_fail(why, cap, rc, "checking the copy: no schema version: %s", mdb_strerror(rc));
        goto abort_txn;
    }
    const uint8_t *b = val.mv_data;
    uint32_t v = val.mv_size == 4
                     ? ((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3])
                     : 0;
    if (v != DB_SCHEMA_VERSION) {
        rc = bk_fail(why, cap, DB_ECORRUPT, "checking the copy: schema version %u, want %u", v,
                     DB_SCHEMA_VERSION);
        goto abort_txn;
    }
    MDB_stat st;
    if ((rc = mdb_dbi_open(txn, BK_PAYMENTS_DB, 0, &pay)) != 0 ||
        (rc = mdb_stat(txn, pay, &st)) != 0) {
        rc = bk_fail(why, cap, rc, "checking the copy: payments: %s", mdb_strerror(rc));
        goto abort_txn;
    }
    *payments = st.ms_entries;
abort_txn:
    mdb_txn_abort(txn);
close_env:
    mdb_env_close(env);
    return rc;
}

int backup_copy(const char *data_dir, const char *to, backup_result_t *out, char *why,
                size_t why_cap)
{
    memset(out, 0, sizeof *out);
    int64_t t0 = bk_now_ms();
    char tmp[PATH_MAX], data[PATH_MAX];
    struct stat st;
    if (!to[0])
        return bk_fail(why, why_cap, EINVAL, "the backup file name is empty");
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", to, (long)getpid()) >= (int)sizeof tmp ||
        snprintf(data, sizeof data, "%s/" BACKUP_DATA_FILE, data_dir) >= (int)sizeof data)
        return bk_fail(why, why_cap, ENAMETOOLONG, "path too long");
    /* Checked first so that a mistake costs no copy; link() below is what
     * guarantees it, should the file appear meanwhile. */
    if (lstat(to, &st) == 0)
        return bk_fail(why, why_cap, EEXIST, "%s exists; a backup never overwrites a file", to);
    if (errno != ENOENT)
        return bk_fail(why, why_cap, errno, "%s: %s", to, strerror(errno));
    errno = 0; /* so that a data.mdb that is not a file is told from a missing one */
    if (stat(data, &st) != 0 || !S_ISREG(st.st_mode))
        return bk_fail(why, why_cap, ENOENT, "no store in %s (%s: %s)", data_dir, data,
                       errno ? strerror(errno) : "not a file");

    MDB_env *env = NULL;
    int rc = mdb_env_create(&env);
    if (rc != 0)
        return bk_fail(why, why_cap, rc, "mdb_env_create: %s", mdb_strerror(rc));
    /* No mdb_env_set_mapsize: LMDB then takes the size recorded in the data
     * file, which is payment-core's (a reader must map what the writer
     * writes). MDB_RDONLY still registers this process in lock.mdb's
     * reader table: that is what keeps the snapshot's pages from reuse. */
    if ((rc = mdb_env_set_maxdbs(env, BK_MAX_DBS)) != 0 ||
        (rc = mdb_env_open(env, data_dir, MDB_RDONLY, 0600)) != 0) {
        rc = bk_fail(why, why_cap, rc, "cannot open the store in %s: %s", data_dir,
                     mdb_strerror(rc));
        goto close_env;
    }
    /* A copy killed in the middle leaves its reader slot behind, pinning its
     * snapshot's pages until someone clears it (payment-core does only when
     * it starts): clear dead readers first, this copy's forerunners. */
    int dead = 0;
    mdb_reader_check(env, &dead);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = bk_fail(why, why_cap, errno, "cannot create %s: %s", tmp, strerror(errno));
        goto close_env;
    }
    if ((rc = mdb_env_copyfd2(env, fd, MDB_CP_COMPACT)) != 0) {
        rc = bk_fail(why, why_cap, rc, "copy to %s failed: %s", tmp, mdb_strerror(rc));
        goto close_fd;
    }
    if (fsync(fd) != 0 || fstat(fd, &st) != 0) {
        rc = bk_fail(why, why_cap, errno, "fsync %s: %s", tmp, strerror(errno));
        goto close_fd;
    }
    out->bytes = (uint64_t)st.st_size;
    if ((rc = bk_verify(tmp, &out->payments, why, why_cap)) != 0)
        goto close_fd;
    /* link, not rename: rename would replace a file created since the
     * check above. */
    if (link(tmp, to) != 0) {
        rc = errno;
        if (rc == EEXIST)
            bk_fail(why, why_cap, rc, "%s exists; a backup never overwrites a file", to);
        else
            bk_fail(why, why_cap, rc, "cannot name the copy %s: %s", to, strerror(rc));
        goto close_fd;
    }
    if ((rc = bk_sync_dir_of(to)) != 0)
        bk_fail(why, why_cap, rc, "fsync of the directory of %s: %s", to, strerror(rc));
close_fd:
    close(fd);
    unlink(tmp); /* the copy is under its name now, or it failed */
close_env:
    mdb_env_close(env);
    out->ms = bk_now_ms() - t0;
    return rc;
}
