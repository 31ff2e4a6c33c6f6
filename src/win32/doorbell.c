/* The queue's doorbell for mproc_wait: an unnamed manual-reset event,
 * duplicated into every process that holds the queue. */
#include <windows.h>

#include "core/internal.h"

int mproc__os_doorbell_new(intptr_t *handle) {
  HANDLE h = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (!h)
    return mproc__os_fail("CreateEventW");
  *handle = (intptr_t)h;
  return 0;
}

void mproc__os_doorbell_ring(intptr_t handle) { SetEvent((HANDLE)handle); }

void mproc__os_doorbell_clear(intptr_t handle) { ResetEvent((HANDLE)handle); }
