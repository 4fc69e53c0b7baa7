/*
 * digest_int.h - what the digest's two files share: digest.c (the
 * firing, the count) hands each supervisor's send to digest_send.c.
 */
#ifndef NUDGE_RULES_DIGEST_INT_H
#define NUDGE_RULES_DIGEST_INT_H

#include <jansson.h>
#include <stddef.h>

#include "rules/run.h"

/* The send job of one supervisor's digest (payload o: digest_send, staff,
 * new, in_time, overdue, slow). May return JOB_HELD. */
enum job_result digest_send_job(const struct run_env *env,
                                const struct queue_job *job,
                                struct rconn *rc, const json_t *o, char *err,
                                size_t n);

#endif
