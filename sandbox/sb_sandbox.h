/*  sb_sandbox: the state every handler of the sandbox shares.
 *
 *  Held in memory only and bounded; one mutex guards all of it, because the
 *  sandbox is a test tool where simplicity beats throughput. */
#ifndef SB_SANDBOX_H
#define SB_SANDBOX_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sb_fault.h"
#include "sb_random.h"

typedef struct sb_bazaar_t sb_bazaar_t;
typedef struct sb_bp_t sb_bp_t;
typedef struct sb_bank_t sb_bank_t;

typedef struct {
    pthread_mutex_t mu; /* guards everything below */
    sb_bazaar_t *bazaar;
    sb_bp_t *bazaarpay;
    sb_bank_t *bank; /* both bank gateways (bank.c) */
    sb_faults_t *faults;
    sb_random_t *random; /* taken for the calls no rule matched */
    sb_calls_t *calls;
    atomic_bool stopping; /* set on shutdown: injected sleeps end early */
} sb_sandbox_t;

void sb_lock(sb_sandbox_t *sb);
void sb_unlock(sb_sandbox_t *sb);

/* Wall clock and monotonic clock, in ms. */
int64_t sb_now_ms(void);
int64_t sb_mono_ms(void);

/* Sleeps ms, in short steps, ending early when the sandbox is stopping. */
void sb_sleep_ms(sb_sandbox_t *sb, int ms);

#endif
