/*
 * consumer_name.h - notices two live daemons reading the events stream
 * under one consumer name (docs/operations.md, "Several daemons").
 *
 * Two daemons with one [daemon] consumer name take each other's pending
 * entries for their own (each rereads "its" pending events at every
 * reconnect), so an event may be handled twice at once. The consumer
 * group cannot tell them apart, and XINFO CONSUMERS's idle time cannot
 * tell a second daemon from the same one just restarted. So each
 * consumer holds a lease: the key prefix + "consumer:" GROUP ":" NAME,
 * whose value is "PID@HOST", set with an expiry (3 x [daemon] block + 2
 * x [redis] timeout, 10 s at least) and renewed by the consumer loop
 * every third of it, deleted at a clean stop. A daemon that finds the key
 * held by another live daemon logs a warning naming both and the fix,
 * and reads on (the issue asks for a warning; refusing would stop a
 * daemon whose twin merely crashed on another host a few seconds ago). A
 * holder on this host whose process is gone (crashed) is taken over
 * without a word.
 */
#ifndef NUDGE_DAEMON_CONSUMER_NAME_H
#define NUDGE_DAEMON_CONSUMER_NAME_H

#include "core/config.h"
#include "core/redis.h"

struct name_lease;

/* The lease of consumer name in cfg's group (both borrowed, must outlive
 * it), or NULL on no memory. Free with name_lease_free(). */
struct name_lease *name_lease_new(const struct config *cfg, const char *name);
void name_lease_free(struct name_lease *nl);

/* Takes or renews the lease on rc, warning (once per holder) when
 * another live daemon holds it. Returns 0, or -1 when Redis failed. */
int name_lease_renew(struct name_lease *nl, struct rconn *rc);
/* Renews when a third of the expiry has passed since the last renewal.
 * 0, or -1 when Redis failed. */
int name_lease_tick(struct name_lease *nl, struct rconn *rc);
/* Deletes the key if it is still ours (a clean stop): a restart right
 * after finds it free. Best effort. */
void name_lease_release(struct name_lease *nl, struct rconn *rc);

#endif
