/*  sb_index: a bounded array of records in order of creation, indexed by a
 *  token each record carries.
 *
 *  The simulated stores (bazaar's purchases, bazaarpay's checkouts) keep
 *  their records here. A record is a plain struct of record_size bytes with
 *  its token, a NUL-terminated string, at token_offset. The array grows by
 *  doubling up to max records and never shrinks: a record pointer is good
 *  until the next sb_index_reserve (the array may move), and records are
 *  never removed. The hash chains live beside the records, so a record
 *  struct needs no field for them.
 *
 *  Pure data operations without locks: the caller holds the sandbox lock.
 *  What a record owns (strings) is the caller's to free before destroy. */
#ifndef SB_INDEX_H
#define SB_INDEX_H
#include <stddef.h>

typedef struct sb_index_t sb_index_t;

/* An empty index of records of record_size bytes, at most max (0 < max <
 * UINT32_MAX). Returns it (caller owns: sb_index_destroy), or NULL when
 * memory is short. */
sb_index_t *sb_index_new(size_t record_size, size_t token_offset, size_t max);

/* Frees the array and the index (not what records own). Safe twice; nulls
 * *self_p. */
void sb_index_destroy(sb_index_t **self_p);

/* The zeroed record after the last, to be filled and then added with
 * sb_index_commit; a record reserved and not committed is reused by the next
 * reserve. NULL when max records are held or memory is short. */
void *sb_index_reserve(sb_index_t *self);

/* Adds the record sb_index_reserve returned, under the token it holds now. */
void sb_index_commit(sb_index_t *self);

/* The record whose token is token, or NULL. */
void *sb_index_find(const sb_index_t *self, const char *token);

/* Records held. */
size_t sb_index_count(const sb_index_t *self);

/* Record i (0 = oldest, i < count). */
void *sb_index_at(const sb_index_t *self, size_t i);

#endif
