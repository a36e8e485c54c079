/*  pm_proto: the wire protocol between paymesh daemons.
 *
 *  One ZeroMQ message frame carries one envelope: two msgpack objects back to
 *  back, a header array and a body map.
 *
 *      header = [version, type, corr_id, deadline_ms, principal, auth, trace_id]
 *        version      uint     PM_PROTO_VERSION; anything else is refused
 *        type         uint     pm_msg_type_t
 *        corr_id      uint64   chosen by the requester, echoed in the reply
 *        deadline_ms  int64    Unix ms after which the requester has given up
 *                              (0: none); payment-core drops expired requests
 *        principal    str      acting principal when the sender is trusted
 *                              (provider, worker); "" from the gateway
 *        auth         bin(32)  BLAKE2b-256 of the client's API token, or nil;
 *                              payment-core resolves it to a principal
 *        trace_id     str      request id for logs, <= 64 bytes
 *      body   = map of string keys, schema per type (below)
 *
 *  Replies have type PM_MSG_REPLY, the request's corr_id and trace_id, and a
 *  body {"err": pm_err_t, "msg": str (when err != 0), ...result fields}.
 *  The body follows the header so that its raw bytes can be hashed
 *  (idempotency fingerprints) and stored (idempotent replays) as they are.
 *
 *  Bodies (keys; "?" = may be absent or nil):
 *    PAYMENT_CREATE  idem, sender_id, sender_method?, recipient_id,
 *                    recipient_method, currency, amount_minor (int)
 *    PAYMENT_GET     id
 *    PAYMENT_CANCEL  idem, id, reason
 *    PAYMENT_EDIT    idem, id, currency, amount_minor, recipient_method?
 *    PAYMENT_ACCEPT  idem, id, accept_info? (JSON text of an object)
 *    reply to the five above: {"err": 0, "payment": PAYMENT}
 *      PAYMENT = {id, sender_id, sender_method (str|nil), recipient_id,
 *                 recipient_method, currency, amount_minor, status,
 *                 cancel_reason (str|nil), created_ms, updated_ms}
 *      CREATE and EDIT: recipient_method must be a method of recipient_id
 *      (ADMIN_METHOD_PUT) taking currency, else validation_error. ACCEPT
 *      of a bank method answers status "bank_processing" (the bank leg is
 *      queued). GET of a payment in bank_processing, succeeded or failed
 *      adds "bank": {name, reg_no, order_id (str|nil), payment_url
 *      (str|nil: while it can be paid), state (str|nil), registrations}
 *      when it has a bank leg.
 *    ADMIN_TOKEN_CREATE  principal, role ("user"|"service")
 *      reply {"err": 0, "token": str, "principal": str, "role": str}
 *    ADMIN_STATS  {} -> {"err": 0, "payments": n, "idempotency_keys": n,
 *                        "tokens": n}
 *
 *  Store purchases (seed 000), api socket, user or service token:
 *    STORE_PACKAGES  platform ("android"|"ios"), page (int >= 1),
 *                    page_size (int 1..100)
 *      reply {"err": 0, "count": n (matching packages in all pages),
 *             "results": [PACKAGE ...] (this page, catalog order)}
 *      PACKAGE = {sku, name, price (int), icon (str|nil), package_type
 *                 ("coin"|"time"), coins (int), duration_days (int),
 *                 platforms ([str]), retired (bool)}
 *    STORE_PURCHASE_OPEN  sku  -> {"err": 0, "purchase": PURCHASE};
 *                    NOT_FOUND for an unknown or retired sku
 *      PURCHASE = {serial (16 digits), sku, state ("in_progress"|
 *                  "validating"|"completed"), ref_id (str|nil: the Bazaar
 *                  purchase token once one was presented), coins (int|nil:
 *                  the balance answered when it completed)}
 *    STORE_REDEEM  serial, token  -> {"err": 0, "coins": n, "purchase":
 *                  PURCHASE}; NOT_FOUND (no open purchase of the caller with
 *                  that serial), REJECTED (Bazaar says not valid; the
 *                  purchase stays open), CONFLICT (the token is being
 *                  validated for another purchase), UNAVAILABLE (Bazaar not
 *                  reachable or not answering before the request deadline;
 *                  the purchase stays open or keeps validating, and a retry
 *                  with the same token waits for that validation).
 *      Replies to a redeem are sent when the provider's job result arrives,
 *      after it is committed; a completed purchase redeemed again with the
 *      same token replies the stored answer.
 *
 *  Bank order payments (seed 004), api socket, user or service token:
 *    REGNO_GEN  type_id (int 1..2^31-1), random (bool), type_name (str|nil)
 *      -> {"err": 0, "reg_no": str, "type_id": int, "type_name": str}. A
 *      registration number is unique forever, across types, restarts and
 *      callers: the core is the one writer and keeps every one it gave.
 *      NOT_FOUND: no such type; CONFLICT: the type has no number left (an
 *      operator adds a type with room).
 *
 *    INVOICE_PUT  reg_no (a number REGNO_GEN gave the caller), payment_type
 *                 ("halkbank"|"foreign_affairs_bank"), currency ("TMT"),
 *                 total_minor (int > 0), lines ([{name (1..256), count (int
 *                 1..1000000), price_minor (int > 0)}], 1..100), desc (str|nil,
 *                 <= 512)
 *      -> {"err": 0, "invoice": INVOICE}; the invoice moves to type 13
 *      (awaiting payment). VALIDATION: total_minor is not the sum of count *
 *      price_minor; NOT_FOUND: reg_no was not given to the caller; CONFLICT:
 *      an invoice with that reg_no exists with other contents (the same
 *      contents again answer the stored invoice).
 *    ORDER_REGISTER  reg_no, payment_type, total_minor, desc (str|nil)
 *      -> parked until provider-bank's bank_register reports; {"err": 0,
 *      "invoice": INVOICE} with order_id and checkout_url set. An invoice
 *      registered already answers its order at once (never a second one).
 *      VALIDATION: total_minor differs from the invoice's, or payment_type
 *      from the invoice's; NOT_FOUND: no invoice of the caller; PROVIDER: the
 *      bank refused; UNAVAILABLE: the bank could not be reached.
 *    ORDER_VALIDATE  reg_no, order_id, payment_type, account (str|nil: the
 *                 principal to validate for, service tokens only)
 *      -> parked until a bank_status reports (at once when the invoice is
 *      paid or failed already); {"err": 0, "invoice": INVOICE}. The invoice
 *      is marked paid (type 14) in the transaction of the first report that
 *      says paid, once; declined or reversed: failed (type 15).
 *      INVOICE = {reg_no, principal, type_id (13|14|15), state
 *                 ("awaiting_payment"|"paid"|"failed"), payment_type,
 *                 currency, total_minor, lines [{name, count, price_minor}],
 *                 desc (str|nil), order_id (str|nil), checkout_url (str|nil),
 *                 bank_state (str|nil: what the bank last said, as
 *                 bank_status's state), created_ms, updated_ms, paid_ms
 *                 (int|nil)}
 *
 *  Admin socket, registration number types:
 *    ADMIN_REGNO_TYPE_PUT  id, name (1..64), prefix (0..16 of [A-Za-z0-9_-]),
 *                          length (int 1..32: characters after the prefix),
 *                          alphabet (2..64 distinct [A-Za-z0-9]), create (bool)
 *      -> {"err": 0, "type": REGNO_TYPE}; a type's format cannot change
 *      once it gave a number (VALIDATION), only its name.
 *    ADMIN_REGNO_TYPE_LIST {} -> {"err": 0, "types": [REGNO_TYPE ...]}
 *      REGNO_TYPE = {id, name, prefix, length, alphabet, issued (int)}
 *    ADMIN_METHOD_PUT  principal, id (1..128), bank ("none" | "halkbank" |
 *      "foreign_affairs_bank"), currencies ("TMT,USD": known codes, 1..16,
 *      TMT only for a bank) -> {"err": 0, "method": METHOD}; insert or
 *      replace
 *    ADMIN_METHOD_LIST principal? -> {"err": 0, "methods": [METHOD ...]}
 *      (at most 1000, by principal then id)
 *      METHOD = {principal, id, bank, currencies, created_ms, updated_ms}
 *    ADMIN_ORDER_SHOW  reg_no -> {"err": 0, "invoice": INVOICE (as the
 *      ORDER_* replies, plus payment_id (str|nil): the payment whose bank
 *      leg it is)}; not_found when there is none
 *
 *  Worker socket (provider daemons; trusted, no auth):
 *    JOB_TAKE  kinds ([str]), max (int 1..64), wait_ms (int 0..30000)
 *      reply {"err": 0, "jobs": [JOB ...]} as soon as at least one job is
 *      leased to this worker, or with an empty list after wait_ms.
 *      JOB = {id (str), kind (str), attempt (int), payload (map),
 *             trace (str|nil: the trace id of the request that made it,
 *             for logs; workers send the job's JOB_RESULT under it)}
 *      A leased job not resolved within the core's --job-lease-ms is
 *      offered again (the worker died or hung): workers must be idempotent.
 *    JOB_RESULT  id, attempt, outcome ("ok"|"rejected"|"unknown"),
 *                reason (str: why, for logs and the client), data (map)
 *      reply {"err": 0}; a result for a job that no longer exists is
 *      acknowledged and ignored.
 *    Job kinds:
 *      bazaar_validate  payload {purchase_serial, sku, token}
 *        ok: valid, not consumed, not refunded; data {purchase_time_ms,
 *            developer_payload}. rejected: reason "not_found" | "refunded"
 *            | "consumed" | other provider error code. unknown: timeout,
 *            5xx, auth failure, unparseable answer: nothing is known.
 *      bazaar_consume   payload {sku, token}; ok also when Bazaar says
 *            already_consumed; unknown is retried by core on backoff.
 *
 *  Admin socket, more types:
 *    ADMIN_PACKAGE_PUT  sku, name, price, icon?, package_type, coins?,
 *                       duration_days?, platforms ([str]), create (bool:
 *                       true = must not exist, false = must exist)
 *      reply {"err": 0, "package": PACKAGE}
 *    ADMIN_PACKAGE_RETIRE  sku -> {"err": 0, "package": PACKAGE}
 *    ADMIN_PACKAGE_LIST  {} -> {"err": 0, "packages": [PACKAGE ...]}
 *    ADMIN_BALANCE  principal -> {"err": 0, "principal": str, "coins": n,
 *                   "subscription_until_ms": int|nil, "ledger": [ENTRY]}
 *      ENTRY = {seq, at_ms, kind ("coin_credit"|"time_extend"|
 *               "coin_reversal"|"time_reversal"),
 *               coins_delta, time_delta_ms, purchase_serial, coins_after,
 *               subscription_until_ms (int|nil)}
 *
 *  BazaarPay checkout (seeds 002/003), api socket, user or service token:
 *    BAZAARPAY_CHECKOUT  sku, redirect_url (http(s) URL, <= 2048 bytes),
 *                    phone? (str|nil)  -> parked until provider-bazaar's
 *                    bazaarpay_init job reports; reply {"err": 0,
 *                    "checkout": CHECKOUT}. NOT_FOUND unknown or retired
 *                    sku; PROVIDER (502) BazaarPay refused paymesh's
 *                    request (msg says why);
 *                    UNAVAILABLE BazaarPay could not be reached.
 *    BAZAARPAY_CONFIRM   checkout_token -> parked until the checkout's trace
 *                    reports (or answered at once when the checkout is past
 *                    in_progress); reply {"err": 0, "checkout": CHECKOUT}.
 *                    The gateway renders by checkout.state: in_progress 202,
 *                    delivered|committed 200 "delivered", refunded|expired
 *                    406. NOT_FOUND: no checkout of the caller (service
 *                    tokens see all) with that token. UNAVAILABLE: the trace
 *                    did not answer in time (the checkout is unchanged).
 *    BAZAARPAY_GET       checkout_token -> {"err": 0, "checkout": CHECKOUT}
 *                    (read only; owner or service token, else NOT_FOUND)
 *    BAZAARPAY_REFUND    checkout_token, reason (1..256) -> service token
 *                    only (FORBIDDEN otherwise); parked until the refund
 *                    call reports; reply {"err": 0, "checkout": CHECKOUT}
 *                    with state "refunded", or the checkout as it is when
 *                    the refund is pending (state delivered|committed,
 *                    refund_requested true). VALIDATION for a checkout
 *                    that was never delivered (in_progress, expired).
 *      CHECKOUT = {token (str|nil before BazaarPay answered), serial
 *                  (16 digits), principal, sku, state ("in_progress"|
 *                  "delivered"|"committed"|"refunded"|"expired"), amount
 *                  (int, rials, from the catalog), payment_url (str|nil),
 *                  redirect_url, package {sku, name, package_type, coins,
 *                  duration_days}, coins_after (int|nil: the balance after
 *                  the delivery), subscription_until_ms (int|nil: the
 *                  subscription end after the delivery), refund_requested
 *                  (bool), refund_reason (str|nil), reversed (bool: the
 *                  delivery was taken back), created_ms, updated_ms,
 *                  delivered_ms (int|nil), commits (int), refunds (int:
 *                  calls made), attempts ([ATTEMPT], oldest
 *                  first; the first 256 are kept)}
 *      ATTEMPT  = {at_ms, call ("init"|"trace"|"commit"|"refund"), outcome
 *                  ("ok"|"rejected"|"unknown"|"lease_expired"), detail (str:
 *                  a trace's status, or why it failed)}
 *
 *  BazaarPay jobs (worker socket; provider-bazaar executes one call each):
 *    bazaarpay_init    payload {serial, amount (int rials), service_name,
 *                      redirect_url, phone (str|nil)}
 *        POST checkout/init/ {amount, destination (provider setting),
 *        service_name}. ok: data {checkout_token, payment_url}, where
 *        payment_url is BazaarPay's with "redirect_url=" (and "phone=")
 *        appended, percent-encoded. rejected: a 4xx with a DRF error body;
 *        reason is its text. unknown: anything else.
 *    bazaarpay_trace   payload {checkout_token}
 *        POST trace/. ok: data {status} for any of the seven documented
 *        statuses (invalid_token included: it comes with 200). unknown:
 *        anything else (5xx, timeout, an undocumented status).
 *    bazaarpay_commit  payload {checkout_token}
 *        POST commit/. ok on 204. rejected: a 4xx (reason from the body).
 *        unknown: a 5xx, a timeout, a cut connection: the commit may have
 *        been applied, so it is never re-sent without a trace first.
 *    bazaarpay_refund  payload {checkout_token}
 *        POST refund/ (full amount). ok on 204; rejected / unknown as commit.
 *
 *  Bank jobs (worker socket; provider-bank executes one call each; seed
 *  004 and the bank leg of the core API; amounts in minor units, tenge for
 *  TMT; bank is "halkbank" (BPC RBS REST) or "foreign_affairs_bank" (TSYS
 *  OrderProcessing)):
 *    bank_register  payload {bank, order_number (1..32 [A-Za-z0-9_-]),
 *                   amount_minor (int > 0), currency ("934"), return_url,
 *                   fail_url (str|nil), description (str|nil, <= 512),
 *                   language (str|nil, 2 letters), two_phase (bool: RBS
 *                   registerPreAuth.do; the bank then holds the amount until
 *                   bank_deposit)}
 *        ok: data {order_id (the bank's), checkout_url (where the payer
 *        pays)}. rejected: reason "duplicate_order_number" (RBS errorCode 1)
 *        or the bank's code and message. unknown: anything else.
 *    bank_status    payload {bank, order_id}
 *        ok: data {state ("registered"|"pending"|"preauthorized"|"paid"|
 *        "reversed"|"refunded"|"declined"|"not_found"), amount_minor (int|nil:
 *        what the bank holds or took), code (str: the bank's raw status, for
 *        logs)}. unknown: timeout, 5xx, system error (RBS 7, TFEB GEN-00001),
 *        our credentials refused, an answer we cannot read.
 *    bank_deposit   payload {bank, order_id, amount_minor}  (RBS deposit.do)
 *    bank_reverse   payload {bank, order_id}                (RBS reverse.do)
 *    bank_refund    payload {bank, order_id, amount_minor}  (RBS refund.do;
 *                   TFEB POST {order}/refund)
 *        ok: the bank says done. rejected: the bank says no (wrong state,
 *        RBS 7 with a state message; unknown order 6); reason names it.
 *        unknown: as above; a deposit or refund of unknown outcome is
 *        traced with bank_status before anything is sent again.
 *
 *  Retries (worker socket; retry-worker). Every job that failed (outcome
 *  rejected or unknown, except a bazaar_validate or bazaarpay_init whose
 *  failure was answered to its waiting client), whose lease expired, or
 *  whose result needs a decision (a BazaarPay trace that says the checkout
 *  is unpaid or paid_not_committed) waits in state "retry" for a decision.
 *    RETRY_TAKE  max (int 1..64), wait_ms (int 0..30000)
 *      reply {"err": 0, "items": [ITEM ...]} as soon as at least one is
 *      leased to this retry-worker (for the core's --job-lease-ms), or an
 *      empty list after wait_ms. A decision lease that runs out makes the
 *      item due again for any retry-worker.
 *      ITEM = {id, trace (str|nil, as JOB's), kind (the call that ran),
 *              attempt (calls leased so far),
 *              gen (int: this decision lease; RETRY_DECIDE must echo it),
 *              outcome ("ok"|"rejected"|"unknown"|"lease_expired"),
 *              reason (str), status (str|nil: a trace's status),
 *              created_ms, failed_ms (when the outcome was recorded),
 *              ctx (map)}
 *      ctx of bank_* items: {phase ("open": registered, not paid yet |
 *              "final": paid or failed), created_ms (the invoice's),
 *              registered_ms (int|nil), resend_register (bool: true for
 *              a payment's bank leg, whose lost register may go again as
 *              a new order number; false for an order invoice, whose
 *              client was answered)}.
 *      ctx of bazaarpay_* items: {phase ("open": not paid yet | "settle":
 *              delivered, to be committed | "refund": a refund was asked),
 *              created_ms, delivered_ms (int|nil), window_end_ms (int|nil:
 *              delivered_ms + the commit window), commits (int: commit
 *              calls made), refunds (int)}; {} for other kinds.
 *    RETRY_DECIDE  id, gen, action ("retry"|"park"|"expire"), kind? (the
 *              call to make next, for retry: the same kind, or for
 *              bazaarpay_* one of bazaarpay_trace|bazaarpay_commit|
 *              bazaarpay_refund), at_ms? (int: due time for retry; default
 *              now), note? (str, for logs)
 *      reply {"err": 0, "applied": bool}; applied is false for a stale gen
 *      or a job gone. The core refuses (VALIDATION) a decision that is
 *      unsafe whatever the policy: a bazaarpay_commit that does not follow
 *      a delivery or a trace saying paid_not_committed, a bazaarpay_refund
 *      that does not follow a trace saying paid_not_committed or
 *      paid_committed, expire outside the open phase.
 *      park: the job is kept for an operator (paymentctl retry now|park).
 *      expire: an open checkout that stayed unpaid ends "expired".
 *
 *  Admin socket, retry and checkout operations:
 *    ADMIN_CHECKOUT_SHOW  checkout_token -> {"err": 0, "checkout": CHECKOUT}
 *    ADMIN_RETRY_LIST     max (int 1..1000) -> {"err": 0, "items": [RITEM]}
 *      RITEM = {id, kind, state ("queued"|"leased"|"retry"|"deciding"|
 *               "parked"), attempt, due_ms (int|nil for parked), created_ms,
 *               outcome (str|nil), reason (str|nil), ref (str: the
 *               checkout token or purchase serial)}; every job that is not
 *               queued for its first run, oldest first.
 *    ADMIN_RETRY_NOW   id -> the job is queued, due now, its attempts reset
 *    ADMIN_RETRY_PARK  id -> the job is parked
 *
 *  Admin socket, daily operations (ops_admin.h; each reads at most 100000
 *  records, so it never holds the core's loop for long):
 *    ADMIN_TOKEN_LIST  principal? (str), max? (int 1..1000, default 1000)
 *      -> {"err": 0, "tokens": [TOKEN ...] oldest first, "truncated": bool
 *      (more tokens match than the reply holds)}
 *      TOKEN = {id (16 hex digits: a keyed BLAKE2b of the token's hash; it
 *               names the token for revoke and reveals neither the token nor
 *               its hash), principal, role, created_ms}
 *    ADMIN_TOKEN_REVOKE  id? | principal? (exactly one, else VALIDATION)
 *      -> {"err": 0, "revoked": [TOKEN ...]}: that token, or every token of
 *      principal (at most 1000 a call); NOT_FOUND when none matches. The
 *      next request carrying a revoked token is UNAUTHORIZED.
 *    ADMIN_PAYMENT_SHOW  id -> {"err": 0, "payment": PAYMENT, "bank": BANK
 *      (only for a payment with a bank leg)}: any payment; NOT_FOUND
 *    ADMIN_PAYMENT_LIST  status? (a PAYMENT status), max? (int 1..1000,
 *      default 100), before? (a payment id: start below it)
 *      -> {"err": 0, "payments": [PAYMENT ...] newest first, "scanned": int
 *      (records read), "next": str|nil (nil: the store was read to its
 *      oldest payment; else pass it as before for the rest)}
 *    ADMIN_STATS also answers (absent from older cores) purchases,
 *      checkouts, jobs (counts), jobs_queued, jobs_leased, jobs_retry (retry
 *      and deciding), jobs_parked, and jobs_counted (bool: false when there
 *      are more jobs than the state counts read).
 *
 *    AUTH  {} -> {"err": 0, "principal": str, "role": str}; resolves the
 *          header's auth (the gateway asks this only when it already has a
 *          4xx for the request, so that 401 still wins over 400)
 *    PING  {} -> {"err": 0}
 *
 *  Health and metrics (payment-core/metrics.h), api and admin sockets, no
 *  token (the gateway's /readyz and /metrics; docs/operations.md):
 *    HEALTH  {} -> {"err": 0, "writable": bool, "map_used_pct": float (page
 *            high-water mark over the map size, 0..100), "reason": str|nil
 *            ("map_nearly_full" at 95% or more, "store_info_failed")}. It
 *            runs in the batch's write transaction: a store where none can
 *            begin answers err UNAVAILABLE ("storage unavailable").
 *    METRICS {} -> {"err": 0, then numbers (int unless said):
 *            batches, batch_requests (write transactions committed and the
 *            requests in them), batch_last (size of the last one),
 *            batch_le_1, _2, _4, _8, _16, _32, _64, _128, _256, batch_le_inf
 *            (cumulative counts of batches by size), commit_us_total,
 *            commit_us_max, batches_redone, turn_requests, turn_requests_max
 *            (requests taken off the sockets by the last loop turn and the
 *            most in one), now_ms, parked_waiters, parked_takers, jobs,
 *            jobs_queued, jobs_leased, jobs_retry, jobs_parked, jobs_counted
 *            (1, or 0 when more jobs than ADMIN_STATS reads), purchases,
 *            retry_oldest_due_ms (0: no retry item), retry_oldest_due_age_ms,
 *            db_map_bytes, db_used_bytes, db_file_bytes, db_page_bytes,
 *            db_readers, db_map_used_pct (float), and for PROV in bazaar,
 *            bazaarpay, bank, other (by job kind prefix): job_PROV_ok,
 *            job_PROV_rejected, job_PROV_unknown (results applied to a
 *            current lease), job_PROV_latency_ms_sum, job_PROV_latency_count
 *            (lease to result)}. Cost: ops_stats_read (at most 100000 job
 *            records) and one due-index seek, on a read-only snapshot; the
 *            counters are in memory and start at 0 with the process.
 *
 *  The operator page (payment-core/admin_page.h; the gateway's /admin/,
 *  docs/operations.md "Admin page"), api socket, service token only
 *  (ACCESS for a user token):
 *    ADMIN_OVERVIEW  latest? (int 1..20, default 10)
 *      -> {"err": 0, now_ms, latest, payments, purchases, checkouts, orders
 *      (each SECTION), retry {backlog (jobs in retry or deciding), parked,
 *      oldest_due ({id, kind, state, due_ms, age_ms}|nil: the first of the
 *      retry due index), items [RITEM] (ADMIN_RETRY_LIST, at most latest)},
 *      jobs {queued, leased, retry, parked, counted (bool)}, providers
 *      [{provider ("bazaar"|"bazaarpay"|"bank"|"other"), ok, rejected,
 *      unknown, latency_ms_sum, latency_count}] (METRICS's counters)}
 *      SECTION = {counts {state: n, every state of the kind, "other" for
 *                 a record in none}, scanned (records read: at most 10000
 *                 a store, newest keys first), complete (bool: the whole
 *                 store was read), latest [newest first by created_ms:
 *                 PAYMENT | {serial, principal, sku, state, created_ms,
 *                 updated_ms} (purchases) | {serial, principal, sku, state,
 *                 amount_minor, refund_requested, created_ms, updated_ms}
 *                 (checkouts) | {reg_no, principal, state, payment_type,
 *                 currency, total_minor, order_id, payment_leg, created_ms,
 *                 updated_ms} (orders)]}; no tokens or payment URLs.
 */
#ifndef PM_PROTO_H
#define PM_PROTO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PM_PROTO_VERSION 1
#define PM_AUTH_LEN 32       /* BLAKE2b-256 of an API token */
#define PM_PRINCIPAL_MAX 128 /* bytes of a principal id */
#define PM_TRACE_MAX 64      /* bytes of a trace id */
#define PM_HEADER_FIELDS 7

typedef enum {
    PM_MSG_REPLY = 1,
    PM_MSG_PING = 2,
    PM_MSG_AUTH = 3,
    PM_MSG_PAYMENT_CREATE = 10,
    PM_MSG_PAYMENT_GET = 11,
    PM_MSG_PAYMENT_CANCEL = 12,
    PM_MSG_PAYMENT_EDIT = 13,
    PM_MSG_PAYMENT_ACCEPT = 14,
    PM_MSG_STORE_PACKAGES = 20,
    PM_MSG_STORE_PURCHASE_OPEN = 21,
    PM_MSG_STORE_REDEEM = 22,
    PM_MSG_BAZAARPAY_CHECKOUT = 23,
    PM_MSG_BAZAARPAY_CONFIRM = 24,
    PM_MSG_BAZAARPAY_GET = 25,
    PM_MSG_BAZAARPAY_REFUND = 26,
    PM_MSG_REGNO_GEN = 27,
    PM_MSG_INVOICE_PUT = 28,
    PM_MSG_ORDER_REGISTER = 29,
    PM_MSG_ORDER_VALIDATE = 40,
    PM_MSG_JOB_TAKE = 30,
    PM_MSG_JOB_RESULT = 31,
    PM_MSG_RETRY_TAKE = 32,
    PM_MSG_RETRY_DECIDE = 33,
    PM_MSG_ADMIN_TOKEN_CREATE = 100,
    PM_MSG_ADMIN_STATS = 101,
    PM_MSG_ADMIN_PACKAGE_PUT = 102,
    PM_MSG_ADMIN_PACKAGE_RETIRE = 103,
    PM_MSG_ADMIN_PACKAGE_LIST = 104,
    PM_MSG_ADMIN_BALANCE = 105,
    PM_MSG_ADMIN_CHECKOUT_SHOW = 106,
    PM_MSG_ADMIN_RETRY_LIST = 107,
    PM_MSG_ADMIN_RETRY_NOW = 108,
    PM_MSG_ADMIN_RETRY_PARK = 109,
    PM_MSG_ADMIN_REGNO_TYPE_PUT = 110,
    PM_MSG_ADMIN_REGNO_TYPE_LIST = 111,
    PM_MSG_ADMIN_METHOD_PUT = 112,
    PM_MSG_ADMIN_METHOD_LIST = 113,
    PM_MSG_ADMIN_ORDER_SHOW = 114,
    PM_MSG_ADMIN_TOKEN_LIST = 120,
    PM_MSG_ADMIN_TOKEN_REVOKE = 121,
    PM_MSG_ADMIN_PAYMENT_SHOW = 122,
    PM_MSG_ADMIN_PAYMENT_LIST = 123,
    PM_MSG_HEALTH = 130, /* 130..139: health and metrics */
    PM_MSG_METRICS = 131,
    PM_MSG_ADMIN_OVERVIEW = 140, /* 140..149: the operator page */
} pm_msg_type_t;

/* A decoded header. Fixed-size copies, so it outlives the frame it came from. */
typedef struct {
    uint32_t version;
    uint32_t type;
    uint64_t corr_id;
    int64_t deadline_ms;
    char principal[PM_PRINCIPAL_MAX + 1];
    bool has_auth;
    uint8_t auth[PM_AUTH_LEN];
    char trace_id[PM_TRACE_MAX + 1];
} pm_header_t;

#endif
