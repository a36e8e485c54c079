/*  pm_sock: ZeroMQ sockets on CZMQ, configured the paymesh way.
 *
 *  Every socket has a send and receive high-water mark (bounded queues), a
 *  maximum inbound message size enforced by libzmq before any decoding, and a
 *  short linger so a stopping daemon never hangs on unsent messages. */
#ifndef PM_SOCK_H
#define PM_SOCK_H
#include <czmq.h>
#include <stdbool.h>

/* Initialises CZMQ without its signal handlers (pm_signal owns SIGINT and
 * SIGTERM). Call once at the start of main, before any socket. */
void pm_sock_init(void);

/* A ROUTER bound to endpoint ("tcp://127.0.0.1:7001", "ipc:///path").
 * Caller owns the result; NULL (and an error logged) if the bind fails. */
zsock_t *pm_sock_router_bind(const char *endpoint, int hwm, int64_t max_msg_bytes);

/* A DEALER connected to endpoint. With immediate, messages are only queued to
 * completed connections, so a send while the peer is down fails at once
 * (EAGAIN) instead of waiting in a queue. Caller owns the result. */
zsock_t *pm_sock_dealer_connect(const char *endpoint, int hwm, int64_t max_msg_bytes,
                                bool immediate);

/* Sends one frame, without blocking. Returns 0, or -1 with errno (EAGAIN when
 * the queue is full or no peer is connected). */
int pm_sock_send(zsock_t *sock, const void *data, size_t size);

/* On a ROUTER: sends [identity, data] to one peer without blocking. Returns 0
 * or -1 with errno (EHOSTUNREACH-like drops are silent in ROUTER mode). */
int pm_sock_send_to(zsock_t *sock, const void *id, size_t id_size, const void *data, size_t size);

#endif
