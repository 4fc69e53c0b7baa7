/*
 * mime.c - building an RFC 5322 message from rendered parts (see mime.h).
 */
#include "templates/mime.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/sha.h>

#include "templates/escape.h"
#include "templates/utf8.h"

#define LINE_MAX_CHARS 76   /* body lines, RFC 2045 */
#define B64_LINE_BYTES 48   /* 64 characters a base64 line */
#define WORD_MAX_BYTES 45   /* UTF-8 bytes per encoded word: 60 in base64 */
#define HEADER_WIDTH 78

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char hexd[] = "0123456789ABCDEF";

/* --- base64 -------------------------------------------------------------- */

/* b64_pairs[v] is the two characters of the 12 bits v: two lookups per
 * three bytes instead of four (the bodies of Chinese emails are base64,
 * and this loop is most of an email's cost). */
static char b64_pairs[4096][2];
static pthread_once_t pairs_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_B64_SSSE3 1 /* base64 with SSSE3 or AVX2 when the CPU has it */
static void detect_ssse3(void);
#endif

static void build_pairs(void)
{
#ifdef HAVE_B64_SSSE3
    detect_ssse3();
#endif
    for (int v = 0; v < 4096; v++) {
        b64_pairs[v][0] = b64[v >> 6];
        b64_pairs[v][1] = b64[v & 63];
    }
}

#ifdef HAVE_B64_SSSE3
#include <immintrin.h>

/* Twelve bytes (of the sixteen of v) to sixteen characters with SSSE3
 * shuffles (Wojciech Muła's and Daniel Lemire's method, "Faster Base64
 * Encoding and Decoding using AVX2 Instructions", 2018, in its 128-bit
 * form). Inlined into the loops below, which keep its constants in
 * registers. */
__attribute__((target("ssse3"), always_inline)) static inline __m128i
b64_step(__m128i v)
{
    const __m128i shuf =
        _mm_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1);
    const __m128i shift_lut = _mm_setr_epi8(
        'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
        '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);

    v = _mm_shuffle_epi8(v, shuf);
    __m128i t0 = _mm_and_si128(v, _mm_set1_epi32(0x0fc0fc00));
    __m128i t1 = _mm_mulhi_epu16(t0, _mm_set1_epi32(0x04000040));
    __m128i t2 = _mm_and_si128(v, _mm_set1_epi32(0x003f03f0));
    __m128i t3 = _mm_mullo_epi16(t2, _mm_set1_epi32(0x01000010));
    __m128i idx = _mm_or_si128(t1, t3);
    __m128i r = _mm_subs_epu8(idx, _mm_set1_epi8(51));
    __m128i less = _mm_cmpgt_epi8(_mm_set1_epi8(26), idx);
    r = _mm_or_si128(r, _mm_and_si128(less, _mm_set1_epi8(13)));
    return _mm_add_epi8(_mm_shuffle_epi8(shift_lut, r), idx);
}

/* Encodes 12 bytes a step into o; each step reads 16 bytes: avail (at
 * least n) is how many may be read. Returns the bytes done. */
__attribute__((target("ssse3"))) static size_t
b64_ssse3(char *o, const unsigned char *in, size_t n, size_t avail)
{
    size_t i = 0;

    for (; i + 12 <= n && i + 16 <= avail; i += 12, o += 16)
        _mm_storeu_si128(
            (__m128i *)(void *)o,
            b64_step(_mm_loadu_si128((const __m128i *)(const void *)(in + i))));
    return i;
}

/* Whole 48-byte lines of in, each followed by CRLF, while 4 bytes past
 * the line may be read; returns the bytes done, and moves *out past what
 * it wrote. */
__attribute__((target("ssse3"))) static size_t
b64_lines_ssse3(char **out, const unsigned char *in, size_t n)
{
    char *o = *out;
    size_t i = 0;

    for (; i + B64_LINE_BYTES + 4 <= n; i += B64_LINE_BYTES) {
        for (size_t k = 0; k < B64_LINE_BYTES; k += 12, o += 16)
            _mm_storeu_si128((__m128i *)(void *)o,
                             b64_step(_mm_loadu_si128(
                                 (const __m128i *)(const void *)(in + i + k))));
        *o++ = '\r';
        *o++ = '\n';
    }
    *out = o;
    return i;
}

/* The same step on two sets of twelve bytes, one in each 128-bit lane. */
__attribute__((target("avx2"), always_inline)) static inline __m256i
b64_step_avx2(__m256i v)
{
    const __m256i shuf = _mm256_setr_epi8(
        1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10, 1, 0, 2, 1, 4, 3,
        5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
    const __m256i shift_lut = _mm256_setr_epi8(
        'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
        '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0,
        'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
        '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);

    v = _mm256_shuffle_epi8(v, shuf);
    __m256i t0 = _mm256_and_si256(v, _mm256_set1_epi32(0x0fc0fc00));
    __m256i t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
    __m256i t2 = _mm256_and_si256(v, _mm256_set1_epi32(0x003f03f0));
    __m256i t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
    __m256i idx = _mm256_or_si256(t1, t3);
    __m256i r = _mm256_subs_epu8(idx, _mm256_set1_epi8(51));
    __m256i less = _mm256_cmpgt_epi8(_mm256_set1_epi8(26), idx);
    r = _mm256_or_si256(r, _mm256_and_si256(less, _mm256_set1_epi8(13)));
    return _mm256_add_epi8(_mm256_shuffle_epi8(shift_lut, r), idx);
}

/* b64_lines_ssse3() with AVX2: a line is two steps of 24 bytes, each
 * step's lanes loaded from 12 bytes apart. */
__attribute__((target("avx2"))) static size_t
b64_lines_avx2(char **out, const unsigned char *in, size_t n)
{
    char *o = *out;
    size_t i = 0;

    for (; i + B64_LINE_BYTES + 4 <= n; i += B64_LINE_BYTES) {
        for (size_t k = 0; k < B64_LINE_BYTES; k += 24, o += 32) {
            const unsigned char *p = in + i + k;
            __m256i v = _mm256_inserti128_si256(
                _mm256_castsi128_si256(
                    _mm_loadu_si128((const __m128i *)(const void *)p)),
                _mm_loadu_si128((const __m128i *)(const void *)(p + 12)), 1);
            _mm256_storeu_si256((__m256i *)(void *)o, b64_step_avx2(v));
        }
        *o++ = '\r';
        *o++ = '\n';
    }
    *out = o;
    return i;
}

static int have_ssse3, have_avx2;

static void detect_ssse3(void)
{
    __builtin_cpu_init();
    have_ssse3 = __builtin_cpu_supports("ssse3");
    have_avx2 = __builtin_cpu_supports("avx2");
}
#endif

/* Encodes n bytes of in (avail >= n of which may be read) into o;
 * returns the characters written. */
static size_t b64_chunk(char *o, const unsigned char *in, size_t n,
                        size_t avail)
{
    size_t i = 0, k = 0;
    uint64_t w, out;

    pthread_once(&pairs_once, build_pairs);
#ifdef HAVE_B64_SSSE3
    if (have_ssse3) {
        i = b64_ssse3(o, in, n, avail);
        k = i / 3 * 4;
    }
#endif
    /* Six bytes a step: one load, four pair lookups, one store. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 8 <= n; i += 6, k += 8) {
        memcpy(&w, in + i, 8);
        w = __builtin_bswap64(w);
        uint16_t p0, p1, p2, p3;
        memcpy(&p0, b64_pairs[(w >> 52) & 0xfff], 2);
        memcpy(&p1, b64_pairs[(w >> 40) & 0xfff], 2);
        memcpy(&p2, b64_pairs[(w >> 28) & 0xfff], 2);
        memcpy(&p3, b64_pairs[(w >> 16) & 0xfff], 2);
        out = (uint64_t)p0 | (uint64_t)p1 << 16 | (uint64_t)p2 << 32 |
              (uint64_t)p3 << 48;
        memcpy(o + k, &out, 8);
    }
#endif
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
                     in[i + 2];
        memcpy(o + k, b64_pairs[v >> 12], 2);
        memcpy(o + k + 2, b64_pairs[v & 0xfff], 2);
        k += 4;
    }
    if (n - i == 1) {
        o[k++] = b64[in[i] >> 2];
        o[k++] = b64[(in[i] & 3) << 4];
        o[k++] = '=';
        o[k++] = '=';
    } else if (n - i == 2) {
        o[k++] = b64[in[i] >> 2];
        o[k++] = b64[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
        o[k++] = b64[(in[i + 1] & 15) << 2];
        o[k++] = '=';
    }
    return k;
}

void tmpl_mime_base64(struct tbuf *b, const unsigned char *in, size_t n)
{
    /* 48 bytes make one 64-character line (as PEM's): four SIMD steps. */
    size_t lines = (n + B64_LINE_BYTES - 1) / B64_LINE_BYTES;
    size_t i = 0;
    char *o;

    if (tbuf_reserve(b, lines * (B64_LINE_BYTES / 3 * 4 + 2)) < 0)
        return;
    pthread_once(&pairs_once, build_pairs);
    o = b->p + b->len;
#ifdef HAVE_B64_SSSE3
    if (have_avx2)
        i = b64_lines_avx2(&o, in, n);
    else if (have_ssse3)
        i = b64_lines_ssse3(&o, in, n);
#endif
    for (; i < n; i += B64_LINE_BYTES) {
        size_t take = n - i < B64_LINE_BYTES ? n - i : B64_LINE_BYTES;
        o += b64_chunk(o, in + i, take, n - i);
        *o++ = '\r';
        *o++ = '\n';
    }
    b->len = (size_t)(o - b->p);
}

/* --- quoted-printable ---------------------------------------------------- */

/* 1 for the bytes written as themselves (space and tab: unless at the end
 * of a line, which the encoder checks). */
static const unsigned char qp_literal[256] = {
    ['\t'] = 1, [' '] = 1, ['!'] = 1, ['"'] = 1, ['#'] = 1, ['$'] = 1,
    ['%'] = 1, ['&'] = 1, ['\''] = 1, ['('] = 1, [')'] = 1, ['*'] = 1,
    ['+'] = 1, [','] = 1, ['-'] = 1, ['.'] = 1, ['/'] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,
    ['7'] = 1, ['8'] = 1, ['9'] = 1, [':'] = 1, [';'] = 1, ['<'] = 1,
    ['>'] = 1, ['?'] = 1, ['@'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1,
    ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,
    ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
    ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['['] = 1,
    ['\\'] = 1, [']'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['a'] = 1,
    ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
    ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,
    ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1,
    ['z'] = 1, ['{'] = 1, ['|'] = 1, ['}'] = 1, ['~'] = 1,
};

static int at_line_end(const unsigned char *in, size_t n, size_t i)
{
    return i + 1 == n || in[i + 1] == '\n' ||
           (in[i + 1] == '\r' && i + 2 < n && in[i + 2] == '\n');
}

void tmpl_mime_qp(struct tbuf *b, const unsigned char *in, size_t n)
{
    size_t col = 0;

    /* At most 3 bytes per input byte plus a soft break per 25 bytes. */
    if (tbuf_reserve(b, n * 3 + (n / 24 + 2) * 3 + 2) < 0)
        return;
    char *o = b->p + b->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = in[i];
        size_t w;
        if (c == '\n' || (c == '\r' && i + 1 < n && in[i + 1] == '\n')) {
            i += c == '\r';
            *o++ = '\r';
            *o++ = '\n';
            col = 0;
            continue;
        }
        w = qp_literal[c] && !((c == ' ' || c == '\t') && at_line_end(in, n, i))
                ? 1
                : 3;
        if (col + w > LINE_MAX_CHARS - 1) {
            *o++ = '=';
            *o++ = '\r';
            *o++ = '\n';
            col = 0;
        }
        if (w == 1) {
            *o++ = (char)c;
        } else {
            *o++ = '=';
            *o++ = hexd[c >> 4];
            *o++ = hexd[c & 15];
        }
        col += w;
    }
    *o++ = '\r';
    *o++ = '\n';
    b->len = (size_t)(o - b->p);
}

/* --- headers ------------------------------------------------------------- */

static int plain_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e ||
            (s[0] == '=' && s[1] == '?'))
            return 0;
    return 1;
}

/* Bytes of s (at most max) that end on a character boundary. */
static size_t utf8_prefix(const char *s, size_t n, size_t max)
{
    size_t i = 0, len;
    uint32_t cp;

    while (i < n) {
        len = tmpl_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (len == 0)
            len = 1;
        if (i + len > max)
            break;
        i += len;
    }
    return i ? i : (n < max ? n : max);
}

/* Encoded words for s, folded; col is the current line's length. Each
 * word holds as many whole characters as fit the line, at most 45 bytes. */
static void encoded_words(struct tbuf *b, const char *s, size_t col)
{
    size_t n = strlen(s);
    int first = 1;
    char chunk[64];

    while (n > 0) {
        size_t at = col + !first; /* after the separating blank */
        size_t avail = at + 12 + 16 <= HEADER_WIDTH
                           ? (HEADER_WIDTH - at - 12) / 4 * 3
                           : 0;
        if (avail < 12) { /* not even a few characters: fold first */
            tbuf_add(b, "\r\n ", 3);
            col = 1;
            avail = WORD_MAX_BYTES;
        } else if (!first) {
            tbuf_addc(b, ' ');
            col++;
        }
        first = 0;
        size_t take = utf8_prefix(s, n, avail < WORD_MAX_BYTES ? avail
                                                              : WORD_MAX_BYTES);
        tbuf_add(b, "=?UTF-8?B?", 10);
        tbuf_add(b, chunk,
                 b64_chunk(chunk, (const unsigned char *)s, take, take));
        tbuf_add(b, "?=", 2);
        col += (take + 2) / 3 * 4 + 12;
        s += take;
        n -= take;
    }
}

/* Plain ASCII, folded at spaces where a line would pass the width. */
static void folded_ascii(struct tbuf *b, const char *s, size_t col)
{
    while (*s) {
        const char *sp = strchr(s + 1, ' ');
        size_t word = sp ? (size_t)(sp - s) : strlen(s);
        if (col + word > HEADER_WIDTH && col > 1 && *s == ' ') {
            tbuf_add(b, "\r\n", 2);
            col = 0;
        }
        tbuf_add(b, s, word);
        col += word;
        s += word;
    }
}

void tmpl_mime_header_text(struct tbuf *b, const char *name, const char *value)
{
    size_t col = strlen(name) + 2;

    tbuf_adds(b, name);
    tbuf_add(b, ": ", 2);
    if (plain_ascii(value))
        folded_ascii(b, value, col);
    else
        encoded_words(b, value, col);
    tbuf_add(b, "\r\n", 2);
}

/* An address with nothing that could end or break a header: blanks,
 * controls, <, >, and commas are left out. */
static int addr_byte_ok(unsigned char c)
{
    return c > ' ' && c != '<' && c != '>' && c != 0x7f && c != ',';
}

#define ONES 0x0101010101010101ULL

/* Bit 7 set in some byte when a byte of w is c (word tests that find
 * any such byte, whatever the bytes around it). */
static uint64_t word_has(uint64_t w, unsigned char c)
{
    uint64_t v = w ^ (ONES * c);

    return (v - ONES) & ~v;
}

/* Are the eight bytes at s all address bytes? */
static int addr_word_ok(const char *s)
{
    uint64_t w;

    memcpy(&w, s, 8);
    return !((((w - 0x21 * ONES) & ~w) | word_has(w, '<') | word_has(w, '>') |
              word_has(w, ',') | word_has(w, 0x7f)) &
             0x8080808080808080ULL);
}

static void put_addr(struct tbuf *b, const char *s, size_t n)
{
    size_t i = 0;

    while (i + 8 <= n && addr_word_ok(s + i)) /* a link: eight a step */
        i += 8;
    while (i < n && addr_byte_ok((unsigned char)s[i]))
        i++;
    tbuf_add(b, s, i); /* the usual case: all of it */
    for (; i < n; i++)
        if (addr_byte_ok((unsigned char)s[i]))
            tbuf_addc(b, s[i]);
}

/* A display name: an atom, a quoted string or encoded words. Student
 * data, so it is escaped as the Subject is (ESC_HEADER): control
 * characters become spaces before any encoding, or a mail program that
 * decodes the encoded words could meet a line break and a new header. */
static void put_display_name(struct tbuf *b, struct tbuf *scratch,
                             const char *name, size_t n, size_t col)
{
    char tmp[512];
    size_t len;

    scratch->len = 0;
    tmpl_esc_append(scratch, ESC_HEADER, name, n);
    /* At most 511 bytes; the escaping left no NUL in them. */
    len = scratch->len < sizeof tmp ? scratch->len : sizeof tmp - 1;
    if (len)
        memcpy(tmp, scratch->p, len);
    tmp[len] = '\0';
    if (!plain_ascii(tmp)) {
        encoded_words(b, tmp, col);
        return;
    }
    tbuf_addc(b, '"');
    for (char *p = tmp; *p; p++) {
        if (*p == '"' || *p == '\\')
            tbuf_addc(b, '\\');
        tbuf_addc(b, *p);
    }
    tbuf_addc(b, '"');
}

/* "Name <addr>" or "addr" into a mailbox header. */
static void header_mailbox(struct tbuf *b, struct tbuf *scratch,
                           const char *hname, const char *display,
                           size_t dlen, const char *addr, size_t alen)
{
    tbuf_adds(b, hname);
    tbuf_add(b, ": ", 2);
    while (dlen && display[dlen - 1] == ' ')
        dlen--;
    if (dlen) {
        put_display_name(b, scratch, display, dlen, strlen(hname) + 2);
        tbuf_add(b, " <", 2);
        put_addr(b, addr, alen);
        tbuf_addc(b, '>');
    } else {
        put_addr(b, addr, alen);
    }
    tbuf_add(b, "\r\n", 2);
}

static void header_from(struct tbuf *b, struct tbuf *scratch,
                        const char *from)
{
    const char *lt = strchr(from, '<'), *gt = lt ? strchr(lt, '>') : NULL;

    if (lt && gt)
        header_mailbox(b, scratch, "From", from, (size_t)(lt - from), lt + 1,
                       (size_t)(gt - lt - 1));
    else
        header_mailbox(b, scratch, "From", "", 0, from, strlen(from));
}

/* n as two digits (or four for years). */
static void put_digits(struct tbuf *b, int n, int width)
{
    char d[4];

    for (int i = width - 1; i >= 0; i--, n /= 10)
        d[i] = (char)('0' + n % 10);
    tbuf_add(b, d, (size_t)width);
}

/* "Date: Mon, 21 Sep 2026 14:13:20 +0000", without printf's cost. */
static void header_date(struct tbuf *b, int64_t ms)
{
    static const char days[] = "SunMonTueWedThuFriSat";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    tbuf_add(b, "Date: ", 6);
    tbuf_add(b, days + 3 * tm.tm_wday, 3);
    tbuf_add(b, ", ", 2);
    put_digits(b, tm.tm_mday, tm.tm_mday < 10 ? 1 : 2);
    tbuf_addc(b, ' ');
    tbuf_add(b, months + 3 * tm.tm_mon, 3);
    tbuf_addc(b, ' ');
    put_digits(b, tm.tm_year + 1900, 4);
    tbuf_addc(b, ' ');
    put_digits(b, tm.tm_hour, 2);
    tbuf_addc(b, ':');
    put_digits(b, tm.tm_min, 2);
    tbuf_addc(b, ':');
    put_digits(b, tm.tm_sec, 2);
    tbuf_add(b, " +0000\r\n", 8);
}

/* 16 bytes identifying the message: from its key, or random. */
static void message_id_bytes(const char *key, unsigned char out[16])
{
    static __thread uint64_t s0, s1;
    unsigned char md[SHA256_DIGEST_LENGTH];

    if (key) {
        SHA256((const unsigned char *)key, strlen(key), md);
        memcpy(out, md, 16);
        return;
    }
    if (s0 == 0 && s1 == 0 &&
        (getrandom(&s0, sizeof s0, 0) < 0 || getrandom(&s1, 8, 0) < 0))
        s0 = (uint64_t)time(NULL) | 1;
    for (int i = 0; i < 2; i++) { /* xorshift128+ */
        uint64_t x = s0, y = s1;
        s0 = y;
        x ^= x << 23;
        s1 = x ^ y ^ (x >> 17) ^ (y >> 26);
        uint64_t r = s1 + y;
        memcpy(out + 8 * i, &r, 8);
    }
}

static const char *domain_of(const char *from)
{
    const char *at = strrchr(from, '@');
    return at ? at + 1 : "localhost";
}

static void header_message_id(struct tbuf *b, const unsigned char id[16],
                              const char *from)
{
    const char *dom = domain_of(from);
    size_t dlen = strcspn(dom, ">");

    tbuf_add(b, "Message-ID: <", 13);
    for (int i = 0; i < 16; i++) {
        tbuf_addc(b, hexd[id[i] >> 4]);
        tbuf_addc(b, hexd[id[i] & 15]);
    }
    tbuf_addc(b, '@');
    put_addr(b, dom, dlen);
    tbuf_add(b, ">\r\n", 3);
}

static void header_unsubscribe(struct tbuf *b, const char *link)
{
    tbuf_add(b, "List-Unsubscribe: <", 19);
    put_addr(b, link, strlen(link));
    tbuf_adds(b, ">\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
}

/* --- bodies -------------------------------------------------------------- */

/* Fewer than a fifth of the bytes are not ASCII. Counted a block at a
 * time, stopping once a fifth is reached: a Chinese body is decided in
 * its first blocks instead of counted to the end. */
static int mostly_ascii(const char *s, size_t n)
{
    size_t high = 0;

    for (size_t i = 0; i < n && high * 5 < n; i += 256)
        high += tmpl_utf8_high_bytes(s + i, n - i < 256 ? n - i : 256);
    return high * 5 < n;
}

/* Canonical form: CRLF line breaks (base64 encodes them as they are). */
static void to_crlf(struct tbuf *out, const char *s, size_t n)
{
    const char *end = s + n;
    char *o;

    out->len = 0;
    if (tbuf_reserve(out, 2 * n) < 0) /* every byte a LF, at worst */
        return;
    o = out->p;
    while (s < end) {
        const char *lf = memchr(s, '\n', (size_t)(end - s));
        size_t run = lf ? (size_t)(lf - s) : (size_t)(end - s);
        memcpy(o, s, run);
        o += run;
        if (!lf)
            break;
        if (run == 0 || lf[-1] != '\r')
            *o++ = '\r';
        *o++ = '\n';
        s = lf + 1;
    }
    out->len = (size_t)(o - out->p);
}

static void body_part(struct tbuf *b, struct tbuf *scratch,
                      const char *subtype, const char *s)
{
    size_t n = strlen(s);
    int qp = mostly_ascii(s, n);

    tbuf_adds(b, "Content-Type: text/");
    tbuf_adds(b, subtype);
    tbuf_adds(b, "; charset=UTF-8\r\nContent-Transfer-Encoding: ");
    tbuf_adds(b, qp ? "quoted-printable\r\n\r\n" : "base64\r\n\r\n");
    if (qp) {
        tmpl_mime_qp(b, (const unsigned char *)s, n);
    } else {
        to_crlf(scratch, s, n);
        tmpl_mime_base64(b, (const unsigned char *)scratch->p, scratch->len);
    }
}

/* "--boundary", or "--boundary--" at the end, on its own line. */
static void put_boundary(struct tbuf *b, const char *boundary, int last)
{
    tbuf_add(b, "--", 2);
    tbuf_adds(b, boundary);
    tbuf_adds(b, last ? "--\r\n" : "\r\n");
}

void tmpl_mime_build(struct tbuf *b, struct tbuf *scratch,
                const struct mime_email *e)
{
    unsigned char id[16];
    char boundary[32];

    header_date(b, e->now_ms);
    header_from(b, scratch, e->from);
    header_mailbox(b, scratch, "To", e->to_name ? e->to_name : "",
                   e->to_name ? strlen(e->to_name) : 0, e->to, strlen(e->to));
    tmpl_mime_header_text(b, "Subject", e->subject);
    message_id_bytes(e->key, id);
    header_message_id(b, id, e->from);
    if (e->unsubscribe)
        header_unsubscribe(b, e->unsubscribe);
    tbuf_add(b, "MIME-Version: 1.0\r\n", 19);
    if (!e->html) {
        body_part(b, scratch, "plain", e->text);
        return;
    }
    /* "=_" can appear in neither base64 nor quoted-printable text. */
    memcpy(boundary, "=_nudge_", 8);
    for (int i = 0; i < 8; i++) {
        boundary[8 + 2 * i] = hexd[id[i] >> 4];
        boundary[9 + 2 * i] = hexd[id[i] & 15];
    }
    boundary[24] = '\0';
    tbuf_adds(b, "Content-Type: multipart/alternative;\r\n boundary=\"");
    tbuf_adds(b, boundary);
    tbuf_adds(b, "\"\r\n\r\n");
    put_boundary(b, boundary, 0);
    body_part(b, scratch, "plain", e->text);
    put_boundary(b, boundary, 0);
    body_part(b, scratch, "html", e->html);
    put_boundary(b, boundary, 1);
}
