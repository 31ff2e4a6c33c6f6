/* Launching a spawned or forkserver child (see launch.h). */
#include <stdio.h>
#include <stdlib.h>

#include "core/log_internal.h"
#include "process/bootstrap.h"
#include "process/launch.h"
#include "process/start_method.h"

/* Sends the bootstrap message and confirms the child exists. On failure
 * other than MPROC__ESERVER_GONE the child is ended and freed. */
static int send_boot(const mproc__launch_t *l, mproc__boot_t *boot,
                     mproc__child_handle_t *inherited, intptr_t child_link,
                     mproc__stream_t *channel, mproc__os_child_t **child) {
  boot->name = (char *)l->name;
  boot->identity = (char *)l->identity;
  boot->parent_pid = mproc__os_getpid();
  boot->daemon = l->daemon;
  boot->log_level = (int)mproc_log_get_level();
  boot->parent_link = child_link;
  boot->pdeathsig_ok = l->pdeathsig_ok;
  boot->handles = inherited;
  boot->nhandles = l->nhandles;
  boot->args = (unsigned char *)l->args;
  boot->args_len = l->args_len;
  int rc = mproc__boot_send(channel, boot);
  int started = mproc__os_child_started(*child);
  if (started == MPROC__ESERVER_GONE)
    return started;
  if (!rc)
    rc = started;
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
  return rc;
}

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
  /* A forkserver that died as the request went out is noticed when the
   * child's pid does not come back: the child is started once more, by a
   * new server. */
  for (int attempt = 0; attempt < 2 && !rc; attempt++) {
    rc = spawner(child, &o, channel, child_link);
    if (rc)
      break;
    rc = send_boot(l, &boot, inherited, *child_link, channel, child);
    if (rc != MPROC__ESERVER_GONE)
      break;
    mproc__child_handles_clear(inherited, l->nhandles);
    mproc__os_child_free(*child);
    *child = NULL;
    mproc__os_stream_close(channel);
    if (attempt == 0)
      rc = 0;
  }
  if (rc == MPROC__ESERVER_GONE)
    rc = mproc__fail(MPROC_ECHILD, "start: the forkserver went away twice");
  free(exe);
  if (inherited)
    mproc__child_handles_clear(inherited, l->nhandles);
  free(inherited);
  free(boot.target.module);
  return rc;
}
