/*
 * claims.h - what a `send` takes in Redis just before its message goes:
 * the template's claim ([delivery] dedup_window, rules/dedup.h) and one
 * count of each frequency cap (rules/caps.h). Both are shared by every
 * daemon; both are given back when the message does not go.
 *
 * A queued job takes them with its first read (run_pre_cmd(), pipelined
 * with the student's data and the send record), so that the policy
 * costs no round trip of its own; claims_take() then uses what was taken
 * when it still fits (same step, same day, same zone), else takes afresh.
 */
#ifndef NUDGE_RULES_CLAIMS_H
#define NUDGE_RULES_CLAIMS_H

#include "rules/policy.h"
#include "rules/run.h"

enum claims_result {
    CLAIMS_TAKEN,    /* the message may go: r->send holds the claims */
    CLAIMS_SKIPPED,  /* not this message: its entry is on the timeline */
    CLAIMS_DEFERRED, /* over a cap with over_cap = defer: d says until */
    CLAIMS_ERROR,    /* Redis failed */
};

/* Takes the claims of send step s (index i) on r->send.ch for student
 * r->st, in r->send (dedup_key, deduped, caps). */
enum claims_result claims_take(struct run *r, size_t i, const struct step *s,
                               struct policy_decision *d);
/* Gives back the caps r->send took (the message did not go out). */
void claims_give_caps_back(struct run *r);
/* Gives back the template's claim r->send holds. */
void claims_give_dedup_back(struct run *r);

/* Queues what a job for step i of rule takes with its first read (see
 * struct run_pre), filling p; nothing for a step that reaches nobody.
 * 0 or -1. */
int run_pre_cmd(struct rconn *rc, const struct config *cfg,
                struct channel_set *chans, const struct tmpl_set *tmpls,
                const struct crule *rule, const char *student,
                const char *run, size_t i, struct run_pre *p);
/* Reads the replies of what run_pre_cmd() queued. 0 or -1. */
int run_pre_reply(struct rconn *rc, struct run_pre *p);
/* Gives back what p still holds (the step did not use it). */
void run_pre_release(struct rconn *rc, const struct config *cfg,
                     const char *student, const char *run, struct run_pre *p);

/* The class of message step s on the channel r->send.ch. */
enum msg_class claims_send_class(const struct run *r, const struct step *s);

#endif
