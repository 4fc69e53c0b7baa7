/*
 * checker.c - the meaning checks of a rule set (see checker.h).
 */
#include "rules/checker.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <dirent.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules/hint.h"

/* What the checks of one rule set share. */
struct checker {
    const struct rules_env *env;
    struct diag *d;
    const char **stages; /* the declared stages, for lookups and hints */
    size_t nstages;
    int have_stages;
    const char **chan_names;
    const char **tmpl_names;
};

#define ERR(c, file, at, ...)                                                  \
    diag_error((c)->d, file, (at).line, (at).col, __VA_ARGS__)

/* --- environment ---------------------------------------------------------- */

unsigned rules_part_bit(const char *type)
{
    int t = tmpl_type_parse(type);

    return t < 0 ? 0 : 1u << t;
}

int rules_env_add_channel(struct rules_env *env, const char *name,
                          const char *as)
{
    struct rule_chan *nv =
        realloc(env->chans, (env->nchans + 1) * sizeof *env->chans);

    if (!nv)
        return -1;
    env->chans = nv;
    nv[env->nchans].name = strdup(name);
    nv[env->nchans].as = strdup(as);
    if (!nv[env->nchans].name || !nv[env->nchans].as) {
        free(nv[env->nchans].name);
        free(nv[env->nchans].as);
        return -1;
    }
    env->nchans++;
    return 0;
}

static struct rule_tmpl *env_tmpl(const struct rules_env *env, const char *name)
{
    for (size_t i = 0; i < env->ntmpls; i++)
        if (strcmp(env->tmpls[i].name, name) == 0)
            return &env->tmpls[i];
    return NULL;
}

int rules_env_add_template(struct rules_env *env, const char *name,
                           unsigned parts)
{
    struct rule_tmpl *t = env_tmpl(env, name), *nv;

    env->check_templates = 1;
    if (t) {
        t->parts |= parts;
        return 0;
    }
    nv = realloc(env->tmpls, (env->ntmpls + 1) * sizeof *nv);
    if (!nv)
        return -1;
    env->tmpls = nv;
    if (!(nv[env->ntmpls].name = strdup(name)))
        return -1;
    nv[env->ntmpls++].parts = parts;
    return 0;
}

/* Records NAME.PART; other files (NAME.email.html is the HTML of an email
 * part) are no templates of their own. */
static int env_add_template_file(struct rules_env *env, const char *file)
{
    size_t len;
    int type = tmpl_file_type(file, &len), rc;
    char *name;

    if (type < 0 || type == TMPL_NTYPES)
        return 0;
    if (!(name = strndup(file, len)))
        return -1;
    rc = rules_env_add_template(env, name, 1u << type);
    free(name);
    return rc;
}

int rules_env_scan_templates(struct rules_env *env, const char *dir)
{
    DIR *dp;
    struct dirent *de;
    int rc = 0;

    env->check_templates = 1;
    if (!(dp = opendir(dir)))
        return 0;
    while ((de = readdir(dp)) && rc == 0)
        if (de->d_name[0] != '.')
            rc = env_add_template_file(env, de->d_name);
    closedir(dp);
    return rc;
}

static const char *section_value(const struct conf_section *s, const char *key)
{
    for (size_t i = 0; i < s->nkv; i++)
        if (strcmp(s->kv[i].key, key) == 0)
            return s->kv[i].value;
    return NULL;
}

int rules_env_from_config(struct rules_env *env, const struct config *cfg)
{
    memset(env, 0, sizeof *env);
    env->now_ms = (int64_t)time(NULL) * 1000;
    for (size_t i = 0; i < cfg->nchannels; i++) {
        const struct conf_section *s = &cfg->channels[i];
        const char *type = section_value(s, "type"), *as;
        if (!type)
            continue;
        /* a channel that is not a message type (outbox, plugin) names it */
        as = tmpl_type_parse(type) >= 0 ? type : section_value(s, "as");
        if (rules_env_add_channel(env, s->name, as ? as : type) < 0)
            goto fail;
    }
    if (cfg->templates.dir &&
        rules_env_scan_templates(env, cfg->templates.dir) < 0)
        goto fail;
    return 0;
fail:
    rules_env_free(env);
    return -1;
}

void rules_env_free(struct rules_env *env)
{
    for (size_t i = 0; i < env->nchans; i++) {
        free(env->chans[i].name);
        free(env->chans[i].as);
    }
    free(env->chans);
    for (size_t i = 0; i < env->ntmpls; i++)
        free(env->tmpls[i].name);
    free(env->tmpls);
    memset(env, 0, sizeof *env);
}

/* --- names ---------------------------------------------------------------- */

static int stage_known(const struct checker *c, const char *name)
{
    for (size_t i = 0; i < c->nstages; i++)
        if (strcmp(c->stages[i], name) == 0)
            return 1;
    return 0;
}

static void check_stage(struct checker *c, const char *file, const char *name,
                        struct loc at)
{
    char msg[256];

    if (stage_known(c, name))
        return;
    if (!c->have_stages) {
        ERR(c, file, at,
            "unknown stage \"%s\": no \"stages\" line lists the lifecycle",
            name);
        return;
    }
    snprintf(msg, sizeof msg, "unknown stage \"%s\"", name);
    hint_append(msg, sizeof msg, name, c->stages, c->nstages);
    ERR(c, file, at, "%s", msg);
}

static const struct rule_chan *find_chan(const struct checker *c,
                                         const char *name)
{
    for (size_t i = 0; i < c->env->nchans; i++)
        if (strcmp(c->env->chans[i].name, name) == 0)
            return &c->env->chans[i];
    return NULL;
}

/* Template name (at `at`) exists, with a part for channel ch (NULL: an
 * unknown channel, already reported). */
static void check_template(struct checker *c, const char *file,
                           const struct rule_chan *ch, const char *name,
                           struct loc at)
{
    const struct rule_tmpl *t;
    char msg[256];

    if (!(t = env_tmpl(c->env, name))) {
        snprintf(msg, sizeof msg, "unknown template \"%s\"", name);
        hint_append(msg, sizeof msg, name, c->tmpl_names, c->env->ntmpls);
        ERR(c, file, at, "%s", msg);
        return;
    }
    if (ch && !(t->parts & rules_part_bit(ch->as)))
        ERR(c, file, at,
            "template \"%s\" has no %s part for channel \"%s\": add %s.%s",
            name, ch->as, ch->name, name, ch->as);
}

/* The channel and template of a send, notify or escalate step. */
static void check_channel_template(struct checker *c, const char *file,
                                   const struct step *s)
{
    const struct rule_chan *ch = find_chan(c, s->channel);
    char msg[256];

    if (!ch) {
        snprintf(msg, sizeof msg,
                 "unknown channel \"%s\" (no [channel.%s] in the config)",
                 s->channel, s->channel);
        hint_append(msg, sizeof msg, s->channel, c->chan_names, c->env->nchans);
        ERR(c, file, s->chan_at, "%s", msg);
    }
    if (!c->env->check_templates)
        return;
    if (!s->nvariants)
        check_template(c, file, ch, s->tmpl, s->tmpl_at);
    for (size_t i = 0; i < s->nvariants; i++) /* each as a plain send's */
        check_template(c, file, ch, s->variants[i].tmpl, s->variants[i].at);
}

/* --- conditions ------------------------------------------------------------
 */

int regex_column(struct loc re_at, const char *pattern, size_t off)
{
    int col = re_at.col + 1;

    for (size_t i = 0; i < off && pattern[i]; i++)
        if (((unsigned char)pattern[i] & 0xc0) != 0x80)
            col++;
    return col;
}

static void check_regex(struct checker *c, const char *file,
                        const struct cond *cd)
{
    int err;
    PCRE2_SIZE off;
    pcre2_code *re;
    uint32_t opts =
        PCRE2_UTF | (strchr(cd->re_flags, 'i') ? PCRE2_CASELESS : 0);
    PCRE2_UCHAR msg[256];

    re = pcre2_compile((PCRE2_SPTR)cd->re, PCRE2_ZERO_TERMINATED, opts, &err,
                       &off, NULL);
    if (re) {
        pcre2_code_free(re);
        return;
    }
    pcre2_get_error_message(err, msg, sizeof msg);
    diag_error(c->d, file, cd->re_at.line, regex_column(cd->re_at, cd->re, off),
               "invalid regular expression /%s/: %s", cd->re, (char *)msg);
}

static void check_values(struct checker *c, const char *file,
                         const struct cond *cd)
{
    if (cd->op >= CMP_LT && cd->op <= CMP_GE && !cd->vals[0].is_num)
        ERR(c, file, cd->vals[0].at,
            "\"%s\" compares numbers: \"%s\" is not a number",
            cmp_op_name(cd->op), cd->vals[0].text);
}

static void check_cond(struct checker *c, const char *file,
                       const struct cond *cd)
{
    if (!cd)
        return;
    switch (cd->kind) {
    case COND_AND:
    case COND_OR:
    case COND_NOT:
        check_cond(c, file, cd->a);
        check_cond(c, file, cd->b);
        break;
    case COND_STAGE:
        for (size_t i = 0; i < cd->nvals; i++)
            check_stage(c, file, cd->vals[i].text, cd->vals[i].at);
        break;
    case COND_TAG:
        if (!cd->name[0])
            ERR(c, file, cd->at, "empty tag \"\"");
        break;
    case COND_TAG_MATCH:
        check_regex(c, file, cd);
        break;
    case COND_ATTR:
        if (cd->op == CMP_MATCH)
            check_regex(c, file, cd);
        else if (cd->nvals == 1)
            check_values(c, file, cd);
        break;
    case COND_IN_STAGE:
    case COND_SINCE_TOUCH:
        if (cd->op == CMP_EQ || cd->op == CMP_NE)
            ERR(c, file, cd->at,
                "compare times with <, <=, > or >=, not \"%s\"",
                cmp_op_name(cd->op));
        break;
    case COND_PRESENT:
    case COND_FOLLOWED_UP:
        break;
    }
}

/* --- triggers ---------------------------------------------------------------
 */

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

static void check_trigger(struct checker *c, const struct rule *r)
{
    const struct trigger *t = &r->trig;

    if (t->kind == TRIG_NONE) {
        if (r->broken)
            return;
        ERR(c, r->file, r->at,
            "rule \"%s\" has no trigger: add \"on EVENT\", \"every DAY "
            "HH:MM\" or \"at YYYY-MM-DD HH:MM\"",
            r->name);
        return;
    }
    if (t->kind == TRIG_EVENT && t->ev == EV_STAGE && t->arg)
        check_stage(c, r->file, t->arg, t->arg_at);
    if (t->kind == TRIG_EVENT && (t->ev == EV_TAG || t->ev == EV_UNTAG) &&
        t->arg && !t->arg[0])
        ERR(c, r->file, t->arg_at, "empty tag \"\"");
    if (t->kind == TRIG_EVENT)
        return;
    if (t->hour > 23 || t->minute > 59) {
        ERR(c, r->file, t->when_at,
            "time %02d:%02d does not exist: the rule can never fire (use "
            "00:00 to 23:59)",
            t->hour, t->minute);
        return;
    }
    if (t->kind != TRIG_AT)
        return;
    if (t->mon < 1 || t->mon > 12 || t->mday < 1 ||
        t->mday > days_in_month(t->year, t->mon)) {
        ERR(c, r->file, t->when_at,
            "date %04d-%02d-%02d does not exist: the rule can never fire",
            t->year, t->mon, t->mday);
        return;
    }
    if (c->env->now_ms) {
        struct tm tm = {.tm_year = t->year - 1900,
                        .tm_mon = t->mon - 1,
                        .tm_mday = t->mday,
                        .tm_hour = t->hour,
                        .tm_min = t->minute,
                        .tm_isdst = -1};
        time_t when = mktime(&tm);
        if (when != (time_t)-1 && (int64_t)when * 1000 < c->env->now_ms)
            ERR(c, r->file, t->when_at,
                "%04d-%02d-%02d %02d:%02d is in the past: the rule can "
                "never fire",
                t->year, t->mon, t->mday, t->hour, t->minute);
    }
}

/* --- steps ------------------------------------------------------------------
 */

static void check_step(struct checker *c, const struct rule *r,
                       const struct step *s)
{
    switch (s->kind) {
    case STEP_SEND:
    case STEP_NOTIFY:
        check_channel_template(c, r->file, s);
        break;
    case STEP_ESCALATE:
        if (s->level < 1)
            ERR(c, r->file, s->level_at,
                "escalate level %ld: levels start at 1 (the owner's "
                "supervisor)",
                s->level);
        check_channel_template(c, r->file, s);
        break;
    case STEP_STOP:
        check_cond(c, r->file, s->cond);
        break;
    case STEP_TAG_ADD:
    case STEP_TAG_REMOVE:
        if (!s->arg[0])
            ERR(c, r->file, s->at, "empty tag \"\"");
        break;
    case STEP_WAIT:
    case STEP_ASSIGN:
        break;
    }
}

static void check_steps(struct checker *c, const struct rule *r)
{
    size_t i;

    if (r->nsteps == 0) {
        if (!r->broken)
            ERR(c, r->file, r->at, "rule \"%s\" has no steps", r->name);
        return;
    }
    for (i = 0; i < r->nsteps; i++) {
        const struct step *s = &r->steps[i];
        check_step(c, r, s);
        if (s->kind == STEP_STOP && !s->cond && i + 1 < r->nsteps) {
            ERR(c, r->file, r->steps[i + 1].at,
                "step after an unconditional \"stop\" (line %d) is never "
                "reached",
                s->at.line);
            break;
        }
    }
    if (r->steps[r->nsteps - 1].kind == STEP_WAIT && !r->broken)
        ERR(c, r->file, r->steps[r->nsteps - 1].at,
            "\"wait\" at the end of rule \"%s\" does nothing: add a step "
            "after it or remove it",
            r->name);
}

/* --- the set ----------------------------------------------------------------
 */

static void collect_stages(struct checker *c, struct rule_file *const *files,
                           size_t n)
{
    const struct rule_file *first = NULL;

    for (size_t i = 0; i < n; i++) {
        const struct rule_file *f = files[i];
        if (!f->stages_at.line)
            continue;
        if (first && first != f) {
            ERR(c, f->path, f->stages_at,
                "a second \"stages\" line (the first is in %s:%d): one "
                "lifecycle per rule set",
                first->path, first->stages_at.line);
            continue;
        }
        first = f;
    }
    if (!first)
        return;
    c->have_stages = 1;
    c->stages = calloc(first->nstages + 1, sizeof *c->stages);
    if (!c->stages)
        return;
    for (size_t i = 0; i < first->nstages; i++) {
        const char *name = first->stages[i].name;
        if (stage_known(c, name))
            ERR(c, first->path, first->stages[i].at,
                "stage \"%s\" is listed twice", name);
        else
            c->stages[c->nstages++] = name;
    }
}

static void check_duplicates(struct checker *c, struct rule_file *const *files,
                             size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < files[i]->nrules; j++) {
            const struct rule *r = &files[i]->rules[j];
            const struct rule *prev = NULL;
            for (size_t k = 0; k <= i && !prev; k++)
                for (size_t m = 0;
                     m < files[k]->nrules && !prev && (k < i || m < j); m++)
                    if (strcmp(files[k]->rules[m].name, r->name) == 0)
                        prev = &files[k]->rules[m];
            if (prev)
                ERR(c, r->file, r->at,
                    "duplicate rule \"%s\" (first defined at %s:%d)", r->name,
                    prev->file, prev->at.line);
        }
}

static int make_name_lists(struct checker *c)
{
    const struct rules_env *env = c->env;

    c->chan_names = calloc(env->nchans + 1, sizeof *c->chan_names);
    c->tmpl_names = calloc(env->ntmpls + 1, sizeof *c->tmpl_names);
    if (!c->chan_names || !c->tmpl_names)
        return -1;
    for (size_t i = 0; i < env->nchans; i++)
        c->chan_names[i] = env->chans[i].name;
    for (size_t i = 0; i < env->ntmpls; i++)
        c->tmpl_names[i] = env->tmpls[i].name;
    return 0;
}

int rules_check(struct rule_file *const *files, size_t n,
                const struct rules_env *env, struct diag *d)
{
    struct checker c = {.env = env, .d = d};
    int before = d->errors;

    if (make_name_lists(&c) < 0) {
        diag_error(d, "rules", 0, 0, "out of memory");
        goto done;
    }
    collect_stages(&c, files, n);
    check_duplicates(&c, files, n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < files[i]->nrules; j++) {
            const struct rule *r = &files[i]->rules[j];
            check_trigger(&c, r);
            check_cond(&c, r->file, r->when);
            check_steps(&c, r);
        }
done:
    free(c.stages);
    free(c.chan_names);
    free(c.tmpl_names);
    return d->errors - before;
}

/* --- ordering messages -----------------------------------------------------
 */

struct placed {
    struct diag_item item;
    size_t file_rank, seq;
    long line, col;
};

/* Splits "file:line:col: ..." (col and line may be missing). */
static void item_place(const char *text, size_t *flen, long *line, long *col)
{
    const char *p = text;

    *flen = strlen(text);
    *line = *col = 0;
    while ((p = strchr(p, ':'))) {
        char *end;
        long l = strtol(p + 1, &end, 10);
        if (end > p + 1 && *end == ':') {
            *flen = (size_t)(p - text);
            *line = l;
            if (end[1] >= '0' && end[1] <= '9')
                *col = strtol(end + 1, NULL, 10);
            return;
        }
        p++;
    }
}

static int by_place(const void *a, const void *b)
{
    const struct placed *x = a, *y = b;

    if (x->file_rank != y->file_rank)
        return x->file_rank < y->file_rank ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void rules_diag_sort(struct diag *d, size_t from)
{
    size_t n = d->n - from, flen, glen;
    struct placed *v;

    if (d->n <= from + 1 || !(v = calloc(n, sizeof *v)))
        return;
    for (size_t i = 0; i < n; i++) {
        v[i].item = d->v[from + i];
        v[i].seq = i;
        item_place(v[i].item.text, &flen, &v[i].line, &v[i].col);
        v[i].file_rank = i;
        for (size_t j = 0; j < i; j++) {
            item_place(v[j].item.text, &glen, &(long){0}, &(long){0});
            if (glen == flen &&
                strncmp(v[j].item.text, v[i].item.text, flen) == 0) {
                v[i].file_rank = v[j].file_rank;
                break;
            }
        }
    }
    qsort(v, n, sizeof *v, by_place);
    for (size_t i = 0; i < n; i++)
        d->v[from + i] = v[i].item;
    free(v);
}
