/* tests/support/bstats.h — statistics of repeated measurements for the benchmarks
 * (prefix bstats_). */
#ifndef RD_TESTS_BSTATS_H
#define RD_TESTS_BSTATS_H

/* The median of v[0..n-1], n >= 1; sorts v in place (ascending). */
double bstats_median(double *v, int n);

#endif
