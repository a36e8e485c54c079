/*  sb_index: records in one array, a chained hash table of their tokens.
 *
 *  Buckets and chain links hold an index + 1, so 0 ends a chain and calloc
 *  makes an empty table. The table has a power of two buckets, about one
 *  per record up to 2^20, and the FNV-1a hash of the token picks one. */
#include "sb_index.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct sb_index_t {
    size_t record_size, token_offset, max;
    char *records;     /* count records of record_size bytes, room for cap */
    uint32_t *next;    /* per record: index + 1 of the next of its chain, 0: none */
    size_t count, cap; /* cap grown by doubling up to max */
    uint32_t *buckets; /* index + 1 of the first record of the chain, 0: none */
    size_t nbuckets;   /* power of two */
};

static uint32_t s_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static const char *s_token(const sb_index_t *self, size_t i)
{
    return self->records + i * self->record_size + self->token_offset;
}

sb_index_t *sb_index_new(size_t record_size, size_t token_offset, size_t max)
{
    assert(record_size > 0 && token_offset < record_size && max > 0 && max < UINT32_MAX);
    sb_index_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->record_size = record_size;
    self->token_offset = token_offset;
    self->max = max;
    self->nbuckets = 1024;
    while (self->nbuckets < max && self->nbuckets < (1u << 20))
        self->nbuckets *= 2;
    self->buckets = calloc(self->nbuckets, sizeof *self->buckets);
    if (!self->buckets) {
        free(self);
        return NULL;
    }
    return self;
}

void sb_index_destroy(sb_index_t **self_p)
{
    assert(self_p);
    sb_index_t *self = *self_p;
    if (!self)
        return;
    free(self->records);
    free(self->next);
    free(self->buckets);
    free(self);
    *self_p = NULL;
}

void *sb_index_reserve(sb_index_t *self)
{
    assert(self);
    if (self->count == self->max)
        return NULL;
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 64;
        if (cap > self->max)
            cap = self->max;
        char *grown = realloc(self->records, cap * self->record_size);
        if (!grown)
            return NULL;
        self->records = grown;
        uint32_t *next = realloc(self->next, cap * sizeof *next);
        if (!next)
            return NULL; /* the records' room is larger already: harmless */
        self->next = next;
        self->cap = cap;
    }
    void *r = self->records + self->count * self->record_size;
    memset(r, 0, self->record_size);
    return r;
}

void sb_index_commit(sb_index_t *self)
{
    assert(self && self->count < self->cap);
    size_t b = s_hash(s_token(self, self->count)) & (self->nbuckets - 1);
    self->next[self->count] = self->buckets[b];
    self->buckets[b] = (uint32_t)(self->count + 1);
    self->count++;
}

void *sb_index_find(const sb_index_t *self, const char *token)
{
    assert(self && token);
    size_t b = s_hash(token) & (self->nbuckets - 1);
    for (uint32_t i = self->buckets[b]; i != 0; i = self->next[i - 1])
        if (strcmp(s_token(self, i - 1), token) == 0)
            return self->records + (i - 1) * self->record_size;
    return NULL;
}

size_t sb_index_count(const sb_index_t *self)
{
    assert(self);
    return self->count;
}

void *sb_index_at(const sb_index_t *self, size_t i)
{
    assert(self && i < self->count);
    return self->records + i * self->record_size;
}
