/*
 * utf8.c - strict UTF-8 decoding (RFC 3629; see utf8.h).
 */
#include "templates/utf8.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

size_t tmpl_utf8_invalid_at(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, len;
    uint32_t cp;

    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        if (!(len = tmpl_utf8_decode(u + i, n - i, &cp)))
            return i;
        i += len;
    }
    return n;
}

size_t tmpl_utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

size_t tmpl_utf8_high_bytes(const char *s, size_t n)
{
    size_t high = 0, i = 0;

#ifdef __SSE2__
    /* Sixteen bytes a step: a high byte is negative as a signed byte.
     * Each byte lane counts up to 255 steps before they are added up. */
    const __m128i zero = _mm_setzero_si128();
    while (i + 16 <= n) {
        __m128i acc = zero, sum;
        for (int k = 0; k < 255 && i + 16 <= n; k++, i += 16) {
            __m128i v =
                _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            acc = _mm_sub_epi8(acc, _mm_cmplt_epi8(v, zero));
        }
        sum = _mm_sad_epu8(acc, zero);
        high += (size_t)_mm_cvtsi128_si32(sum) +
                (size_t)_mm_cvtsi128_si32(_mm_srli_si128(sum, 8));
    }
#endif
    for (; i < n; i++)
        high += (unsigned char)s[i] >> 7;
    return high;
}
