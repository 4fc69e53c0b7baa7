/*
 * lift.c - rates, Wilson intervals and Newcombe's interval of a
 * difference (see lift.h).
 */
#include "rules/lift.h"

#include <math.h>

void lift_wilson(long x, long n, double z, double *lo, double *hi)
{
    double p, z2, denom, centre, half;

    if (n <= 0) {
        *lo = 0;
        *hi = 1;
        return;
    }
    p = (double)x / (double)n;
    z2 = z * z;
    denom = 2 * ((double)n + z2);
    centre = 2 * (double)n * p + z2;
    half = z * sqrt(z2 + 4 * (double)n * p * (1 - p));
    *lo = (centre - half) / denom;
    *hi = (centre + half) / denom;
    /* rounding must not push the ends past the rate itself */
    if (*lo < 0 || x == 0)
        *lo = 0;
    if (*hi > 1 || x == n)
        *hi = 1;
}

void lift_newcombe(long x1, long n1, long x2, long n2, double z,
                   struct lift *out)
{
    double l1, u1, l2, u2;

    out->p1 = n1 > 0 ? (double)x1 / (double)n1 : 0;
    out->p2 = n2 > 0 ? (double)x2 / (double)n2 : 0;
    out->diff = out->p1 - out->p2;
    lift_wilson(x1, n1, z, &l1, &u1);
    lift_wilson(x2, n2, z, &l2, &u2);
    out->lo = out->diff - sqrt((out->p1 - l1) * (out->p1 - l1) +
                               (u2 - out->p2) * (u2 - out->p2));
    out->hi = out->diff + sqrt((u1 - out->p1) * (u1 - out->p1) +
                               (out->p2 - l2) * (out->p2 - l2));
    out->has_relative = out->p2 > 0;
    out->relative = out->has_relative ? out->diff / out->p2 : 0;
}
