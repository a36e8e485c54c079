/*  paymentctl: the operator's command line for payment-core.
 *
 *    paymentctl [--data-dir DIR] [--core-admin ENDPOINT] [--timeout-ms N] COMMAND ...
 *      token create --principal ID [--role user|service]   prints the new token
 *      stats                                                prints counts as JSON
 *      ping                                                 prints "ok"
 *
 *  It talks to payment-core's admin socket (by default ipc://<data-dir>/
 *  admin.sock, reachable only through the file system, which is the access
 *  control) with one request and waits at most --timeout-ms for the answer.
 *  Exit status: 0 done, 1 payment-core refused or did not answer, 2 usage. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pm_config.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_ids.h"
#include "pm_log.h"
#include "pm_sock.h"
#include "pm_time.h"

#define S_PROGRAM "paymentctl"
#define S_MAX_REPLY_BYTES 1048576

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
                    "  stats\n"
                    "  ping\n"
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
    printf("{\"payments\":%" PRId64 ",\"idempotency_keys\":%" PRId64 ",\"tokens\":%" PRId64 "}\n",
           payments, keys, tokens);
    return 0;
}

int main(int argc, char **argv)
{
    int rest = argc;
    int rc = pm_config_load(s_cfg, CFG__COUNT, argc, argv, S_PROGRAM, &rest);
    if (rc > 0) {
        printf("\ncommands:\n"
               "  token create --principal ID [--role user|service]   print a new API token\n"
               "  stats                                                counts, as JSON\n"
               "  ping                                                 is payment-core there?\n");
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
    if (strcmp(cmd, "token") == 0) {
        if (rest + 1 >= argc || strcmp(argv[rest + 1], "create") != 0) {
            status = s_usage("token: the only subcommand is create");
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
        if (rest + 1 < argc) {
            fprintf(stderr, S_PROGRAM ": %s: unexpected argument '%s'\n", cmd, argv[rest + 1]);
            goto usage;
        }
        type = strcmp(cmd, "stats") == 0 ? PM_MSG_ADMIN_STATS : PM_MSG_PING;
        msgpack_pack_map(&pk, 0);
    } else {
        fprintf(stderr, S_PROGRAM ": unknown command '%s'\n", cmd);
        goto usage;
    }

    char endpoint[256];
    if (s_cfg[CFG_CORE_ADMIN].sval[0])
        snprintf(endpoint, sizeof endpoint, "%s", s_cfg[CFG_CORE_ADMIN].sval);
    else
        snprintf(endpoint, sizeof endpoint, "ipc://%s/admin.sock", s_cfg[CFG_DATA_DIR].sval);
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
            status = s_print_stats(rb) == 0 ? 0 : 1;
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
