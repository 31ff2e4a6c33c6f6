/* The global start method and the executable spawn runs. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/spinlock.h"
#include "process/start_method.h"

/* MPROC_START_DEFAULT while nobody called mproc_set_start_method. */
static atomic_int chosen_method = MPROC_START_DEFAULT;

static char *executable;

/* The one table of names, indexed by mproc_start_method_t. */
static const char *const method_names[] = {"default", "spawn", "fork", "forkserver"};
enum { NMETHODS = sizeof method_names / sizeof method_names[0] };

const char *mproc_start_method_name(mproc_start_method_t m) {
  return (unsigned)m < NMETHODS ? method_names[m] : NULL;
}

int mproc__start_method_from_env(mproc_start_method_t *out) {
  const char *v = getenv("MPROC_START_METHOD");
  *out = MPROC_START_SPAWN;
  if (!v || !*v)
    return 0;
  for (unsigned m = MPROC_START_SPAWN; m < NMETHODS; m++)
    if (strcmp(v, method_names[m]) == 0) {
      *out = (mproc_start_method_t)m;
      return 0;
    }
  return mproc__fail(MPROC_EINVAL, "MPROC_START_METHOD=%s: expected spawn, fork or forkserver", v);
}

int mproc__start_method_check(mproc_start_method_t m) {
  switch (m) {
  case MPROC_START_SPAWN:
    return 0;
  case MPROC_START_FORK:
    if (!mproc__os_fork_supported())
      return mproc__fail(MPROC_ENOTSUP, "start method fork: not available on this platform");
    return 0;
  case MPROC_START_FORKSERVER:
    if (!mproc__os_forkserver_supported())
      return mproc__fail(MPROC_ENOTSUP, "start method forkserver: not available on this platform");
    return 0;
  default:
    return mproc__fail(MPROC_EINVAL, "start method %d: not a start method", (int)m);
  }
}

int mproc__start_method_current(mproc_start_method_t *out) {
  int m = atomic_load(&chosen_method);
  if (m != MPROC_START_DEFAULT) {
    *out = (mproc_start_method_t)m;
    return 0;
  }
  return mproc__start_method_from_env(out);
}

int mproc_set_start_method(mproc_start_method_t m) {
  if (m != MPROC_START_DEFAULT) {
    int rc = mproc__start_method_check(m);
    if (rc)
      return rc;
  }
  atomic_store(&chosen_method, (int)m);
  return 0;
}

mproc_start_method_t mproc_get_start_method(void) {
  mproc_start_method_t m = MPROC_START_SPAWN;
  return mproc__start_method_current(&m) == 0 ? m : MPROC_START_SPAWN;
}

int mproc_set_executable(const char *path) {
  char *copy = path ? mproc__strdup(path) : NULL;
  if (path && !copy)
    return mproc__fail(MPROC_ENOMEM, "set_executable: out of memory");
  mproc__spin_lock(&mproc__executable_lock);
  char *old = executable;
  executable = copy;
  mproc__spin_unlock(&mproc__executable_lock);
  free(old);
  return 0;
}

char *mproc__executable_copy(bool *failed) {
  *failed = false;
  mproc__spin_lock(&mproc__executable_lock);
  char *copy = executable ? mproc__strdup(executable) : NULL;
  *failed = executable && !copy;
  mproc__spin_unlock(&mproc__executable_lock);
  return copy;
}
