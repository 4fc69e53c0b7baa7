/*
 * ast.h - a parsed .rules file: the stages line and the rules, each with
 * its trigger, its `when` condition, its `limit`, its `holdout` and its
 * steps, every part with its place in the file for messages. The parser
 * (parser.h) makes it, the checker (checker.h) reads it, compile.h turns
 * it into the form the engine evaluates.
 *
 * Ownership: a struct rule_file owns everything in it; rule_file_free()
 * frees it all.
 */
#ifndef NUDGE_RULES_AST_H
#define NUDGE_RULES_AST_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "rules/lexer.h"

/* Limits, so that no input exhausts the stack or the engine. */
#define RULE_MAX_DEPTH 64   /* nesting of conditions */
#define RULE_MAX_COND 512   /* parts (and, or, not, tests) of one condition */
#define RULE_MAX_STEPS 256  /* steps in one rule */
#define RULE_MAX_LIST 256   /* values in one `in (...)` list */
#define RULE_MAX_STAGES 256 /* names on the stages line */

enum cond_kind {
    COND_AND,
    COND_OR,
    COND_NOT,
    COND_STAGE,       /* stage == S, != S, in (...) */
    COND_TAG,         /* tag "t" */
    COND_TAG_MATCH,   /* tag matches /re/ */
    COND_ATTR,        /* name OP value, name in (...), name matches /re/ */
    COND_PRESENT,     /* name: the attribute is there and not empty */
    COND_FOLLOWED_UP, /* a followup event since the run began */
    COND_IN_STAGE,    /* time_in_stage OP DURATION */
    COND_SINCE_TOUCH, /* time_since_touch OP DURATION */
};

enum cmp_op {
    CMP_EQ,
    CMP_NE,
    CMP_LT,
    CMP_LE,
    CMP_GT,
    CMP_GE,
    CMP_IN,
    CMP_MATCH
};

/* A literal: a number, a string or a bare word. */
struct value {
    char *text;
    double num;
    int is_num; /* written as a number */
    struct loc at;
};

struct cond {
    enum cond_kind kind;
    enum cmp_op op;
    struct loc at;
    struct cond *a, *b; /* and, or: both; not: a */
    char *name;         /* attribute name, or the tag of COND_TAG */
    struct value *vals; /* operands: one, or the list of `in` */
    size_t nvals;
    char *re; /* COND_TAG_MATCH, CMP_MATCH */
    char re_flags[8];
    struct loc re_at; /* the opening slash */
    int64_t ms;       /* COND_IN_STAGE, COND_SINCE_TOUCH */
};

enum step_kind {
    STEP_WAIT,
    STEP_SEND, /* send CHANNEL TEMPLATE */
    STEP_STOP, /* stop, stop if C, stop unless C */
    STEP_TAG_ADD,
    STEP_TAG_REMOVE,
    STEP_ASSIGN,   /* assign team T */
    STEP_NOTIFY,   /* notify owner via CHANNEL TEMPLATE */
    STEP_ESCALATE, /* escalate level N via CHANNEL TEMPLATE */
};

/* One weighted template of `send CHANNEL variant A 50%, B 50%`
 * (rules/variant.h). */
struct variant {
    char *tmpl;
    int weight; /* hundredths of a percent: 5000 is 50% */
    struct loc at;
};

struct step {
    enum step_kind kind;
    struct loc at;
    int64_t ms;    /* wait; `working`: the hours part, of working time */
    int working;   /* wait ... working: counts the school's working time */
    long work_days; /* wait Nd working: N working days */
    char *channel; /* send, notify, escalate */
    struct loc chan_at;
    char *tmpl;
    struct loc tmpl_at;
    char *arg;  /* the tag, or the team */
    int by_load; /* assign team T by load */
    long level; /* escalate */
    struct loc level_at;
    struct cond *cond; /* stop if/unless; NULL: unconditional */
    int unless;
    /* send ... variant: the templates and their weights; tmpl is then the
     * first one's name (a copy), for what reads a step's template only
     * to show it. nvariants 0: a plain send. */
    struct variant *variants;
    size_t nvariants;
};

enum trig_kind { TRIG_NONE, TRIG_EVENT, TRIG_EVERY, TRIG_AT };

struct trigger {
    enum trig_kind kind;
    struct loc at;
    enum event_kind ev; /* TRIG_EVENT */
    char *arg;          /* the stage, the tag or the custom event name */
    struct loc arg_at;
    int wday;            /* TRIG_EVERY: 0 sunday .. 6 saturday, -1 every day */
    int hour, minute;    /* TRIG_EVERY, TRIG_AT */
    int year, mon, mday; /* TRIG_AT */
    struct loc when_at;  /* the time (and date) */
};

struct rule {
    char *name;
    const char *file; /* the rule_file's path */
    struct loc at;
    struct trigger trig;
    struct cond *when; /* NULL: always */
    long limit_n;      /* 0: no limit */
    int64_t limit_ms;
    struct loc limit_at;
    int holdout; /* share kept out, in hundredths of a percent (1000 is
                    10%; rules/holdout.h); 0: none */
    struct loc holdout_at;
    struct step *steps;
    size_t nsteps;
    int broken; /* had syntax errors: the checker skips its shape checks */
};

struct stage_name {
    char *name;
    struct loc at;
};

struct rule_file {
    char *path;
    struct stage_name *stages; /* the stages line, or none */
    size_t nstages;
    struct loc stages_at;
    struct rule *rules;
    size_t nrules;
};

void cond_free(struct cond *c);
/* Frees what a step owns (not the step itself). */
void step_clear(struct step *s);
void rule_file_free(struct rule_file *f);

/* Writes c back as rule text ("score >= 600 and tag \"x\"") into buf of
 * size n, cut short if it does not fit. Returns buf. */
char *cond_format(const struct cond *c, char *buf, size_t n);

/* Names of enum values, for messages and the simulate output. */
const char *cmp_op_name(enum cmp_op op);
const char *step_kind_name(enum step_kind k);

#endif
