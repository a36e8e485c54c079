/*  backup: a consistent, compacted copy of a live payment-core store.
 *
 *  LMDB lets several processes share one environment, and a read-only
 *  transaction is a snapshot that never waits for the writer nor makes it
 *  wait. So the copy is taken by the operator's process (paymentctl), not
 *  by payment-core: it opens the data directory's environment read-only
 *  (MDB_RDONLY; no payment-core.lock, which stays payment-core's) and has
 *  LMDB write the snapshot, compacted (MDB_CP_COMPACT: free pages left
 *  out, pages renumbered), into a temporary file next to the destination.
 *  The copy is fsync'd, checked to open as a store of this schema, then
 *  given its name with link(2), which never replaces an existing file, and
 *  the directory is fsync'd: the destination either does not exist or is a
 *  whole, durable backup.
 *
 *  The only cost to payment-core is that pages freed while the copy runs
 *  are reused only after it ends (the snapshot holds them), like any long
 *  read transaction.
 *
 *  Restoring: the file is an environment's data file; put it as data.mdb in
 *  an empty data directory (docs/operations.md, "Backups"). */
#ifndef BACKUP_H
#define BACKUP_H
#include <stddef.h>
#include <stdint.h>

/* The data file's name inside an environment directory (LMDB's own). */
#define BACKUP_DATA_FILE "data.mdb"

typedef struct {
    uint64_t bytes;    /* size of the backup file */
    int64_t ms;        /* wall time the copy took, open to rename */
    uint64_t payments; /* payments in the backup (read back from it) */
} backup_result_t;

/* Copies the store in data_dir to the new file `to`. Returns 0 with *out
 * filled, else an errno value or an LMDB code with a one-line reason in
 * why: EEXIST when `to` exists (it is never overwritten), ENOENT when
 * data_dir holds no store, ENAMETOOLONG, or what the copy failed on. No
 * temporary file is left behind on failure. */
int backup_copy(const char *data_dir, const char *to, backup_result_t *out, char *why,
                size_t why_cap);

#endif
