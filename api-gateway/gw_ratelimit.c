/*  gw_ratelimit: a set-associative table of failed authentications per
 *  client address, under one mutex (see gw_ratelimit.h). */
#include "gw_ratelimit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef struct {
    uint8_t key[GW_RL_KEY_MAX];
    uint8_t len;           /* 0: free */
    uint32_t count;        /* failures since start_ms */
    int64_t start_ms;      /* first failure of the current window */
    int64_t blocked_until; /* 0: not blocked */
    int64_t used_ms;       /* last touched, for LRU */
} s_entry_t;

struct gw_ratelimit_t {
    pthread_mutex_t lock;
    s_entry_t *entries;
    size_t n_sets;
    uint32_t limit;
    int64_t window_ms;
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

gw_ratelimit_t *gw_ratelimit_new(size_t capacity, uint32_t limit, int64_t window_ms)
{
    if (sodium_init() < 0)
        return NULL;
    gw_ratelimit_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->n_sets = capacity / GW_RL_WAYS ? capacity / GW_RL_WAYS : 1;
    self->entries = calloc(self->n_sets * GW_RL_WAYS, sizeof *self->entries);
    if (!self->entries || pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self->entries);
        free(self);
        return NULL;
    }
    self->limit = limit;
    self->window_ms = window_ms > 0 ? window_ms : 1;
    crypto_shorthash_keygen(self->hash_key);
    return self;
}

void gw_ratelimit_destroy(gw_ratelimit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gw_ratelimit_t *self = *self_p;
    pthread_mutex_destroy(&self->lock);
    free(self->entries);
    free(self);
    *self_p = NULL;
}

/* An entry that holds nothing worth keeping at now. */
static bool s_idle(const gw_ratelimit_t *self, const s_entry_t *e, int64_t now)
{
    return e->len == 0 || (e->blocked_until <= now && now - e->start_ms >= self->window_ms);
}

static s_entry_t *s_set(gw_ratelimit_t *self, const void *key, size_t len)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, key, len, self->hash_key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return &self->entries[(v % self->n_sets) * GW_RL_WAYS];
}

/* The address's live entry, or NULL. */
static s_entry_t *s_find(gw_ratelimit_t *self, s_entry_t *set, const void *key, size_t len,
                         int64_t now)
{
    for (int i = 0; i < GW_RL_WAYS; i++) {
        s_entry_t *e = &set[i];
        if (e->len == len && memcmp(e->key, key, len) == 0 && !s_idle(self, e, now))
            return e;
    }
    return NULL;
}

int64_t gw_ratelimit_blocked(gw_ratelimit_t *self, const void *key, size_t len, int64_t now_ms)
{
    if (!self || self->limit == 0 || len == 0 || len > GW_RL_KEY_MAX)
        return 0;
    int64_t left = 0;
    pthread_mutex_lock(&self->lock);
    s_entry_t *e = s_find(self, s_set(self, key, len), key, len, now_ms);
    if (e && e->blocked_until > now_ms) {
        left = e->blocked_until - now_ms;
        e->used_ms = now_ms;
    }
    pthread_mutex_unlock(&self->lock);
    return left;
}

int64_t gw_ratelimit_fail(gw_ratelimit_t *self, const void *key, size_t len, int64_t now_ms)
{
    if (!self || self->limit == 0 || len == 0 || len > GW_RL_KEY_MAX)
        return 0;
    int64_t left = 0;
    pthread_mutex_lock(&self->lock);
    s_entry_t *set = s_set(self, key, len);
    s_entry_t *e = s_find(self, set, key, len, now_ms);
    if (!e) {
        /* A free or expired entry, else the least recently used one,
         * preferring those not blocked. */
        for (int i = 0; i < GW_RL_WAYS && !e; i++)
            if (s_idle(self, &set[i], now_ms))
                e = &set[i];
        for (int pass = 0; pass < 2 && !e; pass++)
            for (int i = 0; i < GW_RL_WAYS; i++) {
                s_entry_t *c = &set[i];
                if (pass == 0 && c->blocked_until > now_ms)
                    continue;
                if (!e || c->used_ms < e->used_ms)
                    e = c;
            }
        memset(e, 0, sizeof *e);
        memcpy(e->key, key, len);
        e->len = (uint8_t)len;
        e->start_ms = now_ms;
    }
    e->used_ms = now_ms;
    if (e->blocked_until > now_ms) {
        left = e->blocked_until - now_ms; /* in flight when the block began */
    } else {
        if (e->blocked_until != 0 || now_ms - e->start_ms >= self->window_ms) {
            e->blocked_until = 0; /* a block or window ended: afresh */
            e->count = 0;
            e->start_ms = now_ms;
        }
        if (++e->count >= self->limit) {
            e->blocked_until = now_ms + self->window_ms;
            left = self->window_ms;
        }
    }
    pthread_mutex_unlock(&self->lock);
    return left;
}

size_t gw_ratelimit_used(gw_ratelimit_t *self, int64_t now_ms)
{
    size_t n = 0;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->n_sets * GW_RL_WAYS; i++)
        n += !s_idle(self, &self->entries[i], now_ms);
    pthread_mutex_unlock(&self->lock);
    return n;
}

size_t gw_ratelimit_key(const void *sockaddr, uint8_t key[GW_RL_KEY_MAX])
{
    if (!sockaddr)
        return 0;
    const struct sockaddr *sa = sockaddr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = sockaddr;
        memcpy(key, &in->sin_addr, 4);
        return 4;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = sockaddr;
        const uint8_t *a = in6->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, mapped, sizeof mapped) == 0) {
            memcpy(key, a + 12, 4);
            return 4;
        }
        memcpy(key, a, 8); /* the /64 */
        return 8;
    }
    return 0;
}
