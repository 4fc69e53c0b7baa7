/*
 * check_templates.c - the templates half of `nudgectl check` (see
 * check.h): compile the folder as the daemon would, report errors with
 * their place, list per template the names it needs, and per message
 * class (core/msgclass.h) the templates that go out as it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/check.h"
#include "core/msgclass.h"
#include "rules/checker.h"
#include "rules/compile.h"
#include "rules/run.h"
#include "templates/tmpl.h"

static void print_names(FILE *fp, const char *label, const struct strset *s)
{
    if (s->n == 0)
        return;
    fprintf(fp, "%s ", label);
    for (size_t i = 0; i < s->n; i++)
        fprintf(fp, "%s%s", i ? ", " : "", s->v[i]);
}

static void print_parts(FILE *fp, const struct tmpl_set *set, size_t i)
{
    int first = 1;

    for (int t = 0; t < TMPL_NTYPES; t++) {
        if (!tmpl_set_part(set, i, (enum tmpl_type)t))
            continue;
        fprintf(fp, "%s%s", first ? "" : " ", tmpl_type_name((enum tmpl_type)t));
        first = 0;
    }
}

/* "welcome_pack (sms email): needs name, owner.phone; optional score" */
static int report_template(FILE *fp, const struct tmpl_set *set, size_t i)
{
    struct strset required = {0}, optional = {0};
    int rc = tmpl_set_needs(set, i, &required, &optional);

    fprintf(fp, "  %s (", tmpl_set_name(set, i));
    print_parts(fp, set, i);
    fprintf(fp, ")");
    if (required.n == 0)
        fprintf(fp, ": needs nothing");
    else
        print_names(fp, ": needs", &required);
    print_names(fp, "; optional", &optional);
    fprintf(fp, "\n");
    strset_clear(&required);
    strset_clear(&optional);
    return rc;
}

/* The templates the rules send to staff (notify, escalate), class staff
 * whatever their Kind says, and those they send to students. Rule errors
 * are check_rules' to report, so a folder that does not load adds nothing
 * here. */
static void templates_sent(const struct config *cfg, struct strset *to_staff,
                           struct strset *to_students)
{
    struct rules_env env;
    struct ruleset *set = NULL;
    struct diag quiet = {0};

    if (rules_env_from_config(&env, cfg) < 0)
        return;
    if (ruleset_load_dir(cfg->rules.dir, &env, &set, &quiet) == 0) {
        for (size_t r = 0; r < set->nrules; r++)
            for (size_t i = 0; i < set->rules[r].nsteps; i++) {
                const struct step *s = set->rules[r].steps[i].src;
                if (run_step_to_staff(s))
                    strset_put(to_staff, s->tmpl);
                else if (s->kind == STEP_SEND)
                    for (size_t v = 0; v <= s->nvariants; v++)
                        strset_put(to_students, v < s->nvariants
                                                    ? s->variants[v].tmpl
                                                    : s->tmpl);
            }
        ruleset_free(set);
    }
    diag_clear(&quiet);
    rules_env_free(&env);
}

/* The class every part of the i-th template declares, or -1 when its
 * parts differ (then each part is listed as NAME.TYPE). */
static int template_class(const struct tmpl_set *set, size_t i)
{
    int c = -1;

    for (int t = 0; t < TMPL_NTYPES; t++) {
        const struct tmpl_part *p = tmpl_set_part(set, i, (enum tmpl_type)t);
        if (!p)
            continue;
        if (c >= 0 && c != (int)tmpl_part_class(p))
            return -1;
        c = (int)tmpl_part_class(p);
    }
    return c;
}

/* Which templates went where, by the rules. */
struct sent_to {
    struct strset staff, students;
};

/* The templates (or parts) of class c: by their Kind, but a template only
 * notify and escalate send is staff alone. */
static void class_members(const struct tmpl_set *set, enum msg_class c,
                          const struct sent_to *to, struct strset *out)
{
    char name[512];

    for (size_t i = 0; i < tmpl_set_count(set); i++) {
        const char *n = tmpl_set_name(set, i);
        int tc = template_class(set, i);
        int staff = strset_has(&to->staff, n);
        if (staff && (c == MSG_STAFF || !strset_has(&to->students, n))) {
            if (c == MSG_STAFF)
                strset_put(out, n);
            continue;
        }
        if (tc == (int)c) {
            strset_put(out, n);
            continue;
        }
        for (int t = 0; tc < 0 && t < TMPL_NTYPES; t++) {
            const struct tmpl_part *p =
                tmpl_set_part(set, i, (enum tmpl_type)t);
            if (p && tmpl_part_class(p) == c) {
                snprintf(name, sizeof name, "%s.%s", n,
                         tmpl_type_name((enum tmpl_type)t));
                strset_put(out, name);
            }
        }
    }
}

/* "  marketing: campus_vlog_weekly, trial_class_invite", a line a class. */
static void report_classes(FILE *fp, const struct config *cfg,
                           const struct tmpl_set *set)
{
    struct sent_to to = {{0}, {0}};

    templates_sent(cfg, &to.staff, &to.students);
    fprintf(fp, "classes (Kind; notify and escalate send as staff):\n");
    for (int c = 0; c < MSG_NCLASSES; c++) {
        struct strset members = {0};
        class_members(set, (enum msg_class)c, &to, &members);
        fprintf(fp, "  %s:", msg_class_name((enum msg_class)c));
        if (members.n == 0)
            fprintf(fp, " none");
        for (size_t j = 0; j < members.n; j++)
            fprintf(fp, "%s%s", j ? ", " : " ", members.v[j]);
        fprintf(fp, "\n");
        strset_clear(&members);
    }
    strset_clear(&to.staff);
    strset_clear(&to.students);
}

static int has_email(const struct tmpl_set *set)
{
    for (size_t i = 0; i < tmpl_set_count(set); i++)
        if (tmpl_set_part(set, i, TMPL_EMAIL))
            return 1;
    return 0;
}

/* [consent] confirm_template must name a template with an sms part (the
 * channel replies come on; docs/policy.md): an error found now rather
 * than when the first student opts out. */
static void check_confirm_template(const struct config *cfg,
                                   const struct tmpl_set *set, struct diag *d)
{
    const char *name = cfg->consent.confirm_template;
    const struct tmpl_part *part;

    if (!name || !*name)
        return;
    if ((part = tmpl_find(set, name, "sms"))) {
        /* a marketing SMS ends with the opt-out text: not what somebody
         * who just opted out should read */
        if (tmpl_part_class(part) == MSG_MARKETING)
            diag_warning(d, tmpl_part_file(part), 1, 1,
                         "[consent] confirm_template \"%s\" is marketing "
                         "(no Kind: line means marketing), so it would end "
                         "with the opt-out text: add \"Kind: service\"",
                         name);
        return;
    }
    for (size_t i = 0; i < tmpl_set_count(set); i++)
        if (strcmp(tmpl_set_name(set, i), name) == 0) {
            diag_warning(d, cfg->path, 0, 0,
                         "[consent] confirm_template \"%s\" has no sms "
                         "part: opt-outs by SMS reply get no confirmation",
                         name);
            return;
        }
    diag_error(d, cfg->path, 0, 0,
               "[consent] confirm_template \"%s\": no such template in %s",
               name, cfg->templates.dir);
}

int check_templates(struct ctl *ctl, struct diag *d, FILE *report)
{
    const struct config *cfg = &ctl->cfg;
    int errors = d->errors;
    struct tmpl_set *set = tmpl_set_load(cfg->templates.dir, cfg, d);

    if (!set)
        return -1;
    if (has_email(set) && !cfg->templates.unsubscribe_secret)
        diag_warning(d, cfg->path, 0, 0,
                     "[templates] has no unsubscribe_secret: emails cannot "
                     "be rendered without a signed unsubscribe link");
    check_confirm_template(cfg, set, d);
    check_placeholders(cfg, set, d);
    fprintf(report, "templates: %zu in %s\n", tmpl_set_count(set),
            cfg->templates.dir);
    for (size_t i = 0; i < tmpl_set_count(set); i++)
        report_template(report, set, i);
    report_classes(report, cfg, set);
    tmpl_set_unref(set);
    return d->errors > errors ? -1 : 0;
}
