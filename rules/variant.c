/*
 * variant.c - which of a send's weighted templates a student gets (see
 * variant.h).
 */
#include "rules/variant.h"

#include <stdio.h>
#include <string.h>

#include "core/hash.h"

size_t variant_pick(const char *rule, size_t step, const char *student,
                    const struct variant *v, size_t n)
{
    char num[24];
    uint64_t h, at;
    long upto = 0;

    /* The NULs keep "ab"+"1" and "a"+"b1" apart; the step's number keeps
     * two variant sends of one rule independent. */
    snprintf(num, sizeof num, "%zu", step + 1);
    h = fnv1a64_more(FNV1A64_INIT, rule, strlen(rule) + 1);
    h = fnv1a64_more(h, num, strlen(num) + 1);
    h = fnv1a64_more(h, student, strlen(student));
    at = h % VARIANT_SCALE;
    for (size_t i = 0; i < n; i++) {
        upto += v[i].weight;
        if (at < (uint64_t)upto)
            return i;
    }
    return n - 1; /* weights short of 100%: the checker refuses those */
}

const char *variant_template(const struct step *s, const char *rule,
                             size_t step, const char *student)
{
    if (!s->nvariants)
        return s->tmpl;
    return s
        ->variants[variant_pick(rule, step, student, s->variants, s->nvariants)]
        .tmpl;
}

const struct step *variant_step(const struct step *s, const char *rule,
                                size_t step, const char *student,
                                struct step *buf)
{
    if (!s->nvariants)
        return s;
    *buf = *s;
    buf->tmpl = (char *)variant_template(s, rule, step, student);
    return buf;
}
