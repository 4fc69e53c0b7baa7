/*
 * sms.c - GSM 03.38 and UCS-2 segment counting (see sms.h).
 */
#include "templates/sms.h"

#include <stdint.h>

#include "templates/utf8.h"

#define GSM_SINGLE 160
#define GSM_PART 153
#define UCS2_SINGLE 70
#define UCS2_PART 67

/* The non-ASCII characters of the GSM 03.38 basic alphabet. */
static const uint32_t gsm_basic_high[] = {
    0x00a1, 0x00a3, 0x00a4, 0x00a5, 0x00a7, 0x00bf, 0x00c4, 0x00c5,
    0x00c6, 0x00c7, 0x00c9, 0x00d1, 0x00d6, 0x00d8, 0x00dc, 0x00df,
    0x00e0, 0x00e4, 0x00e5, 0x00e6, 0x00e8, 0x00e9, 0x00ec, 0x00f1,
    0x00f2, 0x00f6, 0x00f8, 0x00f9, 0x00fc, 0x0393, 0x0394, 0x0398,
    0x039b, 0x039e, 0x03a0, 0x03a3, 0x03a6, 0x03a8, 0x03a9,
};

/* Septets the character takes in GSM-7 (2 for the escape table), or 0
 * when it is not in the alphabet. */
static int gsm_septets(uint32_t cp)
{
    if (cp < 0x80) {
        switch (cp) {
        case '^': case '{': case '}': case '\\': case '[': case ']':
        case '~': case '|': case '\f':
            return 2;
        case '`':
            return 0;
        default:
            return (cp >= 0x20 && cp < 0x7f) || cp == '\n' || cp == '\r';
        }
    }
    if (cp == 0x20ac) /* euro sign, in the escape table */
        return 2;
    for (size_t i = 0; i < sizeof gsm_basic_high / sizeof gsm_basic_high[0];
         i++)
        if (gsm_basic_high[i] == cp)
            return 1;
    return 0;
}

static size_t next_char(const unsigned char *u, size_t n, uint32_t *cp)
{
    size_t len = tmpl_utf8_decode(u, n, cp);

    if (len == 0) {
        *cp = 0xfffd;
        return 1;
    }
    return len;
}

/* Greedy packing into parts of part units, never splitting a character. */
static int count_parts(const unsigned char *u, size_t n, int gsm, size_t part)
{
    size_t fill = 0, i = 0;
    int parts = 1;
    uint32_t cp;

    while (i < n) {
        i += next_char(u + i, n - i, &cp);
        size_t w = gsm ? (size_t)gsm_septets(cp) : (cp > 0xffff ? 2 : 1);
        if (fill + w > part) {
            parts++;
            fill = 0;
        }
        fill += w;
    }
    return parts;
}

void tmpl_sms_measure(const char *text, size_t n, struct sms_info *out)
{
    const unsigned char *u = (const unsigned char *)text;
    size_t i = 0, septets = 0, utf16 = 0, chars = 0;
    int gsm = 1, s;
    uint32_t cp;

    while (i < n) {
        i += next_char(u + i, n - i, &cp);
        chars++;
        utf16 += cp > 0xffff ? 2 : 1;
        if (gsm && (s = gsm_septets(cp)) > 0)
            septets += (size_t)s;
        else
            gsm = 0;
    }
    out->encoding = gsm ? SMS_GSM7 : SMS_UCS2;
    out->chars = chars;
    out->units = gsm ? septets : utf16;
    if (out->units <= (gsm ? GSM_SINGLE : UCS2_SINGLE))
        out->segments = 1;
    else
        out->segments = count_parts(u, n, gsm, gsm ? GSM_PART : UCS2_PART);
}

const char *tmpl_sms_encoding_name(enum sms_encoding e)
{
    return e == SMS_GSM7 ? "GSM-7" : "UCS-2";
}
