/*  pm_envelope: header + body encoding, strict decoding, body helpers. */
#include "pm_envelope.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pm_envelope_t {
    pm_header_t header;
    char *bytes; /* our copy of the frame; objects point into it */
    size_t size;
    size_t body_off;       /* where the body map starts in bytes */
    msgpack_unpacked head; /* owns the header objects */
    msgpack_unpacked body; /* owns the body objects */
};

void pm_mp_pack_strn(msgpack_packer *pk, const char *s, size_t len)
{
    msgpack_pack_str(pk, len);
    msgpack_pack_str_body(pk, s, len);
}

void pm_mp_pack_cstr(msgpack_packer *pk, const char *s)
{
    if (!s)
        msgpack_pack_nil(pk);
    else
        pm_mp_pack_strn(pk, s, strlen(s));
}

void pm_envelope_pack_header(msgpack_sbuffer *buf, const pm_header_t *h)
{
    assert(buf && h);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, PM_HEADER_FIELDS);
    msgpack_pack_uint32(&pk, PM_PROTO_VERSION);
    msgpack_pack_uint32(&pk, h->type);
    msgpack_pack_uint64(&pk, h->corr_id);
    msgpack_pack_int64(&pk, h->deadline_ms);
    pm_mp_pack_cstr(&pk, h->principal);
    if (h->has_auth) {
        msgpack_pack_bin(&pk, PM_AUTH_LEN);
        msgpack_pack_bin_body(&pk, h->auth, PM_AUTH_LEN);
    } else {
        msgpack_pack_nil(&pk);
    }
    pm_mp_pack_cstr(&pk, h->trace_id);
}

void pm_header_reply_to(pm_header_t *h, const pm_header_t *req)
{
    memset(h, 0, sizeof *h);
    h->version = PM_PROTO_VERSION;
    h->type = PM_MSG_REPLY;
    h->corr_id = req->corr_id;
    memcpy(h->trace_id, req->trace_id, sizeof h->trace_id);
}

void pm_envelope_error_reply(msgpack_sbuffer *buf, const pm_header_t *req, int err, const char *fmt,
                             ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        msg[0] = '\0';
    pm_header_t h;
    pm_header_reply_to(&h, req);
    msgpack_sbuffer_clear(buf);
    pm_envelope_pack_header(buf, &h);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, err);
    pm_mp_pack_cstr(&pk, "msg");
    pm_mp_pack_cstr(&pk, msg);
}

/* Copies a msgpack str of at most max bytes, without NUL bytes, into out. */
static int s_copy_bounded(const msgpack_object *o, char *out, size_t max)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size > max)
        return -1;
    out[o->via.str.size] = '\0';
    if (o->via.str.size == 0)
        return 0; /* msgpack-c may give a NULL pointer for "" */
    if (memchr(o->via.str.ptr, '\0', o->via.str.size))
        return -1;
    memcpy(out, o->via.str.ptr, o->via.str.size);
    return 0;
}

/* msgpack-c allocates room for every element a container declares before it
 * reads them, so a five-byte frame declaring 2^32 elements would ask for
 * 100 GiB. This scan walks the frame's type bytes only and refuses it unless
 * every declared element and every declared str/bin/ext length fits in the
 * bytes that remain. After it passes, msgpack-c's allocation is bounded by a
 * small multiple of the frame size. */
bool pm_mp_bounded(const void *data, size_t size)
{
    const unsigned char *p = data;
    size_t pos = 0;
    uint64_t pending = 0; /* elements declared and not yet seen */
    while (pos < size) {
        if (pending == 0)
            pending = 1; /* the next top-level object */
        unsigned char t = p[pos++];
        uint64_t skip = 0, elems = 0;
        size_t lenbytes = 0;
        if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
            skip = 0;
        else if (t >= 0x80 && t <= 0x8f)
            elems = 2u * (t & 0x0f);
        else if (t >= 0x90 && t <= 0x9f)
            elems = t & 0x0f;
        else if (t >= 0xa0 && t <= 0xbf)
            skip = t & 0x1f;
        else
            switch (t) {
            case 0xcc:
            case 0xd0:
                skip = 1;
                break;
            case 0xcd:
            case 0xd1:
                skip = 2;
                break;
            case 0xca:
            case 0xce:
            case 0xd2:
                skip = 4;
                break;
            case 0xcb:
            case 0xcf:
            case 0xd3:
                skip = 8;
                break;
            case 0xd4:
                skip = 2;
                break;
            case 0xd5:
                skip = 3;
                break;
            case 0xd6:
                skip = 5;
                break;
            case 0xd7:
                skip = 9;
                break;
            case 0xd8:
                skip = 17;
                break;
            case 0xc4:
            case 0xd9:
                lenbytes = 1;
                break;
            case 0xc5:
            case 0xda:
                lenbytes = 2;
                break;
            case 0xc6:
            case 0xdb:
                lenbytes = 4;
                break;
            case 0xc7:
                lenbytes = 1;
                skip = 1;
                break; /* ext8: len, type */
            case 0xc8:
                lenbytes = 2;
                skip = 1;
                break;
            case 0xc9:
                lenbytes = 4;
                skip = 1;
                break;
            case 0xdc:
            case 0xde:
                lenbytes = 2;
                break;
            case 0xdd:
            case 0xdf:
                lenbytes = 4;
                break;
            default:
                return false; /* 0xc1: never used */
            }
        if (lenbytes) {
            if (size - pos < lenbytes)
                return false;
            uint64_t n = 0;
            for (size_t i = 0; i < lenbytes; i++)
                n = (n << 8) | p[pos++];
            if (t == 0xdc || t == 0xdd)
                elems = n;
            else if (t == 0xde || t == 0xdf)
                elems = 2 * n;
            else
                skip += n;
        }
        if (skip > size - pos)
            return false;
        pos += (size_t)skip;
        pending = pending - 1 + elems;
        if (pending > size - pos)
            return false;
    }
    return pending == 0;
}

static int s_decode_header(const msgpack_object *o, pm_header_t *h, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != PM_HEADER_FIELDS) {
        snprintf(err, errlen, "header is not an array of %d fields", PM_HEADER_FIELDS);
        return -1;
    }
    const msgpack_object *f = o->via.array.ptr;
    if (f[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[0].via.u64 != PM_PROTO_VERSION) {
        snprintf(err, errlen, "unsupported protocol version");
        return -1;
    }
    h->version = PM_PROTO_VERSION;
    if (f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[1].via.u64 > UINT32_MAX) {
        snprintf(err, errlen, "bad message type");
        return -1;
    }
    h->type = (uint32_t)f[1].via.u64;
    if (f[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        snprintf(err, errlen, "bad correlation id");
        return -1;
    }
    h->corr_id = f[2].via.u64;
    if (f[3].type == MSGPACK_OBJECT_POSITIVE_INTEGER && f[3].via.u64 <= INT64_MAX)
        h->deadline_ms = (int64_t)f[3].via.u64;
    else if (f[3].type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        h->deadline_ms = f[3].via.i64;
    else {
        snprintf(err, errlen, "bad deadline");
        return -1;
    }
    if (f[4].type == MSGPACK_OBJECT_NIL)
        h->principal[0] = '\0';
    else if (s_copy_bounded(&f[4], h->principal, PM_PRINCIPAL_MAX) != 0) {
        snprintf(err, errlen, "bad principal");
        return -1;
    }
    if (f[5].type == MSGPACK_OBJECT_BIN && f[5].via.bin.size == PM_AUTH_LEN) {
        h->has_auth = true;
        memcpy(h->auth, f[5].via.bin.ptr, PM_AUTH_LEN);
    } else if (f[5].type != MSGPACK_OBJECT_NIL) {
        snprintf(err, errlen, "bad auth");
        return -1;
    }
    if (f[6].type == MSGPACK_OBJECT_NIL)
        h->trace_id[0] = '\0';
    else if (s_copy_bounded(&f[6], h->trace_id, PM_TRACE_MAX) != 0) {
        snprintf(err, errlen, "bad trace id");
        return -1;
    }
    return 0;
}

pm_envelope_t *pm_envelope_decode(const void *data, size_t size, size_t max_size,
                                  pm_header_t *partial, bool *header_ok, char *err, size_t errlen)
{
    assert(partial && header_ok && err);
    *header_ok = false;
    err[0] = '\0';
    if (!data || size == 0) {
        snprintf(err, errlen, "empty frame");
        return NULL;
    }
    if (size > max_size) {
        snprintf(err, errlen, "frame of %zu bytes exceeds %zu", size, max_size);
        return NULL;
    }
    pm_envelope_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->bytes = malloc(size);
    if (!self->bytes) {
        free(self);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(self->bytes, data, size);
    self->size = size;
    msgpack_unpacked_init(&self->head);
    msgpack_unpacked_init(&self->body);
    if (!pm_mp_bounded(self->bytes, size)) {
        snprintf(err, errlen, "frame is not well-formed msgpack");
        goto fail;
    }

    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack_next(&self->head, self->bytes, size, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS) {
        snprintf(err, errlen, "header is not valid msgpack");
        goto fail;
    }
    if (s_decode_header(&self->head.data, &self->header, err, errlen) != 0)
        goto fail;
    *partial = self->header;
    *header_ok = true;
    self->body_off = off;
    rc = msgpack_unpack_next(&self->body, self->bytes, size, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS) {
        snprintf(err, errlen, "body is not valid msgpack");
        goto fail;
    }
    if (self->body.data.type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errlen, "body is not a map");
        goto fail;
    }
    if (off != size) {
        snprintf(err, errlen, "trailing bytes after body");
        goto fail;
    }
    for (uint32_t i = 0; i < self->body.data.via.map.size; i++)
        if (self->body.data.via.map.ptr[i].key.type != MSGPACK_OBJECT_STR) {
            snprintf(err, errlen, "body has a key that is not a string");
            goto fail;
        }
    return self;
fail:
    pm_envelope_destroy(&self);
    return NULL;
}

void pm_envelope_destroy(pm_envelope_t **self_p)
{
    assert(self_p);
    pm_envelope_t *self = *self_p;
    if (!self)
        return;
    msgpack_unpacked_destroy(&self->head);
    msgpack_unpacked_destroy(&self->body);
    free(self->bytes);
    free(self);
    *self_p = NULL;
}

const pm_header_t *pm_envelope_header(const pm_envelope_t *self)
{
    assert(self);
    return &self->header;
}

const msgpack_object *pm_envelope_body(const pm_envelope_t *self)
{
    assert(self);
    return &self->body.data;
}

const void *pm_envelope_body_bytes(const pm_envelope_t *self, size_t *size)
{
    assert(self && size);
    *size = self->size - self->body_off;
    return self->bytes + self->body_off;
}

const msgpack_object *pm_mp_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
            memcmp(k->via.str.ptr, key, klen) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

int pm_mp_get_str(const msgpack_object *map, const char *key, const char **ptr, size_t *len)
{
    const msgpack_object *v = pm_mp_get(map, key);
    if (!v || v->type != MSGPACK_OBJECT_STR)
        return -1;
    *ptr = v->via.str.ptr;
    *len = v->via.str.size;
    return 0;
}

int pm_mp_copy_str(const msgpack_object *map, const char *key, char *buf, size_t cap)
{
    assert(cap > 0);
    const msgpack_object *v = pm_mp_get(map, key);
    if (!v)
        return -1;
    return s_copy_bounded(v, buf, cap - 1);
}

int pm_mp_get_int(const msgpack_object *map, const char *key, int64_t *out)
{
    const msgpack_object *v = pm_mp_get(map, key);
    if (!v)
        return -1;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX) {
        *out = (int64_t)v->via.u64;
        return 0;
    }
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = v->via.i64;
        return 0;
    }
    return -1;
}

int pm_mp_unpack_record(const void *data, size_t size, uint64_t version, uint32_t fields,
                        msgpack_unpacked *u, const msgpack_object **f, const char **why)
{
    assert(u && f && why);
    msgpack_unpacked_init(u);
    size_t off = 0;
    if (!data || size == 0 || !pm_mp_bounded(data, size)) {
        *why = "not well-formed msgpack";
        return -1;
    }
    if (msgpack_unpack_next(u, data, size, &off) != MSGPACK_UNPACK_SUCCESS) {
        *why = "not valid msgpack";
        return -1;
    }
    if (off != size) {
        *why = "trailing bytes";
        return -1;
    }
    const msgpack_object *o = &u->data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != fields) {
        *why = "wrong number of fields";
        return -1;
    }
    *f = o->via.array.ptr;
    if ((*f)[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || (*f)[0].via.u64 != version) {
        *why = "unknown record version";
        return -1;
    }
    return 0;
}
