/*  pm_sock: socket construction with limits; non-blocking sends. */
#include "pm_sock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pm_log.h"

/* The process's client keys (pm_sock_curve_client), applied to every DEALER. */
static bool s_curve_on;
static pm_curve_keys_t s_curve_own;
static char s_curve_server[PM_CURVE_KEY_TXT + 1];

void pm_sock_init(void)
{
    zsys_handler_set(NULL);
    zsys_init();
    zsys_set_linger(100);
}

static void s_limits(zsock_t *s, int hwm, int64_t max_msg_bytes)
{
    zsock_set_sndhwm(s, hwm);
    zsock_set_rcvhwm(s, hwm);
    zsock_set_maxmsgsize(s, (int)max_msg_bytes);
    zsock_set_linger(s, 100);
}

zsock_t *pm_sock_router_bind(const char *endpoint, int hwm, int64_t max_msg_bytes)
{
    return pm_sock_router_bind_curve(endpoint, hwm, max_msg_bytes, NULL);
}

zsock_t *pm_sock_router_bind_curve(const char *endpoint, int hwm, int64_t max_msg_bytes,
                                   const pm_curve_keys_t *keys)
{
    zsock_t *s = zsock_new(ZMQ_ROUTER);
    if (!s)
        return NULL;
    s_limits(s, hwm, max_msg_bytes);
    if (keys) {
        zsock_set_curve_server(s, 1);
        zsock_set_curve_publickey(s, keys->public_txt);
        zsock_set_curve_secretkey(s, keys->secret_txt);
        zsock_set_zap_domain(s, "paymesh");
    }
    if (zsock_bind(s, "%s", endpoint) < 0) {
        pm_error("bind %s failed: %s", endpoint, zmq_strerror(zmq_errno()));
        zsock_destroy(&s);
        return NULL;
    }
    return s;
}

zsock_t *pm_sock_dealer_connect(const char *endpoint, int hwm, int64_t max_msg_bytes,
                                bool immediate)
{
    zsock_t *s = zsock_new(ZMQ_DEALER);
    if (!s)
        return NULL;
    s_limits(s, hwm, max_msg_bytes);
    zsock_set_immediate(s, immediate ? 1 : 0);
    if (s_curve_on) {
        zsock_set_curve_serverkey(s, s_curve_server);
        zsock_set_curve_publickey(s, s_curve_own.public_txt);
        zsock_set_curve_secretkey(s, s_curve_own.secret_txt);
    }
    /* A restarted peer is found again within a quarter of a second: each
     * socket tries again 100 ms after a loss, then every 250 ms (an attempt
     * to a down peer on loopback or a LAN costs next to nothing). A gateway
     * has one DEALER per event loop, each with its own timer, so a longer
     * back-off would leave one loop answering 503 well after the other
     * serves again. */
    zsock_set_reconnect_ivl(s, 100);
    zsock_set_reconnect_ivl_max(s, 250);
    if (zsock_connect(s, "%s", endpoint) < 0) {
        pm_error("connect %s failed: %s", endpoint, zmq_strerror(zmq_errno()));
        zsock_destroy(&s);
        return NULL;
    }
    return s;
}

int pm_sock_send(zsock_t *sock, const void *data, size_t size)
{
    return zmq_send(zsock_resolve(sock), data, size, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

int pm_sock_send_to(zsock_t *sock, const void *id, size_t id_size, const void *data, size_t size)
{
    void *s = zsock_resolve(sock);
    if (zmq_send(s, id, id_size, ZMQ_DONTWAIT | ZMQ_SNDMORE) < 0)
        return -1;
    return zmq_send(s, data, size, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

/* A Z85 key of 40 characters that decodes. */
static bool s_key_ok(const char *txt)
{
    uint8_t bin[32];
    return txt && strlen(txt) == PM_CURVE_KEY_TXT && zmq_z85_decode(bin, txt) != NULL;
}

int pm_curve_load(const char *path, bool want_secret, pm_curve_keys_t *out, char *why,
                  size_t why_cap)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, why_cap, "%s: %s", path, strerror(errno));
        return -1;
    }
    fclose(f);
    zconfig_t *root = zconfig_load(path);
    if (!root) {
        snprintf(why, why_cap, "%s: not a certificate file (paymentctl keygen)", path);
        return -1;
    }
    const char *pub = zconfig_get(root, "/curve/public-key", NULL);
    const char *sec = zconfig_get(root, "/curve/secret-key", NULL);
    int rc = -1;
    if (!s_key_ok(pub))
        snprintf(why, why_cap, "%s: no valid curve public-key", path);
    else if (want_secret && !s_key_ok(sec))
        snprintf(why, why_cap, "%s: no valid curve secret-key (give the NAME.key file)", path);
    else {
        snprintf(out->public_txt, sizeof out->public_txt, "%s", pub);
        if (want_secret)
            snprintf(out->secret_txt, sizeof out->secret_txt, "%s", sec);
        rc = 0;
    }
    zconfig_destroy(&root);
    return rc;
}

int pm_sock_curve_client(const char *program, const char *secret_key_file,
                         const char *server_public_key_file)
{
    bool own = secret_key_file && secret_key_file[0];
    bool server = server_public_key_file && server_public_key_file[0];
    if (!own && !server)
        return 0;
    if (!own || !server) {
        fprintf(stderr,
                "%s: curve-secret-key-file and curve-server-public-key-file go together: "
                "%s is set, %s is not\n",
                program, own ? "curve-secret-key-file" : "curve-server-public-key-file",
                own ? "curve-server-public-key-file" : "curve-secret-key-file");
        return -1;
    }
    char why[512];
    pm_curve_keys_t srv;
    if (pm_curve_load(secret_key_file, true, &s_curve_own, why, sizeof why) != 0) {
        fprintf(stderr, "%s: curve-secret-key-file: %s\n", program, why);
        return -1;
    }
    if (pm_curve_load(server_public_key_file, false, &srv, why, sizeof why) != 0) {
        fprintf(stderr, "%s: curve-server-public-key-file: %s\n", program, why);
        return -1;
    }
    memcpy(s_curve_server, srv.public_txt, sizeof s_curve_server);
    s_curve_on = true;
    return 0;
}

bool pm_sock_curve_client_on(void)
{
    return s_curve_on;
}
