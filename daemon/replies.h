/*
 * replies.h - POST /replies/sms: students' SMS replies, pushed by the SMS
 * gateway, become `reply` events on slm:events (channel "sms", the text,
 * actor "student"), as a CRM would write them; the consumer then records
 * them, reads opt-out and opt-in words in them (core/consent.h) and the
 * rules' `on reply` triggers start.
 *
 * Two body forms, told apart by their content:
 *   generic  {"from": "+8613800138000", "text": "TD", "time": ...}, or a
 *            non-empty array of them; answered {"recorded": N,
 *            "unknown": M} or {"error": "..."};
 *   aliyun   Aliyun SMS's SmsUpReport push: an array of {"phone_number",
 *            "content", "send_time", "sign_name", "dest_code",
 *            "sequence_id"}; answered {"code": 0, "msg": "接收成功"} or
 *            {"code": 1, "msg": "..."}.
 * The sender is found through the phone index (slm:phone:E164 -> student
 * id, docs/redis.md). A number with no student is not an error of the
 * gateway's: it is counted, logged (masked) and answered 200 like the
 * others (a 4xx would make the gateway send it again forever). A
 * malformed body (not JSON, a missing field, a number that is no phone
 * number) is 400 and writes nothing.
 *
 * With [http] receipts_token set, a request must carry it, as for
 * /receipts/sms (http_token.h), else 401. Counted in
 * nudge_replies_total{result=...}. http.c calls it on the listener's one
 * thread; while Redis is down it answers 503 (the gateway tries again).
 */
#ifndef NUDGE_REPLIES_H
#define NUDGE_REPLIES_H

#include <stddef.h>

#include "core/config.h"

#define REPLIES_MAX_BODY (1024 * 1024)
#define REPLIES_MAX_TEXT 2000 /* bytes of one reply's text kept */

struct replies;

/* The handler for cfg (borrowed; must outlive it), or NULL when out of
 * memory. Free with replies_free(). */
struct replies *replies_new(const struct config *cfg);
void replies_free(struct replies *r);

/* Handles one request: body (len bytes, not NUL-terminated), the
 * Authorization header and the ?token= value (either may be NULL).
 * Returns the HTTP status; *answer is the JSON body to send, which the
 * caller frees (NULL when out of memory). */
int replies_handle(struct replies *r, const char *body, size_t len,
                   const char *authorization, const char *token,
                   char **answer);

/* The answer to a body over REPLIES_MAX_BODY (413). */
int replies_too_large(struct replies *r, char **answer);

#endif
