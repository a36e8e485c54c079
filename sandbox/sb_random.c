/*  sb_random: the random fault mode's configuration, PRNG and counters. */
#include "sb_random.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kinds in the order a draw picks among them, and the order the admin
 * API lists them: a configuration names a set, so the order it was written
 * in must not change the faults a seed gives. */
static const sb_fault_kind_t s_kind_order[] = {SB_FAULT_TIMEOUT, SB_FAULT_STATUS, SB_FAULT_DROP,
                                               SB_FAULT_DELAY};
#define S_KIND_COUNT (sizeof s_kind_order / sizeof s_kind_order[0])

struct sb_random_t {
    sb_random_config_t cfg;
    bool enabled;
    uint64_t state;                         /* splitmix64 */
    uint64_t seen;                          /* calls that took a draw */
    uint64_t injected[SB_FAULT_DROP + 1];   /* by sb_fault_kind_t */
    uint64_t seen_by[SB_SERVICE_COUNT];     /* by sb_service_index */
    uint64_t injected_by[SB_SERVICE_COUNT]; /* by sb_service_index */
};

void sb_random_config_default(sb_random_config_t *out)
{
    assert(out);
    memset(out, 0, sizeof *out);
    out->per_mille = 0;
    out->seed = SB_RANDOM_SEED_DEF;
    out->kinds = 1u << SB_FAULT_TIMEOUT | 1u << SB_FAULT_STATUS | 1u << SB_FAULT_DROP;
    out->services = (1u << SB_SERVICE_COUNT) - 1;
    out->timeout_ms = SB_RANDOM_TIMEOUT_DEF_MS;
    out->delay_ms = SB_RANDOM_DELAY_DEF_MS;
    out->status = SB_RANDOM_STATUS_DEF;
}

/* Reads an optional array of distinct names into a bit set, a name's bit
 * given by index_of (-1: not a name). 1 when present and valid, 0 when
 * absent or null, -1 otherwise. */
static int s_set_field(json_object *obj, const char *key, int (*index_of)(const char *),
                       const char *names, unsigned *out, char *err, size_t err_cap)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
    if (n == 0) {
        snprintf(err, err_cap, "%s must be a non-empty array of: %s", key, names);
        return -1;
    }
    unsigned set = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        const char *s = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
        int bit = s && strlen(s) == (size_t)json_object_get_string_len(e) ? index_of(s) : -1;
        if (bit < 0) {
            snprintf(err, err_cap, "%s must be a non-empty array of: %s", key, names);
            return -1;
        }
        if (set & 1u << bit) {
            snprintf(err, err_cap, "%s names \"%s\" twice", key, s);
            return -1;
        }
        set |= 1u << bit;
    }
    *out = set;
    return 1;
}

static int s_kind_index(const char *name)
{
    sb_fault_kind_t k = sb_fault_kind_from_name(name);
    return k == SB_FAULT_NONE ? -1 : (int)k;
}

int sb_random_config_from_json(json_object *obj, sb_random_config_t *out, char *err, size_t err_cap)
{
    assert(out && err && err_cap > 0);
    static const char *const known[] = {"per_mille",  "seed",     "kinds", "services",
                                        "timeout_ms", "delay_ms", "status"};
    sb_random_config_default(out);
    if (!obj || !json_object_is_type(obj, json_type_object)) {
        snprintf(err, err_cap, "the body must be a JSON object");
        return -1;
    }
    json_object_object_foreach(obj, key, val)
    {
        (void)val;
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(key, known[i]) != 0)
            i++;
        if (i == sizeof known / sizeof known[0]) {
            snprintf(err, err_cap,
                     "unknown field \"%.40s\" (per_mille, seed, kinds, services, timeout_ms, "
                     "delay_ms, status)",
                     key);
            return -1;
        }
    }
    int rc =
        sb_json_int(obj, "per_mille", 0, SB_RANDOM_PER_MILLE_MAX, &out->per_mille, err, err_cap);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        snprintf(err, err_cap, "per_mille is required (0..1000)");
        return -1;
    }
    int64_t seed;
    rc = sb_json_int64(obj, "seed", 0, SB_RANDOM_SEED_MAX, &seed, err, err_cap);
    if (rc < 0)
        return -1;
    if (rc > 0)
        out->seed = (uint64_t)seed;
    if (s_set_field(obj, "kinds", s_kind_index, "timeout, status, drop_response, delay",
                    &out->kinds, err, err_cap) < 0)
        return -1;
    if (s_set_field(obj, "services", sb_service_index, SB_SERVICE_NAMES, &out->services, err,
                    err_cap) < 0)
        return -1;
    if (sb_json_int(obj, "timeout_ms", 1, SB_FAULT_DELAY_MAX_MS, &out->timeout_ms, err, err_cap) <
        0)
        return -1;
    if (sb_json_int(obj, "delay_ms", 0, SB_FAULT_DELAY_MAX_MS, &out->delay_ms, err, err_cap) < 0)
        return -1;
    if (sb_json_int(obj, "status", 500, 599, &out->status, err, err_cap) < 0)
        return -1;
    return 0;
}

/* ---- the mode --------------------------------------------------------------- */

sb_random_t *sb_random_new(void)
{
    sb_random_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    sb_random_config_default(&self->cfg);
    self->state = self->cfg.seed;
    return self;
}

void sb_random_destroy(sb_random_t **self_p)
{
    assert(self_p);
    free(*self_p);
    *self_p = NULL;
}

void sb_random_set(sb_random_t *self, const sb_random_config_t *cfg)
{
    assert(self && cfg);
    assert(cfg->per_mille >= 0 && cfg->per_mille <= SB_RANDOM_PER_MILLE_MAX);
    assert(cfg->kinds != 0 && (cfg->kinds & ~(unsigned)((2u << SB_FAULT_DROP) - 2)) == 0);
    assert(cfg->services != 0 && cfg->services < 1u << SB_SERVICE_COUNT);
    memset(self, 0, sizeof *self);
    self->cfg = *cfg;
    self->enabled = true;
    self->state = cfg->seed;
}

void sb_random_off(sb_random_t *self)
{
    assert(self);
    self->enabled = false;
}

bool sb_random_enabled(const sb_random_t *self)
{
    assert(self);
    return self->enabled;
}

/* splitmix64 (Steele, Lea, Flood 2014): a 64-bit state stepped by a
 * constant, then mixed; every seed, 0 included, gives a full-period stream. */
static uint64_t s_next(sb_random_t *self)
{
    uint64_t z = (self->state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

bool sb_random_draw(sb_random_t *self, const char *service, sb_fault_t *out)
{
    assert(self && service && out);
    memset(out, 0, sizeof *out);
    int svc = sb_service_index(service);
    assert(svc >= 0);
    if (!self->enabled || !(self->cfg.services & 1u << svc))
        return false;
    self->seen++;
    self->seen_by[svc]++;
    /* One draw decides; a faulted call takes a second for its kind. The
     * modulo bias is below 1e-16 for these small ranges. */
    if (s_next(self) % SB_RANDOM_PER_MILLE_MAX >= (uint64_t)self->cfg.per_mille)
        return false;
    sb_fault_kind_t chosen[S_KIND_COUNT];
    size_t n = 0;
    for (size_t i = 0; i < S_KIND_COUNT; i++)
        if (self->cfg.kinds & 1u << s_kind_order[i])
            chosen[n++] = s_kind_order[i];
    assert(n > 0);
    sb_fault_kind_t kind = chosen[s_next(self) % n];

    snprintf(out->service, sizeof out->service, "%s", service);
    out->kind = kind;
    out->remaining = 0;
    out->delay_ms = kind == SB_FAULT_TIMEOUT ? self->cfg.timeout_ms
                    : kind == SB_FAULT_DELAY ? self->cfg.delay_ms
                                             : 0;
    out->status = kind == SB_FAULT_STATUS ? self->cfg.status : 0;
    self->injected[kind]++;
    self->injected_by[svc]++;
    return true;
}

json_object *sb_random_to_json(const sb_random_t *self)
{
    assert(self);
    const sb_random_config_t *c = &self->cfg;
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "enabled", json_object_new_boolean(self->enabled));
    json_object_object_add(o, "per_mille", json_object_new_int(c->per_mille));
    json_object_object_add(o, "seed", json_object_new_int64((int64_t)c->seed));
    json_object *kinds = json_object_new_array();
    for (size_t i = 0; kinds && i < S_KIND_COUNT; i++)
        if (c->kinds & 1u << s_kind_order[i])
            json_object_array_add(kinds,
                                  json_object_new_string(sb_fault_kind_name(s_kind_order[i])));
    json_object_object_add(o, "kinds", kinds);
    json_object *services = json_object_new_array();
    for (int i = 0; services && i < SB_SERVICE_COUNT; i++)
        if (c->services & 1u << i)
            json_object_array_add(services, json_object_new_string(sb_service_name(i)));
    json_object_object_add(o, "services", services);
    json_object_object_add(o, "timeout_ms", json_object_new_int(c->timeout_ms));
    json_object_object_add(o, "delay_ms", json_object_new_int(c->delay_ms));
    json_object_object_add(o, "status", json_object_new_int(c->status));
    json_object_object_add(o, "calls_seen", json_object_new_int64((int64_t)self->seen));
    json_object *injected = json_object_new_object();
    for (size_t i = 0; injected && i < S_KIND_COUNT; i++)
        json_object_object_add(injected, sb_fault_kind_name(s_kind_order[i]),
                               json_object_new_int64((int64_t)self->injected[s_kind_order[i]]));
    json_object_object_add(o, "injected", injected);
    json_object *by = json_object_new_object();
    for (int i = 0; by && i < SB_SERVICE_COUNT; i++) {
        json_object *s = json_object_new_object();
        if (s) {
            json_object_object_add(s, "seen", json_object_new_int64((int64_t)self->seen_by[i]));
            json_object_object_add(s, "injected",
                                   json_object_new_int64((int64_t)self->injected_by[i]));
        }
        json_object_object_add(by, sb_service_name(i), s);
    }
    json_object_object_add(o, "by_service", by);
    return o;
}
