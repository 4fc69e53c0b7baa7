/*
 * fuzz_template.c - libFuzzer target for the template parser (make fuzz).
 *
 * The first byte picks the part type; the rest is a part file. It goes
 * through the same checks and parser as a file of the templates folder,
 * and when it compiles it is rendered for a student whose values are
 * hostile (markup, CR LF, braces, invalid UTF-8), so the renderer, the
 * escapers, the SMS counter and the MIME builder run on whatever the
 * parser accepts (an SMS's measure, counted as it was written, checked
 * against measuring the finished body). The raw bytes also go to the
 * compiler, the SMS counter and the body encoders directly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "templates/mime.h"
#include "templates/part.h"
#include "templates/tmpl.h"
#include "templates/utf8.h"

static struct config cfg;
static struct student *student;
static struct staff *owner;
static struct tmpl_out out;

static void setup(void)
{
    static const char *const kv[][2] = {
        {"name", "<script>{{name}}</script>\r\nBcc: x@y"},
        {"phone", "13812345678"},
        {"email", "a@example.edu"},
        {"wecom_userid", "zs"},
        {"score", "612"},
        {"day", "2026-09-01"},
        {"bad", "\xff\xfe}}{{"},
        {"lang", "en"},
    };

    config_defaults(&cfg);
    cfg.templates.unsubscribe_secret = strdup("secret");
    attrs_set(&cfg.school, "name", "示例大学");
    attrs_sort(&cfg.school);
    student = student_new("42");
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        attrs_set(&student->attrs, kv[i][0], kv[i][1]);
    strset_add(&student->tags, "intent:high");
    student_seal(student);
    owner = staff_new("t1");
    attrs_set(&owner->attrs, "name", "李老师");
    attrs_sort(&owner->attrs);
    tmpl_out_init(&out);
}

/* The SMS measure, counted as the body was written, must be the measure
 * of the finished body. */
static void check_sms_measure(const struct tmpl_msg *m)
{
    struct sms_info want;

    tmpl_sms_measure(m->body, strlen(m->body), &want);
    if (want.encoding != m->sms.encoding || want.chars != m->sms.chars ||
        want.units != m->sms.units || want.segments != m->sms.segments)
        abort();
}

static void parse_and_render(enum tmpl_type type, const char *text, size_t n,
                             int html)
{
    struct tmpl_part part;
    struct part_text pt = {"fuzz", text, n};
    struct tmpl_ctx ctx = {.student = student, .owner = owner, .cfg = &cfg,
                           .now_ms = 1790000000000LL, .key = "k"};
    struct diag d = {0};

    memset(&part, 0, sizeof part);
    part.type = type;
    part.name = "fuzz";
    if (tmpl_part_parse(&part, &pt, &cfg, &d) == 0 &&
        (!html || tmpl_part_add_html(&part, &pt, &cfg, &d) == 0) &&
        tmpl_render(&part, &ctx, &out) == TMPL_OK && type == TMPL_SMS &&
        out.msg.body)
        check_sms_measure(&out.msg);
    tmpl_part_clear(&part);
    diag_clear(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct tbuf b = {0};
    struct sms_info info;
    struct diag d = {0};
    struct tmpl_pos pos = {"fuzz", 1, 1};
    const char *text;
    size_t n;

    if (!ready) {
        setup();
        ready = 1;
    }
    if (size < 1)
        return 0;
    text = (const char *)data + 1;
    n = size - 1;
    /* The compiler copes with any bytes, even those the loader refuses. */
    tmpl_prog_free(tmpl_compile(text, n, &pos, &cfg.school, &d));
    diag_clear(&d);
    tmpl_sms_measure(text, n, &info);
    tmpl_mime_qp(&b, (const unsigned char *)text, n);
    tmpl_mime_base64(&b, (const unsigned char *)text, n);
    tbuf_free(&b);
    /* What the loader accepts: no NUL, valid UTF-8. */
    if (memchr(text, '\0', n) || tmpl_utf8_invalid_at(text, n) < n)
        return 0;
    parse_and_render((enum tmpl_type)(data[0] % TMPL_NTYPES), text, n,
                     data[0] & 0x80);
    return 0;
}
