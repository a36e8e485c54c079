/*  gw_link: correlation table and deadline list of one event loop's
 *  DEALER to payment-core. Single-threaded: see gw_link.h. */
#include "gw_link.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_log.h"
#include "pm_sock.h"
#include "pm_time.h"

#define S_NIL UINT32_MAX /* end of the deadline list */
#define S_BATCH 1024     /* messages taken from one socket per loop turn */

typedef struct {
    gw_call_t *call;       /* NULL when the slot is free */
    uint32_t gen;          /* bumped on each use: the high half of corr_id */
    uint32_t prev, next;   /* deadline list, in send order */
    int64_t deadline_mono; /* monotonic ms after which the call fails */
} s_slot_t;

struct gw_link_t {
    gw_link_config_t cfg;
    char *endpoint; /* our copy of cfg.endpoint */
    zsock_t *dealer;
    s_slot_t *slots;      /* max_inflight */
    uint32_t *free_slots; /* stack of free slot indices */
    uint32_t n_free;
    uint32_t head, tail; /* oldest and newest sent call */
    bool draining;
    bool unreachable;      /* the last send found no connection */
    msgpack_sbuffer frame; /* reused for each request frame */
};

static void s_say(gw_call_t *call, int err, const char *fmt, va_list ap)
{
    call->err = err;
    if (vsnprintf(call->msg, sizeof call->msg, fmt, ap) < 0)
        call->msg[0] = '\0';
}

/* Ends a call that was in flight: its done runs. */
static void s_finish(gw_call_t *call, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_finish(gw_call_t *call, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_say(call, err, fmt, ap);
    va_end(ap);
    call->done(call);
}

/* Refuses a call at submit: its done does not run. Returns -1. */
static int s_refuse(gw_call_t *call, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_refuse(gw_call_t *call, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_say(call, err, fmt, ap);
    va_end(ap);
    return -1;
}

static void s_list_append(gw_link_t *self, uint32_t i)
{
    s_slot_t *s = &self->slots[i];
    s->prev = self->tail;
    s->next = S_NIL;
    if (self->tail != S_NIL)
        self->slots[self->tail].next = i;
    else
        self->head = i;
    self->tail = i;
}

/* Takes the call out of slot i and frees the slot. */
static gw_call_t *s_release(gw_link_t *self, uint32_t i)
{
    s_slot_t *s = &self->slots[i];
    gw_call_t *call = s->call;
    assert(call);
    if (s->prev != S_NIL)
        self->slots[s->prev].next = s->next;
    else
        self->head = s->next;
    if (s->next != S_NIL)
        self->slots[s->next].prev = s->prev;
    else
        self->tail = s->prev;
    s->call = NULL;
    s->prev = s->next = S_NIL;
    self->free_slots[self->n_free++] = i;
    return call;
}

/* The call waiting for corr_id, taken out of its slot; NULL when none is
 * (a late reply to a slot that timed out and maybe was reused). */
static gw_call_t *s_claim(gw_link_t *self, uint64_t corr_id)
{
    uint32_t i = (uint32_t)(corr_id & 0xFFFFFFFFu);
    uint32_t gen = (uint32_t)(corr_id >> 32);
    if (i >= self->cfg.max_inflight || !self->slots[i].call || self->slots[i].gen != gen)
        return NULL;
    return s_release(self, i);
}

int gw_link_submit(gw_link_t *self, gw_call_t *call)
{
    assert(self && call && call->done && (call->body || call->body_len == 0));
    call->err = PM_OK;
    call->msg[0] = '\0';
    call->reply = NULL;
    call->reply_len = 0;
    call->corr_id = 0;
    if (self->draining)
        return s_refuse(call, PM_ERR_UNAVAILABLE, "api-gateway is shutting down");
    if (self->n_free == 0)
        return s_refuse(call, PM_ERR_UNAVAILABLE, "too many requests in flight to payment-core");
    uint32_t i = self->free_slots[self->n_free - 1];
    s_slot_t *s = &self->slots[i];
    uint64_t corr_id = (uint64_t)(s->gen + 1) << 32 | i;

    pm_header_t h;
    memset(&h, 0, sizeof h);
    h.type = call->type;
    h.corr_id = corr_id;
    h.deadline_ms = pm_now_ms() + self->cfg.timeout_ms;
    h.has_auth = call->has_auth;
    memcpy(h.auth, call->auth, PM_AUTH_LEN);
    snprintf(h.trace_id, sizeof h.trace_id, "%s", call->trace_id);
    msgpack_sbuffer_clear(&self->frame);
    pm_envelope_pack_header(&self->frame, &h);
    msgpack_sbuffer_write(&self->frame, call->body, call->body_len);
    if ((int64_t)self->frame.size > self->cfg.max_msg_bytes)
        return s_refuse(call, PM_ERR_INTERNAL, "request of %zu bytes exceeds max-msg-bytes",
                        self->frame.size);
    if (pm_sock_send(self->dealer, self->frame.data, self->frame.size) != 0) {
        self->unreachable = true;
        return s_refuse(call, PM_ERR_UNAVAILABLE, "payment-core is not reachable");
    }
    self->unreachable = false;
    self->n_free--;
    s->gen++;
    call->corr_id = corr_id;
    s->call = call;
    s->deadline_mono = pm_mono_ms() + self->cfg.timeout_ms;
    s_list_append(self, i);
    return 0;
}

static void s_take_reply(gw_link_t *self, const void *data, size_t size)
{
    pm_header_t partial;
    bool header_ok = false;
    char why[128];
    pm_envelope_t *env = pm_envelope_decode(data, size, (size_t)self->cfg.max_msg_bytes, &partial,
                                            &header_ok, why, sizeof why);
    if (!env) {
        pm_warn("malformed reply from payment-core dropped: %s", why);
        gw_call_t *call =
            header_ok && partial.type == PM_MSG_REPLY ? s_claim(self, partial.corr_id) : NULL;
        if (call)
            s_finish(call, PM_ERR_INTERNAL, "payment-core sent a malformed reply");
        return;
    }
    const pm_header_t *h = pm_envelope_header(env);
    gw_call_t *call = NULL;
    if (h->type != PM_MSG_REPLY)
        pm_warn("message of type %u from payment-core dropped, trace %s", h->type, h->trace_id);
    else if (!(call = s_claim(self, h->corr_id)))
        pm_debug("late reply from payment-core ignored, corr %llu trace %s",
                 (unsigned long long)h->corr_id, h->trace_id);
    if (call) {
        size_t len;
        const void *body = pm_envelope_body_bytes(env, &len);
        call->reply = malloc(len);
        if (!call->reply) {
            s_finish(call, PM_ERR_INTERNAL, "out of memory");
        } else {
            memcpy(call->reply, body, len);
            call->reply_len = len;
            call->done(call); /* err is PM_OK since gw_link_submit */
        }
    }
    pm_envelope_destroy(&env);
}

int gw_link_process(gw_link_t *self)
{
    assert(self);
    void *dealer = zsock_resolve(self->dealer);
    int n = 0;
    for (; n < S_BATCH; n++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, dealer, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            break;
        }
        if (zmq_msg_more(&msg)) {
            /* An envelope is one frame: drop every part of this message. */
            pm_warn("multi-frame message from payment-core dropped");
            do {
                zmq_msg_close(&msg);
                zmq_msg_init(&msg);
            } while (zmq_msg_recv(&msg, dealer, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&msg));
        } else {
            s_take_reply(self, zmq_msg_data(&msg), zmq_msg_size(&msg));
        }
        zmq_msg_close(&msg);
    }
    return n;
}

/* Ends the calls whose deadline has passed: the oldest first. */
int gw_link_expire(gw_link_t *self, int64_t now_mono)
{
    assert(self);
    int n = 0;
    while (self->head != S_NIL && self->slots[self->head].deadline_mono <= now_mono) {
        gw_call_t *call = s_release(self, self->head);
        s_finish(call, PM_ERR_UNAVAILABLE, "payment-core did not answer within %lld ms",
                 (long long)self->cfg.timeout_ms);
        n++;
    }
    return n;
}

int64_t gw_link_next_deadline(const gw_link_t *self)
{
    assert(self);
    return self->head == S_NIL ? INT64_MAX : self->slots[self->head].deadline_mono;
}

uint32_t gw_link_inflight(const gw_link_t *self)
{
    assert(self);
    return self->cfg.max_inflight - self->n_free;
}

bool gw_link_unreachable(const gw_link_t *self)
{
    assert(self);
    return self->unreachable && !self->draining;
}

void *gw_link_socket(gw_link_t *self)
{
    assert(self);
    return zsock_resolve(self->dealer);
}

void gw_link_drain(gw_link_t *self)
{
    assert(self);
    self->draining = true;
    while (self->head != S_NIL) {
        gw_call_t *call = s_release(self, self->head);
        s_finish(call, PM_ERR_UNAVAILABLE, "api-gateway is shutting down");
    }
}

gw_link_t *gw_link_new(const gw_link_config_t *cfg)
{
    assert(cfg && cfg->endpoint && cfg->timeout_ms > 0 && cfg->max_inflight > 0 &&
           cfg->max_inflight < S_NIL && cfg->max_msg_bytes > 0);
    gw_link_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    self->endpoint = strdup(cfg->endpoint);
    self->cfg.endpoint = self->endpoint;
    self->slots = calloc(cfg->max_inflight, sizeof *self->slots);
    self->free_slots = calloc(cfg->max_inflight, sizeof *self->free_slots);
    if (!self->endpoint || !self->slots || !self->free_slots)
        goto fail;
    /* Lowest slot first out, so a quiet gateway reuses a few slots. */
    for (uint32_t i = 0; i < cfg->max_inflight; i++) {
        self->slots[i].prev = self->slots[i].next = S_NIL;
        self->free_slots[i] = cfg->max_inflight - 1 - i;
    }
    self->n_free = cfg->max_inflight;
    self->head = self->tail = S_NIL;
    msgpack_sbuffer_init(&self->frame);
    self->dealer =
        pm_sock_dealer_connect(cfg->endpoint, (int)cfg->max_inflight, cfg->max_msg_bytes, true);
    if (!self->dealer) {
        msgpack_sbuffer_destroy(&self->frame);
        goto fail;
    }
    return self;
fail:
    free(self->free_slots);
    free(self->slots);
    free(self->endpoint);
    free(self);
    return NULL;
}

void gw_link_destroy(gw_link_t **self_p)
{
    assert(self_p);
    gw_link_t *self = *self_p;
    if (!self)
        return;
    gw_link_drain(self);
    zsock_destroy(&self->dealer);
    msgpack_sbuffer_destroy(&self->frame);
    free(self->free_slots);
    free(self->slots);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}
