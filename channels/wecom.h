/*
 * wecom.h - the WeCom (企业微信) channel: app messages to members
 * (message/send), one-to-one tasks to external contacts sent by their
 * owner (externalcontact/add_msg_template), and group-robot webhooks for
 * supervisor groups. One access token per channel, shared by every send
 * and renewed before it expires or at once when WeCom refuses it; a
 * local limiter keeps each member and each robot under WeCom's silent
 * drop limits. docs/channels.md gives the keys and how answers are
 * classed.
 *
 *   [channel.wecom]
 *   type = wecom
 *   corp_id = ww0123456789
 *   agent_id = 1000002
 *   secret = file:/etc/nudge/wecom.secret
 *
 * Pieces: wecom_api.c (request bodies, the errcode table), wecom_token.c
 * (the token cache), ratelimit.c (the per-key limiter), httpc.c (HTTP).
 */
#ifndef NUDGE_CHANNELS_WECOM_H
#define NUDGE_CHANNELS_WECOM_H

#include "channels/channel.h"

extern const struct chan_driver chan_wecom;

#endif
