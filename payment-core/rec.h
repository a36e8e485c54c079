/*  rec: helpers shared by the record codecs of payment-core's modules.
 *
 *  Stored records are msgpack arrays, version first (pm_mp_unpack_record
 *  checks arity and version); these read one field each, strictly, and
 *  return -1 for anything out of shape, never assert: a stored record that
 *  does not decode is corruption, reported as DB_ECORRUPT. */
#ifndef REC_H
#define REC_H
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies a str of min..max bytes without NUL into out (cap > max). With
 * optional, nil reads as "" (and an empty str is refused). */
int rec_str(const msgpack_object *o, char *out, size_t min, size_t max, bool optional);

/* A msgpack int that fits int64. */
int rec_int(const msgpack_object *o, int64_t *out);

/* An int or nil (nil: *is_nil set, *out 0). */
int rec_int_opt(const msgpack_object *o, int64_t *out, bool *is_nil);

/* A msgpack bool. */
int rec_bool(const msgpack_object *o, bool *out);

/* Big-endian 8-byte encoding, for keys that sort by number. */
void rec_be64_put(uint8_t out[8], uint64_t v);
uint64_t rec_be64_get(const uint8_t in[8]);

/* Packs "" as nil, anything else as str (the optional fields' "none"). */
void rec_pack_opt(msgpack_packer *pk, const char *s);

#endif
