/*  sb_icon: demo icons for catalogs pointed at the sandbox.
 *
 *  GET /sandbox/icons/{name}.png answers one small fixed PNG (a 16x16
 *  tile) for every name of 1..64 characters of [a-z0-9_], so a demo catalog
 *  can give each package an icon URL that loads without any image being
 *  stored. Other names are 404 JSON, like every unknown admin path. */
#ifndef SB_ICON_H
#define SB_ICON_H
#include <stdbool.h>
#include <stddef.h>

#include "sb_route.h"

#define SB_ICON_NAME_MAX 64 /* characters of an icon name, without ".png" */

/* True when segment is "{name}.png" with a name the sandbox serves. Pure. */
bool sb_icon_name_ok(const char *segment);

/* The PNG every icon is: borrowed, static, *len bytes. */
const unsigned char *sb_icon_png(size_t *len);

/* Handler (sb_routes.c); caps: the "{name}.png" segment. */
void sb_icon_on_get(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);

#endif
