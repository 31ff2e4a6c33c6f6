/* The forkserver: started once, with spawn, while this process is still
 * clean; it forks each child on request, so a child costs a fork, not an
 * exec, and still sees spawn's semantics (the server never ran user code).
 * Safe in threaded programs: only the single-threaded server forks. */
#include <stdlib.h>

#include "bootstrap.h"
#include "children.h"
#include "current.h"
#include "forkserver.h"
#include "log.h"
#include "spinlock.h"

static mproc__spinlock_t setup_lock = MPROC__SPINLOCK_INIT;
static mproc__os_mutex_t *lock; /* serialises requests and (re)starts */
static mproc_process_t *server;
static intptr_t ctl = -1;

/* The server process's target: its control channel is handle 0. */
static int serve(const mproc_args_t *args) {
  (void)args;
  return mproc__os_forkserver_serve(mproc__current_handle(0), mproc__child_entry_run) ? 1 : 0;
}

static int start_server(void) {
  intptr_t theirs;
  int rc = mproc__os_control_pair(&ctl, &theirs);
  if (rc)
    return rc;
  rc = mproc__process_new_internal(&server, serve, "ForkServer", &theirs, 1);
  if (!rc)
    rc = mproc_process_start(server); /* closes theirs once the server has it */
  else
    mproc__os_close_handle(theirs);
  if (rc) {
    mproc__error_prefix("forkserver: starting the server");
    mproc_process_free(server);
    server = NULL;
    mproc__os_close_handle(ctl);
    ctl = -1;
    return rc;
  }
  mproc__log(MPROC_LOG_DEBUG, "forkserver started, pid %lld", (long long)mproc_process_pid(server));
  return 0;
}

int mproc__forkserver_spawn(mproc__os_child_t **out, const mproc__spawn_opts_t *o,
                            mproc__stream_t *parent_end, intptr_t *child_link) {
  mproc__spin_lock(&setup_lock);
  int rc = lock ? 0 : mproc__os_mutex_new(&lock);
  mproc__spin_unlock(&setup_lock);
  if (rc)
    return rc;
  mproc__os_mutex_lock(lock);
  if (server && mproc_process_is_alive(server) != 1) {
    /* It died (killed by someone): start a new one. */
    mproc__log(MPROC_LOG_WARNING, "forkserver died; starting a new one");
    mproc_process_free(server);
    server = NULL;
    mproc__os_close_handle(ctl);
    ctl = -1;
  }
  if (!server)
    rc = start_server();
  if (!rc)
    rc = mproc__os_forkserver_fork(ctl, out, o, parent_end, child_link);
  mproc__os_mutex_unlock(lock);
  return rc;
}

void mproc__forkserver_after_fork(void) {
  /* The server and its channel are the parent's; drop this copy of them.
   * The process object itself belongs to the parent's memory. */
  mproc__os_close_handle(ctl);
  ctl = -1;
  server = NULL;
  lock = NULL;
}
