/*
 * mime.c - building an RFC 5322 message from rendered parts (see mime.h).
 */
#include "templates/mime.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/sha.h>

#include "templates/utf8.h"

#define LINE_MAX_CHARS 76   /* body lines, RFC 2045 */
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

static void build_pairs(void)
{
    for (int v = 0; v < 4096; v++) {
        b64_pairs[v][0] = b64[v >> 6];
        b64_pairs[v][1] = b64[v & 63];
    }
}

static size_t b64_chunk(char *o, const unsigned char *in, size_t n)
{
    size_t i, k = 0;

    pthread_once(&pairs_once, build_pairs);
    for (i = 0; i + 2 < n; i += 3) {
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
    /* 57 bytes make one 76-character line. */
    size_t lines = (n + 56) / 57;

    if (tbuf_reserve(b, lines * (LINE_MAX_CHARS + 2)) < 0)
        return;
    for (size_t i = 0; i < n; i += 57) {
        size_t take = n - i < 57 ? n - i : 57;
        b->len += b64_chunk(b->p + b->len, in + i, take);
        b->p[b->len++] = '\r';
        b->p[b->len++] = '\n';
    }
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
        tbuf_add(b, chunk, b64_chunk(chunk, (const unsigned char *)s, take));
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

/* An address with nothing that could end or break a header. */
static void put_addr(struct tbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] > ' ' && s[i] != '<' && s[i] != '>' &&
            s[i] != 0x7f && s[i] != ',')
            tbuf_addc(b, s[i]);
}

/* A display name: an atom, a quoted string or encoded words. */
static void put_display_name(struct tbuf *b, const char *name, size_t n,
                             size_t col)
{
    char tmp[512];

    snprintf(tmp, sizeof tmp, "%.*s", (int)n, name);
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
static void header_mailbox(struct tbuf *b, const char *hname,
                           const char *display, size_t dlen,
                           const char *addr, size_t alen)
{
    tbuf_adds(b, hname);
    tbuf_add(b, ": ", 2);
    while (dlen && display[dlen - 1] == ' ')
        dlen--;
    if (dlen) {
        put_display_name(b, display, dlen, strlen(hname) + 2);
        tbuf_add(b, " <", 2);
        put_addr(b, addr, alen);
        tbuf_addc(b, '>');
    } else {
        put_addr(b, addr, alen);
    }
    tbuf_add(b, "\r\n", 2);
}

static void header_from(struct tbuf *b, const char *from)
{
    const char *lt = strchr(from, '<'), *gt = lt ? strchr(lt, '>') : NULL;

    if (lt && gt)
        header_mailbox(b, "From", from, (size_t)(lt - from), lt + 1,
                       (size_t)(gt - lt - 1));
    else
        header_mailbox(b, "From", "", 0, from, strlen(from));
}

static void header_date(struct tbuf *b, int64_t ms)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    tbuf_printf(b, "Date: %s, %d %s %d %02d:%02d:%02d +0000\r\n",
                days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
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

static int mostly_ascii(const char *s, size_t n)
{
    size_t high = 0, i = 0;
    uint64_t w;

    for (; i + 8 <= n; i += 8) { /* eight bytes at a time */
        memcpy(&w, s + i, 8);
        high += tmpl_count_top_bits(w & 0x8080808080808080ULL);
    }
    for (; i < n; i++)
        high += (unsigned char)s[i] >> 7;
    return high * 5 < n;
}

/* Canonical form: CRLF line breaks (base64 encodes them as they are). */
static void to_crlf(struct tbuf *out, const char *s, size_t n)
{
    out->len = 0;
    for (size_t i = 0; i < n; i++) {
        const char *lf = memchr(s + i, '\n', n - i);
        size_t end = lf ? (size_t)(lf - s) : n;
        size_t run = end > i && s[end - 1] == '\r' && lf ? end - 1 - i
                                                           : end - i;
        tbuf_add(out, s + i, run);
        if (!lf)
            break;
        tbuf_add(out, "\r\n", 2);
        i = end;
    }
}

static void body_part(struct tbuf *b, struct tbuf *scratch,
                      const char *subtype, const char *s)
{
    size_t n = strlen(s);
    int qp = mostly_ascii(s, n);

    tbuf_printf(b,
                "Content-Type: text/%s; charset=UTF-8\r\n"
                "Content-Transfer-Encoding: %s\r\n\r\n",
                subtype, qp ? "quoted-printable" : "base64");
    if (qp) {
        tmpl_mime_qp(b, (const unsigned char *)s, n);
    } else {
        to_crlf(scratch, s, n);
        tmpl_mime_base64(b, (const unsigned char *)scratch->p, scratch->len);
    }
}

void tmpl_mime_build(struct tbuf *b, struct tbuf *scratch,
                const struct mime_email *e)
{
    unsigned char id[16];
    char boundary[48];

    header_date(b, e->now_ms);
    header_from(b, e->from);
    header_mailbox(b, "To", e->to_name ? e->to_name : "",
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
    snprintf(boundary, sizeof boundary, "=_nudge_%02x%02x%02x%02x%02x%02x%02x%02x",
             id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7]);
    tbuf_printf(b,
                "Content-Type: multipart/alternative;\r\n"
                " boundary=\"%s\"\r\n\r\n--%s\r\n",
                boundary, boundary);
    body_part(b, scratch, "plain", e->text);
    tbuf_printf(b, "--%s\r\n", boundary);
    body_part(b, scratch, "html", e->html);
    tbuf_printf(b, "--%s--\r\n", boundary);
}
