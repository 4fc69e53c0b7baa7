/*
 * cmd_timeline.c - nudgectl timeline STUDENT [--unmasked]: who the student
 * is and everything that happened to them, newest last. Contacts are
 * masked (in the header and inside free text) unless --unmasked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/ctl.h"
#include "core/keys.h"
#include "core/mask.h"
#include "core/reply.h"
#include "core/student_store.h"

static void timeline_usage(FILE *fp)
{
    fprintf(fp, "usage: nudgectl -c FILE timeline STUDENT [--unmasked]\n\n"
                "Prints the student and their timeline, newest last, in the\n"
                "config's [delivery] timezone. Phone numbers and emails are\n"
                "masked unless --unmasked.\n");
}

/* Prints v as data from the CRM is printed to a terminal: its control
 * characters escaped (no ESC sequence moves the cursor, no newline forges
 * an entry), "-" when absent. */
static void put(const char *before, const char *v)
{
    char buf[2048];

    printf("%s%s", before, v ? escape_controls(v, buf, sizeof buf) : "-");
}

static const char *shown(const char *value, int unmasked, char *buf,
                         size_t n, int free_text)
{
    if (!value)
        return NULL;
    if (unmasked)
        return value;
    return free_text ? mask_text(value, buf, n) : mask_contact(value, buf, n);
}

static void print_header(const struct student *st, int unmasked)
{
    char a[256], b[256];
    const char *v;

    put("student ", st->id);
    if ((v = student_get(st, "name")))
        put("  ", v);
    put("\n  stage ", student_get(st, "stage"));
    put("  owner ", student_get(st, "owner"));
    put("  phone ", shown(student_get(st, "phone"), unmasked, a, sizeof a, 0));
    put("  email ", shown(student_get(st, "email"), unmasked, b, sizeof b, 0));
    printf("\n");
    if (st->tags.n) {
        printf("  tags");
        for (size_t i = 0; i < st->tags.n; i++)
            put(" ", st->tags.v[i]);
        printf("\n");
    }
    if (st->optouts.n) {
        printf("  opted out of");
        for (size_t i = 0; i < st->optouts.n; i++)
            put(" ", st->optouts.v[i]);
        printf("\n");
    }
}

/* "2026-11-22 15:30:01" from a stream id's milliseconds. */
static void format_id_time(const char *id, char *out, size_t n)
{
    time_t secs = (time_t)(strtoll(id, NULL, 10) / 1000);
    struct tm tm;

    localtime_r(&secs, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
}

static void print_entry(const redisReply *e, int unmasked)
{
    const redisReply *f = e->element[1];
    const char *type = "?";
    char when[32], buf[1024];

    format_id_time(e->element[0]->str, when, sizeof when);
    for (size_t i = 0; i + 1 < f->elements; i += 2)
        if (strcmp(f->element[i]->str, "type") == 0)
            type = f->element[i + 1]->str;
    printf("%s  %-10s", when, escape_controls(type, buf, sizeof buf));
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const char *k = f->element[i]->str, *v = f->element[i + 1]->str;
        if (strcmp(k, "type") == 0)
            continue;
        /* Only free text can hold a contact: `to` is stored masked, and
         * ids are long digit runs that are not phone numbers. */
        if (strcmp(k, "detail") == 0)
            v = shown(v, unmasked, buf, sizeof buf, 1);
        put(" ", k);
        put("=", v);
    }
    printf("\n");
}

static int print_timeline(struct rconn *rc, const char *prefix,
                          const char *id, int unmasked)
{
    char key[KEY_MAX];
    redisReply *r;

    key_student(key, sizeof key, prefix, id, KEY_TIMELINE);
    if (!(r = rconn_cmd(rc, "XRANGE %s - +", key)))
        return -1;
    if (r->type == REDIS_REPLY_ARRAY) {
        if (r->elements == 0)
            printf("(no timeline entries)\n");
        for (size_t i = 0; i < r->elements; i++)
            if (r->element[i]->elements == 2)
                print_entry(r->element[i], unmasked);
    }
    reply_free(r);
    return 0;
}

int cmd_timeline(struct ctl *ctl, int argc, char **argv)
{
    const char *id = NULL;
    int unmasked = 0, found;
    struct rconn *rc;
    struct student *st;

    if (ctl_wants_help(argc, argv)) {
        timeline_usage(stdout);
        return CTL_OK;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--unmasked") == 0)
            unmasked = 1;
        else if (!id)
            id = argv[i];
        else {
            timeline_usage(stderr);
            return CTL_USAGE;
        }
    }
    if (!id) {
        timeline_usage(stderr);
        return CTL_USAGE;
    }
    if (!(rc = ctl_redis(ctl)))
        return CTL_FINDING;
    if ((found = student_load(rc, ctl->cfg.redis.prefix, id, &st)) < 0) {
        fprintf(stderr, "nudgectl: %s\n", rc->errstr);
        return CTL_FINDING;
    }
    if (found)
        print_header(st, unmasked);
    else
        printf("student %s (no student record)\n", id);
    student_free(st);
    if (print_timeline(rc, ctl->cfg.redis.prefix, id, unmasked) < 0) {
        fprintf(stderr, "nudgectl: %s\n", rc->errstr);
        return CTL_FINDING;
    }
    return CTL_OK;
}
