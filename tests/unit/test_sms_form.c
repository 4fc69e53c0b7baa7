/*
 * test_sms_form.c - the sms forms without a network: the request each
 * writes for a message, byte for byte, and the outcome class of each
 * provider answer (the code tables of sms_generic.c, sms_aliyun.c and
 * sms_tencent.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "channels/sms_form.h"
#include "tests/support/check_run.h"

/* --- settings --------------------------------------------------------- */

struct kv {
    const char *key, *value;
};

/* A [channel.t] section holding kvs, as config_load() would make it. */
static struct conf_section *section(const struct kv *kvs)
{
    struct conf_section *sec = calloc(1, sizeof *sec);
    size_t n = 0;

    while (kvs[n].key)
        n++;
    sec->name = "t";
    sec->file = "t.conf";
    sec->line = 1;
    sec->kv = calloc(n, sizeof *sec->kv);
    sec->nkv = sec->cap = n;
    for (size_t i = 0; i < n; i++) {
        sec->kv[i].key = (char *)kvs[i].key;
        sec->kv[i].value = (char *)kvs[i].value;
        sec->kv[i].line = (int)i + 2;
    }
    return sec;
}

static void section_free(struct conf_section *sec)
{
    free(sec->kv);
    free(sec);
}

static const struct kv generic_kvs[] = {
    {"url", "http://127.0.0.1:8080/generic"},
    {"token", "tok"},
    {"sender", "示例大学"},
    {NULL, NULL},
};
static const struct kv aliyun_kvs[] = {
    {"url", "http://127.0.0.1:8080/aliyun"},
    {"access_key_id", "testid"},
    {"access_key_secret", "testsecret"},
    {"sign_name", "示例大学"},
    {NULL, NULL},
};
static const struct kv tencent_kvs[] = {
    {"url", "http://127.0.0.1:8080/tencent"},
    {"secret_id", "AKIDtestsecretid"},
    {"secret_key", "tencent-test-key"},
    {"sdk_app_id", "1400000000"},
    {"sign_name", "示例大学"},
    {NULL, NULL},
};

static void *form_init(const struct sms_form *f, const struct kv *kvs)
{
    struct config cfg;
    struct diag d = {0};
    struct conf_section *sec = section(kvs);
    void *conf;

    config_defaults(&cfg);
    conf = f->init(sec, &cfg, &d);
    ck_assert_msg(conf != NULL, "%s", diag_first(&d));
    diag_clear(&d);
    config_free(&cfg);
    section_free(sec);
    return conf;
}

/* --- requests --------------------------------------------------------- */

static const struct chan_msg template_msg = {
    .to = "13812345678",
    .provider_template = "SMS_123456789",
    .provider_params = "{\"name\":\"张三\",\"n\":3}",
    .template_name = "trial",
    .idempotency_key = "key-1",
};

/* 2026-09-01T00:00:00Z */
#define NOW 1788220800

static struct sms_send send_of(const struct chan_msg *m)
{
    return (struct sms_send){m, "+8613812345678", NOW,
                             "0123456789abcdef0123456789abcdef"};
}

static int has_header(const struct sms_http *h, const char *line)
{
    for (size_t i = 0; i < h->nheaders; i++)
        if (strcmp(h->headers[i], line) == 0)
            return 1;
    return 0;
}

/* The body and signature recomputed with Python (urllib.parse.quote,
 * hmac, hashlib) from the same parameters. */
START_TEST(test_aliyun_request)
{
    void *conf = form_init(&sms_form_aliyun, aliyun_kvs);
    struct sms_send s = send_of(&template_msg);
    struct sms_http h = {0};
    struct chan_result res = {0};

    ck_assert_int_eq(sms_form_aliyun.request(conf, &s, &h, &res), 0);
    ck_assert_str_eq(h.url, "http://127.0.0.1:8080/aliyun");
    ck_assert_str_eq(
        h.body,
        "AccessKeyId=testid&Action=SendSms&Format=JSON&OutId=key-1"
        "&PhoneNumbers=13812345678&RegionId=cn-hangzhou"
        "&SignName=%E7%A4%BA%E4%BE%8B%E5%A4%A7%E5%AD%A6"
        "&SignatureMethod=HMAC-SHA1"
        "&SignatureNonce=0123456789abcdef0123456789abcdef"
        "&SignatureVersion=1.0&TemplateCode=SMS_123456789"
        "&TemplateParam=%7B%22name%22%3A%22%E5%BC%A0%E4%B8%89%22%2C%22n%22"
        "%3A3%7D&Timestamp=2026-09-01T00%3A00%3A00Z&Version=2017-05-25"
        "&Signature=9lQeAyMM0WT1J1NJXcQ2mGy1UEs%3D");
    ck_assert(
        has_header(&h, "Content-Type: application/x-www-form-urlencoded"));
    sms_http_free(&h);
    sms_form_aliyun.free(conf);
}
END_TEST

/* The Authorization recomputed with the fake gateway's tc3_signature()
 * (Python hmac/hashlib) for Host 127.0.0.1:8080. */
START_TEST(test_tencent_request)
{
    void *conf = form_init(&sms_form_tencent, tencent_kvs);
    struct chan_msg m = template_msg;
    struct sms_send s;
    struct sms_http h = {0};
    struct chan_result res = {0};

    m.provider_template = "SMS_1";
    s = send_of(&m);
    ck_assert_int_eq(sms_form_tencent.request(conf, &s, &h, &res), 0);
    ck_assert_str_eq(h.body, "{\"PhoneNumberSet\":[\"+8613812345678\"],"
                             "\"SmsSdkAppId\":\"1400000000\",\"SignName\":"
                             "\"示例大学\",\"TemplateId\":\"SMS_1\","
                             "\"TemplateParamSet\":[\"张三\",\"3\"],"
                             "\"SessionContext\":\"key-1\"}");
    ck_assert(has_header(&h, "Host: 127.0.0.1:8080"));
    ck_assert(has_header(&h, "X-TC-Action: SendSms"));
    ck_assert(has_header(&h, "X-TC-Version: 2021-01-11"));
    ck_assert(has_header(&h, "X-TC-Timestamp: 1788220800"));
    ck_assert(has_header(&h, "X-TC-Region: ap-guangzhou"));
    ck_assert(has_header(
        &h, "Authorization: TC3-HMAC-SHA256 Credential=AKIDtestsecretid/"
            "2026-09-01/sms/tc3_request, SignedHeaders=content-type;host;"
            "x-tc-action, Signature=d21664ec90a203fd55973f365aabdb28"
            "114425a6f03f634ee5b6fcdd67e87612"));
    sms_http_free(&h);
    sms_form_tencent.free(conf);
}
END_TEST

START_TEST(test_generic_request)
{
    void *conf = form_init(&sms_form_generic, generic_kvs);
    struct chan_msg m = {
        .to = "13812345678", .body = "您好", .idempotency_key = "key-1"};
    struct sms_send s = send_of(&m);
    struct sms_http h = {0};
    struct chan_result res = {0};

    ck_assert_int_eq(sms_form_generic.request(conf, &s, &h, &res), 0);
    ck_assert_str_eq(h.body, "{\"to\":\"+8613812345678\",\"text\":\"您好\","
                             "\"sender\":\"示例大学\","
                             "\"idempotency_key\":\"key-1\"}");
    ck_assert(has_header(&h, "Authorization: Bearer tok"));
    ck_assert(has_header(&h, "Idempotency-Key: key-1"));
    sms_http_free(&h);
    sms_form_generic.free(conf);
}
END_TEST

/* A key with a line break would start a header of its own. */
START_TEST(test_generic_bad_key)
{
    void *conf = form_init(&sms_form_generic, generic_kvs);
    struct chan_msg m = {.body = "x", .idempotency_key = "k\r\nX-Evil: 1"};
    struct sms_send s = send_of(&m);
    struct sms_http h = {0};
    struct chan_result res = {0};

    ck_assert_int_eq(sms_form_generic.request(conf, &s, &h, &res), -1);
    ck_assert_int_eq(res.status, CHAN_PERMANENT);
    ck_assert_str_eq(res.code, "bad_key");
    ck_assert_int_eq(h.nheaders, 0);
    sms_http_free(&h);
    sms_form_generic.free(conf);
}
END_TEST

/* Messages a form cannot send: permanent, the account's (a fallback
 * channel may take them), nothing written. */
static const struct {
    const struct sms_form *form;
    const struct kv *kvs;
    struct chan_msg msg;
    const char *code, *error;
} refused[] = {
    /* a provider form without a provider template */
    {&sms_form_aliyun,
     aliyun_kvs,
     {.body = "x", .template_name = "welcome"},
     "no_provider_template",
     "template welcome has no provider template code for aliyun"},
    {&sms_form_tencent,
     tencent_kvs,
     {.body = "x", .template_name = "welcome"},
     "no_provider_template",
     "template welcome has no provider template code for tencent"},
    /* parameters that are no JSON object */
    {&sms_form_aliyun,
     aliyun_kvs,
     {.provider_template = "S", .provider_params = "[1]", .template_name = "a"},
     "bad_params",
     "template a: its aliyun parameters are not a JSON object"},
    /* Tencent takes strings and numbers only */
    {&sms_form_tencent,
     tencent_kvs,
     {.provider_template = "S",
      .provider_params = "{\"x\":{}}",
      .template_name = "a"},
     "bad_params",
     "template a: tencent parameter x is not a string or number"},
};

START_TEST(test_refused)
{
    void *conf = form_init(refused[_i].form, refused[_i].kvs);
    struct sms_send s = send_of(&refused[_i].msg);
    struct sms_http h = {0};
    struct chan_result res = {0};

    ck_assert_int_eq(refused[_i].form->request(conf, &s, &h, &res), -1);
    ck_assert_int_eq(res.status, CHAN_PERMANENT);
    ck_assert_int_eq(res.account, 1);
    ck_assert_str_eq(res.code, refused[_i].code);
    ck_assert_str_eq(res.error, refused[_i].error);
    sms_http_free(&h);
    refused[_i].form->free(conf);
}
END_TEST

/* --- answers ---------------------------------------------------------- */

static const struct {
    const struct sms_form *form;
    long status;
    const char *body;
    int read; /* 0: the form says nothing, the HTTP class stands */
    enum chan_status want;
    int account;
    const char *code, *provider_id;
} answers[] = {
    /* Aliyun */
    {&sms_form_aliyun, 200,
     "{\"Code\":\"OK\",\"Message\":\"OK\",\"BizId\":\"9006^0\","
     "\"RequestId\":\"R\"}",
     1, CHAN_OK, 0, "", "9006^0"},
    {&sms_form_aliyun, 200, "{\"Code\":\"isv.MOBILE_NUMBER_ILLEGAL\"}", 1,
     CHAN_PERMANENT, 0, "isv.MOBILE_NUMBER_ILLEGAL", ""},
    {&sms_form_aliyun, 200, "{\"Code\":\"isv.BUSINESS_LIMIT_CONTROL\"}", 1,
     CHAN_TRANSIENT, 0, "isv.BUSINESS_LIMIT_CONTROL", ""},
    {&sms_form_aliyun, 200, "{\"Code\":\"isv.AMOUNT_NOT_ENOUGH\"}", 1,
     CHAN_PERMANENT, 1, "isv.AMOUNT_NOT_ENOUGH", ""},
    {&sms_form_aliyun, 200, "{\"Code\":\"isv.SMS_TEMPLATE_ILLEGAL\"}", 1,
     CHAN_PERMANENT, 1, "isv.SMS_TEMPLATE_ILLEGAL", ""},
    {&sms_form_aliyun, 400, "{\"Code\":\"SignatureDoesNotMatch\"}", 1,
     CHAN_PERMANENT, 1, "SignatureDoesNotMatch", ""},
    {&sms_form_aliyun, 404, "{\"Code\":\"InvalidAccessKeyId.NotFound\"}", 1,
     CHAN_PERMANENT, 1, "InvalidAccessKeyId.NotFound", ""},
    {&sms_form_aliyun, 400, "{\"Code\":\"Throttling.User\"}", 1, CHAN_TRANSIENT,
     0, "Throttling.User", ""},
    /* isp.RAM_PERMISSION_DENY before the isp. prefix row */
    {&sms_form_aliyun, 200, "{\"Code\":\"isp.RAM_PERMISSION_DENY\"}", 1,
     CHAN_PERMANENT, 1, "isp.RAM_PERMISSION_DENY", ""},
    {&sms_form_aliyun, 500, "{\"Code\":\"isp.SYSTEM_ERROR\"}", 1,
     CHAN_TRANSIENT, 1, "isp.SYSTEM_ERROR", ""},
    /* a code not in the table */
    {&sms_form_aliyun, 200, "{\"Code\":\"isv.SOMETHING_NEW\"}", 1,
     CHAN_TRANSIENT, 0, "isv.SOMETHING_NEW", ""},
    /* not an Aliyun answer */
    {&sms_form_aliyun, 502, "<html>Bad Gateway</html>", 0, CHAN_OK, 0, "", ""},
    /* Tencent: one number's status */
    {&sms_form_tencent, 200,
     "{\"Response\":{\"SendStatusSet\":[{\"SerialNo\":\"5000:1\","
     "\"Code\":\"Ok\",\"Message\":\"send success\"}],\"RequestId\":\"R\"}}",
     1, CHAN_OK, 0, "", "5000:1"},
    {&sms_form_tencent, 200,
     "{\"Response\":{\"SendStatusSet\":[{\"Code\":"
     "\"InvalidParameterValue.IncorrectPhoneNumber\"}]}}",
     1, CHAN_PERMANENT, 0, "InvalidParameterValue.IncorrectPhoneNumber", ""},
    {&sms_form_tencent, 200,
     "{\"Response\":{\"SendStatusSet\":[{\"Code\":"
     "\"LimitExceeded.PhoneNumberDailyLimit\"}]}}",
     1, CHAN_TRANSIENT, 0, "LimitExceeded.PhoneNumberDailyLimit", ""},
    /* the app's own cap: an exact row before the LimitExceeded. prefix */
    {&sms_form_tencent, 200,
     "{\"Response\":{\"SendStatusSet\":[{\"Code\":"
     "\"LimitExceeded.AppDailyLimit\"}]}}",
     1, CHAN_TRANSIENT, 1, "LimitExceeded.AppDailyLimit", ""},
    /* Tencent: the whole request */
    {&sms_form_tencent, 200,
     "{\"Response\":{\"Error\":{\"Code\":"
     "\"FailedOperation.InsufficientBalanceInSmsPackage\"}}}",
     1, CHAN_PERMANENT, 1, "FailedOperation.InsufficientBalanceInSmsPackage",
     ""},
    {&sms_form_tencent, 200,
     "{\"Response\":{\"Error\":{\"Code\":\"AuthFailure.SignatureFailure\"}}}",
     1, CHAN_PERMANENT, 1, "AuthFailure.SignatureFailure", ""},
    {&sms_form_tencent, 200,
     "{\"Response\":{\"Error\":{\"Code\":\"InternalError.Timeout\"}}}", 1,
     CHAN_TRANSIENT, 1, "InternalError.Timeout", ""},
    {&sms_form_tencent, 200, "{\"Response\":{}}", 0, CHAN_OK, 0, "", ""},
    /* generic */
    {&sms_form_generic, 200, "{\"id\":\"gw-1\"}", 1, CHAN_OK, 0, "", "gw-1"},
    {&sms_form_generic, 202, "{\"id\":42}", 1, CHAN_OK, 0, "", "42"},
    {&sms_form_generic, 200, "", 1, CHAN_OK, 0, "", ""},
    {&sms_form_generic, 400, "{\"code\":\"invalid_number\"}", 1, CHAN_PERMANENT,
     0, "invalid_number", ""},
    {&sms_form_generic, 429, "{\"code\":\"rate_limited\"}", 1, CHAN_TRANSIENT,
     0, "rate_limited", ""},
    {&sms_form_generic, 402, "{\"code\":\"insufficient_balance\"}", 1,
     CHAN_PERMANENT, 1, "insufficient_balance", ""},
    /* credentials without a code: the account's */
    {&sms_form_generic, 401, "", 1, CHAN_PERMANENT, 1, "HTTP 401", ""},
    /* other statuses: the HTTP class stands */
    {&sms_form_generic, 503, "{\"code\":\"whatever\"}", 0, CHAN_OK, 0, "", ""},
};

START_TEST(test_answer)
{
    struct chan_result res = {0};
    int read = answers[_i].form->answer(NULL, answers[_i].status,
                                        answers[_i].body, &res);

    ck_assert_int_eq(read, answers[_i].read);
    if (!read)
        return;
    ck_assert_int_eq(res.status, answers[_i].want);
    ck_assert_int_eq(res.account, answers[_i].account);
    ck_assert_str_eq(res.code, answers[_i].code);
    ck_assert_str_eq(res.provider_id, answers[_i].provider_id);
}
END_TEST

/* A provider's message that echoes the number is masked. */
START_TEST(test_answer_masked)
{
    struct chan_result res = {0};

    sms_form_aliyun.answer(NULL, 200,
                           "{\"Code\":\"isv.MOBILE_NUMBER_ILLEGAL\","
                           "\"Message\":\"13812345678 is illegal\"}",
                           &res);
    ck_assert_str_eq(res.error,
                     "aliyun: isv.MOBILE_NUMBER_ILLEGAL: 138****5678 is "
                     "illegal");
}
END_TEST

static const struct {
    const char *url, *host;
} hosts[] = {
    {"https://sms.tencentcloudapi.com/", "sms.tencentcloudapi.com"},
    {"http://127.0.0.1:8080/tencent", "127.0.0.1:8080"},
    {"https://u:p@gw.example.edu:8443", "gw.example.edu:8443"},
    {"https://gw.example.edu?x=1", "gw.example.edu"},
    {"no-scheme", NULL},
    {"https:///path", NULL},
};

START_TEST(test_url_host)
{
    char out[64];
    int rc = sms_url_host(hosts[_i].url, out, sizeof out);

    if (!hosts[_i].host) {
        ck_assert_int_eq(rc, -1);
        return;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(out, hosts[_i].host);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("sms_form", &tc);

    tcase_add_test(tc, test_aliyun_request);
    tcase_add_test(tc, test_tencent_request);
    tcase_add_test(tc, test_generic_request);
    tcase_add_test(tc, test_generic_bad_key);
    tcase_add_loop_test(tc, test_refused, 0,
                        sizeof refused / sizeof refused[0]);
    tcase_add_loop_test(tc, test_answer, 0, sizeof answers / sizeof answers[0]);
    tcase_add_test(tc, test_answer_masked);
    tcase_add_loop_test(tc, test_url_host, 0, sizeof hosts / sizeof hosts[0]);
    return check_run(s);
}
