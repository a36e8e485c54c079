/*  park: waiters, takers and the outbox, staged until commit. */
#include "park.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_err.h"

#define S_WAITER_EXPIRED_MSG "Bazaar did not answer in time; try again"

typedef struct {
    park_peer_t peer;
    char serial[PARK_SERIAL_MAX + 1];
    int64_t expires_ms;
    bool added;    /* parked in this batch */
    bool answered; /* answered in this batch */
} s_waiter_t;

typedef struct {
    park_peer_t peer;
    park_take_t take;
    bool added;
    bool answered;
} s_taker_t;

typedef struct {
    int src;
    uint8_t id[PARK_PEER_MAX];
    size_t id_len;
    msgpack_sbuffer frame;
} s_out_t;

struct park_t {
    size_t max_waiters;
    s_waiter_t *waiters; /* max_waiters of them */
    size_t nwaiters;
    s_taker_t *takers; /* PARK_TAKERS_MAX */
    size_t ntakers;
    s_out_t *out; /* grows; frames kept for reuse */
    size_t nout, out_cap;
};

park_t *park_new(size_t max_waiters)
{
    assert(max_waiters > 0);
    park_t *self = calloc(1, sizeof *self);
    assert(self);
    self->max_waiters = max_waiters;
    self->waiters = calloc(max_waiters, sizeof *self->waiters);
    self->takers = calloc(PARK_TAKERS_MAX, sizeof *self->takers);
    assert(self->waiters && self->takers);
    return self;
}

void park_destroy(park_t **self_p)
{
    assert(self_p);
    park_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->out_cap; i++)
        msgpack_sbuffer_destroy(&self->out[i].frame);
    free(self->out);
    free(self->takers);
    free(self->waiters);
    free(self);
    *self_p = NULL;
}

size_t park_waiters(const park_t *self)
{
    return self->nwaiters;
}

bool park_waiters_full(const park_t *self)
{
    return self->nwaiters >= self->max_waiters;
}

size_t park_takers(const park_t *self)
{
    return self->ntakers;
}

bool park_takers_full(const park_t *self)
{
    return self->ntakers >= PARK_TAKERS_MAX;
}

/* Queues the reply frame (header for peer's request + body). */
static void s_send(park_t *self, const park_peer_t *peer, const void *body, size_t body_len)
{
    if (self->nout == self->out_cap) {
        size_t cap = self->out_cap ? self->out_cap * 2 : 64;
        self->out = realloc(self->out, cap * sizeof *self->out);
        assert(self->out);
        for (size_t i = self->out_cap; i < cap; i++)
            msgpack_sbuffer_init(&self->out[i].frame);
        self->out_cap = cap;
    }
    s_out_t *o = &self->out[self->nout++];
    o->src = peer->src;
    memcpy(o->id, peer->id, peer->id_len);
    o->id_len = peer->id_len;
    msgpack_sbuffer_clear(&o->frame);
    pm_header_t h;
    pm_header_reply_to(&h, &peer->header);
    pm_envelope_pack_header(&o->frame, &h);
    msgpack_sbuffer_write(&o->frame, body, body_len);
}

void park_add_waiter(park_t *self, const park_peer_t *peer, const char *serial, int64_t expires_ms)
{
    assert(self && peer && serial && strlen(serial) <= PARK_SERIAL_MAX);
    assert(!park_waiters_full(self));
    s_waiter_t *w = &self->waiters[self->nwaiters++];
    memset(w, 0, sizeof *w);
    w->peer = *peer;
    strcpy(w->serial, serial);
    w->expires_ms = expires_ms;
    w->added = true;
}

size_t park_answer_waiters(park_t *self, const char *serial, const void *body, size_t body_len)
{
    assert(self && serial);
    size_t n = 0;
    for (size_t i = 0; i < self->nwaiters; i++) {
        s_waiter_t *w = &self->waiters[i];
        if (w->answered || strcmp(w->serial, serial) != 0)
            continue;
        s_send(self, &w->peer, body, body_len);
        w->answered = true;
        n++;
    }
    return n;
}

void park_add_taker(park_t *self, const park_peer_t *peer, const park_take_t *take)
{
    assert(self && peer && take && !park_takers_full(self));
    s_taker_t *t = &self->takers[self->ntakers++];
    t->peer = *peer;
    t->take = *take;
    t->added = true;
    t->answered = false;
}

const park_take_t *park_taker_at(const park_t *self, size_t i)
{
    assert(self);
    if (i >= self->ntakers || self->takers[i].answered)
        return NULL;
    return &self->takers[i].take;
}

void park_answer_taker(park_t *self, size_t i, const void *body, size_t body_len)
{
    assert(self && i < self->ntakers && !self->takers[i].answered);
    s_send(self, &self->takers[i].peer, body, body_len);
    self->takers[i].answered = true;
}

void park_expire(park_t *self, int64_t now_ms)
{
    assert(self);
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    for (size_t i = 0; i < self->nwaiters; i++) {
        s_waiter_t *w = &self->waiters[i];
        if (w->answered || w->expires_ms > now_ms)
            continue;
        if (body.size == 0) {
            msgpack_pack_map(&pk, 2);
            pm_mp_pack_cstr(&pk, "err");
            msgpack_pack_int(&pk, PM_ERR_UNAVAILABLE);
            pm_mp_pack_cstr(&pk, "msg");
            pm_mp_pack_cstr(&pk, S_WAITER_EXPIRED_MSG);
        }
        s_send(self, &w->peer, body.data, body.size);
        w->answered = true;
    }
    msgpack_sbuffer_clear(&body);
    for (size_t i = 0; i < self->ntakers; i++) {
        s_taker_t *t = &self->takers[i];
        if (t->answered || t->take.until_ms > now_ms)
            continue;
        /* An empty list under the name the taker reads: "items" for a
         * retry-worker (whose one kind is the retry index), else "jobs". */
        bool retry = t->take.nkinds == 1 && t->take.kinds[0][0] == '@';
        msgpack_sbuffer_clear(&body);
        msgpack_pack_map(&pk, 2);
        pm_mp_pack_cstr(&pk, "err");
        msgpack_pack_int(&pk, PM_OK);
        pm_mp_pack_cstr(&pk, retry ? "items" : "jobs");
        msgpack_pack_array(&pk, 0);
        s_send(self, &t->peer, body.data, body.size);
        t->answered = true;
    }
    msgpack_sbuffer_destroy(&body);
}

int64_t park_next_deadline_ms(const park_t *self)
{
    assert(self);
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < self->nwaiters; i++)
        if (!self->waiters[i].answered && self->waiters[i].expires_ms < next)
            next = self->waiters[i].expires_ms;
    for (size_t i = 0; i < self->ntakers; i++)
        if (!self->takers[i].answered && self->takers[i].take.until_ms < next)
            next = self->takers[i].take.until_ms;
    return next;
}

/* Drops the entries for which drop_expr holds (i_ is the index), keeps the
 * others in order with both flags cleared. */
#define S_COMPACT(arr, n, drop_expr)                                                               \
    do {                                                                                           \
        size_t kept_ = 0;                                                                          \
        for (size_t i_ = 0; i_ < (n); i_++) {                                                      \
            bool drop_ = (drop_expr);                                                              \
            if (drop_)                                                                             \
                continue;                                                                          \
            (arr)[kept_] = (arr)[i_];                                                              \
            (arr)[kept_].added = false;                                                            \
            (arr)[kept_].answered = false;                                                         \
            kept_++;                                                                               \
        }                                                                                          \
        (n) = kept_;                                                                               \
    } while (0)

void park_commit(park_t *self)
{
    assert(self);
    S_COMPACT(self->waiters, self->nwaiters, self->waiters[i_].answered);
    S_COMPACT(self->takers, self->ntakers, self->takers[i_].answered);
}

void park_rollback(park_t *self)
{
    assert(self);
    S_COMPACT(self->waiters, self->nwaiters, self->waiters[i_].added);
    S_COMPACT(self->takers, self->ntakers, self->takers[i_].added);
    self->nout = 0;
}

size_t park_outbox_count(const park_t *self)
{
    return self->nout;
}

void park_outbox_get(const park_t *self, size_t i, int *src, const uint8_t **id, size_t *id_len,
                     const void **frame, size_t *frame_len)
{
    assert(self && i < self->nout);
    const s_out_t *o = &self->out[i];
    *src = o->src;
    *id = o->id;
    *id_len = o->id_len;
    *frame = o->frame.data;
    *frame_len = o->frame.size;
}

void park_outbox_clear(park_t *self)
{
    assert(self);
    self->nout = 0;
}
