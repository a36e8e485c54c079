/*  metrics: payment-core's side of the gateway's /readyz and /metrics
 *  (HEALTH and METRICS, pm_proto.h 130..139; docs/operations.md "Health and
 *  metrics").
 *
 *  In-memory figures that the stores do not keep (group-commit sizes, the
 *  requests of the last turn, provider job outcomes and latencies) live in
 *  one process-wide record here, written only by the core's one thread.
 *  Job results are staged while their batch runs and counted only when it
 *  commits (a redone or failed batch counts nothing twice or at all).
 *
 *  Cost of METRICS: O(1) LMDB calls plus ops_stats_read (at most
 *  OPS_SCAN_MAX job records) and one cursor seek in the due index; it runs
 *  on a read-only snapshot, so it never waits for an fsync. HEALTH is O(1)
 *  and runs in the batch's write transaction (its being answered at all
 *  proves a write transaction began). */
#ifndef METRICS_H
#define METRICS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "request.h"

/* Providers, by job kind prefix. */
typedef enum {
    METRICS_PROV_BAZAAR = 0, /* bazaar_* */
    METRICS_PROV_BAZAARPAY,  /* bazaarpay_* */
    METRICS_PROV_BANK,       /* bank_* */
    METRICS_PROV_OTHER,
    METRICS_PROV__COUNT
} metrics_prov_t;

typedef enum {
    METRICS_OUT_OK = 0,
    METRICS_OUT_REJECTED,
    METRICS_OUT_UNKNOWN,
    METRICS_OUT__COUNT
} metrics_out_t;

/* Write-batch size buckets (upper bounds; the last one is +Inf). */
#define METRICS_BATCH_BUCKETS 10
extern const uint32_t metrics_batch_le[METRICS_BATCH_BUCKETS - 1];

/* Map use is the page high-water mark over the map size; at or above this share
 * of the map the store is reported not writable. */
#define METRICS_MAP_FULL_PCT 95.0

/* A JOB_RESULT seen before its handler ran: what to count if it applies. */
typedef struct {
    metrics_prov_t prov;
    metrics_out_t out;
    int64_t latency_ms; /* lease start to result */
} metrics_job_t;

/* The provider of a job kind. Pure. */
metrics_prov_t metrics_prov_of(const char *kind);

/* Called before a JOB_RESULT's handler, in its transaction: true with *mj
 * set when the result is for the job's current lease (it will be applied
 * if the handler succeeds). */
bool metrics_job_peek(const req_t *req, metrics_job_t *mj);

/* Stages mj for the batch being run; dropped by metrics_batch_clear (a
 * redone pass, a failed commit), counted by metrics_batch_done. */
void metrics_job_stage(const metrics_job_t *mj);
void metrics_batch_clear(void);

/* The batch committed with `writes` requests in its write transaction. */
void metrics_batch_done(size_t writes);

/* A loop turn took n requests off the sockets (dispatch_reads). */
void metrics_turn(size_t n);

/* Resets every counter (tests). */
void metrics_reset(void);

/* HEALTH and METRICS handlers (api and admin sockets, no token). */
int metrics_api_health(req_t *req);
int metrics_api_metrics(req_t *req);

#endif
