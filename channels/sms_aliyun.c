/*
 * sms_aliyun.c - the aliyun form of the sms driver: Dysms SendSms
 * (API version 2017-05-25), an RPC call signed with HMAC-SHA1 over the
 * sorted, percent-encoded parameters (sms_sign.h). nudge POSTs the
 * parameters as a form body rather than a GET query, so that phone
 * numbers stay out of proxies' URL logs; the signature then starts
 * "POST&%2F&".
 *
 * PhoneNumbers: a mainland number without +86 (13812345678); any other
 * country as its country code and number without "+" or "00"
 * (85291234567), as the SendSms page writes international numbers.
 * OutId carries the idempotency key. The answer is
 * {"Code":"OK","Message":"OK","BizId":"...","RequestId":"..."}; BizId is
 * the provider id receipts come back by.
 */
#include "channels/sms_form.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/e164.h"
#include "channels/sms_sign.h"

struct aliyun {
    char *url, *access_key_id, *access_key_secret, *sign_name, *region;
};

#define KEY(name, req, kind, dflt)                                             \
    {                                                                          \
#name, req, kind, dflt, offsetof(struct aliyun, name)                  \
    }
static const struct sms_key aliyun_keys[] = {
    KEY(url, 0, SMS_KEY_URL, "https://dysmsapi.aliyuncs.com/"),
    KEY(access_key_id, 1, SMS_KEY_TEXT, NULL),
    KEY(access_key_secret, 1, SMS_KEY_SECRET, NULL),
    KEY(sign_name, 1, SMS_KEY_TEXT, NULL),
    KEY(region, 0, SMS_KEY_TEXT, "cn-hangzhou"),
};
#define NKEYS (sizeof aliyun_keys / sizeof aliyun_keys[0])

/* Dysms answer codes and what they mean for the message. */
static const struct sms_code aliyun_codes[] = {
    /* the number: never going to work */
    {"isv.MOBILE_NUMBER_ILLEGAL", CHAN_PERMANENT, 0},
    {"isv.MOBILE_COUNT_OVER_LIMIT", CHAN_PERMANENT, 0},
    /* the template, the signature or the content: fix them at Aliyun, or
     * another provider may take the message */
    {"isv.TEMPLATE_MISSING_PARAMETERS", CHAN_PERMANENT, 1},
    {"isv.TEMPLATE_PARAMS_ILLEGAL", CHAN_PERMANENT, 1},
    {"isv.SMS_TEMPLATE_ILLEGAL", CHAN_PERMANENT, 1},
    {"isv.SMS_SIGNATURE_ILLEGAL", CHAN_PERMANENT, 1},
    {"isv.SMS_SIGNATURE_SCENE_ILLEGAL", CHAN_PERMANENT, 1},
    {"isv.SIGN_NAME_ILLEGAL", CHAN_PERMANENT, 1},
    {"isv.INVALID_JSON_PARAM", CHAN_PERMANENT, 1},
    {"isv.INVALID_PARAMETERS", CHAN_PERMANENT, 1},
    {"isv.PARAM_LENGTH_LIMIT", CHAN_PERMANENT, 1},
    {"isv.PARAM_NOT_SUPPORT_URL", CHAN_PERMANENT, 1},
    {"isv.BLACK_KEY_CONTROL_LIMIT", CHAN_PERMANENT, 1},
    {"isv.SMS_CONTENT_ILLEGAL", CHAN_PERMANENT, 1},
    {"isv.DOMESTIC_NUMBER_NOT_SUPPORTED", CHAN_PERMANENT, 1},
    {"isv.SMS_TEST_NUMBER_LIMIT", CHAN_PERMANENT, 1},
    /* rate limits: later works */
    {"isv.BUSINESS_LIMIT_CONTROL", CHAN_TRANSIENT, 0},
    {"Throttling.", CHAN_TRANSIENT, 0},
    {"Throttling", CHAN_TRANSIENT, 0},
    {"SignatureNonceUsed", CHAN_TRANSIENT, 0}, /* a new nonce next time */
    /* the account's own daily or monthly cap */
    {"isv.DAY_LIMIT_CONTROL", CHAN_TRANSIENT, 1},
    {"isv.MONTH_LIMIT_CONTROL", CHAN_TRANSIENT, 1},
    /* the account, not the number: no retry here, a fallback may help.
     * isp.RAM_PERMISSION_DENY is a RAM policy without dysms:SendSms: it
     * stays until someone changes the policy, so it is no transient. */
    {"isv.AMOUNT_NOT_ENOUGH", CHAN_PERMANENT, 1},
    {"isv.ACCOUNT_ABNORMAL", CHAN_PERMANENT, 1},
    {"isv.ACCOUNT_NOT_EXISTS", CHAN_PERMANENT, 1},
    {"isv.OUT_OF_SERVICE", CHAN_PERMANENT, 1},
    {"isv.PRODUCT_UN_SUBSCRIPT", CHAN_PERMANENT, 1},
    {"isv.PRODUCT_UNSUBSCRIBE", CHAN_PERMANENT, 1},
    {"isv.SECURITY_FROZEN_ACCOUNT", CHAN_PERMANENT, 1},
    {"isv.DENY_IP_RANGE", CHAN_PERMANENT, 1},
    {"isv.EXTEND_CODE_ERROR", CHAN_PERMANENT, 1},
    {"isp.RAM_PERMISSION_DENY", CHAN_PERMANENT, 1},
    {"InvalidAccessKeyId.", CHAN_PERMANENT, 1},
    {"SignatureDoesNotMatch", CHAN_PERMANENT, 1},
    {"InvalidTimeStamp.", CHAN_PERMANENT, 1}, /* this server's clock */
    {"Forbidden.", CHAN_PERMANENT, 1},
    {"MissingParameter", CHAN_PERMANENT, 1},
    {"InvalidParameter", CHAN_PERMANENT, 1},
    {"InvalidVersion", CHAN_PERMANENT, 1},
    {"InvalidAction.", CHAN_PERMANENT, 1},
    /* Aliyun's own trouble: later works, or a fallback */
    {"isp.", CHAN_TRANSIENT, 1},
    {"InternalError", CHAN_TRANSIENT, 1},
    {"ServiceUnavailable", CHAN_TRANSIENT, 1},
    /* a code not listed: not sent, so trying again is safe; after the
     * queue's last attempt a fallback takes over */
    {NULL, CHAN_TRANSIENT, 0},
};

static void aliyun_free(void *conf)
{
    if (conf)
        sms_keys_free(aliyun_keys, NKEYS, conf);
    free(conf);
}

static void *aliyun_init(struct conf_section *sec, const struct config *cfg,
                         struct diag *d)
{
    struct aliyun *a = calloc(1, sizeof *a);

    if (a && sms_keys_read(sec, cfg, aliyun_keys, NKEYS, a, d) > 0) {
        aliyun_free(a);
        return NULL;
    }
    return a;
}

/* The number as PhoneNumbers takes it: see the top of this file. */
static const char *aliyun_number(const char *e164)
{
    return e164_is_mainland(e164) ? e164 + 3 : e164 + 1;
}

static int aliyun_request(const void *conf, const struct sms_send *s,
                          struct sms_http *out, struct chan_result *res)
{
    const struct aliyun *a = conf;
    const struct chan_msg *m = s->msg;
    char stamp[32], *template_param = NULL;
    time_t t = (time_t)s->now_s;
    struct tm tm;
    json_t *params;
    int rc;

    if (!m->provider_template || !*m->provider_template) {
        sms_no_template(s, "aliyun", res);
        return -1;
    }
    if (!(params = sms_params(s, "aliyun", res)))
        return -1;
    if (json_object_size(params) > 0)
        template_param = json_dumps(params, JSON_COMPACT);
    json_decref(params);
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);

    struct sms_kv kv[16] = {
        {"AccessKeyId", a->access_key_id},
        {"Action", "SendSms"},
        {"Format", "JSON"},
        {"PhoneNumbers", aliyun_number(s->to)},
        {"RegionId", a->region},
        {"SignName", a->sign_name},
        {"SignatureMethod", "HMAC-SHA1"},
        {"SignatureNonce", s->nonce},
        {"SignatureVersion", "1.0"},
        {"TemplateCode", m->provider_template},
        {"Timestamp", stamp},
        {"Version", "2017-05-25"},
    };
    size_t n = 12;
    if (template_param)
        kv[n++] = (struct sms_kv){"TemplateParam", template_param};
    if (m->idempotency_key && *m->idempotency_key)
        kv[n++] = (struct sms_kv){"OutId", m->idempotency_key};

    out->body = aliyun_signed_query("POST", a->access_key_secret, kv, n);
    free(template_param);
    out->len = out->body ? strlen(out->body) : 0;
    out->url = strdup(a->url);
    rc =
        sms_http_header(out, "Content-Type: application/x-www-form-urlencoded");
    rc |= sms_http_header(out, "Accept: application/json");
    if (!out->body || !out->url || rc) {
        chan_result_fail(res, CHAN_TRANSIENT, "ENOMEM", "out of memory");
        return -1;
    }
    return 0;
}

static int aliyun_answer(const void *conf, long status, const char *body,
                         struct chan_result *res)
{
    json_t *obj = sms_json_answer(body);
    const char *code = sms_json_str(obj, "Code");
    const char *biz = sms_json_str(obj, "BizId");

    if (!code) {
        json_decref(obj);
        return 0;
    }
    if (strcmp(code, "OK") == 0) {
        res->status = CHAN_OK;
        snprintf(res->provider_id, sizeof res->provider_id, "%s",
                 biz ? biz : "");
    } else {
        sms_code_apply(aliyun_codes, "aliyun", code,
                       sms_json_str(obj, "Message"), res);
    }
    json_decref(obj);
    return 1;
}

const struct sms_form sms_form_aliyun = {
    .name = "aliyun",
    .init = aliyun_init,
    .free = aliyun_free,
    .request = aliyun_request,
    .answer = aliyun_answer,
};
