/*  sb_fault: injected faults and the log of provider calls.
 *
 *  Tests ask the sandbox to misbehave for the next N calls to one simulated
 *  provider (sb_faults_t), and read back which calls it received
 *  (sb_calls_t). Both are plain bounded data structures without locks or
 *  I/O: the caller holds the sandbox lock around every call.
 *
 *  Fault kinds, as the HTTP core (sb_http) applies them:
 *    delay          sleep delay_ms, then answer normally
 *    status         answer `status` with the provider's error shape ({"error":
 *                   "server_error"}, BazaarPay {"detail"}, RBS {"errorCode": "7"},
 *                   TFEB {"response": {"operationResult": "GEN-00001"}}), apply
 *                   nothing
 *    timeout        hold the connection delay_ms, then close it without an answer
 *    drop_response  apply the call, then close without an answer (the response
 *                   is lost after the action was applied) */
#ifndef SB_FAULT_H
#define SB_FAULT_H
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_FAULTS_MAX 64              /* pending fault rules */
#define SB_FAULT_COUNT_MAX 1000       /* calls one rule may hit */
#define SB_FAULT_DELAY_MAX_MS 60000   /* longest delay or timeout */
#define SB_FAULT_TIMEOUT_DEF_MS 30000 /* timeout without delay_ms */
#define SB_FAULT_MATCH_MAX 128        /* bytes of a path substring */
#define SB_SERVICE_MAX 16             /* bytes of a service name */
#define SB_CALLS_MAX 1000             /* calls remembered */
#define SB_CALL_PATH_MAX 256          /* bytes of a logged path (clipped) */

typedef enum {
    SB_FAULT_NONE = 0,
    SB_FAULT_DELAY,
    SB_FAULT_STATUS,
    SB_FAULT_TIMEOUT,
    SB_FAULT_DROP,
} sb_fault_kind_t;

typedef struct {
    uint64_t id; /* assigned by sb_faults_add */
    char service[SB_SERVICE_MAX + 1];
    sb_fault_kind_t kind;
    int remaining;                      /* calls still to hit */
    int delay_ms;                       /* delay and timeout */
    int status;                         /* status: 400..599 */
    char match[SB_FAULT_MATCH_MAX + 1]; /* "" matches every path */
} sb_fault_t;

/* "delay", "status", "timeout", "drop_response"; NULL for SB_FAULT_NONE. */
const char *sb_fault_kind_name(sb_fault_kind_t kind);

/* The kind named name (as sb_fault_kind_name spells it), or SB_FAULT_NONE. */
sb_fault_kind_t sb_fault_kind_from_name(const char *name);

/* The simulated providers, for messages. */
#define SB_SERVICE_NAMES "bazaar, bazaarpay, rbs, tfeb"
#define SB_SERVICE_COUNT 4

/* True when name is a simulated provider (one of SB_SERVICE_NAMES). */
bool sb_service_known(const char *name);

/* The index 0..SB_SERVICE_COUNT-1 of a simulated provider, in the order of
 * SB_SERVICE_NAMES, or -1 when name is none. */
int sb_service_index(const char *name);

/* The name of provider i (0..SB_SERVICE_COUNT-1); static. */
const char *sb_service_name(int i);

/* Reads a fault rule from the admin JSON object {"service", "kind", "count",
 * "delay_ms", "status", "match"}. Returns 0, or -1 with a reason in err. */
/* Reads an optional integer field of obj: 1 when present and in [min,
 * max] (into *out), 0 when absent or null, -1 otherwise with the client
 * message in err. */
int sb_json_int64(json_object *obj, const char *key, int64_t min, int64_t max, int64_t *out,
                  char *err, size_t err_cap);
int sb_json_int(json_object *obj, const char *key, int min, int max, int *out, char *err,
                size_t err_cap);

int sb_fault_from_json(json_object *obj, sb_fault_t *out, char *err, size_t err_cap);

/* A new JSON object describing f; caller owns it. NULL when out of memory. */
json_object *sb_fault_to_json(const sb_fault_t *f);

typedef struct sb_faults_t sb_faults_t;

sb_faults_t *sb_faults_new(void);
void sb_faults_destroy(sb_faults_t **self_p);

/* Appends a copy of f (id assigned, copied back into *f). Returns 0, or -1
 * when SB_FAULTS_MAX rules are pending. */
int sb_faults_add(sb_faults_t *self, sb_fault_t *f);

/* The first pending rule, in order of addition, for service whose match is
 * a substring of path: copied into out, its count decremented (and the rule
 * removed at zero). Returns false, out->kind SB_FAULT_NONE, when none. */
bool sb_faults_take(sb_faults_t *self, const char *service, const char *path, sb_fault_t *out);

size_t sb_faults_count(const sb_faults_t *self);
/* Rule i (0 = oldest) of the pending ones; borrowed until the next change. */
const sb_fault_t *sb_faults_at(const sb_faults_t *self, size_t i);
void sb_faults_clear(sb_faults_t *self);

/* ---- the call log -------------------------------------------------------- */

typedef struct {
    uint64_t seq;
    char service[SB_SERVICE_MAX + 1];
    char method[16];
    char path[SB_CALL_PATH_MAX + 1];
    int status; /* 0: no answer sent (yet, or never) */
    sb_fault_kind_t fault;
    int64_t at_ms; /* arrival, ms since the epoch */
} sb_call_t;

typedef struct sb_calls_t sb_calls_t;

/* A ring of the last cap calls. */
sb_calls_t *sb_calls_new(size_t cap);
void sb_calls_destroy(sb_calls_t **self_p);

/* Records a call as it arrives (status 0); returns its sequence number. */
uint64_t sb_calls_begin(sb_calls_t *self, const char *service, const char *method, const char *path,
                        sb_fault_kind_t fault, int64_t at_ms);
/* Sets the status a call was answered with, if it is still in the ring. */
void sb_calls_finish(sb_calls_t *self, uint64_t seq, int status);

size_t sb_calls_count(const sb_calls_t *self);
/* Call i (0 = oldest) of those remembered. */
const sb_call_t *sb_calls_at(const sb_calls_t *self, size_t i);
void sb_calls_clear(sb_calls_t *self);

#endif
