/*  pm_time: wall-clock milliseconds, monotonic milli- and microseconds. */
#ifndef PM_TIME_H
#define PM_TIME_H
#include <stdint.h>
#include <time.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). Used for deadlines that
 * cross processes and for timestamps stored with records. */
static inline int64_t pm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Microseconds on the monotonic clock; for measuring short spans. */
static inline int64_t pm_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Milliseconds on the monotonic clock; for timeouts inside one process. */
static inline int64_t pm_mono_ms(void)
{
    return pm_mono_us() / 1000;
}
#endif
