/* The forkserver: started once, with spawn, while this process is still
 * clean; it forks each child on request, so a child costs a fork, not an
 * exec, and still sees spawn's semantics (the server never ran user code).
 * Safe in threaded programs: only the single-threaded server forks.
 *
 * The server is a spawned child like any other (launch.c) whose target is
 * the server loop; its control channel reaches it as a connection in its
 * arguments. A server that died (killed by someone) is noticed - before a
 * request, or when a request fails - and replaced, so starts go on. */
#include <stdlib.h>

#include "args/args_objects.h"
#include "connection/connection_internal.h"
#include "core/log_internal.h"
#include "core/spinlock.h"
#include "process/bootstrap.h"
#include "process/child_entry.h"
#include "process/forkserver.h"
#include "process/launch.h"

static mproc__spinlock_t setup_lock = MPROC__SPINLOCK_INIT;
static mproc__os_mutex_t *lock; /* serialises requests and (re)starts */
static mproc__os_child_t *server;
static mproc__stream_t server_channel = {MPROC__STREAM_NONE, MPROC__STREAM_NONE};
static intptr_t ctl = -1;

/* The server process's target: args[0] is its control channel. */
static int serve(const mproc_args_t *args) {
  mproc_conn_t *c;
  intptr_t h;
  if (mproc_args_get_conn(args, 0, &c) != 0 || mproc__conn_dup_handle(c, &h) != 0)
    return 1;
  return mproc__os_forkserver_serve(h, mproc__child_entry_run) ? 1 : 0;
}

static void drop_server(void) {
  if (server) {
    int code;
    /* Ends with our end of the channel; kill first in case it hangs. */
    mproc__os_close_handle(ctl);
    mproc__os_child_stop(server, true);
    mproc__os_child_wait(server, MPROC_INFINITE, &code);
    mproc__os_child_free(server);
  } else {
    mproc__os_close_handle(ctl);
  }
  mproc__os_stream_close(&server_channel);
  server = NULL;
  ctl = -1;
}

/* Waits for the server's report that its loop runs (once per server). */
static int await_ready(void) {
  unsigned char head[5] = {0};
  size_t got = 0;
  int rc = mproc__os_stream_read(&server_channel, head, 1, &got);
  if (rc == 0 && got == 1 && head[0] == 'R') {
    mproc__os_stream_close(&server_channel);
    return 0;
  }
  char msg[256] = "";
  if (rc == 0 && got == 1 && head[0] == 'E' &&
      mproc__os_stream_read(&server_channel, head + 1, 4, &got) == 0 && got == 4) {
    uint32_t n = mproc__get_u32(head + 1);
    n = n < sizeof msg - 1 ? n : (uint32_t)sizeof msg - 1;
    if (mproc__os_stream_read(&server_channel, msg, n, &got) == 0)
      msg[got] = '\0';
  }
  return mproc__fail(MPROC_ECHILD, "the server could not start: %s",
                     msg[0] ? msg : "it ended before saying why");
}

static int start_server(void) {
  intptr_t theirs;
  int rc = mproc__os_control_pair(&ctl, &theirs);
  if (rc)
    return rc;
  mproc_conn_t *c = NULL;
  mproc_args_t *args = NULL;
  void *enc = NULL;
  size_t len = 0;
  mproc__handle_table_t table = {0};
  rc = mproc__conn_from_handle(&c, theirs, MPROC__CONN_READABLE | MPROC__CONN_WRITABLE);
  if (!rc)
    rc = mproc_args_new(&args);
  if (!rc)
    rc = mproc_args_add_conn(args, c);
  if (!rc)
    rc = mproc__args_encode_objects(args, &enc, &len, &table);
  mproc_conn_free(c); /* the table has the server's copy */
  mproc_args_free(args);
  intptr_t link;
  if (!rc) {
    mproc__launch_t l = {serve, "ForkServer", "-", false, false, enc, len, table.h, table.n};
    rc = mproc__launch(&l, mproc__os_spawn, &server, &server_channel, &link);
  }
  mproc_free(enc);
  mproc__handle_table_free(&table);
  if (!rc)
    rc = await_ready();
  if (rc) {
    mproc__error_prefix("forkserver: starting the server");
    drop_server();
    return rc;
  }
  mproc__log(MPROC_LOG_DEBUG, "forkserver started, pid %lld",
             (long long)mproc__os_child_pid(server));
  return 0;
}

static bool server_alive(void) {
  int code;
  return server && mproc__os_child_wait(server, 0, &code) == MPROC_ETIMEDOUT;
}

int mproc__forkserver_spawn(mproc__os_child_t **out, const mproc__spawn_opts_t *o,
                            mproc__stream_t *parent_end, intptr_t *child_link) {
  mproc__spin_lock(&setup_lock);
  int rc = lock ? 0 : mproc__os_mutex_new(&lock);
  mproc__spin_unlock(&setup_lock);
  if (rc)
    return rc;
  mproc__os_mutex_lock(lock);
  for (int attempt = 0; attempt < 2; attempt++) {
    if (server && !server_alive()) {
      mproc__log(MPROC_LOG_WARNING, "forkserver died; starting a new one");
      drop_server();
    }
    if (!server && (rc = start_server()) != 0)
      break;
    rc = mproc__os_forkserver_fork(ctl, out, o, parent_end, child_link);
    /* A server killed a moment ago may look alive until it is reaped; a
     * request it could not take is sent once more to a new one. */
    if (rc != MPROC__ESERVER_GONE)
      break;
    mproc__log(MPROC_LOG_WARNING, "forkserver did not answer; starting a new one");
    drop_server();
  }
  if (rc == MPROC__ESERVER_GONE)
    rc = mproc__fail_prefix(MPROC_ECHILD, "forkserver");
  mproc__os_mutex_unlock(lock);
  return rc;
}

void mproc__forkserver_after_fork(void) {
  /* The server and its channel are the parent's; drop this copy of them
   * without touching the server. */
  mproc__os_close_handle(ctl);
  ctl = -1;
  mproc__os_stream_close(&server_channel);
  server = NULL; /* the parent's memory, copied */
  lock = NULL;
  atomic_flag_clear(&setup_lock);
}
