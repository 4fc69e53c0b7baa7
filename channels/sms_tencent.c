/*
 * sms_tencent.c - the tencent form of the sms driver: Tencent Cloud SMS
 * SendSms, API version 2021-01-11, a JSON POST signed with
 * TC3-HMAC-SHA256 (sms_sign.h) over the host actually used:
 *
 *   POST / HTTP/1.1
 *   Host: sms.tencentcloudapi.com
 *   X-TC-Action: SendSms   X-TC-Version: 2021-01-11
 *   X-TC-Timestamp: ...    X-TC-Region: ap-guangzhou
 *   Authorization: TC3-HMAC-SHA256 Credential=..., SignedHeaders=
 *       content-type;host;x-tc-action, Signature=...
 *   {"PhoneNumberSet":["+8613812345678"],"SmsSdkAppId":"...",
 *    "SignName":"...","TemplateId":"...","TemplateParamSet":["..."],
 *    "SessionContext":"KEY"}
 *
 * TemplateParamSet is an array of strings: the values of the message's
 * provider_params object in their order (a template's Param-1, Param-2
 * ... lines, docs/templates.md); numbers and booleans as their JSON text.
 * SessionContext carries the idempotency key. The answer's
 * Response.SendStatusSet[0] says how the number fared (Code "Ok",
 * SerialNo the provider id receipts come back by); Response.Error says
 * why the whole request failed.
 */
#include "channels/sms_form.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channels/sms_sign.h"

struct tencent {
    char *url, *secret_id, *secret_key, *sdk_app_id, *sign_name, *region;
    char host[256]; /* of url: what the signature covers */
};

#define KEY(name, req, kind, dflt)                                             \
    {                                                                          \
#name, req, kind, dflt, offsetof(struct tencent, name)                 \
    }
static const struct sms_key tencent_keys[] = {
    KEY(url, 0, SMS_KEY_URL, "https://sms.tencentcloudapi.com/"),
    KEY(secret_id, 1, SMS_KEY_TEXT, NULL),
    KEY(secret_key, 1, SMS_KEY_SECRET, NULL),
    KEY(sdk_app_id, 1, SMS_KEY_TEXT, NULL),
    KEY(sign_name, 1, SMS_KEY_TEXT, NULL),
    KEY(region, 0, SMS_KEY_TEXT, "ap-guangzhou"),
};
#define NKEYS (sizeof tencent_keys / sizeof tencent_keys[0])

#define CONTENT_TYPE "application/json; charset=utf-8"

/* Tencent SMS codes (a number's SendStatusSet Code or Response.Error's)
 * and what they mean for the message. Exact rows come before the prefix
 * rows ("LimitExceeded.") that would also match them. */
static const struct sms_code tencent_codes[] = {
    /* the number: never going to work */
    {"InvalidParameterValue.IncorrectPhoneNumber", CHAN_PERMANENT, 0},
    {"FailedOperation.PhoneNumberInBlacklist", CHAN_PERMANENT, 0},
    {"FailedOperation.PhoneNumberParseFail", CHAN_PERMANENT, 0},
    /* the account's own caps: later, or a fallback */
    {"LimitExceeded.AppDailyLimit", CHAN_TRANSIENT, 1},
    {"LimitExceeded.AppGlobalDailyLimit", CHAN_TRANSIENT, 1},
    {"LimitExceeded.AppMainlandChinaDailyLimit", CHAN_TRANSIENT, 1},
    {"LimitExceeded.AppCountryOrRegionDailyLimit", CHAN_TRANSIENT, 1},
    /* more numbers than one request takes: our request is wrong */
    {"LimitExceeded.PhoneNumberCountLimit", CHAN_PERMANENT, 1},
    /* a number's frequency limits (30 s, 1 h, a day): later works */
    {"LimitExceeded.", CHAN_TRANSIENT, 0},
    {"RequestLimitExceeded", CHAN_TRANSIENT, 0},
    {"RequestLimitExceeded.", CHAN_TRANSIENT, 0},
    /* marketing SMS only go out 08:00-22:00 */
    {"FailedOperation.MarketingSendTimeConstraint", CHAN_TRANSIENT, 0},
    /* the account, not the number: no retry here, a fallback may help */
    {"FailedOperation.InsufficientBalanceInSmsPackage", CHAN_PERMANENT, 1},
    {"AuthFailure.", CHAN_PERMANENT, 1},
    {"UnauthorizedOperation.", CHAN_PERMANENT, 1},
    /* the template, the signature or the content, and requests Tencent
     * cannot read: fix them, or another provider may take the message */
    {"FailedOperation.", CHAN_PERMANENT, 1},
    {"InvalidParameterValue.", CHAN_PERMANENT, 1},
    {"InvalidParameter.", CHAN_PERMANENT, 1},
    {"InvalidParameter", CHAN_PERMANENT, 1},
    {"MissingParameter", CHAN_PERMANENT, 1},
    {"UnsupportedOperation.", CHAN_PERMANENT, 1},
    /* Tencent's own trouble: later, or a fallback */
    {"InternalError", CHAN_TRANSIENT, 1},
    {"InternalError.", CHAN_TRANSIENT, 1},
    {"ResourceUnavailable.", CHAN_TRANSIENT, 1},
    /* a code not listed: not sent, so trying again is safe; after the
     * queue's last attempt a fallback takes over */
    {NULL, CHAN_TRANSIENT, 0},
};

static void tencent_free(void *conf)
{
    if (conf)
        sms_keys_free(tencent_keys, NKEYS, conf);
    free(conf);
}

static void *tencent_init(struct conf_section *sec, const struct config *cfg,
                          struct diag *d)
{
    struct tencent *t = calloc(1, sizeof *t);

    if (!t)
        return NULL;
    if (sms_keys_read(sec, cfg, tencent_keys, NKEYS, t, d) > 0) {
        tencent_free(t);
        return NULL;
    }
    if (sms_url_host(t->url, t->host, sizeof t->host) < 0) {
        diag_error(d, sec->file, conf_section_line(sec, "url"), 0,
                   "url: \"%s\" has no host", t->url);
        tencent_free(t);
        return NULL;
    }
    return t;
}

/* TemplateParamSet: the params object's values in order, as strings. */
static json_t *param_set(json_t *params, const struct sms_send *s,
                         struct chan_result *res)
{
    json_t *set = json_array(), *v;
    const char *k;

    json_object_foreach(params, k, v)
    {
        char *text = NULL;
        if (json_is_string(v))
            json_array_append_new(set, json_string(json_string_value(v)));
        else if (!json_is_object(v) && !json_is_array(v) &&
                 (text = json_dumps(v, JSON_ENCODE_ANY)))
            json_array_append_new(set, json_string(text));
        else {
            res->account = 1;
            chan_result_fail(
                res, CHAN_PERMANENT, "bad_params",
                "template %s: tencent parameter %s is not a "
                "string or number",
                s->msg->template_name ? s->msg->template_name : "(unnamed)", k);
            json_decref(set);
            return NULL;
        }
        free(text);
    }
    return set;
}

static char *tencent_body(const struct tencent *t, const struct sms_send *s,
                          struct chan_result *res)
{
    const struct chan_msg *m = s->msg;
    json_t *params = sms_params(s, "tencent", res), *set, *obj;
    char *body;

    if (!params)
        return NULL;
    set = param_set(params, s, res);
    json_decref(params);
    if (!set)
        return NULL;
    obj =
        json_pack("{s:[s], s:s, s:s, s:s, s:o}", "PhoneNumberSet", s->to,
                  "SmsSdkAppId", t->sdk_app_id, "SignName", t->sign_name,
                  "TemplateId", m->provider_template, "TemplateParamSet", set);
    if (obj && m->idempotency_key && *m->idempotency_key)
        json_object_set_new(obj, "SessionContext",
                            json_string(m->idempotency_key));
    body = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!body)
        chan_result_fail(res, CHAN_TRANSIENT, "ENOMEM", "out of memory");
    return body;
}

static int tencent_request(const void *conf, const struct sms_send *s,
                           struct sms_http *out, struct chan_result *res)
{
    const struct tencent *t = conf;
    struct tc3_request q = {
        .secret_id = t->secret_id,
        .secret_key = t->secret_key,
        .service = "sms",
        .host = t->host,
        .action = "SendSms",
        .content_type = CONTENT_TYPE,
        .timestamp = s->now_s,
    };
    char *auth;
    int rc = 0;

    if (!s->msg->provider_template || !*s->msg->provider_template) {
        sms_no_template(s, "tencent", res);
        return -1;
    }
    if (!(out->body = tencent_body(t, s, res)))
        return -1;
    out->len = strlen(out->body);
    q.payload = out->body;
    q.len = out->len;
    if (!(auth = tc3_authorization(&q)) || !(out->url = strdup(t->url))) {
        free(auth);
        chan_result_fail(res, CHAN_TRANSIENT, "ENOMEM", "out of memory");
        return -1;
    }
    rc |= sms_http_header(out, "Content-Type: " CONTENT_TYPE);
    rc |= sms_http_header(out, "Host: %s", t->host);
    rc |= sms_http_header(out, "X-TC-Action: SendSms");
    rc |= sms_http_header(out, "X-TC-Version: 2021-01-11");
    rc |= sms_http_header(out, "X-TC-Timestamp: %lld", (long long)s->now_s);
    rc |= sms_http_header(out, "X-TC-Region: %s", t->region);
    rc |= sms_http_header(out, "Authorization: %s", auth);
    free(auth);
    if (rc) {
        chan_result_fail(res, CHAN_TRANSIENT, "ENOMEM", "out of memory");
        return -1;
    }
    return 0;
}

static int tencent_answer(const void *conf, long status, const char *body,
                          struct chan_result *res)
{
    json_t *obj = sms_json_answer(body);
    json_t *resp = json_object_get(obj, "Response");
    json_t *error = json_object_get(resp, "Error");
    json_t *one = json_array_get(json_object_get(resp, "SendStatusSet"), 0);
    const char *code;
    int known = 1;

    if (error) {
        sms_code_apply(tencent_codes, "tencent", sms_json_str(error, "Code"),
                       sms_json_str(error, "Message"), res);
    } else if ((code = sms_json_str(one, "Code")) && strcmp(code, "Ok") == 0) {
        res->status = CHAN_OK;
        snprintf(res->provider_id, sizeof res->provider_id, "%s",
                 sms_json_str(one, "SerialNo") ? sms_json_str(one, "SerialNo")
                                               : "");
    } else if (code) {
        sms_code_apply(tencent_codes, "tencent", code,
                       sms_json_str(one, "Message"), res);
    } else {
        known = 0;
    }
    json_decref(obj);
    return known;
}

const struct sms_form sms_form_tencent = {
    .name = "tencent",
    .init = tencent_init,
    .free = tencent_free,
    .request = tencent_request,
    .answer = tencent_answer,
};
