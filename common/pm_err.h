/*  pm_err: the one enum of client-visible error codes.
 *
 *  Every error paymesh returns over HTTP is {"code": "...", "message": "..."}
 *  where code comes from this table. payment-core puts the enum value on the
 *  wire (msgpack reply "err"); the gateway maps it to an HTTP status. The
 *  spelling "acces_error" is the public contract of seed 001. */
#ifndef PM_ERR_H
#define PM_ERR_H

typedef enum {
    PM_OK = 0,
    PM_ERR_VALIDATION = 1,         /* 400 validation_error */
    PM_ERR_UNAUTHORIZED = 2,       /* 401 unauthorized */
    PM_ERR_ACCESS = 3,             /* 403 acces_error */
    PM_ERR_NOT_FOUND = 4,          /* 404 not_found */
    PM_ERR_METHOD = 5,             /* 405 method_not_allowed */
    PM_ERR_CONFLICT = 6,           /* 409 conflict: same idempotency token in flight */
    PM_ERR_TOO_LARGE = 7,          /* 413 payload_too_large */
    PM_ERR_MEDIA_TYPE = 8,         /* 415 unsupported_media_type */
    PM_ERR_IDEMPOTENCY = 9,        /* 422 idempotency_error: token reused, other body */
    PM_ERR_INTERNAL = 10,          /* 500 internal_error */
    PM_ERR_UNAVAILABLE = 11,       /* 503 unavailable: core down, timeout, disk */
    PM_ERR_REJECTED = 12,          /* 406 provider_rejected: the provider said no */
    PM_ERR_PROVIDER = 13,          /* 502 provider_error: the provider refused our own request */
    PM_ERR_RATE_LIMITED = 14,      /* 429 rate_limited: too many failed authentications (gateway) */
    PM_ERR_BAD_REQUEST = 15,       /* 400 bad_request: malformed HTTP (gateway) */
    PM_ERR_URI_TOO_LONG = 16,      /* 414 uri_too_long: request line over the gateway's memory */
    PM_ERR_HEADERS_TOO_LARGE = 17, /* 431 headers_too_large: request head over the same */
    PM_ERR__COUNT
} pm_err_t;

/* Machine-readable code, e.g. "validation_error". Unknown values give
 * "internal_error". Never NULL; static storage. */
const char *pm_err_code(int err);

/* HTTP status for the error; 200 for PM_OK, 500 for unknown values. */
int pm_err_http_status(int err);

#endif
