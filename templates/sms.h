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

/* Measures n bytes of UTF-8 text. */
void tmpl_sms_measure(const char *text, size_t n, struct sms_info *out);
/* "GSM-7" or "UCS-2". */
const char *tmpl_sms_encoding_name(enum sms_encoding e);

#endif
