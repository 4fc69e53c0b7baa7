/*
 * diff_rules.c - pairing two rule sets by name and counting, per student,
 * what the change does (see diff.h). Matching is rule_when() and stops
 * are rule_cond(), as in the daemon (rules/jobs.c, rules/run.c).
 */
#include "cli/diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mask.h"
#include "rules/leads.h"

/* --- comparing two rules -------------------------------------------------- */

static int same_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static int same_trigger(const struct trigger *a, const struct trigger *b)
{
    return a->kind == b->kind && a->ev == b->ev && same_str(a->arg, b->arg) &&
           a->wday == b->wday && a->hour == b->hour &&
           a->minute == b->minute && a->year == b->year &&
           a->mon == b->mon && a->mday == b->mday;
}

/* Conditions compare as the text they print as (rules/ast.h). */
static int same_cond(const struct cond *a, const struct cond *b)
{
    char ta[4096], tb[4096];

    if (!a || !b)
        return !a && !b;
    return strcmp(cond_format(a, ta, sizeof ta),
                  cond_format(b, tb, sizeof tb)) == 0;
}

static int same_stops(const struct rule *a, const struct rule *b)
{
    for (size_t i = 0; i < a->nsteps && i < b->nsteps; i++)
        if (a->steps[i].kind == STEP_STOP &&
            !same_cond(a->steps[i].cond, b->steps[i].cond))
            return 0;
    return 1;
}

/* The file of set that holds rule r, and where r's text ends (the line
 * of the next rule in it, or 0: the end of the file). */
static const struct rule_file *file_of(const struct ruleset *set,
                                       const struct rule *r, int *end_line)
{
    for (size_t i = 0; i < set->nfiles; i++) {
        const struct rule_file *f = set->files[i];
        if (r < f->rules || r >= f->rules + f->nrules)
            continue;
        *end_line = r + 1 < f->rules + f->nrules ? r[1].at.line : 0;
        return f;
    }
    return NULL;
}

/* The rule's text with comments and blank space left out, so that only
 * what the parser reads compares. NULL when the file cannot be read.
 * The caller frees. */
static char *rule_text(const struct ruleset *set, const struct rule *r)
{
    int end = 0, line = 1, in_comment = 0, space = 0;
    const struct rule_file *f = file_of(set, r, &end);
    FILE *fp = f ? fopen(f->path, "r") : NULL;
    size_t len = 0, cap = 256;
    char *out = malloc(cap);
    int c;

    if (!fp || !out) {
        if (fp)
            fclose(fp);
        free(out);
        return NULL;
    }
    while ((c = getc(fp)) != EOF && (!end || line < end)) {
        if (c == '\n') {
            line++;
            in_comment = 0;
        } else if (c == '#') {
            in_comment = 1;
        }
        if (line < r->at.line || in_comment)
            continue;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space = len > 0;
            continue;
        }
        if (len + 3 > cap) {
            char *more = realloc(out, cap *= 2);
            if (!more) {
                free(out);
                fclose(fp);
                return NULL;
            }
            out = more;
        }
        if (space)
            out[len++] = ' ';
        out[len++] = (char)c;
        space = 0;
    }
    fclose(fp);
    out[len] = 0;
    return out;
}

/* A file that cannot be read again counts as differing: better a rule
 * to look at than a change unseen. */
static int same_text(const struct diff *d, const struct diff_rule *r)
{
    char *a = rule_text(d->before, r->before->src);
    char *b = rule_text(d->after, r->after->src);
    int same = a && b && strcmp(a, b) == 0;

    free(a);
    free(b);
    return same;
}

static unsigned compare_rules(const struct diff *d, const struct diff_rule *r)
{
    const struct rule *a = r->before->src, *b = r->after->src;
    unsigned parts = 0;

    if (!same_trigger(&a->trig, &b->trig))
        parts |= DIFF_TRIGGER;
    if (!same_cond(a->when, b->when))
        parts |= DIFF_WHEN;
    if (a->limit_n != b->limit_n || a->limit_ms != b->limit_ms)
        parts |= DIFF_LIMIT;
    if (r->before->version != r->after->version)
        parts |= DIFF_STEPS;
    else if (!same_stops(a, b))
        parts |= DIFF_STOPS;
    if (!parts && !same_text(d, r))
        parts |= DIFF_TEXT;
    return parts;
}

/* --- pairing ------------------------------------------------------------------ */

static int by_status_then_name(const void *pa, const void *pb)
{
    const struct diff_rule *a = pa, *b = pb;

    if (a->status != b->status)
        return (int)a->status - (int)b->status;
    return strcmp(a->name, b->name);
}

int diff_init(struct diff *d, const struct config *cfg,
              const struct ruleset *before, const struct ruleset *after)
{
    size_t n = 0;

    memset(d, 0, sizeof *d);
    d->cfg = cfg;
    d->before = before;
    d->after = after;
    d->rules = calloc(before->nrules + after->nrules + 1, sizeof *d->rules);
    if (!d->rules || rview_init(&d->vbefore, before) < 0 ||
        rview_init(&d->vafter, after) < 0)
        goto fail;
    for (size_t i = 0; i < after->nrules; i++) {
        struct diff_rule *r = &d->rules[n++];
        r->after = &after->rules[i];
        r->name = r->after->name;
        r->before = ruleset_find(before, r->name);
        r->status = r->before ? DIFF_CHANGED : DIFF_ADDED;
        if (r->before && !(r->parts = compare_rules(d, r)))
            r->status = DIFF_SAME;
    }
    for (size_t i = 0; i < before->nrules; i++) {
        if (ruleset_find(after, before->rules[i].name))
            continue;
        d->rules[n].before = &before->rules[i];
        d->rules[n].name = before->rules[i].name;
        d->rules[n++].status = DIFF_REMOVED;
    }
    d->nrules = n;
    qsort(d->rules, n, sizeof *d->rules, by_status_then_name);
    for (size_t i = 0; i < n; i++)
        d->nstatus[d->rules[i].status]++;
    return 0;
fail:
    diff_free(d);
    return -1;
}

void diff_free(struct diff *d)
{
    if (d->rules) {
        rview_free(&d->vbefore);
        rview_free(&d->vafter);
    }
    free(d->rules);
    d->rules = NULL;
}

/* --- counting ----------------------------------------------------------------- */

int diff_wants_runs(const struct diff *d, size_t i)
{
    return d->rules[i].before && d->rules[i].status != DIFF_SAME;
}

/* The first stop step that would end a run of r (started at started_ms)
 * on the view's data; r->nsteps when none would. */
static size_t first_stop(const struct crule *r, struct rview *v,
                         int followed_up)
{
    v->followed_up = followed_up;
    for (size_t i = 0; i < r->nsteps; i++) {
        const struct step *s = r->steps[i].src;
        int holds;
        if (s->kind != STEP_STOP)
            continue;
        if (!s->cond)
            return i;
        holds = rule_cond(r, r->steps[i].cond, v);
        if (s->unless ? !holds : holds)
            return i;
    }
    return r->nsteps;
}

/* Would the new rules end this run where the old ones would not? A
 * removed rule or new steps: the daemon ends the run at its next step
 * (rules/jobs.c). Same steps: the run goes on under the new stops, cut
 * short when one of them would end it before the old ones would. */
static int cuts_short(struct diff *d, const struct diff_rule *r,
                      const struct student *st, const char *run)
{
    const char *space = strchr(run, ' ');
    int64_t started = space ? atoll(space + 1) : 0;
    int followed_up = leads_followup_ms(d->cfg, st) >= started;

    if (!r->after || r->before->version != r->after->version)
        return 1;
    return first_stop(r->after, &d->vafter, followed_up) <
           first_stop(r->before, &d->vbefore, followed_up);
}

static void note(struct diff_count *c, const struct student *st)
{
    static const char *const contacts[] = {"phone", "email", "wecom_userid",
                                           "wecom_external_userid"};
    struct diff_sample *s;
    const char *to = NULL;

    if (c->n++ >= DIFF_SAMPLE)
        return;
    s = &c->sample[c->nsample++];
    snprintf(s->id, sizeof s->id, "%s", st->id);
    for (size_t i = 0; !to && i < sizeof contacts / sizeof *contacts; i++) {
        to = student_get(st, contacts[i]);
        if (to && !to[0])
            to = NULL;
    }
    if (to)
        mask_contact(to, s->contact, sizeof s->contact);
    else
        snprintf(s->contact, sizeof s->contact, "-");
}

void diff_student(struct diff *d, const struct student *st,
                  const char *const *runs, int64_t now_ms)
{
    rview_load(&d->vbefore, st, now_ms);
    rview_load(&d->vafter, st, now_ms);
    d->students++;
    for (size_t i = 0; i < d->nrules; i++) {
        struct diff_rule *r = &d->rules[i];
        int was, is;
        if (r->status == DIFF_SAME)
            continue;
        was = r->before && rule_when(r->before, &d->vbefore);
        is = r->after && rule_when(r->after, &d->vafter);
        r->match_before += (size_t)was;
        r->match_after += (size_t)is;
        if (is && !was)
            note(&r->newly, st);
        if (was && !is)
            note(&r->no_longer, st);
        if (!runs || !runs[i] || !r->before)
            continue;
        r->running++;
        if (cuts_short(d, r, st, runs[i]))
            note(&r->cut_short, st);
    }
}

/* --- names -------------------------------------------------------------------- */

const char *diff_status_name(enum diff_status s)
{
    static const char *const names[] = {"changed", "added", "removed",
                                        "unchanged"};
    return s <= DIFF_SAME ? names[s] : "?";
}

char *diff_parts_format(unsigned parts, char *buf, size_t n)
{
    static const char *const names[] = {"trigger", "when", "limit",
                                        "steps",   "stop conditions",
                                        "text"};
    size_t len = 0;

    if (n)
        buf[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (parts & (1u << i) && len < n)
            len += (size_t)snprintf(buf + len, n - len, "%s%s",
                                    len ? ", " : "", names[i]);
    return buf;
}
