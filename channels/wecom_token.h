/*
 * wecom_token.h - the wecom driver's access-token cache: one token per
 * channel, shared by every send, with the generation that tells a send
 * whether the token it was refused with is still the current one. The
 * driver (wecom.c) fetches tokens and keeps the sends that wait for one;
 * this is the state and the reading of gettoken's answer, no I/O.
 *
 *   none --gettoken--> fresh --(3/4 of expires_in, at most 5 min before
 *    ^                   |       the end)--> stale: renewed before use
 *    +-- 40014/42001 ----+   (only when the refused send used this
 *        on a send            generation: a newer token stays)
 *
 * Not thread-safe: the driver holds its lock around every call.
 */
#ifndef NUDGE_CHANNELS_WECOM_TOKEN_H
#define NUDGE_CHANNELS_WECOM_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "channels/channel.h"

/* WeCom's tokens are up to 512 bytes. */
#define WECOM_TOKEN_MAX 600

struct wecom_token {
    char value[WECOM_TOKEN_MAX]; /* "" when there is none */
    uint64_t generation;         /* counts tokens stored; 0: never */
    int64_t renew_at_ms;         /* clock_mono_ms(): renew from here on */
    int fetching;                /* a gettoken is in flight */
};

/* 1 when t holds a token that need not be renewed at now_ms. */
int wecom_token_usable(const struct wecom_token *t, int64_t now_ms);
/* Stores a new token valid for expires_in_s from now_ms. */
void wecom_token_store(struct wecom_token *t, const char *value,
                       long expires_in_s, int64_t now_ms);
/* Drops the token if it is still generation gen (a send was refused with
 * it). Returns 1 when dropped, 0 when a newer one is already there. */
int wecom_token_invalidate(struct wecom_token *t, uint64_t gen);

/* Reads gettoken's answer body: 0 with the token in out and its life in
 * *expires_in_s, or -1 with res filled (the outcome of the sends that
 * waited for it: account = 1). */
int wecom_token_parse(const char *body, char *out, size_t n, long *expires_in_s,
                      struct chan_result *res);

#endif
