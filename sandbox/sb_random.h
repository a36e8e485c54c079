/*  sb_random: the seeded random fault mode, for chaos tests.
 *
 *  Where a fault rule (sb_faults_t) misbehaves on the next N calls a test
 *  names, the random mode misbehaves on a share of all provider calls: each
 *  call no rule took, of a selected provider, draws from a PRNG seeded with
 *  the configured seed, and with probability per_mille/1000 gets a fault of
 *  a kind drawn uniformly from the selected kinds. The fault is returned as
 *  an sb_fault_t, so the HTTP core applies it exactly as it applies a rule's
 *  (see sb_fault.h).
 *
 *  The PRNG is splitmix64. Draws are taken in the order the caller asks, so
 *  the same seed over the same sequence of calls gives the same faults; with
 *  concurrent calls the sequence is the order in which they take the lock.
 *  Like sb_faults_t it is a plain data structure without locks or I/O: the
 *  caller holds the sandbox lock around every call, which also makes the
 *  counters exact. */
#ifndef SB_RANDOM_H
#define SB_RANDOM_H
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sb_fault.h"

#define SB_RANDOM_PER_MILLE_MAX 1000
#define SB_RANDOM_SEED_MAX (INT64_C(1) << 53) /* seeds are exact in a JSON double */
#define SB_RANDOM_SEED_DEF 1
#define SB_RANDOM_TIMEOUT_DEF_MS 3000
#define SB_RANDOM_DELAY_DEF_MS 500
#define SB_RANDOM_STATUS_DEF 503

typedef struct {
    int per_mille;     /* 0..1000: share of eligible calls that get a fault */
    uint64_t seed;     /* 0..SB_RANDOM_SEED_MAX */
    unsigned kinds;    /* bit 1u << k for each sb_fault_kind_t k drawn from; not 0 */
    unsigned services; /* bit 1u << sb_service_index() for each provider faulted; not 0 */
    int timeout_ms;    /* 1..SB_FAULT_DELAY_MAX_MS: a timeout holds this long */
    int delay_ms;      /* 0..SB_FAULT_DELAY_MAX_MS: a delay sleeps this long */
    int status;        /* 500..599: a status fault answers this */
} sb_random_config_t;

/* The defaults: per_mille 0, seed 1, kinds timeout, status and
 * drop_response, every provider, timeout 3000 ms, delay 500 ms, status 503. */
void sb_random_config_default(sb_random_config_t *out);

/* Reads the admin JSON object {"per_mille" (required), "seed", "kinds",
 * "services", "timeout_ms", "delay_ms", "status"}; absent or null fields
 * take their defaults, other keys are refused. Returns 0, or -1 with a
 * reason in err (and *out unspecified). */
int sb_random_config_from_json(json_object *obj, sb_random_config_t *out, char *err,
                               size_t err_cap);

typedef struct sb_random_t sb_random_t;

/* A new random mode, off, with the default configuration. NULL when out of
 * memory. */
sb_random_t *sb_random_new(void);
void sb_random_destroy(sb_random_t **self_p);

/* Switches the mode on with cfg (copied), replacing any configuration
 * before: the counters go to zero and the PRNG back to cfg->seed. */
void sb_random_set(sb_random_t *self, const sb_random_config_t *cfg);

/* Switches the mode off; configuration and counters stay, to be read. */
void sb_random_off(sb_random_t *self);

bool sb_random_enabled(const sb_random_t *self);

/* Decides one provider call to service (a name of SB_SERVICE_NAMES) that no
 * rule took. When the mode is on and service selected, the call is counted
 * as seen and takes a draw; returns true with the fault in out (id 0,
 * delay_ms the configured timeout_ms or delay_ms) when it gets one, which
 * is counted as injected. Otherwise false, out->kind SB_FAULT_NONE. */
bool sb_random_draw(sb_random_t *self, const char *service, sb_fault_t *out);

/* A new JSON object: {"enabled", the configuration, "calls_seen",
 * "injected": {kind: n}, "by_service": {service: {"seen", "injected"}}};
 * caller owns it. NULL when out of memory. */
json_object *sb_random_to_json(const sb_random_t *self);

#endif
