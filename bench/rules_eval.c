/*
 * rules_eval.c - the rule engine's in-memory benchmark (issue 5), run by
 * bench/bench_rules.sh:
 *
 *   rules_eval gen FILE N        writes N generated students, one JSON
 *                                object a line (the same file feeds
 *                                json-rules-engine in bench/rules_jre.js)
 *   rules_eval run FILE RULES    loads them, evaluates every rule of the
 *                                RULES file against each student on one
 *                                core for about a second, prints the rate
 *                                and how many students each rule matched
 *
 * A student is loaded into a view once and every rule's condition is
 * evaluated against it, as the engine does for an event.
 *
 * Leaves are counted as evaluated: the engine stops an `and` at its first
 * false side and an `or` at its first true one, so an untimed pass before
 * the timed ones walks each condition with the same short-circuit and
 * counts the leaf conditions it reaches (leaves_evaluated_per_s); the
 * timed passes run rule_when() itself, uncounted.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "rules/compile.h"
#include "rules/eval.h"

static const char *const stages[] = {"lead",      "contacted", "consulting",
                                     "applied",   "admitted",  "enrolled",
                                     "graduated", "alumni",    "lost"};
static const char *const regions[] = {
    "xinjiang",  "xizang", "qinghai", "beijing", "sichuan",
    "guangdong", "henan",  "yunnan",  "gansu",   "shandong"};
static const char *const subjects[] = {"science", "arts", "engineering",
                                       "medicine"};

static uint64_t rng = 88172645463325252ull;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

#define PICK(a) a[rnd(sizeof a / sizeof a[0])]

static json_t *gen_student(unsigned i)
{
    json_t *o = json_object(), *tags = json_array();
    char buf[64];
    unsigned r = rnd(100);

    snprintf(buf, sizeof buf, "%u", 100000 + i);
    json_object_set_new(o, "id", json_string(buf));
    json_object_set_new(o, "name", json_string("学生"));
    json_object_set_new(o, "stage", json_string(PICK(stages)));
    if (r < 90) { /* 5% missing, 5% not a number */
        snprintf(buf, sizeof buf, "%u", 450 + rnd(250));
        json_object_set_new(o, "score", json_string(buf));
    } else if (r < 95) {
        json_object_set_new(o, "score", json_string("缺考"));
    }
    json_object_set_new(o, "subject", json_string(PICK(subjects)));
    if (rnd(2))
        json_object_set_new(o, "owner", json_string("s42"));
    snprintf(buf, sizeof buf, "region:%s", PICK(regions));
    json_array_append_new(tags, json_string(buf));
    if (rnd(100) < 30)
        json_array_append_new(tags, json_string("intent:high"));
    if (rnd(100) < 20)
        json_array_append_new(tags, json_string("trial_booked"));
    if (rnd(100) < 30)
        json_array_append_new(tags, json_string("fee_paid"));
    if (rnd(100) < 50)
        json_array_append_new(tags, json_string("来源:招生咨询会"));
    json_object_set_new(o, "tags", tags);
    return o;
}

static int gen(const char *path, unsigned n)
{
    FILE *fp = fopen(path, "w");

    if (!fp)
        return 1;
    for (unsigned i = 0; i < n; i++) {
        json_t *o = gen_student(i);
        char *s = json_dumps(o, JSON_COMPACT);
        fprintf(fp, "%s\n", s);
        free(s);
        json_decref(o);
    }
    return fclose(fp) != 0;
}

static struct student *student_of_json(json_t *o)
{
    struct student *s =
        student_new(json_string_value(json_object_get(o, "id")));
    const char *key;
    json_t *v;
    size_t i;

    json_object_foreach(o, key, v)
    {
        if (json_is_string(v) && strcmp(key, "id") != 0)
            attrs_set(&s->attrs, key, json_string_value(v));
    }
    json_array_foreach(json_object_get(o, "tags"), i, v)
        strset_add(&s->tags, json_string_value(v));
    student_seal(s);
    return s;
}

static struct student **load(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, alloc = 0;
    struct student **v = NULL;

    *n = 0;
    if (!fp)
        return NULL;
    while (getline(&line, &cap, fp) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        if (!o)
            continue;
        if (*n == alloc) {
            alloc = alloc ? alloc * 2 : 1024;
            v = realloc(v, alloc * sizeof *v);
        }
        v[(*n)++] = student_of_json(o);
        json_decref(o);
    }
    free(line);
    fclose(fp);
    return v;
}

/* rule_cond() of node i, adding to *leaves each leaf it evaluates: the
 * same and/or/not short-circuit as rules/eval.c, a leaf evaluated there. */
static int cond_counted(const struct crule *r, int i, struct rview *v,
                        size_t *leaves)
{
    const struct cnode *n;

    if (i < 0)
        return 1;
    n = &r->nodes[i];
    switch (n->op) {
    case OP_AND:
        return cond_counted(r, n->a, v, leaves) &&
               cond_counted(r, n->b, v, leaves);
    case OP_OR:
        return cond_counted(r, n->a, v, leaves) ||
               cond_counted(r, n->b, v, leaves);
    case OP_NOT:
        return !cond_counted(r, n->a, v, leaves);
    default:
        (*leaves)++;
        return rule_cond(r, i, v);
    }
}

/* The untimed pass: how many students each rule matches and how many leaf
 * conditions a pass evaluates. -1 when the counting walk and rule_when()
 * disagree (the count would not describe what was timed). */
static long count_pass(const struct ruleset *set, struct rview *view,
                       struct student **st, size_t n, size_t *matched,
                       size_t *evaluated)
{
    *evaluated = 0;
    for (size_t i = 0; i < n; i++) {
        rview_load(view, st[i], 0);
        for (size_t r = 0; r < set->nrules; r++) {
            int hit = cond_counted(&set->rules[r], set->rules[r].when, view,
                                   evaluated);
            if (hit != rule_when(&set->rules[r], view))
                return -1;
            matched[r] += (size_t)hit;
        }
    }
    return 0;
}

static int run(const char *path, const char *rules)
{
    struct diag d = {0};
    struct rules_env env = {0};
    struct ruleset *set;
    struct rview view;
    struct student **st;
    size_t n, passes = 0, leaves = 0, evaluated, hits = 0, per_pass = 0;
    size_t *matched;
    int64_t start, elapsed;

    rules_env_add_channel(&env, "sms", "sms");
    if (ruleset_load_files(&rules, 1, &env, &set, &d) < 0) {
        diag_print(&d, stderr);
        return 1;
    }
    st = load(path, &n);
    if (!st || !n || rview_init(&view, set) < 0)
        return 1;
    matched = calloc(set->nrules, sizeof *matched);
    for (size_t r = 0; r < set->nrules; r++)
        leaves += set->rules[r].leaves;
    if (count_pass(set, &view, st, n, matched, &evaluated) < 0) {
        fprintf(stderr, "rules_eval: the counting walk disagrees with "
                        "rule_when()\n");
        return 1;
    }
    start = clock_mono_ms();
    do {
        for (size_t i = 0; i < n; i++) {
            rview_load(&view, st[i], 0);
            for (size_t r = 0; r < set->nrules; r++)
                hits += (size_t)rule_when(&set->rules[r], &view);
        }
        passes++;
        elapsed = clock_mono_ms() - start;
    } while (elapsed < 1000);
    for (size_t r = 0; r < set->nrules; r++)
        per_pass += matched[r];
    if (hits != per_pass * passes) { /* and the timed work is not dead code */
        fprintf(stderr, "rules_eval: the timed passes matched %zu, not %zu\n",
                hits, per_pass * passes);
        return 1;
    }
    printf("students %zu passes %zu seconds %.3f\n", n, passes,
           elapsed / 1000.0);
    printf("students_per_s %.0f\n", n * passes / (elapsed / 1000.0));
    printf("rule_evals_per_s %.0f\n",
           n * passes * set->nrules / (elapsed / 1000.0));
    printf("leaf_conditions %zu\n", leaves);
    printf("leaves_evaluated_per_student %.2f\n", (double)evaluated / n);
    printf("leaves_evaluated_per_s %.0f\n",
           (double)evaluated * passes / (elapsed / 1000.0));
    for (size_t r = 0; r < set->nrules; r++)
        printf("matched %s %zu\n", set->rules[r].name, matched[r]);
    for (size_t i = 0; i < n; i++)
        student_free(st[i]);
    free(st);
    free(matched);
    rview_free(&view);
    ruleset_free(set);
    rules_env_free(&env);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "gen") == 0)
        return gen(argv[2], (unsigned)strtoul(argv[3], NULL, 10));
    if (argc == 4 && strcmp(argv[1], "run") == 0)
        return run(argv[2], argv[3]);
    fprintf(stderr, "usage: rules_eval gen FILE N | run FILE RULES\n");
    return 2;
}
