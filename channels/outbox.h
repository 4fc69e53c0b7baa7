/*
 * outbox.h - the channel that writes each message to a file, one JSON
 * object per line, instead of sending it: the demo's and the tests' channel,
 * and a staging site's. Its `as` key names the message type it writes, so
 * `sms`, `email` and `wecom` can all be outboxes and the rules run as they
 * are. The file holds real addresses, as a provider would: keep it private.
 *
 *   [channel.sms]
 *   type = outbox
 *   as = sms
 *   path = outbox.jsonl
 */
#ifndef NUDGE_OUTBOX_H
#define NUDGE_OUTBOX_H

#include "channels/channel.h"

extern const struct chan_driver chan_outbox;

#endif
