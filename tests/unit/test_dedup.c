/*
 * test_dedup.c - the template's claim of [delivery] dedup_window
 * (rules/dedup.h): the pure parts (holder, time, reason) and the claim
 * itself against a throwaway redis-server: taken once, found own by the
 * same step, held against another, given back only by its holder, gone
 * after the window.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/keys.h"
#include "core/reply.h"
#include "rules/dedup.h"
#include "tests/support/check_run.h"
#include "tests/support/redis_server.h"

static struct test_redis server;
static struct rconn *rc;
static struct config cfg;

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

    config_defaults(&cfg);
    rc = rconn_new_addr(server.address, NULL, 0, NULL);
    ck_assert_ptr_nonnull(rc);
    ck_assert_int_eq(rconn_connect(rc), 0);
    ck_assert_ptr_nonnull(r = rconn_cmd(rc, "FLUSHALL"));
    reply_free(r);
}

static void teardown(void)
{
    rconn_free(rc);
    config_free(&cfg);
}

START_TEST(test_key_and_holder)
{
    char key[KEY_MAX], holder[DEDUP_HOLDER_MAX];

    dedup_key(key, sizeof key, "slm:", "42", "welcome", "sms");
    ck_assert_str_eq(key, "slm:student:{42}:dedup:welcome.sms");
    dedup_holder(holder, sizeof holder, "r1", 0);
    ck_assert_str_eq(holder, "r1:1"); /* steps counted from 1 */
    ck_assert_int_eq(cfg.delivery.dedup_window_ms, 24LL * 3600 * 1000);
}
END_TEST

START_TEST(test_is_own_compares_the_whole_holder)
{
    ck_assert(dedup_is_own("r1:1@1700000000000", "r1:1"));
    ck_assert(!dedup_is_own("r1:12@1700000000000", "r1:1"));
    ck_assert(!dedup_is_own("r1:2@1700000000000", "r1:1"));
    ck_assert(!dedup_is_own("xr1:1@1700000000000", "r1:1"));
    ck_assert(!dedup_is_own("", "r1:1"));
}
END_TEST

START_TEST(test_taken_at_and_reason)
{
    char why[300];

    ck_assert_int_eq(dedup_taken_at("r1:1@1700000000000"), 1700000000000LL);
    ck_assert_int_eq(dedup_taken_at("r1:1"), 0);
    ck_assert_int_eq(dedup_taken_at("r1:1@12x"), 0);
    /* 1700000000000 = 2023-11-14 22:13:20 UTC = 06:13 in Shanghai */
    dedup_reason(why, sizeof why, "welcome", "r1:1@1700000000000",
                 "Asia/Shanghai");
    ck_assert_str_eq(why, "template welcome was sent to this student at "
                          "06:13, within dedup_window");
    dedup_reason(why, sizeof why, "welcome", "r1:1@1700000000000", "UTC");
    ck_assert_ptr_nonnull(strstr(why, " at 22:13,"));
    dedup_reason(why, sizeof why, "welcome", "garbage", "UTC");
    ck_assert_str_eq(why, "template welcome was sent to this student within "
                          "dedup_window");
}
END_TEST

START_TEST(test_claim_is_taken_once)
{
    char key[KEY_MAX], prev[DEDUP_HOLDER_MAX];

    dedup_key(key, sizeof key, "slm:", "1", "welcome", "sms");
    ck_assert_int_eq(dedup_take(rc, &cfg, key, "ra:1", 1000, prev, sizeof prev),
                     1);
    /* the same step again (a retry): held, and its own */
    ck_assert_int_eq(dedup_take(rc, &cfg, key, "ra:1", 2000, prev, sizeof prev),
                     0);
    ck_assert_str_eq(prev, "ra:1@1000");
    ck_assert(dedup_is_own(prev, "ra:1"));
    /* another rule's send: held by ra */
    ck_assert_int_eq(dedup_take(rc, &cfg, key, "rb:1", 3000, prev, sizeof prev),
                     0);
    ck_assert(!dedup_is_own(prev, "rb:1"));
    ck_assert_int_eq(dedup_peek(rc, key, prev, sizeof prev), 1);
    ck_assert_str_eq(prev, "ra:1@1000");
}
END_TEST

START_TEST(test_give_back_only_by_its_holder)
{
    char key[KEY_MAX], prev[DEDUP_HOLDER_MAX];

    dedup_key(key, sizeof key, "slm:", "1", "welcome", "sms");
    ck_assert_int_eq(dedup_take(rc, &cfg, key, "ra:1", 1000, prev, sizeof prev),
                     1);
    ck_assert_int_eq(dedup_give_back(rc, key, "rb:1"), 0);
    ck_assert_int_eq(dedup_give_back(rc, key, "ra:"), 0);
    ck_assert_int_eq(dedup_peek(rc, key, prev, sizeof prev), 1);
    ck_assert_int_eq(dedup_give_back(rc, key, "ra:1"), 0);
    ck_assert_int_eq(dedup_peek(rc, key, prev, sizeof prev), 0);
    ck_assert_int_eq(dedup_take(rc, &cfg, key, "rb:1", 2000, prev, sizeof prev),
                     1);
}
END_TEST

START_TEST(test_claim_ends_with_the_window)
{
    char key[KEY_MAX], prev[DEDUP_HOLDER_MAX];

    cfg.delivery.dedup_window_ms = 100;
    dedup_key(key, sizeof key, "slm:", "1", "welcome", "sms");
    ck_assert_int_eq(dedup_take(rc, &cfg, key, "ra:1", 1000, prev, sizeof prev),
                     1);
    ck_assert_int_eq(dedup_take(rc, &cfg, key, "rb:1", 1000, prev, sizeof prev),
                     0);
    usleep(250 * 1000);
    ck_assert_int_eq(dedup_take(rc, &cfg, key, "rb:1", 1000, prev, sizeof prev),
                     1);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("dedup", &tc);

    tcase_add_unchecked_fixture(tc, server_up, server_down);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_key_and_holder);
    tcase_add_test(tc, test_is_own_compares_the_whole_holder);
    tcase_add_test(tc, test_taken_at_and_reason);
    tcase_add_test(tc, test_claim_is_taken_once);
    tcase_add_test(tc, test_give_back_only_by_its_holder);
    tcase_add_test(tc, test_claim_ends_with_the_window);
    return check_run(s);
}
