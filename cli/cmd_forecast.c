/*
 * cmd_forecast.c - nudgectl forecast [--days N] [--rule R] [--rules-dir
 * DIR] [--json]: how many messages each rule will send per day and per
 * channel over the next days, their SMS segments and cost, and the
 * busiest hour. This file reads Redis (the pauses, the step jobs of the
 * delayed queue, every student, the events of the last 30 days) and
 * prints; rules/forecast.h walks each student through the daemon's
 * code. Nothing is written to Redis. docs/insight.md, "Forecast", says
 * how to read the output and what is estimated.
 *
 * Exit: 0 the forecast is printed, 1 the rules or templates have errors
 * (file:line:col: message on stderr), 2 a usage error, an unknown rule,
 * or Redis failed.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"
#include "cli/progress.h"
#include "core/clock.h"
#include "core/event.h"
#include "core/keys.h"
#include "rules/forecast.h"
#include "rules/scanload.h"
#include "rules/schedule.h"

#define FC_CHUNK 500        /* students read and walked at a time */
#define FC_PAGE 1000        /* queue ids and events read at a time */
#define FC_EVENT_DAYS 30    /* the rate of trigger events is taken over */
#define DAY_MS (86400LL * 1000)

struct fc_cmd {
    struct ctl *ctl;
    int days, json;
    const char *rule, *dir;
    struct rules_env env;
    struct ruleset *set;
    struct tmpl_set *tmpls;
    struct forecast fc;
    int only; /* --rule: its index, else -1 */
    struct fc_job *jobs;
    size_t njobs, capjobs;
    long long jobs_seen, jobs_stale;
    char **ids;
    size_t nids, capids;
    int64_t now_ms;
};

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: nudgectl -c FILE forecast [--days N] [--rule R] "
            "[--rules-dir DIR] [--json]\n"
            "Predicts what the rules will send over the next N days "
            "(default 7, today\nfirst): messages per rule, day and channel, "
            "SMS segments and cost, the\nbusiest hour. From the queued "
            "jobs, the schedules over today's students and\nthe sending "
            "policy; event rules from their last 30 days (estimated).\n"
            "Reads Redis, writes nothing.\n");
}

/* --- loading ---------------------------------------------------------------- */

static int parse_args(struct fc_cmd *c, int argc, char **argv)
{
    char *end;

    c->days = 7;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            c->json = 1;
        } else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
            long n = strtol(argv[++i], &end, 10);
            if (end == argv[i] || *end || n < 1 || n > FORECAST_DAYS_MAX) {
                fprintf(stderr,
                        "nudgectl: forecast: --days \"%s\": a number of days "
                        "from 1 to %d\n",
                        argv[i], FORECAST_DAYS_MAX);
                return -1;
            }
            c->days = (int)n;
        } else if (strcmp(argv[i], "--rule") == 0 && i + 1 < argc) {
            c->rule = argv[++i];
        } else if (strcmp(argv[i], "--rules-dir") == 0 && i + 1 < argc) {
            c->dir = argv[++i];
        } else {
            return -1;
        }
    }
    return 0;
}

/* The rules and templates, checked as nudged checks them. 0, or
 * CTL_FINDING / CTL_USAGE. */
static int load_rules(struct fc_cmd *c)
{
    const struct config *cfg = &c->ctl->cfg;
    struct diag d = {0};

    if (rules_env_from_config(&c->env, cfg) < 0) {
        fprintf(stderr, "nudgectl: out of memory\n");
        return CTL_USAGE;
    }
    ruleset_load_dir(c->dir ? c->dir : cfg->rules.dir, &c->env, &c->set, &d);
    if (c->set)
        c->tmpls = tmpl_set_load(cfg->templates.dir, cfg, &d);
    diag_print(&d, stderr);
    if (!c->set || !c->tmpls) {
        fprintf(stderr, "nudgectl: forecast: fix these first (%d error%s)\n",
                d.errors, d.errors == 1 ? "" : "s");
        diag_clear(&d);
        return CTL_FINDING;
    }
    diag_clear(&d);
    c->only = -1;
    if (c->rule) {
        const struct crule *r = ruleset_find(c->set, c->rule);
        if (!r) {
            fprintf(stderr, "nudgectl: forecast: no rule named \"%s\"\n",
                    c->rule);
            return CTL_USAGE;
        }
        c->only = (int)(r - c->set->rules);
    }
    return 0;
}

static int wanted(const struct fc_cmd *c, size_t rule)
{
    return c->only < 0 || (size_t)c->only == rule;
}

/* A bad price_per_segment would price the forecast at 0: say so, as
 * nudged says it at start. 0, or CTL_USAGE. */
static int check_prices(const struct fc_cmd *c)
{
    struct diag d = {0};
    double price;
    int errors;

    for (size_t i = 0; i < c->env.nchans; i++) {
        struct conf_section *sec =
            config_channel(&c->ctl->cfg, c->env.chans[i].name);
        if (sec)
            channel_read_price(sec, &price, &d);
    }
    diag_print(&d, stderr);
    errors = d.errors;
    diag_clear(&d);
    return errors ? CTL_USAGE : 0;
}

/* --- pauses ------------------------------------------------------------------- */

static int read_pauses(struct fc_cmd *c, struct rconn *rc)
{
    char key[KEY_MAX];
    redisReply *rep;
    int status = 0;

    key_global(key, sizeof key, c->ctl->cfg.redis.prefix, "pause");
    if (!(rep = rconn_cmd(rc, "HGETALL %s", key)))
        return -1;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements;
         i += 2)
        if (rep->element[i]->type == REDIS_REPLY_STRING &&
            forecast_pause(&c->fc, rep->element[i]->str) < 0)
            status = -1;
    freeReplyObject(rep);
    return status;
}

/* --- the queue: step jobs ------------------------------------------------------- */

/* A step job's payload (rules/run.c run_job_payload()): kept when its
 * rule is in the set at the same version; other jobs (scan batches,
 * alerts, digests) are not runs. */
static int add_job(struct fc_cmd *c, const char *payload, size_t len,
                   int64_t due_ms)
{
    json_t *o = json_loadb(payload, len, 0, NULL);
    const char *rule, *student, *version;
    json_int_t step, started;
    const struct crule *r;
    char want[24];
    int status = 0;

    if (!o || json_unpack(o, "{s:s, s:s, s:I, s:s, s:I}", "rule", &rule,
                          "student", &student, "step", &step, "version",
                          &version, "started", &started) < 0)
        goto done;
    c->jobs_seen++;
    if (!(r = ruleset_find(c->set, rule)) || step < 0 ||
        (size_t)step >= r->nsteps) {
        c->jobs_stale++;
        goto done;
    }
    snprintf(want, sizeof want, "%016llx", (unsigned long long)r->version);
    if (strcmp(version, want) != 0) { /* the daemon abandons it */
        c->jobs_stale++;
        goto done;
    }
    if (c->njobs == c->capjobs) {
        size_t cap = c->capjobs ? c->capjobs * 2 : 1024;
        struct fc_job *v = realloc(c->jobs, cap * sizeof *v);
        if (!v) {
            status = -1;
            goto done;
        }
        c->jobs = v;
        c->capjobs = cap;
    }
    if (!(c->jobs[c->njobs].student = strdup(student))) {
        status = -1;
        goto done;
    }
    c->jobs[c->njobs].rule = (size_t)(r - c->set->rules);
    c->jobs[c->njobs].step = (size_t)step;
    c->jobs[c->njobs].due_ms = due_ms;
    c->jobs[c->njobs].started_ms = started;
    c->njobs++;
done:
    json_decref(o);
    return status;
}

/* One page of a shard's due set: ids with their due times, then their
 * payloads in one HMGET. Returns how many ids the page had, or -1. */
static long read_queue_page(struct fc_cmd *c, struct rconn *rc, int shard,
                            long from)
{
    const char *prefix = c->ctl->cfg.redis.prefix;
    char due[KEY_MAX], jobs[KEY_MAX];
    redisReply *ids, *pay = NULL;
    const char **argv;
    long n;

    snprintf(due, sizeof due, "%sq:{%d}:due", prefix, shard);
    snprintf(jobs, sizeof jobs, "%sq:{%d}:jobs", prefix, shard);
    if (!(ids = rconn_cmd(rc, "ZRANGE %s %ld %ld WITHSCORES", due, from,
                          from + FC_PAGE - 1)))
        return -1;
    n = ids->type == REDIS_REPLY_ARRAY ? (long)ids->elements / 2 : 0;
    if (n && (argv = calloc((size_t)n + 2, sizeof *argv))) {
        argv[0] = "HMGET";
        argv[1] = jobs;
        for (long i = 0; i < n; i++)
            argv[i + 2] = ids->element[2 * i]->str;
        pay = rconn_cmdargv(rc, (int)n + 2, argv, NULL);
        free(argv);
    }
    if (n && (!pay || pay->type != REDIS_REPLY_ARRAY ||
              pay->elements != (size_t)n))
        n = -1;
    for (long i = 0; n > 0 && i < n; i++)
        if (pay->element[i]->type == REDIS_REPLY_STRING &&
            add_job(c, pay->element[i]->str, pay->element[i]->len,
                    strtoll(ids->element[2 * i + 1]->str, NULL, 10)) < 0)
            n = -1;
    if (pay)
        freeReplyObject(pay);
    freeReplyObject(ids);
    return n;
}

static int by_student(const void *a, const void *b)
{
    return strcmp(((const struct fc_job *)a)->student,
                  ((const struct fc_job *)b)->student);
}

static int read_queue(struct fc_cmd *c, struct rconn *rc)
{
    long got;

    for (int s = 0; s < c->ctl->cfg.queue.shards; s++)
        for (long from = 0;; from += FC_PAGE) {
            if ((got = read_queue_page(c, rc, s, from)) < 0)
                return -1;
            if (got < FC_PAGE)
                break;
        }
    if (c->njobs)
        qsort(c->jobs, c->njobs, sizeof *c->jobs, by_student);
    return 0;
}

/* The jobs of student id: *n of them from the returned one. */
static const struct fc_job *jobs_of(const struct fc_cmd *c, const char *id,
                                    size_t *n)
{
    size_t lo = 0, hi = c->njobs, at;

    *n = 0;
    if (!c->njobs)
        return NULL;
    while (lo < hi) { /* the first job whose student is >= id */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(c->jobs[mid].student, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (at = lo; at < c->njobs && strcmp(c->jobs[at].student, id) == 0; at++)
        ;
    *n = at - lo;
    return c->jobs + lo;
}

/* --- the students --------------------------------------------------------------- */

static int add_id(void *ctx, const char *id)
{
    struct fc_cmd *c = ctx;

    if (c->nids == c->capids) {
        size_t cap = c->capids ? c->capids * 2 : 1024;
        char **v = realloc(c->ids, cap * sizeof *v);
        if (!v)
            return -1;
        c->ids = v;
        c->capids = cap;
    }
    if (!(c->ids[c->nids] = strdup(id)))
        return -1;
    c->nids++;
    return 0;
}

static int walk_student(void *ctx, struct student **st)
{
    struct fc_cmd *c = ctx;
    size_t n;
    const struct fc_job *j = jobs_of(c, (*st)->id, &n);

    return forecast_student(&c->fc, *st, j, n);
}

/* Every student id first (the total the progress line counts to), then
 * each student read and walked, FC_CHUNK at a time. */
static int walk_students(struct fc_cmd *c, struct rconn *rc)
{
    const char *prefix = c->ctl->cfg.redis.prefix;
    char cursor[STUDENTS_CURSOR_MAX] = "0";
    struct progress p;
    int status = 0;

    do {
        if (students_scan_page(rc, prefix, cursor, add_id, c) != 0)
            return -1;
    } while (strcmp(cursor, "0") != 0);
    progress_start(&p, stderr, progress_wanted(stderr, c->json), "forecast",
                   "students", c->nids, NULL);
    for (size_t at = 0; at < c->nids && status == 0; at += FC_CHUNK) {
        size_t n = c->nids - at < FC_CHUNK ? c->nids - at : FC_CHUNK;
        status = students_each(rc, prefix, (const char *const *)c->ids + at,
                               n, walk_student, c);
        progress_update(&p, at + n);
    }
    progress_end(&p);
    return status;
}

/* --- event-triggered rules: their trigger's rate ------------------------------------ */

/* Counts, per rule, the events of the last FC_EVENT_DAYS days that fire
 * it (ruleset_triggered(), the consumer's own matching), reading the
 * stream by time in pages. */
static int count_events(struct fc_cmd *c, struct rconn *rc, long long *count)
{
    char key[KEY_MAX], from[48], to[32];
    size_t idx[64];
    int status = 0;

    key_global(key, sizeof key, c->ctl->cfg.redis.prefix, "events");
    snprintf(from, sizeof from, "%lld",
             (long long)(c->now_ms - FC_EVENT_DAYS * DAY_MS));
    snprintf(to, sizeof to, "%lld", (long long)c->now_ms);
    for (;;) {
        redisReply *rep = rconn_cmd(rc, "XRANGE %s %s %s COUNT %d", key, from,
                                    to, FC_PAGE);
        size_t n;
        if (!rep)
            return -1;
        n = rep->type == REDIS_REPLY_ARRAY ? rep->elements : 0;
        for (size_t i = 0; i < n; i++) {
            struct event ev;
            struct event_reject rej;
            if (event_decode(rep->element[i], &ev, &rej) < 0)
                continue;
            size_t k = ruleset_triggered(c->set, &ev, idx, 64);
            for (size_t j = 0; j < k && j < 64; j++)
                count[idx[j]]++;
        }
        if (n) /* the next page starts after the last id */
            snprintf(from, sizeof from, "(%s",
                     rep->element[n - 1]->element[0]->str);
        freeReplyObject(rep);
        if (n < FC_PAGE)
            break;
    }
    return status;
}

/* --rule R prints R alone; every rule is still walked, since the others'
 * messages take the caps R's would. */
static int estimate_event_rules(struct fc_cmd *c, struct rconn *rc)
{
    long long *count = calloc(c->set->nrules + 1, sizeof *count);
    int any = 0;

    if (!count)
        return -1;
    for (size_t i = 0; i < c->set->nrules; i++)
        if (c->set->rules[i].src->trig.kind == TRIG_EVENT && wanted(c, i))
            any = 1;
    if (any && count_events(c, rc, count) < 0) {
        free(count);
        return -1;
    }
    for (size_t i = 0; i < c->set->nrules; i++)
        if (c->set->rules[i].src->trig.kind == TRIG_EVENT && wanted(c, i))
            forecast_estimate(&c->fc, i, count[i], FC_EVENT_DAYS);
    free(count);
    return 0;
}

/* --- output ------------------------------------------------------------------------ */

static char *day_text(const struct forecast *fc, int day, char *buf, size_t n)
{
    char t[32];

    schedule_format(fc->day_start[day] + 12 * 3600 * 1000LL, t, sizeof t);
    snprintf(buf, n, "%.10s", t);
    return buf;
}

/* The exact messages of rule r (or every rule: r < 0) on channel ch (or
 * every channel: ch < 0), and their estimate in *est. */
static long long total(const struct forecast *fc, long r, long ch,
                       double *est)
{
    long long n = 0;

    *est = 0;
    for (size_t i = 0; i < fc->nrules; i++)
        for (int d = 0; (r < 0 || (size_t)r == i) && d < fc->days; d++)
            for (size_t k = 0; k < fc->nchans; k++)
                if (ch < 0 || (size_t)ch == k) {
                    n += forecast_cell(fc, i, d, k)->messages;
                    *est += forecast_cell(fc, i, d, k)->estimated;
                }
    return n;
}

static int is_sms(const struct fc_chan *c)
{
    return strcmp(c->ch.as, "sms") == 0;
}

static int cell_empty(const struct fc_cell *cell)
{
    return cell->messages == 0 && cell->estimated < 0.05;
}

static json_t *rule_json(const struct fc_cmd *c, size_t r)
{
    const struct forecast *fc = &c->fc;
    const struct fc_rule *fr = &fc->rules[r];
    json_t *days = json_array(), *o;
    char day[16];
    double est;
    long long n = total(fc, (long)r, -1, &est);

    for (int d = 0; d < fc->days; d++)
        for (size_t ch = 0; ch < fc->nchans; ch++) {
            const struct fc_cell *cell = forecast_cell(fc, r, d, ch);
            if (cell_empty(cell))
                continue;
            o = json_pack("{s:s, s:s, s:I}", "day",
                          day_text(fc, d, day, sizeof day), "channel",
                          fc->chans[ch].ch.name, "messages",
                          (json_int_t)cell->messages);
            if (fr->estimated)
                json_object_set_new(o, "estimated",
                                    json_real(cell->estimated));
            if (is_sms(&fc->chans[ch]))
                json_object_set_new(o, "segments",
                                    json_integer(cell->segments));
            json_array_append_new(days, o);
        }
    o = json_pack("{s:s, s:s, s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
                  "s:b, s:b, s:o}",
                  "name", fr->rule->name, "file", fr->rule->src->file, "line",
                  fr->rule->src->at.line, "trigger",
                  fr->estimated ? "events" : "schedule", "messages",
                  (json_int_t)n, "runs", (json_int_t)fr->runs, "held_out",
                  (json_int_t)fr->held_out, "skipped",
                  (json_int_t)fr->skipped, "deferred",
                  (json_int_t)fr->deferred, "held_by_pause",
                  (json_int_t)fr->held_paused, "after_horizon",
                  (json_int_t)fr->later, "paused", fr->paused != 0,
                  "estimated", fr->estimated, "days", days);
    if (fr->estimated) {
        json_object_set_new(o, "estimated_messages", json_real(est));
        json_object_set_new(o, "trigger_events_30d",
                            json_integer(fr->events_30d));
    }
    return o;
}

static json_t *chan_json(const struct forecast *fc, size_t ch)
{
    const struct fc_chan *x = &fc->chans[ch];
    double est;
    long long seg, n = total(fc, -1, (long)ch, &est);
    double cost = forecast_cost(fc, ch, &seg);
    json_t *o = json_pack("{s:s, s:s, s:I, s:f, s:b}", "name", x->ch.name,
                          "type", x->ch.as, "messages", (json_int_t)n,
                          "estimated_messages", est, "paused", x->paused);

    if (is_sms(x)) {
        json_object_set_new(o, "segments", json_integer(seg));
        json_object_set_new(o, "price_per_segment",
                            json_real(x->ch.price_per_segment));
        json_object_set_new(o, "cost", json_real(cost));
    }
    return o;
}

static void print_json(const struct fc_cmd *c)
{
    const struct forecast *fc = &c->fc;
    json_t *rules = json_array(), *chans = json_array(), *o;
    char from[32], day[16];
    int bday, bhour;
    double est, busiest = forecast_busiest_hour(fc, &bday, &bhour);
    long long n = total(fc, -1, -1, &est);

    for (size_t r = 0; r < fc->nrules; r++)
        if (wanted(c, r))
            json_array_append_new(rules, rule_json(c, r));
    for (size_t ch = 0; ch < fc->nchans; ch++)
        json_array_append_new(chans, chan_json(fc, ch));
    o = json_pack("{s:s, s:s, s:i, s:I, s:{s:I, s:I}, s:I, s:f, s:o, s:o}",
                  "from", schedule_format(c->now_ms, from, sizeof from),
                  "timezone", c->ctl->cfg.delivery.timezone, "days",
                  fc->days, "students", (json_int_t)fc->students,
                  "queued_jobs", "read", (json_int_t)c->jobs_seen, "stale",
                  (json_int_t)c->jobs_stale, "messages", (json_int_t)n,
                  "estimated_messages", est, "rules", rules, "channels",
                  chans);
    json_object_set_new(
        o, "busiest_hour",
        busiest > 0 ? json_pack("{s:s, s:i, s:I}", "day",
                                day_text(fc, bday, day, sizeof day), "hour",
                                bhour, "messages", (json_int_t)busiest)
                    : json_null());
    json_dumpf(o, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(o);
}

/* "120", or "120 + ~3.4" with an estimate. */
static char *count_text(long long n, double est, int estimated, char *buf,
                        size_t len)
{
    if (estimated)
        snprintf(buf, len, "%lld + ~%.1f", n, est);
    else
        snprintf(buf, len, "%lld", n);
    return buf;
}

static void print_rules(const struct fc_cmd *c, int width)
{
    const struct forecast *fc = &c->fc;
    char day[16], b[48], seg[24];

    printf("%-*s  %-10s  %-12s %16s %9s\n", width, "rule", "day", "channel",
           "messages", "segments");
    for (size_t r = 0; r < fc->nrules; r++) {
        const struct fc_rule *fr = &fc->rules[r];
        int printed = 0;
        if (!wanted(c, r))
            continue;
        for (int d = 0; d < fc->days; d++)
            for (size_t ch = 0; ch < fc->nchans; ch++) {
                const struct fc_cell *cell = forecast_cell(fc, r, d, ch);
                if (cell_empty(cell))
                    continue;
                snprintf(seg, sizeof seg, "%lld", cell->segments);
                printf("%-*s  %-10s  %-12s %16s %9s\n", width,
                       fr->rule->name, day_text(fc, d, day, sizeof day),
                       fc->chans[ch].ch.name,
                       count_text(cell->messages, cell->estimated,
                                  cell->estimated >= 0.05, b, sizeof b),
                       is_sms(&fc->chans[ch]) ? seg : "-");
                printed = 1;
            }
        if (!printed)
            printf("%-*s  %-10s  %-12s %16s %9s\n", width, fr->rule->name,
                   "-", "-", "0", "-");
    }
}

static void print_notes(const struct fc_cmd *c)
{
    const struct forecast *fc = &c->fc;

    for (size_t r = 0; r < fc->nrules; r++) {
        const struct fc_rule *fr = &fc->rules[r];
        if (!wanted(c, r))
            continue;
        if (fr->estimated)
            printf("  %s: ~ estimated from %lld trigger event%s in the "
                   "last %d days (its queued runs are counted exactly)\n",
                   fr->rule->name, fr->events_30d,
                   fr->events_30d == 1 ? "" : "s", FC_EVENT_DAYS);
        if (fr->paused || fr->held_paused)
            printf("  %s: paused: %lld message%s held until resumed\n",
                   fr->rule->name, fr->held_paused,
                   fr->held_paused == 1 ? "" : "s");
        if (fr->held_out || fr->skipped || fr->deferred || fr->later)
            printf("  %s: %lld held out, %lld skipped (opt-out, cap, "
                   "policy, template), %lld moved by quiet hours, blackout "
                   "or a cap, %lld after the last day\n",
                   fr->rule->name, fr->held_out, fr->skipped, fr->deferred,
                   fr->later);
    }
    for (size_t ch = 0; ch < fc->nchans; ch++)
        if (fc->chans[ch].paused)
            printf("  channel %s is paused: it sends nothing until resumed\n",
                   fc->chans[ch].ch.name);
}

static void print_text(const struct fc_cmd *c)
{
    const struct forecast *fc = &c->fc;
    char from[32], day[16], b[48];
    int width = 4, bday, bhour, any_est = 0;
    double est, busiest = forecast_busiest_hour(fc, &bday, &bhour);

    printf("forecast from %s over %d day%s (%s), %lld students, %zu "
           "queued step job%s\n\n",
           schedule_format(c->now_ms, from, sizeof from), fc->days,
           fc->days == 1 ? "" : "s", c->ctl->cfg.delivery.timezone,
           fc->students, c->njobs, c->njobs == 1 ? "" : "s");
    for (size_t r = 0; r < fc->nrules; r++) {
        if ((int)strlen(fc->rules[r].rule->name) > width)
            width = (int)strlen(fc->rules[r].rule->name);
        any_est |= fc->rules[r].estimated && wanted(c, r);
    }
    print_rules(c, width);
    printf("\ntotals per channel:\n");
    for (size_t ch = 0; ch < fc->nchans; ch++) {
        const struct fc_chan *x = &fc->chans[ch];
        long long seg, n = total(fc, -1, (long)ch, &est);
        double cost = forecast_cost(fc, ch, &seg);
        if (n == 0 && est < 0.05 && !x->paused)
            continue;
        printf("  %-12s %s messages%s", x->ch.name,
               count_text(n, est, est >= 0.05, b, sizeof b),
               x->paused ? " (paused)" : "");
        if (is_sms(x))
            printf(", %lld segments, cost %.2f (%g a segment)", seg, cost,
                   x->ch.price_per_segment);
        printf("\n");
    }
    if (busiest > 0)
        printf("busiest hour: %s %02d:00-%02d:00, %.0f messages\n",
               day_text(fc, bday, day, sizeof day), bhour, bhour + 1,
               busiest);
    else
        printf("busiest hour: none (nothing is sent)\n");
    printf("\nnotes:\n");
    print_notes(c);
    if (any_est)
        printf("  ~ estimates are not in the segments, the cost or the "
               "busiest hour\n");
}

/* --- the command ------------------------------------------------------------------- */

static int run_forecast(struct fc_cmd *c)
{
    struct rconn *rc;
    int status;

    if ((status = load_rules(c)) != 0 || (status = check_prices(c)) != 0)
        return status;
    c->now_ms = clock_now_ms();
    if (forecast_init(&c->fc, &c->ctl->cfg, &c->env, c->set, c->tmpls,
                      c->now_ms, c->days) < 0) {
        fprintf(stderr, "nudgectl: out of memory\n");
        return CTL_USAGE;
    }
    if (!(rc = ctl_redis(c->ctl)))
        return CTL_USAGE;
    if (read_pauses(c, rc) < 0 || read_queue(c, rc) < 0 ||
        walk_students(c, rc) < 0 || estimate_event_rules(c, rc) < 0) {
        fprintf(stderr, "nudgectl: forecast: reading Redis: %s\n",
                rc->errstr[0] ? rc->errstr : "out of memory");
        return CTL_USAGE;
    }
    if (c->json)
        print_json(c);
    else
        print_text(c);
    return CTL_OK;
}

int cmd_forecast(struct ctl *ctl, int argc, char **argv)
{
    struct fc_cmd c = {.ctl = ctl};
    int status;

    if (ctl_wants_help(argc, argv)) {
        usage(stdout);
        return CTL_OK;
    }
    if (parse_args(&c, argc, argv) < 0) {
        usage(stderr);
        return CTL_USAGE;
    }
    status = run_forecast(&c);
    forecast_free(&c.fc);
    for (size_t i = 0; i < c.njobs; i++)
        free((char *)c.jobs[i].student);
    free(c.jobs);
    for (size_t i = 0; i < c.nids; i++)
        free(c.ids[i]);
    free(c.ids);
    if (c.tmpls)
        tmpl_set_unref(c.tmpls);
    ruleset_free(c.set);
    rules_env_free(&c.env);
    return status;
}
