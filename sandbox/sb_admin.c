/*  sb_admin: fault rules and the call log over HTTP. */
#include "sb_admin.h"

#include <string.h>

#include "pm_log.h"

void sb_admin_on_fault_add(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    char err[160];
    sb_fault_t f;
    json_object *body = sb_json_parse_object(req->body, req->body_len);
    int rc = sb_fault_from_json(body, &f, err, sizeof err);
    json_object_put(body);
    if (rc != 0) {
        sb_resp_error(resp, 400, err, NULL);
        return;
    }
    sb_lock(sb);
    rc = sb_faults_add(sb->faults, &f);
    sb_unlock(sb);
    if (rc != 0) {
        sb_resp_error(resp, 400, "too many pending faults (64): clear them first", NULL);
        return;
    }
    pm_info("fault %llu added: %s %s x%d match \"%s\"", (unsigned long long)f.id, f.service,
            sb_fault_kind_name(f.kind), f.remaining, f.match);
    json_object *o = sb_fault_to_json(&f);
    sb_resp_json(resp, 201, &o);
}

void sb_admin_on_fault_list(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    (void)req;
    json_object *o = json_object_new_object(), *list = json_object_new_array();
    sb_lock(sb);
    for (size_t i = 0; list && i < sb_faults_count(sb->faults); i++)
        json_object_array_add(list, sb_fault_to_json(sb_faults_at(sb->faults, i)));
    sb_unlock(sb);
    if (o)
        json_object_object_add(o, "faults", list);
    else
        json_object_put(list);
    sb_resp_json(resp, 200, &o);
}

void sb_admin_on_fault_clear(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    (void)req;
    sb_lock(sb);
    size_t n = sb_faults_count(sb->faults);
    sb_faults_clear(sb->faults);
    sb_unlock(sb);
    json_object *o = json_object_new_object();
    if (o)
        json_object_object_add(o, "cleared", json_object_new_int64((int64_t)n));
    sb_resp_json(resp, 200, &o);
}

void sb_admin_on_random_set(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    char err[160];
    sb_random_config_t cfg;
    json_object *body = sb_json_parse_object(req->body, req->body_len);
    int rc = sb_random_config_from_json(body, &cfg, err, sizeof err);
    json_object_put(body);
    if (rc != 0) {
        sb_resp_error(resp, 400, err, NULL);
        return;
    }
    sb_lock(sb);
    sb_random_set(sb->random, &cfg);
    json_object *o = sb_random_to_json(sb->random);
    sb_unlock(sb);
    pm_info("random faults on: %d per mille, seed %llu", cfg.per_mille,
            (unsigned long long)cfg.seed);
    sb_resp_json(resp, 200, &o);
}

void sb_admin_on_random_get(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    (void)req;
    sb_lock(sb);
    json_object *o = sb_random_to_json(sb->random);
    sb_unlock(sb);
    sb_resp_json(resp, 200, &o);
}

void sb_admin_on_random_off(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    (void)req;
    sb_lock(sb);
    bool was = sb_random_enabled(sb->random);
    sb_random_off(sb->random);
    json_object *o = sb_random_to_json(sb->random);
    sb_unlock(sb);
    if (was)
        pm_info("random faults off");
    sb_resp_json(resp, 200, &o);
}

void sb_admin_on_call_list(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    const char *service = req->q_service && req->q_service[0] ? req->q_service : NULL;
    if (service && !sb_service_known(service)) {
        sb_resp_error(resp, 400, "service must be one of: " SB_SERVICE_NAMES, NULL);
        return;
    }
    json_object *o = json_object_new_object(), *list = json_object_new_array();
    sb_lock(sb);
    for (size_t i = 0; list && i < sb_calls_count(sb->calls); i++) {
        const sb_call_t *c = sb_calls_at(sb->calls, i);
        if (service && strcmp(service, c->service) != 0)
            continue;
        json_object *e = json_object_new_object();
        if (!e)
            break;
        json_object_object_add(e, "service", json_object_new_string(c->service));
        json_object_object_add(e, "method", json_object_new_string(c->method));
        json_object_object_add(e, "path", json_object_new_string(c->path));
        json_object_object_add(e, "status", c->status ? json_object_new_int(c->status) : NULL);
        const char *fault = sb_fault_kind_name(c->fault);
        json_object_object_add(e, "fault", fault ? json_object_new_string(fault) : NULL);
        json_object_object_add(e, "at_ms", json_object_new_int64(c->at_ms));
        json_object_array_add(list, e);
    }
    sb_unlock(sb);
    if (o)
        json_object_object_add(o, "calls", list);
    else
        json_object_put(list);
    sb_resp_json(resp, 200, &o);
}

void sb_admin_on_call_clear(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    (void)req;
    sb_lock(sb);
    size_t n = sb_calls_count(sb->calls);
    sb_calls_clear(sb->calls);
    sb_unlock(sb);
    json_object *o = json_object_new_object();
    if (o)
        json_object_object_add(o, "cleared", json_object_new_int64((int64_t)n));
    sb_resp_json(resp, 200, &o);
}
