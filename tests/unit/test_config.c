/*
 * test_config.c - the INI config: good files, and each kind of bad one
 * with the exact "file:line: message" a person reads.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "tests/support/check_run.h"

static char dir[] = "/tmp/nudge-test-config-XXXXXX";

/* Writes text to dir/name; returns the path (static buffer). */
static const char *write_conf(const char *name, const char *text)
{
    static char path[512];
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
    return path;
}

static const struct {
    const char *text;
    const char *error; /* NULL: loads; else the first error after "file:" */
} cases[] = {
    /* the sample's shape, with inline comments */
    {"[redis]\naddress = 10.0.0.1:6380   # a comment\nprefix = x:\n"
     "[http]\nlisten = 127.0.0.1:9999\n",
     NULL},
    /* a unix socket */
    {"[redis]\naddress = unix:/run/redis/redis.sock\n", NULL},
    /* an empty listen turns HTTP off */
    {"[http]\nlisten =\n", NULL},
    {"[school]\nname = 某某大学\nphone = 010-12345678\n", NULL},
    {"[channel.outbox]\ntype = outbox\nas = sms\npath = o.jsonl\n", NULL},
    /* grouped alerts; an empty crm_url means no links */
    {"[alerts]\ngroup_wait = 0s\ngroup_interval = 10m\nrepeat_interval = 1d\n"
     "crm_url = https://crm.example.edu/s/{id}?tab=1\n",
     NULL},
    {"[alerts]\ncrm_url =\n", NULL},
    {"[digest]\nat = 18:00\nchannel = outbox\n[channel.outbox]\ntype = outbox\n"
     "as = wecom\npath = o.jsonl\n",
     NULL},
    /* consent words are PCRE2 patterns; an empty list is none */
    {"[consent]\noptout_words = TD, unsub(scribe)?, 退订\noptin_words =\n"
     "optout_scope = all\nconfirm_template = optout_confirm\n",
     NULL},
    /* data minimisation: names by spaces or commas; empty is any */
    {"[templates]\nallowed_attributes = name score, major_intent  province\n",
     NULL},
    {"[templates]\nallowed_attributes =\n", NULL},
    /* errors */
    {"[templates]\nallowed_attributes = name id.card\n",
     "2: allowed_attributes: invalid name \"id.card\": use names of "
     "letters, digits, _ and -, separated by spaces or commas"},
    {"[consent]\n\noptout_words = TD, (abc\n",
     "3: optout_words: bad word \"(abc\": missing closing parenthesis"},
    {"[consent]\noptout_scope = sms\n",
     "2: optout_scope: invalid optout_scope \"sms\": use channel (the "
     "reply's channel) or all (every channel)"},
    {"[redis]\nadress = 1.2.3.4:5\n",
     "2: unknown key \"adress\" in [redis]"},
    {"[redsi]\naddress = 1.2.3.4:5\n", "1: unknown section [redsi]"},
    {"[redis]\naddress = localhost\n",
     "2: address: invalid address \"localhost\": use host:port or "
     "unix:/path"},
    {"[redis]\ndb = -1\n",
     "2: db: invalid number \"-1\": use a whole number from 0 to 1024"},
    {"[daemon]\n\nblock = 3x\n",
     "3: block: invalid duration \"3x\": use a number and ms, s, m, h, d "
     "or w"},
    {"[daemon]\nlog_level = loud\n",
     "2: log_level: invalid log level \"loud\": use error, warn, info or "
     "debug"},
    {"[leads]\nfollowup_by = supervisor\n",
     "2: followup_by: invalid followup_by \"supervisor\": use any (every "
     "staff member's followups count) or owner (only the owner's)"},
    {"[delivery]\nblackout = 2026-06-07..2026-06-10, 2026-13-01\n",
     "2: blackout: invalid date \"2026-13-01\": use YYYY-MM-DD or "
     "YYYY-MM-DD..YYYY-MM-DD"},
    {"[delivery]\nblackout = 2026-06-10..2026-06-07\n",
     "2: blackout: invalid range \"2026-06-10..2026-06-07\": it ends "
     "before it starts"},
    {"[delivery]\nquiet_hours = 9pm-8am\n",
     "2: quiet_hours: invalid hours \"9pm-8am\": use HH:MM-HH:MM, e.g. "
     "21:00-08:00"},
    {"[delivery]\nquiet_hours_staff = office\n",
     "2: quiet_hours_staff: invalid hours \"office\": use working (outside "
     "[worktime]), HH:MM-HH:MM, e.g. 20:00-08:00, or nothing for never"},
    {"[alerts]\ngroup_interval = half an hour\n",
     "2: group_interval: invalid duration \"half an hour\": use a number and "
     "ms, s, m, h, d or w"},
    /* a link pattern without {id} would send every lead to one page */
    {"[alerts]\n\ncrm_url = https://crm.example.edu/students/\n",
     "3: crm_url: invalid URL pattern \"https://crm.example.edu/students/\": "
     "use an http(s) URL with {id} where the student's id goes, e.g. "
     "https://crm.example.edu/students/{id}"},
    {"[alerts]\ncrm_url = crm/{id}\n",
     "2: crm_url: invalid URL pattern \"crm/{id}\": use an http(s) URL with "
     "{id} where the student's id goes, e.g. "
     "https://crm.example.edu/students/{id}"},
    {"[digest]\nat = 6pm\n",
     "2: at: invalid time \"6pm\": use HH:MM, e.g. 18:00"},
    {"[digest]\nat = 18:00\nchannel = wecom\n",
     "3: channel: no [channel.wecom] for the digest"},
    {"[alerts]\ngroup_size = 3\n", "2: unknown key \"group_size\" in [alerts]"},
    {"[redis]\npassword = env:NUDGE_TEST_SURELY_UNSET\n",
     "2: password: environment variable NUDGE_TEST_SURELY_UNSET is not set"},
    {"address = 1.2.3.4:5\n", "1: key \"address\" is outside any [section]"},
    {"[redis]\nthis line is not a pair\n",
     "2: syntax error: expected [section] or name = value"},
    {"[channel.sms]\nas = sms\n",
     "1: [channel.sms] has no type: use sms, email, wecom, webhook or "
     "outbox"},
    {"[channel.a]\ntype = outbox\n[channel.a]\ntype = outbox\n",
     "3: channel \"a\" is defined twice"},
};

START_TEST(test_config_cases)
{
    struct config cfg;
    struct diag d = {0};
    const char *path = write_conf("case.conf", cases[_i].text);
    int rc = config_load(path, &cfg, &d);

    if (!cases[_i].error) {
        ck_assert_msg(rc == 0, "unexpected error: %s", diag_first(&d));
    } else {
        char want[512];
        snprintf(want, sizeof want, "%s:%s", path, cases[_i].error);
        ck_assert_int_eq(rc, -1);
        ck_assert_str_eq(diag_first(&d), want);
    }
    config_free(&cfg);
    diag_clear(&d);
}
END_TEST

START_TEST(test_config_values)
{
    struct config cfg;
    struct diag d = {0};
    const char *path = write_conf(
        "values.conf", "[redis]\naddress = 10.0.0.1:6380  # primary\n"
                       "timeline_maxlen = 500\n[daemon]\nblock = 250ms\n"
                       "[rules]\ndir = myrules\n[school]\nname = 某某大学\n"
                       "[channel.sms]\ntype = outbox\nas = sms\npath = x\n");

    ck_assert_int_eq(config_load(path, &cfg, &d), 0);
    ck_assert_str_eq(cfg.redis.address, "10.0.0.1:6380");
    ck_assert_int_eq(cfg.redis.timeline_maxlen, 500);
    ck_assert_int_eq(cfg.daemon.block_ms, 250);
    /* defaults stay where the file is silent */
    ck_assert_str_eq(cfg.redis.prefix, "slm:");
    ck_assert_int_eq(cfg.daemon.batch, 500);
    ck_assert_int_eq(cfg.alerts.group_wait_ms, 5 * 60 * 1000);
    ck_assert_int_eq(cfg.alerts.group_interval_ms, 30 * 60 * 1000);
    ck_assert_int_eq(cfg.alerts.repeat_interval_ms, 4 * 3600 * 1000);
    ck_assert_str_eq(cfg.alerts.crm_url, "");
    /* relative paths: beside the config */
    ck_assert_str_eq(cfg.rules.dir + strlen(cfg.rules.dir) - 8, "/myrules");
    ck_assert_int_eq(strncmp(cfg.rules.dir, cfg.dir, strlen(cfg.dir)), 0);
    ck_assert_str_eq(attrs_get(&cfg.school, "name"), "某某大学");
    ck_assert_int_eq(cfg.nchannels, 1);
    ck_assert_str_eq(conf_section_get(&cfg.channels[0], "as"), "sms");
    ck_assert_int_eq(conf_section_line(&cfg.channels[0], "path"), 13);
    config_free(&cfg);
    diag_clear(&d);
}
END_TEST

START_TEST(test_config_secrets)
{
    struct config cfg;
    struct diag d = {0};
    const char *path;

    write_conf("secret.txt", "s3cret\n");
    setenv("NUDGE_TEST_PW", "from-env", 1);
    path = write_conf("s.conf", "[redis]\npassword = file:secret.txt\n"
                                "[templates]\nunsubscribe_secret = "
                                "env:NUDGE_TEST_PW\n");
    ck_assert_int_eq(config_load(path, &cfg, &d), 0);
    ck_assert_str_eq(cfg.redis.password, "s3cret"); /* newline trimmed */
    ck_assert_str_eq(cfg.templates.unsubscribe_secret, "from-env");
    config_free(&cfg);
    diag_clear(&d);
}
END_TEST

START_TEST(test_config_missing_file)
{
    struct config cfg;
    struct diag d = {0};

    ck_assert_int_eq(config_load("/nonexistent/nudged.conf", &cfg, &d), -1);
    ck_assert_str_eq(diag_first(&d), "/nonexistent/nudged.conf: cannot read "
                                     "the config: No such file or directory");
    config_free(&cfg);
    diag_clear(&d);
}
END_TEST

START_TEST(test_config_counts_all_errors)
{
    struct config cfg;
    struct diag d = {0};
    const char *path = write_conf(
        "many.conf", "[redis]\nfoo = 1\nbar = 2\n[daemon]\nbatch = 0\n");

    ck_assert_int_eq(config_load(path, &cfg, &d), -1);
    ck_assert_int_eq(d.errors, 3);
    config_free(&cfg);
    diag_clear(&d);
}
END_TEST

START_TEST(test_unused_channel_keys)
{
    struct config cfg;
    struct diag d = {0};
    const char *path = write_conf(
        "chan.conf", "[channel.x]\ntype = outbox\npath = p\ncolour = red\n");

    ck_assert_int_eq(config_load(path, &cfg, &d), 0);
    conf_section_get(&cfg.channels[0], "type");
    conf_section_get(&cfg.channels[0], "path");
    ck_assert_int_eq(conf_section_unused(&cfg.channels[0], &d), 1);
    ck_assert_ptr_nonnull(strstr(diag_first(&d),
                                 ":4: unknown key \"colour\" in [channel.x]"));
    config_free(&cfg);
    diag_clear(&d);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("config", &tc);

    if (!mkdtemp(dir))
        return EXIT_FAILURE;
    tcase_add_loop_test(tc, test_config_cases, 0,
                        sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, test_config_values);
    tcase_add_test(tc, test_config_secrets);
    tcase_add_test(tc, test_config_missing_file);
    tcase_add_test(tc, test_config_counts_all_errors);
    tcase_add_test(tc, test_unused_channel_keys);
    int status = check_run(s);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return status;
}
