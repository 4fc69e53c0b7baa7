/*
 * event_record.h - what an event means for the records nudge keeps, apart
 * from the rules it starts: the consumer (daemon/consumer.c) decides when
 * and on which connection; this says what is written. Both calls queue
 * commands into out (core/resp.h: a pipeline the caller sends), add the
 * commands queued to *replies and the timeline entries among them to
 * *entries, and return 0, or -1 when out failed (no memory).
 *
 *   stage        "stage" entry, detail "lead -> consulting"
 *   tag, untag   "tag" entry, detail "added intent:high" / "removed ..."
 *   assigned     "assigned" entry naming the owner (none when a rule's
 *                assignment wrote it already, in its own MULTI)
 *   followup     "followup" entry by the staff member, and the followup
 *                time and last touch in the student's hash
 *   reply        "reply" entry with the student's text
 *   optout       "optout" entry
 *   created      the phone index (slm:phone:E164 -> id) when it has a
 *                phone; no entry: the rules it starts write their own
 *   custom       nothing
 *
 * A reply whose whole text is an opt-out or opt-in word (core/consent.h)
 * also changes the student's optout set, with an `optout` / `optin`
 * entry saying so (event_record_consent()).
 */
#ifndef NUDGE_DAEMON_EVENT_RECORD_H
#define NUDGE_DAEMON_EVENT_RECORD_H

#include "core/config.h"
#include "core/consent.h"
#include "core/event.h"
#include "core/resp.h"

/* An accepted event: its timeline entry, if its kind leaves one. */
int event_record_accepted(struct resp *out, const struct config *cfg,
                          const struct event *ev, int *replies, int *entries);

/* A reply's consent: for an opt-out word, SADD optout (the reply's
 * channel, or all) and an `optout` entry; for an opt-in word, SREM and an
 * `optin` entry; nothing for other events and texts. *verdict gets what
 * the text said. */
int event_record_consent(struct resp *out, const struct config *cfg,
                         const struct consent *c, const struct event *ev,
                         enum consent_verdict *verdict, int *replies,
                         int *entries);

/* An event that cannot be handled (rej says why): its record on the
 * rejected stream, and when the student exists (known), a `rejected`
 * entry on their timeline. */
int event_record_rejected(struct resp *out, const struct config *cfg,
                          const char *stream, const struct event *ev,
                          const struct event_reject *rej, int known,
                          int *replies, int *entries);

#endif
