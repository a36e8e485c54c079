/*  pm_text: bounded text building shared by the provider clients.
 *
 *  Requests to providers are built into fixed buffers: append, percent-
 *  encode, and check that a provider's text is well-formed UTF-8 before it
 *  is passed on (payment-core refuses a job result whose reason is not).
 *  Each append keeps out NUL-terminated and updates *used; nothing is
 *  written past cap. */
#ifndef PM_TEXT_H
#define PM_TEXT_H
#include <stddef.h>

/* Appends s[0..n) (or the string s) to out. 0, or -1 when it does not fit
 * (out unchanged). */
int pm_text_appendn(char *out, size_t cap, size_t *used, const char *s, size_t n);
int pm_text_append(char *out, size_t cap, size_t *used, const char *s);

/* Percent-encodes s[0..len) (only A-Z a-z 0-9 - . _ ~ stay as they are, so
 * it fits a path segment, a query value or a form value) and appends it.
 * 0, or -1 when it does not fit. */
int pm_url_escape(char *out, size_t cap, size_t *used, const char *s, size_t len);

/* Bytes of the well-formed UTF-8 sequence at s (n > 0 bytes left): no
 * overlongs, surrogates or values past U+10FFFF; 0 when none starts
 * there. */
size_t pm_utf8_seq_len(const unsigned char *s, size_t n);

#endif
