/*  pm_signal: SIGINT/SIGTERM set a flag and nothing else.
 *
 *  Loops check pm_signal_stopping() and treat an interrupted receive as a
 *  shutdown request. A second SIGINT or SIGTERM exits at once (status 130).
 *  SIGPIPE is ignored: a peer that hangs up is an error return, not a death.
 *  Call after CZMQ is initialised (pm_sock_init), which would otherwise install
 *  handlers of its own. */
#ifndef PM_SIGNAL_H
#define PM_SIGNAL_H
#include <stdbool.h>

void pm_signal_install(void);
bool pm_signal_stopping(void);

#endif
