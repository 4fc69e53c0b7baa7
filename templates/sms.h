/*
 * sms.h - how an SMS travels: its encoding (GSM-7 when every character is
 * in the GSM 03.38 alphabet, UCS-2 otherwise) and the number of segments
 * it is billed and sent as (GSM-7: 160 alone, 153 per part of a long
 * message; UCS-2: 70 alone, 67 per part). A part never splits a GSM
 * escape pair or a UTF-16 surrogate pair, as phones do.
 */
#ifndef NUDGE_TMPL_SMS_H
#define NUDGE_TMPL_SMS_H

#include <stddef.h>

enum sms_encoding { SMS_GSM7, SMS_UCS2 };

struct sms_info {
    enum sms_encoding encoding;
    size_t chars; /* characters (code points) */
    size_t units; /* septets (GSM-7) or UTF-16 code units (UCS-2) */
    int segments; /* 1 for an empty text */
};

/* Measures n bytes of UTF-8 text: tmpl_sms_count() of all of it, then
 * tmpl_sms_finish(). */
void tmpl_sms_measure(const char *text, size_t n, struct sms_info *out);

/* --- measuring as the text is written ------------------------------------ */
/* The counts of a text, which add up over its pieces when each piece but
 * the last is well-formed UTF-8 (template text is checked when loaded,
 * values are escaped): an SMS body is counted from its template's text
 * runs, counted once when compiled (render.h), and the values written
 * into it, instead of scanning the finished text again. Zero it first. */
struct sms_count {
    size_t chars;   /* characters (code points) */
    size_t utf16;   /* UTF-16 code units */
    size_t septets; /* GSM-7 septets; counted while every piece is GSM */
    int non_gsm;    /* some character is not in the GSM alphabet */
    int escapes;    /* some GSM character takes 2 septets (while GSM) */
    int wide;       /* some character takes 2 UTF-16 units */
};

/* Adds the counts of n bytes of text to c. */
void tmpl_sms_count(struct sms_count *c, const char *text, size_t n);
/* Adds the counts of base[from..to), a piece just written after others:
 * it may read all of base[0..to) (a whole SIMD step ending at to). */
void tmpl_sms_count_at(struct sms_count *c, const char *base, size_t from,
                       size_t to);
/* Adds the counts of another piece, counted on its own. */
static inline void tmpl_sms_count_add(struct sms_count *c,
                                      const struct sms_count *piece)
{
    c->chars += piece->chars;
    c->utf16 += piece->utf16;
    c->septets += piece->septets;
    c->non_gsm |= piece->non_gsm;
    c->escapes |= piece->escapes;
    c->wide |= piece->wide;
}
/* The measure of the text of n bytes that c counted. The text is read
 * only in the rare case where a long message has 2-unit characters, one
 * of which could straddle two parts. */
void tmpl_sms_finish(const struct sms_count *c, const char *text, size_t n,
                     struct sms_info *out);
/* "GSM-7" or "UCS-2". */
const char *tmpl_sms_encoding_name(enum sms_encoding e);

#endif
