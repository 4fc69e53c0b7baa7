/*
 * webhook.h - the channel that POSTs each message as a JSON object to a
 * URL of the site's own (a CRM, a chat bot, a queue), signed so that the
 * receiver can tell it came from nudge and was not replayed:
 *
 *   X-Nudge-Timestamp: <unix seconds>
 *   X-Nudge-Signature: sha256=<hex HMAC-SHA256(secret, timestamp "." body)>
 *   Idempotency-Key:   <the message's key: the same key, the same message>
 *
 *   [channel.hook]
 *   type = webhook
 *   url = https://crm.example.edu/nudge
 *   secret = env:HOOK_SECRET
 *
 * Requests go through the shared HTTP client (channels/httpc.h); the
 * answer is classed by httpc_classify(). docs/channels.md shows the
 * receiver's check.
 */
#ifndef NUDGE_WEBHOOK_H
#define NUDGE_WEBHOOK_H

#include "channels/channel.h"

extern const struct chan_driver chan_webhook;

#endif
