/*
 * keys.c - building Redis key names (see keys.h).
 */
#include "core/keys.h"

#include <stdio.h>
#include <string.h>

int key_valid_id(const char *id)
{
    size_t len = strlen(id);

    if (len == 0 || len > 128)
        return 0;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        if (*p <= ' ' || *p == '{' || *p == '}' || *p == 0x7f)
            return 0;
    return 1;
}

static int fits(int len, size_t n)
{
    return len >= 0 && (size_t)len < n ? len : -1;
}

/* Appends s at buf[*at]; 0, or -1 when it and the NUL do not fit. */
static int append(char *buf, size_t n, size_t *at, const char *s)
{
    size_t len = strlen(s);

    if (*at + len >= n)
        return -1;
    memcpy(buf + *at, s, len);
    *at += len;
    return 0;
}

/* Joined by hand, not by snprintf(): several student keys are built for
 * every event the consumer handles, and snprintf() was a tenth of its
 * CPU. */
int key_student(char *buf, size_t n, const char *prefix, const char *id,
                const char *suffix)
{
    size_t at = 0;

    if (append(buf, n, &at, prefix) < 0 ||
        append(buf, n, &at, "student:{") < 0 ||
        append(buf, n, &at, id) < 0 || append(buf, n, &at, "}") < 0 ||
        (suffix && (append(buf, n, &at, ":") < 0 ||
                    append(buf, n, &at, suffix) < 0))) {
        if (n > 0)
            buf[0] = '\0';
        return -1;
    }
    buf[at] = '\0';
    return (int)at;
}

int key_staff(char *buf, size_t n, const char *prefix, const char *id)
{
    return fits(snprintf(buf, n, "%sstaff:%s", prefix, id), n);
}

int key_team(char *buf, size_t n, const char *prefix, const char *name)
{
    return fits(snprintf(buf, n, "%steam:%s", prefix, name), n);
}

int key_global(char *buf, size_t n, const char *prefix, const char *name)
{
    return fits(snprintf(buf, n, "%s%s", prefix, name), n);
}

int key_phone(char *buf, size_t n, const char *prefix, const char *e164)
{
    return fits(snprintf(buf, n, "%sphone:%s", prefix, e164), n);
}
