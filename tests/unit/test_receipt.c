/*
 * test_receipt.c - receipt records (core/receipt.h): which provider ids
 * may become keys, and what the send path notes comes back from a lookup
 * as it was written, against a throwaway Redis.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/receipt.h"
#include "core/reply.h"
#include "tests/support/check_run.h"
#include "tests/support/redis_server.h"

static struct test_redis server;
static struct rconn *rc;

static const struct {
    const char *id;
    int valid;
} id_cases[] = {
    /* Aliyun's BizId, a generic gateway's id */
    {"900619746936498440^0", 1},
    {"msg-2026-11-30-0001", 1},
    /* exactly 128 bytes is the limit */
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     1},
    /* 129 bytes is over */
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     0},
    /* empty, NULL */
    {"", 0},
    {NULL, 0},
    /* spaces, control bytes, DEL and non-ASCII are not printable ASCII */
    {"id 1", 0},
    {"id\t1", 0},
    {"id\n1", 0},
    {"id\x7f", 0},
    {"编号1", 0},
};

START_TEST(test_receipt_id_valid)
{
    ck_assert_int_eq(receipt_id_valid(id_cases[_i].id), id_cases[_i].valid);
}
END_TEST

static void server_up(void)
{
    memset(&server, 0, sizeof server);
    if (test_redis_start(&server) < 0)
        abort();
}

static void server_down(void)
{
    test_redis_stop(&server);
}

static void setup(void)
{
    redisReply *r;

    rc = rconn_new_addr(server.address, NULL, 0, NULL);
    ck_assert_ptr_nonnull(rc);
    ck_assert_int_eq(rconn_connect(rc), 0);
    r = rconn_cmd(rc, "FLUSHALL");
    ck_assert_ptr_nonnull(r);
    reply_free(r);
}

static void teardown(void)
{
    rconn_free(rc);
}

/* Queues a note, reads its reply: 0 done, -1 refused. */
static int note(const char *id, const char *student, const char *channel,
                const char *rule, int step, const char *tmpl)
{
    redisReply *r;

    if (receipt_note_cmd(rc, "slm:", id, student, channel, rule, step, tmpl) <
        0)
        return -1;
    r = rconn_reply(rc);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->type, REDIS_REPLY_STATUS);
    reply_free(r);
    return 0;
}

START_TEST(test_note_then_lookup)
{
    struct receipt got;
    redisReply *r;

    ck_assert_int_eq(note("biz-1", "42", "sms", "trial", 2, "invite"), 0);
    r = rconn_cmd(rc, "GET slm:receipt:biz-1");
    ck_assert_str_eq(r->str, "42\tsms\ttrial\t2\tinvite");
    reply_free(r);
    r = rconn_cmd(rc, "TTL slm:receipt:biz-1");
    ck_assert_int_eq(r->integer, RECEIPT_TTL_S);
    reply_free(r);

    ck_assert_int_eq(receipt_lookup(rc, "slm:", "biz-1", &got), 1);
    ck_assert_str_eq(got.student, "42");
    ck_assert_str_eq(got.channel, "sms");
    ck_assert_str_eq(got.rule, "trial");
    ck_assert_int_eq(got.step, 2);
    ck_assert_str_eq(got.template_name, "invite");
    ck_assert_str_eq(got.status, "");
}
END_TEST

START_TEST(test_no_rule_step)
{
    struct receipt got;

    ck_assert_int_eq(note("biz-2", "42", "wecom", NULL, -1, NULL), 0);
    ck_assert_int_eq(receipt_lookup(rc, "slm:", "biz-2", &got), 1);
    ck_assert_ptr_null(got.rule);
    ck_assert_int_eq(got.step, -1);
    ck_assert_ptr_null(got.template_name);
}
END_TEST

START_TEST(test_refused_notes)
{
    /* an id that cannot be a key, a student id that is none, a field
     * that would break the record */
    ck_assert_int_eq(note("biz 3", "42", "sms", "r", 0, "t"), -1);
    ck_assert_int_eq(note("biz-3", "4{2}", "sms", "r", 0, "t"), -1);
    ck_assert_int_eq(note("biz-3", "42", "", "r", 0, "t"), -1);
    ck_assert_int_eq(note("biz-3", "42", "sms", "r\t1", 0, "t"), -1);
    ck_assert_int_eq(note("biz-3", "42", "sms", "r", 0, "t\n"), -1);
}
END_TEST

START_TEST(test_unknown_and_broken_records)
{
    struct receipt got;
    redisReply *r;

    ck_assert_int_eq(receipt_lookup(rc, "slm:", "nobody", &got), 0);
    ck_assert_int_eq(receipt_lookup(rc, "slm:", "bad id", &got), 0);
    r = rconn_cmd(rc, "SET slm:receipt:broken %s", "42\tsms");
    reply_free(r);
    ck_assert_int_eq(receipt_lookup(rc, "slm:", "broken", &got), 0);
    r = rconn_cmd(rc, "SET slm:receipt:step %s", "42\tsms\tr\tx\tt");
    reply_free(r);
    ck_assert_int_eq(receipt_lookup(rc, "slm:", "step", &got), 0);
}
END_TEST

START_TEST(test_record_marks_the_status)
{
    struct receipt got;
    struct receipt_report rep = {.delivered = 0,
                                 .code = "E1",
                                 .message = "to 13812345678: no",
                                 .to = "13812345678"};
    redisReply *r;

    ck_assert_int_eq(note("biz-4", "42", "sms", "r", 1, "t"), 0);
    ck_assert_int_eq(receipt_lookup(rc, "slm:", "biz-4", &got), 1);
    ck_assert_int_eq(receipt_record_cmd(rc, "slm:", 100, "biz-4", &got, &rep),
                     0);
    ck_assert_int_eq(rconn_discard(rc, RECEIPT_RECORD_CMDS), 0);
    ck_assert_int_eq(receipt_lookup(rc, "slm:", "biz-4", &got), 1);
    ck_assert_str_eq(got.status, "undelivered");
    r = rconn_cmd(rc, "XRANGE slm:student:{42}:timeline - +");
    ck_assert_int_eq(r->elements, 1);
    /* type rule step channel template to provider_id detail actor */
    ck_assert_int_eq(r->element[0]->element[1]->elements, 18);
    ck_assert_str_eq(r->element[0]->element[1]->element[11]->str,
                     "138****5678");
    ck_assert_str_eq(r->element[0]->element[1]->element[15]->str,
                     "E1: to 138****5678: no");
    ck_assert_str_eq(r->element[0]->element[1]->element[17]->str,
                     "provider:sms");
    reply_free(r);
}
END_TEST

int main(void)
{
    TCase *tc, *redis;
    Suite *s = check_suite("receipt", &tc);

    tcase_add_loop_test(tc, test_receipt_id_valid, 0,
                        sizeof id_cases / sizeof id_cases[0]);
    redis = tcase_create("redis");
    tcase_add_unchecked_fixture(redis, server_up, server_down);
    tcase_add_checked_fixture(redis, setup, teardown);
    tcase_add_test(redis, test_note_then_lookup);
    tcase_add_test(redis, test_no_rule_step);
    tcase_add_test(redis, test_refused_notes);
    tcase_add_test(redis, test_unknown_and_broken_records);
    tcase_add_test(redis, test_record_marks_the_status);
    suite_add_tcase(s, redis);
    return check_run(s);
}
