/*  pm_text: append, percent-encode, UTF-8 sequences. */
#include "pm_text.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

int pm_text_appendn(char *out, size_t cap, size_t *used, const char *s, size_t n)
{
    assert(out && used && (s || n == 0));
    if (*used + n + 1 > cap)
        return -1;
    memcpy(out + *used, s, n);
    *used += n;
    out[*used] = '\0';
    return 0;
}

int pm_text_append(char *out, size_t cap, size_t *used, const char *s)
{
    return pm_text_appendn(out, cap, used, s, strlen(s));
}

int pm_url_escape(char *out, size_t cap, size_t *used, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    assert(out && used && (s || len == 0));
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_' || c == '~';
        size_t need = plain ? 1 : 3;
        if (*used + need + 1 > cap)
            return -1;
        if (plain) {
            out[(*used)++] = (char)c;
        } else {
            out[(*used)++] = '%';
            out[(*used)++] = hex[c >> 4];
            out[(*used)++] = hex[c & 15];
        }
    }
    if (*used + 1 > cap)
        return -1;
    out[*used] = '\0';
    return 0;
}

size_t pm_utf8_seq_len(const unsigned char *s, size_t n)
{
    size_t k;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        k = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        k = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        k = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k;
}
