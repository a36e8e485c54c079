/*  gw_ratelimit: failed authentications per client address (issue 13).
 *
 *  A bounded table, shared by the gateway's event loops (one mutex), that
 *  counts the 401s each client address earned. The limit-th failure within
 *  a window blocks the address for window_ms from that failure: every
 *  request from it that needs a token is then answered 429 without asking
 *  payment-core, until the block ends (then the address starts afresh).
 *  Successful requests are not counted, and a block is not lengthened by
 *  the requests refused during it.
 *
 *  The table has a fixed number of entries in sets of GW_RL_WAYS, found by
 *  a keyed hash (a per-process random key, so that nobody can aim many
 *  addresses at one set); a new address takes a free or expired entry of
 *  its set, else the least recently used one (blocked entries are evicted
 *  last). Memory is capacity * ~48 bytes, allocated once. */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H
#include <stddef.h>
#include <stdint.h>

#define GW_RL_WAYS 8
#define GW_RL_KEY_MAX 16

typedef struct gw_ratelimit_t gw_ratelimit_t;

/* A table of capacity entries (rounded down to a multiple of GW_RL_WAYS,
 * at least GW_RL_WAYS) blocking after limit failures within window_ms.
 * limit 0: never blocks (gw_ratelimit_fail counts nothing). NULL on out of
 * memory. */
gw_ratelimit_t *gw_ratelimit_new(size_t capacity, uint32_t limit, int64_t window_ms);

/* Frees; safe on NULL; nulls *self_p. */
void gw_ratelimit_destroy(gw_ratelimit_t **self_p);

/* When the address key[0..len) (len <= GW_RL_KEY_MAX) is blocked at now_ms:
 * the milliseconds the block has left (> 0); else 0. */
int64_t gw_ratelimit_blocked(gw_ratelimit_t *self, const void *key, size_t len, int64_t now_ms);

/* Counts one failed authentication of the address at now_ms. Returns the
 * milliseconds of the block this failure started or extended (> 0), else 0. */
int64_t gw_ratelimit_fail(gw_ratelimit_t *self, const void *key, size_t len, int64_t now_ms);

/* Entries in use (not expired at now_ms), for tests. */
size_t gw_ratelimit_used(gw_ratelimit_t *self, int64_t now_ms);

/* The table's key of a client address (struct sockaddr): IPv4 as its 4
 * bytes (also when IPv4-mapped in IPv6), IPv6 as its /64 prefix (one
 * host's usual allocation). Returns the key's length, or 0 for another
 * family or NULL. */
size_t gw_ratelimit_key(const void *sockaddr, uint8_t key[GW_RL_KEY_MAX]);

#endif
