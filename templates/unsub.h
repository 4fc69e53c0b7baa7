/*
 * unsub.h - the unsubscribe link of every message: the configured URL
 * with the student's id, the channel type and a token, HMAC-SHA256 of
 * both under the config's [templates] unsubscribe_secret, so that only
 * nudge can make a link that unsubscribes a given student (RFC 8058
 * one-click links are followed by mail providers without a login).
 *
 * The token is base64url without padding (43 characters) of
 * HMAC-SHA256(secret, "nudge-unsub-v1\n" ID "\n" CHANNEL).
 */
#ifndef NUDGE_TMPL_UNSUB_H
#define NUDGE_TMPL_UNSUB_H

#include <stddef.h>

#include "templates/buf.h"

#define UNSUB_TOKEN_LEN 43

/* Writes the token (UNSUB_TOKEN_LEN + 1 bytes with the NUL) into out.
 * Returns 0, or -1 when the secret is NULL or empty. */
int tmpl_unsub_token(const char *secret, const char *student, const char *channel,
                char out[UNSUB_TOKEN_LEN + 1]);

/* 1 when token is the one of this student and channel, 0 otherwise
 * (compared in constant time). */
int tmpl_unsub_verify(const char *secret, const char *student,
                 const char *channel, const char *token);

/* Appends base_url?student=ID&channel=CHANNEL&token=TOKEN to b ("&"
 * when base_url already has a query), percent-encoding the id. Returns 0,
 * or -1 without a secret. */
int tmpl_unsub_link(struct tbuf *b, const char *base_url, const char *secret,
               const char *student, const char *channel);

#endif
