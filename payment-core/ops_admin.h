/*  ops_admin: the admin calls of daily operations (paymentctl token list|
 *  revoke, payment show|list, the extra counts of stats). Bodies and
 *  replies are described in pm_proto.h ("Admin socket, daily operations").
 *
 *  Every call reads at most OPS_SCAN_MAX records of a database, so an
 *  operator's question never holds payment-core's loop for long, whatever
 *  the store's size; a reply says when it did not see everything. */
#ifndef OPS_ADMIN_H
#define OPS_ADMIN_H
#include <lmdb.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "pm_proto.h"
#include "request.h"

#define OPS_SCAN_MAX 100000 /* records read per call, at most */
#define OPS_LIST_MAX 1000   /* items in one reply, at most */
#define OPS_TOKEN_ID_LEN 16 /* hex characters of a token id */

/* A token's id: hex of a keyed BLAKE2b of its hash, so that the list can
 * name a token for revoke without showing the hash a gateway sends. */
void ops_token_id(const uint8_t hash[PM_AUTH_LEN], char out[OPS_TOKEN_ID_LEN + 1]);

/* ADMIN_TOKEN_LIST, ADMIN_TOKEN_REVOKE, ADMIN_PAYMENT_SHOW,
 * ADMIN_PAYMENT_LIST (admin socket). */
int ops_admin_token_list(req_t *req);
int ops_admin_token_revoke(req_t *req);
int ops_admin_payment_show(req_t *req);
int ops_admin_payment_list(req_t *req);

/* The counts ADMIN_STATS adds (purchases, checkouts, jobs by state). */
typedef struct {
    uint64_t purchases, checkouts, jobs;
    uint64_t jobs_queued, jobs_leased, jobs_retry, jobs_parked;
    bool jobs_counted; /* false: more than OPS_SCAN_MAX jobs, states partial */
} ops_stats_t;
#define OPS_STATS_FIELDS 8 /* the pairs ops_stats_pack adds to a map */

/* Reads them in txn: an LMDB code. */
int ops_stats_read(db_t *db, MDB_txn *txn, ops_stats_t *out);

/* Packs OPS_STATS_FIELDS key/value pairs (the map header is the caller's). */
void ops_stats_pack(msgpack_packer *pk, const ops_stats_t *st);

#endif
