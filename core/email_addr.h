/*
 * email_addr.h - whether a string is an email address nudge will send
 * to: an RFC 5322 addr-spec in its common dot-atom form, local@domain,
 * nothing around it. The recipient is checked where it is chosen
 * (templates/message.c), so no channel and no outbox ever gets a value
 * holding CR, LF or spaces (a header injection) or a second address.
 */
#ifndef NUDGE_EMAIL_ADDR_H
#define NUDGE_EMAIL_ADDR_H

/* 1 when s is local@domain: the local part dot-atom text (letters,
 * digits and !#$%&'*+/=?^_`{|}~- between single dots, at most 64 bytes),
 * the domain two or more labels of letters, digits and hyphens (not at a
 * label's ends, at most 63 bytes each) or an IDN label's UTF-8 bytes,
 * at most 254 bytes in all; else 0. Quoted local parts and address
 * literals ([192.0.2.1]) are refused: no student has one. */
int email_addr_valid(const char *s);

#endif
