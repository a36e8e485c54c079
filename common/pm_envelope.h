/*  pm_envelope: encode and strictly decode the envelope of pm_proto.h.
 *
 *  Encoding writes into a caller's msgpack_sbuffer: pm_envelope_pack_header,
 *  then the body map with the msgpack_pack_* calls and the pm_mp_* helpers.
 *
 *  Decoding checks every byte from the peer: size limit before parsing, exact
 *  header arity and types, length limits, a map body that ends exactly at the
 *  end of the frame. Nothing a peer sends reaches an assert. */
#ifndef PM_ENVELOPE_H
#define PM_ENVELOPE_H
#include <msgpack.h>
#include <stdarg.h>

#include "pm_proto.h"

/* Appends the header array to buf. h->version is ignored: PM_PROTO_VERSION
 * is written. */
void pm_envelope_pack_header(msgpack_sbuffer *buf, const pm_header_t *h);

/* Fills *h for a reply to req (type REPLY, same corr_id and trace_id). */
void pm_header_reply_to(pm_header_t *h, const pm_header_t *req);

typedef struct pm_envelope_t pm_envelope_t;

/* Decodes one frame. Copies the bytes, so data may be freed afterwards.
 * Returns a new envelope (caller owns, pm_envelope_destroy), or NULL when the
 * frame is malformed: then err says why, and when the header alone was valid,
 * *header_ok is set and *partial holds it (so the peer can be told). */
pm_envelope_t *pm_envelope_decode(const void *data, size_t size, size_t max_size,
                                  pm_header_t *partial, bool *header_ok, char *err, size_t errlen);

void pm_envelope_destroy(pm_envelope_t **self_p);

/* The decoded header; borrowed, valid until destroy. */
const pm_header_t *pm_envelope_header(const pm_envelope_t *self);

/* The body map; borrowed view, valid until destroy. */
const msgpack_object *pm_envelope_body(const pm_envelope_t *self);

/* The body's raw msgpack bytes; borrowed, valid until destroy. */
const void *pm_envelope_body_bytes(const pm_envelope_t *self, size_t *size);

/* Writes a whole error reply to req into buf (reset first):
 * {"err": err, "msg": formatted message}. */
void pm_envelope_error_reply(msgpack_sbuffer *buf, const pm_header_t *req, int err, const char *fmt,
                             ...) __attribute__((format(printf, 4, 5)));

/* ---- msgpack helpers for bodies ---------------------------------------- */

/* Packs a NUL-terminated string; NULL packs nil. */
void pm_mp_pack_cstr(msgpack_packer *pk, const char *s);
/* Packs len bytes as a msgpack str. */
void pm_mp_pack_strn(msgpack_packer *pk, const char *s, size_t len);

/* The value stored under key in map, or NULL when map is not a map or the key
 * is absent. Borrowed view. */
const msgpack_object *pm_mp_get(const msgpack_object *map, const char *key);

/* String under key: 0 and a borrowed view (not NUL-terminated), or -1 when
 * absent, nil, or not a str. */
int pm_mp_get_str(const msgpack_object *map, const char *key, const char **ptr, size_t *len);

/* Copies the string under key into buf as a C string. -1 when absent, nil,
 * not a str, longer than cap - 1 bytes, or containing a NUL byte. */
int pm_mp_copy_str(const msgpack_object *map, const char *key, char *buf, size_t cap);

/* Integer under key (positive or negative msgpack int). -1 when absent, not
 * an integer, or beyond int64. */
int pm_mp_get_int(const msgpack_object *map, const char *key, int64_t *out);

/* True when data is a sequence of complete msgpack objects whose every
 * declared container count and str/bin/ext length fits in the bytes that
 * remain. Call before msgpack_unpack_next on bytes from outside: msgpack-c
 * allocates for a container's declared count before reading it. */
bool pm_mp_bounded(const void *data, size_t size);

/* Decodes a stored record: one msgpack array of exactly `fields` elements,
 * the first being the unsigned integer `version`, filling data exactly. u is
 * always initialised (the caller destroys it); on success *f points at the
 * fields, views into data. Returns 0, or -1 with *why set (static text). */
int pm_mp_unpack_record(const void *data, size_t size, uint64_t version, uint32_t fields,
                        msgpack_unpacked *u, const msgpack_object **f, const char **why);

#endif
