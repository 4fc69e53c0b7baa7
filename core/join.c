/*
 * join.c - strings and numbers written without printf (see join.h).
 */
#include "core/join.h"

#include <stdarg.h>
#include <string.h>

int join(char *buf, size_t n, ...)
{
    va_list ap;
    const char *s;
    size_t at = 0;
    int fits = 1;

    if (n == 0)
        return -1;
    va_start(ap, n);
    while (fits && (s = va_arg(ap, const char *)) != NULL) {
        size_t len = strlen(s);
        if (at + len >= n) {
            len = n - 1 - at;
            fits = 0;
        }
        memcpy(buf + at, s, len);
        at += len;
    }
    va_end(ap);
    buf[at] = '\0';
    return fits ? (int)at : -1;
}

size_t join_long(char out[24], long long v)
{
    char digits[24], *end = digits + sizeof digits, *p = end;
    unsigned long long u = v < 0 ? 0 - (unsigned long long)v
                                 : (unsigned long long)v;
    size_t n;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    n = (size_t)(end - p);
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}
