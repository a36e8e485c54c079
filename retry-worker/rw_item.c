/*  rw_item: ITEM maps from payment-core, checked field by field. */
#include "rw_item.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "pm_envelope.h"

#define S_BAZAARPAY "bazaarpay_"
#define S_BANK "bank_"

static const char *const s_outcomes[] = {
    [RW_OK] = "ok",
    [RW_REJECTED] = "rejected",
    [RW_UNKNOWN] = "unknown",
    [RW_LEASE_EXPIRED] = "lease_expired",
};

static const char *const s_phases[] = {
    [RW_PHASE_NONE] = "",         [RW_PHASE_OPEN] = "open",   [RW_PHASE_SETTLE] = "settle",
    [RW_PHASE_REFUND] = "refund", [RW_PHASE_FINAL] = "final",
};

bool rw_kind_is_bazaarpay(const char *kind)
{
    assert(kind);
    return strncmp(kind, S_BAZAARPAY, strlen(S_BAZAARPAY)) == 0;
}

bool rw_kind_is_bank(const char *kind)
{
    assert(kind);
    return strncmp(kind, S_BANK, strlen(S_BANK)) == 0;
}

const char *rw_outcome_name(rw_outcome_t outcome)
{
    assert(outcome >= RW_OK && outcome <= RW_LEASE_EXPIRED);
    return s_outcomes[outcome];
}

const char *rw_phase_name(rw_phase_t phase)
{
    assert(phase >= RW_PHASE_NONE && phase <= RW_PHASE_FINAL);
    return s_phases[phase];
}

/* True when text is a non-empty word of lower-case letters, digits and '_':
 * what kinds and trace statuses are made of. */
static bool s_word(const char *text)
{
    if (!text[0])
        return false;
    for (const char *p = text; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

/* True when text is non-empty printable ASCII without spaces (an id). */
static bool s_printable(const char *text)
{
    if (!text[0])
        return false;
    for (const char *p = text; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return false;
    return true;
}

/* An optional field: absent and nil are both "not there". */
static bool s_absent(const msgpack_object *map, const char *key)
{
    const msgpack_object *v = pm_mp_get(map, key);
    return !v || v->type == MSGPACK_OBJECT_NIL;
}

/* Reads an integer in [0, max]. Returns 0 or -1. */
static int s_int(const msgpack_object *map, const char *key, int64_t max, int64_t *out)
{
    if (pm_mp_get_int(map, key, out) != 0 || *out < 0 || *out > max) {
        *out = 0;
        return -1;
    }
    return 0;
}

/* Reads an optional time: 0 (and *has false) when absent or nil, -1 when
 * present and not an integer in [0, RW_TIME_MAX]. */
static int s_opt_time(const msgpack_object *map, const char *key, bool *has, int64_t *out)
{
    *has = false;
    *out = 0;
    if (s_absent(map, key))
        return 0;
    if (s_int(map, key, RW_TIME_MAX, out) != 0)
        return -1;
    *has = true;
    return 0;
}

/* Copies a string of at most cap - 1 bytes, cut there, with any byte that is
 * not printable ASCII replaced by '?': it only goes to logs. */
static void s_copy_cut(const char *src, size_t len, char *buf, size_t cap)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++)
        buf[i] = (src[i] >= 0x20 && src[i] <= 0x7e) ? src[i] : '?';
    buf[n] = '\0';
}

static int s_outcome(const msgpack_object *o, rw_outcome_t *out)
{
    char text[32];
    if (pm_mp_copy_str(o, "outcome", text, sizeof text) != 0)
        return -1;
    for (size_t i = 0; i < sizeof s_outcomes / sizeof s_outcomes[0]; i++)
        if (strcmp(text, s_outcomes[i]) == 0) {
            *out = (rw_outcome_t)i;
            return 0;
        }
    return -1;
}

/* The checkout ctx of a bazaarpay_* item. Returns NULL, or what is wrong. */
static const char *s_bazaarpay_ctx(const msgpack_object *ctx, rw_item_t *item)
{
    char phase[16];
    if (pm_mp_copy_str(ctx, "phase", phase, sizeof phase) != 0)
        return "ctx.phase is not a short string";
    if (strcmp(phase, "open") == 0)
        item->ctx.phase = RW_PHASE_OPEN;
    else if (strcmp(phase, "settle") == 0)
        item->ctx.phase = RW_PHASE_SETTLE;
    else if (strcmp(phase, "refund") == 0)
        item->ctx.phase = RW_PHASE_REFUND;
    else
        return "ctx.phase is not open, settle or refund";
    if (s_int(ctx, "created_ms", RW_TIME_MAX, &item->ctx.created_ms) != 0)
        return "ctx.created_ms is not a time";
    if (s_opt_time(ctx, "delivered_ms", &item->ctx.has_delivered, &item->ctx.delivered_ms) != 0)
        return "ctx.delivered_ms is neither a time nor nil";
    if (s_opt_time(ctx, "window_end_ms", &item->ctx.has_window_end, &item->ctx.window_end_ms) != 0)
        return "ctx.window_end_ms is neither a time nor nil";
    if (s_int(ctx, "commits", RW_COUNT_MAX, &item->ctx.commits) != 0)
        return "ctx.commits is not a count";
    if (s_int(ctx, "refunds", RW_COUNT_MAX, &item->ctx.refunds) != 0)
        return "ctx.refunds is not a count";
    return NULL;
}

/* The order ctx of a bank_* item. Returns NULL, or what is wrong. */
static const char *s_bank_ctx(const msgpack_object *ctx, rw_item_t *item)
{
    char phase[16];
    if (pm_mp_copy_str(ctx, "phase", phase, sizeof phase) != 0)
        return "ctx.phase is not a short string";
    if (strcmp(phase, "open") == 0)
        item->ctx.phase = RW_PHASE_OPEN;
    else if (strcmp(phase, "final") == 0)
        item->ctx.phase = RW_PHASE_FINAL;
    else
        return "ctx.phase is not open or final";
    if (s_int(ctx, "created_ms", RW_TIME_MAX, &item->ctx.created_ms) != 0)
        return "ctx.created_ms is not a time";
    if (s_opt_time(ctx, "registered_ms", &item->ctx.has_registered, &item->ctx.registered_ms) != 0)
        return "ctx.registered_ms is neither a time nor nil";
    const msgpack_object *resend = pm_mp_get(ctx, "resend_register");
    if (resend && resend->type == MSGPACK_OBJECT_BOOLEAN)
        item->ctx.resend_register = resend->via.boolean;
    else if (resend && resend->type != MSGPACK_OBJECT_NIL)
        return "ctx.resend_register is neither a bool nor nil";
    return NULL;
}

int rw_item_decode(const msgpack_object *o, rw_item_t *item, bool *identified, char *why,
                   size_t cap)
{
    assert(o && item && identified && why && cap > 0);
    memset(item, 0, sizeof *item);
    *identified = false;
    why[0] = '\0';
    const char *bad = NULL;
    if (o->type != MSGPACK_OBJECT_MAP) {
        bad = "not a map";
        goto fail;
    }
    if (pm_mp_copy_str(o, "id", item->id, sizeof item->id) != 0 || !s_printable(item->id)) {
        item->id[0] = '\0';
        bad = "no usable id";
        goto fail;
    }
    if (pm_mp_get_int(o, "gen", &item->gen) != 0) {
        bad = "no integer gen";
        goto fail;
    }
    *identified = true;
    if (pm_mp_copy_str(o, "kind", item->kind, sizeof item->kind) != 0 || !s_word(item->kind)) {
        item->kind[0] = '\0';
        bad = "kind is not a job kind";
        goto fail;
    }
    if (s_int(o, "attempt", RW_COUNT_MAX, &item->attempt) != 0) {
        bad = "attempt is not a count";
        goto fail;
    }
    if (s_outcome(o, &item->outcome) != 0) {
        bad = "outcome is not ok, rejected, unknown or lease_expired";
        goto fail;
    }
    if (!s_absent(o, "status")) {
        if (pm_mp_copy_str(o, "status", item->status, sizeof item->status) != 0 ||
            !s_word(item->status)) {
            item->status[0] = '\0';
            bad = "status is neither a trace status nor nil";
            goto fail;
        }
        item->has_status = true;
    }
    if (!s_absent(o, "reason")) {
        const char *ptr;
        size_t len;
        if (pm_mp_get_str(o, "reason", &ptr, &len) != 0) {
            bad = "reason is not a string";
            goto fail;
        }
        s_copy_cut(ptr, len, item->reason, sizeof item->reason);
    }
    bool has;
    if (s_opt_time(o, "created_ms", &has, &item->created_ms) != 0 ||
        s_opt_time(o, "failed_ms", &has, &item->failed_ms) != 0) {
        bad = "created_ms or failed_ms is not a time";
        goto fail;
    }
    const msgpack_object *ctx = pm_mp_get(o, "ctx");
    if (rw_kind_is_bazaarpay(item->kind)) {
        if (!ctx || ctx->type != MSGPACK_OBJECT_MAP) {
            bad = "a bazaarpay item without a ctx map";
            goto fail;
        }
        /* {} is what payment-core sends when the checkout is gone: phase
         * NONE, which the policy parks. */
        if (ctx->via.map.size > 0 && (bad = s_bazaarpay_ctx(ctx, item)))
            goto fail;
    } else if (rw_kind_is_bank(item->kind)) {
        if (!ctx || ctx->type != MSGPACK_OBJECT_MAP) {
            bad = "a bank item without a ctx map";
            goto fail;
        }
        /* {}: the order is gone, phase NONE, parked as well. */
        if (ctx->via.map.size > 0 && (bad = s_bank_ctx(ctx, item)))
            goto fail;
    } else if (ctx && ctx->type != MSGPACK_OBJECT_MAP && ctx->type != MSGPACK_OBJECT_NIL) {
        bad = "ctx is not a map";
        goto fail;
    }
    return 0;
fail:
    snprintf(why, cap, "%s", bad);
    return -1;
}
