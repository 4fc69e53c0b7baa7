/*
 * test_smtp_session.c - the email channel's pieces that need no server:
 * finding the Message-ID (the provider id) in a message as templates/
 * builds it. The sessions themselves are tested against a real SMTP
 * server in tests/integration/test_email.py.
 */
#include <check.h>
#include <stdlib.h>

#include "channels/smtp_session.h"
#include "tests/support/check_run.h"

static const struct {
    const char *mime;
    const char *id; /* NULL: none found */
} id_cases[] = {
    /* as templates/ writes it */
    {"Date: x\r\nMessage-ID: <0a1b@example.edu>\r\nSubject: s\r\n\r\nb\r\n",
     "0a1b@example.edu"},
    /* header names are case-insensitive; LF line ends too */
    {"message-id: <a@b>\n\nbody\n", "a@b"},
    /* folded onto the next line */
    {"Subject: s\r\nMessage-ID:\r\n <fold@x.y>\r\n\r\n", "fold@x.y"},
    /* only in the body: not a header */
    {"Subject: s\r\n\r\nMessage-ID: <body@x>\r\n", NULL},
    /* another header that ends in Message-ID */
    {"X-Original-Message-ID: <no@x>\r\n\r\n", NULL},
    /* no angle brackets, or unclosed */
    {"Message-ID: bare@x\r\n\r\n", NULL},
    {"Message-ID: <open@x\r\nSubject: <y>\r\n\r\n", NULL},
    /* none at all */
    {"Subject: s\r\n\r\n", NULL},
    {"", NULL},
};

START_TEST(test_message_id)
{
    char out[128];
    int rc = smtp_message_id(id_cases[_i].mime, out, sizeof out);

    if (!id_cases[_i].id) {
        ck_assert_int_eq(rc, -1);
        return;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(out, id_cases[_i].id);
}
END_TEST

START_TEST(test_message_id_too_long)
{
    char out[4];

    /* "abcd" and its NUL do not fit in 4 bytes */
    ck_assert_int_eq(smtp_message_id("Message-ID: <abcd>\r\n\r\n", out,
                                     sizeof out), -1);
    ck_assert_int_eq(smtp_message_id("Message-ID: <abc>\r\n\r\n", out,
                                     sizeof out), 0);
    ck_assert_str_eq(out, "abc");
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("smtp-session", &tc);

    tcase_add_loop_test(tc, test_message_id, 0,
                        sizeof id_cases / sizeof id_cases[0]);
    tcase_add_test(tc, test_message_id_too_long);
    return check_run(s);
}
