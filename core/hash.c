/*
 * hash.c - FNV-1a, 64 bits (see hash.h).
 */
#include "core/hash.h"

#include <string.h>

uint64_t fnv1a64_more(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ULL;
    return h;
}

uint64_t fnv1a64_str(const char *s)
{
    return fnv1a64_more(FNV1A64_INIT, s, strlen(s));
}
