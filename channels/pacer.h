/*
 * pacer.h - the delivery queue in front of one channel's driver (see
 * channel.h): it holds submitted messages, hands them to the driver while
 * fewer than max_in_flight are out and the channel's rate allows, counts
 * each outcome in the channel's metrics, and passes it back to whoever
 * submitted the message. One thread per channel.
 *
 * Ownership: the pacer copies every message it takes, and frees the copy
 * after the message's done() returned. registry.c is its only user.
 */
#ifndef NUDGE_CHANNELS_PACER_H
#define NUDGE_CHANNELS_PACER_H

#include <stddef.h>

#include "channels/channel.h"

/* Starts the queue of ch (its driver open in ch->self). rate_per_s <= 0:
 * no rate limit. NULL on no memory or no thread. */
struct pacer *pacer_new(struct channel *ch, int max_in_flight,
                        double rate_per_s);
/* Copies msg in; done(arg, res) is called once. 0, or -1 when closing. */
int pacer_submit(struct pacer *p, const struct chan_msg *msg,
                 chan_done_fn done, void *arg);
void pacer_load(const struct pacer *p, int *in_flight, int *waiting);
/* Stops handing messages to the driver: those still waiting end as
 * CHAN_TRANSIENT ("channel closing"), never sent. The driver's in-flight
 * messages still report to the pacer, so close the driver before
 * pacer_free(). */
void pacer_stop(struct pacer *p);
void pacer_free(struct pacer *p);

/* Parses a rate: "50/s", "3000/m", "100000/h". 0 and *per_s, or -1. */
int pacer_rate_parse(const char *s, double *per_s);

#endif
