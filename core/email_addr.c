/*
 * email_addr.c - the email address check (see email_addr.h).
 */
#include "core/email_addr.h"

#include <ctype.h>
#include <string.h>

#define LOCAL_MAX 64
#define LABEL_MAX 63
#define ADDR_MAX 254

static int atext(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+/=?^_`{|}~-", c)) ||
           c >= 0x80; /* an internationalised local part (RFC 6531) */
}

/* Dot-atom: atext runs separated by single dots, none at either end. */
static int dot_atom(const char *s, size_t n)
{
    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' ? s[i + 1] == '.' : !atext((unsigned char)s[i]))
            return 0;
    return 1;
}

static int label_char(unsigned char c)
{
    return isalnum(c) || c == '-' || c >= 0x80;
}

static int domain_ok(const char *s, size_t n)
{
    size_t labels = 0, len = 0;

    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            if (!label_char((unsigned char)s[i]) || ++len > LABEL_MAX)
                return 0;
            continue;
        }
        if (len == 0 || s[i - len] == '-' || s[i - 1] == '-')
            return 0;
        labels++;
        len = 0;
    }
    return labels >= 2;
}

int email_addr_valid(const char *s)
{
    const char *at = strrchr(s, '@');
    size_t n = strlen(s);

    if (!at || n > ADDR_MAX || (size_t)(at - s) > LOCAL_MAX)
        return 0;
    return dot_atom(s, (size_t)(at - s)) &&
           domain_ok(at + 1, n - (size_t)(at - s) - 1);
}
