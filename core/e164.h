/*
 * e164.h - phone numbers checked and written the one way the sms driver
 * sends them: E.164, "+" and 8 to 15 digits, the first not 0. A mainland
 * China mobile written without its country code (13812345678, 86...,
 * 0086...) is taken and written +86..., since that is how CRMs in China
 * keep them.
 */
#ifndef NUDGE_E164_H
#define NUDGE_E164_H

#define E164_MAX 17 /* "+", 15 digits, NUL */

/* Writes in's E.164 form into out. Accepts, with spaces and hyphens
 * between the digits ignored:
 *   +CC...           an E.164 number (a +86 one must be a mainland mobile)
 *   00CC...          the same behind the international prefix 00
 *   1[3-9]XXXXXXXXX  a mainland mobile, 11 digits
 *   861[3-9]XXXXXXXXX  the same behind 86 without "+"
 * Returns 0, or -1 when in is none of these (out is then ""). */
int e164_normalise(const char *in, char out[E164_MAX]);

/* 1 when e164 (a normalised number) is a mainland China one (+86). */
int e164_is_mainland(const char *e164);

#endif
