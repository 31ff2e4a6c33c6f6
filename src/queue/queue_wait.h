/* A queue inside mproc_wait (queue.c): arm counts the caller as a watcher,
 * so producers ring the queue's doorbell, and gives the doorbell to wait on
 * (-1: none, poll); ready_now when a get would not wait already. */
#ifndef MPROC_COMMON_QUEUE_WAIT_H
#define MPROC_COMMON_QUEUE_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "mproc/queue.h"

int mproc__queue_arm(mproc_queue_t *q, intptr_t *waitable, bool *ready_now);
void mproc__queue_disarm(mproc_queue_t *q);
/* Whether a get would not wait for a message to begin. */
bool mproc__queue_ready(mproc_queue_t *q);

#endif
