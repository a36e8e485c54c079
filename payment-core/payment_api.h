/*  payment_api: handlers of the PAYMENT_* messages (the core payment API).
 *
 *  Each runs inside its request's child transaction (request.h), after
 *  dispatch has resolved the caller's token, and follows one order:
 *  read and bound the body fields -> idempotency key -> load the payment ->
 *  may the caller see it (else 404) and do this (else 403) -> may the
 *  payment's status do this (else 400) -> write. Bodies and replies are the
 *  ones of pm_proto.h; error messages use the public API's field names. */
#ifndef PAYMENT_API_H
#define PAYMENT_API_H
#include "request.h"

int payment_api_create(req_t *req);
int payment_api_get(req_t *req);
int payment_api_cancel(req_t *req);
int payment_api_edit(req_t *req);
int payment_api_accept(req_t *req);

#endif
