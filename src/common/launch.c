/* Launching a spawned or forkserver child (see launch.h). */
#include <stdio.h>
#include <stdlib.h>

#include "bootstrap.h"
#include "launch.h"
#include "log.h"
#include "start_method.h"

int mproc__launch(const mproc__launch_t *l, mproc__spawner_fn spawner, mproc__os_child_t **child,
                  mproc__stream_t *channel, intptr_t *child_link) {
  *child = NULL;
  channel->rd = channel->wr = MPROC__STREAM_NONE;
  mproc__boot_t boot = {0};
  mproc__child_handle_t *inherited = NULL;
  bool failed;
  char *exe = mproc__executable_copy(&failed);
  if (failed)
    return mproc__fail(MPROC_ENOMEM, "start: out of memory");
  int rc = mproc__os_fnref_make((mproc__fn_t)l->target, &boot.target);
  if (!rc && l->nhandles && !(inherited = calloc(l->nhandles, sizeof *inherited)))
    rc = mproc__fail(MPROC_ENOMEM, "start: out of memory");
  mproc__spawn_opts_t o = {exe, MPROC__CHILD_MARKER, l->daemon, l->handles, l->nhandles, inherited};
  if (!rc)
    rc = spawner(child, &o, channel, child_link);
  free(exe);
  if (!rc) {
    boot.name = (char *)l->name;
    boot.identity = (char *)l->identity;
    boot.parent_pid = mproc__os_getpid();
    boot.daemon = l->daemon;
    boot.log_level = (int)mproc_log_get_level();
    boot.parent_link = *child_link;
    boot.pdeathsig_ok = l->pdeathsig_ok;
    boot.handles = inherited;
    boot.nhandles = l->nhandles;
    boot.args = (unsigned char *)l->args;
    boot.args_len = l->args_len;
    rc = mproc__boot_send(channel, &boot);
    if (rc) {
      /* The child waits for a message that will not come: end it now. */
      char why[512];
      snprintf(why, sizeof why, "%s", mproc_last_error_detail());
      int code;
      mproc__os_child_stop(*child, true);
      mproc__os_child_wait(*child, MPROC_INFINITE, &code);
      mproc__os_child_free(*child);
      *child = NULL;
      mproc__os_stream_close(channel);
      rc = mproc__fail(MPROC_ECHILD, "start: the child could not be sent what to run: %s", why);
    }
  }
  if (inherited)
    mproc__child_handles_clear(inherited, l->nhandles);
  free(inherited);
  free(boot.target.module);
  return rc;
}
