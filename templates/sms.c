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

/* What count_utf16() finds in a piece of UTF-8. */
struct utf16_count {
    size_t conts; /* continuation bytes */
    size_t four;  /* leads of 4-byte characters */
};

#ifdef __SSE2__
#include <emmintrin.h>

#define STEP 16

/* The sum of the sixteen byte lanes of v. */
static size_t sse_sum(__m128i v)
{
    __m128i s = _mm_sad_epu8(v, _mm_setzero_si128());
    return (size_t)_mm_cvtsi128_si32(s) +
           (size_t)_mm_cvtsi128_si32(_mm_srli_si128(s, 8));
}

/* keep for the last step: its last n lanes (1 to 15) are the new bytes:
 * lane j is kept when n + j >= 16. */
static const unsigned char last_lanes[2 * STEP] = {
    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
    0,    0,    0,    0,    0,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/* The 4-byte leads (0xf0 and up) of base[from..to), one by one: only
 * for the rare text that has one (an emoji). */
static size_t four_leads(const unsigned char *base, size_t from, size_t to)
{
    size_t four = 0;

    for (size_t i = from; i < to; i++)
        four += base[i] >= 0xf0;
    return four;
}

/* One step: as signed bytes, continuations are below -64 (each kept lane
 * of *conts counts down by one for them) and 4-byte leads are -16 to -1
 * (any of them, in a kept lane, sets bits of the returned mask). */
static int sse_step(__m128i v, __m128i keep, __m128i *conts)
{
    __m128i c = _mm_cmplt_epi8(v, _mm_set1_epi8(-64));
    __m128i lead4 = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(-17)),
                                  _mm_cmplt_epi8(v, _mm_setzero_si128()));

    *conts = _mm_add_epi8(*conts, _mm_and_si128(c, keep));
    return _mm_movemask_epi8(_mm_and_si128(lead4, keep));
}

/* The continuations that lanes counted down: negate, add the lanes. */
static size_t sse_conts(__m128i lanes)
{
    return sse_sum(_mm_sub_epi8(_mm_setzero_si128(), lanes));
}

/* The characters and UTF-16 units of base[from..to), valid UTF-8, are
 * counted on bytes: every byte but a continuation (10xxxxxx) starts a
 * character, and a 4-byte one (lead 11110xxx) is two units. Most calls
 * count one value of a few bytes written after the text before it, so
 * the last step reads the whole step that ends at to, base[to-16..to),
 * and ignores the bytes before from: base[0..to) must be readable. */
static struct utf16_count count_utf16(const unsigned char *base, size_t from,
                                      size_t to)
{
    const __m128i all = _mm_set1_epi8(-1);
    __m128i conts = _mm_setzero_si128(), keep;
    struct utf16_count r = {0, 0};
    size_t i = from;
    int k = 0, any4 = 0;

    if (to < STEP) { /* a text shorter than a step */
        for (; i < to; i++)
            r.conts += (base[i] & 0xc0) == 0x80;
        r.four = four_leads(base, from, to);
        return r;
    }
    for (; i + STEP <= to; i += STEP) {
        any4 |= sse_step(
            _mm_loadu_si128((const __m128i *)(const void *)(base + i)), all,
            &conts);
        if (++k == 255) { /* a lane holds 255 at most: add them up */
            r.conts += sse_conts(conts);
            conts = _mm_setzero_si128();
            k = 0;
        }
    }
    if (i < to) {
        keep = _mm_loadu_si128(
            (const __m128i *)(const void *)(last_lanes + (to - i)));
        any4 |= sse_step(
            _mm_loadu_si128((const __m128i *)(const void *)(base + to - STEP)),
            keep, &conts);
    }
    r.conts += sse_conts(conts);
    if (any4)
        r.four = four_leads(base, from, to);
    return r;
}
#else
/* The same a byte at a time. */
static struct utf16_count count_utf16(const unsigned char *base, size_t from,
                                      size_t to)
{
    struct utf16_count r = {0, 0};

    for (size_t i = from; i < to; i++) {
        r.conts += (base[i] & 0xc0) == 0x80;
        r.four += base[i] >= 0xf0;
    }
    return r;
}
#endif

/* Septets of the text when all of it is GSM-7, or 0 after the first
 * character that is not (then *gsm is 0). *escapes counts 2-septet ones.
 * Out of line: most pieces are counted once the text is UCS-2, and their
 * count then saves no registers for this. */
__attribute__((noinline)) static size_t
count_septets(const unsigned char *u, size_t n, int *gsm, int *escapes)
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

void tmpl_sms_count_at(struct sms_count *c, const char *base, size_t from,
                       size_t to)
{
    const unsigned char *u = (const unsigned char *)base;
    struct utf16_count r;
    size_t chars;
    int gsm, escapes;

    if (from == to)
        return;
    r = count_utf16(u, from, to);
    chars = to - from - r.conts;
    c->chars += chars;
    c->utf16 += chars + r.four;
    c->wide |= r.four > 0;
    if (c->non_gsm)
        return; /* UCS-2 already: septets no longer matter */
    c->septets += count_septets(u + from, to - from, &gsm, &escapes);
    c->non_gsm = !gsm;
    c->escapes |= escapes;
}

void tmpl_sms_count(struct sms_count *c, const char *text, size_t n)
{
    tmpl_sms_count_at(c, text, 0, n);
}

void tmpl_sms_finish(const struct sms_count *c, const char *text, size_t n,
                     struct sms_info *out)
{
    int gsm = !c->non_gsm;
    size_t single = gsm ? GSM_SINGLE : UCS2_SINGLE;
    size_t part = gsm ? GSM_PART : UCS2_PART;

    out->encoding = gsm ? SMS_GSM7 : SMS_UCS2;
    out->chars = c->chars;
    out->units = gsm ? c->septets : c->utf16;
    if (out->units <= single)
        out->segments = 1;
    else if (gsm ? c->escapes : c->wide) /* a pair might straddle parts */
        out->segments =
            count_parts((const unsigned char *)text, n, gsm, part);
    else
        out->segments = (int)((out->units + part - 1) / part);
}

void tmpl_sms_measure(const char *text, size_t n, struct sms_info *out)
{
    struct sms_count c = {0};

    tmpl_sms_count(&c, text, n);
    tmpl_sms_finish(&c, text, n, out);
}

const char *tmpl_sms_encoding_name(enum sms_encoding e)
{
    return e == SMS_GSM7 ? "GSM-7" : "UCS-2";
}
