/*
 * cmd_doctor.c - nudgectl doctor: checks the student data nudge reads
 * for values it cannot use. Today: `tz` values that name no time zone
 * this machine has (such a student gets [delivery] timezone; see
 * rules/delivery.h delivery_zone()), listed with how many students have
 * each and one of them. Scans the student hashes with SCAN and reads
 * their `tz` with pipelined HGETs, a batch at a time, so it can run
 * beside a busy daemon. Exit 1 when it found something.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"
#include "core/keys.h"
#include "core/reply.h"
#include "core/tz.h"
#include "rules/delivery.h"

#define SCAN_COUNT 500

struct bad_tz {
    char *zone, *student;
};

struct doctor {
    struct bad_tz *bad;
    size_t nbad, cap;
    long long students, with_tz;
};

static void doctor_usage(FILE *fp)
{
    fprintf(fp, "usage: nudgectl -c FILE doctor\n\n"
                "Lists the time zones in students' `tz` that this machine\n"
                "does not know, with how many students have each: those\n"
                "students get [delivery] timezone instead. Exits 1 when there\n"
                "is any, 0 when every `tz` is a zone (or empty).\n");
}

static int add_bad(struct doctor *d, const char *zone, const char *student)
{
    if (d->nbad == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        struct bad_tz *b = realloc(d->bad, cap * sizeof *b);
        if (!b)
            return -1;
        d->bad = b, d->cap = cap;
    }
    d->bad[d->nbad].zone = strdup(zone);
    d->bad[d->nbad].student = strdup(student);
    if (!d->bad[d->nbad].zone || !d->bad[d->nbad].student) {
        free(d->bad[d->nbad].zone);
        free(d->bad[d->nbad].student);
        return -1;
    }
    d->nbad++;
    return 0;
}

/* The student id in key (prefix "student:{" id "}"), in id; 0, or -1
 * when key is not a student hash's name. */
static int key_id(const char *key, const char *prefix, char *id, size_t n)
{
    size_t head = strlen(prefix) + strlen("student:{"), len = strlen(key);

    if (len <= head + 1 || key[len - 1] != '}' || len - head - 1 >= n)
        return -1;
    memcpy(id, key + head, len - head - 1);
    id[len - head - 1] = '\0';
    return key_valid_id(id) ? 0 : -1;
}

/* Reads the `tz` of the student hashes named in keys (a SCAN reply's). */
static int check_batch(struct rconn *rc, const char *prefix,
                       const redisReply *keys, struct doctor *d)
{
    char id[160];
    int rv = 0;

    for (size_t i = 0; i < keys->elements; i++)
        if (rconn_append(rc, "HGET %s tz", keys->element[i]->str) < 0)
            return -1;
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *r = rconn_reply(rc);
        if (!r)
            return -1;
        if (key_id(keys->element[i]->str, prefix, id, sizeof id) == 0) {
            d->students++;
            if (r->type == REDIS_REPLY_STRING && r->len > 0) {
                d->with_tz++;
                if (!tz_known(r->str) && add_bad(d, r->str, id) < 0)
                    rv = -1;
            }
        }
        reply_free(r);
    }
    return rv;
}

/* prefix with the glob's special characters escaped, then the pattern of
 * a student hash. */
static void student_pattern(char *out, size_t n, const char *prefix)
{
    size_t o = 0;

    for (const char *p = prefix; *p && o + 2 < n; p++) {
        if (strchr("*?[]\\", *p))
            out[o++] = '\\';
        out[o++] = *p;
    }
    out[o] = '\0';
    snprintf(out + o, n - o, "student:{*}");
}

static int scan_students(struct rconn *rc, const char *prefix,
                         struct doctor *d)
{
    char cursor[32] = "0", pattern[KEY_MAX];

    student_pattern(pattern, sizeof pattern, prefix);
    do {
        redisReply *r = rconn_cmd(rc, "SCAN %s MATCH %s COUNT %d", cursor,
                                  pattern, SCAN_COUNT);
        int rv;

        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            fprintf(stderr, "nudgectl: SCAN failed: %s\n",
                    r && r->type == REDIS_REPLY_ERROR ? r->str : rc->errstr);
            if (r)
                reply_free(r);
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        rv = check_batch(rc, prefix, r->element[1], d);
        reply_free(r);
        if (rv < 0) {
            fprintf(stderr, "nudgectl: reading tz: %s\n",
                    rc->errstr[0] ? rc->errstr : "out of memory");
            return -1;
        }
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

static int by_zone(const void *a, const void *b)
{
    const struct bad_tz *x = a, *y = b;
    int c = strcmp(x->zone, y->zone);
    return c ? c : strcmp(x->student, y->student);
}

/* One line per unknown zone (d->bad sorted by zone): count, an example. */
static void report(const struct doctor *d, const char *used)
{
    char shown[48];
    size_t zones = 0;

    if (d->nbad)
        printf("unknown time zones in students' tz (those students get "
               "[delivery] timezone %s):\n",
               used);
    for (size_t i = 0, j; i < d->nbad; i = j, zones++) {
        for (j = i; j < d->nbad && strcmp(d->bad[j].zone, d->bad[i].zone) == 0;
             j++)
            ;
        tz_printable(shown, sizeof shown, d->bad[i].zone);
        printf("  \"%s\": %zu student%s (e.g. %s)\n", shown, j - i,
               j - i == 1 ? "" : "s", d->bad[i].student);
    }
    printf("%lld students, %lld with tz, %zu with an unknown zone (%zu "
           "zone%s)\n",
           d->students, d->with_tz, d->nbad, zones, zones == 1 ? "" : "s");
}

int cmd_doctor(struct ctl *ctl, int argc, char **argv)
{
    struct doctor d = {0};
    struct rconn *rc;
    int status;

    if (ctl_wants_help(argc, argv)) {
        doctor_usage(stdout);
        return CTL_OK;
    }
    if (argc != 1) {
        doctor_usage(stderr);
        return CTL_USAGE;
    }
    if (!(rc = ctl_redis(ctl)))
        return CTL_USAGE;
    if (scan_students(rc, ctl->cfg.redis.prefix, &d) < 0) {
        status = CTL_USAGE;
    } else {
        if (d.nbad)
            qsort(d.bad, d.nbad, sizeof *d.bad, by_zone);
        report(&d, delivery_default_zone(&ctl->cfg));
        status = d.nbad ? CTL_FINDING : CTL_OK;
    }
    for (size_t i = 0; i < d.nbad; i++) {
        free(d.bad[i].zone);
        free(d.bad[i].student);
    }
    free(d.bad);
    return status;
}
