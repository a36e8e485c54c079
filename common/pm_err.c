/*  pm_err: code names and HTTP statuses of the error enum. */
#include "pm_err.h"

static const struct {
    const char *code;
    int status;
} s_errors[PM_ERR__COUNT] = {
    [PM_OK] = {"ok", 200},
    [PM_ERR_VALIDATION] = {"validation_error", 400},
    [PM_ERR_UNAUTHORIZED] = {"unauthorized", 401},
    [PM_ERR_ACCESS] = {"acces_error", 403},
    [PM_ERR_NOT_FOUND] = {"not_found", 404},
    [PM_ERR_METHOD] = {"method_not_allowed", 405},
    [PM_ERR_CONFLICT] = {"conflict", 409},
    [PM_ERR_TOO_LARGE] = {"payload_too_large", 413},
    [PM_ERR_MEDIA_TYPE] = {"unsupported_media_type", 415},
    [PM_ERR_IDEMPOTENCY] = {"idempotency_error", 422},
    [PM_ERR_INTERNAL] = {"internal_error", 500},
    [PM_ERR_UNAVAILABLE] = {"unavailable", 503},
    [PM_ERR_REJECTED] = {"provider_rejected", 406},
    [PM_ERR_PROVIDER] = {"provider_error", 502},
    [PM_ERR_RATE_LIMITED] = {"rate_limited", 429},
    [PM_ERR_BAD_REQUEST] = {"bad_request", 400},
    [PM_ERR_URI_TOO_LONG] = {"uri_too_long", 414},
    [PM_ERR_HEADERS_TOO_LARGE] = {"headers_too_large", 431},
};

const char *pm_err_code(int err)
{
    if (err < 0 || err >= PM_ERR__COUNT)
        return "internal_error";
    return s_errors[err].code;
}

int pm_err_http_status(int err)
{
    if (err < 0 || err >= PM_ERR__COUNT)
        return 500;
    return s_errors[err].status;
}
