/*
 * wecom_token.c - the access-token cache (see wecom_token.h).
 */
#include "channels/wecom_token.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "channels/wecom_api.h"
#include "core/mask.h"

/* WeCom's usual life of a token, when an answer leaves it out. */
#define DEFAULT_EXPIRES_S 7200
/* Renew this long before the end at most... */
#define RENEW_BEFORE_MAX_MS (5 * 60 * 1000)

int wecom_token_usable(const struct wecom_token *t, int64_t now_ms)
{
    return t->value[0] && now_ms < t->renew_at_ms;
}

void wecom_token_store(struct wecom_token *t, const char *value,
                       long expires_in_s, int64_t now_ms)
{
    int64_t life_ms, before_ms;

    if (expires_in_s <= 0)
        expires_in_s = DEFAULT_EXPIRES_S;
    life_ms = (int64_t)expires_in_s * 1000;
    /* ...and at most a quarter of its life, so that a short-lived token
     * (a test's 2 s) is still used for most of it. */
    before_ms =
        life_ms / 4 < RENEW_BEFORE_MAX_MS ? life_ms / 4 : RENEW_BEFORE_MAX_MS;
    snprintf(t->value, sizeof t->value, "%s", value);
    t->renew_at_ms = now_ms + life_ms - before_ms;
    t->generation++;
}

int wecom_token_invalidate(struct wecom_token *t, uint64_t gen)
{
    if (t->generation != gen || !t->value[0])
        return 0;
    t->value[0] = '\0';
    return 1;
}

/* A gettoken refusal: the table's class, except that a token code (a
 * wrong secret) cannot be cured by renewing: it is the account's,
 * transient (the secret may be in the middle of a rotation). */
static void refused(long code, const char *errmsg, struct chan_result *res)
{
    const struct wecom_code *row = wecom_code_find(code);
    char msg[160];

    mask_text(errmsg ? errmsg : "", msg, sizeof msg);
    wecom_scrub(msg);
    chan_result_fail(res,
                     row && !row->renew && row->status != CHAN_OK
                         ? row->status
                         : CHAN_TRANSIENT,
                     "", "wecom: no access token: %s (%ld: %s)",
                     row ? row->meaning : "gettoken refused", code, msg);
    snprintf(res->code, sizeof res->code, "%ld", code);
    res->account = 1;
}

int wecom_token_parse(const char *body, char *out, size_t n, long *expires_in_s,
                      struct chan_result *res)
{
    json_t *ans = json_loads(body ? body : "", 0, NULL);
    json_t *code = json_object_get(ans, "errcode");
    const char *tok = json_string_value(json_object_get(ans, "access_token"));
    int rc = -1;

    if (!json_is_object(ans) || (code && !json_is_integer(code))) {
        chan_result_fail(res, CHAN_TRANSIENT, "answer",
                         "wecom: no access token: unreadable gettoken "
                         "answer");
        res->account = 1;
    } else if (json_integer_value(code) != 0) {
        refused((long)json_integer_value(code),
                json_string_value(json_object_get(ans, "errmsg")), res);
    } else if (!tok || !*tok || strlen(tok) >= n) {
        chan_result_fail(res, CHAN_TRANSIENT, "answer",
                         "wecom: no access token in gettoken's answer");
        res->account = 1;
    } else {
        snprintf(out, n, "%s", tok);
        *expires_in_s =
            (long)json_integer_value(json_object_get(ans, "expires_in"));
        rc = 0;
    }
    json_decref(ans);
    return rc;
}
