/*
 * leads_list.h - reading open leads back for people to look at: the
 * loading behind `nudgectl overdue` and `nudgectl leads STAFF`
 * (cli/cmd_leads.c) and the overdue section of the supervisors' page
 * (daemon/report_page.h). rules/leads.h keeps the books; this only reads
 * them (slm:leads, slm:staff:S:leads, the students' hashes).
 *
 * A lead's deadline is its assignment time plus [leads] followup_within
 * (leads_deadline()); it is overdue when no followup that counts came and
 * the deadline has passed. Contacts are masked as they are read: a
 * lead_list never holds a phone number or an email in the clear.
 *
 * Threads: any; the functions use only the rconn they are given.
 */
#ifndef NUDGE_RULES_LEADS_LIST_H
#define NUDGE_RULES_LEADS_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/redis.h"

/* One open lead. */
struct lead {
    char id[160], name[200], stage[64], owner[160];
    char phone[64], email[160]; /* masked (core/mask.h); "" when none */
    int64_t assigned_ms;        /* -1 unknown */
    int64_t followup_ms;        /* first followup that counts, -1 none */
    int64_t deadline_ms;        /* -1 unknown */
};

/* A growable array of leads; the list owns v (leads_list_free()). */
struct lead_list {
    struct lead *v;
    size_t n, cap;
};

void leads_list_free(struct lead_list *l);

/* The open leads (slm:leads) held by owner (NULL: anyone) and by members
 * of team (NULL: any team), with their students' data read. 0, or -1 on
 * a Redis error (rc->errstr) or no memory. */
int leads_list_open(struct rconn *rc, const struct config *cfg,
                    const char *team, const char *owner, struct lead_list *l);

/* A staff member's open leads, oldest assignment first, with their
 * students' data read: 1, 0 when Redis knows no such staff member (and
 * they hold none), -1 on a Redis error or no memory. */
int leads_list_staff(struct rconn *rc, const struct config *cfg,
                     const char *staff, struct lead_list *l);

/* --- pure (unit-tested) --------------------------------------------------- */

/* Is x overdue at now: no followup that counts, and its deadline past? */
int lead_overdue(const struct lead *x, int64_t now);

/* Keeps only the leads overdue at now, most overdue (earliest deadline)
 * first, ties by student id. */
void leads_list_keep_overdue(struct lead_list *l, int64_t now);

/* "2d3h", "3h12m", "45m", "30s" (negative counts as 0). */
char *leads_span(int64_t ms, char *buf, size_t n);

#endif
