/*  park: requests that are answered later, and the replies they get.
 *
 *  Two kinds of request do not get their reply in the batch that received
 *  them: a STORE_REDEEM waits for its purchase's Bazaar validation (a
 *  "waiter", keyed by purchase serial), and a JOB_TAKE with nothing due waits
 *  for a job or its wait_ms (a "taker"). Both are kept here, in memory only:
 *  the durable state is the job and the purchase; a waiter lost in a
 *  restart is a client that retries and attaches to the same validation.
 *
 *  Nothing changes for good before the batch's commit: entries added during
 *  a batch and replies queued during it are staged, then park_commit makes
 *  them real (the caller sends the outbox) or park_rollback undoes them (the
 *  outbox is emptied, answered entries wait again, added ones vanish).
 *
 *  Bounded: at most max_waiters waiters and PARK_TAKERS_MAX takers. */
#ifndef PARK_H
#define PARK_H
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pm_proto.h"

#define PARK_PEER_MAX 255    /* ZeroMQ routing ids are at most 255 bytes */
#define PARK_TAKERS_MAX 1024 /* parked JOB_TAKE requests */
#define PARK_KINDS_MAX 8     /* job kinds one JOB_TAKE may ask for */
#define PARK_KIND_MAX 32
#define PARK_SERIAL_MAX                                                                            \
    64 /* the key waiters wait on: a purchase or checkout serial, "o:" + a reg no */

/* Who to answer: the socket (dispatch_src_t), the routing id, the header. */
typedef struct {
    int src;
    uint8_t id[PARK_PEER_MAX];
    size_t id_len;
    pm_header_t header;
} park_peer_t;

typedef struct {
    char kinds[PARK_KINDS_MAX][PARK_KIND_MAX + 1];
    size_t nkinds;
    int64_t max;      /* jobs per reply */
    int64_t until_ms; /* answered with no jobs from then */
} park_take_t;

typedef struct park_t park_t;

park_t *park_new(size_t max_waiters);
void park_destroy(park_t **self_p);

size_t park_waiters(const park_t *self);
bool park_waiters_full(const park_t *self);
size_t park_takers(const park_t *self);
bool park_takers_full(const park_t *self);

/* Parks a waiter on purchase serial until expires_ms (staged). Asserts room:
 * check park_waiters_full first. */
void park_add_waiter(park_t *self, const park_peer_t *peer, const char *serial, int64_t expires_ms);

/* Queues body (a whole reply body) for every waiting waiter of serial and
 * marks them answered (staged). Returns how many. */
size_t park_answer_waiters(park_t *self, const char *serial, const void *body, size_t body_len);

/* Parks a taker (staged). Asserts room. */
void park_add_taker(park_t *self, const park_peer_t *peer, const park_take_t *take);

/* The i-th taker still waiting (not answered in this batch), or NULL past
 * the end; indices are stable until commit/rollback. */
const park_take_t *park_taker_at(const park_t *self, size_t i);

/* Answers taker i with body (staged). */
void park_answer_taker(park_t *self, size_t i, const void *body, size_t body_len);

/* Answers the waiters and takers whose time is up at now_ms: waiters with
 * unavailable, takers with an empty job list (staged). */
void park_expire(park_t *self, int64_t now_ms);

/* The earliest expiry of a waiting entry, INT64_MAX when none. */
int64_t park_next_deadline_ms(const park_t *self);

void park_commit(park_t *self);
void park_rollback(park_t *self);

/* The outbox: reply frames to send after a commit, in order. Views valid
 * until park_outbox_clear. */
size_t park_outbox_count(const park_t *self);
void park_outbox_get(const park_t *self, size_t i, int *src, const uint8_t **id, size_t *id_len,
                     const void **frame, size_t *frame_len);
void park_outbox_clear(park_t *self);

#endif
