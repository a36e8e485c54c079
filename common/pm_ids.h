/*  pm_ids: identifiers and secrets: UUIDs (libuuid), API tokens and their
 *  hashes (libsodium). */
#ifndef PM_IDS_H
#define PM_IDS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pm_proto.h"

#define PM_UUID_LEN 36   /* text form, without the NUL */
#define PM_TOKEN_MAX 128 /* longest API token accepted from a client */

/* Writes a new random (version 4) UUID in lower-case text form into out. */
void pm_uuid_new(char out[PM_UUID_LEN + 1]);

/* True when text[0..len) is a UUID in canonical text form (any case). */
bool pm_uuid_valid(const char *text, size_t len);

/* Writes a new API token ("pmk_" + 43 url-safe base64 characters of 32 random
 * bytes) into out. Returns 0, or -1 if cap is too small. */
int pm_token_new(char *out, size_t cap);

/* BLAKE2b-256 of a token: what is stored and what crosses the wire. */
void pm_token_hash(const char *token, size_t len, uint8_t out[PM_AUTH_LEN]);

/* Fills buf with size bytes of libsodium's CSPRNG output, served from a
 * per-thread buffer refilled 4 KiB at a time: one getrandom(2) per few
 * hundred ids instead of one per id. For ids that must be unguessable; not
 * for secret keys (pm_token_new draws its own). */
void pm_random_buf(void *buf, size_t size);

/* Initialises libsodium; aborts if it cannot (no safe randomness). */
void pm_ids_init(void);

#endif
