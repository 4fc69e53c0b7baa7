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

int key_student(char *buf, size_t n, const char *prefix, const char *id,
                const char *suffix)
{
    if (suffix)
        return fits(snprintf(buf, n, "%sstudent:{%s}:%s", prefix, id, suffix),
                    n);
    return fits(snprintf(buf, n, "%sstudent:{%s}", prefix, id), n);
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
