/*
 * http_token.h - the shared secret the SMS gateway's callbacks carry
 * ([http] receipts_token): POST /receipts/sms (receipts.h) and POST
 * /replies/sms (replies.h) check it the same way.
 */
#ifndef NUDGE_HTTP_TOKEN_H
#define NUDGE_HTTP_TOKEN_H

/* 1 when want is unset or empty, or when "Authorization: Bearer TOKEN"
 * (authorization) or else ?token= (token) carries it, compared in
 * constant time; 0 otherwise. Either given value may be NULL. */
int http_token_ok(const char *want, const char *authorization,
                  const char *token);

#endif
