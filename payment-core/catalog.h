/*  catalog: the store's packages (what an app user can buy), keyed by SKU.
 *
 *    packages       key   sku (1..64 bytes of [A-Za-z0-9._-])
 *                   value [1, sku, name, price, icon|nil, type (0 coin,
 *                          1 time), coins, duration_days, platforms (bits:
 *                          1 android, 2 ios), retired, seq, created_ms,
 *                          updated_ms]
 *    package_order  key   seq (8 bytes big-endian) -> value sku
 *
 *  seq is given when a package is added and never changes, so listing the
 *  order index lists packages in the order the operator added them. A
 *  retired package stays (purchases refer to it) but is no longer sold.
 *
 *  Calls return LMDB codes (db.h); DB_ECORRUPT for a bad record. */
#ifndef CATALOG_H
#define CATALOG_H
#include <lmdb.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"

#define CATALOG_SKU_MAX 64
#define CATALOG_NAME_MAX 128
#define CATALOG_ICON_MAX 512
#define CATALOG_PRICE_MAX 1000000000000000LL /* 10^15 */
#define CATALOG_COINS_MAX 1000000000000LL    /* 10^12 coins per package */
#define CATALOG_DAYS_MAX 3650
/* catalog_put: adding would exceed max_packages. Outside LMDB's range. */
#define CATALOG_EFULL (-30701)

typedef enum { CATALOG_COIN = 0, CATALOG_TIME = 1 } catalog_type_t;

enum { CATALOG_ANDROID = 1, CATALOG_IOS = 2, CATALOG_PLATFORMS_ALL = 3 };

typedef struct {
    char sku[CATALOG_SKU_MAX + 1];
    char name[CATALOG_NAME_MAX + 1];
    int64_t price;
    char icon[CATALOG_ICON_MAX + 1]; /* "" = none */
    catalog_type_t type;
    int64_t coins;         /* coin packages: >= 1; time packages: 0 */
    int64_t duration_days; /* time packages: 1..3650; coin packages: 0 */
    unsigned platforms;    /* CATALOG_ANDROID | CATALOG_IOS, non-empty */
    bool retired;
    uint64_t seq;       /* catalog order, given on add */
    int64_t created_ms; /* Unix ms */
    int64_t updated_ms;
} catalog_package_t;

/* True when sku[0..len) is 1..64 bytes of [A-Za-z0-9._-]. */
bool catalog_sku_valid(const char *sku, size_t len);

/* "coin" / "time"; parse returns -1 for anything else. */
const char *catalog_type_name(catalog_type_t type);
int catalog_type_parse(const char *text, size_t len, catalog_type_t *type);

/* "android" -> CATALOG_ANDROID, "ios" -> CATALOG_IOS; 0 for anything else. */
unsigned catalog_platform_parse(const char *text, size_t len);

/* Checks the invariants of a package (bounds, type vs coins/days, platforms);
 * NULL when it is valid, else a static message naming the field. */
const char *catalog_check(const catalog_package_t *p);

void catalog_encode(const catalog_package_t *p, msgpack_sbuffer *buf);
int catalog_decode(const void *data, size_t size, catalog_package_t *p, const char **why);

/* Packs the PACKAGE map of pm_proto.h. */
void catalog_pack(msgpack_packer *pk, const catalog_package_t *p);

/* Loads sku. 0, MDB_NOTFOUND, DB_ECORRUPT (logged) or an LMDB code. */
int catalog_load(db_t *db, MDB_txn *txn, const char *sku, catalog_package_t *p);

/* Adds p (p->seq is assigned: after the last one) or replaces it (seq kept
 * from the stored one). MDB_KEYEXIST when adding an existing sku,
 * MDB_NOTFOUND when replacing a missing one, CATALOG_EFULL when adding would
 * exceed max_packages. p->created_ms is kept on replace. */
int catalog_put(db_t *db, MDB_txn *txn, catalog_package_t *p, bool create, uint64_t max_packages);

/* Calls fn for every package in catalog order until it returns non-zero
 * (that value is returned). p is valid during the call only. */
typedef int(catalog_each_fn)(const catalog_package_t *p, void *arg);
int catalog_each(db_t *db, MDB_txn *txn, catalog_each_fn *fn, void *arg);

#endif
