/*
 * test_tmpl_class.c - message classes (core/msgclass.h, docs/policy.md):
 * the `Kind:` header of every part type, its values and synonym, the
 * marketing default, errors with their place and hint; the class a step
 * sends as (staff for notify and escalate); what the class changes in an
 * SMS (the opt-out text); and data minimisation, the student attributes
 * [templates] allowed_attributes lets templates use.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/msgclass.h"
#include "templates/compile.h"
#include "templates/tmpl.h"
#include "tests/support/check_run.h"

/* --- names ---------------------------------------------------------------- */

static const struct {
    const char *text;
    int want; /* enum msg_class, or -1 */
} name_cases[] = {
    {"marketing", MSG_MARKETING},
    {"service", MSG_SERVICE},
    {"staff", MSG_STAFF},
    {"notice", MSG_SERVICE}, /* the synonym older templates use */
    {"marketting", -1},      /* misspelt */
    {"Marketing", -1},       /* values are lower case, as written */
    {"", -1},
};

START_TEST(test_names)
{
    const char *t = name_cases[_i].text;

    ck_assert_int_eq(msg_class_parse(t, strlen(t)), name_cases[_i].want);
    if (name_cases[_i].want >= 0 && strcmp(t, "notice") != 0)
        ck_assert_str_eq(msg_class_name((enum msg_class)name_cases[_i].want),
                         t);
}
END_TEST

/* --- parts ------------------------------------------------------------------ */

static const struct {
    const char *file, *text;
    int want;          /* the part's class, or -1: the load fails */
    const char *error; /* the first message, with DIR for the folder */
} part_cases[] = {
    /* unmarked student templates are marketing, in every type */
    {"a.sms", "您好\n", MSG_MARKETING, NULL},
    {"a.email", "Subject: Hi\n\nHello\n", MSG_MARKETING, NULL},
    {"a.wecom", "Hello\n", MSG_MARKETING, NULL},
    {"a.webhook", "{\"a\": 1}\n", MSG_MARKETING, NULL},
    /* each value in each type */
    {"a.sms", "Kind: service\n\n录取结果已发布\n", MSG_SERVICE, NULL},
    {"a.sms", "Kind: notice\n\n缴费截止\n", MSG_SERVICE, NULL},
    {"a.sms", "Kind: marketing\n\n开放日\n", MSG_MARKETING, NULL},
    {"a.sms", "Kind: staff\n\n新线索\n", MSG_STAFF, NULL},
    {"a.email", "Subject: Hi\nKind: service\n\nHello\n", MSG_SERVICE, NULL},
    {"a.email", "Kind: staff\nSubject: Hi\n\nHello\n", MSG_STAFF, NULL},
    {"a.wecom", "Format: markdown\nKind: staff\n\n**x**\n", MSG_STAFF, NULL},
    {"a.wecom", "Kind: notice\n\nx\n", MSG_SERVICE, NULL},
    {"a.webhook", "Kind: service\n\n{\"a\": 1}\n", MSG_SERVICE, NULL},
    /* errors: where, and what to write instead */
    {"a.sms", "Kind: marketting\n\n开放日\n", -1,
     "DIR/a.sms:1:7: invalid Kind \"marketting\": use marketing, service "
     "(notice) or staff; a part without Kind is marketing"},
    {"a.webhook", "Kind: promo\n\n{}\n", -1,
     "DIR/a.webhook:1:7: invalid Kind \"promo\": use marketing, service "
     "(notice) or staff; a part without Kind is marketing"},
    {"a.wecom", "Kind: staff\nKind: staff\n\nx\n", -1,
     "DIR/a.wecom:2:1: Kind is given twice (first on line 1)"},
    {"a.webhook", "Kind: staff\nFormat: text\n\n{}\n", -1,
     "DIR/a.webhook:2:1: unknown header \"Format\" in a .webhook part: use "
     "Kind, then a blank line"},
};

static char dir[64];

static void put(const char *name, const char *text)
{
    char path[256];
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
}

static void drop(const char *name)
{
    char path[256];

    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/nudge-class-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

START_TEST(test_parts)
{
    struct config cfg;
    struct diag d = {0};
    struct tmpl_set *set;
    const char *file = part_cases[_i].file;
    char type[16], want[512];

    make_dir();
    put(file, part_cases[_i].text);
    ck_assert_int_eq(config_defaults(&cfg), 0);
    set = tmpl_set_load(dir, &cfg, &d);
    if (part_cases[_i].want < 0) {
        ck_assert_ptr_null(set);
        ck_assert_int_ge(d.n, 1);
        snprintf(want, sizeof want, "%s/%s", dir,
                 part_cases[_i].error + 4); /* after "DIR/" */
        ck_assert_str_eq(d.v[0].text, want);
    } else {
        const struct tmpl_part *p;
        ck_assert_msg(set != NULL, "%s", diag_first(&d));
        snprintf(type, sizeof type, "%s", strchr(file, '.') + 1);
        p = tmpl_find(set, "a", type);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(tmpl_part_class(p), part_cases[_i].want);
        /* to staff, whatever the part says */
        ck_assert_int_eq(tmpl_send_class(p, 1), MSG_STAFF);
        ck_assert_int_eq(tmpl_send_class(p, 0), part_cases[_i].want);
    }
    tmpl_set_unref(set);
    diag_clear(&d);
    config_free(&cfg);
    drop(file);
    rmdir(dir);
}
END_TEST

/* --- what the class changes: the SMS opt-out text ------------------------ */

static const struct {
    const char *text;
    int to_staff;
    const char *body;
} sms_cases[] = {
    /* unmarked: marketing, so the opt-out text is appended */
    {"{{name}}同学，开放日见\n", 0, "张三同学，开放日见拒收请回复R"},
    {"Kind: marketing\n\n{{name}}同学，开放日见\n", 0,
     "张三同学，开放日见拒收请回复R"},
    /* service (and its synonym) and staff go as written */
    {"Kind: service\n\n{{name}}同学，录取结果已发布\n", 0,
     "张三同学，录取结果已发布"},
    {"Kind: notice\n\n{{name}}同学，录取结果已发布\n", 0,
     "张三同学，录取结果已发布"},
    {"Kind: staff\n\n新线索：{{name}}\n", 0, "新线索：张三"},
    /* notify and escalate send as staff: no opt-out text, whatever Kind */
    {"新线索：{{name}}\n", 1, "新线索：张三"},
    {"Kind: marketing\n\n新线索：{{name}}\n", 1, "新线索：张三"},
};

START_TEST(test_sms_optout)
{
    struct config cfg;
    struct diag d = {0};
    struct tmpl_set *set;
    struct student *st = student_new("42");
    struct tmpl_out out;
    struct tmpl_ctx ctx = {.student = st, .to_staff = sms_cases[_i].to_staff};

    make_dir();
    put("a.sms", sms_cases[_i].text);
    ck_assert_int_eq(config_defaults(&cfg), 0);
    ctx.cfg = &cfg;
    set = tmpl_set_load(dir, &cfg, &d);
    ck_assert_msg(set != NULL, "%s", diag_first(&d));
    attrs_set(&st->attrs, "name", "张三");
    attrs_set(&st->attrs, "phone", "+8613800000042");
    student_seal(st);
    tmpl_out_init(&out);
    ck_assert_int_eq(tmpl_render(tmpl_find(set, "a", "sms"), &ctx, &out),
                     TMPL_OK);
    ck_assert_str_eq(out.msg.body, sms_cases[_i].body);
    tmpl_out_free(&out);
    student_free(st);
    tmpl_set_unref(set);
    diag_clear(&d);
    config_free(&cfg);
    drop("a.sms");
    rmdir(dir);
}
END_TEST

/* --- data minimisation: [templates] allowed_attributes ---------------- */

static const struct {
    const char *allowed, *tmpl;
    const char *error; /* NULL: compiles; else the first message */
} allow_cases[] = {
    /* allowed names, split by spaces or commas */
    {"name score,major_intent", "{{name}} {{score|?}} {{major_intent}}", NULL},
    /* not student attributes: staff, tags, the message's, the alert's */
    {"name", "{{owner.id_card}}{{#tag:vip}}x{{/tag:vip}}{{msg.student_id}}"
             "{{count}} {{level}} {{recipient}}",
     NULL},
    /* an empty list (the default): any attribute */
    {"", "{{id_card}}", NULL},
    /* a value, with a default, or only tested by a section: all refused */
    {"name score", "您好 {{id_card}}",
     "t.sms:1:4: the student attribute \"id_card\" is not in [templates] "
     "allowed_attributes: add it there if templates may use it (data "
     "minimisation, docs/policy.md), or leave it out"},
    {"name", "{{name}}\n{{id_card|无}}",
     "t.sms:2:1: the student attribute \"id_card\" is not in [templates] "
     "allowed_attributes: add it there if templates may use it (data "
     "minimisation, docs/policy.md), or leave it out"},
    {"name", "{{#passport}}x{{/passport}}",
     "t.sms:1:1: the student attribute \"passport\" is not in [templates] "
     "allowed_attributes: add it there if templates may use it (data "
     "minimisation, docs/policy.md), or leave it out"},
    /* a prefix of an allowed name is another name */
    {"name_cn", "{{name}}",
     "t.sms:1:1: the student attribute \"name\" is not in [templates] "
     "allowed_attributes: add it there if templates may use it (data "
     "minimisation, docs/policy.md), or leave it out"},
};

START_TEST(test_allowed_attributes)
{
    struct tmpl_pos pos = {"t.sms", 1, 1};
    struct tmpl_names names = {NULL, allow_cases[_i].allowed};
    struct diag d = {0};
    const char *t = allow_cases[_i].tmpl;
    struct tmpl_prog *p = tmpl_compile_names(t, strlen(t), &pos, &names, &d);

    if (allow_cases[_i].error) {
        ck_assert_ptr_null(p);
        ck_assert_str_eq(diag_first(&d), allow_cases[_i].error);
    } else {
        ck_assert_msg(p != NULL, "%s", diag_first(&d));
    }
    tmpl_prog_free(p);
    diag_clear(&d);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("templates-class", &tc);

    tcase_add_loop_test(tc, test_names, 0,
                        sizeof name_cases / sizeof name_cases[0]);
    tcase_add_loop_test(tc, test_parts, 0,
                        sizeof part_cases / sizeof part_cases[0]);
    tcase_add_loop_test(tc, test_allowed_attributes, 0,
                        sizeof allow_cases / sizeof allow_cases[0]);
    tcase_add_loop_test(tc, test_sms_optout, 0,
                        sizeof sms_cases / sizeof sms_cases[0]);
    return check_run(s);
}
