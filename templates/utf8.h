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
size_t tmpl_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* The offset of the first invalid byte of s, or n when all is valid. */
size_t tmpl_utf8_invalid_at(const char *s, size_t n);

/* Writes cp as UTF-8 into out (4 bytes room); returns the length. */
size_t tmpl_utf8_encode(uint32_t cp, char *out);

#endif
