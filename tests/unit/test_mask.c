/*
 * test_mask.c - masking of contacts in values and in free text.
 */
#include <check.h>
#include <stdlib.h>

#include "core/mask.h"
#include "tests/support/check_run.h"

static const struct {
    const char *in, *want;
} contact_cases[] = {
    /* a mainland mobile: head 3, last 4 */
    {"13812345678", "138****5678"},
    /* E.164 keeps the country code */
    {"+8613812345678", "+86138****5678"},
    /* an email keeps its first letter and domain */
    {"zhang.wei@example.edu", "z***@example.edu"},
    {"a@b.cn", "a***@b.cn"},
    /* an empty local part */
    {"@example.edu", "***@example.edu"},
    /* a short number keeps only its last two digits */
    {"12345", "***45"},
    /* a WeCom user id: a short head */
    {"zhangwei01", "zh***"},
    {"", ""},
    /* 27 digits are no phone: it stays masked all but its tail */
    {"123456789012345678901234567", "***********************4567"},
};

START_TEST(test_mask_contact)
{
    char out[128];

    ck_assert_str_eq(mask_contact(contact_cases[_i].in, out, sizeof out),
                     contact_cases[_i].want);
}
END_TEST

static const struct {
    const char *in, *want;
} text_cases[] = {
    {"call 13812345678 now", "call 138****5678 now"},
    {"mail zhang.wei@example.edu, thanks", "mail z***@example.edu, thanks"},
    {"+8613812345678 and li@x.org", "+86138****5678 and l***@x.org"},
    /* six digits are not a phone number */
    {"code 123456", "code 123456"},
    /* a lone @ is not an address */
    {"meet @ 5pm", "meet @ 5pm"},
    {"no contacts here", "no contacts here"},
    {"中文 13912345678 结束", "中文 139****5678 结束"},
};

START_TEST(test_mask_text)
{
    char out[256];

    ck_assert_str_eq(mask_text(text_cases[_i].in, out, sizeof out),
                     text_cases[_i].want);
}
END_TEST

static const struct {
    const char *in, *want;
} log_cases[] = {
    /* a student id that is a phone and an email (issue 13) */
    {"no student \"13800138000 zhang@example.cn\" in Redis",
     "no student \"138****8000 z***@example.cn\" in Redis"},
    {"to +8613800138000: sent", "to +86138****8000: sent"},
    {"id 8613800138000", "id 86138****8000"},
    /* a newline forges no second line; an ESC sequence moves nothing */
    {"type \"x\nnudged error: forged\"", "type \"x\\nnudged error: forged\""},
    {"a\x1b[2Jb\r\t", "a\\x1b[2Jb\\r\\t"},
    /* what a log needs stays readable: stream ids, ms times, pids, run
     * ids, counts */
    {"event 1796079681497-0 at 1796079681497 pid 17009",
     "event 1796079681497-0 at 1796079681497 pid 17009"},
    {"run e1796079681497-0.6c242c39bb8700e1 step 2",
     "run e1796079681497-0.6c242c39bb8700e1 step 2"},
    {"1234567 jobs", "1234567 jobs"},
    /* Chinese text runs into the number: still masked */
    {"电话13912345678。", "电话139****5678。"},
    {"x13912345678", "x13912345678"}, /* inside an ASCII word: an id */
};

START_TEST(test_mask_log_line)
{
    char out[256];

    ck_assert_str_eq(mask_log_line(log_cases[_i].in, out, sizeof out),
                     log_cases[_i].want);
}
END_TEST

START_TEST(test_mask_truncates)
{
    char out[6];

    mask_contact("zhang.wei@example.edu", out, sizeof out);
    ck_assert_str_eq(out, "z***@");
    mask_text("13812345678", out, sizeof out);
    ck_assert_str_eq(out, "138**");
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("mask", &tc);

    tcase_add_loop_test(tc, test_mask_contact, 0,
                        sizeof contact_cases / sizeof contact_cases[0]);
    tcase_add_loop_test(tc, test_mask_text, 0,
                        sizeof text_cases / sizeof text_cases[0]);
    tcase_add_loop_test(tc, test_mask_log_line, 0,
                        sizeof log_cases / sizeof log_cases[0]);
    tcase_add_test(tc, test_mask_truncates);
    return check_run(s);
}
