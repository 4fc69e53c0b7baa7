/*
 * leads_list.c - reading open leads and their deadlines (see
 * leads_list.h): the lead ids from slm:leads or a staff member's set,
 * then each student's name, stage, contacts and times in one pipeline.
 */
#include "rules/leads_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keys.h"
#include "core/mask.h"
#include "core/reply.h"
#include "rules/leads.h"

void leads_list_free(struct lead_list *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}

static struct lead *list_add(struct lead_list *l, const char *id,
                             const char *owner)
{
    struct lead *x;

    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct lead *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return NULL;
        l->v = v, l->cap = cap;
    }
    x = &l->v[l->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->id, sizeof x->id, "%s", id);
    snprintf(x->owner, sizeof x->owner, "%s", owner);
    x->assigned_ms = x->followup_ms = x->deadline_ms = -1;
    return x;
}

static const char *reply_str(const redisReply *r)
{
    return r->type == REDIS_REPLY_STRING ? r->str : NULL;
}

static int64_t reply_ms(const redisReply *r)
{
    const char *s = reply_str(r);
    return s && s[0] ? atoll(s) : -1;
}

/* Copies a reply's text, or "-" when the field is missing. */
static void copy_or_dash(char *dst, size_t n, const redisReply *r)
{
    const char *v = reply_str(r);
    snprintf(dst, n, "%s", v ? v : "-");
}

static void mask_into(char *dst, size_t n, const redisReply *r)
{
    const char *v = reply_str(r);
    if (v && v[0])
        mask_contact(v, dst, n);
}

/* Reads each lead's student data (pipelined) and works out its
 * deadline. 0 or -1. */
static int read_students(struct rconn *rc, const struct config *cfg,
                         struct lead_list *l)
{
    char key[KEY_MAX];
    redisReply *r;

    for (size_t k = 0; k < l->n; k++) {
        key_student(key, sizeof key, cfg->redis.prefix, l->v[k].id, NULL);
        if (rconn_append(rc, "HMGET %s name stage phone email %s %s", key,
                         FIELD_ASSIGNED_AT, FIELD_FIRST_FOLLOWUP_AT) < 0)
            return -1;
    }
    for (size_t k = 0; k < l->n; k++) {
        struct lead *x = &l->v[k];
        if (!(r = rconn_reply(rc)))
            return -1;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 6) {
            copy_or_dash(x->name, sizeof x->name, r->element[0]);
            copy_or_dash(x->stage, sizeof x->stage, r->element[1]);
            mask_into(x->phone, sizeof x->phone, r->element[2]);
            mask_into(x->email, sizeof x->email, r->element[3]);
            x->assigned_ms = reply_ms(r->element[4]);
            x->followup_ms = reply_ms(r->element[5]);
        }
        reply_free(r);
        if (x->assigned_ms >= 0)
            x->deadline_ms = leads_deadline(cfg, x->assigned_ms);
    }
    return 0;
}

/* Is id among the members of a SMEMBERS reply? (Teams are small.) */
static int has_member(const redisReply *members, const char *id)
{
    for (size_t k = 0; k < members->elements; k++)
        if (members->element[k]->type == REDIS_REPLY_STRING &&
            strcmp(members->element[k]->str, id) == 0)
            return 1;
    return 0;
}

/* The lead ids of slm:leads held by owner and team. 0 or -1. */
static int collect_open(struct rconn *rc, const char *prefix, const char *team,
                        const char *owner, struct lead_list *l)
{
    char key[KEY_MAX];
    redisReply *r, *members = NULL;
    int got = 0;

    if (team) {
        key_team(key, sizeof key, prefix, team);
        if (!(members = rconn_cmd(rc, "SMEMBERS %s", key)))
            return -1;
    }
    key_global(key, sizeof key, prefix, "leads");
    if (!(r = rconn_cmd(rc, "HGETALL %s", key))) {
        if (members)
            reply_free(members);
        return -1;
    }
    for (size_t k = 0;
         r->type == REDIS_REPLY_ARRAY && k + 1 < r->elements && got == 0;
         k += 2) {
        const char *id = r->element[k]->str, *holder = r->element[k + 1]->str;
        if (owner && strcmp(holder, owner) != 0)
            continue;
        if (members && (members->type != REDIS_REPLY_ARRAY ||
                        !has_member(members, holder)))
            continue;
        if (!list_add(l, id, holder))
            got = -1;
    }
    reply_free(r);
    if (members)
        reply_free(members);
    return got;
}

int leads_list_open(struct rconn *rc, const struct config *cfg,
                    const char *team, const char *owner, struct lead_list *l)
{
    if (collect_open(rc, cfg->redis.prefix, team, owner, l) < 0)
        return -1;
    return read_students(rc, cfg, l);
}

int leads_list_staff(struct rconn *rc, const struct config *cfg,
                     const char *staff, struct lead_list *l)
{
    char key[KEY_MAX];
    redisReply *r;
    int known;

    key_staff(key, sizeof key, cfg->redis.prefix, staff);
    if (!(r = rconn_cmd(rc, "EXISTS %s", key)))
        return -1;
    known = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    reply_free(r);
    leads_staff_key(key, sizeof key, cfg->redis.prefix, staff);
    if (!(r = rconn_cmd(rc, "ZRANGE %s 0 -1", key)))
        return -1;
    for (size_t k = 0; r->type == REDIS_REPLY_ARRAY && k < r->elements; k++)
        if (!list_add(l, r->element[k]->str, staff)) {
            reply_free(r);
            return -1;
        }
    reply_free(r);
    if (!known && l->n == 0)
        return 0;
    return read_students(rc, cfg, l) < 0 ? -1 : 1;
}

/* --- pure ----------------------------------------------------------------- */

int lead_overdue(const struct lead *x, int64_t now)
{
    return x->followup_ms < 0 && x->deadline_ms >= 0 && x->deadline_ms < now;
}

static int by_deadline(const void *a, const void *b)
{
    const struct lead *x = a, *y = b;
    return x->deadline_ms < y->deadline_ms   ? -1
           : x->deadline_ms > y->deadline_ms ? 1
                                             : strcmp(x->id, y->id);
}

void leads_list_keep_overdue(struct lead_list *l, int64_t now)
{
    size_t n = 0;

    for (size_t k = 0; k < l->n; k++)
        if (lead_overdue(&l->v[k], now))
            l->v[n++] = l->v[k];
    l->n = n;
    if (n > 1)
        qsort(l->v, n, sizeof *l->v, by_deadline);
}

char *leads_span(int64_t ms, char *buf, size_t n)
{
    long long s = ms < 0 ? 0 : ms / 1000;

    if (s >= 86400)
        snprintf(buf, n, "%lldd%lldh", s / 86400, s % 86400 / 3600);
    else if (s >= 3600)
        snprintf(buf, n, "%lldh%lldm", s / 3600, s % 3600 / 60);
    else if (s >= 60)
        snprintf(buf, n, "%lldm", s / 60);
    else
        snprintf(buf, n, "%llds", s);
    return buf;
}
