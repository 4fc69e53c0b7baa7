/*
 * test_email_addr.c - which strings are email addresses nudge sends to
 * (core/email_addr.h).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/email_addr.h"
#include "tests/support/check_run.h"

static const struct {
    const char *in;
    int want;
} cases[] = {
    {"zhang.wei@example.edu", 1},
    {"a+tag@mail.example.cn", 1},
    {"o'brien@example.ie", 1},
    {"王伟@例子.中国", 1},
    {"x@sub-domain.example.com", 1},
    /* a header injection, spaces, two addresses */
    {"victim@example.cn\r\nBcc: evil@evil.example", 0},
    {"victim@example.cn\nBcc:evil@evil.example", 0},
    {"a b@example.cn", 0},
    {"x@y.cn, z@w.cn", 0},
    {"<x@y.cn>", 0},
    {"Zhang <x@y.cn>", 0},
    /* the shape */
    {"", 0},
    {"@example.cn", 0},
    {"x@", 0},
    {"x@localhost", 0},
    {"x..y@example.cn", 0},
    {".x@example.cn", 0},
    {"x.@example.cn", 0},
    {"x@-example.cn", 0},
    {"x@example-.cn", 0},
    {"x@example..cn", 0},
    {"x@example.cn.", 0},
    {"\"quoted\"@example.cn", 0},
    {"x@[192.0.2.1]", 0},
    {"x@@example.cn", 0},
};

START_TEST(test_email_addr_valid)
{
    ck_assert_msg(email_addr_valid(cases[_i].in) == cases[_i].want,
                  "\"%s\": want %d", cases[_i].in, cases[_i].want);
}
END_TEST

START_TEST(test_lengths)
{
    char local[80], label[80], addr[300];

    memset(local, 'a', 64), local[64] = 0;
    snprintf(addr, sizeof addr, "%s@example.cn", local);
    ck_assert_int_eq(email_addr_valid(addr), 1);
    memset(local, 'a', 65), local[65] = 0;
    snprintf(addr, sizeof addr, "%s@example.cn", local);
    ck_assert_int_eq(email_addr_valid(addr), 0);
    memset(label, 'b', 64), label[64] = 0;
    snprintf(addr, sizeof addr, "x@%s.cn", label);
    ck_assert_int_eq(email_addr_valid(addr), 0);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("email_addr", &tc);

    tcase_add_loop_test(tc, test_email_addr_valid, 0,
                        sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, test_lengths);
    return check_run(s);
}
