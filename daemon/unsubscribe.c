/*
 * unsubscribe.c - checks an unsubscribe link and records the opt-out
 * (see unsubscribe.h).
 */
#include "daemon/unsubscribe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/event_write.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/redis.h"
#include "core/reply.h"
#include "core/student.h"
#include "templates/unsub.h"

struct unsub {
    const struct config *cfg;
    struct rconn *rc;
    struct metric *done, *refused;
};

/* The channel types a student can opt out of (docs/redis.md), with their
 * names for people, in Chinese and English. */
static const struct optout_channel {
    const char *type, *zh, *en;
} optout_channels[] = {
    {"sms", "短信", "SMS"},
    {"email", "邮件", "email"},
    {"wecom", "企业微信消息", "WeCom"},
};

struct unsub *unsub_new(const struct config *cfg)
{
    struct unsub *u;

    if (!cfg->templates.unsubscribe_secret ||
        !cfg->templates.unsubscribe_secret[0])
        return NULL;
    if (!(u = calloc(1, sizeof *u)))
        return NULL;
    u->cfg = cfg;
    if (!(u->rc = rconn_new(cfg, NULL))) {
        free(u);
        return NULL;
    }
    u->done = metric_counter("nudge_unsubscribes_total",
                             "Opt-outs recorded from unsubscribe links.", NULL);
    u->refused = metric_counter(
        "nudge_unsubscribe_refused_total",
        "Unsubscribe requests refused (bad or forged links).", NULL);
    return u;
}

void unsub_free(struct unsub *u)
{
    if (!u)
        return;
    rconn_free(u->rc);
    free(u);
}

/* The channel of that type, or NULL when it is none of them. */
static const struct optout_channel *find_channel(const char *type)
{
    for (size_t i = 0; i < sizeof optout_channels / sizeof *optout_channels;
         i++)
        if (type && strcmp(type, optout_channels[i].type) == 0)
            return &optout_channels[i];
    return NULL;
}

/* 1 when the student already refuses channel (or everything), 0 when
 * not, -1 on a Redis failure. */
static int already_out(struct unsub *u, const char *student,
                       const char *channel)
{
    char key[KEY_MAX];
    redisReply *r;
    int out = 0;

    key_student(key, sizeof key, u->cfg->redis.prefix, student, KEY_OPTOUT);
    if (!(r = rconn_cmd(u->rc, "SMISMEMBER %s %s all", key, channel)))
        return -1;
    if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; i++)
            out |= r->element[i]->type == REDIS_REPLY_INTEGER &&
                   r->element[i]->integer == 1;
    else
        out = -1;
    if (r->type == REDIS_REPLY_ERROR) /* WRONGTYPE: the CRM's data is odd */
        log_warnx("unsubscribe: SMISMEMBER %s: %s", key, r->str);
    reply_free(r);
    return out;
}

static int record_optout(struct unsub *u, const char *student,
                         const char *channel, char *err, size_t n)
{
    char kv_channel[32], kv_detail[] = "detail=one-click unsubscribe link",
                         kv_actor[] = "actor=student", id[64];
    char *kv[] = {kv_channel, kv_detail, kv_actor};
    struct event ev;
    struct event_reject rej;

    snprintf(kv_channel, sizeof kv_channel, "channel=%s", channel);
    if (event_from_args(&ev, "optout", student, kv, 3, &rej) < 0) {
        snprintf(err, n, "%s", rej.text);
        return -1;
    }
    return event_write(u->rc, u->cfg->redis.prefix, &ev, id, sizeof id, err,
                       n);
}

/* 0 when the link is whole and its token is nudge's, else the status
 * (400, 403) with msg set. Needs no Redis. */
static int check_link(const struct unsub *u, const char *student,
                      const char *channel, const char *token, char *msg,
                      size_t n)
{
    if (!student || !key_valid_id(student) || !find_channel(channel) ||
        !token) {
        snprintf(msg, n, "链接不完整。This link is incomplete.");
        return 400;
    }
    if (!tmpl_unsub_verify(u->cfg->templates.unsubscribe_secret, student,
                           channel, token)) {
        snprintf(msg, n, "链接无效。This link is not valid.");
        return 403;
    }
    return 0;
}

int unsub_check(struct unsub *u, const char *student, const char *channel,
                const char *token, char *msg, size_t n)
{
    const struct optout_channel *ch;
    int status = check_link(u, student, channel, token, msg, n);

    if (status)
        return status;
    ch = find_channel(channel);
    snprintf(msg, n, "确定不再接收%s吗？Stop receiving %s messages?", ch->zh,
             ch->en);
    return 200;
}

static int unavailable(struct unsub *u, char *msg, size_t n)
{
    log_warnx("unsubscribe: %s", u->rc->errstr);
    rconn_close(u->rc); /* a fresh connection for the next request */
    snprintf(msg, n, "服务繁忙，请稍后再试。The service is busy: please try "
                     "again later.");
    return 503;
}

int unsub_handle(struct unsub *u, const char *student, const char *channel,
                 const char *token, char *msg, size_t n)
{
    const char *school = attrs_get(&u->cfg->school, "name");
    const struct optout_channel *ch;
    char err[256];
    int got = check_link(u, student, channel, token, msg, n);

    if (got) {
        metric_inc(u->refused);
        if (got == 403)
            log_warnx("unsubscribe: a token that does not match student %s, "
                      "channel %s: refused", student, channel);
        return got;
    }
    if (!u->rc->c && rconn_connect(u->rc) < 0)
        return unavailable(u, msg, n);
    if ((got = event_student_exists(u->rc, u->cfg->redis.prefix, student)) < 0)
        return unavailable(u, msg, n);
    if (got == 0) {
        metric_inc(u->refused);
        snprintf(msg, n, "没有找到您的记录。We have no record of you any more.");
        return 404;
    }
    if ((got = already_out(u, student, channel)) < 0)
        return unavailable(u, msg, n);
    if (got == 0) {
        if (record_optout(u, student, channel, err, sizeof err) < 0) {
            log_warnx("unsubscribe: student %s, %s: %s", student, channel, err);
            return unavailable(u, msg, n);
        }
        log_info("student %s unsubscribed from %s (one-click link)", student,
                 channel);
        metric_inc(u->done);
    }
    ch = find_channel(channel);
    snprintf(msg, n, "退订成功：您将不再收到%s的%s。You will receive no more "
             "%s messages from %s.", school ? school : "我们", ch->zh, ch->en,
             school ? school : "us");
    return 200;
}
