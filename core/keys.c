/*
 * keys.c - building Redis key names (see keys.h).
 */
#include "core/keys.h"

#include <string.h>

#include "core/join.h"

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

/* The key's length, or -1 and "" when it did not fit. Joined, not
 * printed: several keys are built for every event the consumer handles,
 * and snprintf() was a tenth of its CPU. */
static int key_or_empty(char *buf, size_t n, int len)
{
    if (len < 0 && n > 0)
        buf[0] = '\0';
    return len;
}

int key_student(char *buf, size_t n, const char *prefix, const char *id,
                const char *suffix)
{
    int len = suffix ? join(buf, n, prefix, "student:{", id, "}:", suffix,
                            NULL)
                     : join(buf, n, prefix, "student:{", id, "}", NULL);

    return key_or_empty(buf, n, len);
}

int key_staff(char *buf, size_t n, const char *prefix, const char *id)
{
    return key_or_empty(buf, n, join(buf, n, prefix, "staff:", id, NULL));
}

int key_team(char *buf, size_t n, const char *prefix, const char *name)
{
    return key_or_empty(buf, n, join(buf, n, prefix, "team:", name, NULL));
}

int key_global(char *buf, size_t n, const char *prefix, const char *name)
{
    return key_or_empty(buf, n, join(buf, n, prefix, name, NULL));
}

int key_phone(char *buf, size_t n, const char *prefix, const char *e164)
{
    return key_or_empty(buf, n, join(buf, n, prefix, "phone:", e164, NULL));
}
