/*  admin_page: ADMIN_OVERVIEW (pm_proto.h 140), the one message behind the
 *  gateway's operator page (GET /admin/api/overview, docs/operations.md
 *  "Admin page").
 *
 *  API socket, service token only (403 for a user token). One read-only
 *  call gathers what the page shows, from the existing listings:
 *
 *    payments, purchases, checkouts, orders  counts by state and the newest
 *        `latest` of each, from a bounded scan (ADMIN_PAGE_SCAN_MAX records
 *        per store, newest keys first; "complete" false when a store holds
 *        more: its counts then cover the scanned records only)
 *    retry   ADMIN_RETRY_LIST's items (retry_admin_list, at most `latest`)
 *            and the oldest due retry item (the due index, one seek)
 *    jobs and providers  METRICS's job counts and provider job outcomes
 *            (metrics_api_metrics: in-memory counters since the start)
 *
 *  Cost per call: at most 4 * ADMIN_PAGE_SCAN_MAX record decodes plus the
 *  retry list's and METRICS's own bounds, on the batch's read snapshot. */
#ifndef ADMIN_PAGE_H
#define ADMIN_PAGE_H
#include "request.h"

#define ADMIN_PAGE_SCAN_MAX 10000 /* records read per store and call */
#define ADMIN_PAGE_LATEST_MAX 20  /* newest items per section, at most */

/* ADMIN_OVERVIEW  latest? (int 1..20, default 10). */
int admin_page_overview(req_t *req);

#endif
