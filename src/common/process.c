/* Process objects: Python's multiprocessing.Process over the OS backends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "current.h"
#include "reaper.h"
#include "start_method.h"

typedef enum { CREATED, STARTED, ENDED } state_t;

struct mproc_process {
  mproc_target_fn target;
  unsigned char *args; /* encoded at creation: the copy Python's pickling makes */
  size_t args_len;
  char *name;
  char *identity;
  bool daemon;
  mproc_start_method_t method;
  int64_t creator_pid; /* the parent's pid, as a forked child must learn it */

  state_t state;
  mproc__os_child_t *child;
  mproc__stream_t channel; /* spawn: the bootstrap channel, for the child's report */
  int exitcode;
  char *child_error; /* why the child could not run its target, once ENDED */
};

int mproc_process_new(mproc_process_t **out, mproc_target_fn target, const mproc_args_t *args,
                      const mproc_process_opts_t *opts) {
  if (!out || !target)
    return mproc__fail(MPROC_EINVAL, "process_new: %s is NULL", out ? "target" : "out");
  mproc_process_opts_t defaults = {0};
  if (!opts)
    opts = &defaults;

  mproc_start_method_t method = opts->start_method;
  int rc;
  if (method == MPROC_START_DEFAULT) {
    rc = mproc__start_method_current(&method);
  } else if ((int)method < MPROC_START_SPAWN || method > MPROC_START_FORKSERVER) {
    rc = mproc__fail(MPROC_EINVAL, "process_new: start method %d is not a start method",
                     (int)method);
  } else {
    rc = 0;
  }
  if (rc)
    return rc;

  mproc_process_t *p = calloc(1, sizeof *p);
  if (!p)
    return mproc__fail(MPROC_ENOMEM, "process_new: out of memory");
  p->target = target;
  p->daemon = opts->daemon;
  p->method = method;
  p->state = CREATED;
  p->channel.rd = p->channel.wr = MPROC__STREAM_NONE;

  mproc_args_t *empty = NULL;
  if (!args) {
    rc = mproc_args_new(&empty);
    args = empty;
  }
  void *enc = NULL;
  if (!rc)
    rc = mproc_args_encode(args, &enc, &p->args_len);
  p->args = enc;
  mproc_args_free(empty);
  if (!rc) {
    p->identity = mproc__current_next_child_identity();
    if (p->identity && opts->name) {
      p->name = mproc__strdup(opts->name);
    } else if (p->identity) {
      size_t n = strlen(p->identity) + sizeof "Process-";
      p->name = malloc(n);
      if (p->name)
        snprintf(p->name, n, "Process-%s", p->identity);
    }
    if (!p->identity || !p->name)
      rc = mproc__fail(MPROC_ENOMEM, "process_new: out of memory");
  }
  if (rc) {
    mproc_process_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

/* The start of a forked child: the same steps as a spawned child's entry,
 * minus the bootstrap message, since memory is already shared. */
static int fork_child_main(void *ctx) {
  mproc_process_t *p = ctx;
  mproc__current_become_child(p->name, p->identity, p->creator_pid, p->daemon);
  mproc_args_t *args;
  if (mproc_args_decode(&args, p->args, p->args_len) != 0) {
    fprintf(stderr, "mproc: %s\n", mproc_last_error_detail());
    return MPROC__CHILD_FAILED;
  }
  int code = p->target(args);
  mproc_args_free(args);
  fflush(NULL);
  return code & 0xff;
}

static int start_spawn(mproc_process_t *p) {
  mproc__boot_t boot = {0};
  bool failed;
  char *exe = mproc__executable_copy(&failed);
  if (failed)
    return mproc__fail(MPROC_ENOMEM, "start: out of memory");
  int rc = mproc__os_fnref_make((mproc__fn_t)p->target, &boot.target);
  if (rc) {
    free(exe);
    return rc;
  }
  rc = mproc__os_spawn(&p->child, exe, &p->channel);
  free(exe);
  if (rc) {
    free(boot.target.module);
    return rc;
  }
  p->state = STARTED;
  boot.name = p->name;
  boot.identity = p->identity;
  boot.parent_pid = mproc__os_getpid();
  boot.daemon = p->daemon;
  boot.args = p->args;
  boot.args_len = p->args_len;
  rc = mproc__boot_send(&p->channel, &boot);
  free(boot.target.module);
  if (rc) {
    /* The child is gone or going; its report says why. */
    char why[512];
    snprintf(why, sizeof why, "%s", mproc_last_error_detail());
    rc = mproc_process_join(p, MPROC_INFINITE);
    if (rc == 0)
      rc = mproc__fail(MPROC_ECHILD, "start: sending the bootstrap message failed: %s", why);
  }
  return rc;
}

int mproc_process_start(mproc_process_t *p) {
  if (!p)
    return mproc__fail(MPROC_EINVAL, "process_start: process is NULL");
  if (p->state != CREATED)
    return mproc__fail(MPROC_ESTATE, "process_start: %s was already started", p->name);
  if (mproc__current_is_daemon())
    return mproc__fail(MPROC_ESTATE,
                       "process_start: daemonic processes are not allowed to have children");
  int rc = mproc__start_method_check(p->method);
  if (rc)
    return rc;
  mproc__reaper_collect();
  mproc__child_entry_anchor();
  if (p->method == MPROC_START_FORK) {
    fflush(NULL); /* or the child would print the parent's buffered output again */
    p->creator_pid = mproc__os_getpid();
    rc = mproc__os_fork(&p->child, fork_child_main, p);
    if (rc == 0)
      p->state = STARTED;
    return rc;
  }
  return start_spawn(p);
}

int mproc_process_run(mproc_process_t *p) {
  if (!p)
    return mproc__fail(MPROC_EINVAL, "process_run: process is NULL");
  mproc_args_t *args;
  int rc = mproc_args_decode(&args, p->args, p->args_len);
  if (rc)
    return rc;
  rc = p->target(args);
  mproc_args_free(args);
  return rc;
}

/* Records how the child ended, reading its report when it was spawned. */
static void finish(mproc_process_t *p, int code) {
  p->state = ENDED;
  p->exitcode = code;
  if (p->channel.rd != MPROC__STREAM_NONE) {
    if (mproc__report_read(&p->channel, code) != 0)
      p->child_error = mproc__strdup(mproc_last_error_detail());
    mproc__os_stream_close(&p->channel);
  }
}

static int ended_result(const mproc_process_t *p, const char *op) {
  if (p->child_error)
    return mproc__fail(MPROC_ECHILD, "%s: %s: %s", op, p->name, p->child_error);
  return 0;
}

/* Waits for the child; 0 when it has ended, MPROC_ETIMEDOUT, or an error. */
static int poll_child(mproc_process_t *p, int timeout_ms) {
  if (p->state == ENDED)
    return 0;
  int code;
  int rc = mproc__os_child_wait(p->child, timeout_ms, &code);
  if (rc == 0)
    finish(p, code);
  return rc;
}

int mproc_process_join(mproc_process_t *p, int timeout_ms) {
  if (!p)
    return mproc__fail(MPROC_EINVAL, "process_join: process is NULL");
  if (timeout_ms < MPROC_INFINITE)
    return mproc__fail(MPROC_EINVAL, "process_join: timeout %d ms is negative", timeout_ms);
  if (p->state == CREATED)
    return mproc__fail(MPROC_ESTATE, "process_join: %s was not started", p->name);
  int rc = poll_child(p, timeout_ms);
  if (rc == MPROC_ETIMEDOUT)
    return mproc__fail(MPROC_ETIMEDOUT, "process_join: %s still running after %d ms", p->name,
                       timeout_ms);
  return rc ? rc : ended_result(p, "process_join");
}

int mproc_process_is_alive(mproc_process_t *p) {
  if (!p)
    return mproc__fail(MPROC_EINVAL, "process_is_alive: process is NULL");
  if (p->state != STARTED)
    return 0;
  int rc = poll_child(p, 0);
  if (rc == MPROC_ETIMEDOUT)
    return 1;
  return rc ? rc : 0;
}

static int stop(mproc_process_t *p, bool force, const char *op) {
  if (!p)
    return mproc__fail(MPROC_EINVAL, "%s: process is NULL", op);
  if (p->state == CREATED)
    return mproc__fail(MPROC_ESTATE, "%s: %s was not started", op, p->name);
  if (p->state == ENDED)
    return 0;
  return mproc__os_child_stop(p->child, force);
}

int mproc_process_terminate(mproc_process_t *p) { return stop(p, false, "process_terminate"); }

int mproc_process_kill(mproc_process_t *p) { return stop(p, true, "process_kill"); }

int mproc_process_exitcode(const mproc_process_t *cp, int *code) {
  /* Reading the exit code reaps a finished child, as Python's exitcode
   * property does; the object itself was allocated non-const. */
  mproc_process_t *p = (mproc_process_t *)cp;
  if (!p || !code)
    return mproc__fail(MPROC_EINVAL, "process_exitcode: %s is NULL", p ? "code" : "process");
  if (p->state == CREATED)
    return mproc__fail(MPROC_ESTATE, "process_exitcode: %s was not started", p->name);
  int rc = poll_child(p, 0);
  if (rc == MPROC_ETIMEDOUT)
    return mproc__fail(MPROC_ESTATE, "process_exitcode: %s is still running", p->name);
  if (rc)
    return rc;
  rc = ended_result(p, "process_exitcode");
  if (rc == 0)
    *code = p->exitcode;
  return rc;
}

int64_t mproc_process_pid(const mproc_process_t *p) {
  return (p && p->child) ? mproc__os_child_pid(p->child) : 0;
}

const char *mproc_process_name(const mproc_process_t *p) { return p ? p->name : ""; }

bool mproc_process_daemon(const mproc_process_t *p) { return p && p->daemon; }

void mproc_process_free(mproc_process_t *p) {
  if (!p)
    return;
  if (p->child) {
    if (p->state == STARTED && poll_child(p, 0) == MPROC_ETIMEDOUT)
      mproc__reaper_adopt(p->child);
    else
      mproc__os_child_free(p->child);
  }
  mproc__os_stream_close(&p->channel);
  free(p->args);
  free(p->name);
  free(p->identity);
  free(p->child_error);
  free(p);
}
