/*
 * receipt.h - delivery receipts: what the send path notes when a channel
 * with CHAN_CAP_RECEIPTS reports a message sent, and what the receipts
 * endpoint (daemon/receipts.c) looks up when the provider later says it
 * was delivered or not, by the provider's message id.
 *
 *   send path --receipt_note_cmd()-->  slm:receipt:ID  (7 days)
 *                                      "STUDENT\tCHANNEL\tRULE\tSTEP\tTEMPLATE"
 *   provider callback --receipt_lookup()--> struct receipt
 *                     --receipt_record_cmd()--> `delivered` / `undelivered`
 *                                               on the student's timeline,
 *                                               slm:receipt:ID:status
 *
 * The record format is the contract of docs/redis.md ("Delivery
 * receipts"). RULE and TEMPLATE may be empty, STEP is empty when the
 * message was no rule step. slm:receipt:ID:status holds the status last
 * recorded, so a callback the provider repeats is not written twice.
 *
 * Provider ids are checked with receipt_id_valid() before they become
 * part of a key. The *_cmd functions queue commands in rc's pipeline; the
 * caller reads their replies (rconn_reply() or rconn_discard()).
 */
#ifndef NUDGE_RECEIPT_H
#define NUDGE_RECEIPT_H

#include "core/redis.h"

#define RECEIPT_TTL_S 604800 /* a week: providers report within days */
#define RECEIPT_ID_MAX 128

/* One looked-up record. The strings point into text. */
struct receipt {
    char text[1024];
    const char *student;
    const char *channel;
    const char *rule;          /* NULL when none */
    int step;                  /* -1 when none */
    const char *template_name; /* NULL when none */
    char status[16];           /* "delivered"/"undelivered" recorded
                                  before for this id, or "" */
};

/* What the provider says about one message. */
struct receipt_report {
    int delivered;
    const char *code;    /* the provider's status code, or NULL */
    const char *message; /* its words, or NULL */
    const char *to;      /* the number, if it gave one (masked on the
                            timeline), or NULL */
};

/* True when id may name a receipt: 1 to 128 printable ASCII bytes, no
 * space. */
int receipt_id_valid(const char *id);

/* Queues the SET of slm:receipt:ID (one command). Returns 0, or -1 (and
 * queues nothing) for an invalid id, a student id that is not one, a
 * field holding a tab or newline, or a connection error. rule and tmpl
 * may be NULL; step < 0 for none. */
int receipt_note_cmd(struct rconn *rc, const char *prefix,
                     const char *provider_id, const char *student,
                     const char *channel, const char *rule, int step,
                     const char *tmpl);

/* Reads the record of provider_id into out. Returns 1 found, 0 unknown
 * (no record, an invalid id, or a record that does not parse: logged),
 * -1 on a Redis error (rc->errstr). Waits for Redis. */
int receipt_lookup(struct rconn *rc, const char *prefix,
                   const char *provider_id, struct receipt *out);

/* The same in two halves, for a caller that looks many up in one round
 * trip: queue every lookup, then read each one's replies in order.
 * receipt_lookup_cmd() returns 0, or -1 for an invalid id (nothing
 * queued) or a connection error; receipt_lookup_reply() returns as
 * receipt_lookup(). */
int receipt_lookup_cmd(struct rconn *rc, const char *prefix,
                       const char *provider_id);
int receipt_lookup_reply(struct rconn *rc, const char *provider_id,
                         struct receipt *out);

/* Queues RECEIPT_RECORD_CMDS commands: the `delivered` or `undelivered`
 * timeline entry of r (rule, step, channel, template, provider_id, the
 * masked number, detail = the provider's code and message when
 * undelivered, actor "provider:CHANNEL") and the status mark. Returns 0
 * or -1 (nothing queued, or a connection error). */
#define RECEIPT_RECORD_CMDS 2
int receipt_record_cmd(struct rconn *rc, const char *prefix, long maxlen,
                       const char *provider_id, const struct receipt *r,
                       const struct receipt_report *rep);

#endif
