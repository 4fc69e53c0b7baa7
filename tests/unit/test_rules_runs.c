/*
 * test_rules_runs.c - a run's state in Redis (rules/run.c) against a
 * throwaway redis-server: one run per rule and student at a time, a lost
 * run replaced once its rule's waits are a day past, `limit N per D`,
 * and rules without wait or limit keeping no state at all.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/keys.h"
#include "core/reply.h"
#include "rules/parser.h"
#include "rules/run.h"
#include "tests/support/redis_server.h"
#include "tests/support/check_run.h"

#define HOUR (3600LL * 1000)
#define DAY (24 * HOUR)

static struct test_redis server;

static const char *const RULES =
    "stages lead\n"
    "rule waity {\n on created\n wait 1h\n send sms hello\n}\n"
    "rule limited {\n on created\n limit 1 per 7d\n send sms hello\n}\n"
    "rule instant {\n on created\n send sms hello\n}\n";

static const struct {
    const char *rule;
    long long run_age_ms; /* a run in progress started this long ago; 0 none */
    long long limit_age_ms; /* a start within the limit this long ago; 0 none */
    int want;               /* run_start(): 1 started, 0 not */
    const char *why;        /* when not */
} cases[] = {
    /* nothing yet: starts */
    {"waity", 0, 0, 1, ""},
    /* a run in progress: not twice */
    {"waity", 10 * 60 * 1000, 0, 0, "a run of this rule is in progress"},
    /* a run whose waits are over a day past was lost: replaced */
    {"waity", 1 * HOUR + DAY + 60000, 0, 1, ""},
    /* limit 1 per 7d: one a day ago blocks, one 8 days ago does not */
    {"limited", 0, 1 * DAY, 0, "limit reached"},
    {"limited", 0, 8 * DAY, 1, ""},
    /* no wait, no limit: no state, an old entry is no obstacle */
    {"instant", 10 * 60 * 1000, 0, 1, ""},
};

START_TEST(test_run_start)
{
    struct config cfg;
    struct diag d = {0};
    struct rules_env env = {0};
    struct rule_file **files = calloc(1, sizeof *files);
    struct ruleset *set = NULL;
    struct run_env renv = {0};
    struct rconn *rc;
    struct student *st = student_new("7");
    struct run r;
    char why[256], key[KEY_MAX], suffix[64], value[64];
    int64_t now = clock_now_ms();
    redisReply *rep;

    config_defaults(&cfg);
    rules_env_add_channel(&env, "sms", "sms");
    files[0] = rule_parse("t.rules", RULES, strlen(RULES), &d);
    ck_assert_int_eq(ruleset_build(files, 1, &env, &set, &d), 0);
    rc = rconn_new_addr(server.address, NULL, 0, NULL);
    ck_assert_int_eq(rconn_connect(rc), 0);
    rep = rconn_cmd(rc, "FLUSHALL");
    reply_free(rep);
    if (cases[_i].run_age_ms) {
        key_student(key, sizeof key, cfg.redis.prefix, "7", "runs");
        snprintf(value, sizeof value, "old %lld",
                 (long long)(now - cases[_i].run_age_ms));
        reply_free(
            rconn_cmd(rc, "HSET %s %s %s", key, cases[_i].rule, value));
    }
    if (cases[_i].limit_age_ms) {
        snprintf(suffix, sizeof suffix, "limit:%s", cases[_i].rule);
        key_student(key, sizeof key, cfg.redis.prefix, "7", suffix);
        reply_free(rconn_cmd(rc, "ZADD %s %lld old", key,
                                  (long long)(now - cases[_i].limit_age_ms)));
    }
    student_seal(st);
    renv.cfg = &cfg;
    renv.rules = set;
    ck_assert_int_eq(run_start(&r, &renv, rc, ruleset_find(set, cases[_i].rule),
                               st, 0, NULL, why, sizeof why),
                     cases[_i].want);
    if (!cases[_i].want)
        ck_assert_str_eq(why, cases[_i].why);
    else
        run_free(&r);
    rconn_free(rc);
    student_free(st);
    ruleset_free(set);
    rules_env_free(&env);
    config_free(&cfg);
    diag_clear(&d);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("rules_runs", &tc);
    int status;

    if (test_redis_start(&server) < 0) {
        fprintf(stderr, "test_rules_runs: cannot start redis-server\n");
        return 1;
    }
    tcase_add_loop_test(tc, test_run_start, 0, sizeof cases / sizeof cases[0]);
    status = check_run(s);
    test_redis_stop(&server);
    return status;
}
