/*
 * check_placeholders.c - what recruiters get wrong in templates, found by
 * `nudgectl check` (check.h): a placeholder written with single braces
 * ("{date deposit_due}": sent as is), and a student attribute no student
 * has ("{{nmae}}": every message skipped as missing). Warnings: the
 * template still loads, and the daemon would run it.
 *
 * The attributes students have are, in this order of trust: [templates]
 * allowed_attributes when it is set (then the template compiler already
 * refuses any other: nothing to add here), else the contract's fields
 * (DESIGN.md) and the fields of a sample of students in Redis, when it
 * answers.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/check.h"
#include "core/keys.h"
#include "core/reply.h"
#include "rules/hint.h"
#include "templates/tmpl.h"

#define SAMPLE 200   /* students looked at */
#define LINE_MAX 4096

/* The fields every student hash may carry (docs/redis.md). */
static const char *const contract_fields[] = {
    "id",    "name",     "phone", "email", "wecom_userid",
    "wecom_external_userid", "stage", "stage_at", "owner", "tz",
    "lang",  "last_touch_at", "followup_at", "assigned_at",
};

/* Adds the fields of up to SAMPLE students to known; quietly nothing
 * when Redis does not answer (check works offline). */
static void sample_fields(const struct config *cfg, struct strset *known)
{
    struct rconn *rc = rconn_new(cfg, NULL);
    char pattern[KEY_MAX];
    redisReply *scan, *h;

    if (!rc)
        return;
    rc->timeout_ms = rc->cmd_timeout_ms = 1000;
    snprintf(pattern, sizeof pattern, "%sstudent:{*}", cfg->redis.prefix);
    if (rconn_connect(rc) == 0 &&
        (scan = rconn_cmd(rc, "SCAN 0 MATCH %s COUNT %d TYPE hash", pattern,
                          SAMPLE * 5))) {
        if (scan->type == REDIS_REPLY_ARRAY && scan->elements == 2)
            for (size_t i = 0; i < scan->element[1]->elements && i < SAMPLE;
                 i++) {
                if (!(h = rconn_cmd(rc, "HKEYS %s",
                                    scan->element[1]->element[i]->str)))
                    break;
                for (size_t j = 0; h->type == REDIS_REPLY_ARRAY &&
                                   j < h->elements;
                     j++)
                    strset_put(known, h->element[j]->str);
                reply_free(h);
            }
        reply_free(scan);
    }
    rconn_free(rc);
}

/* A name a template reads from the student itself (not owner.*,
 * supervisor.*, school.*, nor the message's own values). */
static int student_name(const char *n)
{
    return !strchr(n, '.') && strcmp(n, "unsubscribe_url") != 0 &&
           strcmp(n, "count") != 0 && strcmp(n, "level") != 0 &&
           strcmp(n, "leads") != 0;
}

static void warn_unknown(const struct tmpl_set *set, size_t i,
                         const struct strset *names,
                         const struct strset *known, struct diag *d)
{
    const struct tmpl_part *part = NULL;
    char msg[300];

    for (int t = 0; !part && t < TMPL_NTYPES; t++)
        part = tmpl_set_part(set, i, (enum tmpl_type)t);
    for (size_t k = 0; part && k < names->n; k++) {
        const char *n = names->v[k];
        if (!student_name(n) || strset_has(known, n))
            continue;
        snprintf(msg, sizeof msg,
                 "\"%s\" is an attribute no student has (none of the "
                 "contract's fields, nor of %d students in Redis)",
                 n, SAMPLE);
        hint_append(msg, sizeof msg, n, (const char *const *)known->v,
                    known->n);
        diag_warning(d, tmpl_part_file(part), 0, 0, "%s", msg);
    }
}

/* "{date deposit_due}" on a line: a word (letters, digits, _, ., space)
 * between single braces. Webhook parts are JSON, where braces are
 * braces. */
static void warn_single_braces(const char *file, struct diag *d)
{
    FILE *fp = fopen(file, "r");
    char line[LINE_MAX];
    int no = 0;

    if (!fp)
        return;
    while (fgets(line, sizeof line, fp)) {
        no++;
        for (char *p = line; (p = strchr(p, '{')); p++) {
            char *q = p + 1;
            int word = 0;
            if ((p > line && p[-1] == '{') || *q == '{')
                continue;
            for (; isalnum((unsigned char)*q) || *q == '_' || *q == '.' ||
                   *q == ' ';
                 q++)
                word |= isalpha((unsigned char)*q);
            if (*q == '}' && word && q[1] != '}')
                diag_warning(d, file, no, (int)(p - line) + 1,
                             "\"%.*s\" looks like a placeholder: a value "
                             "goes between double braces, {{name}}",
                             (int)(q - p + 1), p);
        }
    }
    fclose(fp);
}

void check_placeholders(const struct config *cfg,
                        const struct tmpl_set *set, struct diag *d)
{
    struct strset known = {0};
    int sampled = 0;

    for (size_t i = 0; i < tmpl_set_count(set); i++)
        for (int t = 0; t < TMPL_NTYPES; t++) {
            const struct tmpl_part *p =
                tmpl_set_part(set, i, (enum tmpl_type)t);
            if (p && t != TMPL_WEBHOOK)
                warn_single_braces(tmpl_part_file(p), d);
        }
    if (cfg->templates.allowed_attributes &&
        *cfg->templates.allowed_attributes)
        return; /* the compiler holds templates to that list */
    for (size_t i = 0; i < sizeof contract_fields / sizeof *contract_fields;
         i++)
        strset_put(&known, contract_fields[i]);
    for (size_t i = 0; i < tmpl_set_count(set); i++) {
        struct strset required = {0}, optional = {0};
        if (tmpl_set_needs(set, i, &required, &optional) == 0) {
            if (!sampled++)
                sample_fields(cfg, &known);
            /* an optional one has a default: a student without it is
             * expected; a required one nobody has skips every message */
            warn_unknown(set, i, &required, &known, d);
        }
        strset_clear(&required);
        strset_clear(&optional);
    }
    strset_clear(&known);
}
