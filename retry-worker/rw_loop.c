/*  rw_loop: RETRY_TAKE / RETRY_DECIDE on one DEALER, one thread.
 *
 *  One RETRY_TAKE is outstanding at a time, and only while the table of
 *  pending decisions has room for all the items it may bring. Its reply may
 *  never come (payment-core restarted, a message dropped): after wait_ms
 *  plus request-timeout-ms it is given up and another is sent. A late reply
 *  that still brings items is used all the same: those items are leased to
 *  this worker.
 *
 *  Each item gets its decision at once and a pending slot until the reply
 *  (matched by correlation id) or request-timeout-ms. A decision that finds
 *  no connected peer (the DEALER is in immediate mode) keeps its encoded
 *  frame in the slot and is sent again every S_PAUSE_MS until its time is
 *  up; then, as for one that got no reply, the item's decision lease runs
 *  out in payment-core and the item comes back. */
#include "rw_loop.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pm_dealer.h"
#include "pm_envelope.h"
#include "pm_log.h"
#include "pm_proto.h"
#include "pm_signal.h"
#include "pm_sock.h"
#include "pm_time.h"

#define S_PRINCIPAL "retry-worker"
#define S_PENDING_MAX 256 /* decisions awaiting a reply; >= 4 take-max */
#define S_PAUSE_MS 200    /* after a send found no peer, or a take was refused */
#define S_RUN_WAIT_MS 100 /* longest wait of one turn in rw_loop_run */
/* No peer for this long is worth a warning; less is a connect under way. */
#define S_UNREACHABLE_MS 1000
#define S_SOCK_HWM 1000

typedef struct {
    bool used;
    uint64_t corr_id;
    int64_t deadline_ms; /* monotonic: abandoned then */
    char id[RW_ID_MAX + 1];
    char *frame; /* the encoded RETRY_DECIDE while not sent yet, else NULL */
    size_t frame_len;
} s_pending_t;

struct rw_loop_t {
    rw_loop_config_t cfg;
    char *endpoint; /* cfg.core_endpoint points here */
    zsock_t *dealer;
    s_pending_t pending[S_PENDING_MAX];
    int npending;
    uint64_t next_corr;
    uint64_t take_corr;       /* outstanding RETRY_TAKE, 0: none */
    int64_t take_deadline_ms; /* monotonic */
    int64_t next_take_ms;     /* monotonic: no RETRY_TAKE before */
    int64_t next_flush_ms;    /* monotonic: unsent decisions tried again */
    int64_t unreachable_ms;   /* monotonic: since when sends find no peer,
                                 0 while they do */
    bool unreachable_warned;  /* that was logged (after S_UNREACHABLE_MS) */
    rw_loop_stats_t stats;
};

/* ---- requests ------------------------------------------------------------ */

/* Starts a request of type in buf with the next correlation id; returns it. */
static uint64_t s_begin(rw_loop_t *self, msgpack_sbuffer *buf, msgpack_packer *pk, uint32_t type,
                        int64_t ttl_ms)
{
    uint64_t corr_id = ++self->next_corr;
    pm_dealer_begin(buf, pk, type, corr_id, ttl_ms, S_PRINCIPAL, "rw");
    return corr_id;
}

static void s_send_take(rw_loop_t *self, int64_t now)
{
    msgpack_sbuffer buf;
    msgpack_packer pk;
    uint64_t corr_id = s_begin(self, &buf, &pk, PM_MSG_RETRY_TAKE,
                               self->cfg.take_wait_ms + self->cfg.request_timeout_ms);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "max");
    msgpack_pack_int64(&pk, self->cfg.take_max);
    pm_mp_pack_cstr(&pk, "wait_ms");
    msgpack_pack_int64(&pk, self->cfg.take_wait_ms);
    if (pm_sock_send(self->dealer, buf.data, buf.size) != 0) {
        if (self->unreachable_ms == 0)
            self->unreachable_ms = now;
        if (!self->unreachable_warned && now - self->unreachable_ms >= S_UNREACHABLE_MS) {
            pm_warn("payment-core not reachable at %s: asking again every %d ms",
                    self->cfg.core_endpoint, S_PAUSE_MS);
            self->unreachable_warned = true;
        }
        self->next_take_ms = now + S_PAUSE_MS;
    } else {
        if (self->unreachable_warned)
            pm_info("payment-core reachable again at %s", self->cfg.core_endpoint);
        self->unreachable_ms = 0;
        self->unreachable_warned = false;
        self->take_corr = corr_id;
        self->take_deadline_ms = now + self->cfg.take_wait_ms + self->cfg.request_timeout_ms;
        self->stats.takes++;
    }
    msgpack_sbuffer_destroy(&buf);
}

static s_pending_t *s_slot_free(rw_loop_t *self)
{
    for (int i = 0; i < S_PENDING_MAX; i++)
        if (!self->pending[i].used)
            return &self->pending[i];
    return NULL;
}

static s_pending_t *s_slot_find(rw_loop_t *self, uint64_t corr_id)
{
    for (int i = 0; i < S_PENDING_MAX; i++)
        if (self->pending[i].used && self->pending[i].corr_id == corr_id)
            return &self->pending[i];
    return NULL;
}

static void s_slot_release(rw_loop_t *self, s_pending_t *p)
{
    assert(p->used && self->npending > 0);
    free(p->frame);
    memset(p, 0, sizeof *p);
    self->npending--;
}

/* Sends a slot's frame. Returns 0 (the frame is freed) or -1 (kept). */
static int s_slot_send(rw_loop_t *self, s_pending_t *p)
{
    assert(p->frame);
    if (pm_sock_send(self->dealer, p->frame, p->frame_len) != 0)
        return -1;
    free(p->frame);
    p->frame = NULL;
    p->frame_len = 0;
    self->stats.decides++;
    return 0;
}

/* Encodes the RETRY_DECIDE of item id/gen into slot p and sends it, or
 * keeps it for s_flush. */
static void s_send_decide(rw_loop_t *self, s_pending_t *p, const char *id, int64_t gen,
                          const rw_decision_t *d)
{
    msgpack_sbuffer buf;
    msgpack_packer pk;
    uint64_t corr_id = s_begin(self, &buf, &pk, PM_MSG_RETRY_DECIDE, self->cfg.request_timeout_ms);
    bool retry = d->action == RW_RETRY;
    msgpack_pack_map(&pk, retry ? 6 : 4);
    pm_mp_pack_cstr(&pk, "id");
    pm_mp_pack_cstr(&pk, id);
    pm_mp_pack_cstr(&pk, "gen");
    msgpack_pack_int64(&pk, gen);
    pm_mp_pack_cstr(&pk, "action");
    pm_mp_pack_cstr(&pk, rw_action_name(d->action));
    if (retry) {
        pm_mp_pack_cstr(&pk, "kind");
        pm_mp_pack_cstr(&pk, d->kind);
        pm_mp_pack_cstr(&pk, "at_ms");
        msgpack_pack_int64(&pk, d->at_ms);
    }
    pm_mp_pack_cstr(&pk, "note");
    pm_mp_pack_cstr(&pk, d->note);

    p->used = true;
    p->corr_id = corr_id;
    p->deadline_ms = pm_mono_ms() + self->cfg.request_timeout_ms;
    snprintf(p->id, sizeof p->id, "%s", id);
    p->frame_len = buf.size;
    p->frame = msgpack_sbuffer_release(&buf); /* ours now, freed by the slot */
    self->npending++;
    if (s_slot_send(self, p) != 0 && self->next_flush_ms == 0)
        self->next_flush_ms = pm_mono_ms() + S_PAUSE_MS;
}

/* Sends again the decisions that found no peer, in slot order, stopping at
 * the first that still finds none. */
static void s_flush(rw_loop_t *self, int64_t now)
{
    if (self->next_flush_ms == 0 || now < self->next_flush_ms)
        return;
    self->next_flush_ms = 0;
    for (int i = 0; i < S_PENDING_MAX; i++) {
        s_pending_t *p = &self->pending[i];
        if (p->used && p->frame && s_slot_send(self, p) != 0) {
            self->next_flush_ms = now + S_PAUSE_MS;
            return;
        }
    }
}

/* Gives up on the take and the decisions whose time is up. */
static void s_expire(rw_loop_t *self, int64_t now)
{
    if (self->take_corr && now >= self->take_deadline_ms) {
        pm_debug("RETRY_TAKE %llu unanswered: asking again", (unsigned long long)self->take_corr);
        self->take_corr = 0;
        self->stats.abandoned++;
    }
    for (int i = 0; i < S_PENDING_MAX && self->npending > 0; i++) {
        s_pending_t *p = &self->pending[i];
        if (!p->used || now < p->deadline_ms)
            continue;
        if (p->frame) {
            pm_warn("decision for item %s not sent (payment-core not connected): left to its "
                    "lease",
                    p->id);
            self->stats.dropped++;
        } else {
            pm_debug("decision for item %s unanswered within %lld ms: left to its lease", p->id,
                     (long long)self->cfg.request_timeout_ms);
            self->stats.abandoned++;
        }
        s_slot_release(self, p);
    }
}

/* ---- items ----------------------------------------------------------------- */

/* One line per decision: the item (id, kind, attempt, outcome, a trace's
 * status, the reason), then the action, the next call with its delay, and
 * the note. */
static void s_log_decision(const rw_item_t *item, const rw_decision_t *d)
{
    char next[RW_KIND_MAX + 48] = "";
    if (d->action == RW_RETRY)
        snprintf(next, sizeof next, " %s in %lld ms", d->kind, (long long)d->delay_ms);
    pm_info("item %s %s attempt %lld %s%s%s%s%s%s: %s%s; %s", item->id, item->kind,
            (long long)item->attempt, rw_outcome_name(item->outcome),
            item->has_status ? " status " : "", item->has_status ? item->status : "",
            item->reason[0] ? " (" : "", item->reason, item->reason[0] ? ")" : "",
            rw_action_name(d->action), next, d->note);
}

/* Decides one ITEM map and sends the decision into a free slot. */
static void s_on_item(rw_loop_t *self, const msgpack_object *o)
{
    self->stats.items++;
    s_pending_t *p = s_slot_free(self);
    if (!p) {
        self->stats.dropped++;
        pm_warn("an item came while %d decisions are pending: left to its lease", S_PENDING_MAX);
        return;
    }
    rw_item_t item;
    bool identified;
    char why[96];
    rw_decision_t d;
    if (rw_item_decode(o, &item, &identified, why, sizeof why) != 0) {
        self->stats.malformed++;
        if (!identified) {
            pm_warn("payment-core sent an item that cannot be identified (%s): left to its lease",
                    why);
            return;
        }
        /* Whatever it is, parking it is safe, and an operator sees it;
         * leaving it would bring it back every lease. */
        memset(&d, 0, sizeof d);
        d.action = RW_PARK;
        snprintf(d.note, sizeof d.note, "malformed item: %s", why);
        pm_warn("item %s gen %lld is malformed (%s): park", item.id, (long long)item.gen, why);
    } else {
        rw_decide(self->cfg.policy, &item, pm_now_ms(), &d);
        s_log_decision(&item, &d);
    }
    s_send_decide(self, p, item.id, item.gen, &d);
}

/* ---- replies --------------------------------------------------------------- */

/* One reply from payment-core (pm_dealer_drain). */
static void s_on_reply(void *arg, const pm_dealer_reply_t *r)
{
    rw_loop_t *self = arg;
    const pm_header_t *h = r->header;
    const msgpack_object *body = r->body;
    int64_t e = r->err;
    bool is_take = self->take_corr && h->corr_id == self->take_corr;
    if (is_take)
        self->take_corr = 0;
    s_pending_t *p = s_slot_find(self, h->corr_id);
    if (e != 0) {
        const char *msg = r->msg;
        self->stats.refused++;
        if (p) {
            pm_warn("payment-core refused the decision for item %s: err %lld %s", p->id,
                    (long long)e, msg);
            s_slot_release(self, p);
        } else if (is_take) {
            pm_warn("payment-core refused RETRY_TAKE: err %lld %s", (long long)e, msg);
        } else {
            pm_warn("payment-core refused request %llu: err %lld %s",
                    (unsigned long long)h->corr_id, (long long)e, msg);
        }
        if (is_take)
            self->next_take_ms = pm_mono_ms() + S_PAUSE_MS;
        return;
    }
    const msgpack_object *items = pm_mp_get(body, "items");
    if (items) {
        /* A take's reply, maybe a late one: its items are leased to us. */
        if (items->type != MSGPACK_OBJECT_ARRAY) {
            self->stats.bad_messages++;
            pm_warn("payment-core sent a RETRY_TAKE reply without an item list");
            return;
        }
        if (!is_take)
            pm_debug("late RETRY_TAKE reply %llu: its %u items are decided all the same",
                     (unsigned long long)h->corr_id, items->via.array.size);
        for (uint32_t i = 0; i < items->via.array.size; i++) {
            /* The trace of the request that made the job, on every line about it. */
            char trace[PM_TRACE_MAX + 1] = "";
            if (pm_mp_copy_str(&items->via.array.ptr[i], "trace", trace, sizeof trace) != 0)
                trace[0] = '\0';
            pm_log_trace_set(trace);
            s_on_item(self, &items->via.array.ptr[i]);
            pm_log_trace_set(NULL);
        }
        return;
    }
    if (is_take) {
        self->stats.bad_messages++;
        pm_warn("payment-core answered RETRY_TAKE without an item list");
        return;
    }
    if (!p) {
        pm_debug("late reply %llu ignored", (unsigned long long)h->corr_id);
        return;
    }
    const msgpack_object *applied = pm_mp_get(body, "applied");
    if (!applied || applied->type != MSGPACK_OBJECT_BOOLEAN) {
        self->stats.bad_messages++;
        pm_warn("payment-core answered the decision for item %s without applied", p->id);
    } else if (applied->via.boolean) {
        self->stats.applied++;
    } else {
        self->stats.not_applied++;
        pm_debug("decision for item %s not applied: its lease is stale or the job gone", p->id);
    }
    s_slot_release(self, p);
}

/* s_on_reply with the log trace of a decision's reply (the item's, echoed
 * by payment-core) set while it is handled. */
static void s_on_reply_traced(void *arg, const pm_dealer_reply_t *r)
{
    if (s_slot_find(arg, r->header->corr_id))
        pm_log_trace_set(r->header->trace_id);
    s_on_reply(arg, r);
    pm_log_trace_set(NULL);
}

/* ---- life cycle -------------------------------------------------------------- */

rw_loop_t *rw_loop_new(const rw_loop_config_t *cfg)
{
    assert(cfg && cfg->core_endpoint && cfg->policy);
    assert(cfg->take_max >= 1 && cfg->take_max <= 64 && cfg->take_max * 4 <= S_PENDING_MAX);
    assert(cfg->take_wait_ms >= 0 && cfg->request_timeout_ms > 0 && cfg->max_msg_bytes > 0);
    rw_loop_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    self->endpoint = strdup(cfg->core_endpoint);
    if (!self->endpoint)
        goto fail;
    self->cfg.core_endpoint = self->endpoint;
    self->dealer = pm_sock_dealer_connect(self->endpoint, S_SOCK_HWM, cfg->max_msg_bytes, true);
    if (!self->dealer)
        goto fail;
    return self;
fail:
    rw_loop_destroy(&self);
    return NULL;
}

int rw_loop_turn(rw_loop_t *self, int max_wait_ms)
{
    assert(self && max_wait_ms >= 0);
    int64_t now = pm_mono_ms();
    s_expire(self, now);
    s_flush(self, now);
    if (!self->take_corr && S_PENDING_MAX - self->npending >= self->cfg.take_max &&
        now >= self->next_take_ms)
        s_send_take(self, now);
    zmq_pollitem_t item = {zsock_resolve(self->dealer), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, max_wait_ms) < 0) {
        if (zmq_errno() == EINTR)
            return 0;
        pm_error("zmq_poll on the payment-core socket failed: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    if (item.revents & ZMQ_POLLIN)
        self->stats.bad_messages += (uint64_t)pm_dealer_drain(self->dealer, self->cfg.max_msg_bytes,
                                                              s_on_reply_traced, self);
    return 0;
}

int rw_loop_run(rw_loop_t *self)
{
    assert(self);
    while (!pm_signal_stopping())
        if (rw_loop_turn(self, S_RUN_WAIT_MS) != 0)
            return -1;
    if (self->npending > 0)
        pm_info("%d decisions unanswered at stop: left to their leases", self->npending);
    return 0;
}

void rw_loop_stats(const rw_loop_t *self, rw_loop_stats_t *out)
{
    assert(self && out);
    *out = self->stats;
}

void rw_loop_destroy(rw_loop_t **self_p)
{
    assert(self_p);
    rw_loop_t *self = *self_p;
    if (!self)
        return;
    for (int i = 0; i < S_PENDING_MAX; i++)
        free(self->pending[i].frame);
    zsock_destroy(&self->dealer);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}
