/*  pm_money: decimal text <-> integer minor units, no floating point. */
#include "pm_money.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const pm_currency_t s_currencies[] = {
    {"BTC", 8}, {"EUR", 2}, {"GBP", 2}, {"IRR", 0}, {"IRT", 0},
    {"RUB", 2}, {"TMT", 2}, {"TRY", 2}, {"USD", 2},
};

const pm_currency_t *pm_currency_find(const char *code, size_t len)
{
    if (!code || len != 3)
        return NULL;
    for (size_t i = 0; i < sizeof s_currencies / sizeof s_currencies[0]; i++)
        if (memcmp(s_currencies[i].code, code, 3) == 0)
            return &s_currencies[i];
    return NULL;
}

int pm_money_parse(const char *text, size_t len, int exponent, int64_t max_minor, int64_t *out,
                   const char **why)
{
    assert(out && why && exponent >= 0 && exponent <= 18);
    *why = NULL;
    if (!text || len == 0) {
        *why = "is empty";
        return -1;
    }
    if (text[0] == '-') {
        *why = "must be positive";
        return -1;
    }
    size_t i = 0, int_digits = 0;
    int64_t value = 0;
    bool overflow = false;
    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++, int_digits++) {
        if (value > (INT64_MAX - 9) / 10)
            overflow = true;
        else
            value = value * 10 + (text[i] - '0');
    }
    if (int_digits == 0) {
        *why = "must be a decimal number like 10 or 1.50";
        return -1;
    }
    if (int_digits > 1 && text[0] == '0') {
        *why = "must not have leading zeros";
        return -1;
    }
    int frac = 0;
    if (i < len && text[i] == '.') {
        i++;
        size_t frac_digits = 0;
        for (; i < len && text[i] >= '0' && text[i] <= '9'; i++, frac_digits++) {
            if (frac < exponent) {
                if (value > (INT64_MAX - 9) / 10)
                    overflow = true;
                else
                    value = value * 10 + (text[i] - '0');
                frac++;
            } else if (text[i] != '0') {
                *why = "has more decimal places than the currency allows";
                return -1;
            }
        }
        if (frac_digits == 0) {
            *why = "must be a decimal number like 10 or 1.50";
            return -1;
        }
    }
    if (i != len) {
        *why = "must be a plain decimal number (no sign, exponent or spaces)";
        return -1;
    }
    for (; frac < exponent; frac++) {
        if (value > (INT64_MAX - 9) / 10)
            overflow = true;
        else
            value *= 10;
    }
    if (overflow || value > max_minor) {
        *why = "is above the maximum allowed";
        return -1;
    }
    if (value == 0) {
        *why = "must be greater than zero";
        return -1;
    }
    *out = value;
    return 0;
}

int pm_money_format(int64_t minor, int exponent, char *buf, size_t cap)
{
    assert(minor >= 0 && exponent >= 0 && exponent <= 18);
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%0*lld", exponent + 1, (long long)minor);
    if (n < 0 || (size_t)n >= sizeof digits)
        return -1;
    size_t need = (size_t)n + (exponent > 0 ? 1 : 0);
    if (need + 1 > cap)
        return -1;
    size_t int_len = (size_t)n - (size_t)exponent;
    memcpy(buf, digits, int_len);
    if (exponent > 0) {
        buf[int_len] = '.';
        memcpy(buf + int_len + 1, digits + int_len, (size_t)exponent);
    }
    buf[need] = '\0';
    return (int)need;
}
