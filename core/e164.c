/*
 * e164.c - phone number checks and normalising (see e164.h).
 */
#include "core/e164.h"

#include <string.h>

/* Copies the digits of in (after an optional leading "+") into digits,
 * skipping spaces and hyphens between them. Returns the number of digits
 * and sets *plus, or -1 on any other character or too many digits. */
static int collect_digits(const char *in, char *digits, size_t cap, int *plus)
{
    size_t n = 0;
    const char *p = in;

    while (*p == ' ')
        p++;
    *plus = *p == '+';
    if (*plus)
        p++;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') { /* isdigit(), without its call */
            if (n + 1 >= cap)
                return -1;
            digits[n++] = *p;
        } else if (*p == ' ' || *p == '-') {
            if (n == 0 && *p == '-')
                return -1;
        } else {
            return -1;
        }
    }
    digits[n] = '\0';
    return (int)n;
}

/* 1[3-9] and nine more digits: what every mainland mobile number is. */
static int is_mainland_mobile(const char *d, size_t n)
{
    return n == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9';
}

/* Do the n digits of d start with the two of two? Lengths are known
 * here: no libc call for what the SMS render checks each time. */
static int starts_with(const char *d, size_t n, const char *two)
{
    return n >= 2 && d[0] == two[0] && d[1] == two[1];
}

static int is_e164_digits(const char *d, size_t n)
{
    if (n < 8 || n > 15 || d[0] == '0')
        return 0;
    /* +86 goes to the mainland, where SMS reach mobiles only. */
    if (starts_with(d, n, "86"))
        return is_mainland_mobile(d + 2, n - 2);
    return 1;
}

int e164_normalise(const char *in, char out[E164_MAX])
{
    char d[32];
    const char *cc; /* the number from its country code on */
    size_t n, cn;
    int plus, got = collect_digits(in, d, sizeof d, &plus);

    out[0] = '\0';
    if (got <= 0)
        return -1;
    n = (size_t)got;
    if (plus) {
        cc = d;
        cn = n;
    } else if (starts_with(d, n, "00")) {
        cc = d + 2;
        cn = n - 2;
    } else if (is_mainland_mobile(d, n)) {
        memcpy(out, "+86", 3);
        memcpy(out + 3, d, n + 1);
        return 0;
    } else if (starts_with(d, n, "86") && is_mainland_mobile(d + 2, n - 2)) {
        cc = d;
        cn = n;
    } else {
        return -1;
    }
    if (!is_e164_digits(cc, cn))
        return -1;
    out[0] = '+';
    memcpy(out + 1, cc, cn + 1);
    return 0;
}

int e164_is_mainland(const char *e164)
{
    return strncmp(e164, "+86", 3) == 0;
}
