/*
 * e164.c - phone number checks and normalising (see e164.h).
 */
#include "core/e164.h"

#include <ctype.h>
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
        if (isdigit((unsigned char)*p)) {
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
static int is_mainland_mobile(const char *d)
{
    return strlen(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9';
}

static int is_e164_digits(const char *d)
{
    size_t n = strlen(d);

    if (n < 8 || n > 15 || d[0] == '0')
        return 0;
    /* +86 goes to the mainland, where SMS reach mobiles only. */
    if (strncmp(d, "86", 2) == 0)
        return is_mainland_mobile(d + 2);
    return 1;
}

int e164_normalise(const char *in, char out[E164_MAX])
{
    char d[32];
    const char *cc; /* the number from its country code on */
    int plus, n = collect_digits(in, d, sizeof d, &plus);

    out[0] = '\0';
    if (n <= 0)
        return -1;
    if (plus)
        cc = d;
    else if (strncmp(d, "00", 2) == 0)
        cc = d + 2;
    else if (is_mainland_mobile(d)) {
        memcpy(out, "+86", 4);
        strcat(out, d);
        return 0;
    } else if (strncmp(d, "86", 2) == 0 && is_mainland_mobile(d + 2))
        cc = d;
    else
        return -1;
    if (!is_e164_digits(cc))
        return -1;
    out[0] = '+';
    strcpy(out + 1, cc);
    return 0;
}

int e164_is_mainland(const char *e164)
{
    return strncmp(e164, "+86", 3) == 0;
}
