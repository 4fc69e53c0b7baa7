/*
 * cmd_leads.c - watching leads from the command line (rules/leads.h keeps
 * the books):
 *
 *   nudgectl overdue [--team T] [--owner S] [--json]
 *       the open leads past their follow-up deadline now, most overdue
 *       first; exit 1 when there is any (a monitor's `|| alert`)
 *   nudgectl leads STAFF [--json]
 *       a recruiter's open leads and their deadlines, oldest first
 *
 * A lead's deadline is its assignment time (assigned_at) plus [leads]
 * followup_within; it is met by a followup that counts ([leads]
 * followup_by: the student's first_followup_at). Contacts are masked.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/ctl.h"
#include "core/clock.h"
#include "core/keys.h"
#include "core/mask.h"
#include "rules/leads.h"

/* One open lead as the commands show it. */
struct lead {
    char id[160], name[200], stage[64], owner[160], phone[64];
    int64_t assigned_ms; /* -1 unknown */
    int64_t followup_ms; /* first followup that counts, -1 none */
    int64_t deadline_ms; /* -1 unknown */
};

struct leads {
    struct lead *v;
    size_t n, cap;
};

static void overdue_usage(FILE *fp)
{
    fprintf(fp,
            "usage: nudgectl -c FILE overdue [--team T] [--owner S] [--json]\n"
            "\n"
            "The open leads past their follow-up deadline now (assignment\n"
            "time + [leads] followup_within, with no followup that counts),\n"
            "most overdue first: student, name, stage, owner, how long\n"
            "overdue. Contacts are masked.\n"
            "exit status: 0 none overdue, 1 some overdue (or a Redis error),\n"
            "2 usage\n");
}

static void leads_usage(FILE *fp)
{
    fprintf(fp,
            "usage: nudgectl -c FILE leads STAFF [--json]\n"
            "\n"
            "A recruiter's open leads, oldest assignment first, with each\n"
            "one's deadline (assignment time + [leads] followup_within) and\n"
            "state: followed up, due in ..., or overdue by ....\n"
            "exit status: 0 listed, 1 no such staff member (or a Redis\n"
            "error), 2 usage\n");
}

/* "2d3h", "3h12m", "45m", "30s". */
static char *span(int64_t ms, char *buf, size_t n)
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

/* Prints s left-aligned in width terminal columns: a CJK character
 * (U+1100 and up, near enough for names) takes two. */
static void put_col(const char *s, int width)
{
    const unsigned char *p = (const unsigned char *)s;
    int cols = 0;

    while (*p) {
        unsigned cp = *p;
        int len = cp < 0x80 ? 1 : cp < 0xe0 ? 2 : cp < 0xf0 ? 3 : 4;
        if (len >= 3)
            cp = len == 3 ? (cp & 0x0f) << 12 | (p[1] & 0x3fu) << 6 |
                                (p[2] & 0x3fu)
                          : 0x10000;
        for (int k = 1; k < len; k++)
            if (!p[k])
                len = k;
        cols += cp >= 0x1100 ? 2 : 1;
        p += len;
    }
    fputs(s, stdout);
    for (; cols < width; cols++)
        putchar(' ');
    putchar(' ');
}

static char *local_time(int64_t ms, char *buf, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    localtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M", &tm);
    return buf;
}

static struct lead *leads_add(struct leads *l, const char *id,
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

/* Reads each lead's student data (pipelined) and works out its
 * deadline. 0 or -1. */
static int read_students(struct rconn *rc, const struct config *cfg,
                         struct leads *l)
{
    char key[KEY_MAX];
    redisReply *r;

    for (size_t k = 0; k < l->n; k++) {
        key_student(key, sizeof key, cfg->redis.prefix, l->v[k].id, NULL);
        if (rconn_append(rc, "HMGET %s name stage phone %s %s", key,
                         FIELD_ASSIGNED_AT, FIELD_FIRST_FOLLOWUP_AT) < 0)
            return -1;
    }
    for (size_t k = 0; k < l->n; k++) {
        struct lead *x = &l->v[k];
        const char *v;
        if (!(r = rconn_reply(rc)))
            return -1;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 5) {
            snprintf(x->name, sizeof x->name, "%s",
                     (v = reply_str(r->element[0])) ? v : "-");
            snprintf(x->stage, sizeof x->stage, "%s",
                     (v = reply_str(r->element[1])) ? v : "-");
            if ((v = reply_str(r->element[2])))
                mask_contact(v, x->phone, sizeof x->phone);
            x->assigned_ms = reply_ms(r->element[3]);
            x->followup_ms = reply_ms(r->element[4]);
        }
        freeReplyObject(r);
        if (x->assigned_ms >= 0)
            x->deadline_ms = leads_deadline(cfg, x->assigned_ms);
    }
    return 0;
}

static int overdue_now(const struct lead *x, int64_t now)
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

/* The state of a lead in words: "overdue 3h12m", "due in 5h", ... */
static const char *state_of(const struct lead *x, int64_t now, char *buf,
                            size_t n)
{
    char d[32];

    if (x->followup_ms >= 0)
        snprintf(buf, n, "followed up");
    else if (x->deadline_ms < 0)
        snprintf(buf, n, "no assignment time");
    else if (x->deadline_ms < now)
        snprintf(buf, n, "overdue %s", span(now - x->deadline_ms, d, sizeof d));
    else
        snprintf(buf, n, "due in %s", span(x->deadline_ms - now, d, sizeof d));
    return buf;
}

static json_t *lead_json(const struct lead *x, int64_t now)
{
    char state[64];
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "student", x->id,
                          "name", x->name, "stage", x->stage, "owner",
                          x->owner, "state", state_of(x, now, state,
                                                      sizeof state));

    if (!o)
        return NULL;
    if (x->phone[0])
        json_object_set_new(o, "phone", json_string(x->phone));
    if (x->assigned_ms >= 0)
        json_object_set_new(o, "assigned_at",
                            json_integer(x->assigned_ms / 1000));
    if (x->deadline_ms >= 0) {
        json_object_set_new(o, "deadline", json_integer(x->deadline_ms / 1000));
        json_object_set_new(o, "overdue_seconds",
                            json_integer(overdue_now(x, now)
                                             ? (now - x->deadline_ms) / 1000
                                             : 0));
    }
    json_object_set_new(o, "followed_up", json_boolean(x->followup_ms >= 0));
    return o;
}

static void print_json(const struct leads *l, int64_t now)
{
    json_t *a = json_array();
    char *s;

    for (size_t k = 0; a && k < l->n; k++)
        json_array_append_new(a, lead_json(&l->v[k], now));
    s = a ? json_dumps(a, JSON_INDENT(2)) : NULL;
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(a);
}

/* --- overdue ------------------------------------------------------------ */

struct overdue_args {
    const char *team, *owner;
    int json;
};

static int parse_overdue(int argc, char **argv, struct overdue_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            a->json = 1;
        else if (strcmp(argv[i], "--team") == 0 && i + 1 < argc)
            a->team = argv[++i];
        else if (strcmp(argv[i], "--owner") == 0 && i + 1 < argc)
            a->owner = argv[++i];
        else
            return -1;
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

/* The open leads (slm:leads) of the owner and team asked for. 0 or -1. */
static int collect_open(struct rconn *rc, const char *prefix,
                        const struct overdue_args *a, struct leads *l)
{
    char key[KEY_MAX];
    redisReply *r, *team = NULL;
    int got = 0;

    if (a->team) {
        key_team(key, sizeof key, prefix, a->team);
        if (!(team = rconn_cmd(rc, "SMEMBERS %s", key)))
            return -1;
    }
    key_global(key, sizeof key, prefix, "leads");
    if (!(r = rconn_cmd(rc, "HGETALL %s", key))) {
        if (team)
            freeReplyObject(team);
        return -1;
    }
    for (size_t k = 0; r->type == REDIS_REPLY_ARRAY && k + 1 < r->elements &&
                       got == 0;
         k += 2) {
        const char *id = r->element[k]->str, *owner = r->element[k + 1]->str;
        if (a->owner && strcmp(owner, a->owner) != 0)
            continue;
        if (team && (team->type != REDIS_REPLY_ARRAY ||
                     !has_member(team, owner)))
            continue;
        if (!leads_add(l, id, owner))
            got = -1;
    }
    freeReplyObject(r);
    if (team)
        freeReplyObject(team);
    return got;
}

static void print_overdue(const struct leads *l, int64_t now)
{
    char d[32];

    if (l->n == 0) {
        printf("no overdue leads\n");
        return;
    }
    printf("%zu overdue lead%s, most overdue first\n", l->n,
           l->n == 1 ? "" : "s");
    printf("%-12s %-16s %-12s %-12s %s\n", "STUDENT", "NAME", "STAGE", "OWNER",
           "OVERDUE");
    for (size_t k = 0; k < l->n; k++) {
        const struct lead *x = &l->v[k];
        printf("%-12s ", x->id);
        put_col(x->name, 16);
        printf("%-12s %-12s %s\n", x->stage, x->owner,
               span(now - x->deadline_ms, d, sizeof d));
    }
}

int cmd_overdue(struct ctl *ctl, int argc, char **argv)
{
    struct overdue_args a;
    struct leads l = {0};
    struct rconn *rc;
    int64_t now = clock_now_ms();
    size_t n = 0;
    int status = CTL_FINDING;

    if (ctl_wants_help(argc, argv)) {
        overdue_usage(stdout);
        return CTL_OK;
    }
    if (parse_overdue(argc, argv, &a) < 0) {
        overdue_usage(stderr);
        return CTL_USAGE;
    }
    if (!(rc = ctl_redis(ctl)))
        return CTL_FINDING;
    if (collect_open(rc, ctl->cfg.redis.prefix, &a, &l) < 0 ||
        read_students(rc, &ctl->cfg, &l) < 0) {
        fprintf(stderr, "nudgectl: %s\n", rc->errstr);
        goto done;
    }
    for (size_t k = 0; k < l.n; k++)
        if (overdue_now(&l.v[k], now))
            l.v[n++] = l.v[k];
    l.n = n;
    qsort(l.v, l.n, sizeof *l.v, by_deadline);
    if (a.json)
        print_json(&l, now);
    else
        print_overdue(&l, now);
    status = l.n ? CTL_FINDING : CTL_OK;
done:
    free(l.v);
    return status;
}

/* --- leads STAFF -------------------------------------------------------- */

/* The staff member's open leads, oldest first: 1, 0 no such staff, -1. */
static int collect_staff(struct rconn *rc, const char *prefix,
                         const char *staff, struct leads *l)
{
    char key[KEY_MAX];
    redisReply *r;
    int known;

    key_staff(key, sizeof key, prefix, staff);
    if (!(r = rconn_cmd(rc, "EXISTS %s", key)))
        return -1;
    known = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    leads_staff_key(key, sizeof key, prefix, staff);
    if (!(r = rconn_cmd(rc, "ZRANGE %s 0 -1", key)))
        return -1;
    for (size_t k = 0; r->type == REDIS_REPLY_ARRAY && k < r->elements; k++)
        if (!leads_add(l, r->element[k]->str, staff)) {
            freeReplyObject(r);
            return -1;
        }
    freeReplyObject(r);
    return known || l->n;
}

static void print_staff(const char *staff, const struct leads *l, int64_t now)
{
    char when[32], state[64];

    printf("%s: %zu open lead%s\n", staff, l->n, l->n == 1 ? "" : "s");
    if (l->n == 0)
        return;
    printf("%-12s %-16s %-12s %-16s %s\n", "STUDENT", "NAME", "STAGE",
           "DEADLINE", "STATE");
    for (size_t k = 0; k < l->n; k++) {
        const struct lead *x = &l->v[k];
        printf("%-12s ", x->id);
        put_col(x->name, 16);
        printf("%-12s %-16s %s\n", x->stage,
               x->deadline_ms >= 0
                   ? local_time(x->deadline_ms, when, sizeof when)
                   : "-",
               state_of(x, now, state, sizeof state));
    }
}

int cmd_leads(struct ctl *ctl, int argc, char **argv)
{
    const char *staff = NULL;
    struct leads l = {0};
    struct rconn *rc;
    int json = 0, bad = 0, got, status = CTL_FINDING;

    if (ctl_wants_help(argc, argv)) {
        leads_usage(stdout);
        return CTL_OK;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (!staff && argv[i][0] != '-')
            staff = argv[i];
        else
            bad = 1;
    }
    if (bad || !staff || !key_valid_id(staff)) {
        leads_usage(stderr);
        return CTL_USAGE;
    }
    if (!(rc = ctl_redis(ctl)))
        return CTL_FINDING;
    got = collect_staff(rc, ctl->cfg.redis.prefix, staff, &l);
    if (got == 0)
        fprintf(stderr, "nudgectl: no staff member \"%s\" in Redis\n", staff);
    else if (got < 0 || read_students(rc, &ctl->cfg, &l) < 0)
        fprintf(stderr, "nudgectl: %s\n", rc->errstr);
    else {
        if (json)
            print_json(&l, clock_now_ms());
        else
            print_staff(staff, &l, clock_now_ms());
        status = CTL_OK;
    }
    free(l.v);
    return status;
}
