/*
 * escape.c - per-destination escaping of values (see escape.h).
 *
 * One loop serves every mode: a constant set per mode marks the ASCII
 * bytes that are copied as they are; runs of those and of well-formed
 * UTF-8 are copied with one memcpy, and the rest (markup, controls,
 * invalid bytes) go through the mode's handler. Before it, a short value
 * (most are: a name, a date, a major) is tested whole with SSE2, and one
 * that needs nothing is copied without the loop.
 */
#include "templates/escape.h"

#include <stdint.h>
#include <string.h>

#include "templates/utf8.h"

/* U+0080..U+009F, the C1 controls (NEL among them): a header holds none. */
static int is_c1(uint32_t cp)
{
    return cp >= 0x80 && cp <= 0x9f;
}

/* The same on the encoded sequence at u: C2 80 to C2 9F. */
static int is_c1_seq(const unsigned char *u)
{
    return u[0] == 0xc2 && u[1] < 0xa0;
}

/* The ASCII bytes each mode copies unchanged, as a 128-bit set (bits 0-63
 * and 64-127): constants, so no table is built at run time and the hot
 * path takes no lock. Printable ASCII, less each mode's specials; TAB
 * and LF stay as they are except in headers and JSON. */
#define LO(c) ((1ULL << ((c) & 63)) * ((c) < 64)) /* shifts under 64 only */
#define HI(c) ((1ULL << ((c) & 63)) * ((c) >= 64))
#define PRINT_LO 0xffffffff00000000ULL /* 0x20 to 0x3f */
#define PRINT_HI 0x7fffffffffffffffULL /* 0x40 to 0x7e */
#define BREAKS (LO('\n') | LO('\t'))
#define HTML_SPECIALS(f) (f('&') | f('<') | f('>') | f('"') | f('\''))
#define MD_SPECIALS(f)                                                      \
    (f('\\') | f('`') | f('*') | f('_') | f('[') | f(']') | f('(') |       \
     f(')') | f('#') | f('<') | f('>') | f('~') | f('|') | f('!'))
#define JSON_SPECIALS(f) (f('"') | f('\\'))

static const uint64_t safe[ESC_COUNT][2] = {
    [ESC_PLAIN] = {PRINT_LO | BREAKS, PRINT_HI},
    [ESC_HEADER] = {PRINT_LO, PRINT_HI},
    [ESC_HTML] = {(PRINT_LO & ~HTML_SPECIALS(LO)) | BREAKS,
                  PRINT_HI & ~HTML_SPECIALS(HI)},
    [ESC_MARKDOWN] = {(PRINT_LO & ~MD_SPECIALS(LO)) | BREAKS,
                      PRINT_HI & ~MD_SPECIALS(HI)},
    [ESC_JSON] = {PRINT_LO & ~JSON_SPECIALS(LO), PRINT_HI & ~JSON_SPECIALS(HI)},
};

/* Is the ASCII byte c copied unchanged by the mode whose set is tab? */
static int is_safe(const uint64_t tab[2], unsigned char c)
{
    return (int)(tab[c >> 6] >> (c & 63) & 1);
}

/* What an ASCII control byte becomes: a string, or NULL to drop it. */
static const char *control(enum tmpl_esc esc, unsigned char c)
{
    if (esc == ESC_HEADER)
        return " ";
    if (c == '\r')
        return esc == ESC_JSON ? "\\n" : "\n";
    if (esc != ESC_JSON)
        return NULL;
    switch (c) {
    case '\n':
        return "\\n";
    case '\t':
        return "\\t";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    default:
        return NULL; /* written as \u00XX by the caller */
    }
}

static void json_control(struct tbuf *b, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

    tbuf_add(b, u, sizeof u);
}

static void special_ascii(struct tbuf *b, enum tmpl_esc esc, unsigned char c)
{
    const char *s;

    if (c < 0x20 || c == 0x7f) {
        if ((s = control(esc, c)))
            tbuf_adds(b, s);
        else if (esc == ESC_JSON)
            json_control(b, c);
        return;
    }
    if (esc == ESC_HTML) {
        switch (c) {
        case '&': tbuf_add(b, "&amp;", 5); return;
        case '<': tbuf_add(b, "&lt;", 4); return;
        case '>': tbuf_add(b, "&gt;", 4); return;
        case '"': tbuf_add(b, "&quot;", 6); return;
        default: tbuf_add(b, "&#39;", 5); return;
        }
    }
    tbuf_addc(b, '\\'); /* markdown and JSON: a backslash before it */
    tbuf_addc(b, (char)c);
}

/* The low bits of the leads E1..EC, EE and EF: 3-byte sequences with any
 * two continuations after them are well-formed (E0 needs A0 and up, ED
 * at most 9F: no overlong form, no surrogate). */
#define COMMON_LEADS 0xdffe

/* Is the sequence at u such a 3-byte one? Four bytes must be readable:
 * one test of a word instead of a byte at a time. */
static int common_three(const unsigned char *u)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t w;

    memcpy(&w, u, 4);
    return (w & 0xc0c0f0) == 0x8080e0 && (COMMON_LEADS >> (w & 0x0f) & 1);
#else
    return (u[0] & 0xf0) == 0xe0 && (COMMON_LEADS >> (u[0] & 0x0f) & 1) &&
           (u[1] & 0xc0) == 0x80 && (u[2] & 0xc0) == 0x80;
#endif
}

/* The end of the run at u that is copied as it is: safe ASCII and
 * well-formed UTF-8 sequences (but C1 controls in headers). Chinese
 * values are runs of 3-byte sequences: those take one test each. */
static const unsigned char *copy_run(const unsigned char *u,
                                     const unsigned char *end,
                                     enum tmpl_esc esc, const uint64_t tab[2])
{
    size_t len;

    while (u < end) {
        if (*u < 0x80) {
            if (!is_safe(tab, *u))
                break;
            u++;
        } else if (end - u >= 4 && common_three(u)) {
            u += 3;
        } else if ((len = tmpl_utf8_valid_len(u, (size_t)(end - u))) &&
                   !(esc == ESC_HEADER && is_c1_seq(u))) {
            u += len;
        } else {
            break;
        }
    }
    return u;
}

#ifdef __SSE2__
#include <emmintrin.h>

/* Values up to this long are tested whole, sixteen bytes a step (a name,
 * a date, a major): bit i of each mask below is byte i of the value. */
#define QUICK_MAX 48

/* The ASCII bytes of each mode that the quick test refuses beside the
 * controls (markdown has too many: its values take the loop). */
static const char *const quick_specials[ESC_COUNT] = {
    [ESC_PLAIN] = "",      [ESC_HEADER] = "",
    [ESC_HTML] = "&<>\"'", [ESC_MARKDOWN] = NULL,
    [ESC_JSON] = "\"\\",
};

/* What a value's bytes are: high (0x80 and up), 3-byte leads (E0..EF),
 * continuations, and bytes that are not copied as they are. */
struct classes {
    uint64_t high, lead, cont, bad;
};

/* Adds the classes of the sixteen bytes of x, the value's bytes from
 * shift on. Controls (below 0x20, TAB and LF too, and 0x7f), the leads
 * E0 and ED (which need a check of their second byte) and the mode's
 * specials are bad. */
__attribute__((always_inline)) static inline void
classify(__m128i x, unsigned shift, const char *specials, struct classes *c)
{
    unsigned high = (unsigned)_mm_movemask_epi8(x);
    __m128i lead = _mm_cmpeq_epi8(_mm_and_si128(x, _mm_set1_epi8(-16)),
                                  _mm_set1_epi8((char)0xe0));
    __m128i cont = _mm_cmpeq_epi8(_mm_and_si128(x, _mm_set1_epi8(-64)),
                                  _mm_set1_epi8((char)0x80));
    __m128i bad = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8((char)0xe0)),
                               _mm_cmpeq_epi8(x, _mm_set1_epi8((char)0xed)));
    unsigned ctrl = (unsigned)_mm_movemask_epi8(
        _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)));

    bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)));
    for (const char *s = specials; *s; s++)
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8(*s)));
    c->high |= (uint64_t)high << shift;
    c->lead |= (uint64_t)_mm_movemask_epi8(lead) << shift;
    c->cont |= (uint64_t)_mm_movemask_epi8(cont) << shift;
    c->bad |= (uint64_t)((unsigned)_mm_movemask_epi8(bad) | (ctrl & ~high))
              << shift;
}

/* Is all of the value at u (8 to QUICK_MAX bytes) copied as it is:
 * printable ASCII but the mode's specials, and 3-byte sequences with a
 * lead E1..EC, EE or EF and their two continuations? Then every high
 * byte is a lead or a continuation, and the continuations are exactly
 * the two bytes after each lead (a lead near the end wants bytes past
 * it, which are no continuations). Reads only the value's bytes: steps
 * that pass its end are taken back to end at it, their bytes in common
 * classed twice, the same. */
static int quick_clean(const unsigned char *u, size_t n, const char *specials)
{
    struct classes c = {0, 0, 0, 0};
    size_t i;

    if (n < 16) { /* two words: bytes 0-7 and n-8 to n-1 */
        __m128i x = _mm_unpacklo_epi64(
            _mm_loadl_epi64((const __m128i *)(const void *)u),
            _mm_loadl_epi64((const __m128i *)(const void *)(u + n - 8)));
        struct classes h = {0, 0, 0, 0};
        classify(x, 0, specials, &h);
        c.high = (h.high & 0xff) | (h.high >> 8) << (n - 8);
        c.lead = (h.lead & 0xff) | (h.lead >> 8) << (n - 8);
        c.cont = (h.cont & 0xff) | (h.cont >> 8) << (n - 8);
        c.bad = h.bad;
    } else {
        for (i = 0; i + 16 <= n; i += 16)
            classify(_mm_loadu_si128((const __m128i *)(const void *)(u + i)),
                     (unsigned)i, specials, &c);
        if (i < n)
            classify(
                _mm_loadu_si128((const __m128i *)(const void *)(u + n - 16)),
                (unsigned)(n - 16), specials, &c);
    }
    return !c.bad && c.high == (c.lead | c.cont) &&
           c.cont == ((c.lead << 1) | (c.lead << 2));
}
#endif

/* The byte loop: runs copied, the rest through the mode's handler. Out
 * of line, so that the values the whole-value test passes cost no
 * registers saved for it. */
__attribute__((noinline)) static void
esc_loop(struct tbuf *b, enum tmpl_esc esc, const char *v, size_t n)
{
    const unsigned char *u = (const unsigned char *)v, *end = u + n;
    const uint64_t *tab = safe[esc];
    uint32_t cp;
    size_t len;

    while (u < end) {
        const unsigned char *run = u;
        u = copy_run(u, end, esc, tab);
        if (u > run)
            tbuf_add(b, run, (size_t)(u - run));
        if (u == end)
            break;
        if (*u < 0x80) {
            /* CR LF is one line break: drop the CR, keep the LF. */
            if (*u == '\r' && u + 1 < end && u[1] == '\n' && esc != ESC_HEADER)
                u++;
            else
                special_ascii(b, esc, *u++);
            continue;
        }
        if (esc == ESC_HEADER &&
            (len = tmpl_utf8_decode(u, (size_t)(end - u), &cp)) &&
            is_c1(cp)) {
            tbuf_addc(b, ' '); /* a C1 control, as C0 ones */
            u += len;
            continue;
        }
        tbuf_add(b, UTF8_REPLACEMENT, 3); /* not well-formed */
        u++;
    }
}

void tmpl_esc_append(struct tbuf *b, enum tmpl_esc esc, const char *v, size_t n)
{
#ifdef __SSE2__
    /* Most values are short and need nothing: test them whole. */
    if (n >= 8 && n <= QUICK_MAX && quick_specials[esc] &&
        quick_clean((const unsigned char *)v, n, quick_specials[esc])) {
        tbuf_add(b, v, n);
        return;
    }
#endif
    esc_loop(b, esc, v, n);
}
