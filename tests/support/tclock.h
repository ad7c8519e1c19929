/* tests/support/tclock.h — monotonic time and sleeping for the tests (prefix tclock_). */
#ifndef RD_TESTS_TCLOCK_H
#define RD_TESTS_TCLOCK_H

/* Seconds on CLOCK_MONOTONIC. */
double tclock_now_s(void);

/* Sleeps s seconds (resumed after signals); s <= 0: returns at once. */
void tclock_sleep_s(double s);

#endif
