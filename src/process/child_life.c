/* A child's life after its start method's preamble (see child_life.h):
 *   1. decode its arguments; its objects take over its handles - a failure
 *      here is reported to the parent (spawned children), and the child
 *      exits with MPROC__CHILD_FAILED before any user code runs;
 *   2. become the child: name, identity, parent, daemon flag, log level,
 *      the handle table it inherited;
 *   3. watch the parent (a daemon dies with it);
 *   4. report that the target runs, close the report channel;
 *   5. run the target; its return value, modulo 256, is the exit code;
 *   6. wind up its own children (terminate daemons, join the rest), flush
 *      the standard streams, end the process the start method's way.
 * The same steps in the same order under spawn, fork and forkserver. */

#include "process/child_life.h"
#include "args/args_objects.h"
#include "core/current.h"
#include "core/log_internal.h"
#include "process/bootstrap.h"
#include "process/children.h"

static void fail(mproc__child_life_t *life, const char *why) {
  if (life->report) {
    mproc__report_error(life->report, why);
    mproc__os_stream_close(life->report);
  } else {
    /* A forked child has no channel: its log is all the parent gets. */
    mproc__log(MPROC_LOG_ERROR, "%s", why);
  }
  mproc__os_flush_std_streams();
  life->end(MPROC__CHILD_FAILED);
}

void mproc__child_live(mproc__child_life_t *life) {
  mproc_args_t *args;
  if (mproc__args_decode_objects(&args, life->args, life->args_len, life->handles, life->nhandles,
                                 true) != 0) {
    fail(life, mproc_last_error_detail());
    return;
  }
  mproc__current_become_child(life->name, life->identity, life->parent_pid, life->daemon,
                              life->parent_link);
  mproc__log_inherit(life->log_level);
  if (mproc__os_parent_watch(life->parent_link, life->parent_pid, life->daemon,
                             life->pdeathsig_ok) != 0)
    mproc__log(MPROC_LOG_WARNING, "cannot watch the parent: %s", mproc_last_error_detail());
  if (life->report) {
    mproc__report_ok(life->report);
    mproc__os_stream_close(life->report);
  }
  mproc__log(MPROC_LOG_INFO, "child started");

  int code = life->target(args) & 0xff;

  mproc_args_free(args);
  mproc__children_wind_up();
  mproc__log(MPROC_LOG_INFO, "process exiting with exitcode %d", code);
  /* Only the standard streams, as Python's child: in a forked child another
   * stream's lock may have been held by a thread that does not exist here,
   * and its buffer holds the parent's output. */
  mproc__os_flush_std_streams();
  life->end(code);
}
