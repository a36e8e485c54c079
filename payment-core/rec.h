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

#include "db.h"

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

/* Packs v, or nil when !has. */
void rec_pack_opt_int(msgpack_packer *pk, bool has, int64_t v);

/* Packs a msgpack bool. */
void rec_pack_bool(msgpack_packer *pk, bool v);

/* ---- the table-driven record codec ----------------------------------------
 *
 * A record type is a struct plus a schema: its version and one row per
 * field, in stored order, saying the field's kind, where it lives in the
 * struct (offsetof) and its bounds. rec_encode writes
 * [version, field...]; rec_decode checks the arity, the version and every
 * field against its row, strictly, and fills the struct (zeroed first).
 * What a record type adds by hand is only what no table can say: checks
 * across fields (a state that requires an optional field), and keys. */
typedef enum {
    REC_STR,     /* char[max + 1]; min..max bytes, no NUL */
    REC_STR_OPT, /* char[max + 1]; "" is stored as nil */
    REC_I64,     /* int64_t in min..max */
    REC_I64_OPT, /* int64_t in min..max, or nil: bool at has_off says which */
    REC_ENUM,    /* an enum (int) in min..max, stored as an int */
    REC_BOOL,    /* bool */
    REC_BIN,     /* uint8_t[max]; its length, a size_t, at len_off */
} rec_kind_t;

typedef struct {
    rec_kind_t kind;
    size_t off;
    int64_t min, max; /* bytes for STR/BIN; values for I64/ENUM */
    size_t aux_off;   /* I64_OPT: the bool "has"; BIN: the size_t length */
    const char *why;  /* what rec_decode says when it is out of shape (NULL: generic) */
} rec_field_t;

typedef struct {
    const char *name; /* for logs */
    uint32_t version;
    size_t size; /* of the struct */
    const rec_field_t *fields;
    size_t nfields;
} rec_schema_t;

#define REC_FIELDS(a) (a), (sizeof(a) / sizeof((a)[0]))

/* Packs rec as the schema says into buf (appended). */
void rec_encode(const rec_schema_t *schema, const void *rec, msgpack_sbuffer *buf);

/* Decodes data into rec (zeroed first). Returns 0, or -1 with *why set to a
 * static reason (which field, or the shape). */
int rec_decode(const rec_schema_t *schema, const void *data, size_t size, void *rec,
               const char **why);

/* Reads key of table and decodes it: 0, MDB_NOTFOUND, DB_ECORRUPT (logged
 * with the schema's name) or an LMDB code. */
int rec_load(db_t *db, MDB_txn *txn, db_name_t table, const void *key, size_t key_len,
             const rec_schema_t *schema, void *rec);

/* Encodes rec and writes it under key of table. Returns an LMDB code. */
int rec_save(db_t *db, MDB_txn *txn, db_name_t table, const void *key, size_t key_len,
             const rec_schema_t *schema, const void *rec);

#endif
