/*
 * sms.c - GSM 03.38 and UCS-2 segment counting (see sms.h).
 */
#include "templates/sms.h"

#include <stdint.h>
#include <string.h>

#include "templates/utf8.h"

#define GSM_SINGLE 160
#define GSM_PART 153
#define UCS2_SINGLE 70
#define UCS2_PART 67

/* The non-ASCII characters of the GSM 03.38 basic alphabet, in order. */
static const uint32_t gsm_basic_high[] = {
    0x00a1, 0x00a3, 0x00a4, 0x00a5, 0x00a7, 0x00bf, 0x00c4, 0x00c5,
    0x00c6, 0x00c7, 0x00c9, 0x00d1, 0x00d6, 0x00d8, 0x00dc, 0x00df,
    0x00e0, 0x00e4, 0x00e5, 0x00e6, 0x00e8, 0x00e9, 0x00ec, 0x00f1,
    0x00f2, 0x00f6, 0x00f8, 0x00f9, 0x00fc, 0x0393, 0x0394, 0x0398,
    0x039b, 0x039e, 0x03a0, 0x03a3, 0x03a6, 0x03a8, 0x03a9,
};
#define GSM_HIGH_N (sizeof gsm_basic_high / sizeof gsm_basic_high[0])

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
    /* Above the table's last (highest) entry, as every CJK character is. */
    if (cp > gsm_basic_high[GSM_HIGH_N - 1])
        return 0;
    for (size_t i = 0; i < GSM_HIGH_N; i++)
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

#ifdef __SSE2__
#include <emmintrin.h>

/* The sum of the sixteen byte lanes of v. */
static size_t sse_sum(__m128i v)
{
    __m128i s = _mm_sad_epu8(v, _mm_setzero_si128());
    return (size_t)_mm_cvtsi128_si32(s) +
           (size_t)_mm_cvtsi128_si32(_mm_srli_si128(s, 8));
}
#endif

/* The sum of the eight byte lanes of v. */
static size_t lanes_sum(uint64_t v)
{
    v = (v & 0x00ff00ff00ff00ffULL) + ((v >> 8) & 0x00ff00ff00ff00ffULL);
    return (size_t)((v * 0x0001000100010001ULL) >> 48);
}

#ifdef __SSE2__
/* The leads of 4-byte characters (0xf0 and up) in the first n bytes, n a
 * multiple of 16: as signed bytes they are -16 to -1. Each byte lane
 * counts up to 255 steps before it is added up. */
static size_t sse_four_leads(const unsigned char *u, size_t n)
{
    const __m128i above = _mm_set1_epi8(-17), zero = _mm_setzero_si128();
    size_t four = 0, i = 0;

    while (i < n) {
        __m128i lacc = zero;
        for (int k = 0; k < 255 && i < n; k++, i += 16) {
            __m128i v =
                _mm_loadu_si128((const __m128i *)(const void *)(u + i));
            lacc = _mm_sub_epi8(lacc, _mm_and_si128(_mm_cmpgt_epi8(v, above),
                                                    _mm_cmplt_epi8(v, zero)));
        }
        four += sse_sum(lacc);
    }
    return four;
}

/* The continuation bytes (10xxxxxx) of the first n bytes, n a multiple of
 * 16, and in *top the highest byte seen: as signed bytes continuations
 * are below -64. */
static size_t sse_continuations(const unsigned char *u, size_t n,
                                unsigned char *top)
{
    const __m128i below = _mm_set1_epi8(-64), zero = _mm_setzero_si128();
    __m128i hi = zero;
    size_t c = 0, i = 0;

    while (i < n) {
        __m128i cacc = zero;
        for (int k = 0; k < 255 && i < n; k++, i += 16) {
            __m128i v =
                _mm_loadu_si128((const __m128i *)(const void *)(u + i));
            cacc = _mm_sub_epi8(cacc, _mm_cmplt_epi8(v, below)); /* -1 */
            hi = _mm_max_epu8(hi, v);
        }
        c += sse_sum(cacc);
    }
    /* The highest of the sixteen lanes. */
    hi = _mm_max_epu8(hi, _mm_srli_si128(hi, 8));
    hi = _mm_max_epu8(hi, _mm_srli_si128(hi, 4));
    hi = _mm_max_epu8(hi, _mm_srli_si128(hi, 2));
    hi = _mm_max_epu8(hi, _mm_srli_si128(hi, 1));
    *top = (unsigned char)_mm_cvtsi128_si32(hi);
    return c;
}
#endif

/* Characters and UTF-16 units of valid UTF-8, counted on bytes: every
 * byte but a continuation starts a character, a 4-byte one is two
 * units. *wide tells whether there is any 4-byte character. */
static void count_utf16(const unsigned char *u, size_t n, size_t *chars,
                        size_t *units, int *wide)
{
    const uint64_t top = 0x8080808080808080ULL;
    size_t c = 0, four = 0, i = 0;
    uint64_t w, conts, leads;

#ifdef __SSE2__
    /* Sixteen bytes at a time (SSE2 is part of x86-64). 4-byte characters
     * (emoji) are rare: their leads are counted in a second pass only
     * when some byte is 0xf0 or above. */
    unsigned char high = 0;
    i = n & ~(size_t)15;
    c = sse_continuations(u, i, &high);
    if (high >= 0xf0)
        four = sse_four_leads(u, i);
#endif
    /* Eight bytes at a time: in each byte, bit 7 and the bits below it
     * shifted up into bit 7 tell continuation bytes (10xxxxxx) and the
     * leads of 4-byte characters (11110xxx). Each byte lane of conts and
     * leads counts up to 255 words before it is added up. */
    while (i + 8 <= n) {
        conts = leads = 0;
        for (int k = 0; k < 255 && i + 8 <= n; k++, i += 8) {
            memcpy(&w, u + i, 8);
            conts += (w & top & ~(w << 1)) >> 7;
            leads += (w & (w << 1) & (w << 2) & (w << 3) & top) >> 7;
        }
        c += lanes_sum(conts);
        four += lanes_sum(leads);
    }
    c = i - c; /* bytes that are not continuations */
    for (; i < n; i++) {
        c += (u[i] & 0xc0) != 0x80;
        four += u[i] >= 0xf0;
    }
    *chars = c;
    *units = c + four;
    *wide = four > 0;
}

/* Septets of the text when all of it is GSM-7, or 0 after the first
 * character that is not (then *gsm is 0). *escapes counts 2-septet ones. */
static size_t count_septets(const unsigned char *u, size_t n, int *gsm,
                            int *escapes)
{
    size_t i = 0, septets = 0;
    uint32_t cp;
    int s;

    *gsm = 1;
    *escapes = 0;
    while (i < n) {
        i += next_char(u + i, n - i, &cp);
        if ((s = gsm_septets(cp)) == 0) {
            *gsm = 0;
            return 0;
        }
        septets += (size_t)s;
        *escapes |= s == 2;
    }
    return septets;
}

void tmpl_sms_measure(const char *text, size_t n, struct sms_info *out)
{
    const unsigned char *u = (const unsigned char *)text;
    size_t chars, utf16, septets, single, part;
    int gsm, escapes, wide;

    count_utf16(u, n, &chars, &utf16, &wide);
    septets = count_septets(u, n, &gsm, &escapes);
    out->encoding = gsm ? SMS_GSM7 : SMS_UCS2;
    out->chars = chars;
    out->units = gsm ? septets : utf16;
    single = gsm ? GSM_SINGLE : UCS2_SINGLE;
    part = gsm ? GSM_PART : UCS2_PART;
    if (out->units <= single)
        out->segments = 1;
    else if (gsm ? escapes : wide) /* a pair might straddle two parts */
        out->segments = count_parts(u, n, gsm, part);
    else
        out->segments = (int)((out->units + part - 1) / part);
}

const char *tmpl_sms_encoding_name(enum sms_encoding e)
{
    return e == SMS_GSM7 ? "GSM-7" : "UCS-2";
}
