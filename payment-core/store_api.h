/*  store_api: the store's catalog and purchases on the api socket
 *  (STORE_PACKAGES, STORE_PURCHASE_OPEN; STORE_REDEEM is in bazaar.h) and
 *  the operator's catalog and balance messages on the admin socket. */
#ifndef STORE_API_H
#define STORE_API_H
#include "request.h"

int store_api_packages(req_t *req);
int store_api_purchase_open(req_t *req);
int store_api_package_put(req_t *req);
int store_api_package_retire(req_t *req);
int store_api_package_list(req_t *req);
int store_api_balance(req_t *req);

#endif
