/*
 * test_pause.c - which pause stops which message (core/pause.h), against
 * a throwaway redis-server: a table of the pauses set, the message's
 * channel and rule, and whether it may go.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/pause.h"
#include "core/reply.h"
#include "tests/support/check_run.h"
#include "tests/support/redis_server.h"

static struct test_redis server;
static struct rconn *rc;

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
    ck_assert_ptr_nonnull(r = rconn_cmd(rc, "FLUSHALL"));
    reply_free(r);
    pause_cache_reset();
}

static void teardown(void)
{
    rconn_free(rc);
}

static const struct {
    const char *paused[2][2]; /* up to two pauses: {channel, rule} */
    const char *channel, *rule;
    int blocked;
    const char *why;
} cases[] = {
    /* nothing paused */
    {{{0}}, "sms", "r1", 0, NULL},
    /* pause with no option: everything, alerts (no rule) too */
    {{{"", ""}}, "sms", "r1", 1, "paused (all)"},
    {{{"", ""}}, "wecom", NULL, 1, "paused (all)"},
    /* one channel */
    {{{"sms", NULL}}, "sms", "r1", 1, "paused (channel:sms)"},
    {{{"sms", NULL}}, "email", "r1", 0, NULL},
    {{{"wecom", NULL}}, "wecom", NULL, 1, "paused (channel:wecom)"},
    /* one rule: not an alert, which is no rule's */
    {{{NULL, "r1"}}, "sms", "r1", 1, "paused (rule:r1)"},
    {{{NULL, "r1"}}, "sms", "r2", 0, NULL},
    {{{NULL, "r1"}}, "sms", NULL, 0, NULL},
    /* a rule on a channel: only both */
    {{{"sms", "r1"}}, "sms", "r1", 1, "paused (rule:r1/channel:sms)"},
    {{{"sms", "r1"}}, "email", "r1", 0, NULL},
    {{{"sms", "r1"}}, "sms", "r2", 0, NULL},
    /* two pauses: either stops it */
    {{{"email", NULL}, {NULL, "r2"}}, "sms", "r2", 1, "paused (rule:r2)"},
    /* a name that is a prefix of another is not it */
    {{{"sms", NULL}}, "sms_backup", "r1", 0, NULL},
};

START_TEST(test_pause_blocked)
{
    char why[128] = "", field[128];

    for (int k = 0; k < 2; k++) {
        const char *ch = cases[_i].paused[k][0], *rule = cases[_i].paused[k][1];
        if (!ch && !rule)
            continue;
        ck_assert_int_eq(pause_field(field, sizeof field, ch && *ch ? ch : NULL,
                                     rule && *rule ? rule : NULL),
                         0);
        ck_assert_int_eq(pause_set(rc, "slm:", field, "ops", 1000), 0);
    }
    ck_assert_int_eq(pause_blocked(rc, "slm:", cases[_i].channel,
                                   cases[_i].rule, why, sizeof why),
                     cases[_i].blocked);
    if (cases[_i].why)
        ck_assert_str_eq(why, cases[_i].why);
}
END_TEST

/* resume: one pause, or all of them; the cache sees it after
 * PAUSE_CACHE_MS, not before. */
START_TEST(test_pause_clear_and_cache)
{
    char why[128];

    ck_assert_int_eq(pause_set(rc, "slm:", "channel:sms", "ops", 1), 0);
    ck_assert_int_eq(pause_set(rc, "slm:", "all", "ops", 1), 0);
    ck_assert_int_eq(pause_blocked(rc, "slm:", "email", NULL, why, sizeof why),
                     1);
    ck_assert_int_eq(pause_clear(rc, "slm:", "all"), 1);
    ck_assert_int_eq(pause_clear(rc, "slm:", "all"), 0);
    /* cached: still paused for up to PAUSE_CACHE_MS */
    ck_assert_int_eq(pause_blocked(rc, "slm:", "email", NULL, why, sizeof why),
                     1);
    pause_cache_reset();
    ck_assert_int_eq(pause_blocked(rc, "slm:", "email", NULL, why, sizeof why),
                     0);
    ck_assert_int_eq(pause_blocked(rc, "slm:", "sms", NULL, why, sizeof why),
                     1);
    ck_assert_int_eq(pause_clear(rc, "slm:", NULL), 1); /* everything */
    pause_cache_reset();
    ck_assert_int_eq(pause_blocked(rc, "slm:", "sms", NULL, why, sizeof why),
                     0);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("pause", &tc);

    tcase_add_unchecked_fixture(tc, server_up, server_down);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_pause_blocked, 0,
                        sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, test_pause_clear_and_cache);
    return check_run(s);
}
