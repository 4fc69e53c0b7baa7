/*
 * test_tmpl_sms.c - SMS encoding and segment counts against a table of
 * known cases: GSM-7 160/153, UCS-2 70/67, the GSM escape table counting
 * two septets, characters outside GSM forcing UCS-2, and parts that never
 * split an escape or a surrogate pair.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "templates/sms.h"
#include "templates/utf8.h"
#include "tests/support/check_run.h"

/* A text made of pieces repeated: {piece, times}... */
struct piece {
    const char *s;
    int times;
};

static const struct {
    struct piece text[4];
    enum sms_encoding enc;
    size_t units;
    int segments;
} cases[] = {
    /* empty: still one message */
    {{{"", 1}}, SMS_GSM7, 0, 1},
    {{{"hello", 1}}, SMS_GSM7, 5, 1},
    /* GSM-7: 160 alone, then 153 per part */
    {{{"a", 160}}, SMS_GSM7, 160, 1},
    {{{"a", 161}}, SMS_GSM7, 161, 2},
    {{{"a", 306}}, SMS_GSM7, 306, 2},
    {{{"a", 307}}, SMS_GSM7, 307, 3},
    {{{"a", 459}}, SMS_GSM7, 459, 3},
    {{{"a", 460}}, SMS_GSM7, 460, 4},
    /* the escape table counts two septets */
    {{{"a", 159}, {"\xe2\x82\xac", 1}}, SMS_GSM7, 161, 2},
    {{{"{}[]~^|\\", 1}}, SMS_GSM7, 16, 1},
    {{{"a", 158}, {"{", 1}}, SMS_GSM7, 160, 1},
    /* an escape pair is never split: 152 + 2 + 152 = 306 takes 3 parts */
    {{{"a", 152}, {"{", 1}, {"a", 152}}, SMS_GSM7, 306, 3},
    /* GSM's own accented letters stay GSM-7 */
    {{{"\xc3\xa9\xc3\xa8\xc3\x84\xc3\x9c\xc2\xa3\xce\x94", 1}}, SMS_GSM7, 6,
     1},
    /* line breaks are GSM */
    {{{"a\nb", 1}}, SMS_GSM7, 3, 1},
    /* not in GSM: backtick, c cedilla (only the capital is), Chinese */
    {{{"`", 1}}, SMS_UCS2, 1, 1},
    {{{"\xc3\xa7", 1}}, SMS_UCS2, 1, 1},
    {{{"a", 160}, {"\xc3\xa7", 1}}, SMS_UCS2, 161, 3},
    /* UCS-2: 70 alone, then 67 per part */
    {{{"你", 70}}, SMS_UCS2, 70, 1},
    {{{"你", 71}}, SMS_UCS2, 71, 2},
    {{{"你", 134}}, SMS_UCS2, 134, 2},
    {{{"你", 135}}, SMS_UCS2, 135, 3},
    {{{"你", 201}}, SMS_UCS2, 201, 3},
    {{{"你", 202}}, SMS_UCS2, 202, 4},
    /* one Chinese character makes the whole text UCS-2 */
    {{{"a", 69}, {"你", 1}}, SMS_UCS2, 70, 1},
    /* emoji are two UTF-16 units */
    {{{"\xf0\x9f\x98\x80", 35}}, SMS_UCS2, 70, 1},
    {{{"\xf0\x9f\x98\x80", 36}}, SMS_UCS2, 72, 2},
    /* a surrogate pair is never split: 66 + 2 + 66 = 134 takes 3 parts */
    {{{"a", 66}, {"\xf0\x9f\x98\x80", 1}, {"a", 66}}, SMS_UCS2, 134, 3},
    /* the example invitation with a name: 67 characters, one part */
    {{{"【示例大学招生办】张三您好！您的成绩很优秀，诚邀您参加本周六上午的专"
       "业体验课，现场与任课老师面对面交流。回复1预约，或致电招生办咨询。",
       1}},
     SMS_UCS2, 67, 1},
    /* with the opt-out text: 73, two parts */
    {{{"【示例大学招生办】张三您好！您的成绩很优秀，诚邀您参加本周六上午的专"
       "业体验课，现场与任课老师面对面交流。回复1预约，或致电招生办咨询。",
       1},
      {"拒收请回复R", 1}},
     SMS_UCS2, 73, 2},
};

START_TEST(test_segments)
{
    char text[4096] = "";
    size_t n = 0;
    struct sms_info info;

    for (int p = 0; p < 4 && cases[_i].text[p].s; p++)
        for (int k = 0; k < cases[_i].text[p].times; k++)
            n += (size_t)snprintf(text + n, sizeof text - n, "%s",
                                  cases[_i].text[p].s);
    tmpl_sms_measure(text, n, &info);
    ck_assert_msg(info.encoding == cases[_i].enc, "row %d: encoding %s", _i,
                  tmpl_sms_encoding_name(info.encoding));
    ck_assert_msg(info.units == cases[_i].units, "row %d: %zu units", _i,
                  info.units);
    ck_assert_msg(info.segments == cases[_i].segments, "row %d: %d segments",
                  _i, info.segments);
}
END_TEST

/* The fast counts (sixteen or eight bytes at a time) against decoding
 * character by character, on texts of every length mixing ASCII, GSM
 * letters, escapes, Chinese and emoji. */
START_TEST(test_counts_random)
{
    static const char *const pieces[] = {"a", "你", "\xf0\x9f\x98\x80",
                                         "\xc3\xa9", "{", "`", "\n",
                                         "\xe2\x82\xac"};
    static char text[8192];
    unsigned seed = 1;

    for (int t = 0; t < 3000; t++) {
        size_t n = 0, chars = 0, units = 0, i = 0;
        int k = (int)(rand_r(&seed) % 1500);
        struct sms_info info;
        uint32_t cp = 0;

        for (int j = 0; j < k; j++)
            for (const char *p = pieces[rand_r(&seed) % 8]; *p; p++)
                text[n++] = *p;
        tmpl_sms_measure(text, n, &info);
        while (i < n) {
            i += tmpl_utf8_decode((const unsigned char *)text + i, n - i, &cp);
            chars++;
            units += cp > 0xffff ? 2 : 1;
        }
        ck_assert_uint_eq(info.chars, chars);
        if (info.encoding == SMS_UCS2)
            ck_assert_uint_eq(info.units, units);
    }
}
END_TEST

/* The copy scans' length check against decoding: every first and second
 * byte, the third and fourth at every boundary of the continuation
 * ranges, every available length. */
START_TEST(test_valid_len_as_decode)
{
    static const unsigned char edges[] = {0x00, 0x7f, 0x80, 0x8f, 0x90,
                                          0x9f, 0xa0, 0xbf, 0xc0, 0xff};
    const size_t ne = sizeof edges;
    unsigned char s[4], first[4] = {0};
    size_t wrong = 0;
    uint32_t cp;

    for (unsigned i = 0; i < 256 * 256 * ne * ne; i++) {
        s[0] = (unsigned char)(i % 256);
        s[1] = (unsigned char)(i / 256 % 256);
        s[2] = edges[i / 65536 % ne];
        s[3] = edges[i / 65536 / ne];
        for (size_t n = 1; n <= 4; n++)
            if (tmpl_utf8_valid_len(s, n) != tmpl_utf8_decode(s, n, &cp) &&
                wrong++ == 0)
                memcpy(first, s, sizeof s);
    }
    ck_assert_msg(wrong == 0, "%zu disagree, the first at %02x %02x %02x %02x",
                  wrong, first[0], first[1], first[2], first[3]);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("templates-sms", &tc);

    tcase_add_loop_test(tc, test_segments, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, test_counts_random);
    tcase_add_test(tc, test_valid_len_as_decode);
    return check_run(s);
}
