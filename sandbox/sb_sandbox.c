/*  sb_sandbox: the lock and the clocks. */
#include "sb_sandbox.h"

#include <assert.h>
#include <stdlib.h>
#include <time.h>

void sb_lock(sb_sandbox_t *sb)
{
    if (pthread_mutex_lock(&sb->mu) != 0)
        abort();
}

void sb_unlock(sb_sandbox_t *sb)
{
    if (pthread_mutex_unlock(&sb->mu) != 0)
        abort();
}

int64_t sb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sb_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sb_sleep_ms(sb_sandbox_t *sb, int ms)
{
    assert(sb && ms >= 0);
    int64_t end = sb_mono_ms() + ms;
    for (;;) {
        int64_t left = end - sb_mono_ms();
        if (left <= 0 || atomic_load(&sb->stopping))
            return;
        if (left > 50)
            left = 50;
        struct timespec ts = {0, (long)left * 1000000};
        nanosleep(&ts, NULL);
    }
}
