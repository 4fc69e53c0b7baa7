/*
 * mask.c - masking of phone numbers and emails (see mask.h).
 *
 * A phone keeps its head and its last four digits and hides the four before
 * them, which is what Chinese operators print on bills; an email keeps its
 * first letter and its domain, enough for a person to tell two apart.
 */
#include "core/mask.h"

#include <ctype.h>
#include <string.h>

struct out {
    char *p;
    size_t left; /* room, excluding the final NUL */
};

static void out_putc(struct out *o, char c)
{
    if (o->left > 0) {
        *o->p++ = c;
        o->left--;
    }
}

static void out_puts(struct out *o, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        out_putc(o, s[i]);
}

static int is_email_char(int c)
{
    return isalnum(c) || c == '.' || c == '_' || c == '%' || c == '+' ||
           c == '-';
}

static int is_domain_char(int c)
{
    return isalnum(c) || c == '.' || c == '-';
}

/* Writes the digits of s[0..len) hiding the four before the last four (all
 * but the last two when there are fewer than eight digits, all but the
 * last four when there are more than E.164's fifteen). */
static void mask_phone_into(struct out *o, const char *s, size_t len)
{
    size_t digits = 0, seen = 0, from, to;

    for (size_t i = 0; i < len; i++)
        digits += isdigit((unsigned char)s[i]) != 0;
    if (digits > 15) { /* no phone: hide all but the last four */
        from = 0;
        to = digits - 4;
    } else if (digits >= 8) {
        from = digits - 8;
        to = digits - 4;
    } else {
        from = 0;
        to = digits > 2 ? digits - 2 : 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i])) {
            out_putc(o, s[i]);
            continue;
        }
        out_putc(o, seen >= from && seen < to ? '*' : s[i]);
        seen++;
    }
}

static void mask_email_into(struct out *o, const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);

    if (at > s)
        out_putc(o, s[0]);
    out_puts(o, "***", 3);
    out_puts(o, at, len - (size_t)(at - s));
}

static int looks_like_phone(const char *s)
{
    size_t digits = 0;

    for (const char *p = s; *p; p++) {
        if (isdigit((unsigned char)*p))
            digits++;
        else if (!(*p == '+' && p == s) && *p != ' ' && *p != '-')
            return 0;
    }
    return digits >= 5;
}

char *mask_contact(const char *in, char *out, size_t n)
{
    struct out o = {out, n ? n - 1 : 0};
    size_t len = strlen(in);

    if (n == 0)
        return out;
    if (strchr(in, '@'))
        mask_email_into(&o, in, len);
    else if (looks_like_phone(in))
        mask_phone_into(&o, in, len);
    else if (len > 0) {
        /* Some other identifier (a WeCom user id): keep a short head. */
        out_puts(&o, in, len > 2 ? 2 : 1);
        out_puts(&o, "***", 3);
    }
    *o.p = '\0';
    return out;
}

/* Length of an email address starting at s, or 0 if none starts there. */
static size_t email_span(const char *s)
{
    size_t local = 0, domain = 0, dot = 0;

    while (is_email_char((unsigned char)s[local]))
        local++;
    if (local == 0 || s[local] != '@')
        return 0;
    while (is_domain_char((unsigned char)s[local + 1 + domain])) {
        if (s[local + 1 + domain] == '.')
            dot = domain;
        domain++;
    }
    while (domain > 0 && s[local + domain] == '.') /* trailing dots */
        domain--;
    if (dot == 0 || dot + 1 >= domain)
        return 0;
    return local + 1 + domain;
}

/* Length of a run of seven or more digits (optionally after '+'). */
static size_t phone_span(const char *s)
{
    size_t i = s[0] == '+' ? 1 : 0, digits = 0;

    while (isdigit((unsigned char)s[i])) {
        i++;
        digits++;
    }
    return digits >= 7 ? i : 0;
}

char *mask_text(const char *in, char *out, size_t n)
{
    struct out o = {out, n ? n - 1 : 0};
    const char *p = in;

    if (n == 0)
        return out;
    while (*p) {
        int at_word_start = p == in || !is_email_char((unsigned char)p[-1]);
        size_t len;

        if (at_word_start && (len = email_span(p)) > 0) {
            mask_email_into(&o, p, len);
            p += len;
        } else if ((p == in || !isdigit((unsigned char)p[-1])) &&
                   (len = phone_span(p)) > 0) {
            mask_phone_into(&o, p, len);
            p += len;
        } else {
            out_putc(&o, *p++);
        }
    }
    *o.p = '\0';
    return out;
}

/* --- log lines ---------------------------------------------------------------- */

/* ASCII only: Chinese text runs straight into a number ("电话13912345678")
 * and must not hide it. */
static int is_word_char(int c)
{
    return c < 0x80 && (isalnum(c) || c == '_');
}

/* Length of a phone number starting at s as a log line may hold one, or
 * 0: "+" and 7 to 15 digits (E.164), or a whole word of 11 digits (a
 * mainland mobile, or a landline with its area code) or of 13 beginning
 * with 86. Other digit runs stay: a log needs its stream ids, times and
 * pids. */
static size_t log_phone_span(const char *s)
{
    size_t i = s[0] == '+' ? 1 : 0, digits = 0;

    while (isdigit((unsigned char)s[i])) {
        i++;
        digits++;
    }
    if (is_word_char((unsigned char)s[i]))
        return 0;
    if (s[0] == '+')
        return digits >= 7 && digits <= 15 ? i : 0;
    return digits == 11 || (digits == 13 && s[0] == '8' && s[1] == '6') ? i
                                                                          : 0;
}

/* A control character as \n, \r, \t or \xHH: a log line is one line,
 * and data never moves a terminal's cursor. */
static void escape_into(struct out *o, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";

    out_putc(o, '\\');
    switch (c) {
    case '\n':
        out_putc(o, 'n');
        return;
    case '\r':
        out_putc(o, 'r');
        return;
    case '\t':
        out_putc(o, 't');
        return;
    }
    out_putc(o, 'x');
    out_putc(o, hex[c >> 4]);
    out_putc(o, hex[c & 15]);
}

char *escape_controls(const char *in, char *out, size_t n)
{
    struct out o = {out, n ? n - 1 : 0};

    if (n == 0)
        return out;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            escape_into(&o, *p);
        else
            out_putc(&o, (char)*p);
    *o.p = '\0';
    return out;
}

char *mask_log_line(const char *in, char *out, size_t n)
{
    struct out o = {out, n ? n - 1 : 0};
    const char *p = in;

    if (n == 0)
        return out;
    while (*p) {
        int word_start = p == in || !is_word_char((unsigned char)p[-1]);
        unsigned char c = (unsigned char)*p;
        size_t len;

        if ((p == in || !is_email_char((unsigned char)p[-1])) &&
            (len = email_span(p)) > 0) {
            mask_email_into(&o, p, len);
            p += len;
        } else if ((word_start || c == '+') && (len = log_phone_span(p)) > 0) {
            mask_phone_into(&o, p, len);
            p += len;
        } else if (c < 0x20 || c == 0x7f) {
            escape_into(&o, c);
            p++;
        } else {
            out_putc(&o, *p++);
        }
    }
    *o.p = '\0';
    return out;
}
