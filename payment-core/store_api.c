/*  store_api: catalog listing, purchase opening, catalog and balance admin. */
#include "store_api.h"

#include <assert.h>
#include <string.h>

#include "auth.h"
#include "catalog.h"
#include "ledger.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_log.h"
#include "purchase.h"

#define S_PAGE_SIZE_MAX 100

static void s_pack_ok(msgpack_packer *pk, uint32_t fields)
{
    msgpack_pack_map(pk, fields);
    pm_mp_pack_cstr(pk, "err");
    msgpack_pack_int(pk, PM_OK);
}

/* ---- STORE_PACKAGES ----------------------------------------------------- */

typedef struct {
    unsigned platform;
    uint64_t first, limit; /* the page: matches [first, first + limit) */
    uint64_t count;        /* matches so far */
    uint32_t in_page;
    msgpack_packer pk; /* packs the page's PACKAGEs */
} s_page_t;

static int s_page_fn(const catalog_package_t *p, void *arg)
{
    s_page_t *pg = arg;
    if (p->retired || !(p->platforms & pg->platform))
        return 0;
    if (pg->count >= pg->first && pg->count - pg->first < pg->limit) {
        catalog_pack(&pg->pk, p);
        pg->in_page++;
    }
    pg->count++;
    return 0;
}

int store_api_packages(req_t *req)
{
    char platform[16];
    int64_t page = 0, page_size = 0;
    if (req_text(req, "platform", "devicetype", 1, sizeof platform - 1, REQ_ASCII, platform,
                 sizeof platform) != 0 ||
        req_int(req, "page", "page", 1, INT32_MAX, 0, 0, &page) != 0 ||
        req_int(req, "page_size", "page_size", 1, S_PAGE_SIZE_MAX, 0, 0, &page_size) != 0)
        return -1;
    s_page_t pg = {.platform = catalog_platform_parse(platform, strlen(platform)),
                   .first = (uint64_t)(page - 1) * (uint64_t)page_size,
                   .limit = (uint64_t)page_size};
    if (!pg.platform)
        return req_reject(req, PM_ERR_VALIDATION, "devicetype must be android or ios");
    msgpack_sbuffer items;
    msgpack_sbuffer_init(&items);
    msgpack_packer_init(&pg.pk, &items, msgpack_sbuffer_write);
    int rc = catalog_each(req->db, req->txn, s_page_fn, &pg);
    if (rc != 0) {
        msgpack_sbuffer_destroy(&items);
        return req_store_error(req, rc, "package list");
    }
    s_pack_ok(&req->pk, 3);
    pm_mp_pack_cstr(&req->pk, "count");
    msgpack_pack_uint64(&req->pk, pg.count);
    pm_mp_pack_cstr(&req->pk, "results");
    msgpack_pack_array(&req->pk, pg.in_page);
    msgpack_sbuffer_write(req->out, items.data, items.size);
    msgpack_sbuffer_destroy(&items);
    return 0;
}

/* ---- STORE_PURCHASE_OPEN ----------------------------------------------- */

int store_api_purchase_open(req_t *req)
{
    char sku[CATALOG_SKU_MAX + 1];
    if (req_text(req, "sku", "serial_number", 1, CATALOG_SKU_MAX, REQ_ASCII, sku, sizeof sku))
        return -1;
    catalog_package_t pkg;
    int rc = MDB_NOTFOUND;
    if (catalog_sku_valid(sku, strlen(sku)))
        rc = catalog_load(req->db, req->txn, sku, &pkg);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return req_store_error(req, rc, "package load");
    if (rc == MDB_NOTFOUND || pkg.retired)
        return req_refuse(req, PM_ERR_NOT_FOUND, "package %s not found", sku);
    purchase_t p;
    memset(&p, 0, sizeof p);
    if ((rc = purchase_serial_new(req->db, req->txn, p.serial)) != 0)
        return req_store_error(req, rc, "purchase serial");
    snprintf(p.principal, sizeof p.principal, "%s", req->caller->principal);
    strcpy(p.sku, sku);
    p.state = PURCHASE_IN_PROGRESS;
    p.created_ms = p.updated_ms = req->now_ms;
    if ((rc = purchase_save(req->db, req->txn, &p)) != 0)
        return req_store_error(req, rc, "purchase save");
    pm_info("purchase %s opened by %s for %s", p.serial, p.principal, sku);
    s_pack_ok(&req->pk, 2);
    pm_mp_pack_cstr(&req->pk, "purchase");
    purchase_pack(&req->pk, &p);
    return 0;
}

/* ---- catalog admin ----------------------------------------------------- */

static int s_reply_package(req_t *req, const catalog_package_t *p)
{
    s_pack_ok(&req->pk, 2);
    pm_mp_pack_cstr(&req->pk, "package");
    catalog_pack(&req->pk, p);
    return 0;
}

static int s_read_sku(req_t *req, char sku[CATALOG_SKU_MAX + 1])
{
    if (req_text(req, "sku", "sku", 1, CATALOG_SKU_MAX, REQ_ASCII, sku, CATALOG_SKU_MAX + 1))
        return -1;
    if (!catalog_sku_valid(sku, strlen(sku)))
        return req_reject(req, PM_ERR_VALIDATION,
                          "sku must be 1 to 64 characters of A-Z a-z 0-9 . _ -");
    return 0;
}

static int s_read_platforms(req_t *req, unsigned *out)
{
    const msgpack_object *v = pm_mp_get(req->body, "platforms");
    *out = 0;
    if (!v || v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size == 0 || v->via.array.size > 2)
        return req_reject(req, PM_ERR_VALIDATION,
                          "platforms must be a non-empty subset of android, ios");
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        const msgpack_object *e = &v->via.array.ptr[i];
        unsigned bit = e->type == MSGPACK_OBJECT_STR
                           ? catalog_platform_parse(e->via.str.ptr, e->via.str.size)
                           : 0;
        if (!bit || (*out & bit))
            return req_reject(req, PM_ERR_VALIDATION,
                              "platforms must be a non-empty subset of android, ios");
        *out |= bit;
    }
    return 0;
}

int store_api_package_put(req_t *req)
{
    catalog_package_t p;
    memset(&p, 0, sizeof p);
    char type[8];
    bool create = false;
    if (s_read_sku(req, p.sku) != 0 ||
        req_text(req, "name", "name", 1, CATALOG_NAME_MAX, 0, p.name, sizeof p.name) != 0 ||
        req_int(req, "price", "price", 0, CATALOG_PRICE_MAX, 0, 0, &p.price) != 0 ||
        req_text(req, "icon", "icon", 1, CATALOG_ICON_MAX, REQ_OPTIONAL, p.icon, sizeof p.icon) ||
        req_text(req, "package_type", "package_type", 1, 4, REQ_ASCII, type, sizeof type) != 0 ||
        req_int(req, "coins", "coins", 0, CATALOG_COINS_MAX, REQ_OPTIONAL, 0, &p.coins) != 0 ||
        req_int(req, "duration_days", "duration_days", 0, CATALOG_DAYS_MAX, REQ_OPTIONAL, 0,
                &p.duration_days) != 0 ||
        s_read_platforms(req, &p.platforms) != 0 || req_bool(req, "create", "create", &create) != 0)
        return -1;
    if (catalog_type_parse(type, strlen(type), &p.type) != 0)
        return req_reject(req, PM_ERR_VALIDATION, "package_type must be coin or time");
    const char *why = catalog_check(&p);
    if (why)
        return req_reject(req, PM_ERR_VALIDATION, "%s", why);
    p.created_ms = p.updated_ms = req->now_ms;
    catalog_package_t old;
    int rc = catalog_load(req->db, req->txn, p.sku, &old);
    if (rc == 0)
        p.retired = old.retired;
    rc = catalog_put(req->db, req->txn, &p, create, (uint64_t)req->limits->max_packages);
    if (rc == MDB_KEYEXIST)
        return req_refuse(req, PM_ERR_CONFLICT, "package %s already exists", p.sku);
    if (rc == MDB_NOTFOUND)
        return req_refuse(req, PM_ERR_NOT_FOUND, "package %s not found", p.sku);
    if (rc == CATALOG_EFULL)
        return req_refuse(req, PM_ERR_VALIDATION, "the catalog is full: max-packages is %lld",
                          (long long)req->limits->max_packages);
    if (rc != 0)
        return req_store_error(req, rc, "package save");
    pm_info("package %s %s", p.sku, create ? "added" : "updated");
    return s_reply_package(req, &p);
}

int store_api_package_retire(req_t *req)
{
    char sku[CATALOG_SKU_MAX + 1];
    if (s_read_sku(req, sku) != 0)
        return -1;
    catalog_package_t p;
    int rc = catalog_load(req->db, req->txn, sku, &p);
    if (rc == MDB_NOTFOUND)
        return req_refuse(req, PM_ERR_NOT_FOUND, "package %s not found", sku);
    if (rc != 0)
        return req_store_error(req, rc, "package load");
    if (!p.retired) {
        p.retired = true;
        p.updated_ms = req->now_ms > p.updated_ms ? req->now_ms : p.updated_ms;
        rc = catalog_put(req->db, req->txn, &p, false, (uint64_t)req->limits->max_packages);
        if (rc != 0)
            return req_store_error(req, rc, "package save");
        pm_info("package %s retired", sku);
    }
    return s_reply_package(req, &p);
}

static int s_list_fn(const catalog_package_t *p, void *arg)
{
    s_page_t *pg = arg;
    catalog_pack(&pg->pk, p);
    pg->count++;
    return 0;
}

int store_api_package_list(req_t *req)
{
    s_page_t pg;
    memset(&pg, 0, sizeof pg);
    msgpack_sbuffer items;
    msgpack_sbuffer_init(&items);
    msgpack_packer_init(&pg.pk, &items, msgpack_sbuffer_write);
    int rc = catalog_each(req->db, req->txn, s_list_fn, &pg);
    if (rc != 0) {
        msgpack_sbuffer_destroy(&items);
        return req_store_error(req, rc, "package list");
    }
    s_pack_ok(&req->pk, 2);
    pm_mp_pack_cstr(&req->pk, "packages");
    msgpack_pack_array(&req->pk, (uint32_t)pg.count);
    msgpack_sbuffer_write(req->out, items.data, items.size);
    msgpack_sbuffer_destroy(&items);
    return 0;
}

/* ---- ADMIN_BALANCE ------------------------------------------------------ */

typedef struct {
    msgpack_packer pk;
    uint32_t n;
} s_entries_t;

static int s_entry_fn(const ledger_entry_t *e, void *arg)
{
    s_entries_t *es = arg;
    ledger_pack_entry(&es->pk, e);
    es->n++;
    return 0;
}

int store_api_balance(req_t *req)
{
    char principal[PM_PRINCIPAL_MAX + 1];
    if (req_text(req, "principal", "principal", 1, PM_PRINCIPAL_MAX, REQ_ASCII, principal,
                 sizeof principal) != 0)
        return -1;
    if (!auth_principal_valid(principal, strlen(principal)))
        return req_reject(req, PM_ERR_VALIDATION,
                          "principal must be printable ASCII characters without spaces");
    ledger_balance_t b;
    int rc = ledger_balance(req->db, req->txn, principal, &b);
    if (rc != 0)
        return req_store_error(req, rc, "balance load");
    s_entries_t es = {.n = 0};
    msgpack_sbuffer items;
    msgpack_sbuffer_init(&items);
    msgpack_packer_init(&es.pk, &items, msgpack_sbuffer_write);
    rc = ledger_each(req->db, req->txn, principal, LEDGER_LIST_MAX, s_entry_fn, &es);
    if (rc != 0) {
        msgpack_sbuffer_destroy(&items);
        return req_store_error(req, rc, "ledger list");
    }
    s_pack_ok(&req->pk, 5);
    pm_mp_pack_cstr(&req->pk, "principal");
    pm_mp_pack_cstr(&req->pk, principal);
    pm_mp_pack_cstr(&req->pk, "coins");
    msgpack_pack_int64(&req->pk, b.coins);
    pm_mp_pack_cstr(&req->pk, "subscription_until_ms");
    if (b.has_until)
        msgpack_pack_int64(&req->pk, b.subscription_until_ms);
    else
        msgpack_pack_nil(&req->pk);
    pm_mp_pack_cstr(&req->pk, "ledger");
    msgpack_pack_array(&req->pk, es.n);
    msgpack_sbuffer_write(req->out, items.data, items.size);
    msgpack_sbuffer_destroy(&items);
    return 0;
}
