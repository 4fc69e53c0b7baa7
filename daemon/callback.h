/*
 * callback.h - what the SMS gateway's callbacks share: POST /receipts/sms
 * (receipts.h) and POST /replies/sms (replies.h) check the same secret
 * ([http] receipts_token), answer in the gateway's form, and count what
 * became of each request.
 */
#ifndef NUDGE_DAEMON_CALLBACK_H
#define NUDGE_DAEMON_CALLBACK_H

#include <stddef.h>

#include "core/metrics.h"

/* The form a body came in, and the answer goes in. */
enum callback_form { FORM_GENERIC, FORM_ALIYUN };

/* (Also GET /report's check, daemon/report_page.h, which is off
 * without a token rather than open.)
 * 1 when want is unset or empty, or when "Authorization: Bearer TOKEN"
 * (authorization) or else ?token= (token) carries it, compared in
 * constant time; 0 otherwise. Either given value may be NULL. */
int http_token_ok(const char *want, const char *authorization,
                  const char *token);

/* The JSON answer (malloc'd into *out, NULL on no memory) in the
 * request's form: Aliyun's {"code": 0|1, "msg"}, or ours: on 200
 * {"recorded": N} (and "unknown": M when unknown >= 0), else
 * {"error": error}. Returns status. */
int callback_answer(enum callback_form form, int status, const char *error,
                    size_t recorded, long unknown, char **out);

/* The counter name{result="RESULT"} (registered once, then found). */
struct metric *callback_counter(const char *name, const char *help,
                                const char *result);

#endif
