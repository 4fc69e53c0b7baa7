/*
 * utf8.h - UTF-8 decoding for the template engine: validating template
 * files, replacing invalid bytes in values, counting characters for
 * columns and SMS segments.
 */
#ifndef NUDGE_TMPL_UTF8_H
#define NUDGE_TMPL_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* Decodes the sequence at s (n bytes available). Returns its length (1 to
 * 4) and sets *cp, or 0 when the bytes are not well-formed UTF-8 (an
 * overlong form, a surrogate, a truncated sequence, above U+10FFFF). */
static inline size_t tmpl_utf8_decode(const unsigned char *s, size_t n,
                                      uint32_t *cp)
{
    uint32_t c = s[0], min;
    size_t len;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        c &= 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        c &= 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

/* The length (1 to 4) of the well-formed sequence at s (n bytes
 * available), or 0: the same answer as tmpl_utf8_decode() without
 * building the code point, for scans that only copy (the byte ranges of
 * the Unicode standard's table of well-formed sequences). */
static inline size_t tmpl_utf8_valid_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0], lo = 0x80, hi = 0xbf;

    if (c < 0x80)
        return 1;
    if (c < 0xc2 || c > 0xf4)
        return 0;
    if (c < 0xe0)
        return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c < 0xf0) {
        lo = c == 0xe0 ? 0xa0 : lo; /* no overlong form */
        hi = c == 0xed ? 0x9f : hi; /* no surrogate */
        return n >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80
                   ? 3
                   : 0;
    }
    lo = c == 0xf0 ? 0x90 : lo; /* no overlong form */
    hi = c == 0xf4 ? 0x8f : hi; /* nothing above U+10FFFF */
    return n >= 4 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
                   (s[3] & 0xc0) == 0x80
               ? 4
               : 0;
}

/* The offset of the first invalid byte of s, or n when all is valid. */
size_t tmpl_utf8_invalid_at(const char *s, size_t n);

/* How many bytes of s are 0x80 or above (not ASCII). */
size_t tmpl_utf8_high_bytes(const char *s, size_t n);

/* Writes cp as UTF-8 into out (4 bytes room); returns the length. */
size_t tmpl_utf8_encode(uint32_t cp, char *out);

#endif
