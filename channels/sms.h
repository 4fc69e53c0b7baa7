/*
 * sms.h - the sms channel: text messages through an HTTP gateway, in one
 * of three forms (`form = generic | aliyun | tencent`, sms_form.h), over
 * the shared HTTP client (httpc.h). Every number is checked and written
 * as E.164 before anything is sent (e164.h); the idempotency key goes to
 * the provider (Idempotency-Key, OutId, SessionContext); the provider's
 * message id is the result's provider_id, by which delivery receipts come
 * back (CHAN_CAP_RECEIPTS). docs/channels.md gives the keys, an example
 * per form and how each provider's answers are classed.
 *
 *   [channel.sms]
 *   type = sms
 *   form = aliyun
 *   access_key_id = LTAI...
 *   access_key_secret = env:ALIYUN_SMS_SECRET
 *   sign_name = 示例大学
 */
#ifndef NUDGE_SMS_H
#define NUDGE_SMS_H

#include "channels/channel.h"

extern const struct chan_driver chan_sms;

#endif
