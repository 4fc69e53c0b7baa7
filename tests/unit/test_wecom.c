/*
 * test_wecom.c - the wecom driver's pure parts: the request bodies
 * (exact JSON), the classing of WeCom's answers, the scrubbing of
 * secrets from error text, the access-token cache, the per-key
 * sliding-window limiter on a clock the test moves, and the delay queue
 * that holds sends for their slot.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "channels/delayq.h"
#include "channels/ratelimit.h"
#include "channels/wecom_api.h"
#include "channels/wecom_token.h"
#include "core/clock.h"
#include "tests/support/check_run.h"

/* --- request bodies ------------------------------------------------------- */

static const struct {
    const char *to_kind, *to, *sender, *subject, *body, *format;
    const char *want; /* the JSON, or NULL for a refusal */
    const char *error;
} request_cases[] = {
    /* a member, plain text, the duplicate check on */
    {NULL, "zhangwei", NULL, NULL, "明天见", "text",
     "{\"touser\":\"zhangwei\",\"msgtype\":\"text\",\"agentid\":1000002,"
     "\"text\":{\"content\":\"明天见\"},\"enable_duplicate_check\":1,"
     "\"duplicate_check_interval\":1800}",
     NULL},
    /* markdown from the template's format */
    {"member", "li", NULL, NULL, "**到期**", "markdown",
     "{\"touser\":\"li\",\"msgtype\":\"markdown\",\"agentid\":1000002,"
     "\"markdown\":{\"content\":\"**到期**\"},\"enable_duplicate_check\":1,"
     "\"duplicate_check_interval\":1800}",
     NULL},
    /* a subject and a link: a text card pointing at the link */
    {"member", "li", NULL, "试听课", "请预约 https://e.edu/t?a=1，谢谢", NULL,
     "{\"touser\":\"li\",\"msgtype\":\"textcard\",\"agentid\":1000002,"
     "\"textcard\":{\"title\":\"试听课\",\"description\":\"请预约 "
     "https://e.edu/t?a=1，谢谢\",\"url\":\"https://e.edu/t?a=1\"},"
     "\"enable_duplicate_check\":1,\"duplicate_check_interval\":1800}",
     NULL},
    /* a subject without a link stays text */
    {"member", "li", NULL, "试听课", "请预约", NULL,
     "{\"touser\":\"li\",\"msgtype\":\"text\",\"agentid\":1000002,"
     "\"text\":{\"content\":\"请预约\"},\"enable_duplicate_check\":1,"
     "\"duplicate_check_interval\":1800}",
     NULL},
    /* quotes and newlines are escaped, nothing else */
    {"member", "li", NULL, NULL, "say \"hi\"\nbye", NULL,
     "{\"touser\":\"li\",\"msgtype\":\"text\",\"agentid\":1000002,"
     "\"text\":{\"content\":\"say \\\"hi\\\"\\nbye\"},"
     "\"enable_duplicate_check\":1,\"duplicate_check_interval\":1800}",
     NULL},
    /* an external contact, sent by their owner */
    {"external", "wmEXT01", "owner01", NULL, "欢迎", "markdown",
     "{\"chat_type\":\"single\",\"external_userid\":[\"wmEXT01\"],"
     "\"sender\":\"owner01\",\"text\":{\"content\":\"欢迎\"}}",
     NULL},
    /* a group robot, markdown */
    {"robot", "KEY", NULL, NULL, "# 逾期", "markdown",
     "{\"msgtype\":\"markdown\",\"markdown\":{\"content\":\"# 逾期\"}}", NULL},
    /* a group robot, text; the key is not in the body */
    {"robot", NULL, NULL, NULL, "逾期", NULL,
     "{\"msgtype\":\"text\",\"text\":{\"content\":\"逾期\"}}", NULL},
    /* error rows: an external contact needs its sender */
    {"external", "wmEXT01", NULL, NULL, "欢迎", NULL, NULL, "wecom: no sender"},
    {"external", "wmEXT01", "", NULL, "欢迎", NULL, NULL, "wecom: no sender"},
    /* a member needs a userid */
    {"member", "", NULL, NULL, "hi", NULL, NULL, "wecom: no recipient"},
    /* nothing to say */
    {"member", "li", NULL, NULL, "", NULL, NULL, "wecom: empty message"},
};

START_TEST(test_request_json)
{
    const struct wecom_opts o = {.agent_id = 1000002, .dup_interval_s = 1800};
    struct chan_msg m = {.to_kind = request_cases[_i].to_kind,
                         .to = request_cases[_i].to,
                         .sender = request_cases[_i].sender,
                         .subject = request_cases[_i].subject,
                         .body = request_cases[_i].body,
                         .format = request_cases[_i].format};
    struct chan_result res = {0};
    enum wecom_api api;
    char *json;

    ck_assert_int_eq(wecom_api_of(&m, &api, &res), 0);
    json = wecom_request_json(api, &m, &o, &res);
    if (request_cases[_i].want) {
        ck_assert_ptr_nonnull(json);
        ck_assert_str_eq(json, request_cases[_i].want);
    } else {
        ck_assert_ptr_null(json);
        ck_assert_int_eq(res.status, CHAN_PERMANENT);
        ck_assert_str_eq(res.error, request_cases[_i].error);
    }
    free(json);
}
END_TEST

START_TEST(test_unknown_kind)
{
    struct chan_msg m = {.to_kind = "chat", .to = "x", .body = "hi"};
    struct chan_result res = {0};
    enum wecom_api api;

    ck_assert_int_eq(wecom_api_of(&m, &api, &res), -1);
    ck_assert_int_eq(res.status, CHAN_PERMANENT);
    ck_assert_ptr_nonnull(strstr(res.error, "use member, external or robot"));
}
END_TEST

/* --- answers -------------------------------------------------------------- */

static const struct {
    enum wecom_api api;
    const char *body;
    enum wecom_verdict verdict;
    enum chan_status status;
    int account;
    const char *code, *provider_id;
} answer_cases[] = {
    /* message/send accepted: its msgid */
    {WECOM_MEMBER,
     "{\"errcode\":0,\"errmsg\":\"ok\",\"invaliduser\":\"\","
     "\"msgid\":\"MSG1\"}",
     WECOM_DONE, CHAN_OK, 0, "", "MSG1"},
    /* accepted but the user is invalid: nothing was sent */
    {WECOM_MEMBER,
     "{\"errcode\":0,\"errmsg\":\"ok\",\"invaliduser\":\"li\","
     "\"msgid\":\"MSG2\"}",
     WECOM_DONE, CHAN_PERMANENT, 0, "invaliduser", ""},
    /* accepted, the user has no licence */
    {WECOM_MEMBER, "{\"errcode\":0,\"unlicenseduser\":\"li\"}", WECOM_DONE,
     CHAN_PERMANENT, 0, "invaliduser", ""},
    /* add_msg_template accepted: its msgid */
    {WECOM_EXTERNAL,
     "{\"errcode\":0,\"errmsg\":\"ok\",\"fail_list\":[],"
     "\"msgid\":\"TPL1\"}",
     WECOM_DONE, CHAN_OK, 0, "", "TPL1"},
    /* add_msg_template: the contact is not the sender's */
    {WECOM_EXTERNAL, "{\"errcode\":0,\"fail_list\":[\"wmX\"],\"msgid\":\"T\"}",
     WECOM_DONE, CHAN_PERMANENT, 0, "invaliduser", ""},
    /* the robot has no id: the idempotency key stands for it */
    {WECOM_ROBOT, "{\"errcode\":0,\"errmsg\":\"ok\"}", WECOM_DONE, CHAN_OK, 0,
     "", "key-1"},
    /* token revoked, expired, missing, or not valid: renew and retry */
    {WECOM_MEMBER, "{\"errcode\":40014,\"errmsg\":\"invalid access_token\"}",
     WECOM_RENEW, CHAN_TRANSIENT, 1, "40014", ""},
    {WECOM_EXTERNAL, "{\"errcode\":42001,\"errmsg\":\"expired\"}", WECOM_RENEW,
     CHAN_TRANSIENT, 1, "42001", ""},
    {WECOM_MEMBER, "{\"errcode\":41001,\"errmsg\":\"missing\"}", WECOM_RENEW,
     CHAN_TRANSIENT, 1, "41001", ""},
    {WECOM_MEMBER, "{\"errcode\":40001,\"errmsg\":\"invalid credential\"}",
     WECOM_RENEW, CHAN_TRANSIENT, 1, "40001", ""},
    /* a robot has no token: a token code is its final word */
    {WECOM_ROBOT, "{\"errcode\":40014}", WECOM_DONE, CHAN_TRANSIENT, 1, "40014",
     ""},
    /* rate limits and a busy WeCom: later */
    {WECOM_MEMBER, "{\"errcode\":45009,\"errmsg\":\"api freq out of limit\"}",
     WECOM_DONE, CHAN_TRANSIENT, 0, "45009", ""},
    {WECOM_ROBOT, "{\"errcode\":45009}", WECOM_DONE, CHAN_TRANSIENT, 0, "45009",
     ""},
    {WECOM_MEMBER, "{\"errcode\":45033}", WECOM_DONE, CHAN_TRANSIENT, 0,
     "45033", ""},
    {WECOM_MEMBER, "{\"errcode\":-1,\"errmsg\":\"system busy\"}", WECOM_DONE,
     CHAN_TRANSIENT, 1, "-1", ""},
    /* the recipient: never */
    {WECOM_MEMBER, "{\"errcode\":60111,\"errmsg\":\"userid not found\"}",
     WECOM_DONE, CHAN_PERMANENT, 0, "60111", ""},
    {WECOM_MEMBER, "{\"errcode\":81013}", WECOM_DONE, CHAN_PERMANENT, 0,
     "81013", ""},
    {WECOM_MEMBER, "{\"errcode\":40031}", WECOM_DONE, CHAN_PERMANENT, 0,
     "40031", ""},
    /* the account or app: never, and a fallback may do better */
    {WECOM_MEMBER, "{\"errcode\":40013}", WECOM_DONE, CHAN_PERMANENT, 1,
     "40013", ""},
    {WECOM_MEMBER, "{\"errcode\":40056}", WECOM_DONE, CHAN_PERMANENT, 1,
     "40056", ""},
    {WECOM_EXTERNAL, "{\"errcode\":48002}", WECOM_DONE, CHAN_PERMANENT, 1,
     "48002", ""},
    {WECOM_MEMBER,
     "{\"errcode\":60020,\"errmsg\":\"not allow to access "
     "from your ip\"}",
     WECOM_DONE, CHAN_PERMANENT, 1, "60020", ""},
    {WECOM_ROBOT, "{\"errcode\":93000,\"errmsg\":\"invalid webhook url\"}",
     WECOM_DONE, CHAN_PERMANENT, 1, "93000", ""},
    /* a code the table does not know: this message was refused */
    {WECOM_MEMBER, "{\"errcode\":44004,\"errmsg\":\"empty content\"}",
     WECOM_DONE, CHAN_PERMANENT, 0, "44004", ""},
    /* no errcode, or no JSON: it left, the answer cannot be read */
    {WECOM_MEMBER, "<html>gateway</html>", WECOM_DONE, CHAN_UNKNOWN, 0,
     "answer", ""},
    {WECOM_MEMBER, "{\"errmsg\":\"ok\"}", WECOM_DONE, CHAN_UNKNOWN, 0, "answer",
     ""},
};

START_TEST(test_classify)
{
    struct chan_result res = {0};
    enum wecom_verdict v = wecom_classify(answer_cases[_i].api,
                                          answer_cases[_i].body, "key-1", &res);

    ck_assert_int_eq(v, answer_cases[_i].verdict);
    ck_assert_int_eq(res.status, answer_cases[_i].status);
    ck_assert_int_eq(res.account, answer_cases[_i].account);
    ck_assert_str_eq(res.code, answer_cases[_i].code);
    ck_assert_str_eq(res.provider_id, answer_cases[_i].provider_id);
    if (res.status != CHAN_OK)
        ck_assert_str_ne(res.error, "");
}
END_TEST

START_TEST(test_classify_masks)
{
    struct chan_result res = {0};

    /* a phone number in errmsg, and a token in a quoted URL */
    wecom_classify(WECOM_MEMBER,
                   "{\"errcode\":60111,\"errmsg\":\"user 13812345678 "
                   "?access_token=SECRETTOKEN&x=1\"}",
                   NULL, &res);
    ck_assert_ptr_null(strstr(res.error, "13812345678"));
    ck_assert_ptr_null(strstr(res.error, "SECRETTOKEN"));
    ck_assert_ptr_nonnull(strstr(res.error, "userid not found (60111"));
    /* the invalid user is masked too */
    memset(&res, 0, sizeof res);
    wecom_classify(WECOM_MEMBER,
                   "{\"errcode\":0,\"invaliduser\":\"zhangwei01|li\"}", NULL,
                   &res);
    ck_assert_ptr_nonnull(strstr(res.error, "zh***"));
    ck_assert_ptr_null(strstr(res.error, "zhangwei01"));
}
END_TEST

static const struct {
    const char *in, *want;
} scrub_cases[] = {
    {"GET /cgi-bin/message/send?access_token=abcdef123",
     "GET /cgi-bin/message/send?access_token=***"},
    {"gettoken?corpid=ww1&corpsecret=S3CR3T&x=1",
     "gettoken?corpid=ww1&corpsecret=***&x=1"},
    {"webhook/send?key=693a91f6-7xxx HTTP/1.1",
     "webhook/send?key=*** HTTP/1.1"},
    /* short values are hidden too */
    {"access_token=ab", "access_token=**"},
    {"nothing to hide", "nothing to hide"},
    {"key=", "key="},
};

START_TEST(test_scrub)
{
    char buf[200];

    snprintf(buf, sizeof buf, "%s", scrub_cases[_i].in);
    ck_assert_str_eq(wecom_scrub(buf), scrub_cases[_i].want);
}
END_TEST

/* --- the limiter ---------------------------------------------------------- */

/* 3 per 1000 ms, no guard: the 4th waits for the 1st to leave. */
START_TEST(test_limit_holds_back)
{
    struct ratelimit *rl = ratelimit_new(3, 1000, 0);

    ck_assert_int_eq(ratelimit_reserve(rl, "a", 0), 0);
    ck_assert_int_eq(ratelimit_reserve(rl, "a", 100), 100);
    ck_assert_int_eq(ratelimit_reserve(rl, "a", 200), 200);
    /* over: waits until 0 + 1000 */
    ck_assert_int_eq(ratelimit_reserve(rl, "a", 300), 1000);
    /* the 5th waits for the 2nd: 100 + 1000 */
    ck_assert_int_eq(ratelimit_reserve(rl, "a", 300), 1100);
    ck_assert_int_eq(ratelimit_reserve(rl, "a", 300), 1200);
    /* the 7th waits for the 4th, which itself waited */
    ck_assert_int_eq(ratelimit_reserve(rl, "a", 300), 2000);
    /* another key is not held back by a */
    ck_assert_int_eq(ratelimit_reserve(rl, "b", 300), 300);
    ratelimit_free(rl);
}
END_TEST

/* In any window of the given length, never more than limit. */
START_TEST(test_limit_window_property)
{
    struct ratelimit *rl = ratelimit_new(5, 1000, 50);
    int64_t at[200];

    for (int i = 0; i < 200; i++)
        at[i] = ratelimit_reserve(rl, "k", i * 37);
    for (int i = 0; i < 200; i++) {
        int in = 0;
        for (int j = 0; j < 200; j++)
            in += at[j] >= at[i] && at[j] < at[i] + 1050;
        ck_assert_int_le(in, 5);
        if (i > 0)
            ck_assert_int_ge(at[i], at[i - 1]);
    }
    ratelimit_free(rl);
}
END_TEST

/* The guard stretches the window. */
START_TEST(test_limit_guard)
{
    struct ratelimit *rl = ratelimit_new(1, 1000, 200);

    ck_assert_int_eq(ratelimit_reserve(rl, "a", 0), 0);
    ck_assert_int_eq(ratelimit_reserve(rl, "a", 0), 1200);
    ratelimit_free(rl);
}
END_TEST

/* Keys whose window emptied are forgotten: memory follows use. */
START_TEST(test_limit_forgets)
{
    struct ratelimit *rl = ratelimit_new(2, 1000, 0);
    char key[32];

    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "user%d", i);
        ratelimit_reserve(rl, key, 0);
    }
    ck_assert_uint_eq(ratelimit_keys(rl), 1000);
    /* a window later, one reservation sweeps the idle ones away */
    ratelimit_reserve(rl, "late", 1000);
    ck_assert_uint_eq(ratelimit_keys(rl), 1);
    /* a forgotten key starts afresh */
    ck_assert_int_eq(ratelimit_reserve(rl, "user1", 1001), 1001);
    ck_assert_int_eq(ratelimit_reserve(rl, "user1", 1001), 1001);
    ck_assert_int_eq(ratelimit_reserve(rl, "user1", 1001), 2001);
    ratelimit_free(rl);
}
END_TEST

/* A key still waiting is not forgotten. */
START_TEST(test_limit_keeps_waiting)
{
    struct ratelimit *rl = ratelimit_new(1, 1000, 0);

    ratelimit_reserve(rl, "a", 0);
    ck_assert_int_eq(ratelimit_reserve(rl, "a", 0), 1000);
    ratelimit_reserve(rl, "b", 1500); /* sweeps: a's newest is at 1000 */
    ck_assert_uint_eq(ratelimit_keys(rl), 2);
    ck_assert_int_eq(ratelimit_reserve(rl, "a", 1500), 2000);
    ratelimit_free(rl);
}
END_TEST

static const struct {
    const char *in;
    int ok, limit;
    long window_ms;
} parse_cases[] = {
    {"30/m", 1, 30, 60000},
    {"20/m", 1, 20, 60000},
    {"5/s", 1, 5, 1000},
    {"1000/h", 1, 1000, 3600000},
    /* a window of any duration, for tests */
    {"10/2s", 1, 10, 2000},
    {"3/500ms", 1, 3, 500},
    /* error rows */
    {"0/m", 0, 0, 0},
    {"30", 0, 0, 0},
    {"30/x", 0, 0, 0},
    {"/m", 0, 0, 0},
    {"1.5/s", 0, 0, 0},
    {"-3/s", 0, 0, 0},
};

START_TEST(test_rate_parse)
{
    int limit = 0;
    int64_t window = 0;
    int rc = ratelimit_parse(parse_cases[_i].in, &limit, &window);

    ck_assert_int_eq(rc, parse_cases[_i].ok ? 0 : -1);
    if (parse_cases[_i].ok) {
        ck_assert_int_eq(limit, parse_cases[_i].limit);
        ck_assert_int_eq(window, parse_cases[_i].window_ms);
    }
}
END_TEST

/* --- the token cache -------------------------------------------------------
 */

/* Renewed a quarter of its life before the end, at most 5 minutes. */
START_TEST(test_token_renewal_time)
{
    struct wecom_token t = {0};

    ck_assert(!wecom_token_usable(&t, 0));
    wecom_token_store(&t, "T1", 7200, 1000);
    ck_assert_uint_eq(t.generation, 1);
    ck_assert(wecom_token_usable(&t, 1000 + 6900 * 1000 - 1));
    ck_assert(!wecom_token_usable(&t, 1000 + 6900 * 1000));
    /* a test's 2 s token is used for 1.5 s */
    wecom_token_store(&t, "T2", 2, 0);
    ck_assert_uint_eq(t.generation, 2);
    ck_assert(wecom_token_usable(&t, 1499));
    ck_assert(!wecom_token_usable(&t, 1500));
    /* no expires_in: WeCom's usual two hours */
    wecom_token_store(&t, "T3", 0, 0);
    ck_assert(wecom_token_usable(&t, 6899 * 1000));
}
END_TEST

/* A refused send drops the token only if it is the one it used. */
START_TEST(test_token_invalidate)
{
    struct wecom_token t = {0};

    wecom_token_store(&t, "T1", 7200, 0);
    wecom_token_store(&t, "T2", 7200, 0); /* a newer one came meanwhile */
    ck_assert_int_eq(wecom_token_invalidate(&t, 1), 0);
    ck_assert(wecom_token_usable(&t, 0));
    ck_assert_int_eq(wecom_token_invalidate(&t, 2), 1);
    ck_assert(!wecom_token_usable(&t, 0));
    ck_assert_int_eq(wecom_token_invalidate(&t, 2), 0); /* already gone */
}
END_TEST

static const struct {
    const char *body;
    int ok;
    const char *token;
    long expires;
    enum chan_status status;
    const char *code;
} token_cases[] = {
    {"{\"errcode\":0,\"errmsg\":\"ok\",\"access_token\":\"AT1\","
     "\"expires_in\":7200}",
     1, "AT1", 7200, CHAN_OK, ""},
    /* a wrong secret: renewing cannot help; the account's, transient */
    {"{\"errcode\":40001,\"errmsg\":\"invalid credential\"}", 0, NULL, 0,
     CHAN_TRANSIENT, "40001"},
    /* a wrong corp_id, a server IP not trusted: never */
    {"{\"errcode\":40013}", 0, NULL, 0, CHAN_PERMANENT, "40013"},
    {"{\"errcode\":60020}", 0, NULL, 0, CHAN_PERMANENT, "60020"},
    /* busy */
    {"{\"errcode\":-1}", 0, NULL, 0, CHAN_TRANSIENT, "-1"},
    /* ok without a token, or garbage */
    {"{\"errcode\":0}", 0, NULL, 0, CHAN_TRANSIENT, "answer"},
    {"nope", 0, NULL, 0, CHAN_TRANSIENT, "answer"},
};

START_TEST(test_token_parse)
{
    struct chan_result res = {0};
    char tok[WECOM_TOKEN_MAX] = "";
    long expires = 0;
    int rc = wecom_token_parse(token_cases[_i].body, tok, sizeof tok, &expires,
                               &res);

    ck_assert_int_eq(rc, token_cases[_i].ok ? 0 : -1);
    ck_assert_int_eq(res.status, token_cases[_i].status);
    ck_assert_str_eq(res.code, token_cases[_i].code);
    if (token_cases[_i].ok) {
        ck_assert_str_eq(tok, token_cases[_i].token);
        ck_assert_int_eq(expires, token_cases[_i].expires);
    } else {
        ck_assert_int_eq(res.account, 1);
        ck_assert_ptr_nonnull(strstr(res.error, "no access token"));
    }
}
END_TEST

/* --- the delay queue -------------------------------------------------------
 */

struct seen {
    pthread_mutex_t mu;
    int order[8], n;
    int64_t at[8];
};

static void record(void *arg, void *item)
{
    struct seen *s = arg;

    pthread_mutex_lock(&s->mu);
    s->at[s->n] = clock_mono_ms();
    s->order[s->n++] = (int)(intptr_t)item;
    pthread_mutex_unlock(&s->mu);
}

static void count_dropped(void *arg, void *item)
{
    (*(int *)arg)++;
}

/* Items go when due, earliest first, ties in the order added; those
 * not yet due at the end are dropped, not lost. */
START_TEST(test_delayq)
{
    struct seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct delayq *q = delayq_new(record, &s);
    int64_t t0 = clock_mono_ms();
    int dropped = 0;

    delayq_add(q, t0 + 120, (void *)3);
    delayq_add(q, t0 + 60, (void *)1);
    delayq_add(q, t0 + 60, (void *)2);
    delayq_add(q, t0 + 60000, (void *)4);
    for (int i = 0; i < 100 && delayq_len(q) > 1; i++)
        usleep(10000);
    ck_assert_int_eq(delayq_len(q), 1);
    pthread_mutex_lock(&s.mu);
    ck_assert_int_eq(s.n, 3);
    ck_assert_int_eq(s.order[0], 1);
    ck_assert_int_eq(s.order[1], 2);
    ck_assert_int_eq(s.order[2], 3);
    ck_assert_int_ge(s.at[0], t0 + 60);
    ck_assert_int_ge(s.at[2], t0 + 120);
    pthread_mutex_unlock(&s.mu);
    delayq_free(q, count_dropped, &dropped);
    ck_assert_int_eq(dropped, 1);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("wecom", &tc);

    tcase_add_loop_test(tc, test_request_json, 0,
                        sizeof request_cases / sizeof request_cases[0]);
    tcase_add_test(tc, test_unknown_kind);
    tcase_add_loop_test(tc, test_classify, 0,
                        sizeof answer_cases / sizeof answer_cases[0]);
    tcase_add_test(tc, test_classify_masks);
    tcase_add_loop_test(tc, test_scrub, 0,
                        sizeof scrub_cases / sizeof scrub_cases[0]);
    tcase_add_test(tc, test_limit_holds_back);
    tcase_add_test(tc, test_limit_window_property);
    tcase_add_test(tc, test_limit_guard);
    tcase_add_test(tc, test_limit_forgets);
    tcase_add_test(tc, test_limit_keeps_waiting);
    tcase_add_loop_test(tc, test_rate_parse, 0,
                        sizeof parse_cases / sizeof parse_cases[0]);
    tcase_add_test(tc, test_token_renewal_time);
    tcase_add_test(tc, test_token_invalidate);
    tcase_add_loop_test(tc, test_token_parse, 0,
                        sizeof token_cases / sizeof token_cases[0]);
    tcase_add_test(tc, test_delayq);
    return check_run(s);
}
