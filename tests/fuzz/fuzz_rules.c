/*
 * fuzz_rules.c - libFuzzer target for the rule language: any bytes are
 * lexed, parsed and checked (errors sorted as nudgectl prints them); a
 * set that checks clean is compiled and every rule's conditions are
 * evaluated and explained against two students, one with attributes and
 * Unicode tags and one with nothing. Run by `make fuzz`
 * (scripts/fuzz.sh); seeds in tests/fuzz/corpus/fuzz_rules.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/compile.h"
#include "rules/eval.h"
#include "rules/parser.h"

static struct rules_env env;
static struct student *full, *empty;

static void setup(void)
{
    rules_env_add_channel(&env, "sms", "sms");
    rules_env_add_channel(&env, "email", "email");
    rules_env_add_channel(&env, "wecom", "wecom");
    rules_env_add_template(&env, "hello", TMPL_PART_SMS | TMPL_PART_EMAIL);
    rules_env_add_template(&env, "x", TMPL_PART_SMS);
    env.now_ms = 1795000000000LL;
    full = student_new("1");
    attrs_set(&full->attrs, "stage", "consulting");
    attrs_set(&full->attrs, "score", "640");
    attrs_set(&full->attrs, "stage_at", "1700000000");
    attrs_set(&full->attrs, "省份", "新疆");
    attrs_set(&full->attrs, "owner", "s1");
    strset_add(&full->tags, "intent:high");
    strset_add(&full->tags, "地区:青海");
    student_seal(full);
    empty = student_new("2");
    student_seal(empty);
}

static void evaluate(const struct ruleset *set, const struct student *st)
{
    struct rview v;
    char why[256];

    if (rview_init(&v, set) < 0)
        return;
    rview_load(&v, st, 1795000000000LL);
    v.followed_up = st == full;
    for (size_t i = 0; i < set->nrules; i++) {
        const struct crule *r = &set->rules[i];
        rule_cond_explain(r, r->when, &v, why, sizeof why);
        for (size_t k = 0; k < r->nsteps; k++)
            if (r->steps[k].cond >= 0)
                rule_cond_explain(r, r->steps[k].cond, &v, why, sizeof why);
    }
    rview_free(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct diag d = {0};
    struct rule_file **files;
    struct ruleset *set = NULL;

    if (!full)
        setup();
    files = calloc(1, sizeof *files);
    if (!files)
        return 0;
    files[0] = rule_parse("fuzz.rules", (const char *)data, size, &d);
    if (!files[0]) {
        free(files);
    } else if (d.errors) {
        rules_check(files, 1, &env, &d);
        rule_file_free(files[0]);
        free(files);
    } else if (ruleset_build(files, 1, &env, &set, &d) == 0) {
        evaluate(set, full);
        evaluate(set, empty);
        ruleset_free(set);
    }
    rules_diag_sort(&d, 0);
    diag_clear(&d);
    return 0;
}
