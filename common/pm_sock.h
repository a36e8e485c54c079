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

/* ---- CURVE: encrypted, authenticated links between daemons ---------------
 *
 * Keys are CZMQ certificates (zcert text files) as `paymentctl keygen`
 * writes them: NAME.key (mode 600: public-key and secret-key, Z85) and
 * NAME.pub (public-key only). payment-core is the CURVE server of its api
 * and worker sockets (its admin ipc socket stays plaintext: the file system
 * is its access control); every other daemon is a client of it. With no key
 * set, the links are plaintext. */

#define PM_CURVE_KEY_TXT 40 /* a Z85 key: 32 bytes as 40 characters */

typedef struct {
    char public_txt[PM_CURVE_KEY_TXT + 1];
    char secret_txt[PM_CURVE_KEY_TXT + 1]; /* "" when only the public key was read */
} pm_curve_keys_t;

/* Reads the keys of a certificate file: with want_secret its secret key too
 * (a NAME.key file), else its public key only (NAME.key or NAME.pub).
 * Returns 0, or -1 with why filled. */
int pm_curve_load(const char *path, bool want_secret, pm_curve_keys_t *out, char *why,
                  size_t why_cap);

/* The two settings of a daemon that connects to payment-core; both empty
 * (the default): plaintext. */
#define PM_SETTING_CURVE_SECRET_KEY_FILE                                                           \
    {                                                                                              \
        "curve-secret-key-file", PM_CFG_STR, "", 0, 255,                                           \
            "own CURVE key pair (paymentctl keygen NAME.key); empty: plaintext links", 0, NULL     \
    }
#define PM_SETTING_CURVE_SERVER_PUBLIC_KEY_FILE                                                    \
    {                                                                                              \
        "curve-server-public-key-file", PM_CFG_STR, "", 0, 255,                                    \
            "payment-core's CURVE public key (NAME.pub); with curve-secret-key-file", 0, NULL      \
    }

/* For a client daemon's main, after its settings are loaded and before any
 * socket: both paths empty: plaintext, returns 0; both set and readable:
 * every DEALER pm_sock_dealer_connect makes from now on in this process is
 * a CURVE client with these keys, returns 0; only one set, or a file that
 * cannot be read: the reason on stderr (naming the setting), returns -1
 * (the daemon exits 2). */
int pm_sock_curve_client(const char *program, const char *secret_key_file,
                         const char *server_public_key_file);

/* True when pm_sock_curve_client turned CURVE on. */
bool pm_sock_curve_client_on(void);

/* As pm_sock_router_bind, as a CURVE server with keys (NULL: plaintext).
 * The ZAP handler (zauth) must run before peers connect, or every client
 * key is accepted. */
zsock_t *pm_sock_router_bind_curve(const char *endpoint, int hwm, int64_t max_msg_bytes,
                                   const pm_curve_keys_t *keys);

#endif
