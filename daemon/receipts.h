/*
 * receipts.h - POST /receipts/sms: SMS gateways' delivery reports
 * (status callbacks) become `delivered` / `undelivered` entries on the
 * student's timeline, found by the provider's message id in the receipt
 * records the send path left (core/receipt.h).
 *
 * Two body forms, told apart by their content:
 *   generic  {"id": ID, "status": "delivered"|"undelivered"|"failed",
 *             "code": "...", "message": "...", "time": ...}, or an array
 *             of them; answered {"recorded": N} or {"error": "..."};
 *   aliyun   Aliyun SMS's SmsReport push: an array of {"biz_id", "success",
 *             "err_code", "err_msg", "phone_number", ...}; answered
 *             {"code": 0, "msg": "接收成功"} or {"code": 1, "msg": "..."}.
 * A request is all or nothing: every id is looked up first, and one
 * unknown id (or a malformed item) answers 400 and writes nothing.
 * A report repeated with the same status is not written again.
 *
 * With [http] receipts_token set, a request must carry it as
 * "Authorization: Bearer TOKEN" or ?token=TOKEN (compared in constant
 * time), else 401. Counted in nudge_receipts_total{result=...}.
 *
 * http.c calls it on the listener's one thread, so one Redis connection
 * serves it; while Redis is down it answers 503 at once (the gateway
 * tries again later).
 */
#ifndef NUDGE_RECEIPTS_H
#define NUDGE_RECEIPTS_H

#include <stddef.h>

#include "core/config.h"

#define RECEIPTS_MAX_BODY (1024 * 1024)

struct receipts;

/* The handler for cfg (borrowed; must outlive it), or NULL when out of
 * memory. Free with receipts_free(). */
struct receipts *receipts_new(const struct config *cfg);
void receipts_free(struct receipts *r);

/* Handles one request: body (len bytes, not NUL-terminated), the
 * Authorization header and the ?token= value (either may be NULL).
 * Returns the HTTP status; *answer is the JSON body to send, which the
 * caller frees (NULL when out of memory). */
int receipts_handle(struct receipts *r, const char *body, size_t len,
                    const char *authorization, const char *token,
                    char **answer);

/* The answer to a body over RECEIPTS_MAX_BODY (413), counted as
 * malformed. */
int receipts_too_large(struct receipts *r, char **answer);

#endif
