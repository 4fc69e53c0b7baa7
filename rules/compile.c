/*
 * compile.c - from checked rule files to the evaluated form (see
 * compile.h): interning, regex compilation, node trees, trigger index.
 */
#include "rules/compile.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "rules/parser.h"

struct compiler {
    struct ruleset *set;
    struct crule *r;
    size_t cap; /* of r->nodes */
    struct diag *d;
    int oom;
};

/* --- nodes --------------------------------------------------------------- */

static int new_node(struct compiler *c, const struct cond *src)
{
    struct crule *r = c->r;

    if (r->nnodes == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        struct cnode *nv = realloc(r->nodes, ncap * sizeof *nv);
        if (!nv) {
            c->oom = 1;
            return -1;
        }
        r->nodes = nv;
        c->cap = ncap;
    }
    memset(&r->nodes[r->nnodes], 0, sizeof r->nodes[0]);
    r->nodes[r->nnodes].src = src;
    r->nodes[r->nnodes].a = r->nodes[r->nnodes].b = -1;
    return (int)r->nnodes++;
}

static int add_regex(struct compiler *c, const struct cond *cd)
{
    struct ruleset *set = c->set;
    int err;
    PCRE2_SIZE off;
    pcre2_code *re, **nv;
    uint32_t opts =
        PCRE2_UTF | (strchr(cd->re_flags, 'i') ? PCRE2_CASELESS : 0);

    re = pcre2_compile((PCRE2_SPTR)cd->re, PCRE2_ZERO_TERMINATED, opts, &err,
                       &off, NULL);
    if (!re) {
        c->oom = 1; /* the checker let it through: cannot happen */
        return -1;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* no JIT: still works */
    nv = realloc(set->res, (set->nres + 1) * sizeof *nv);
    if (!nv) {
        pcre2_code_free(re);
        c->oom = 1;
        return -1;
    }
    set->res = nv;
    nv[set->nres] = re;
    return (int)set->nres++;
}

static int add_stage_set(struct compiler *c, const struct cond *cd)
{
    struct ruleset *set = c->set;
    struct stage_set *nv, *s;

    nv = realloc(set->stage_sets, (set->nstage_sets + 1) * sizeof *nv);
    if (!nv) {
        c->oom = 1;
        return -1;
    }
    set->stage_sets = nv;
    s = &nv[set->nstage_sets];
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < cd->nvals; i++) {
        int id = intern_find(&set->stages, cd->vals[i].text);
        if (id >= 0)
            s->bits[id / 64] |= 1ull << (id % 64);
    }
    return (int)set->nstage_sets++;
}

static int intern_or_fail(struct compiler *c, struct intern *t, const char *s)
{
    int id = intern_add(t, s);
    if (id < 0)
        c->oom = 1;
    return id;
}

/* An attribute comparison: numbers compare as numbers, anything else as
 * text (== and != only; the checker refused the rest). */
static void compile_attr(struct compiler *c, struct cnode *n,
                         const struct cond *cd)
{
    n->arg = intern_or_fail(c, &c->set->attrs, cd->name);
    n->cmp = (uint8_t)cd->op;
    if (cd->op == CMP_IN) {
        n->op = OP_ATTR_IN;
        n->vals = cd->vals;
        n->nvals = cd->nvals;
    } else if (cd->op == CMP_MATCH) {
        n->op = OP_ATTR_RE;
        n->re = add_regex(c, cd);
    } else if (cd->vals[0].is_num) {
        n->op = OP_ATTR_NUM;
        n->num = cd->vals[0].num;
    } else {
        n->op = OP_ATTR_STR;
        n->str = cd->vals[0].text;
    }
}

static int compile_cond(struct compiler *c, const struct cond *cd);

static void compile_leaf(struct compiler *c, struct cnode *n,
                         const struct cond *cd)
{
    switch (cd->kind) {
    case COND_STAGE:
        n->op = OP_STAGE_IN;
        n->neg = cd->op == CMP_NE;
        n->arg = add_stage_set(c, cd);
        break;
    case COND_TAG:
        n->op = OP_TAG;
        n->arg = intern_or_fail(c, &c->set->tags, cd->name);
        break;
    case COND_TAG_MATCH:
        n->op = OP_TAG_RE;
        n->arg = add_regex(c, cd);
        break;
    case COND_ATTR:
        compile_attr(c, n, cd);
        break;
    case COND_PRESENT:
        n->op = OP_PRESENT;
        n->arg = intern_or_fail(c, &c->set->attrs, cd->name);
        break;
    case COND_FOLLOWED_UP:
        n->op = OP_FOLLOWED_UP;
        break;
    case COND_IN_STAGE:
    case COND_SINCE_TOUCH:
        n->op = cd->kind == COND_IN_STAGE ? OP_IN_STAGE : OP_SINCE_TOUCH;
        n->cmp = (uint8_t)cd->op;
        n->num = (double)cd->ms;
        if (cd->kind == COND_SINCE_TOUCH)
            c->set->uses_touch = 1;
        else
            c->set->uses_in_stage = 1;
        break;
    default:
        break;
    }
}

/* Returns the node index of cd's tree. */
static int compile_cond(struct compiler *c, const struct cond *cd)
{
    int i = new_node(c, cd), a, b = -1;

    if (i < 0)
        return -1;
    if (cd->kind == COND_AND || cd->kind == COND_OR || cd->kind == COND_NOT) {
        a = compile_cond(c, cd->a);
        if (cd->b)
            b = compile_cond(c, cd->b);
        /* nodes may have moved */
        c->r->nodes[i].op = cd->kind == COND_AND  ? OP_AND
                            : cd->kind == COND_OR ? OP_OR
                                                  : OP_NOT;
        c->r->nodes[i].a = (int32_t)a;
        c->r->nodes[i].b = (int32_t)b;
        return i;
    }
    compile_leaf(c, &c->r->nodes[i], cd);
    return i;
}

static size_t count_leaves(const struct cond *cd)
{
    if (!cd)
        return 0;
    if (cd->kind == COND_AND || cd->kind == COND_OR || cd->kind == COND_NOT)
        return count_leaves(cd->a) + count_leaves(cd->b);
    return 1;
}

/* --- rules --------------------------------------------------------------- */

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    return fnv1a64_more(h, p, n);
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    return hash_bytes(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

/* The shape of the steps: kinds and arguments, not places. A run whose
 * rule changed shape on reload cannot go on. */
static uint64_t steps_version(const struct rule *r)
{
    uint64_t h = FNV1A64_INIT;

    for (size_t i = 0; i < r->nsteps; i++) {
        const struct step *s = &r->steps[i];
        h = hash_bytes(h, &s->kind, sizeof s->kind);
        h = hash_bytes(h, &s->ms, sizeof s->ms);
        if (s->working) /* only then: other rules keep their versions */
            h = hash_bytes(h, &s->work_days, sizeof s->work_days) + 1;
        h = hash_bytes(h, &s->level, sizeof s->level);
        h = hash_bytes(h, &s->unless, sizeof s->unless);
        h = hash_str(h, s->channel);
        h = hash_str(h, s->tmpl);
        for (size_t v = 0; v < s->nvariants; v++) /* none: as before */
            h = hash_bytes(hash_str(h, s->variants[v].tmpl),
                           &s->variants[v].weight,
                           sizeof s->variants[v].weight);
        h = hash_str(h, s->arg);
        if (s->by_load) /* only then: older rules keep their versions */
            h = hash_bytes(h, &s->by_load, sizeof s->by_load);
    }
    return h;
}

static int compile_rule(struct compiler *c, const struct rule *src)
{
    struct crule *r = c->r;

    memset(r, 0, sizeof *r);
    c->cap = 0;
    r->src = src;
    r->name = src->name;
    r->when = src->when ? compile_cond(c, src->when) : -1;
    r->leaves = count_leaves(src->when);
    r->trig_stage = -1;
    if (src->trig.kind == TRIG_EVENT && src->trig.ev == EV_STAGE)
        r->trig_stage = intern_find(&c->set->stages, src->trig.arg);
    r->steps = calloc(src->nsteps ? src->nsteps : 1, sizeof *r->steps);
    if (!r->steps) {
        c->oom = 1;
        return -1;
    }
    r->nsteps = src->nsteps;
    for (size_t i = 0; i < src->nsteps; i++) {
        r->steps[i].src = &src->steps[i];
        if (src->steps[i].kind == STEP_WAIT && src->steps[i].working) {
            c->set->uses_working = 1;
            r->work_ms += src->steps[i].ms;
            r->work_days += src->steps[i].work_days;
        } else if (src->steps[i].kind == STEP_WAIT) {
            r->span_ms += src->steps[i].ms;
        }
        r->steps[i].cond =
            src->steps[i].cond ? compile_cond(c, src->steps[i].cond) : -1;
    }
    r->version = steps_version(src);
    return c->oom ? -1 : 0;
}

static int index_rule(struct ruleset *set, size_t i)
{
    const struct trigger *t = &set->rules[i].src->trig;
    size_t **list, *n, *nv;

    if (t->kind == TRIG_EVENT) {
        list = &set->by_event[t->ev];
        n = &set->nby_event[t->ev];
    } else {
        list = &set->scheduled;
        n = &set->nscheduled;
    }
    nv = realloc(*list, (*n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    nv[(*n)++] = i;
    *list = nv;
    return 0;
}

static int compile_set(struct ruleset *set, struct diag *d)
{
    struct compiler c = {.set = set, .d = d};
    size_t total = 0, k = 0;

    for (size_t i = 0; i < set->nfiles; i++) {
        total += set->files[i]->nrules;
        if (set->files[i]->stages_at.line)
            for (size_t j = 0; j < set->files[i]->nstages; j++)
                if (intern_add(&set->stages, set->files[i]->stages[j].name) < 0)
                    return -1;
    }
    set->rules = calloc(total ? total : 1, sizeof *set->rules);
    if (!set->rules)
        return -1;
    set->hash = FNV1A64_INIT;
    for (size_t i = 0; i < set->nfiles; i++)
        for (size_t j = 0; j < set->files[i]->nrules; j++) {
            c.r = &set->rules[k];
            if (compile_rule(&c, &set->files[i]->rules[j]) < 0)
                return -1;
            set->nrules = ++k;
            set->hash = hash_bytes(set->hash, &c.r->version, 8);
            set->hash = hash_str(set->hash, c.r->name);
            if (index_rule(set, k - 1) < 0)
                return -1;
        }
    return 0;
}

/* --- sets ---------------------------------------------------------------- */

void ruleset_free(struct ruleset *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->nrules; i++) {
        free(set->rules[i].nodes);
        free(set->rules[i].steps);
    }
    free(set->rules);
    for (size_t i = 0; i < set->nres; i++)
        pcre2_code_free(set->res[i]);
    free(set->res);
    free(set->stage_sets);
    intern_free(&set->stages);
    intern_free(&set->tags);
    intern_free(&set->attrs);
    for (size_t i = 0; i <= EV_CUSTOM; i++)
        free(set->by_event[i]);
    free(set->scheduled);
    for (size_t i = 0; i < set->nfiles; i++)
        rule_file_free(set->files[i]);
    free(set->files);
    free(set);
}

int ruleset_build(struct rule_file **files, size_t n,
                  const struct rules_env *env, struct ruleset **out,
                  struct diag *d)
{
    struct ruleset *set;
    int errors = d->errors;

    *out = NULL;
    if (!(set = calloc(1, sizeof *set))) {
        for (size_t i = 0; i < n; i++)
            rule_file_free(files[i]);
        free(files);
        return -1;
    }
    set->files = files;
    set->nfiles = n;
    rules_check(files, n, env, d);
    if (d->errors > errors)
        goto fail;
    if (compile_set(set, d) < 0) {
        diag_error(d, "rules", 0, 0, "out of memory compiling the rules");
        goto fail;
    }
    *out = set;
    return 0;
fail:
    ruleset_free(set);
    return -1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.rules paths of dir, sorted. Caller frees each and the array. */
static char **list_rule_files(const char *dir, size_t *n, struct diag *d)
{
    DIR *dp = opendir(dir);
    struct dirent *de;
    char **v = NULL, **nv;
    size_t len;

    *n = 0;
    if (!dp) {
        diag_error(d, dir, 0, 0, "cannot open the rules folder: %s",
                   strerror(errno));
        return NULL;
    }
    while ((de = readdir(dp))) {
        len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < 7 ||
            strcmp(de->d_name + len - 6, ".rules") != 0)
            continue;
        nv = realloc(v, (*n + 1) * sizeof *v);
        if (!nv)
            break;
        v = nv;
        if (asprintf(&v[*n], "%s/%s", dir, de->d_name) < 0)
            break;
        (*n)++;
    }
    closedir(dp);
    if (*n)
        qsort(v, *n, sizeof *v, by_name);
    return v;
}

int ruleset_load_files(const char *const *paths, size_t n,
                       const struct rules_env *env, struct ruleset **out,
                       struct diag *d)
{
    struct rule_file **files = calloc(n ? n : 1, sizeof *files);
    size_t nf = 0, from = d->n;
    int errors = d->errors, rc;

    *out = NULL;
    if (!files)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct rule_file *f = rule_parse_path(paths[i], d);
        if (f)
            files[nf++] = f;
    }
    if (d->errors > errors) {
        rules_check(files, nf, env, d); /* report those errors too */
        for (size_t i = 0; i < nf; i++)
            rule_file_free(files[i]);
        free(files);
        rc = -1;
    } else {
        rc = ruleset_build(files, nf, env, out, d);
    }
    rules_diag_sort(d, from);
    return rc;
}

int ruleset_load_dir(const char *dir, const struct rules_env *env,
                     struct ruleset **out, struct diag *d)
{
    size_t n;
    char **paths = list_rule_files(dir, &n, d);
    int rc;

    *out = NULL;
    if (!paths && n == 0 && d->errors)
        return -1;
    rc = ruleset_load_files((const char *const *)paths, n, env, out, d);
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    return rc;
}

const struct crule *ruleset_find(const struct ruleset *set, const char *name)
{
    for (size_t i = 0; i < set->nrules; i++)
        if (strcmp(set->rules[i].name, name) == 0)
            return &set->rules[i];
    return NULL;
}

/* Does rule r's trigger, of ev's kind, match ev's argument? */
static int trigger_matches(const struct crule *r, const struct event *ev)
{
    const struct trigger *t = &r->src->trig;
    const char *v;

    switch (t->ev) {
    case EV_STAGE:
        v = event_get(ev, "to");
        return v && strcmp(v, t->arg) == 0;
    case EV_TAG:
    case EV_UNTAG:
        v = event_get(ev, "tag");
        return v && strcmp(v, t->arg) == 0;
    case EV_CUSTOM:
        return strcmp(ev->type, t->arg) == 0;
    default:
        return 1;
    }
}

size_t ruleset_triggered(const struct ruleset *set, const struct event *ev,
                         size_t *idx, size_t max)
{
    size_t found = 0;

    if ((unsigned)ev->kind > EV_CUSTOM)
        return 0;
    for (size_t i = 0; i < set->nby_event[ev->kind]; i++) {
        size_t k = set->by_event[ev->kind][i];
        if (!trigger_matches(&set->rules[k], ev))
            continue;
        if (found < max)
            idx[found] = k;
        found++;
    }
    return found;
}

int ruleset_wants(const struct ruleset *set, const struct event *ev)
{
    return ruleset_triggered(set, ev, NULL, 0) > 0;
}
