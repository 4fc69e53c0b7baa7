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

#endif
