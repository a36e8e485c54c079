/*  gw_metrics: request counters, /healthz, /readyz, /metrics (gw_metrics.h). */
#include "gw_metrics.h"

#include <assert.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_proto.h"

const double gw_metrics_latency_le[GW_METRICS_LATENCY_BUCKETS - 1] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

#define S_CLASSES 5 /* 1xx .. 5xx */
#define S_SLOTS (GW_METRICS_ROUTES_MAX + 1)

/* Per slot (a route row, or the last one: unmatched). Buckets are not
 * cumulative here; the text is. */
typedef struct {
    _Atomic uint64_t by_class[S_CLASSES];
    _Atomic uint64_t bucket[GW_METRICS_LATENCY_BUCKETS];
    _Atomic uint64_t sum_us;
} s_slot_t;

static s_slot_t s_slots[S_SLOTS];

static size_t s_slot_of(const gw_route_t *route)
{
    if (!route || route < gw_routes || route >= gw_routes + gw_route_count)
        return GW_METRICS_ROUTES_MAX;
    size_t i = (size_t)(route - gw_routes);
    return i < GW_METRICS_ROUTES_MAX ? i : GW_METRICS_ROUTES_MAX;
}

void gw_metrics_observe(const gw_route_t *route, int status, int64_t elapsed_us)
{
    s_slot_t *s = &s_slots[s_slot_of(route)];
    int c = status / 100 - 1;
    if (c < 0 || c >= S_CLASSES)
        c = S_CLASSES - 1;
    if (elapsed_us < 0)
        elapsed_us = 0;
    size_t b = 0;
    double secs = (double)elapsed_us / 1e6;
    while (b < GW_METRICS_LATENCY_BUCKETS - 1 && secs > gw_metrics_latency_le[b])
        b++;
    atomic_fetch_add_explicit(&s->by_class[c], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_us, (uint64_t)elapsed_us, memory_order_relaxed);
}

void gw_metrics_reset(void)
{
    for (size_t i = 0; i < S_SLOTS; i++) {
        for (int c = 0; c < S_CLASSES; c++)
            atomic_store(&s_slots[i].by_class[c], 0);
        for (int b = 0; b < GW_METRICS_LATENCY_BUCKETS; b++)
            atomic_store(&s_slots[i].bucket[b], 0);
        atomic_store(&s_slots[i].sum_us, 0);
    }
}

bool gw_metrics_public(const gw_route_t *route)
{
    return route && (route->build == gw_readyz_build || route->build == gw_metrics_build);
}

const char *gw_metrics_content_type(const gw_route_t *route)
{
    return route && route->build == gw_metrics_build ? GW_METRICS_CONTENT_TYPE : "application/json";
}

/* ---- a growing text buffer ------------------------------------------------ */

typedef struct {
    char *p;
    size_t len, cap;
    bool oom;
} s_buf_t;

__attribute__((format(printf, 2, 3))) static void s_put(s_buf_t *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2;
        while (cap - b->len <= (size_t)n)
            cap *= 2;
        char *grown = realloc(b->p, cap);
        if (!grown) {
            b->oom = true;
            return;
        }
        b->p = grown;
        b->cap = cap;
    }
}

/* A label value: \, " and newline escaped (Prometheus text format). */
static void s_put_label(s_buf_t *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            s_put(b, "\\%c", *v);
        else if (*v == '\n')
            s_put(b, "\\n");
        else
            s_put(b, "%c", *v);
    }
}

static void s_put_le(s_buf_t *b, double le)
{
    s_put(b, "%g", le);
}

/* ---- payment-core's figures ------------------------------------------------ */

typedef enum { S_COUNTER, S_GAUGE, S_HISTOGRAM, S_SUMMARY } s_type_t;

static const char *const s_type_names[] = {"counter", "gauge", "histogram", "summary"};

/* One sample from a key of the METRICS reply. Rows of one family are
 * adjacent; help and type are printed on its first row. */
typedef struct {
    const char *family;
    s_type_t type;
    const char *help; /* first row of a family only */
    const char *suffix;
    const char *labels; /* inside {}, or NULL */
    const char *key;
    double scale; /* value * scale is printed */
} s_core_row_t;

#define MS 1e-3
#define US 1e-6
#define PROV_ROWS(p)                                                                               \
    {"paymesh_provider_job_results_total", S_COUNTER,      NULL, "",                               \
     "provider=\"" p "\",outcome=\"ok\"",  "job_" p "_ok", 1},                                     \
        {"paymesh_provider_job_results_total",                                                     \
         S_COUNTER,                                                                                \
         NULL,                                                                                     \
         "",                                                                                       \
         "provider=\"" p "\",outcome=\"rejected\"",                                                \
         "job_" p "_rejected",                                                                     \
         1},                                                                                       \
    {                                                                                              \
        "paymesh_provider_job_results_total", S_COUNTER, NULL, "",                                 \
            "provider=\"" p "\",outcome=\"unknown\"", "job_" p "_unknown", 1                       \
    }
#define PROV_LAT(p)                                                                                \
    {"paymesh_provider_job_latency_seconds",                                                       \
     S_SUMMARY,                                                                                    \
     NULL,                                                                                         \
     "_sum",                                                                                       \
     "provider=\"" p "\"",                                                                         \
     "job_" p "_latency_ms_sum",                                                                   \
     MS},                                                                                          \
    {                                                                                              \
        "paymesh_provider_job_latency_seconds", S_SUMMARY, NULL, "_count", "provider=\"" p "\"",   \
            "job_" p "_latency_count", 1                                                           \
    }

static const s_core_row_t s_core_rows[] = {
    {"paymesh_core_queue_depth", S_GAUGE,
     "Requests payment-core took off its sockets in its last loop turn.", "", NULL, "turn_requests",
     1},
    {"paymesh_core_queue_depth_max", S_GAUGE, "Most requests taken in one loop turn.", "", NULL,
     "turn_requests_max", 1},
    {"paymesh_core_parked_requests", S_GAUGE,
     "Requests parked in payment-core (redeem/checkout waiters, job takers).", "",
     "kind=\"waiter\"", "parked_waiters", 1},
    {"paymesh_core_parked_requests", S_GAUGE, NULL, "", "kind=\"taker\"", "parked_takers", 1},
    {"paymesh_core_batch_size", S_HISTOGRAM,
     "Requests per group-committed write transaction (one fsync each).", "_bucket", "le=\"1\"",
     "batch_le_1", 1},
    {"paymesh_core_batch_size", S_HISTOGRAM, NULL, "_bucket", "le=\"2\"", "batch_le_2", 1},
    {"paymesh_core_batch_size", S_HISTOGRAM, NULL, "_bucket", "le=\"4\"", "batch_le_4", 1},
    {"paymesh_core_batch_size", S_HISTOGRAM, NULL, "_bucket", "le=\"8\"", "batch_le_8", 1},
    {"paymesh_core_batch_size", S_HISTOGRAM, NULL, "_bucket", "le=\"16\"", "batch_le_16", 1},
    {"paymesh_core_batch_size", S_HISTOGRAM, NULL, "_bucket", "le=\"32\"", "batch_le_32", 1},
    {"paymesh_core_batch_size", S_HISTOGRAM, NULL, "_bucket", "le=\"64\"", "batch_le_64", 1},
    {"paymesh_core_batch_size", S_HISTOGRAM, NULL, "_bucket", "le=\"128\"", "batch_le_128", 1},
    {"paymesh_core_batch_size", S_HISTOGRAM, NULL, "_bucket", "le=\"256\"", "batch_le_256", 1},
    {"paymesh_core_batch_size", S_HISTOGRAM, NULL, "_bucket", "le=\"+Inf\"", "batch_le_inf", 1},
    {"paymesh_core_batch_size", S_HISTOGRAM, NULL, "_sum", NULL, "batch_requests", 1},
    {"paymesh_core_batch_size", S_HISTOGRAM, NULL, "_count", NULL, "batches", 1},
    {"paymesh_core_batch_last", S_GAUGE, "Requests in the last group commit.", "", NULL,
     "batch_last", 1},
    {"paymesh_core_commit_seconds_total", S_COUNTER,
     "Time spent committing write transactions (page writes and fsync).", "", NULL,
     "commit_us_total", US},
    {"paymesh_core_commit_seconds_max", S_GAUGE, "Longest single commit.", "", NULL,
     "commit_us_max", US},
    {"paymesh_core_batches_redone_total", S_COUNTER,
     "Batches run again request by request after a failure (storage errors).", "", NULL,
     "batches_redone", 1},
    {"paymesh_jobs", S_GAUGE,
     "Provider jobs by state (retry: waiting for or held by retry-worker; parked: given up, "
     "for an operator).",
     "", "state=\"queued\"", "jobs_queued", 1},
    {"paymesh_jobs", S_GAUGE, NULL, "", "state=\"leased\"", "jobs_leased", 1},
    {"paymesh_jobs", S_GAUGE, NULL, "", "state=\"retry\"", "jobs_retry", 1},
    {"paymesh_jobs", S_GAUGE, NULL, "", "state=\"parked\"", "jobs_parked", 1},
    {"paymesh_jobs_counted", S_GAUGE,
     "1 when every job was read for paymesh_jobs, 0 when there were more than 100000.", "", NULL,
     "jobs_counted", 1},
    {"paymesh_retry_backlog", S_GAUGE, "Retry items (jobs in state retry or deciding).", "", NULL,
     "jobs_retry", 1},
    {"paymesh_retry_oldest_due_timestamp_seconds", S_GAUGE,
     "Unix time the oldest retry item became due (0: none).", "", NULL, "retry_oldest_due_ms", MS},
    {"paymesh_retry_oldest_due_age_seconds", S_GAUGE,
     "How long the oldest due retry item has waited (0: none due).", "", NULL,
     "retry_oldest_due_age_ms", MS},
    {"paymesh_retry_parked", S_GAUGE, "Parked jobs, waiting for an operator.", "", NULL,
     "jobs_parked", 1},
    PROV_ROWS("bazaar"),
    PROV_ROWS("bazaarpay"),
    PROV_ROWS("bank"),
    PROV_ROWS("other"),
    PROV_LAT("bazaar"),
    PROV_LAT("bazaarpay"),
    PROV_LAT("bank"),
    PROV_LAT("other"),
    {"paymesh_lmdb_map_bytes", S_GAUGE, "LMDB map size (the store's size limit).", "", NULL,
     "db_map_bytes", 1},
    {"paymesh_lmdb_used_bytes", S_GAUGE,
     "LMDB pages in use up to the high-water mark, in bytes (free pages inside are reused).", "",
     NULL, "db_used_bytes", 1},
    {"paymesh_lmdb_map_used_percent", S_GAUGE, "paymesh_lmdb_used_bytes over the map size, 0..100.",
     "", NULL, "db_map_used_pct", 1},
    {"paymesh_lmdb_file_bytes", S_GAUGE, "Size of data.mdb on disk.", "", NULL, "db_file_bytes", 1},
    {"paymesh_lmdb_page_bytes", S_GAUGE, "LMDB page size.", "", NULL, "db_page_bytes", 1},
    {"paymesh_lmdb_readers", S_GAUGE, "LMDB reader slots in use.", "", NULL, "db_readers", 1},
};

/* A number under key of map: 0 with *v set, -1 when absent or not a number. */
static int s_num(const msgpack_object *map, const char *key, double *v)
{
    const msgpack_object *o = pm_mp_get(map, key);
    if (!o)
        return -1;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *v = (double)o->via.u64;
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *v = (double)o->via.i64;
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        *v = o->via.f64;
        return 0;
    default:
        return -1;
    }
}

static void s_put_value(s_buf_t *b, double v)
{
    if (v == (double)(int64_t)v && v < 9e15 && v > -9e15)
        s_put(b, "%lld\n", (long long)v);
    else
        s_put(b, "%.9g\n", v);
}

static void s_core_text(s_buf_t *b, const msgpack_object *core)
{
    s_put(b,
          "# HELP paymesh_core_up 1 when payment-core answered this scrape's METRICS call.\n"
          "# TYPE paymesh_core_up gauge\npaymesh_core_up %d\n",
          core ? 1 : 0);
    if (!core)
        return;
    const char *family = NULL;
    for (size_t i = 0; i < sizeof s_core_rows / sizeof s_core_rows[0]; i++) {
        const s_core_row_t *r = &s_core_rows[i];
        double v;
        if (s_num(core, r->key, &v) != 0)
            continue; /* an older core: the sample is left out */
        if (!family || strcmp(family, r->family) != 0) {
            family = r->family;
            for (size_t j = i; j < sizeof s_core_rows / sizeof s_core_rows[0]; j++)
                if (strcmp(s_core_rows[j].family, family) == 0 && s_core_rows[j].help) {
                    s_put(b, "# HELP %s %s\n", family, s_core_rows[j].help);
                    break;
                }
            s_put(b, "# TYPE %s %s\n", family, s_type_names[r->type]);
        }
        s_put(b, "%s%s", r->family, r->suffix);
        if (r->labels)
            s_put(b, "{%s}", r->labels);
        s_put(b, " ");
        s_put_value(b, v * r->scale);
    }
}

/* ---- the gateway's own figures ---------------------------------------------- */

static void s_route_labels(s_buf_t *b, size_t slot)
{
    if (slot < gw_route_count && slot < GW_METRICS_ROUTES_MAX) {
        s_put(b, "method=\"");
        s_put_label(b, gw_routes[slot].method);
        s_put(b, "\",route=\"");
        s_put_label(b, gw_routes[slot].pattern);
        s_put(b, "\"");
    } else {
        s_put(b, "method=\"\",route=\"unmatched\"");
    }
}

static bool s_slot_used(size_t slot)
{
    return slot == GW_METRICS_ROUTES_MAX || slot < gw_route_count;
}

static void s_gateway_text(s_buf_t *b)
{
    s_put(b, "# HELP paymesh_http_requests_total HTTP answers of the gateway by route and status "
             "class.\n# TYPE paymesh_http_requests_total counter\n");
    for (size_t i = 0; i < S_SLOTS; i++) {
        if (!s_slot_used(i))
            continue;
        for (int c = 0; c < S_CLASSES; c++) {
            uint64_t n = atomic_load_explicit(&s_slots[i].by_class[c], memory_order_relaxed);
            if (n == 0 && c != 1) /* 2xx always shown: every route has a line */
                continue;
            s_put(b, "paymesh_http_requests_total{");
            s_route_labels(b, i);
            s_put(b, ",code=\"%dxx\"} %llu\n", c + 1, (unsigned long long)n);
        }
    }
    s_put(b, "# HELP paymesh_http_request_duration_seconds Time from a request's arrival to its "
             "answer being queued, by route.\n"
             "# TYPE paymesh_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < S_SLOTS; i++) {
        if (!s_slot_used(i))
            continue;
        uint64_t cum = 0;
        for (int k = 0; k < GW_METRICS_LATENCY_BUCKETS; k++) {
            cum += atomic_load_explicit(&s_slots[i].bucket[k], memory_order_relaxed);
            s_put(b, "paymesh_http_request_duration_seconds_bucket{");
            s_route_labels(b, i);
            s_put(b, ",le=\"");
            if (k < GW_METRICS_LATENCY_BUCKETS - 1)
                s_put_le(b, gw_metrics_latency_le[k]);
            else
                s_put(b, "+Inf");
            s_put(b, "\"} %llu\n", (unsigned long long)cum);
        }
        uint64_t sum = atomic_load_explicit(&s_slots[i].sum_us, memory_order_relaxed);
        s_put(b, "paymesh_http_request_duration_seconds_sum{");
        s_route_labels(b, i);
        s_put(b, "} %.6f\n", (double)sum / 1e6);
        s_put(b, "paymesh_http_request_duration_seconds_count{");
        s_route_labels(b, i);
        s_put(b, "} %llu\n", (unsigned long long)cum); /* the +Inf bucket, read once */
    }
}

int gw_metrics_text(const msgpack_object *core, char **text, size_t *len)
{
    assert(text && len);
    s_buf_t b = {malloc(16384), 0, 16384, false};
    if (!b.p)
        return -1;
    b.p[0] = '\0';
    s_gateway_text(&b);
    s_core_text(&b, core);
    if (b.oom) {
        free(b.p);
        return -1;
    }
    *text = b.p;
    *len = b.len;
    return 0;
}

/* ---- the routes ---------------------------------------------------------------- */

static int s_json(gw_response_t *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_json(gw_response_t *out, int status, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        return -1;
    out->json = malloc((size_t)n + 1);
    if (!out->json)
        return -1;
    memcpy(out->json, buf, (size_t)n + 1);
    out->len = (size_t)n;
    out->status = status;
    return 0;
}

int gw_healthz_render(const gw_input_t *in, const msgpack_object *reply, gw_response_t *out)
{
    (void)in, (void)reply;
    assert(out);
    return s_json(out, 200, "{\"status\":\"ok\"}");
}

static int s_empty_build(gw_build_t *out, uint32_t type)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 0);
    out->type = type;
    out->err = PM_OK;
    return 0;
}

int gw_readyz_build(const gw_input_t *in, gw_build_t *out)
{
    (void)in;
    assert(out);
    return s_empty_build(out, PM_MSG_HEALTH);
}

int gw_readyz_render(const gw_input_t *in, const msgpack_object *reply, gw_response_t *out)
{
    (void)in;
    assert(out);
    if (!reply)
        return s_json(out, 503,
                      "{\"status\":\"unavailable\",\"core\":\"unreachable\","
                      "\"storage\":\"unknown\"}");
    const msgpack_object *w = pm_mp_get(reply, "writable");
    double pct = 0;
    if (!w || w->type != MSGPACK_OBJECT_BOOLEAN || s_num(reply, "map_used_pct", &pct) != 0)
        return -1;
    if (w->via.boolean)
        return s_json(out, 200,
                      "{\"status\":\"ok\",\"core\":\"ok\",\"storage\":\"writable\","
                      "\"map_used_pct\":%.3f}",
                      pct);
    char reason[64] = "not_writable";
    const char *r;
    size_t rlen;
    if (pm_mp_get_str(reply, "reason", &r, &rlen) == 0 && rlen < sizeof reason) {
        bool plain = true;
        for (size_t i = 0; i < rlen; i++)
            plain = plain && ((r[i] >= 'a' && r[i] <= 'z') || r[i] == '_');
        if (plain && rlen > 0) {
            memcpy(reason, r, rlen);
            reason[rlen] = '\0';
        }
    }
    return s_json(out, 503,
                  "{\"status\":\"unavailable\",\"core\":\"ok\",\"storage\":\"not_writable\","
                  "\"reason\":\"%s\",\"map_used_pct\":%.3f}",
                  reason, pct);
}

int gw_metrics_build(const gw_input_t *in, gw_build_t *out)
{
    (void)in;
    assert(out);
    return s_empty_build(out, PM_MSG_METRICS);
}

int gw_metrics_render(const gw_input_t *in, const msgpack_object *reply, gw_response_t *out)
{
    (void)in;
    assert(out);
    char *text;
    size_t len;
    if (gw_metrics_text(reply, &text, &len) != 0)
        return -1;
    out->status = 200;
    out->json = text;
    out->len = len;
    return 0;
}
