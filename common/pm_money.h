/*  pm_money: exact decimal amounts as integer minor units.
 *
 *  An amount travels as decimal text ("1.10", taken from the JSON number's
 *  original characters, never through a double) and is stored as an int64 of
 *  minor units with the currency's exponent: USD 1.10 -> 110, IRR 1000 ->
 *  1000, BTC 1.0 -> 100000000. */
#ifndef PM_MONEY_H
#define PM_MONEY_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *code; /* ISO 4217 style, upper case, e.g. "USD" */
    int exponent;     /* digits after the decimal point */
} pm_currency_t;

/* The currency with this exact (upper-case) code, or NULL if it is not one
 * paymesh knows. Static storage. */
const pm_currency_t *pm_currency_find(const char *code, size_t len);

/* Parses decimal text into minor units. Accepted: digits, optionally a '.'
 * and digits ("10", "1.10", "0.5"). Fraction digits past the exponent are
 * accepted only when they are zeros ("1.100" USD = 110), since the value
 * stays exact. Rejected, with *why set to a static reason: empty, sign,
 * exponent notation, other characters, more significant decimals than the
 * exponent, zero, or more than max_minor. Returns 0 or -1. */
int pm_money_parse(const char *text, size_t len, int exponent, int64_t max_minor, int64_t *out,
                   const char **why);

/* Writes minor units as decimal text with exactly `exponent` fraction digits
 * ("1.10", "1000", "0.00000001"). Returns the length, or -1 if cap is too
 * small. minor must be >= 0. */
int pm_money_format(int64_t minor, int exponent, char *buf, size_t cap);

#endif
