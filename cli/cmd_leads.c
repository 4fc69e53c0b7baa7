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
 * The loading is rules/leads_list.h's (the supervisors' page shows the
 * same leads); this file prints them.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/ctl.h"
#include "core/clock.h"
#include "core/keys.h"
#include "rules/leads_list.h"

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
        snprintf(buf, n, "overdue %s",
                 leads_span(now - x->deadline_ms, d, sizeof d));
    else
        snprintf(buf, n, "due in %s",
                 leads_span(x->deadline_ms - now, d, sizeof d));
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
    if (x->email[0])
        json_object_set_new(o, "email", json_string(x->email));
    if (x->assigned_ms >= 0)
        json_object_set_new(o, "assigned_at",
                            json_integer(x->assigned_ms / 1000));
    if (x->deadline_ms >= 0) {
        json_object_set_new(o, "deadline", json_integer(x->deadline_ms / 1000));
        json_object_set_new(o, "overdue_seconds",
                            json_integer(lead_overdue(x, now)
                                             ? (now - x->deadline_ms) / 1000
                                             : 0));
    }
    json_object_set_new(o, "followed_up", json_boolean(x->followup_ms >= 0));
    return o;
}

static void print_json(const struct lead_list *l, int64_t now)
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

static void print_overdue(const struct lead_list *l, int64_t now)
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
               leads_span(now - x->deadline_ms, d, sizeof d));
    }
}

int cmd_overdue(struct ctl *ctl, int argc, char **argv)
{
    struct overdue_args a;
    struct lead_list l = {0};
    struct rconn *rc;
    int64_t now = clock_now_ms();
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
    if (leads_list_open(rc, &ctl->cfg, a.team, a.owner, &l) < 0) {
        fprintf(stderr, "nudgectl: %s\n", rc->errstr);
        goto done;
    }
    leads_list_keep_overdue(&l, now);
    if (a.json)
        print_json(&l, now);
    else
        print_overdue(&l, now);
    status = l.n ? CTL_FINDING : CTL_OK;
done:
    leads_list_free(&l);
    return status;
}

/* --- leads STAFF -------------------------------------------------------- */

static void print_staff(const char *staff, const struct lead_list *l,
                        int64_t now)
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
    struct lead_list l = {0};
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
    got = leads_list_staff(rc, &ctl->cfg, staff, &l);
    if (got == 0)
        fprintf(stderr, "nudgectl: no staff member \"%s\" in Redis\n", staff);
    else if (got < 0)
        fprintf(stderr, "nudgectl: %s\n", rc->errstr);
    else {
        if (json)
            print_json(&l, clock_now_ms());
        else
            print_staff(staff, &l, clock_now_ms());
        status = CTL_OK;
    }
    leads_list_free(&l);
    return status;
}
