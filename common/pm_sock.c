/*  pm_sock: socket construction with limits; non-blocking sends. */
#include "pm_sock.h"

#include "pm_log.h"

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
    zsock_t *s = zsock_new(ZMQ_ROUTER);
    if (!s)
        return NULL;
    s_limits(s, hwm, max_msg_bytes);
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
