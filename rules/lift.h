/*
 * lift.h - the arithmetic of the report (`nudgectl report`, the
 * supervisors' page, rules/report_read.h): an arm's rate, and the
 * lift of one arm over another (the holdout) with its 95% confidence
 * interval by Newcombe's hybrid score method ("method 10" of Newcombe,
 * Statistics in Medicine 17, 1998): the Wilson score interval of each
 * rate, combined by the square-and-add rule. It stays inside [-1, 1],
 * behaves near rates of 0 and 1 and for small groups, where the Wald
 * interval (p1 - p2 +/- 1.96 * sqrt(...)) is too narrow or breaks.
 *
 * Pure functions, for the unit tests and for docs/insight.md's worked
 * example; the tests recompute them in Python's standard library.
 */
#ifndef NUDGE_RULES_LIFT_H
#define NUDGE_RULES_LIFT_H

/* z for a two-sided 95% interval (the normal quantile 0.975). */
#define LIFT_Z95 1.959963984540054

/* The Wilson score interval of x successes in n at z: *lo, *hi in [0,1].
 * n = 0: [0, 1]. */
void lift_wilson(long x, long n, double z, double *lo, double *hi);

struct lift {
    double p1, p2;    /* the rates: arm, and the one it is compared with */
    double diff;      /* p1 - p2 (a share: 0.05 is 5 points) */
    double lo, hi;    /* the 95% interval of diff */
    double relative;  /* diff / p2; only when has_relative */
    int has_relative; /* p2 > 0 */
};

/* The lift of x1 of n1 over x2 of n2 (both n > 0), at z. */
void lift_newcombe(long x1, long n1, long x2, long n2, double z,
                   struct lift *out);

#endif
