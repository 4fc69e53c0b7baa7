/*
 * receipt.c - the receipt records in Redis, and the timeline entries a
 * provider's delivery report becomes (see receipt.h).
 */
#include "core/receipt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keys.h"
#include "core/log.h"
#include "core/mask.h"
#include "core/reply.h"
#include "core/timeline.h"

int receipt_id_valid(const char *id)
{
    size_t len = id ? strlen(id) : 0;

    if (len == 0 || len > RECEIPT_ID_MAX)
        return 0;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        if (*p <= ' ' || *p >= 0x7f)
            return 0;
    return 1;
}

/* prefix "receipt:" id [suffix]; -1 when id is not one or it is too long */
static int receipt_key(char *buf, size_t n, const char *prefix, const char *id,
                       const char *suffix)
{
    char name[KEY_MAX];

    if (!receipt_id_valid(id))
        return -1;
    snprintf(name, sizeof name, "receipt:%s%s", id, suffix ? suffix : "");
    return key_global(buf, n, prefix, name);
}

/* A record field may not hold the record's separators. */
static int plain_field(const char *s)
{
    return !s || !strpbrk(s, "\t\r\n");
}

int receipt_note_cmd(struct rconn *rc, const char *prefix,
                     const char *provider_id, const char *student,
                     const char *channel, const char *rule, int step,
                     const char *tmpl)
{
    char key[KEY_MAX], stepbuf[16] = "", ttl[16], *value;
    const char *argv[5];
    int ret;

    if (receipt_key(key, sizeof key, prefix, provider_id, NULL) < 0 ||
        !student || !key_valid_id(student) || !channel || !*channel ||
        !plain_field(channel) || !plain_field(rule) || !plain_field(tmpl))
        return -1;
    if (step >= 0)
        snprintf(stepbuf, sizeof stepbuf, "%d", step);
    if (asprintf(&value, "%s\t%s\t%s\t%s\t%s", student, channel,
                 rule ? rule : "", stepbuf, tmpl ? tmpl : "") < 0)
        return -1;
    argv[0] = "SET";
    argv[1] = key;
    argv[2] = value;
    argv[3] = "EX";
    snprintf(ttl, sizeof ttl, "%d", RECEIPT_TTL_S);
    argv[4] = ttl;
    ret = rconn_appendargv(rc, 5, argv, NULL);
    free(value);
    return ret;
}

/* Splits "STUDENT\tCHANNEL\tRULE\tSTEP\tTEMPLATE" held in out->text. */
static int parse_record(struct receipt *out)
{
    char *f[5], *p = out->text, *end;
    long step = -1;

    for (int i = 0; i < 5; i++) {
        f[i] = p;
        p = strchr(p, '\t');
        if ((i < 4) != (p != NULL))
            return -1; /* too few or too many fields */
        if (p)
            *p++ = '\0';
    }
    if (*f[3]) {
        step = strtol(f[3], &end, 10);
        if (*end || step < -1 || step > 1000000)
            return -1;
    }
    if (!key_valid_id(f[0]) || !*f[1])
        return -1;
    out->student = f[0];
    out->channel = f[1];
    out->rule = *f[2] ? f[2] : NULL;
    out->step = (int)step;
    out->template_name = *f[4] ? f[4] : NULL;
    return 0;
}

int receipt_lookup_cmd(struct rconn *rc, const char *prefix,
                       const char *provider_id)
{
    char key[KEY_MAX], mark[KEY_MAX];

    if (receipt_key(key, sizeof key, prefix, provider_id, NULL) < 0 ||
        receipt_key(mark, sizeof mark, prefix, provider_id, ":status") < 0)
        return -1;
    if (rconn_append(rc, "GET %s", key) < 0 ||
        rconn_append(rc, "GET %s", mark) < 0)
        return -1;
    return 0;
}

/* 1 with the string in buf, 0 for nil, -1 for a connection error; a
 * reply of another kind (WRONGTYPE) is logged and taken as nil. */
static int string_reply(struct rconn *rc, const char *id, char *buf, size_t n)
{
    redisReply *r = rconn_reply(rc);
    int got = 0;

    if (!r)
        return -1;
    if (r->type == REDIS_REPLY_STRING && r->len < n) {
        memcpy(buf, r->str, r->len);
        buf[r->len] = '\0';
        got = 1;
    } else if (r->type != REDIS_REPLY_NIL) {
        log_warnx("receipt %s: unexpected reply from Redis (%s)", id,
                  r->type == REDIS_REPLY_ERROR ? r->str : "not a short string");
    }
    reply_free(r);
    return got;
}

int receipt_lookup_reply(struct rconn *rc, const char *provider_id,
                         struct receipt *out)
{
    int found, marked;

    memset(out, 0, sizeof *out);
    found = string_reply(rc, provider_id, out->text, sizeof out->text);
    marked = string_reply(rc, provider_id, out->status, sizeof out->status);
    if (found < 0 || marked < 0)
        return -1;
    if (marked == 0)
        out->status[0] = '\0';
    if (found && parse_record(out) < 0) {
        log_warnx("receipt %s: the record in Redis is not "
                  "STUDENT\\tCHANNEL\\tRULE\\tSTEP\\tTEMPLATE: ignored",
                  provider_id);
        found = 0;
    }
    return found;
}

int receipt_lookup(struct rconn *rc, const char *prefix,
                   const char *provider_id, struct receipt *out)
{
    memset(out, 0, sizeof *out);
    if (!receipt_id_valid(provider_id))
        return 0;
    if (receipt_lookup_cmd(rc, prefix, provider_id) < 0)
        return -1;
    return receipt_lookup_reply(rc, provider_id, out);
}

/* "CODE: message", masked: a provider may quote the number. */
static const char *failure_detail(const struct receipt_report *rep, char *buf,
                                  size_t n)
{
    char raw[512];
    const char *code = rep->code && *rep->code ? rep->code : NULL,
               *msg = rep->message && *rep->message ? rep->message : NULL;

    if (!code && !msg)
        return "the provider gave no reason";
    snprintf(raw, sizeof raw, "%s%s%s", code ? code : "",
             code && msg ? ": " : "", msg ? msg : "");
    return mask_text(raw, buf, n);
}

int receipt_record_cmd(struct rconn *rc, const char *prefix, long maxlen,
                       const char *provider_id, const struct receipt *r,
                       const struct receipt_report *rep)
{
    struct tl_entry e = TL_ENTRY_INIT;
    char actor[160], detail[512], mark[KEY_MAX];
    const char *status = rep->delivered ? "delivered" : "undelivered";

    if (receipt_key(mark, sizeof mark, prefix, provider_id, ":status") < 0)
        return -1;
    snprintf(actor, sizeof actor, "provider:%s", r->channel);
    e.type = status;
    e.rule = r->rule;
    e.step = r->step;
    e.channel = r->channel;
    e.template_name = r->template_name;
    e.to = rep->to && *rep->to ? rep->to : NULL;
    e.provider_id = provider_id;
    e.detail =
        rep->delivered ? NULL : failure_detail(rep, detail, sizeof detail);
    e.actor = actor;
    if (timeline_append_cmd(rc, prefix, r->student, maxlen, &e) < 0)
        return -1;
    return rconn_append(rc, "SET %s %s EX %d", mark, status, RECEIPT_TTL_S);
}
