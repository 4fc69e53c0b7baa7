/*
 * test_tmpl_message.c - whole messages through the public API (tmpl.h):
 * a templates folder loaded as the daemon does, rendered for a student
 * built in memory. The MIME encoders and the unsubscribe token against
 * known vectors; header injection (addresses losing hostile bytes); SMS
 * opt-out text and provider parameters; WeCom markdown; webhook JSON;
 * missing recipients and secrets; the chan_msg a channel receives.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "templates/mime.h"
#include "templates/tmpl.h"
#include "templates/unsub.h"
#include "tests/support/check_run.h"

/* --- encoders ------------------------------------------------------------ */

static const struct {
    const char *in;
    const char *b64, *qp;
} enc_cases[] = {
    /* RFC 4648 vectors */
    {"f", "Zg==\r\n", "f\r\n"},
    {"foobar", "Zm9vYmFy\r\n", "foobar\r\n"},
    /* = and non-ASCII are encoded */
    {"a=b", "YT1i\r\n", "a=3Db\r\n"},
    {"é", "w6k=\r\n", "=C3=A9\r\n"},
    /* a blank before a line break is encoded; LF becomes CRLF */
    {"x \ny", "eCAKeQ==\r\n", "x=20\r\ny\r\n"},
    {"x\r\ny", "eA0KeQ==\r\n", "x\r\ny\r\n"},
    /* long lines: 64 characters in base64, soft breaks at 76 in QP */
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh\r\n"
     "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh\r\n"
     "YWFhYQ==\r\n",
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aa=\r\naaaaaaaaaaaaaaaaaaaaaaaaa\r\n"},
};

START_TEST(test_encoders)
{
    struct tbuf b = {0};
    const char *in = enc_cases[_i].in;

    tmpl_mime_base64(&b, (const unsigned char *)in, strlen(in));
    tbuf_terminate(&b);
    ck_assert_str_eq(b.p, enc_cases[_i].b64);
    b.len = 0;
    tmpl_mime_qp(&b, (const unsigned char *)in, strlen(in));
    tbuf_terminate(&b);
    ck_assert_str_eq(b.p, enc_cases[_i].qp);
    tbuf_free(&b);
}
END_TEST

/* The fast encoder (SIMD, six bytes a step) against the textbook one, on
 * every length up to 300 and bytes of every value. */
static void naive_base64(struct tbuf *b, const unsigned char *in, size_t n)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t col = 0;

    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 |
                     (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        char q[4] = {a[v >> 18], a[(v >> 12) & 63],
                     i + 1 < n ? a[(v >> 6) & 63] : '=',
                     i + 2 < n ? a[v & 63] : '='};
        tbuf_add(b, q, 4);
        col += 4;
        if (col == 64 || i + 3 >= n) {
            tbuf_add(b, "\r\n", 2);
            col = 0;
        }
    }
}

START_TEST(test_base64_lengths)
{
    unsigned char in[300];
    struct tbuf fast = {0}, slow = {0};

    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (unsigned char)(i * 151 + 7);
    for (size_t n = 0; n <= sizeof in; n++) {
        fast.len = slow.len = 0;
        tmpl_mime_base64(&fast, in, n);
        naive_base64(&slow, in, n);
        ck_assert_msg(fast.len == slow.len &&
                          (n == 0 || memcmp(fast.p, slow.p, fast.len) == 0),
                      "length %zu differs", n);
    }
    tbuf_free(&fast);
    tbuf_free(&slow);
}
END_TEST

static const struct {
    const char *value, *header;
} header_cases[] = {
    /* plain ASCII stays as it is */
    {"Hello there", "Subject: Hello there\r\n"},
    /* non-ASCII: RFC 2047 B encoding */
    {"你好", "Subject: =?UTF-8?B?5L2g5aW9?=\r\n"},
    /* ASCII that looks like an encoded word is encoded */
    {"=?x?=", "Subject: =?UTF-8?B?PT94Pz0=?=\r\n"},
    /* long: words of at most 45 bytes, never splitting a character,
       folded onto continuation lines */
    {"一二三四五六七八九十一二三四五六七八九十",
     "Subject: =?UTF-8?B?5LiA5LqM5LiJ5Zub5LqU5YWt5LiD5YWr5Lmd5Y2B5LiA5LqM5LiJ5"
     "Zub?=\r\n =?UTF-8?B?5LqU5YWt5LiD5YWr5Lmd5Y2B?=\r\n"},
};

START_TEST(test_headers)
{
    struct tbuf b = {0};

    tmpl_mime_header_text(&b, "Subject", header_cases[_i].value);
    tbuf_terminate(&b);
    ck_assert_str_eq(b.p, header_cases[_i].header);
    tbuf_free(&b);
}
END_TEST

/* Addresses lose the bytes that could end or break a header (blanks,
 * controls, <, >, commas), found eight bytes a step and then one by
 * one: a hostile byte at every place of a long address. */
START_TEST(test_address_bytes)
{
    static const char bad[] = " \t\r\n<>,\x7f\x01";
    const char *clean = "no-reply.admissions@example.edu";
    size_t n = strlen(clean);
    struct tbuf b = {0}, scratch = {0};
    char from[64], want[128];

    for (size_t at = 0; at <= n; at++)
        for (const char *c = bad; *c; c++) {
            struct mime_email e = {.from = from, .to = "a@b.c",
                                   .subject = "s", .text = "t",
                                   .now_ms = 0};
            memcpy(from, clean, at);
            from[at] = *c;
            memcpy(from + at + 1, clean + at, n - at + 1);
            b.len = 0;
            tmpl_mime_build(&b, &scratch, &e);
            tbuf_terminate(&b);
            snprintf(want, sizeof want, "\r\nFrom: %s\r\n", clean);
            ck_assert_msg(strstr(b.p, want) != NULL,
                          "byte 0x%02x at %zu: %.80s", (unsigned char)*c, at,
                          b.p);
        }
    tbuf_free(&b);
    tbuf_free(&scratch);
}
END_TEST

START_TEST(test_unsubscribe_token)
{
    char tok[UNSUB_TOKEN_LEN + 1];
    struct tbuf b = {0};

    /* python3: base64.urlsafe_b64encode(hmac.new(b"k3y",
       b"nudge-unsub-v1\n42\nemail", hashlib.sha256).digest()) */
    ck_assert_int_eq(tmpl_unsub_token("k3y", "42", "email", tok), 0);
    ck_assert_str_eq(tok, "mk46QOI5kD7VgoEPoOjz7o6aoF29c3UVO59gouBqJvc");
    ck_assert(tmpl_unsub_verify("k3y", "42", "email", tok));
    ck_assert(!tmpl_unsub_verify("k3y", "43", "email", tok));
    ck_assert(!tmpl_unsub_verify("k3y", "42", "sms", tok));
    ck_assert(!tmpl_unsub_verify("other", "42", "email", tok));
    ck_assert(!tmpl_unsub_verify("k3y", "42", "email", "short"));
    ck_assert_int_eq(tmpl_unsub_token(NULL, "42", "email", tok), -1);
    ck_assert_int_eq(tmpl_unsub_token("", "42", "email", tok), -1);
    ck_assert_int_eq(tmpl_unsub_link(&b, "https://u.edu/x?a=1", "k3y",
                                     "a b", "email"), 0);
    tbuf_terminate(&b);
    ck_assert_ptr_nonnull(strstr(b.p, "https://u.edu/x?a=1&student=a%20b"
                                      "&channel=email&token="));
    tbuf_free(&b);
}
END_TEST

/* --- whole messages ------------------------------------------------------ */

static char dir[64];
static struct config cfg;
static struct tmpl_set *set;
static struct student *st;
static struct staff *owner;

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

static void setup(void)
{
    struct diag d = {0};

    snprintf(dir, sizeof dir, "/tmp/nudge-tmpl-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    put("hello.email", "Subject: 你好 {{name}}\n\nHi {{name}},\n"
                       "see {{msg.unsubscribe_url}}\n");
    put("hello.email.html", "<p>Hi {{name}}</p>\n");
    put("hello.sms", "Kind: marketing\n\n{{name}}同学您好\n");
    put("hello.wecom", "Format: markdown\n\n**{{name}}** {{owner.name}}\n");
    put("hello.webhook", "{\"name\": \"{{name}}\", \"tag\": "
                         "{{#tag:vip}}true{{/tag:vip}}{{^tag:vip}}false"
                         "{{/tag:vip}}}\n");
    put("code.sms", "Template-Code: SMS_123\nParam-name: {{name|同学}}\n"
                    "Param-day: {{date day}}\n");
    put("plain.email", "Subject: x\n\nonly text\n");
    ck_assert_int_eq(config_defaults(&cfg), 0);
    cfg.templates.unsubscribe_secret = strdup("k3y");
    set = tmpl_set_load(dir, &cfg, &d);
    ck_assert_msg(set != NULL, "%s", diag_first(&d));
    diag_clear(&d);
    st = student_new("42");
    attrs_set(&st->attrs, "name", "Zhang\r\nBcc: evil@example.com");
    attrs_set(&st->attrs, "email", "zhang@example.edu");
    attrs_set(&st->attrs, "phone", "+8613800000042");
    attrs_set(&st->attrs, "day", "2026-09-01");
    attrs_set(&st->attrs, "wecom_userid", "zhangsan");
    strset_add(&st->tags, "vip");
    student_seal(st);
    owner = staff_new("t1");
    attrs_set(&owner->attrs, "name", "李_老师");
    attrs_sort(&owner->attrs);
}

static void teardown(void)
{
    char cmd[128];

    tmpl_set_unref(set);
    student_free(st);
    staff_free(owner);
    config_free(&cfg);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static enum tmpl_status render(const char *name, const char *type,
                               struct tmpl_out *out, const char *key)
{
    const struct tmpl_part *part = tmpl_find(set, name, type);
    struct tmpl_ctx ctx = {.student = st, .owner = owner, .cfg = &cfg,
                           .from = "招生办 <admissions@example.edu>",
                           .key = key, .now_ms = 1790000000000LL};

    ck_assert_ptr_nonnull(part);
    return tmpl_render(part, &ctx, out);
}

/* The header block of a message: up to the first empty line. */
static char *headers_of(const char *mime)
{
    const char *end = strstr(mime, "\r\n\r\n");
    return strndup(mime, end ? (size_t)(end - mime) + 2 : strlen(mime));
}

START_TEST(test_email)
{
    struct tmpl_out out;
    char *h, *again;

    tmpl_out_init(&out);
    ck_assert_int_eq(render("hello", "email", &out, "k1"), TMPL_OK);
    ck_assert_str_eq(out.msg.subject, "你好 Zhang  Bcc: evil@example.com");
    h = headers_of(out.msg.mime);
    /* the value's CR LF cannot start a header line */
    ck_assert_ptr_null(strstr(h, "\r\nBcc:"));
    ck_assert_ptr_nonnull(strstr(h, "Date: Mon, 21 Sep 2026 14:13:20 +0000\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "From: =?UTF-8?B?5oub55Sf5Yqe?= "
                                    "<admissions@example.edu>\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "<zhang@example.edu>\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "Subject: =?UTF-8?B?"));
    ck_assert_ptr_nonnull(strstr(h, "List-Unsubscribe: <https://example.edu/"
                                    "unsubscribe?student=42&channel=email"
                                    "&token="));
    ck_assert_ptr_nonnull(strstr(h, "List-Unsubscribe-Post: "
                                    "List-Unsubscribe=One-Click\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "MIME-Version: 1.0\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "Content-Type: multipart/alternative;"));
    ck_assert_ptr_nonnull(strstr(out.msg.mime, "Content-Type: text/html; "
                                               "charset=UTF-8"));
    ck_assert_ptr_nonnull(strstr(out.msg.body, out.msg.unsubscribe_url));
    /* the same key, the same Message-ID */
    again = strdup(strstr(out.msg.mime, "Message-ID: "));
    *strchr(again, '\r') = '\0';
    ck_assert_int_eq(render("hello", "email", &out, "k1"), TMPL_OK);
    ck_assert_ptr_nonnull(strstr(out.msg.mime, again));
    ck_assert_int_eq(render("hello", "email", &out, "k2"), TMPL_OK);
    ck_assert_ptr_null(strstr(out.msg.mime, again));
    free(again);
    free(h);
    /* no HTML part: a single text/plain message */
    ck_assert_int_eq(render("plain", "email", &out, NULL), TMPL_OK);
    ck_assert_ptr_null(strstr(out.msg.mime, "multipart"));
    ck_assert_ptr_nonnull(strstr(out.msg.mime, "Content-Type: text/plain; "
                                               "charset=UTF-8\r\n"
                                               "Content-Transfer-Encoding: "
                                               "quoted-printable\r\n\r\n"
                                               "only text\r\n"));
    tmpl_out_free(&out);
}
END_TEST

/* Display names are student data: whatever they hold, the To header a
 * mail program decodes (RFC 2047) holds no control character, so no CR LF
 * can become a header of its own (a Bcc:). */
static const struct {
    const char *name;
    const char *to; /* the To header, unfolded and decoded */
} name_cases[] = {
    /* CR LF in ASCII: spaces, inside a quoted string */
    {"Zhang\r\nBcc: x@y", "To: \"Zhang  Bcc: x@y\" <zhang@example.edu>"},
    /* CR LF in an encoded word: spaces before encoding */
    {"张伟\r\nBcc: evil@example.com",
     "To: 张伟  Bcc: evil@example.com <zhang@example.edu>"},
    /* a lone LF, a TAB, DEL, ESC */
    {"张\n伟\t李\x7f四\x1b", "To: 张 伟 李 四  <zhang@example.edu>"},
    /* C1 controls (NEL U+0085, CSI U+009B) */
    {"张\xc2\x85" "Bcc: x@y\xc2\x9b", "To: 张 Bcc: x@y  <zhang@example.edu>"},
    /* a plain name is untouched */
    {"王小明", "To: 王小明 <zhang@example.edu>"},
};

static int b64_value(char c)
{
    const char *a =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(a, c) : NULL;
    return p ? (int)(p - a) : -1;
}

/* The header line starting with name, unfolded, its encoded words
 * decoded (as a mail program shows it). The caller frees. */
static char *decoded_header(const char *mime, const char *name)
{
    const char *p = strstr(mime, name), *end;
    char *out = calloc(1, 1024), *o = out;
    int after_word = 0;

    ck_assert_ptr_nonnull(p);
    p += strspn(p, "\r\n"); /* name may start with the line break */
    end = p;
    while ((end = strstr(end, "\r\n")) && (end[2] == ' ' || end[2] == '\t'))
        end += 2; /* a folded line goes on */
    ck_assert_ptr_nonnull(end);
    while (p < end) {
        if (strncmp(p, "=?UTF-8?B?", 10) == 0) {
            unsigned v = 0, bits = 0;
            for (p += 10; *p != '?'; p++) {
                if (*p == '=')
                    continue;
                v = v << 6 | (unsigned)b64_value(*p);
                if ((bits += 6) >= 8)
                    *o++ = (char)(v >> (bits -= 8));
            }
            p += 2; /* ?= */
            after_word = 1;
            continue;
        }
        /* blanks between two encoded words are not text (RFC 2047 6.2) */
        size_t blank = strspn(p, " \t\r\n");
        if (blank && after_word && strncmp(p + blank, "=?UTF-8?B?", 10) == 0) {
            p += blank;
            continue;
        }
        if (*p == '\r' || *p == '\n') {
            p++;
            continue;
        }
        after_word = 0;
        *o++ = *p++;
    }
    return out;
}

START_TEST(test_display_names)
{
    const struct tmpl_part *part = tmpl_find(set, "plain", "email");
    struct tmpl_ctx ctx = {.student = st, .cfg = &cfg,
                           .from = "招生办 <admissions@example.edu>",
                           .to_name = name_cases[_i].name,
                           .now_ms = 1790000000000LL};
    struct tmpl_out out;
    char *to;

    tmpl_out_init(&out);
    ck_assert_int_eq(tmpl_render(part, &ctx, &out), TMPL_OK);
    ck_assert_ptr_null(strstr(out.msg.mime, "\r\nBcc:"));
    to = decoded_header(out.msg.mime, "\r\nTo: ");
    for (const unsigned char *c = (const unsigned char *)to; *c; c++) {
        ck_assert_msg(*c >= 0x20 && *c != 0x7f, "control 0x%02x in %s", *c,
                      to);
        ck_assert_msg(!(c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f),
                      "C1 control in %s", to);
    }
    ck_assert_str_eq(to, name_cases[_i].to);
    free(to);
    tmpl_out_free(&out);
}
END_TEST

START_TEST(test_email_refusals)
{
    struct tmpl_out out;

    tmpl_out_init(&out);
    /* no secret: no email */
    free(cfg.templates.unsubscribe_secret);
    cfg.templates.unsubscribe_secret = NULL;
    ck_assert_int_eq(render("hello", "email", &out, NULL), TMPL_INVALID);
    ck_assert_ptr_nonnull(strstr(out.err, "unsubscribe_secret"));
    /* no address: missing email */
    student_free(st);
    st = student_new("43");
    attrs_set(&st->attrs, "name", "x");
    student_seal(st);
    ck_assert_int_eq(render("hello", "email", &out, NULL), TMPL_MISSING);
    ck_assert_str_eq(out.err, "missing email");
    ck_assert_int_eq(render("hello", "sms", &out, NULL), TMPL_MISSING);
    ck_assert_str_eq(out.err, "missing phone");
    ck_assert_int_eq(render("hello", "wecom", &out, NULL), TMPL_MISSING);
    ck_assert_str_eq(out.err, "missing wecom_userid");
    tmpl_out_free(&out);
}
END_TEST

/* Hostile recipients from the CRM (issue 13): the step is skipped with
 * the reason, and no message is made. */
static const struct {
    const char *attr, *value, *type, *err;
} hostile[] = {
    {"phone", "call me maybe; rm -rf / 13800138000", "sms", "invalid phone"},
    {"phone", "123456789012345678901234567", "sms", "invalid phone"},
    {"email", "victim@example.cn\r\nBcc: evil@evil.example", "email",
     "invalid email"},
    {"email", "a b@example.cn", "email", "invalid email"},
    {"email", "x@y.cn, z@w.cn", "email", "invalid email"},
    {"email", "no-domain@localhost", "email", "invalid email"},
    {"wecom_userid", "zhang\nwei", "wecom", "invalid recipient"},
};

START_TEST(test_hostile_recipients)
{
    struct tmpl_out out;

    tmpl_out_init(&out);
    student_free(st);
    st = student_new("44");
    attrs_set(&st->attrs, "name", "x");
    attrs_set(&st->attrs, hostile[_i].attr, hostile[_i].value);
    student_seal(st);
    ck_assert_int_eq(render("hello", hostile[_i].type, &out, NULL),
                     TMPL_MISSING);
    ck_assert_ptr_nonnull(strstr(out.err, hostile[_i].err));
    /* the value itself is not in the reason (it may be a contact) */
    ck_assert_ptr_null(strstr(out.err, "13800138000"));
    tmpl_out_free(&out);
}
END_TEST

START_TEST(test_sms)
{
    struct tmpl_out out;
    struct chan_msg cm;

    tmpl_out_init(&out);
    ck_assert_int_eq(render("hello", "sms", &out, NULL), TMPL_OK);
    /* marketing: the opt-out text is appended */
    ck_assert_str_eq(out.msg.body,
                     "Zhang\nBcc: evil@example.com同学您好拒收请回复R");
    ck_assert_str_eq(out.msg.to, "+8613800000042");
    ck_assert_int_eq(out.msg.sms.encoding, SMS_UCS2);
    ck_assert_int_eq(out.msg.sms.segments, 1);
    memset(&cm, 0, sizeof cm);
    tmpl_msg_to_chan(&out.msg, &cm);
    ck_assert_str_eq(cm.type, "sms");
    ck_assert_ptr_eq(cm.body, out.msg.body);
    ck_assert_ptr_null(cm.mime);
    /* a provider template: code and JSON parameters, no text */
    ck_assert_int_eq(render("code", "sms", &out, NULL), TMPL_OK);
    ck_assert_str_eq(out.msg.provider_template, "SMS_123");
    ck_assert_str_eq(out.msg.provider_params,
                     "{\"name\":\"Zhang\\nBcc: evil@example.com\","
                     "\"day\":\"2026年9月1日\"}");
    ck_assert_ptr_null(out.msg.body);
    tmpl_out_free(&out);
}
END_TEST

START_TEST(test_wecom_webhook)
{
    struct tmpl_out out;

    tmpl_out_init(&out);
    ck_assert_int_eq(render("hello", "wecom", &out, NULL), TMPL_OK);
    ck_assert_str_eq(out.msg.format, "markdown");
    ck_assert_str_eq(out.msg.to, "zhangsan");
    ck_assert_str_eq(out.msg.body,
                     "**Zhang\nBcc: evil@example.com** 李\\_老师");
    ck_assert_int_eq(render("hello", "webhook", &out, NULL), TMPL_OK);
    ck_assert_str_eq(out.msg.body, "{\"name\": \"Zhang\\nBcc: "
                                   "evil@example.com\", \"tag\": true}\n");
    ck_assert_ptr_null(out.msg.to);
    ck_assert_ptr_null(tmpl_find(set, "hello", "fax"));
    ck_assert_ptr_null(tmpl_find(set, "nope", "sms"));
    ck_assert_ptr_null(tmpl_find(set, "code", "email"));
    tmpl_out_free(&out);
}
END_TEST

START_TEST(test_needs)
{
    struct strset req = {0}, opt = {0};
    size_t i;

    for (i = 0; i < tmpl_set_count(set); i++)
        if (strcmp(tmpl_set_name(set, i), "hello") == 0)
            break;
    ck_assert_int_lt(i, tmpl_set_count(set));
    ck_assert_int_eq(tmpl_set_needs(set, i, &req, &opt), 0);
    ck_assert_int_eq(req.n, 3);
    ck_assert_str_eq(req.v[0], "msg.unsubscribe_url");
    ck_assert_str_eq(req.v[1], "name");
    ck_assert_str_eq(req.v[2], "owner.name");
    ck_assert_int_eq(opt.n, 1);
    ck_assert_str_eq(opt.v[0], "tag:vip");
    strset_clear(&req);
    strset_clear(&opt);
}
END_TEST

int main(void)
{
    TCase *enc, *msg = tcase_create("messages");
    Suite *s = check_suite("templates-message", &enc);

    tcase_add_loop_test(enc, test_encoders, 0,
                        sizeof enc_cases / sizeof enc_cases[0]);
    tcase_add_loop_test(enc, test_headers, 0,
                        sizeof header_cases / sizeof header_cases[0]);
    tcase_add_test(enc, test_base64_lengths);
    tcase_add_test(enc, test_unsubscribe_token);
    tcase_add_test(enc, test_address_bytes);
    tcase_add_checked_fixture(msg, setup, teardown);
    tcase_add_test(msg, test_email);
    tcase_add_loop_test(msg, test_display_names, 0,
                        sizeof name_cases / sizeof name_cases[0]);
    tcase_add_test(msg, test_email_refusals);
    tcase_add_loop_test(msg, test_hostile_recipients, 0,
                        sizeof hostile / sizeof hostile[0]);
    tcase_add_test(msg, test_sms);
    tcase_add_test(msg, test_wecom_webhook);
    tcase_add_test(msg, test_needs);
    suite_add_tcase(s, msg);
    return check_run(s);
}
