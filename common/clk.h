/* common/clk.h — the two clocks (prefix clk_): monotonic time for durations, deadlines and
 * rates (never jumps when the system clock is set), and wall-clock time for timestamps a
 * person or another program reads (metrics.jsonl, progress.json, TensorBoard). */
#ifndef RD_COMMON_CLK_H
#define RD_COMMON_CLK_H

#include <stdint.h>

/* Monotonic seconds (CLOCK_MONOTONIC) since an arbitrary origin. */
double clk_mono(void);

/* Monotonic milliseconds (CLOCK_MONOTONIC) since an arbitrary origin. */
uint64_t clk_mono_ms(void);

/* Unix time in seconds with the clock's sub-second part (CLOCK_REALTIME). */
double clk_wall(void);

#endif
