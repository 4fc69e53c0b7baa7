/*
 * assign.c - the `assign team T` step of a run: the lead goes round robin
 * to the members of slm:team:{T}, sorted by id (the turn is an INCR on
 * slm:team:{T}:rr, shared by all daemons); the owner is set and an
 * `assigned` event emitted, which the consumer records on the timeline.
 */
#include <stdlib.h>
#include <string.h>

#include "core/keys.h"
#include "rules/run.h"

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Round robin over the sorted members of the team. */
enum step_result run_assign(struct run *r, size_t i, const struct step *s)
{
    char team[KEY_MAX], rr[KEY_MAX + 8], student[KEY_MAX];
    redisReply *members, *rep;
    const char *pick;
    char **ids;
    long long turn;

    key_team(team, sizeof team, r->env->cfg->redis.prefix, s->arg);
    snprintf(rr, sizeof rr, "%s:rr", team);
    if (!(members = rconn_cmd(r->rc, "SMEMBERS %s", team)))
        return ST_ERROR;
    if (members->type != REDIS_REPLY_ARRAY || members->elements == 0) {
        freeReplyObject(members);
        run_record(r, i, "skipped", NULL, NULL, NULL, "assign: the team is empty");
        run_count("skipped");
        return ST_NEXT;
    }
    if (!(rep = rconn_cmd(r->rc, "INCR %s", rr))) {
        freeReplyObject(members);
        return ST_ERROR;
    }
    turn = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
    freeReplyObject(rep);
    ids = calloc(members->elements, sizeof *ids);
    for (size_t k = 0; ids && k < members->elements; k++)
        ids[k] = members->element[k]->str;
    if (!ids) {
        freeReplyObject(members);
        return ST_ERROR;
    }
    qsort(ids, members->elements, sizeof *ids, by_str);
    pick = ids[(size_t)(turn - 1) % members->elements];
    key_student(student, sizeof student, r->env->cfg->redis.prefix,
                r->student_id, NULL);
    rep = rconn_cmd(r->rc, "HSET %s owner %s", student, pick);
    if (rep)
        freeReplyObject(rep);
    if (!rep || run_emit_event(r, "assigned", "owner", pick) < 0) {
        free(ids);
        freeReplyObject(members);
        return ST_ERROR;
    }
    free(ids);
    freeReplyObject(members);
    return run_reload_student(r) < 0 ? ST_ERROR : ST_NEXT;
}

