/*
 * check_templates.c - the templates half of `nudgectl check` (see
 * check.h): compile the folder as the daemon would, report errors with
 * their place, and list per template the names it needs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/check.h"
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

    if (!name || !*name || tmpl_find(set, name, "sms"))
        return;
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
    fprintf(report, "templates: %zu in %s\n", tmpl_set_count(set),
            cfg->templates.dir);
    for (size_t i = 0; i < tmpl_set_count(set); i++)
        report_template(report, set, i);
    tmpl_set_unref(set);
    return d->errors > errors ? -1 : 0;
}
