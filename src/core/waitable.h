/* What mproc_wait asks of an object it waits for (core/wait.c): each kind
 * of waitable object supplies a class in its own file, so the generic wait
 * names no kind - nng's pollable, for mproc. A mproc_waitable_t holds its
 * class, the object and a raw handle (a sentinel's). */
#ifndef MPROC_CORE_WAITABLE_H
#define MPROC_CORE_WAITABLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mproc/wait.h"

typedef struct mproc__wait_class {
  const char *name; /* "queue": for the detail of a bad object */
  /* 0, or MPROC_EINVAL with a detail naming object i, before any wait. */
  int (*check)(const mproc_waitable_t *w, size_t i);
  /* Makes w ready to be waited for in one round: *handle to block on (-1:
   * none; the round then polls), *ready_now when it is ready already. */
  int (*arm)(const mproc_waitable_t *w, intptr_t *handle, bool *ready_now);
  /* Undoes arm (NULL: nothing to undo). */
  void (*disarm)(const mproc_waitable_t *w);
  /* Whether w is ready, fired saying whether its handle fired (or arm
   * found it ready): a doorbell may be stale or rung for another. */
  bool (*ready)(const mproc_waitable_t *w, bool fired);
} mproc__wait_class_t;

/* A waitable of class cls for object (and handle, for a raw sentinel).
 * The class is remembered, so that mproc_wait can refuse a waitable the
 * library did not make without following its pointer. */
mproc_waitable_t mproc__waitable(const mproc__wait_class_t *cls, void *object, intptr_t handle);

/* The doorbell-and-watchers protocol of an object that rings a doorbell
 * for its watchers (a queue, a pool's results): counts the caller as a
 * watcher (disarm: mproc__bell_disarm), gives the doorbell, and asks the
 * object whether it is ready - clearing a stale ring first, and ringing
 * again for the other watchers if it became ready meanwhile. */
int mproc__bell_arm(intptr_t bell, _Atomic uint32_t *watchers, bool (*ready)(void *), void *obj,
                    intptr_t *handle, bool *ready_now);
void mproc__bell_disarm(_Atomic uint32_t *watchers);

#endif
