/*  core: sockets, the loop, batching, sweeping. */
#include "core.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idem.h"
#include "pm_log.h"
#include "pm_signal.h"
#include "pm_sock.h"
#include "pm_time.h"

#define S_IDENTITY_MAX 255 /* ZeroMQ routing ids are at most 255 bytes */
#define S_POLL_MAX_MS 500  /* re-check the stop flag at least this often */
#define S_DRAIN_MS 1000    /* at a stop, what already arrived is answered for this long */

/* Where a received request came from, to route its reply back. */
typedef struct {
    zsock_t *sock;
    uint8_t identity[S_IDENTITY_MAX];
    size_t identity_len;
    zmq_msg_t frame; /* the envelope; open between receive and send */
} s_slot_t;

struct core_t {
    db_t *db;
    core_config_t cfg;
    zsock_t *api;
    zsock_t *admin;
    zsock_t *worker;
    dispatch_t *dispatch;
    char *api_bound; /* resolved endpoints, for the logs */
    char *admin_bound;
    char *worker_bound;
    s_slot_t *slots; /* max_batch of each */
    dispatch_item_t *items;
    pm_curve_keys_t curve; /* our copy of *cfg.curve */
    zactor_t *auth;        /* zauth, the ZAP handler, when CURVE is on */
    zsock_t *mon[2];       /* handshake failures of api and worker (CURVE on) */
};

/* Watches sock's handshakes: failures arrive on the returned PAIR. */
static zsock_t *s_monitor(zsock_t *sock, const char *name)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://pm-core-monitor-%s", name);
    if (zmq_socket_monitor(zsock_resolve(sock), ep,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0) {
        pm_warn("cannot monitor the %s socket: %s", name, zmq_strerror(zmq_errno()));
        return NULL;
    }
    zsock_t *pair = zsock_new_pair(ep);
    if (!pair)
        pm_warn("cannot monitor the %s socket", name);
    return pair;
}

/* Logs the handshake failures waiting on a monitor: refused clients. A
 * refused client tries again every quarter second, so after one line per
 * socket and kind (a key not accepted; any other failure) the rest are
 * counted and told at most every S_REFUSED_LOG_MS. */
#define S_REFUSED_LOG_MS 10000
static void s_monitor_read(zsock_t *mon, const char *name, int64_t *last_log, uint64_t *quiet)
{
    void *h = zsock_resolve(mon);
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, h, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&ev) >= 6) {
            memcpy(&event, zmq_msg_data(&ev), 2);
            memcpy(&value, (uint8_t *)zmq_msg_data(&ev) + 2, 4);
        }
        bool more = zmq_msg_more(&ev);
        zmq_msg_close(&ev);
        char peer[128] = "?";
        if (more) {
            zmq_msg_init(&addr);
            if (zmq_msg_recv(&addr, h, ZMQ_DONTWAIT) >= 0) {
                size_t n =
                    zmq_msg_size(&addr) < sizeof peer - 1 ? zmq_msg_size(&addr) : sizeof peer - 1;
                memcpy(peer, zmq_msg_data(&addr), n);
                peer[n] = '\0';
            }
            zmq_msg_close(&addr);
        }
        int k = event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? 0 : 1;
        int64_t now = pm_mono_ms();
        if (last_log[k] != 0 && now - last_log[k] < S_REFUSED_LOG_MS) {
            quiet[k]++;
            continue;
        }
        char also[64] = "";
        if (quiet[k] > 0)
            snprintf(also, sizeof also, " (and %llu more like it before this)",
                     (unsigned long long)quiet[k]);
        last_log[k] = now;
        quiet[k] = 0;
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            pm_warn("CURVE: refused a client on the %s socket (%s): its public key is not in "
                    "curve-clients-dir (ZAP status %u)%s",
                    name, peer, value, also);
        else
            pm_warn("CURVE: refused a client on the %s socket (%s): handshake failed "
                    "(0x%x: a plaintext client, or a wrong server public key)%s",
                    name, peer, value, also);
    }
}

core_t *core_new(db_t *db, const core_config_t *cfg)
{
    assert(db && cfg && cfg->max_batch > 0 && cfg->api_endpoint && cfg->admin_endpoint &&
           cfg->worker_endpoint);
    core_t *self = calloc(1, sizeof *self);
    assert(self);
    self->db = db;
    self->cfg = *cfg;
    const pm_curve_keys_t *curve = NULL;
    if (cfg->curve) {
        assert(cfg->curve_clients_dir);
        self->curve = *cfg->curve;
        self->cfg.curve = curve = &self->curve;
        /* The ZAP handler: a client is accepted when its public key is a
         * certificate in the directory (re-read when the directory changes). */
        self->auth = zactor_new(zauth, NULL);
        if (!self->auth)
            goto free_self;
        zstr_sendx(self->auth, "CURVE", cfg->curve_clients_dir, NULL);
        zsock_wait(self->auth);
    }
    self->api = pm_sock_router_bind_curve(cfg->api_endpoint, cfg->hwm, cfg->max_msg_bytes, curve);
    if (!self->api)
        goto free_self;
    self->admin = pm_sock_router_bind(cfg->admin_endpoint, cfg->hwm, cfg->max_msg_bytes);
    if (!self->admin)
        goto destroy_api;
    self->worker =
        pm_sock_router_bind_curve(cfg->worker_endpoint, cfg->hwm, cfg->max_msg_bytes, curve);
    if (!self->worker)
        goto destroy_admin;
    if (curve) {
        self->mon[0] = s_monitor(self->api, "api");
        self->mon[1] = s_monitor(self->worker, "worker");
    }
    self->api_bound = zsock_last_endpoint(self->api);
    self->admin_bound = zsock_last_endpoint(self->admin);
    self->worker_bound = zsock_last_endpoint(self->worker);
    dispatch_limits_t limits = cfg->limits;
    limits.max_amount_minor = cfg->max_amount_minor;
    limits.max_msg_bytes = cfg->max_msg_bytes;
    self->dispatch = dispatch_new(db, &limits);
    self->slots = calloc((size_t)cfg->max_batch, sizeof *self->slots);
    self->items = calloc((size_t)cfg->max_batch, sizeof *self->items);
    assert(self->slots && self->items);
    for (int i = 0; i < cfg->max_batch; i++)
        dispatch_item_init(&self->items[i]);
    return self;
destroy_admin:
    zsock_destroy(&self->admin);
destroy_api:
    zsock_destroy(&self->api);
free_self:
    zactor_destroy(&self->auth);
    free(self);
    return NULL;
}

void core_destroy(core_t **self_p)
{
    assert(self_p);
    core_t *self = *self_p;
    if (!self)
        return;
    for (int i = 0; i < self->cfg.max_batch; i++)
        dispatch_item_fini(&self->items[i]);
    free(self->items);
    free(self->slots);
    zstr_free(&self->worker_bound);
    zstr_free(&self->admin_bound);
    zstr_free(&self->api_bound);
    dispatch_destroy(&self->dispatch);
    zsock_destroy(&self->mon[1]);
    zsock_destroy(&self->mon[0]);
    zsock_destroy(&self->worker);
    zsock_destroy(&self->admin);
    zsock_destroy(&self->api);
    zactor_destroy(&self->auth);
    free(self);
    *self_p = NULL;
}

const char *core_api_endpoint(const core_t *self)
{
    assert(self);
    return self->api_bound ? self->api_bound : self->cfg.api_endpoint;
}

const char *core_admin_endpoint(const core_t *self)
{
    assert(self);
    return self->admin_bound ? self->admin_bound : self->cfg.admin_endpoint;
}

const char *core_worker_endpoint(const core_t *self)
{
    assert(self);
    return self->worker_bound ? self->worker_bound : self->cfg.worker_endpoint;
}

/* Discards the rest of a multipart message. */
static void s_drain_parts(void *handle)
{
    int more = 1;
    size_t len = sizeof more;
    while (zmq_getsockopt(handle, ZMQ_RCVMORE, &more, &len) == 0 && more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        int rc = zmq_msg_recv(&part, handle, ZMQ_DONTWAIT);
        zmq_msg_close(&part);
        if (rc < 0)
            break;
    }
}

/* Receives one [identity, envelope] message without waiting. Returns 1 with
 * slot filled (slot->frame open), 0 when nothing is waiting (or the receive
 * failed), 2 when a message was received but dropped as malformed. */
static int s_recv(zsock_t *sock, s_slot_t *slot)
{
    void *handle = zsock_resolve(sock);
    zmq_msg_t id;
    zmq_msg_init(&id);
    if (zmq_msg_recv(&id, handle, ZMQ_DONTWAIT) < 0) {
        if (errno != EAGAIN && errno != EINTR)
            pm_warn("receive failed: %s", zmq_strerror(errno));
        zmq_msg_close(&id);
        return 0;
    }
    if (!zmq_msg_more(&id) || zmq_msg_size(&id) > S_IDENTITY_MAX) {
        zmq_msg_close(&id);
        s_drain_parts(handle);
        pm_warn("dropped a message without an envelope frame");
        return 2;
    }
    slot->sock = sock;
    slot->identity_len = zmq_msg_size(&id);
    memcpy(slot->identity, zmq_msg_data(&id), slot->identity_len);
    zmq_msg_close(&id);
    zmq_msg_init(&slot->frame);
    /* The parts of a message arrive together: this does not wait. */
    if (zmq_msg_recv(&slot->frame, handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&slot->frame);
        return 0;
    }
    if (zmq_msg_more(&slot->frame)) {
        zmq_msg_close(&slot->frame);
        s_drain_parts(handle);
        pm_warn("dropped a message of more than one envelope frame");
        return 2;
    }
    return 1;
}

static zsock_t *s_sock_of(core_t *self, dispatch_src_t src)
{
    return src == DISPATCH_SRC_ADMIN    ? self->admin
           : src == DISPATCH_SRC_WORKER ? self->worker
                                        : self->api;
}

/* Sends item i's reply, if any, and releases its frame. */
static void s_reply(core_t *self, size_t i)
{
    s_slot_t *slot = &self->slots[i];
    dispatch_item_t *item = &self->items[i];
    if (item->has_reply && pm_sock_send_to(slot->sock, slot->identity, slot->identity_len,
                                           item->reply.data, item->reply.size) != 0)
        pm_warn("reply dropped: %s", zmq_strerror(errno));
    zmq_msg_close(&slot->frame);
    item->frame = NULL;
}

/* One turn: drain, dispatch as one batch (also when nothing arrived but a
 * timed event is due), reply, then send the outbox. */
static void s_turn(core_t *self, bool timed)
{
    size_t n = 0, max = (size_t)self->cfg.max_batch;
    zsock_t *socks[3] = {self->api, self->admin, self->worker};
    dispatch_src_t srcs[3] = {DISPATCH_SRC_API, DISPATCH_SRC_ADMIN, DISPATCH_SRC_WORKER};
    bool open[3] = {true, true, true};
    while (n < max && (open[0] || open[1] || open[2])) {
        for (int s = 0; s < 3 && n < max; s++) {
            if (!open[s])
                continue;
            int rc = s_recv(socks[s], &self->slots[n]);
            if (rc == 0) {
                open[s] = false;
            } else if (rc == 1) {
                dispatch_item_t *item = &self->items[n];
                item->src = srcs[s];
                item->frame = zmq_msg_data(&self->slots[n].frame);
                item->frame_size = zmq_msg_size(&self->slots[n].frame);
                item->peer = self->slots[n].identity;
                item->peer_len = self->slots[n].identity_len;
                n++;
            }
        }
    }
    if (n == 0 && !timed)
        return;
    /* Reads first, from a snapshot of the last commit: their replies leave
     * now instead of after the fsync of the writes that came with them. */
    size_t writes = dispatch_reads(self->dispatch, self->items, n, pm_now_ms());
    for (size_t i = 0; i < n; i++)
        if (self->items[i].early)
            s_reply(self, i);
    if (writes > 0 || timed)
        dispatch_batch(self->dispatch, self->items, n, pm_now_ms());
    for (size_t i = 0; i < n; i++) {
        if (!self->items[i].early)
            s_reply(self, i);
        self->items[i].early = false;
    }
    for (size_t i = 0; i < dispatch_outbox_count(self->dispatch); i++) {
        dispatch_src_t src;
        const void *peer, *frame;
        size_t peer_len, frame_len;
        dispatch_outbox_get(self->dispatch, i, &src, &peer, &peer_len, &frame, &frame_len);
        if (pm_sock_send_to(s_sock_of(self, src), peer, peer_len, frame, frame_len) != 0)
            pm_warn("parked reply dropped: %s", zmq_strerror(errno));
    }
    dispatch_outbox_clear(self->dispatch);
}

typedef struct {
    int64_t cutoff_ms;
    size_t max;
    size_t deleted;
} s_sweep_t;

static int s_sweep_txn(db_t *db, MDB_txn *txn, void *arg)
{
    s_sweep_t *sw = arg;
    return idem_sweep(db, txn, sw->cutoff_ms, sw->max, &sw->deleted);
}

int64_t core_sweep(core_t *self, int64_t now_ms)
{
    assert(self);
    s_sweep_t sw = {.cutoff_ms = now_ms - self->cfg.idem_ttl_s * 1000,
                    .max = (size_t)self->cfg.sweep_batch};
    int rc = db_txn_run(self->db, s_sweep_txn, &sw);
    if (rc != 0) {
        pm_error("idempotency sweep failed: %s", db_strerror(rc));
        return -1;
    }
    if (sw.deleted > 0)
        pm_info("swept %zu expired idempotency keys", sw.deleted);
    return (int64_t)sw.deleted;
}

int core_run(core_t *self)
{
    assert(self);
    zmq_pollitem_t items[5] = {
        {zsock_resolve(self->api), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self->admin), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self->worker), 0, ZMQ_POLLIN, 0},
    };
    /* With CURVE, the monitors of api and worker follow (refusals logged). */
    int n_items = 3;
    const char *mon_name[2] = {"api", "worker"};
    int mon_of[2] = {-1, -1};
    int64_t mon_last[2][2] = {{0, 0}, {0, 0}}; /* [socket][kind] */
    uint64_t mon_quiet[2][2] = {{0, 0}, {0, 0}};
    for (int m = 0; m < 2; m++)
        if (self->mon[m]) {
            mon_of[m] = n_items;
            items[n_items++] = (zmq_pollitem_t){zsock_resolve(self->mon[m]), 0, ZMQ_POLLIN, 0};
        }
    int64_t next_sweep = pm_mono_ms() + self->cfg.sweep_interval_ms;
    while (!pm_signal_stopping()) {
        int64_t wait = next_sweep - pm_mono_ms();
        /* Wall-clock deadlines (request headers, job times) against the
         * wall clock; at least 1 ms so a stuck event cannot spin the loop. */
        int64_t wake = dispatch_next_wake_ms(self->dispatch);
        if (wake != INT64_MAX && wake - pm_now_ms() < wait)
            wait = wake - pm_now_ms() < 1 ? 1 : wake - pm_now_ms();
        if (wait < 0)
            wait = 0;
        if (wait > S_POLL_MAX_MS)
            wait = S_POLL_MAX_MS;
        int rc = zmq_poll(items, n_items, (long)wait);
        if (rc < 0) {
            if (errno == EINTR)
                continue; /* a signal: the loop condition decides */
            pm_error("poll failed: %s", zmq_strerror(errno));
            return -1;
        }
        for (int m = 0; m < 2; m++)
            if (mon_of[m] >= 0 && (items[mon_of[m]].revents & ZMQ_POLLIN)) {
                s_monitor_read(self->mon[m], mon_name[m], mon_last[m], mon_quiet[m]);
                rc--;
            }
        wake = dispatch_next_wake_ms(self->dispatch);
        bool timed = wake != INT64_MAX && wake <= pm_now_ms();
        if (rc > 0 || timed)
            s_turn(self, timed);
        if (pm_mono_ms() >= next_sweep) {
            core_sweep(self, pm_now_ms());
            next_sweep = pm_mono_ms() + self->cfg.sweep_interval_ms;
        }
    }
    /* Stopping (SIGTERM): the requests that already arrived are answered
     * before the exit, for at most S_DRAIN_MS, so their clients get a reply
     * (committed, or refused) instead of a gateway timeout. The sockets'
     * linger lets the last replies leave. */
    int64_t until = pm_mono_ms() + S_DRAIN_MS;
    size_t turns = 0;
    while (pm_mono_ms() < until && zmq_poll(items, 3, 0) > 0) {
        s_turn(self, false);
        turns++;
    }
    if (turns > 0)
        pm_info("stopping: answered what had arrived (%zu turns)", turns);
    return 0;
}
