/*
 * timeline.c - writing timeline entries (see timeline.h).
 */
#include "core/timeline.h"

#include <stdio.h>

#include "core/join.h"
#include "core/keys.h"
#include "core/mask.h"

#define TL_MAX_ARGS 32

struct argv {
    const char *v[TL_MAX_ARGS];
    int n;
};

static void push(struct argv *a, const char *s)
{
    a->v[a->n++] = s;
}

static void push_field(struct argv *a, const char *name, const char *value)
{
    if (!value)
        return;
    push(a, name);
    push(a, value);
}

int timeline_format(struct resp *r, const char *prefix, const char *student,
                    long maxlen, const struct tl_entry *e)
{
    char key[KEY_MAX], maxbuf[24], stepbuf[24], masked[256];
    struct argv a = {.n = 0};

    if (key_student(key, sizeof key, prefix, student, KEY_TIMELINE) < 0)
        return -1;
    join_long(maxbuf, maxlen);
    push(&a, "XADD");
    push(&a, key);
    push(&a, "MAXLEN");
    push(&a, "~");
    push(&a, maxbuf);
    push(&a, "*");
    push_field(&a, "type", e->type ? e->type : "note");
    push_field(&a, "rule", e->rule);
    if (e->step >= 0) {
        join_long(stepbuf, e->step);
        push_field(&a, "step", stepbuf);
    }
    push_field(&a, "channel", e->channel);
    push_field(&a, "template", e->template_name);
    push_field(&a, "variant", e->variant);
    if (e->to)
        push_field(&a, "to", mask_contact(e->to, masked, sizeof masked));
    push_field(&a, "provider_id", e->provider_id);
    push_field(&a, "detail", e->detail);
    push_field(&a, "actor", e->actor);
    push_field(&a, "event", e->event_id);
    resp_begin(r, a.n);
    for (int i = 0; i < a.n; i++)
        resp_str(r, a.v[i]);
    return r->failed ? -1 : 0;
}

int timeline_append_cmd(struct rconn *rc, const char *prefix,
                        const char *student, long maxlen,
                        const struct tl_entry *e)
{
    struct resp r = {0};
    int ret = timeline_format(&r, prefix, student, maxlen, e) == 0
                  ? rconn_append_resp(rc, &r)
                  : -1;

    resp_free(&r);
    return ret;
}

int timeline_append(struct rconn *rc, const char *prefix, const char *student,
                    long maxlen, const struct tl_entry *e)
{
    if (timeline_append_cmd(rc, prefix, student, maxlen, e) < 0)
        return -1;
    int errors = rconn_discard(rc, 1);
    return errors == 0 ? 0 : -1;
}
