/*  Shared by the provider-answer fuzz targets (fuzz_bazaar, fuzz_bazaarpay,
 *  fuzz_rbs, fuzz_tfeb): how an input becomes one HTTP answer, and the
 *  checks every classified result must pass.
 *
 *  Input layout (the seed corpora, tests/fuzz/corpus/<target>/, are written
 *  this way so that they stay readable):
 *
 *    byte 0       which call's parser: an ASCII digit counts as its value
 *                 (the seeds use '0', '1', ...), any other byte as itself;
 *                 taken modulo the target's count (sel keeps it whole)
 *    bytes 1..3   the HTTP status as three ASCII digits ("200"); any other
 *                 three bytes give an arbitrary (possibly huge or negative)
 *                 long. A status below 100 stands for a failed transport:
 *                 0 answered, 1 timeout, 2 too large, 3 no answer (% 4).
 *    bytes 4..    the body, exactly as received (not NUL-terminated: the
 *                 parsers get a length; an empty body is passed as NULL).
 *
 *  No network, no clock: only the pure halves of the clients are called. */
#ifndef FUZZ_ANSWER_H
#define FUZZ_ANSWER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pm_text.h"

typedef struct {
    unsigned sel;     /* the selector byte (a digit as its value) */
    unsigned call;    /* sel modulo ncalls */
    long status;      /* HTTP status */
    int transport;    /* 0 answered, 1 timeout, 2 too large, 3 no answer */
    const char *body; /* NULL when empty; points into the fuzzer's buffer */
    size_t len;
} fuzz_answer_t;

/* Splits data into an answer; false when the input is too short. */
static inline bool fuzz_answer(const uint8_t *data, size_t size, unsigned ncalls, fuzz_answer_t *a)
{
    if (size < 4)
        return false;
    a->sel = data[0] >= '0' && data[0] <= '9' ? data[0] - '0' : data[0];
    a->call = a->sel % ncalls;
    bool digits = true;
    for (int i = 1; i <= 3; i++)
        digits = digits && data[i] >= '0' && data[i] <= '9';
    if (digits)
        a->status = (data[1] - '0') * 100 + (data[2] - '0') * 10 + (data[3] - '0');
    else
        a->status = (long)(int8_t)data[1] * 65536 + (long)data[2] * 256 + data[3];
    a->transport = a->status >= 0 && a->status < 100 ? (int)(a->status % 4) : 0;
    a->len = size - 4;
    a->body = a->len ? (const char *)data + 4 : NULL;
    return true;
}

/* True when s[0..) is NUL-terminated within cap bytes, at most max bytes
 * long, and well-formed UTF-8 without control characters (C0, DEL, C1):
 * what payment-core takes as a reason. */
static inline bool fuzz_text_ok(const char *s, size_t cap, size_t max)
{
    size_t n = strnlen(s, cap);
    if (n == cap || n > max)
        return false;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = pm_utf8_seq_len(u + i, n - i);
        if (k == 0 || u[i] < 0x20 || u[i] == 0x7F || (u[i] == 0xC2 && k == 2 && u[i + 1] < 0xA0))
            return false;
        i += k;
    }
    return true;
}

/* Aborts (a crash libFuzzer reports, with the input) when cond is false. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
