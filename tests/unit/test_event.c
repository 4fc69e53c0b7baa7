/*
 * test_event.c - decoding stream entries into events: every good type and
 * every way an entry can be bad.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/reply.h"
#include "core/student.h"
#include "tests/support/check_run.h"

/* Builds [id, [f1, v1, ...]] the way hiredis hands a stream entry over.
 * fields is a NULL-terminated list; a "\x01" field makes an integer. */
static redisReply *str_reply(const char *s)
{
    redisReply *r = calloc(1, sizeof *r);

    if (strcmp(s, "\x01") == 0) {
        r->type = REDIS_REPLY_INTEGER;
        r->integer = 1;
        return r;
    }
    r->type = REDIS_REPLY_STRING;
    r->str = strdup(s);
    r->len = strlen(s);
    return r;
}

static redisReply *array_reply(size_t n)
{
    redisReply *r = calloc(1, sizeof *r);

    r->type = REDIS_REPLY_ARRAY;
    r->elements = n;
    r->element = calloc(n ? n : 1, sizeof *r->element);
    return r;
}

static redisReply *entry(const char *id, const char *const *fields)
{
    size_t n = 0;
    redisReply *e = array_reply(2), *f;

    while (fields[n])
        n++;
    f = array_reply(n);
    for (size_t i = 0; i < n; i++)
        f->element[i] = str_reply(fields[i]);
    e->element[0] = str_reply(id);
    e->element[1] = f;
    return e;
}

#define F(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct {
    const char *const *fields;
    const char *reject; /* NULL: accepted */
    enum event_kind kind;
} cases[] = {
    {F("type", "created", "student", "42"), NULL, EV_CREATED},
    {F("type", "stage", "student", "42", "from", "lead", "to", "consulting"),
     NULL, EV_STAGE},
    {F("type", "tag", "student", "42", "tag", "intent:high"), NULL, EV_TAG},
    {F("type", "untag", "student", "42", "tag", "x"), NULL, EV_UNTAG},
    {F("type", "assigned", "student", "42", "owner", "s7"), NULL,
     EV_ASSIGNED},
    {F("type", "followup", "student", "42", "staff", "s7", "note", "called"),
     NULL, EV_FOLLOWUP},
    {F("type", "reply", "student", "42", "channel", "sms", "text", "好的"),
     NULL, EV_REPLY},
    {F("type", "optout", "student", "42", "channel", "sms"), NULL, EV_OPTOUT},
    /* a custom name is an event rules can use */
    {F("type", "open_day_visit", "student", "学生-7"), NULL, EV_CUSTOM},
    /* rejected */
    {F("student", "42"), "no_type", EV_CUSTOM},
    {F("type", "", "student", "42"), "no_type", EV_CUSTOM},
    {F("type", "bad type!", "student", "42"), "bad_type", EV_CUSTOM},
    {F("type", "stage"), "no_student", EV_CUSTOM},
    {F("type", "stage", "student", ""), "no_student", EV_CUSTOM},
    {F("type", "created", "student", "a{b}"), "bad_student_id", EV_CUSTOM},
    {F("type", "created", "student", "a b"), "bad_student_id", EV_CUSTOM},
    {F("type", "stage", "student", "42"), "missing_field", EV_CUSTOM},
    {F("type", "tag", "student", "42", "tag", ""), "missing_field",
     EV_CUSTOM},
    {F("type", "assigned", "student", "42"), "missing_field", EV_CUSTOM},
    /* an odd number of field strings */
    {F("type", "created", "student"), "garbage", EV_CUSTOM},
    /* a field that is not a string */
    {F("type", "created", "student", "\x01"), "garbage", EV_CUSTOM},
};

START_TEST(test_decode)
{
    redisReply *e = entry("1700000000000-0", cases[_i].fields);
    struct event ev;
    struct event_reject rej = {0};
    int rc = event_decode(e, &ev, &rej);

    if (cases[_i].reject) {
        ck_assert_int_eq(rc, -1);
        ck_assert_str_eq(rej.code, cases[_i].reject);
        ck_assert(strlen(rej.text) > 0);
    } else {
        ck_assert_msg(rc == 0, "rejected: %s", rej.text);
        ck_assert_int_eq(ev.kind, cases[_i].kind);
        ck_assert_str_eq(ev.id, "1700000000000-0");
        ck_assert_str_eq(ev.student, event_get(&ev, "student"));
    }
    reply_free(e);
}
END_TEST

START_TEST(test_decode_shapes)
{
    struct event ev;
    struct event_reject rej;
    redisReply *r = str_reply("not an entry");

    ck_assert_int_eq(event_decode(r, &ev, &rej), -1);
    ck_assert_str_eq(rej.code, "garbage");
    reply_free(r);
    /* a deleted entry comes back as [id, nil] */
    r = array_reply(2);
    r->element[0] = str_reply("1-0");
    r->element[1] = calloc(1, sizeof(redisReply));
    r->element[1]->type = REDIS_REPLY_NIL;
    ck_assert_int_eq(event_decode(r, &ev, &rej), -1);
    ck_assert_str_eq(rej.code, "garbage");
    reply_free(r);
}
END_TEST

START_TEST(test_from_args)
{
    char a[] = "to=consulting", b[] = "note=a=b", c[] = "novalue";
    char *kv[] = {a, b};
    char *bad[] = {c};
    struct event ev;
    struct event_reject rej;

    ck_assert_int_eq(event_from_args(&ev, "stage", "42", kv, 2, &rej), 0);
    ck_assert_str_eq(event_get(&ev, "to"), "consulting");
    ck_assert_str_eq(event_get(&ev, "note"), "a=b");
    ck_assert_ptr_null(event_get(&ev, "from"));
    ck_assert_int_eq(event_from_args(&ev, "created", "42", bad, 1, &rej), -1);
    ck_assert_str_eq(rej.text, "\"novalue\" is not key=value");
}
END_TEST

START_TEST(test_apply)
{
    /* event_from_args() splits its strings in place: one buffer a use */
    char a[] = "to=consulting", t[] = "tag=intent:high",
         u[] = "tag=intent:high", o[] = "owner=s7", n[] = "name=张伟";
    char *stage_kv[] = {a}, *tag_kv[] = {t}, *untag_kv[] = {u},
         *owner_kv[] = {o}, *created_kv[] = {n};
    struct student *st = student_new("42");
    struct event ev;
    struct event_reject rej;

    attrs_set(&st->attrs, "stage", "lead");
    strset_add(&st->tags, "region:xizang");
    student_seal(st);
    ck_assert_int_eq(event_from_args(&ev, "stage", "42", stage_kv, 1, &rej), 0);
    ck_assert_int_eq(event_apply(&ev, st, 1700000000000), 0);
    ck_assert_str_eq(student_get(st, "stage"), "consulting");
    ck_assert_str_eq(student_get(st, "stage_at"), "1700000000");
    ck_assert_int_eq(event_from_args(&ev, "tag", "42", tag_kv, 1, &rej), 0);
    ck_assert_int_eq(event_apply(&ev, st, 0), 0);
    ck_assert(student_has_tag(st, "intent:high"));
    ck_assert(student_has_tag(st, "region:xizang"));
    ck_assert_int_eq(event_from_args(&ev, "untag", "42", untag_kv, 1, &rej), 0);
    ck_assert_int_eq(event_apply(&ev, st, 0), 0);
    ck_assert(!student_has_tag(st, "intent:high"));
    ck_assert(student_has_tag(st, "region:xizang"));
    ck_assert_int_eq(event_from_args(&ev, "assigned", "42", owner_kv, 1, &rej),
                     0);
    ck_assert_int_eq(event_apply(&ev, st, 0), 0);
    ck_assert_str_eq(student_get(st, "owner"), "s7");
    ck_assert_int_eq(event_from_args(&ev, "created", "42", created_kv, 1, &rej),
                     0);
    ck_assert_int_eq(event_apply(&ev, st, 0), 0);
    ck_assert_str_eq(student_get(st, "name"), "张伟");
    ck_assert_str_eq(student_get(st, "stage"), "consulting");
    student_free(st);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("event", &tc);

    tcase_add_loop_test(tc, test_decode, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, test_decode_shapes);
    tcase_add_test(tc, test_from_args);
    tcase_add_test(tc, test_apply);
    return check_run(s);
}
