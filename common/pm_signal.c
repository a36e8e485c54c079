/*  pm_signal: stop flag set from signal handlers. */
#include "pm_signal.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t s_stopping = 0;

static void s_on_signal(int sig)
{
    (void)sig;
    if (s_stopping)
        _exit(130);
    s_stopping = 1;
}

void pm_signal_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

bool pm_signal_stopping(void)
{
    return s_stopping != 0;
}
