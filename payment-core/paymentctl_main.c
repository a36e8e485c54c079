/*  paymentctl: the operator's command line for payment-core.
 *
 *    paymentctl [--data-dir DIR] [--core-admin ENDPOINT] [--timeout-ms N] COMMAND ...
 *      token create --principal ID [--role user|service]   prints the new token
 *      token list [--principal P] [--json]                  tokens (never a token or hash)
 *      token revoke (--principal P | --id ID)               revoke tokens
 *      payment show ID [--json]                             any payment
 *      payment list [--state S] [--max N] [--before ID] [--json]   newest first
 *      stats [--table]                                      prints counts as JSON
 *      ping                                                 prints "ok"
 *      package add --sku SKU --name NAME --price N --type coin|time
 *              (--coins N | --days N) [--icon URL] [--platforms android,ios]
 *      package update --sku SKU [--name ..] [--price ..] [--icon ..] [--coins ..]
 *              [--days ..] [--platforms ..]           (unset fields keep their value)
 *      package retire --sku SKU
 *      package list                                         prints every package as JSON
 *      balance --principal ID                               balance and ledger as JSON
 *      checkout show TOKEN [--json]                         a checkout and its attempts
 *      retry list [--max N] [--json]                        retries due and parked, oldest first
 *      retry now ID                                         queue a job now (attempts reset)
 *      retry park ID                                        park a job for later
 *      regno-type add --id N --name NAME --length N --alphabet CHARS [--prefix P]
 *      regno-type list                                      registration number types
 *      method add --id ID --principal P[,P...] --bank halkbank|foreign_affairs_bank|none
 *             --currency CUR[,CUR...]                       a recipient's payment method
 *      method list [--principal P]                          payment methods
 *      backup --to FILE                                     a compacted copy of the store
 *      keygen --out DIR --name NAME                         a CURVE key pair: DIR/NAME.key
 *                                                           (mode 600) and DIR/NAME.pub
 *
 *  It talks to payment-core's admin socket (by default ipc://<data-dir>/
 *  admin.sock, reachable only through the file system, which is the access
 *  control) with one request and waits at most --timeout-ms for the answer.
 *  keygen talks to no one. backup is the other exception: it reads the store in --data-dir itself
 *  (backup.h), so that payment-core's writer never waits for it.
 *  Exit status: 0 done, 1 payment-core refused or did not answer, 2 usage. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pm_config.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_ids.h"
#include "pm_log.h"
#include "pm_money.h"
#include "pm_mpjson.h"
#include "pm_sock.h"
#include "pm_time.h"

#include "backup.h"

#define S_PROGRAM "paymentctl"
#define S_MAX_REPLY_BYTES (64 << 20) /* a whole catalog fits */

enum { CFG_DATA_DIR, CFG_CORE_ADMIN, CFG_TIMEOUT_MS, CFG__COUNT };

static pm_setting_t s_cfg[CFG__COUNT] = {
    [CFG_DATA_DIR] = {"data-dir", PM_CFG_STR, "./var", 1, 200,
                      "payment-core's data directory (locates its admin socket)"},
    [CFG_CORE_ADMIN] = {"core-admin", PM_CFG_STR, "", 0, 200,
                        "payment-core's admin endpoint; empty: ipc://<data-dir>/admin.sock"},
    [CFG_TIMEOUT_MS] = {"timeout-ms", PM_CFG_INT, "5000", 100, 600000,
                        "how long to wait for payment-core's answer"},
};

static int s_usage(const char *why)
{
    if (why)
        fprintf(stderr, S_PROGRAM ": %s\n", why);
    fprintf(stderr, "usage: " S_PROGRAM " [--data-dir DIR] [--core-admin ENDPOINT] "
                    "[--timeout-ms N] COMMAND\n"
                    "commands:\n"
                    "  token create --principal ID [--role user|service]\n"
                    "  token list [--principal P] [--json]\n"
                    "  token revoke (--principal P | --id ID)\n"
                    "  payment show ID [--json]\n"
                    "  payment list [--state S] [--max N] [--before ID] [--json]\n"
                    "  stats [--table]\n"
                    "  ping\n"
                    "  package add --sku SKU --name NAME --price N --type coin|time\n"
                    "      (--coins N | --days N) [--icon URL] [--platforms android,ios]\n"
                    "  package update --sku SKU [--name ..] [--price ..] [--icon ..] [--coins ..]\n"
                    "      [--days ..] [--platforms ..]\n"
                    "  package retire --sku SKU\n"
                    "  package list\n"
                    "  balance --principal ID\n"
                    "  checkout show TOKEN [--json]\n"
                    "  order show REG_NO [--json]\n"
                    "  retry list [--max N] [--json]\n"
                    "  retry now ID\n"
                    "  retry park ID\n"
                    "  regno-type add --id N --name NAME --length N --alphabet CHARS [--prefix P]\n"
                    "  regno-type list\n"
                    "  method add --id ID --principal P[,P...] --bank halkbank|"
                    "foreign_affairs_bank|none\n"
                    "      --currency CUR[,CUR...]\n"
                    "  method list [--principal P]\n"
                    "  backup --to FILE\n"
                    "  keygen --out DIR --name NAME\n"
                    "(" S_PROGRAM " --help lists the settings)\n");
    return 2;
}

/* Reads "--name value" or "--name=value" at argv[*i]; advances *i. Returns 1
 * when argv[*i] is that flag (value set, or NULL when missing), else 0. */
static int s_flag(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, name, n) != 0)
        return 0;
    if (arg[2 + n] == '=') {
        *value = arg + 3 + n;
        return 1;
    }
    if (arg[2 + n] != '\0')
        return 0;
    *value = *i + 1 < argc ? argv[++*i] : NULL;
    return 1;
}

/* Sends one request and waits for its reply. Returns the decoded reply
 * (caller owns), or NULL with the reason on stderr. */
static pm_envelope_t *s_call(const char *endpoint, int64_t timeout_ms, uint32_t type,
                             const msgpack_sbuffer *body)
{
    pm_envelope_t *reply = NULL;
    zsock_t *sock = pm_sock_dealer_connect(endpoint, 100, S_MAX_REPLY_BYTES, false);
    if (!sock) {
        fprintf(stderr, S_PROGRAM ": cannot connect to %s\n", endpoint);
        return NULL;
    }
    pm_header_t h;
    memset(&h, 0, sizeof h);
    h.type = type;
    h.corr_id = (uint64_t)getpid() << 32 | (uint32_t)pm_mono_ms();
    h.deadline_ms = pm_now_ms() + timeout_ms;
    snprintf(h.trace_id, sizeof h.trace_id, S_PROGRAM "-%d", (int)getpid());
    msgpack_sbuffer frame;
    msgpack_sbuffer_init(&frame);
    pm_envelope_pack_header(&frame, &h);
    msgpack_sbuffer_write(&frame, body->data, body->size);
    if (pm_sock_send(sock, frame.data, frame.size) != 0) {
        fprintf(stderr, S_PROGRAM ": cannot send to %s: %s\n", endpoint, zmq_strerror(errno));
        goto destroy_frame;
    }
    int64_t end = pm_mono_ms() + timeout_ms;
    zmq_pollitem_t item = {zsock_resolve(sock), 0, ZMQ_POLLIN, 0};
    for (int64_t left; !reply && (left = end - pm_mono_ms()) > 0;) {
        int rc = zmq_poll(&item, 1, (long)left);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc <= 0)
            continue;
        zframe_t *f = zframe_recv(sock);
        if (!f)
            continue;
        pm_header_t partial;
        bool header_ok;
        char why[256];
        reply = pm_envelope_decode(zframe_data(f), zframe_size(f), S_MAX_REPLY_BYTES, &partial,
                                   &header_ok, why, sizeof why);
        zframe_destroy(&f);
        if (!reply) {
            fprintf(stderr, S_PROGRAM ": malformed reply from %s: %s\n", endpoint, why);
            goto destroy_frame;
        }
        const pm_header_t *rh = pm_envelope_header(reply);
        if (rh->type != PM_MSG_REPLY || rh->corr_id != h.corr_id)
            pm_envelope_destroy(&reply); /* not ours; keep waiting */
    }
    if (!reply)
        fprintf(stderr, S_PROGRAM ": payment-core did not answer at %s within %" PRId64 " ms\n",
                endpoint, timeout_ms);
destroy_frame:
    msgpack_sbuffer_destroy(&frame);
    zsock_destroy(&sock);
    return reply;
}

/* Prints an error reply's message; returns 0 when the reply is a success. */
static int s_check(const pm_envelope_t *reply)
{
    const msgpack_object *body = pm_envelope_body(reply);
    int64_t err = -1;
    if (pm_mp_get_int(body, "err", &err) != 0) {
        fprintf(stderr, S_PROGRAM ": malformed reply: no err field\n");
        return -1;
    }
    if (err == PM_OK)
        return 0;
    const char *msg = "";
    size_t len = 0;
    pm_mp_get_str(body, "msg", &msg, &len);
    fprintf(stderr, S_PROGRAM ": %s: %.*s\n", pm_err_code((int)err), (int)len, msg);
    return -1;
}

/* Prints the str under key followed by a newline; -1 if it is missing. */
static int s_print_str(const msgpack_object *body, const char *key)
{
    const char *s;
    size_t len;
    if (pm_mp_get_str(body, key, &s, &len) != 0) {
        fprintf(stderr, S_PROGRAM ": malformed reply: no %s field\n", key);
        return -1;
    }
    printf("%.*s\n", (int)len, s);
    return 0;
}

static int s_print_stats(const msgpack_object *body)
{
    int64_t payments, keys, tokens;
    if (pm_mp_get_int(body, "payments", &payments) != 0 ||
        pm_mp_get_int(body, "idempotency_keys", &keys) != 0 ||
        pm_mp_get_int(body, "tokens", &tokens) != 0) {
        fprintf(stderr, S_PROGRAM ": malformed reply: missing counts\n");
        return -1;
    }
    printf("{\"payments\":%" PRId64 ",\"idempotency_keys\":%" PRId64 ",\"tokens\":%" PRId64,
           payments, keys, tokens);
    /* Group commit since payment-core started (absent from older cores). */
    static const char *const extra[] = {"batches", "batch_requests", "commit_us_total",
                                        "commit_us_max", "batches_redone",
                                        /* store and job queue (ops_admin.h) */
                                        "purchases", "checkouts", "jobs", "jobs_queued",
                                        "jobs_leased", "jobs_retry", "jobs_parked"};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        int64_t v;
        if (pm_mp_get_int(body, extra[i], &v) == 0)
            printf(",\"%s\":%" PRId64, extra[i], v);
    }
    const msgpack_object *counted = pm_mp_get(body, "jobs_counted");
    if (counted && counted->type == MSGPACK_OBJECT_BOOLEAN)
        printf(",\"jobs_counted\":%s", counted->via.boolean ? "true" : "false");
    printf("}\n");
    return 0;
}

/* ---- JSON output ---------------------------------------------------------- */

/* A reply value as JSON, for printing (caller owns the result): 16 levels
 * are far more than any reply has. */
static json_object *s_to_json(const msgpack_object *o)
{
    bool ok;
    return pm_mp_to_json(o, 16, &ok);
}

/* Prints the value under key (or the whole body without "err" when key is
 * NULL) as one line of JSON. */
static int s_print_json(const msgpack_object *body, const char *key)
{
    json_object *j = NULL;
    if (key) {
        const msgpack_object *v = pm_mp_get(body, key);
        if (!v) {
            fprintf(stderr, S_PROGRAM ": malformed reply: no %s field\n", key);
            return -1;
        }
        j = s_to_json(v);
    } else {
        j = s_to_json(body);
        json_object_object_del(j, "err");
    }
    puts(
        json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
    return 0;
}

/* ---- package and balance commands ---------------------------------------- */

typedef struct {
    const char *sku, *name, *price, *icon, *type, *coins, *days, *platforms, *principal;
} s_args_t;

/* Reads the flags of a package / balance command from argv[from..). */
static int s_read_args(int argc, char **argv, int from, const char *cmd, s_args_t *a)
{
    static const char *names[] = {"sku",   "name", "price",     "icon",     "type",
                                  "coins", "days", "platforms", "principal"};
    const char **slots[] = {&a->sku,   &a->name, &a->price,     &a->icon,     &a->type,
                            &a->coins, &a->days, &a->platforms, &a->principal};
    for (int i = from; i < argc; i++) {
        const char *v = NULL;
        size_t k = 0;
        for (; k < sizeof names / sizeof names[0]; k++)
            if (s_flag(argc, argv, &i, names[k], &v))
                break;
        if (k == sizeof names / sizeof names[0]) {
            fprintf(stderr, S_PROGRAM ": %s: unexpected argument '%s'\n", cmd, argv[i]);
            return -1;
        }
        if (!v) {
            fprintf(stderr, S_PROGRAM ": %s: %s needs a value\n", cmd, argv[i]);
            return -1;
        }
        *slots[k] = v;
    }
    return 0;
}

static int s_parse_int(const char *text, const char *what, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end) {
        fprintf(stderr, S_PROGRAM ": --%s must be an integer\n", what);
        return -1;
    }
    *out = v;
    return 0;
}

/* Packs the "platforms" array from "android,ios". */
static int s_pack_platforms(msgpack_packer *pk, const char *list)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", list);
    const char *items[2];
    uint32_t n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == 2 || (strcmp(t, "android") != 0 && strcmp(t, "ios") != 0)) {
            fprintf(stderr, S_PROGRAM ": --platforms must be android, ios or android,ios\n");
            return -1;
        }
        items[n++] = strcmp(t, "android") == 0 ? "android" : "ios";
    }
    if (n == 0) {
        fprintf(stderr, S_PROGRAM ": --platforms must name at least one platform\n");
        return -1;
    }
    msgpack_pack_array(pk, n);
    for (uint32_t i = 0; i < n; i++)
        pm_mp_pack_cstr(pk, items[i]);
    return 0;
}

/* The stored package sku as the current values for an update. */
typedef struct {
    char name[256], icon[600], type[8], platforms[16];
    int64_t price, coins, days;
    bool found;
} s_current_t;

static void s_current_from(const msgpack_object *p, s_current_t *c)
{
    int64_t v;
    pm_mp_copy_str(p, "name", c->name, sizeof c->name);
    pm_mp_copy_str(p, "icon", c->icon, sizeof c->icon);
    pm_mp_copy_str(p, "package_type", c->type, sizeof c->type);
    if (pm_mp_get_int(p, "price", &v) == 0)
        c->price = v;
    if (pm_mp_get_int(p, "coins", &v) == 0)
        c->coins = v;
    if (pm_mp_get_int(p, "duration_days", &v) == 0)
        c->days = v;
    const msgpack_object *pl = pm_mp_get(p, "platforms");
    c->platforms[0] = '\0';
    for (uint32_t i = 0; pl && pl->type == MSGPACK_OBJECT_ARRAY && i < pl->via.array.size; i++) {
        const msgpack_object *e = &pl->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_STR)
            continue;
        size_t len = strlen(c->platforms);
        snprintf(c->platforms + len, sizeof c->platforms - len, "%s%.*s", len ? "," : "",
                 (int)e->via.str.size, e->via.str.ptr);
    }
    c->found = true;
}

/* Fetches the package list and fills *c from package sku. 0, or -1. */
static int s_fetch_current(const char *endpoint, int64_t timeout_ms, const char *sku,
                           s_current_t *c)
{
    memset(c, 0, sizeof *c);
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 0);
    pm_envelope_t *reply = s_call(endpoint, timeout_ms, PM_MSG_ADMIN_PACKAGE_LIST, &body);
    msgpack_sbuffer_destroy(&body);
    if (!reply)
        return -1;
    int rc = -1;
    if (s_check(reply) != 0)
        goto destroy_reply;
    const msgpack_object *list = pm_mp_get(pm_envelope_body(reply), "packages");
    for (uint32_t i = 0; list && list->type == MSGPACK_OBJECT_ARRAY && i < list->via.array.size;
         i++) {
        const msgpack_object *p = &list->via.array.ptr[i];
        const char *s;
        size_t len;
        if (pm_mp_get_str(p, "sku", &s, &len) == 0 && len == strlen(sku) &&
            memcmp(s, sku, len) == 0)
            s_current_from(p, c);
    }
    if (!c->found)
        fprintf(stderr, S_PROGRAM ": not_found: package %s not found\n", sku);
    else
        rc = 0;
destroy_reply:
    pm_envelope_destroy(&reply);
    return rc;
}

/* Builds an ADMIN_PACKAGE_PUT body from the flags over the current values. */
static int s_pack_put(msgpack_packer *pk, const s_args_t *a, const s_current_t *cur, bool create)
{
    const char *name = a->name ? a->name : cur->name;
    const char *icon = a->icon ? a->icon : (cur->icon[0] ? cur->icon : NULL);
    const char *type = a->type ? a->type : cur->type;
    const char *platforms = a->platforms        ? a->platforms
                            : cur->platforms[0] ? cur->platforms
                                                : "android,ios";
    int64_t price = cur->price, coins = cur->coins, days = cur->days;
    if ((a->price && s_parse_int(a->price, "price", &price) != 0) ||
        (a->coins && s_parse_int(a->coins, "coins", &coins) != 0) ||
        (a->days && s_parse_int(a->days, "days", &days) != 0))
        return -1;
    if (strcmp(type, "coin") == 0 && !a->coins && create) {
        fprintf(stderr, S_PROGRAM ": package add: a coin package needs --coins\n");
        return -1;
    }
    if (strcmp(type, "time") == 0 && !a->days && create) {
        fprintf(stderr, S_PROGRAM ": package add: a time package needs --days\n");
        return -1;
    }
    if (strcmp(type, "coin") == 0)
        days = 0;
    else
        coins = 0;
    msgpack_pack_map(pk, 9);
    pm_mp_pack_cstr(pk, "sku");
    pm_mp_pack_cstr(pk, a->sku);
    pm_mp_pack_cstr(pk, "name");
    pm_mp_pack_cstr(pk, name);
    pm_mp_pack_cstr(pk, "price");
    msgpack_pack_int64(pk, price);
    pm_mp_pack_cstr(pk, "icon");
    pm_mp_pack_cstr(pk, icon);
    pm_mp_pack_cstr(pk, "package_type");
    pm_mp_pack_cstr(pk, type);
    pm_mp_pack_cstr(pk, "coins");
    msgpack_pack_int64(pk, coins);
    pm_mp_pack_cstr(pk, "duration_days");
    msgpack_pack_int64(pk, days);
    pm_mp_pack_cstr(pk, "platforms");
    if (s_pack_platforms(pk, platforms) != 0)
        return -1;
    pm_mp_pack_cstr(pk, "create");
    if (create)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    return 0;
}

static void s_endpoint(char *out, size_t cap)
{
    if (s_cfg[CFG_CORE_ADMIN].sval[0])
        snprintf(out, cap, "%s", s_cfg[CFG_CORE_ADMIN].sval);
    else
        snprintf(out, cap, "ipc://%s/admin.sock", s_cfg[CFG_DATA_DIR].sval);
}

/* package add|update|retire|list, balance: build the request. Returns 0 with
 * *type and body set, 2 on a usage error, 1 when fetching failed. */
static int s_build_store_cmd(int argc, char **argv, int rest, uint32_t *type, msgpack_packer *pk)
{
    const char *cmd = argv[rest];
    s_args_t a;
    memset(&a, 0, sizeof a);
    if (strcmp(cmd, "balance") == 0) {
        if (s_read_args(argc, argv, rest + 1, "balance", &a) != 0)
            return 2;
        if (!a.principal || a.sku || a.name || a.price || a.icon || a.type || a.coins || a.days ||
            a.platforms) {
            fprintf(stderr, S_PROGRAM ": balance: takes exactly --principal ID\n");
            return 2;
        }
        *type = PM_MSG_ADMIN_BALANCE;
        msgpack_pack_map(pk, 1);
        pm_mp_pack_cstr(pk, "principal");
        pm_mp_pack_cstr(pk, a.principal);
        return 0;
    }
    if (rest + 1 >= argc) {
        fprintf(stderr, S_PROGRAM ": package: add, update, retire or list\n");
        return 2;
    }
    const char *sub = argv[rest + 1];
    if (s_read_args(argc, argv, rest + 2, sub, &a) != 0)
        return 2;
    if (a.principal) {
        fprintf(stderr, S_PROGRAM ": package %s: unexpected --principal\n", sub);
        return 2;
    }
    if (strcmp(sub, "list") == 0) {
        if (a.sku || a.name || a.price || a.icon || a.type || a.coins || a.days || a.platforms) {
            fprintf(stderr, S_PROGRAM ": package list: takes no arguments\n");
            return 2;
        }
        *type = PM_MSG_ADMIN_PACKAGE_LIST;
        msgpack_pack_map(pk, 0);
        return 0;
    }
    if (!a.sku) {
        fprintf(stderr, S_PROGRAM ": package %s: --sku is required\n", sub);
        return 2;
    }
    if (strcmp(sub, "retire") == 0) {
        if (a.name || a.price || a.icon || a.type || a.coins || a.days || a.platforms) {
            fprintf(stderr, S_PROGRAM ": package retire: takes only --sku\n");
            return 2;
        }
        *type = PM_MSG_ADMIN_PACKAGE_RETIRE;
        msgpack_pack_map(pk, 1);
        pm_mp_pack_cstr(pk, "sku");
        pm_mp_pack_cstr(pk, a.sku);
        return 0;
    }
    s_current_t cur;
    memset(&cur, 0, sizeof cur);
    if (strcmp(sub, "add") == 0) {
        if (!a.name || !a.price || !a.type) {
            fprintf(stderr, S_PROGRAM ": package add: --name, --price and --type are required\n");
            return 2;
        }
        if (strcmp(a.type, "coin") != 0 && strcmp(a.type, "time") != 0) {
            fprintf(stderr, S_PROGRAM ": package add: --type must be coin or time\n");
            return 2;
        }
        *type = PM_MSG_ADMIN_PACKAGE_PUT;
        return s_pack_put(pk, &a, &cur, true) == 0 ? 0 : 2;
    }
    if (strcmp(sub, "update") == 0) {
        if (a.type) {
            fprintf(stderr, S_PROGRAM ": package update: the type of a package cannot change\n");
            return 2;
        }
        char endpoint[256];
        s_endpoint(endpoint, sizeof endpoint);
        if (s_fetch_current(endpoint, s_cfg[CFG_TIMEOUT_MS].ival, a.sku, &cur) != 0)
            return 1;
        *type = PM_MSG_ADMIN_PACKAGE_PUT;
        return s_pack_put(pk, &a, &cur, false) == 0 ? 0 : 2;
    }
    fprintf(stderr, S_PROGRAM ": package: unknown subcommand '%s'\n", sub);
    return 2;
}

/* ---- checkout and retry commands ----------------------------------------- */

/* Unix ms as ISO-8601 UTC into out ("-" for nil). */
static const char *s_time(const msgpack_object *o, char *out, size_t cap)
{
    if (!o || (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER &&
               o->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)) {
        snprintf(out, cap, "-");
        return out;
    }
    int64_t ms = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t)o->via.u64 : o->via.i64;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[32];
    if (!gmtime_r(&t, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(out, cap, "%" PRId64, ms);
        return out;
    }
    snprintf(out, cap, "%s.%03dZ", buf, (int)(ms % 1000));
    return out;
}

/* A str field as text ("-" for nil or absent). */
static const char *s_text(const msgpack_object *map, const char *key, char *out, size_t cap)
{
    const msgpack_object *o = pm_mp_get(map, key);
    if (o && o->type == MSGPACK_OBJECT_STR)
        snprintf(out, cap, "%.*s", (int)o->via.str.size, o->via.str.ptr);
    else if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        snprintf(out, cap, "%" PRIu64, o->via.u64);
    else if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        snprintf(out, cap, "%" PRId64, o->via.i64);
    else if (o && o->type == MSGPACK_OBJECT_BOOLEAN)
        snprintf(out, cap, "%s", o->via.boolean ? "yes" : "no");
    else
        snprintf(out, cap, "-");
    return out;
}

/* order show: a bank order invoice (seed 004, or a payment's bank leg). */
static int s_print_order(const msgpack_object *body)
{
    const msgpack_object *o = pm_mp_get(body, "invoice");
    if (!o || o->type != MSGPACK_OBJECT_MAP) {
        fprintf(stderr, S_PROGRAM ": malformed reply: no invoice\n");
        return -1;
    }
    char a[256], b[256], c[256], d[2100], t1[40], t2[40];
    printf("order %s  state %s (type %s)  bank %s\n", s_text(o, "reg_no", a, sizeof a),
           s_text(o, "state", b, sizeof b), s_text(o, "type_id", c, sizeof c),
           s_text(o, "payment_type", d, sizeof d));
    printf("  principal %s  total %s minor units %s  payment %s\n",
           s_text(o, "principal", a, sizeof a), s_text(o, "total_minor", b, sizeof b),
           s_text(o, "currency", c, sizeof c), s_text(o, "payment_id", d, sizeof d));
    printf("  bank order %s  bank says %s  registrations %s  deposits %s  two-phase %s\n",
           s_text(o, "order_id", a, sizeof a), s_text(o, "bank_state", b, sizeof b),
           s_text(o, "registrations", c, sizeof c), s_text(o, "deposits", t1, sizeof t1),
           s_text(o, "two_phase", t2, sizeof t2));
    printf("  payer URL %s\n", s_text(o, "checkout_url", d, sizeof d));
    printf("  created %s  paid %s\n", s_time(pm_mp_get(o, "created_ms"), t1, sizeof t1),
           s_time(pm_mp_get(o, "paid_ms"), t2, sizeof t2));
    const msgpack_object *ls = pm_mp_get(o, "lines");
    uint32_t n = ls && ls->type == MSGPACK_OBJECT_ARRAY ? ls->via.array.size : 0;
    printf("  %u lines:\n", n);
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *x = &ls->via.array.ptr[i];
        printf("    %s x %s at %s\n", s_text(x, "count", a, sizeof a),
               s_text(x, "name", b, sizeof b), s_text(x, "price_minor", c, sizeof c));
    }
    return 0;
}

static int s_print_checkout(const msgpack_object *body)
{
    const msgpack_object *c = pm_mp_get(body, "checkout");
    if (!c || c->type != MSGPACK_OBJECT_MAP) {
        fprintf(stderr, S_PROGRAM ": malformed reply: no checkout\n");
        return -1;
    }
    char a[256], b[256], d[256], e[64], t1[40], t2[40];
    printf("checkout %s  serial %s  state %s\n", s_text(c, "token", a, sizeof a),
           s_text(c, "serial", b, sizeof b), s_text(c, "state", d, sizeof d));
    printf("  principal %s  package %s  amount %s rials\n", s_text(c, "principal", a, sizeof a),
           s_text(c, "sku", b, sizeof b), s_text(c, "amount", d, sizeof d));
    printf("  created %s  delivered %s\n", s_time(pm_mp_get(c, "created_ms"), t1, sizeof t1),
           s_time(pm_mp_get(c, "delivered_ms"), t2, sizeof t2));
    printf("  coins after %s  subscription until %s  commits %s  refunds %s\n",
           s_text(c, "coins_after", a, sizeof a),
           s_time(pm_mp_get(c, "subscription_until_ms"), t1, sizeof t1),
           s_text(c, "commits", b, sizeof b), s_text(c, "refunds", e, sizeof e));
    printf("  refund asked %s (%s)  delivery reversed %s\n",
           s_text(c, "refund_requested", a, sizeof a), s_text(c, "refund_reason", b, sizeof b),
           s_text(c, "reversed", d, sizeof d));
    const msgpack_object *at = pm_mp_get(c, "attempts");
    uint32_t n = at && at->type == MSGPACK_OBJECT_ARRAY ? at->via.array.size : 0;
    printf("  %u attempts toward BazaarPay:\n", n);
    printf("    %-24s  %-6s  %-13s  %s\n", "at", "call", "outcome", "detail");
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *x = &at->via.array.ptr[i];
        printf("    %-24s  %-6s  %-13s  %s\n", s_time(pm_mp_get(x, "at_ms"), t1, sizeof t1),
               s_text(x, "call", a, sizeof a), s_text(x, "outcome", b, sizeof b),
               s_text(x, "detail", d, sizeof d));
    }
    return 0;
}

static int s_print_retry_list(const msgpack_object *body)
{
    const msgpack_object *items = pm_mp_get(body, "items");
    if (!items || items->type != MSGPACK_OBJECT_ARRAY) {
        fprintf(stderr, S_PROGRAM ": malformed reply: no items\n");
        return -1;
    }
    printf("%-36s  %-16s  %-8s  %7s  %-24s  %-13s  %-20s  %s\n", "id", "kind", "state", "attempt",
           "due", "outcome", "ref", "reason");
    for (uint32_t i = 0; i < items->via.array.size; i++) {
        const msgpack_object *x = &items->via.array.ptr[i];
        char id[64], kind[64], st[32], att[32], out[32], ref[96], why[256], due[40];
        printf("%-36s  %-16s  %-8s  %7s  %-24s  %-13s  %-20s  %s\n", s_text(x, "id", id, sizeof id),
               s_text(x, "kind", kind, sizeof kind), s_text(x, "state", st, sizeof st),
               s_text(x, "attempt", att, sizeof att),
               s_time(pm_mp_get(x, "due_ms"), due, sizeof due),
               s_text(x, "outcome", out, sizeof out), s_text(x, "ref", ref, sizeof ref),
               s_text(x, "reason", why, sizeof why));
    }
    printf("(%u items)\n", items->via.array.size);
    return 0;
}

/* checkout show TOKEN [--json] / retry list|now|park ...: *type and body;
 * 0, or 2 on a usage error. */
static int s_build_ops_cmd(int argc, char **argv, int rest, uint32_t *type, msgpack_packer *pk,
                           bool *json)
{
    const char *cmd = argv[rest];
    const char *sub = rest + 1 < argc ? argv[rest + 1] : "";
    const char *arg = NULL, *max = NULL;
    for (int i = rest + 2; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--json") == 0) {
            *json = true;
        } else if (s_flag(argc, argv, &i, "max", &v)) {
            if (!v) {
                fprintf(stderr, S_PROGRAM ": --max needs a value\n");
                return 2;
            }
            max = v;
        } else if (!arg && argv[i][0] != '-') {
            arg = argv[i];
        } else {
            fprintf(stderr, S_PROGRAM ": %s %s: unexpected argument '%s'\n", cmd, sub, argv[i]);
            return 2;
        }
    }
    if (strcmp(cmd, "order") == 0) {
        if (strcmp(sub, "show") != 0 || !arg || max) {
            fprintf(stderr, S_PROGRAM ": usage: order show REG_NO [--json]\n");
            return 2;
        }
        *type = PM_MSG_ADMIN_ORDER_SHOW;
        msgpack_pack_map(pk, 1);
        pm_mp_pack_cstr(pk, "reg_no");
        pm_mp_pack_cstr(pk, arg);
        return 0;
    }
    if (strcmp(cmd, "checkout") == 0) {
        if (strcmp(sub, "show") != 0 || !arg || max) {
            fprintf(stderr, S_PROGRAM ": usage: checkout show TOKEN [--json]\n");
            return 2;
        }
        *type = PM_MSG_ADMIN_CHECKOUT_SHOW;
        msgpack_pack_map(pk, 1);
        pm_mp_pack_cstr(pk, "checkout_token");
        pm_mp_pack_cstr(pk, arg);
        return 0;
    }
    if (strcmp(sub, "list") == 0 && !arg) {
        int64_t n = 100;
        if (max && s_parse_int(max, "--max", &n) != 0)
            return 2;
        *type = PM_MSG_ADMIN_RETRY_LIST;
        msgpack_pack_map(pk, 1);
        pm_mp_pack_cstr(pk, "max");
        msgpack_pack_int64(pk, n);
        return 0;
    }
    if ((strcmp(sub, "now") == 0 || strcmp(sub, "park") == 0) && arg && !max) {
        *type = strcmp(sub, "now") == 0 ? PM_MSG_ADMIN_RETRY_NOW : PM_MSG_ADMIN_RETRY_PARK;
        msgpack_pack_map(pk, 1);
        pm_mp_pack_cstr(pk, "id");
        pm_mp_pack_cstr(pk, arg);
        return 0;
    }
    fprintf(stderr, S_PROGRAM ": usage: retry list [--max N] [--json] | retry now ID | "
                              "retry park ID\n");
    return 2;
}

/* ---- daily operations: tokens, payments, stats --------------------------- */

static int s_print_tokens(const msgpack_object *body, const char *key)
{
    const msgpack_object *list = pm_mp_get(body, key);
    if (!list || list->type != MSGPACK_OBJECT_ARRAY) {
        fprintf(stderr, S_PROGRAM ": malformed reply: no %s\n", key);
        return -1;
    }
    printf("%-16s  %-32s  %-7s  %s\n", "id", "principal", "role", "created");
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        const msgpack_object *t = &list->via.array.ptr[i];
        char id[32], who[PM_PRINCIPAL_MAX + 1], role[16], at[40];
        printf("%-16s  %-32s  %-7s  %s\n", s_text(t, "id", id, sizeof id),
               s_text(t, "principal", who, sizeof who), s_text(t, "role", role, sizeof role),
               s_time(pm_mp_get(t, "created_ms"), at, sizeof at));
    }
    const msgpack_object *tr = pm_mp_get(body, "truncated");
    printf("(%u tokens%s)\n", list->via.array.size,
           tr && tr->type == MSGPACK_OBJECT_BOOLEAN && tr->via.boolean ? "; more not shown" : "");
    return 0;
}

/* An amount in minor units as major units, with its currency's decimals
 * (BTC has 8, IRR none), as the API writes it. */
static const char *s_amount(const msgpack_object *p, char *out, size_t cap)
{
    int64_t m;
    char code[8];
    const pm_currency_t *cur = NULL;
    if (pm_mp_get_int(p, "amount_minor", &m) == 0 && m >= 0 &&
        pm_mp_copy_str(p, "currency", code, sizeof code) == 0)
        cur = pm_currency_find(code, strlen(code));
    if (!cur || pm_money_format(m, cur->exponent, out, cap) < 0)
        snprintf(out, cap, "-");
    return out;
}

static int s_print_payment(const msgpack_object *body)
{
    const msgpack_object *p = pm_mp_get(body, "payment");
    if (!p || p->type != MSGPACK_OBJECT_MAP) {
        fprintf(stderr, S_PROGRAM ": malformed reply: no payment\n");
        return -1;
    }
    char a[PM_PRINCIPAL_MAX + 1], b[160], c[64], t1[40], t2[40];
    printf("payment %s  status %s\n", s_text(p, "id", a, sizeof a),
           s_text(p, "status", c, sizeof c));
    printf("  amount %s %s\n", s_amount(p, b, sizeof b), s_text(p, "currency", c, sizeof c));
    printf("  sender %s  method %s\n", s_text(p, "sender_id", a, sizeof a),
           s_text(p, "sender_method", b, sizeof b));
    printf("  recipient %s  method %s\n", s_text(p, "recipient_id", a, sizeof a),
           s_text(p, "recipient_method", b, sizeof b));
    printf("  created %s  updated %s  cancel reason %s\n",
           s_time(pm_mp_get(p, "created_ms"), t1, sizeof t1),
           s_time(pm_mp_get(p, "updated_ms"), t2, sizeof t2),
           s_text(p, "cancel_reason", c, sizeof c));
    const msgpack_object *bank = pm_mp_get(body, "bank");
    if (bank && bank->type == MSGPACK_OBJECT_MAP) {
        char url[600];
        printf("  bank %s  reg_no %s  order %s  state %s  registrations %s\n",
               s_text(bank, "name", a, sizeof a), s_text(bank, "reg_no", b, sizeof b),
               s_text(bank, "order_id", t1, sizeof t1), s_text(bank, "state", c, sizeof c),
               s_text(bank, "registrations", t2, sizeof t2));
        printf("  payment url %s\n", s_text(bank, "payment_url", url, sizeof url));
    }
    return 0;
}

static int s_print_payment_list(const msgpack_object *body)
{
    const msgpack_object *list = pm_mp_get(body, "payments");
    if (!list || list->type != MSGPACK_OBJECT_ARRAY) {
        fprintf(stderr, S_PROGRAM ": malformed reply: no payments\n");
        return -1;
    }
    printf("%-36s  %-15s  %20s  %-3s  %-20s  %-20s  %s\n", "id", "status", "amount", "cur",
           "sender", "recipient", "created");
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        const msgpack_object *p = &list->via.array.ptr[i];
        char id[64], st[24], amt[32], cur[8], snd[PM_PRINCIPAL_MAX + 1], rcp[PM_PRINCIPAL_MAX + 1],
            at[40];
        printf("%-36s  %-15s  %20s  %-3s  %-20s  %-20s  %s\n", s_text(p, "id", id, sizeof id),
               s_text(p, "status", st, sizeof st), s_amount(p, amt, sizeof amt),
               s_text(p, "currency", cur, sizeof cur), s_text(p, "sender_id", snd, sizeof snd),
               s_text(p, "recipient_id", rcp, sizeof rcp),
               s_time(pm_mp_get(p, "created_ms"), at, sizeof at));
    }
    char next[64];
    s_text(body, "next", next, sizeof next);
    if (strcmp(next, "-") != 0)
        printf("(%u payments; older ones: --before %s)\n", list->via.array.size, next);
    else
        printf("(%u payments)\n", list->via.array.size);
    return 0;
}

/* stats --table: one count a line. */
static int s_print_stats_table(const msgpack_object *body)
{
    if (!body || body->type != MSGPACK_OBJECT_MAP)
        return -1;
    for (uint32_t i = 0; i < body->via.map.size; i++) {
        const msgpack_object_kv *kv = &body->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR ||
            (kv->key.via.str.size == 3 && memcmp(kv->key.via.str.ptr, "err", 3) == 0))
            continue;
        char key[64], v[32];
        snprintf(key, sizeof key, "%.*s", (int)kv->key.via.str.size, kv->key.via.str.ptr);
        printf("%-20s  %s\n", key, s_text(body, key, v, sizeof v));
    }
    return 0;
}

/* token list|revoke, payment show|list: *type and body; 0, or 2 on a
 * usage error. */
static int s_build_daily_cmd(int argc, char **argv, int rest, uint32_t *type, msgpack_packer *pk,
                             bool *json)
{
    const char *cmd = argv[rest];
    const char *sub = rest + 1 < argc ? argv[rest + 1] : "";
    static const char *names[] = {"principal", "id", "state", "max", "before"};
    const char *vals[5] = {NULL, NULL, NULL, NULL, NULL};
    const char *arg = NULL;
    for (int i = rest + 2; i < argc; i++) {
        const char *v = NULL;
        size_t k = 0;
        if (strcmp(argv[i], "--json") == 0) {
            *json = true;
            continue;
        }
        for (; k < 5; k++)
            if (s_flag(argc, argv, &i, names[k], &v))
                break;
        if (k == 5 && !arg && argv[i][0] != '-') {
            arg = argv[i];
            continue;
        }
        if (k == 5 || !v || !v[0]) {
            fprintf(stderr, S_PROGRAM ": %s %s: unexpected or empty argument '%s'\n", cmd, sub,
                    argv[i]);
            return 2;
        }
        vals[k] = v;
    }
    const char *principal = vals[0], *id = vals[1], *state = vals[2], *max = vals[3],
               *before = vals[4];
    bool token = strcmp(cmd, "token") == 0;
    if (token && strcmp(sub, "list") == 0 && !arg && !id && !state && !max && !before) {
        *type = PM_MSG_ADMIN_TOKEN_LIST;
        msgpack_pack_map(pk, principal ? 1 : 0);
        if (principal) {
            pm_mp_pack_cstr(pk, "principal");
            pm_mp_pack_cstr(pk, principal);
        }
        return 0;
    }
    if (token && strcmp(sub, "revoke") == 0 && !arg && !state && !max && !before && !*json) {
        if (!principal == !id) {
            fprintf(stderr, S_PROGRAM ": token revoke: give --principal P or --id ID\n");
            return 2;
        }
        *type = PM_MSG_ADMIN_TOKEN_REVOKE;
        msgpack_pack_map(pk, 1);
        pm_mp_pack_cstr(pk, principal ? "principal" : "id");
        pm_mp_pack_cstr(pk, principal ? principal : id);
        return 0;
    }
    if (!token && strcmp(sub, "show") == 0 && arg && !principal && !id && !state && !max &&
        !before) {
        *type = PM_MSG_ADMIN_PAYMENT_SHOW;
        msgpack_pack_map(pk, 1);
        pm_mp_pack_cstr(pk, "id");
        pm_mp_pack_cstr(pk, arg);
        return 0;
    }
    if (!token && strcmp(sub, "list") == 0 && !arg && !principal && !id) {
        int64_t n = 100;
        if (max && s_parse_int(max, "max", &n) != 0)
            return 2;
        if (n < 1 || n > 1000) {
            fprintf(stderr, S_PROGRAM ": payment list: --max must be 1 to 1000\n");
            return 2;
        }
        *type = PM_MSG_ADMIN_PAYMENT_LIST;
        msgpack_pack_map(pk, 1 + (state != NULL) + (before != NULL));
        pm_mp_pack_cstr(pk, "max");
        msgpack_pack_int64(pk, n);
        if (state) {
            pm_mp_pack_cstr(pk, "status");
            pm_mp_pack_cstr(pk, state);
        }
        if (before) {
            pm_mp_pack_cstr(pk, "before");
            pm_mp_pack_cstr(pk, before);
        }
        return 0;
    }
    if (token)
        fprintf(stderr, S_PROGRAM ": usage: token create ... | token list [--principal P] "
                                  "[--json] | token revoke (--principal P | --id ID)\n");
    else
        fprintf(stderr, S_PROGRAM ": usage: payment show ID [--json] | payment list [--state S] "
                                  "[--max N] [--before ID] [--json]\n");
    return 2;
}

/* regno-type add ... | regno-type list: *type and body; 0, or 2 on a
 * usage error. */
static int s_build_regno_cmd(int argc, char **argv, int rest, uint32_t *type, msgpack_packer *pk)
{
    const char *sub = rest + 1 < argc ? argv[rest + 1] : "";
    if (strcmp(sub, "list") == 0 && rest + 2 == argc) {
        *type = PM_MSG_ADMIN_REGNO_TYPE_LIST;
        msgpack_pack_map(pk, 0);
        return 0;
    }
    if (strcmp(sub, "add") != 0) {
        fprintf(stderr, S_PROGRAM ": usage: regno-type add ... | regno-type list\n");
        return 2;
    }
    static const char *names[] = {"id", "name", "prefix", "length", "alphabet"};
    const char *vals[5] = {NULL, NULL, "", NULL, NULL};
    for (int i = rest + 2; i < argc; i++) {
        const char *v = NULL;
        size_t k = 0;
        for (; k < 5; k++)
            if (s_flag(argc, argv, &i, names[k], &v))
                break;
        if (k == 5 || !v) {
            fprintf(stderr, S_PROGRAM ": regno-type add: unexpected or empty argument '%s'\n",
                    argv[i]);
            return 2;
        }
        vals[k] = v;
    }
    int64_t id = 0, length = 0;
    if (!vals[0] || !vals[1] || !vals[3] || !vals[4]) {
        fprintf(stderr, S_PROGRAM ": regno-type add: --id, --name, --length and --alphabet are "
                                  "required\n");
        return 2;
    }
    if (s_parse_int(vals[0], "--id", &id) != 0 || s_parse_int(vals[3], "--length", &length) != 0)
        return 2;
    *type = PM_MSG_ADMIN_REGNO_TYPE_PUT;
    msgpack_pack_map(pk, 6);
    pm_mp_pack_cstr(pk, "id");
    msgpack_pack_int64(pk, id);
    pm_mp_pack_cstr(pk, "name");
    pm_mp_pack_cstr(pk, vals[1]);
    pm_mp_pack_cstr(pk, "prefix");
    pm_mp_pack_cstr(pk, vals[2]);
    pm_mp_pack_cstr(pk, "length");
    msgpack_pack_int64(pk, length);
    pm_mp_pack_cstr(pk, "alphabet");
    pm_mp_pack_cstr(pk, vals[4]);
    pm_mp_pack_cstr(pk, "create");
    msgpack_pack_true(pk);
    return 0;
}

/* method add --id ID --principal P[,P...] --bank B --currency C[,C...] |
 * method list [--principal P]: sends one ADMIN_METHOD_PUT per principal (or
 * one list) and prints each answer as a JSON line. Returns the exit status:
 * 0, 1 when payment-core refused or did not answer, 2 on a usage error. */
static int s_method_cmd(int argc, char **argv, int rest)
{
    const char *sub = rest + 1 < argc ? argv[rest + 1] : "";
    bool add = strcmp(sub, "add") == 0;
    if (!add && strcmp(sub, "list") != 0) {
        fprintf(stderr, S_PROGRAM ": usage: method add ... | method list [--principal P]\n");
        return 2;
    }
    static const char *names[] = {"id", "principal", "bank", "currency"};
    const char *vals[4] = {NULL, NULL, NULL, NULL};
    for (int i = rest + 2; i < argc; i++) {
        const char *v = NULL;
        size_t k = 0;
        for (; k < 4; k++)
            if ((add || k == 1) && s_flag(argc, argv, &i, names[k], &v))
                break;
        if (k == 4 || !v || !v[0]) {
            fprintf(stderr, S_PROGRAM ": method %s: unexpected or empty argument '%s'\n", sub,
                    argv[i]);
            return 2;
        }
        vals[k] = v;
    }
    if (add && (!vals[0] || !vals[1] || !vals[2] || !vals[3])) {
        fprintf(stderr, S_PROGRAM ": method add: --id, --principal, --bank and --currency are "
                                  "required\n");
        return 2;
    }
    char endpoint[256];
    s_endpoint(endpoint, sizeof endpoint);
    pm_log_init(S_PROGRAM, PM_LOG_WARN);
    pm_sock_init();
    int status = 0;
    /* add: one call per principal of the comma-separated list. */
    const char *p = vals[1] ? vals[1] : "";
    do {
        size_t n = add ? strcspn(p, ",") : strlen(p);
        msgpack_sbuffer body;
        msgpack_sbuffer_init(&body);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, add ? 4 : (n ? 1 : 0));
        if (n) {
            pm_mp_pack_cstr(&pk, "principal");
            msgpack_pack_str(&pk, n);
            msgpack_pack_str_body(&pk, p, n);
        }
        if (add) {
            pm_mp_pack_cstr(&pk, "id");
            pm_mp_pack_cstr(&pk, vals[0]);
            pm_mp_pack_cstr(&pk, "bank");
            pm_mp_pack_cstr(&pk, vals[2]);
            pm_mp_pack_cstr(&pk, "currencies");
            pm_mp_pack_cstr(&pk, vals[3]);
        }
        pm_envelope_t *reply =
            s_call(endpoint, s_cfg[CFG_TIMEOUT_MS].ival,
                   add ? PM_MSG_ADMIN_METHOD_PUT : PM_MSG_ADMIN_METHOD_LIST, &body);
        msgpack_sbuffer_destroy(&body);
        if (!reply || s_check(reply) != 0 ||
            s_print_json(pm_envelope_body(reply), add ? "method" : "methods") != 0)
            status = 1;
        pm_envelope_destroy(&reply);
        p += n;
    } while (status == 0 && *p++ == ',' && add);
    zsys_shutdown();
    return status;
}

/* backup --to FILE: copies the store in --data-dir to FILE (backup.h) and
 * prints {"file", "bytes", "ms", "payments"}. Returns the exit status. */
static int s_backup_cmd(int argc, char **argv, int rest)
{
    const char *to = NULL;
    for (int i = rest + 1; i < argc; i++) {
        const char *v = NULL;
        const char *arg = argv[i];
        if (!s_flag(argc, argv, &i, "to", &v) || !v || !v[0] || to) {
            fprintf(stderr, S_PROGRAM ": backup: takes exactly one --to FILE (at '%s')\n", arg);
            return 2;
        }
        to = v;
    }
    if (!to) {
        fprintf(stderr, S_PROGRAM ": backup: --to FILE is required\n");
        return 2;
    }
    backup_result_t r;
    char why[PATH_MAX + 256];
    int rc = backup_copy(s_cfg[CFG_DATA_DIR].sval, to, &r, why, sizeof why);
    if (rc != 0) {
        fprintf(stderr, S_PROGRAM ": backup failed: %s\n", why);
        return 1;
    }
    json_object *j = json_object_new_object();
    json_object_object_add(j, "file", json_object_new_string(to));
    json_object_object_add(j, "bytes", json_object_new_int64((int64_t)r.bytes));
    json_object_object_add(j, "ms", json_object_new_int64(r.ms));
    json_object_object_add(j, "payments", json_object_new_int64((int64_t)r.payments));
    puts(
        json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
    return 0;
}

/* keygen --out DIR --name NAME: a new CURVE key pair as CZMQ certificates,
 * NAME.key (public and secret key, mode 600) and NAME.pub (public key
 * only), never over existing files. Prints the public key (Z85). */
static int s_keygen_cmd(int argc, char **argv, int rest)
{
    const char *out = NULL, *name = NULL;
    for (int i = rest + 1; i < argc; i++) {
        const char *v = NULL;
        if (s_flag(argc, argv, &i, "out", &v))
            out = v;
        else if (s_flag(argc, argv, &i, "name", &v))
            name = v;
        else {
            fprintf(stderr, S_PROGRAM ": keygen: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
        if (!v) {
            fprintf(stderr, S_PROGRAM ": keygen: %s needs a value\n", argv[i]);
            return 2;
        }
    }
    if (!out || !out[0] || !name || !name[0]) {
        fprintf(stderr, S_PROGRAM ": keygen: --out and --name are required\n");
        return 2;
    }
    for (const char *c = name; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.') ||
            name[0] == '.') {
            fprintf(stderr, S_PROGRAM ": keygen: --name: letters, digits, '-', '_', '.' only\n");
            return 2;
        }
    char key[1024], pub[1024];
    if (snprintf(key, sizeof key, "%s/%s.key", out, name) >= (int)sizeof key ||
        snprintf(pub, sizeof pub, "%s/%s.pub", out, name) >= (int)sizeof pub) {
        fprintf(stderr, S_PROGRAM ": keygen: path too long\n");
        return 2;
    }
    if (access(key, F_OK) == 0 || access(pub, F_OK) == 0) {
        fprintf(stderr, S_PROGRAM ": keygen: %s or %s exists; not overwritten\n", key, pub);
        return 1;
    }
    zcert_t *cert = zcert_new();
    if (!cert) {
        fprintf(stderr, S_PROGRAM ": keygen: cannot make a key pair\n");
        return 1;
    }
    zcert_set_meta(cert, "name", "%s", name);
    zcert_set_meta(cert, "created-by", "paymentctl keygen");
    mode_t old = umask(077);
    int rc = zcert_save_secret(cert, key);
    umask(old);
    if (rc == 0 && chmod(key, 0600) != 0)
        rc = -1;
    if (rc != 0) {
        fprintf(stderr, S_PROGRAM ": keygen: cannot write %s: %s\n", key, strerror(errno));
        zcert_destroy(&cert);
        return 1;
    }
    if (zcert_save_public(cert, pub) != 0) {
        fprintf(stderr, S_PROGRAM ": keygen: cannot write %s: %s\n", pub, strerror(errno));
        unlink(key);
        zcert_destroy(&cert);
        return 1;
    }
    printf("%s\n", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return 0;
}

int main(int argc, char **argv)
{
    int rest = argc;
    int rc = pm_config_load(s_cfg, CFG__COUNT, argc, argv, S_PROGRAM, &rest);
    if (rc > 0) {
        printf(
            "\ncommands:\n"
            "  token create --principal ID [--role user|service]   print a new API token\n"
            "  token list [--principal P] [--json]                  tokens: id, principal, role,\n"
            "                                                       created (never the token)\n"
            "  token revoke (--principal P | --id ID)               revoke a token, or all of P's\n"
            "  payment show ID [--json]                             any payment, its bank leg\n"
            "  payment list [--state S] [--max N] [--before ID] [--json]\n"
            "                                                       payments, newest first\n"
            "  stats [--table]                                      counts, as JSON (or a table)\n"
            "  ping                                                 is payment-core there?\n"
            "  package add --sku SKU --name NAME --price N --type coin|time\n"
            "          (--coins N | --days N) [--icon URL] [--platforms android,ios]\n"
            "  package update --sku SKU [--name ..] [--price ..] [--icon ..] [--coins ..]\n"
            "          [--days ..] [--platforms ..]                  change a package\n"
            "  package retire --sku SKU                             stop selling it\n"
            "  package list                                         every package, as JSON\n"
            "  balance --principal ID                               balance and ledger, as "
            "JSON\n"
            "  checkout show TOKEN [--json]                         a BazaarPay checkout and "
            "every attempt\n"
            "  order show REG_NO [--json]                           a bank order invoice (or a "
            "payment\'s bank leg)\n"
            "  retry list [--max N] [--json]                        retries due and parked, "
            "oldest first\n"
            "  retry now ID                                         queue a job now\n"
            "  retry park ID                                        park a job for an operator\n"
            "  regno-type add --id N --name NAME --length N --alphabet CHARS [--prefix P]\n"
            "  regno-type list                                      registration number types\n"
            "  method add --id ID --principal P[,P...] --bank halkbank|foreign_affairs_bank|none\n"
            "          --currency CUR[,CUR...]                      a recipient's payment method\n"
            "  method list [--principal P]                          payment methods, as JSON\n"
            "  backup --to FILE                                     copy the store in --data-dir\n"
            "          (payment-core may run) to the new FILE, compacted; prints\n"
            "          {\"file\",\"bytes\",\"ms\",\"payments\"}\n"
            "  keygen --out DIR --name NAME                         a CURVE key pair (zcert "
            "text):\n"
            "          DIR/NAME.key (both keys, mode 600) and DIR/NAME.pub (public key); prints\n"
            "          the public key\n");
        return 0;
    }
    if (rc < 0)
        return 2;
    if (rest >= argc)
        return s_usage("a command is required");
    const char *cmd = argv[rest];

    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    uint32_t type;
    int status = 2;
    bool json = false;
    bool table = false;
    if ((strcmp(cmd, "token") == 0 && rest + 1 < argc && strcmp(argv[rest + 1], "create") != 0) ||
        strcmp(cmd, "payment") == 0) {
        if (s_build_daily_cmd(argc, argv, rest, &type, &pk, &json) != 0)
            goto usage;
    } else if (strcmp(cmd, "token") == 0) {
        if (rest + 1 >= argc) {
            status = s_usage("token: create, list or revoke");
            goto destroy_body;
        }
        const char *principal = NULL, *role = "user";
        for (int i = rest + 2; i < argc; i++) {
            const char *v = NULL;
            if (s_flag(argc, argv, &i, "principal", &v))
                principal = v;
            else if (s_flag(argc, argv, &i, "role", &v))
                role = v;
            else {
                fprintf(stderr, S_PROGRAM ": token create: unexpected argument '%s'\n", argv[i]);
                goto usage;
            }
            if (!v) {
                fprintf(stderr, S_PROGRAM ": token create: %s needs a value\n", argv[i]);
                goto usage;
            }
        }
        if (!principal || !principal[0]) {
            fprintf(stderr, S_PROGRAM ": token create: --principal is required\n");
            goto usage;
        }
        if (strcmp(role, "user") != 0 && strcmp(role, "service") != 0) {
            fprintf(stderr, S_PROGRAM ": token create: --role must be user or service\n");
            goto usage;
        }
        type = PM_MSG_ADMIN_TOKEN_CREATE;
        msgpack_pack_map(&pk, 2);
        pm_mp_pack_cstr(&pk, "principal");
        pm_mp_pack_cstr(&pk, principal);
        pm_mp_pack_cstr(&pk, "role");
        pm_mp_pack_cstr(&pk, role);
    } else if (strcmp(cmd, "stats") == 0 || strcmp(cmd, "ping") == 0) {
        table =
            strcmp(cmd, "stats") == 0 && rest + 2 == argc && strcmp(argv[rest + 1], "--table") == 0;
        if (rest + 1 < argc && !table) {
            fprintf(stderr, S_PROGRAM ": %s: unexpected argument '%s'\n", cmd, argv[rest + 1]);
            goto usage;
        }
        type = strcmp(cmd, "stats") == 0 ? PM_MSG_ADMIN_STATS : PM_MSG_PING;
        msgpack_pack_map(&pk, 0);
    } else if (strcmp(cmd, "package") == 0 || strcmp(cmd, "balance") == 0) {
        pm_log_init(S_PROGRAM, PM_LOG_WARN);
        pm_sock_init();
        int brc = s_build_store_cmd(argc, argv, rest, &type, &pk);
        if (brc == 2)
            goto usage;
        if (brc != 0) {
            status = brc;
            zsys_shutdown();
            goto destroy_body;
        }
    } else if (strcmp(cmd, "method") == 0) {
        status = s_method_cmd(argc, argv, rest);
        if (status == 2)
            goto usage;
        goto destroy_body;
    } else if (strcmp(cmd, "keygen") == 0) {
        status = s_keygen_cmd(argc, argv, rest);
        if (status == 2)
            goto usage;
        goto destroy_body;
    } else if (strcmp(cmd, "backup") == 0) {
        status = s_backup_cmd(argc, argv, rest);
        if (status == 2)
            goto usage;
        goto destroy_body;
    } else if (strcmp(cmd, "regno-type") == 0) {
        if (s_build_regno_cmd(argc, argv, rest, &type, &pk) != 0)
            goto usage;
    } else if (strcmp(cmd, "checkout") == 0 || strcmp(cmd, "retry") == 0 ||
               strcmp(cmd, "order") == 0) {
        if (s_build_ops_cmd(argc, argv, rest, &type, &pk, &json) != 0)
            goto usage;
    } else {
        fprintf(stderr, S_PROGRAM ": unknown command '%s'\n", cmd);
        goto usage;
    }

    char endpoint[256];
    s_endpoint(endpoint, sizeof endpoint);
    pm_log_init(S_PROGRAM, PM_LOG_WARN);
    pm_sock_init();
    status = 1;
    pm_envelope_t *reply = s_call(endpoint, s_cfg[CFG_TIMEOUT_MS].ival, type, &body);
    if (!reply)
        goto shutdown_sockets;
    if (s_check(reply) == 0) {
        const msgpack_object *rb = pm_envelope_body(reply);
        if (type == PM_MSG_ADMIN_TOKEN_CREATE)
            status = s_print_str(rb, "token") == 0 ? 0 : 1;
        else if (type == PM_MSG_ADMIN_STATS)
            status = (table ? s_print_stats_table(rb) : s_print_stats(rb)) == 0 ? 0 : 1;
        else if (type == PM_MSG_ADMIN_TOKEN_LIST)
            status =
                (json ? s_print_json(rb, "tokens") : s_print_tokens(rb, "tokens")) == 0 ? 0 : 1;
        else if (type == PM_MSG_ADMIN_TOKEN_REVOKE)
            status = s_print_tokens(rb, "revoked") == 0 ? 0 : 1;
        else if (type == PM_MSG_ADMIN_PAYMENT_SHOW)
            status = (json ? s_print_json(rb, NULL) : s_print_payment(rb)) == 0 ? 0 : 1;
        else if (type == PM_MSG_ADMIN_PAYMENT_LIST)
            status = (json ? s_print_json(rb, NULL) : s_print_payment_list(rb)) == 0 ? 0 : 1;
        else if (type == PM_MSG_ADMIN_PACKAGE_LIST)
            status = s_print_json(rb, "packages") == 0 ? 0 : 1;
        else if (type == PM_MSG_ADMIN_PACKAGE_PUT || type == PM_MSG_ADMIN_PACKAGE_RETIRE)
            status = s_print_json(rb, "package") == 0 ? 0 : 1;
        else if (type == PM_MSG_ADMIN_BALANCE)
            status = s_print_json(rb, NULL) == 0 ? 0 : 1;
        else if (type == PM_MSG_ADMIN_ORDER_SHOW)
            status = (json ? s_print_json(rb, "invoice") : s_print_order(rb)) == 0 ? 0 : 1;
        else if (type == PM_MSG_ADMIN_CHECKOUT_SHOW)
            status = (json ? s_print_json(rb, "checkout") : s_print_checkout(rb)) == 0 ? 0 : 1;
        else if (type == PM_MSG_ADMIN_RETRY_LIST)
            status = (json ? s_print_json(rb, "items") : s_print_retry_list(rb)) == 0 ? 0 : 1;
        else if (type == PM_MSG_ADMIN_REGNO_TYPE_LIST)
            status = s_print_json(rb, "types") == 0 ? 0 : 1;
        else if (type == PM_MSG_ADMIN_REGNO_TYPE_PUT)
            status = s_print_json(rb, "type") == 0 ? 0 : 1;
        else if (type == PM_MSG_ADMIN_RETRY_NOW || type == PM_MSG_ADMIN_RETRY_PARK)
            status = s_print_json(rb, NULL) == 0 ? 0 : 1;
        else
            status = puts("ok") >= 0 ? 0 : 1;
    }
    pm_envelope_destroy(&reply);
shutdown_sockets:
    zsys_shutdown();
    goto destroy_body;
usage:
    status = s_usage(NULL);
destroy_body:
    msgpack_sbuffer_destroy(&body);
    return status;
}
