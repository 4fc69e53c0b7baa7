/*
 * consent.h - what a student's reply means for their consent: the
 * configured opt-out and opt-in words ([consent] in the config), compiled
 * once, and the verdict on a reply's text.
 *
 * A word list is comma separated; each word is a PCRE2 pattern matched
 * against the WHOLE reply, case-insensitively (UTF-8, Unicode classes),
 * with spaces and punctuation around it ignored: " td ", "TD。" and
 * "Unsubscribe!" match "TD" and "unsubscribe"; "TD please call me" and
 * "tdd" do not. A pattern that needs a comma writes \x2c.
 *
 * The consumer (daemon/event_record.c) asks for the verdict of every
 * `reply` event; config.c checks the lists at load so a bad pattern is an
 * error naming file:line. Compiled words are read-only: any thread may
 * match with them at once.
 */
#ifndef NUDGE_CONSENT_H
#define NUDGE_CONSENT_H

#include <stddef.h>

struct config;
struct consent_words;

enum consent_verdict {
    CONSENT_NONE,   /* an ordinary reply */
    CONSENT_OPTOUT, /* the whole text is an opt-out word */
    CONSENT_OPTIN,  /* the whole text is an opt-in word */
};

/* --- word lists ----------------------------------------------------------- */
/* Compiles list ("R, TD, 退订"; "" for none). Returns 0 with *out (the
 * caller frees with consent_words_free(); NULL for an empty list), or -1
 * with the bad word and PCRE2's reason in err. */
int consent_words_compile(const char *list, struct consent_words **out,
                          char *err, size_t errlen);
void consent_words_free(struct consent_words *w);
/* Only checks list: 0, or -1 with err as above (for config.c). */
int consent_words_check(const char *list, char *err, size_t errlen);
/* 1 when text (NUL-terminated UTF-8; NULL is "") is one of the words, 0
 * when not (always 0 for a NULL list). */
int consent_words_match(const struct consent_words *w, const char *text);

/* --- the verdict ---------------------------------------------------------- */
struct consent {
    struct consent_words *optout, *optin;
    int scope_all;              /* [consent] optout_scope = all */
    const char *confirm_template; /* borrowed from the config; NULL: none */
};

/* Compiles cfg's [consent] lists into c. 0, or -1 with why in err. Free
 * with consent_clear(). */
int consent_init(struct consent *c, const struct config *cfg, char *err,
                 size_t errlen);
void consent_clear(struct consent *c);
/* What the reply text says; opt-out wins when a text is in both lists. */
enum consent_verdict consent_verdict(const struct consent *c,
                                     const char *text);
/* The optout set member a verdict on a reply of channel touches: the
 * channel, or "all" with optout_scope = all. */
const char *consent_member(const struct consent *c, const char *channel);

/* The key that marks a channel's opt-out confirmation as sent
 * (rules/consent_confirm.h): an opt-in deletes it, so the next opt-out is
 * confirmed again. member is a channel type or "all". */
int consent_confirmed_key(char *buf, size_t n, const char *prefix,
                          const char *student, const char *member);

#endif
