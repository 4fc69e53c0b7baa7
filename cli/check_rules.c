/*
 * check_rules.c - the rules half of `nudgectl check` (see check.h): parse
 * and check the rules folder against the config's channels and the
 * templates folder as the daemon would, and summarise what it found.
 */
#include <stdio.h>

#include "cli/check.h"
#include "rules/checker.h"
#include "rules/compile.h"
#include "rules/holdout.h"

/* "holdouts: invite 10%, vlog 12.5%": the rules that keep a share of
 * their students out (rules/holdout.h); nothing when none does. */
static void report_holdouts(const struct ruleset *set, FILE *report)
{
    const char *sep = "holdouts: ";
    char share[16];

    for (size_t i = 0; i < set->nrules; i++) {
        if (!set->rules[i].src->holdout)
            continue;
        fprintf(report, "%s%s %s", sep, set->rules[i].name,
                holdout_share_format(set->rules[i].src->holdout, share,
                                     sizeof share));
        sep = ", ";
    }
    if (sep[0] == ',')
        fputc('\n', report);
}

/* "variants: pick step 1 (inv_a 70%, inv_b 30%)": the sends with
 * weighted variants (rules/variant.h); nothing when there are none. */
static void report_variants(const struct ruleset *set, FILE *report)
{
    const char *sep = "variants: ";
    char share[16];

    for (size_t i = 0; i < set->nrules; i++)
        for (size_t k = 0; k < set->rules[i].nsteps; k++) {
            const struct step *s = set->rules[i].steps[k].src;
            if (!s->nvariants)
                continue;
            fprintf(report, "%s%s step %zu (", sep, set->rules[i].name, k + 1);
            for (size_t v = 0; v < s->nvariants; v++)
                fprintf(report, "%s%s %s", v ? ", " : "", s->variants[v].tmpl,
                        holdout_share_format(s->variants[v].weight, share,
                                             sizeof share));
            fputc(')', report);
            sep = ", ";
        }
    if (sep[0] == ',')
        fputc('\n', report);
}

int check_rules(struct ctl *ctl, struct diag *d, FILE *report)
{
    struct rules_env env;
    struct ruleset *set = NULL;
    size_t events = 0;

    if (rules_env_from_config(&env, &ctl->cfg) < 0) {
        diag_error(d, ctl->cfg.rules.dir, 0, 0, "out of memory");
        return -1;
    }
    if (ruleset_load_dir(ctl->cfg.rules.dir, &env, &set, d) < 0) {
        rules_env_free(&env);
        check_worktime(ctl, 0, d, report);
        return -1;
    }
    for (int k = 0; k <= EV_CUSTOM; k++)
        events += set->nby_event[k];
    fprintf(report,
            "rules: %zu rule%s in %zu file%s (%zu on events, %zu "
            "scheduled), %zu stages\n",
            set->nrules, set->nrules == 1 ? "" : "s", set->nfiles,
            set->nfiles == 1 ? "" : "s", events, set->nscheduled,
            set->stages.n);
    report_holdouts(set, report);
    report_variants(set, report);
    check_worktime(ctl, set->uses_working, d, report);
    ruleset_free(set);
    rules_env_free(&env);
    return 0;
}
