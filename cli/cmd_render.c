/*
 * cmd_render.c - nudgectl render TEMPLATE STUDENT [CHANNEL]: the exact
 * message a student would get, read from Redis as the daemon would (the
 * student, their owner and the owner's supervisor), without sending it.
 * Email prints as a person reads it (To, Subject, the text, the HTML part
 * summarised; --raw: the whole MIME message as sent); SMS its encoding
 * and segments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"
#include "core/keys.h"
#include "core/student_store.h"
#include "templates/tmpl.h"

/* What the command renders: the part type and, for email, the From. */
struct target {
    int type;         /* enum tmpl_type, or -1 for every part */
    const char *from; /* the email channel's `from`, or NULL */
    int raw;          /* --raw: email as MIME */
};

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: nudgectl -c FILE render [--raw] TEMPLATE STUDENT "
            "[CHANNEL]\n"
            "Prints the message TEMPLATE makes for STUDENT: for CHANNEL (a\n"
            "configured channel's name, or a type: sms, email, wecom,\n"
            "webhook), or every part of the template. Nothing is sent.\n"
            "An email shows as it reads (subject and text; the HTML part\n"
            "summarised); --raw prints the MIME message as sent.\n");
}

/* The type a configured channel renders: its `as`, else its `type`. */
static int section_type(struct conf_section *sec)
{
    const char *as = conf_section_get(sec, "as");
    return tmpl_type_parse(as ? as : conf_section_get(sec, "type"));
}

/* The From of the first email channel, for previews without one. */
static const char *email_from(struct config *cfg)
{
    for (size_t i = 0; i < cfg->nchannels; i++)
        if (section_type(&cfg->channels[i]) == TMPL_EMAIL)
            return conf_section_get(&cfg->channels[i], "from");
    return NULL;
}

static int resolve_target(struct config *cfg, const char *name,
                          struct target *t)
{
    struct conf_section *sec = name ? config_channel(cfg, name) : NULL;

    t->type = -1;
    t->from = email_from(cfg);
    if (!name)
        return 0;
    if (sec) {
        t->type = section_type(sec);
        if (t->type == TMPL_EMAIL && conf_section_get(sec, "from"))
            t->from = conf_section_get(sec, "from");
    } else {
        t->type = tmpl_type_parse(name);
    }
    if (t->type < 0) {
        fprintf(stderr, "nudgectl: \"%s\" is neither a configured channel "
                "nor a type (sms, email, wecom, webhook)\n", name);
        return -1;
    }
    return 0;
}

/* --- the people ------------------------------------------------------------ */

struct people {
    struct student *student;
    struct staff *owner, *supervisor;
};

static int load_staff(struct ctl *ctl, const char *id, struct staff **out)
{
    if (!id || !key_valid_id(id))
        return 0;
    if (staff_load(ctl->rc, ctl->cfg.redis.prefix, id, out) < 0) {
        fprintf(stderr, "nudgectl: %s\n", ctl->rc->errstr);
        return -1;
    }
    return 0;
}

/* 0, 1 when the student does not exist, -1 on a Redis error. */
static int load_people(struct ctl *ctl, const char *id, struct people *p)
{
    int rc;

    if (!key_valid_id(id)) {
        fprintf(stderr, "nudgectl: invalid student id \"%s\"\n", id);
        return 1;
    }
    if (!ctl_redis(ctl))
        return -1;
    rc = student_load(ctl->rc, ctl->cfg.redis.prefix, id, &p->student);
    if (rc < 0)
        fprintf(stderr, "nudgectl: %s\n", ctl->rc->errstr);
    if (rc == 0)
        fprintf(stderr, "nudgectl: no student \"%s\"\n", id);
    if (rc <= 0)
        return rc < 0 ? -1 : 1;
    if (load_staff(ctl, student_get(p->student, "owner"), &p->owner) < 0)
        return -1;
    if (p->owner &&
        load_staff(ctl, staff_get(p->owner, "supervisor"), &p->supervisor) < 0)
        return -1;
    return 0;
}

static void free_people(struct people *p)
{
    student_free(p->student);
    staff_free(p->owner);
    staff_free(p->supervisor);
}

/* --- printing -------------------------------------------------------------- */

/* An email as its reader sees it: the headers a person reads, the text,
 * and what the HTML part holds (its size and links), not its markup. */
static void print_email(const struct tmpl_msg *m)
{
    size_t links = 0;

    printf("To: %s\nSubject: %s\n", m->to ? m->to : "-",
           m->subject ? m->subject : "");
    if (m->unsubscribe_url)
        printf("Unsubscribe: %s\n", m->unsubscribe_url);
    printf("\n%s%s", m->body ? m->body : "",
           m->body && *m->body && m->body[strlen(m->body) - 1] != '\n'
               ? "\n"
               : "");
    if (!m->html)
        return;
    for (const char *p = m->html; (p = strstr(p, "href=")); p += 5)
        links++;
    printf("\n[an HTML part too: %zu bytes, %zu link%s; --raw shows the "
           "MIME message]\n",
           strlen(m->html), links, links == 1 ? "" : "s");
}

static void print_msg(const struct tmpl_msg *m, enum tmpl_type type, int raw)
{
    switch (type) {
    case TMPL_EMAIL:
        if (raw)
            fputs(m->mime, stdout);
        else
            print_email(m);
        return;
    case TMPL_SMS:
        printf("To: %s\n", m->to);
        if (m->provider_template)
            printf("Template-Code: %s\nParams: %s\n", m->provider_template,
                   m->provider_params);
        if (m->body)
            printf("Encoding: %s\nSegments: %d (%zu characters)\n\n%s\n",
                   tmpl_sms_encoding_name(m->sms.encoding), m->sms.segments,
                   m->sms.chars, m->body);
        return;
    case TMPL_WECOM:
        printf("To: %s\nFormat: %s\n\n%s\n", m->to, m->format, m->body);
        return;
    default:
        printf("%s\n", m->body);
    }
}

/* Renders one part; 0, or 1 when it cannot be rendered. */
static int render_one(const struct tmpl_part *part, const struct tmpl_ctx *ctx,
                      struct tmpl_out *out, int banner, int raw)
{
    enum tmpl_status st = tmpl_render(part, ctx, out);

    if (banner)
        printf("==> %s <==\n", tmpl_part_file(part));
    if (st != TMPL_OK) {
        fflush(stdout);
        fprintf(stderr, "nudgectl: %s for student %s: %s\n",
                tmpl_part_file(part), ctx->student->id, out->err);
        return 1;
    }
    print_msg(&out->msg, tmpl_part_type(part), raw);
    return 0;
}

static int render_parts(const struct tmpl_set *set, const char *name,
                        const struct target *t, const struct tmpl_ctx *ctx)
{
    struct tmpl_out out;
    int failed = 0, found = 0;

    tmpl_out_init(&out);
    for (int type = 0; type < TMPL_NTYPES; type++) {
        const struct tmpl_part *part =
            tmpl_find(set, name, tmpl_type_name((enum tmpl_type)type));
        if (!part || (t->type >= 0 && t->type != type))
            continue;
        if (found++ && t->type < 0)
            printf("\n");
        failed |= render_one(part, ctx, &out, t->type < 0, t->raw);
    }
    tmpl_out_free(&out);
    if (!found)
        fprintf(stderr, "nudgectl: no template \"%s\"%s%s\n", name,
                t->type >= 0 ? " with a part for " : "",
                t->type >= 0 ? tmpl_type_name((enum tmpl_type)t->type) : "");
    return found && !failed ? CTL_OK : CTL_FINDING;
}

int cmd_render(struct ctl *ctl, int argc, char **argv)
{
    struct diag d = {0};
    struct target t;
    struct people p = {0};
    struct tmpl_set *set;
    int status = CTL_FINDING, rc, raw = 0;

    if (ctl_wants_help(argc, argv)) {
        usage(stdout);
        return CTL_OK;
    }
    if (argc > 1 && strcmp(argv[1], "--raw") == 0) {
        raw = 1;
        argv[1] = argv[0]; /* the rest reads as without it */
        argv++;
        argc--;
    }
    if (argc < 3 || argc > 4) {
        usage(stderr);
        return CTL_USAGE;
    }
    if (resolve_target(&ctl->cfg, argc == 4 ? argv[3] : NULL, &t) < 0)
        return CTL_USAGE;
    t.raw = raw;
    set = tmpl_set_load(ctl->cfg.templates.dir, &ctl->cfg, &d);
    diag_print(&d, stderr);
    diag_clear(&d);
    if (!set)
        return CTL_FINDING;
    if ((rc = load_people(ctl, argv[2], &p)) == 0) {
        struct tmpl_ctx ctx = {.student = p.student, .owner = p.owner,
                               .supervisor = p.supervisor, .cfg = &ctl->cfg,
                               .from = t.from};
        status = render_parts(set, argv[1], &t, &ctx);
    } else if (rc < 0) {
        status = CTL_USAGE;
    }
    free_people(&p);
    tmpl_set_unref(set);
    return status;
}
