/*
 * consent_confirm.h - the one message a student gets after opting out by
 * reply: [consent] confirm_template, on the channel they replied on,
 * although they have just refused it (the confirmation the MIIT rules
 * expect; docs/policy.md). The consumer recorded the opt-out already
 * (daemon/event_record.c); the engine calls this for the same reply event.
 *
 *   reply "TD" --> SET slm:student:{ID}:consent:confirmed:CHANNEL NX
 *                  (consent_confirmed_key(), core/consent.h)
 *                  (taken: confirmed before, nothing more; an opt-in
 *                  deletes it) --> render --> channel_submit --> done():
 *                  a `sent` or `failed` entry with actor "consent"
 *
 * A service message: inside the service quiet hours ([delivery]
 * quiet_hours_service, in the student's zone: rules/policy.h
 * policy_window()) it is queued for their end (job
 * run:STUDENT:consent:EVENT, a `deferred` entry) and sent then, unless
 * the student opted back in meanwhile. The opt-out it confirms never
 * stops it: saying so is its whole point.
 *
 * Sent once: the key above is claimed before the message leaves, so a
 * repeated opt-out, or the event handled again, sends nothing; a failed
 * send is not retried (the opt-out itself stands either way).
 *
 * Threads: consent_confirm_on_event() runs on the consumer's writer
 * thread; done() runs on a channel thread and writes its entry through a
 * connection of its own, under a lock. Ownership: borrows cfg and chans,
 * which must outlive it; free it after channels_stop() (every done() has
 * run by then).
 */
#ifndef NUDGE_RULES_CONSENT_CONFIRM_H
#define NUDGE_RULES_CONSENT_CONFIRM_H

#include <jansson.h>

#include "channels/channel.h"
#include "core/config.h"
#include "core/event.h"
#include "core/redis.h"
#include "core/student.h"
#include "queues/dispatcher.h"

struct tmpl_set;
struct consent_confirm;

/* NULL when [consent] confirm_template is empty (off) or out of memory.
 * Free with consent_confirm_free(). */
struct consent_confirm *consent_confirm_new(const struct config *cfg,
                                            struct channel_set *chans);
void consent_confirm_free(struct consent_confirm *cc);

/* True when ev is a reply whose whole text is an opt-out word (cc may be
 * NULL: false). */
int consent_confirm_wants(const struct consent_confirm *cc,
                          const struct event *ev);
/* Sends the confirmation for ev to st, rendered from tmpls, when it was
 * not sent before. 0, or -1 when Redis failed (handle the event again). */
int consent_confirm_on_event(struct consent_confirm *cc, struct rconn *rc,
                             const struct tmpl_set *tmpls,
                             const struct event *ev, const struct student *st);

/* True when payload o is a deferred confirmation's job. */
int consent_confirm_is_job(const json_t *o);
/* Runs it (cc NULL: confirmations were turned off since; the job is
 * dropped). Reads the student afresh; JOB_OK, JOB_RETRY (Redis) or
 * JOB_DEAD (a bad payload), with why in err. o stays the caller's. */
enum job_result consent_confirm_job(struct consent_confirm *cc,
                                    struct rconn *rc,
                                    const struct tmpl_set *tmpls,
                                    const json_t *o, char *err, size_t n);

#endif
