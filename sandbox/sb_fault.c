/*  sb_fault: fault rules and the call log, as bounded arrays. */
#include "sb_fault.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_services[] = {"bazaar", "bazaarpay", "rbs", "tfeb"};

static const char *const s_kinds[] = {
    [SB_FAULT_NONE] = NULL,         [SB_FAULT_DELAY] = "delay",        [SB_FAULT_STATUS] = "status",
    [SB_FAULT_TIMEOUT] = "timeout", [SB_FAULT_DROP] = "drop_response",
};

const char *sb_fault_kind_name(sb_fault_kind_t kind)
{
    assert(kind >= SB_FAULT_NONE && kind <= SB_FAULT_DROP);
    return s_kinds[kind];
}

sb_fault_kind_t sb_fault_kind_from_name(const char *name)
{
    assert(name);
    for (int k = SB_FAULT_DELAY; k <= SB_FAULT_DROP; k++)
        if (strcmp(name, s_kinds[k]) == 0)
            return (sb_fault_kind_t)k;
    return SB_FAULT_NONE;
}

_Static_assert(sizeof s_services / sizeof s_services[0] == SB_SERVICE_COUNT,
               "SB_SERVICE_COUNT names every simulated provider");

int sb_service_index(const char *name)
{
    assert(name);
    for (int i = 0; i < SB_SERVICE_COUNT; i++)
        if (strcmp(name, s_services[i]) == 0)
            return i;
    return -1;
}

const char *sb_service_name(int i)
{
    assert(i >= 0 && i < SB_SERVICE_COUNT);
    return s_services[i];
}

bool sb_service_known(const char *name)
{
    return sb_service_index(name) >= 0;
}

int sb_json_int64(json_object *obj, const char *key, int64_t min, int64_t max, int64_t *out,
                  char *err, size_t err_cap)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_int)) {
        snprintf(err, err_cap, "%s must be an integer", key);
        return -1;
    }
    /* json-c clamps larger numbers to INT64_MIN/MAX, outside every range here */
    int64_t n = json_object_get_int64(v);
    if (n < min || n > max) {
        snprintf(err, err_cap, "%s must lie in [%lld, %lld]", key, (long long)min, (long long)max);
        return -1;
    }
    *out = n;
    return 1;
}

int sb_json_int(json_object *obj, const char *key, int min, int max, int *out, char *err,
                size_t err_cap)
{
    int64_t n;
    int rc = sb_json_int64(obj, key, min, max, &n, err, err_cap);
    if (rc == 1)
        *out = (int)n;
    return rc;
}

/* Reads a string field of at most max bytes into out (cap > max). */
static int s_str_field(json_object *obj, const char *key, size_t max, char *out, char *err,
                       size_t err_cap)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_string)) {
        snprintf(err, err_cap, "%s must be a string", key);
        return -1;
    }
    size_t len = (size_t)json_object_get_string_len(v);
    const char *s = json_object_get_string(v);
    if (len > max || memchr(s, '\0', len)) {
        snprintf(err, err_cap, "%s must be at most %zu bytes of text", key, max);
        return -1;
    }
    memcpy(out, s, len);
    out[len] = '\0';
    return 1;
}

int sb_fault_from_json(json_object *obj, sb_fault_t *out, char *err, size_t err_cap)
{
    assert(out && err && err_cap > 0);
    memset(out, 0, sizeof *out);
    if (!obj || !json_object_is_type(obj, json_type_object)) {
        snprintf(err, err_cap, "the body must be a JSON object");
        return -1;
    }
    int rc = s_str_field(obj, "service", SB_SERVICE_MAX, out->service, err, err_cap);
    if (rc < 0)
        return -1;
    if (rc == 0 || !sb_service_known(out->service)) {
        snprintf(err, err_cap, "service must be one of: " SB_SERVICE_NAMES);
        return -1;
    }
    char kind[32];
    rc = s_str_field(obj, "kind", sizeof kind - 1, kind, err, err_cap);
    if (rc < 0)
        return -1;
    out->kind = rc > 0 ? sb_fault_kind_from_name(kind) : SB_FAULT_NONE;
    if (out->kind == SB_FAULT_NONE) {
        snprintf(err, err_cap, "kind must be delay, status, timeout or drop_response");
        return -1;
    }
    out->remaining = 1;
    if (sb_json_int(obj, "count", 1, SB_FAULT_COUNT_MAX, &out->remaining, err, err_cap) < 0)
        return -1;
    rc = sb_json_int(obj, "delay_ms", 0, SB_FAULT_DELAY_MAX_MS, &out->delay_ms, err, err_cap);
    if (rc < 0)
        return -1;
    if (rc > 0 && out->kind != SB_FAULT_DELAY && out->kind != SB_FAULT_TIMEOUT) {
        snprintf(err, err_cap, "delay_ms applies to delay and timeout faults only");
        return -1;
    }
    if (rc == 0 && out->kind == SB_FAULT_DELAY) {
        snprintf(err, err_cap, "a delay fault needs delay_ms");
        return -1;
    }
    if (rc == 0 && out->kind == SB_FAULT_TIMEOUT)
        out->delay_ms = SB_FAULT_TIMEOUT_DEF_MS;
    rc = sb_json_int(obj, "status", 400, 599, &out->status, err, err_cap);
    if (rc < 0)
        return -1;
    if ((rc > 0) != (out->kind == SB_FAULT_STATUS)) {
        snprintf(err, err_cap,
                 out->kind == SB_FAULT_STATUS ? "a status fault needs status (400..599)"
                                              : "status applies to status faults only");
        return -1;
    }
    if (s_str_field(obj, "match", SB_FAULT_MATCH_MAX, out->match, err, err_cap) < 0)
        return -1;
    return 0;
}

json_object *sb_fault_to_json(const sb_fault_t *f)
{
    assert(f);
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "id", json_object_new_int64((int64_t)f->id));
    json_object_object_add(o, "service", json_object_new_string(f->service));
    json_object_object_add(o, "kind", json_object_new_string(sb_fault_kind_name(f->kind)));
    json_object_object_add(o, "remaining", json_object_new_int(f->remaining));
    if (f->kind == SB_FAULT_DELAY || f->kind == SB_FAULT_TIMEOUT)
        json_object_object_add(o, "delay_ms", json_object_new_int(f->delay_ms));
    if (f->kind == SB_FAULT_STATUS)
        json_object_object_add(o, "status", json_object_new_int(f->status));
    json_object_object_add(o, "match", f->match[0] ? json_object_new_string(f->match) : NULL);
    return o;
}

/* ---- fault rules ---------------------------------------------------------- */

struct sb_faults_t {
    sb_fault_t rules[SB_FAULTS_MAX]; /* oldest first */
    size_t count;
    uint64_t next_id;
};

sb_faults_t *sb_faults_new(void)
{
    sb_faults_t *self = calloc(1, sizeof *self);
    if (self)
        self->next_id = 1;
    return self;
}

void sb_faults_destroy(sb_faults_t **self_p)
{
    assert(self_p);
    free(*self_p);
    *self_p = NULL;
}

int sb_faults_add(sb_faults_t *self, sb_fault_t *f)
{
    assert(self && f && f->kind != SB_FAULT_NONE && f->remaining > 0);
    if (self->count == SB_FAULTS_MAX)
        return -1;
    f->id = self->next_id++;
    self->rules[self->count++] = *f;
    return 0;
}

bool sb_faults_take(sb_faults_t *self, const char *service, const char *path, sb_fault_t *out)
{
    assert(self && service && path && out);
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < self->count; i++) {
        sb_fault_t *f = &self->rules[i];
        if (strcmp(f->service, service) != 0 || !strstr(path, f->match))
            continue;
        *out = *f;
        if (--f->remaining == 0) {
            memmove(f, f + 1, (self->count - i - 1) * sizeof *f);
            self->count--;
        }
        return true;
    }
    return false;
}

size_t sb_faults_count(const sb_faults_t *self)
{
    assert(self);
    return self->count;
}

const sb_fault_t *sb_faults_at(const sb_faults_t *self, size_t i)
{
    assert(self && i < self->count);
    return &self->rules[i];
}

void sb_faults_clear(sb_faults_t *self)
{
    assert(self);
    self->count = 0;
}

/* ---- the call log ----------------------------------------------------------- */

struct sb_calls_t {
    sb_call_t *ring;
    size_t cap, head, count; /* head: index of the oldest */
    uint64_t next_seq;
};

sb_calls_t *sb_calls_new(size_t cap)
{
    assert(cap > 0);
    sb_calls_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ring = calloc(cap, sizeof *self->ring);
    if (!self->ring) {
        free(self);
        return NULL;
    }
    self->cap = cap;
    self->next_seq = 1;
    return self;
}

void sb_calls_destroy(sb_calls_t **self_p)
{
    assert(self_p);
    sb_calls_t *self = *self_p;
    if (!self)
        return;
    free(self->ring);
    free(self);
    *self_p = NULL;
}

static void s_copy_clipped(char *dst, size_t cap, const char *src)
{
    size_t len = strlen(src);
    if (len > cap - 1)
        len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

uint64_t sb_calls_begin(sb_calls_t *self, const char *service, const char *method, const char *path,
                        sb_fault_kind_t fault, int64_t at_ms)
{
    assert(self && service && method && path);
    size_t slot;
    if (self->count < self->cap)
        slot = (self->head + self->count++) % self->cap;
    else {
        slot = self->head; /* forget the oldest */
        self->head = (self->head + 1) % self->cap;
    }
    sb_call_t *c = &self->ring[slot];
    memset(c, 0, sizeof *c);
    c->seq = self->next_seq++;
    s_copy_clipped(c->service, sizeof c->service, service);
    s_copy_clipped(c->method, sizeof c->method, method);
    s_copy_clipped(c->path, sizeof c->path, path);
    c->fault = fault;
    c->at_ms = at_ms;
    return c->seq;
}

void sb_calls_finish(sb_calls_t *self, uint64_t seq, int status)
{
    assert(self);
    if (self->count == 0)
        return;
    uint64_t oldest = self->ring[self->head].seq;
    if (seq < oldest || seq >= oldest + self->count)
        return; /* forgotten or cleared */
    self->ring[(self->head + (size_t)(seq - oldest)) % self->cap].status = status;
}

size_t sb_calls_count(const sb_calls_t *self)
{
    assert(self);
    return self->count;
}

const sb_call_t *sb_calls_at(const sb_calls_t *self, size_t i)
{
    assert(self && i < self->count);
    return &self->ring[(self->head + i) % self->cap];
}

void sb_calls_clear(sb_calls_t *self)
{
    assert(self);
    self->head = self->count = 0;
}
