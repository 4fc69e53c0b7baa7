/*
 * mask.h - hides phone numbers and email addresses before they reach a log
 * line, a timeline entry or a terminal: 13812345678 -> 138****5678,
 * zhang.wei@example.edu -> z***@example.edu.
 */
#ifndef NUDGE_MASK_H
#define NUDGE_MASK_H

#include <stddef.h>

/* Masks one contact value (a phone number, an email address, or another
 * identifier, of which only a short head is kept). Writes at most n bytes
 * including the NUL into out and returns out. */
char *mask_contact(const char *in, char *out, size_t n);

/* Masks every phone number and email address found inside free text (an
 * SMS reply, a note). Writes at most n bytes including the NUL. */
char *mask_text(const char *in, char *out, size_t n);

/* in with its control characters written \n, \r, \t or \xHH, nothing
 * else changed: data from the CRM printed to a terminal. Writes at most
 * n bytes including the NUL; returns out. */
char *escape_controls(const char *in, char *out, size_t n);

/* What every log line goes through (core/log.c): emails and phone
 * numbers masked, but only runs that are plausibly phones ("+" and 7-15
 * digits, a whole word of 11 digits, or of 13 beginning with 86), so that
 * stream ids, times and pids stay readable; control characters written
 * as \n, \r, \t or \xHH, so that data can neither forge a line nor
 * reach a terminal. Writes at most n bytes including the NUL. */
char *mask_log_line(const char *in, char *out, size_t n);

#endif
