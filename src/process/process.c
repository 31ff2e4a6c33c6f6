/* Process objects: Python's multiprocessing.Process over the OS backends.
 *
 * Each object has its own mutex, so any thread may start, join, poll or
 * stop it; blocking waits happen outside the mutex (the OS layer lets
 * several threads wait for one child). A reference count lets the list of
 * children (active_children, the exit-time join) use an object while its
 * owner frees it. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args/args_objects.h"
#include "core/current.h"
#include "core/log_internal.h"
#include "core/spinlock.h"
#include "core/waitable.h"
#include "process/bootstrap.h"
#include "process/child_entry.h"
#include "process/child_life.h"
#include "process/children.h"
#include "process/forkserver.h"
#include "process/launch.h"
#include "process/process_internal.h"
#include "process/reaper.h"
#include "process/start_method.h"

typedef enum { CREATED, STARTED, ENDED } state_t;

struct mproc_process {
  mproc_target_fn target;
  unsigned char *args; /* encoded at creation: the copy Python's pickling makes */
  size_t args_len;
  char *name;
  char *identity;
  bool daemon;
  mproc_start_method_t method;
  int64_t creator_pid;           /* the parent's pid, as a forked child must learn it */
  intptr_t child_link;           /* the child's sentinel for this process */
  bool pdeathsig_ok;             /* started from this process's main thread */
  bool locks_taken;              /* fork: the global locks were held around fork() */
  mproc__handle_table_t inherit; /* the objects' handles: the child's handle table */
  /* The proxies among the arguments, held until the child has ended: a
   * manager frees an object once no process holds it, and the child takes
   * its own hold only when it first uses it - after its creator may have
   * freed its proxy. Python has that race; here the process object holds
   * the object for the child. Under the lock. */
  mproc__ptrlist_t proxies;

  mproc__os_mutex_t *lock; /* guards everything below */
  atomic_int refs;         /* the owner's, the child list's, snapshots' */
  state_t state;
  bool listed; /* in the child list, which then holds a reference */
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
  if (MPROC__CHECK_RESERVED("process_new", opts))
    return MPROC_EINVAL;

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
  if (!rc && opts->name &&
      !mproc__utf8_valid((const unsigned char *)opts->name, strlen(opts->name)))
    rc = mproc__fail(MPROC_EINVAL, "process_new: the name is not valid UTF-8");
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
  atomic_init(&p->refs, 1);

  mproc_args_t *empty = NULL;
  if (!args) {
    rc = mproc_args_new(&empty);
    args = empty;
  }
  void *enc = NULL;
  /* The process holds its own handles to the objects until the child has
   * its copies (closed right after start). */
  if (!rc)
    rc = mproc__args_encode_objects(args, &enc, &p->args_len, &p->inherit);
  p->args = enc;
  if (!rc)
    rc = mproc__args_hold_all(args, MPROC_T_PROXY, &p->proxies);
  mproc_args_free(empty);
  if (!rc)
    rc = mproc__os_mutex_new(&p->lock);
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

static void retain(void *p) { atomic_fetch_add(&((mproc_process_t *)p)->refs, 1); }

/* The handles the child inherits: once it has its copies, this process's
 * must go, or the other end of a connection passed to the child would never
 * see end-of-file. */
static void close_inherited(mproc_process_t *p) { mproc__handle_table_free(&p->inherit); }

static void destroy(mproc_process_t *p) {
  if (p->child) {
    /* Still running: the reaper collects it later, so no zombie stays. */
    int code;
    if (p->state == STARTED && mproc__os_child_wait(p->child, 0, &code) == MPROC_ETIMEDOUT)
      mproc__reaper_adopt(p->child, &p->proxies);
    else
      mproc__os_child_free(p->child);
  }
  mproc__os_stream_close(&p->channel);
  close_inherited(p);
  mproc__args_release_all(MPROC_T_PROXY, &p->proxies);
  mproc__os_mutex_free(p->lock);
  free(p->args);
  free(p->name);
  free(p->identity);
  free(p->child_error);
  free(p);
}

static void release(mproc_process_t *p) {
  if (atomic_fetch_sub(&p->refs, 1) == 1)
    destroy(p);
}

/* Through a pointer the loader fills in at start-up: a direct call would
 * go through a lazily bound PLT slot that each new child binds again, a
 * dynamic-linker lookup and a copy-on-write fault per child. */
static void (*volatile exit_now)(int) = _Exit;
static void end_forked(int code) { exit_now(code); }

/* Runs, once in this process, the library code a forked child runs around
 * its target that the parent may never have run itself (the argument
 * decoder, the flush of the standard streams), so that its lazily bound
 * symbols are bound here, once, and not again in every child. */
static void warm_child_path(void) {
  static atomic_flag warmed = ATOMIC_FLAG_INIT;
  if (atomic_flag_test_and_set(&warmed))
    return;
  static const unsigned char empty_tuple[] = {0x90};
  mproc_args_t *t;
  if (mproc_args_decode(&t, empty_tuple, sizeof empty_tuple) == 0)
    mproc_args_free(t);
  mproc__os_flush_std_streams();
}

/* The fork preamble: what the parent's memory holds that is the parent's
 * own (its child list, its forkserver, the writer of its parent link, the
 * global locks fork took); then the child's life, as every child's. */
static int fork_child_main(void *ctx) {
  mproc_process_t *p = ctx;
  if (p->locks_taken)
    mproc__global_locks_release(); /* taken by start_fork around fork() */
  mproc__children_forget_all();
  mproc__forkserver_after_fork();
  mproc__os_parent_link_after_fork();
  /* The handles are this child's copies now: its objects take them over. */
  mproc__child_life_t life = {
      .target = p->target,
      .args = p->args,
      .args_len = p->args_len,
      .handles = p->inherit.h,
      .nhandles = p->inherit.n,
      .name = p->name, /* this child's copy of the parent's memory: never freed here */
      .identity = p->identity,
      .parent_pid = p->creator_pid,
      .daemon = p->daemon,
      .parent_link = p->child_link,
      .pdeathsig_ok = p->pdeathsig_ok,
      .log_level = (int)mproc_log_get_level(),
      .report = NULL,
      .end = end_forked,
  };
  mproc__child_live(&life);
  return MPROC__CHILD_FAILED; /* not reached */
}

static int start_fork(mproc_process_t *p) {
  int threads = mproc__os_thread_count(); /* 0: cannot tell */
  if (threads > 1)
    mproc__log(MPROC_LOG_WARNING,
               "starting %s with fork while this process runs %d threads: only the calling "
               "thread exists in the child, and a lock another thread held stays locked "
               "there forever; use the spawn or forkserver start method",
               p->name, threads);
  fflush(NULL); /* or the child would print the parent's buffered output again */
  warm_child_path();
  p->creator_pid = mproc__os_getpid();
  p->pdeathsig_ok = mproc__os_is_main_thread();
  /* Another thread may hold one of the library's global locks at the
   * moment of fork(), and would never release it in the child: take them
   * all around fork(). With one thread there is nobody to wait for, and
   * the child is spared writing them. */
  bool lock = threads != 1;
  p->locks_taken = lock;
  if (lock)
    mproc__global_locks_acquire();
  int rc = mproc__os_fork(&p->child, fork_child_main, p, &p->child_link);
  if (lock)
    mproc__global_locks_release();
  return rc;
}

static int start_spawn(mproc_process_t *p) {
  mproc__launch_t l = {p->target, p->name, p->identity, p->daemon,
                       /* A forkserver child's kernel parent is the server. */
                       p->method == MPROC_START_SPAWN && mproc__os_is_main_thread(), p->args,
                       p->args_len, p->inherit.h, p->inherit.n};
  return mproc__launch(
      &l, p->method == MPROC_START_FORKSERVER ? mproc__forkserver_spawn : mproc__os_spawn,
      &p->child, &p->channel, &p->child_link);
}

static void finish(mproc_process_t *p, int code);
static void wind_up_children(void);

int mproc_process_start(mproc_process_t *p) {
  if (!p)
    return mproc__fail(MPROC_EINVAL, "process_start: process is NULL");
  mproc__os_mutex_lock(p->lock);
  int rc = 0;
  if (p->state != CREATED)
    rc = mproc__fail(MPROC_ESTATE, "process_start: %s was already started", p->name);
  else if (mproc__current_is_daemon() && !p->daemon)
    /* Python refuses every child of a daemon; a daemonic child dies with
     * its parent here (parent_link), so those are safe: a pool's task may
     * make its own pool, and a killed root takes every level with it. */
    rc = mproc__fail(MPROC_ESTATE,
                     "process_start: a daemonic process may start only daemonic "
                     "children (they die with it); %s is not daemonic",
                     p->name);
  else
    rc = mproc__start_method_check(p->method);
  if (rc) {
    mproc__os_mutex_unlock(p->lock);
    return rc;
  }
  mproc__reaper_collect();
  mproc__child_entry_anchor();
  mproc__children_set_wind_up(wind_up_children);
  mproc__log(MPROC_LOG_DEBUG, "starting %s with %s", p->name, mproc_start_method_name(p->method));
  rc = p->method == MPROC_START_FORK ? start_fork(p) : start_spawn(p);
  if (rc == 0) {
    p->state = STARTED;
    p->listed = true;
    retain(p);
    mproc__children_add(p);
  }
  if (rc) {
    mproc__error_prefix(p->name);
    mproc__error_prefix("process_start");
  } else {
    mproc__log(MPROC_LOG_DEBUG, "started %s, pid %lld", p->name,
               (long long)mproc__os_child_pid(p->child));
  }
  if (rc == 0)
    close_inherited(p); /* the child has its own copies now */
  mproc__os_mutex_unlock(p->lock);
  return rc;
}

int mproc_process_run(mproc_process_t *p) {
  if (!p)
    return mproc__fail(MPROC_EINVAL, "process_run: process is NULL");
  mproc_args_t *args;
  int rc =
      mproc__args_decode_objects(&args, p->args, p->args_len, p->inherit.h, p->inherit.n, false);
  if (rc)
    return rc;
  rc = p->target(args);
  mproc_args_free(args);
  return rc;
}

/* Takes p out of the child list, once. Called with the lock held; the
 * owner's reference keeps p alive past this. */
static void unlist(mproc_process_t *p) {
  if (!p->listed)
    return;
  p->listed = false;
  mproc__children_remove(p);
  atomic_fetch_sub(&p->refs, 1);
}

/* Records how the child ended, reading its report when it was spawned.
 * Called with the lock held. */
static void finish(mproc_process_t *p, int code) {
  if (p->state == ENDED)
    return;
  p->state = ENDED;
  p->exitcode = code;
  if (p->channel.rd != MPROC__STREAM_NONE) {
    if (mproc__report_read(&p->channel, code) != 0)
      p->child_error = mproc__strdup(mproc_last_error_detail());
    mproc__os_stream_close(&p->channel);
  }
  unlist(p);
  mproc__args_release_all(MPROC_T_PROXY, &p->proxies); /* the child's own holds are gone too */
  mproc__log(MPROC_LOG_DEBUG, "%s ended with exit code %d%s", p->name, code,
             p->child_error ? " before running its target" : "");
}

/* Waits for the child without holding the lock, then records the end.
 * 0 when it has ended, MPROC_ETIMEDOUT, MPROC_ESTATE (not started), or an
 * error. Leaves the lock held on return. */
static int wait_locked(mproc_process_t *p, int timeout_ms) {
  mproc__os_mutex_lock(p->lock);
  if (p->state == CREATED)
    return MPROC_ESTATE;
  if (p->state == ENDED)
    return 0;
  mproc__os_child_t *child = p->child;
  mproc__os_mutex_unlock(p->lock);
  int code;
  int rc = mproc__os_child_wait(child, timeout_ms, &code);
  mproc__os_mutex_lock(p->lock);
  if (rc == 0)
    finish(p, code);
  return rc;
}

static int ended_result(const mproc_process_t *p, const char *op) {
  if (p->child_error)
    return mproc__fail(MPROC_ECHILD, "%s: %s: %s", op, p->name, p->child_error);
  return 0;
}

int mproc_process_join(mproc_process_t *p, int timeout_ms) {
  if (!p)
    return mproc__fail(MPROC_EINVAL, "process_join: process is NULL");
  int rc = mproc__check_timeout("process_join", timeout_ms);
  if (rc)
    return rc;
  rc = wait_locked(p, timeout_ms);
  if (rc == MPROC_ESTATE)
    rc = mproc__fail(MPROC_ESTATE, "process_join: %s was not started", p->name);
  else if (rc == MPROC_ETIMEDOUT)
    rc = mproc__fail(MPROC_ETIMEDOUT, "process_join: %s still running after %d ms", p->name,
                     timeout_ms);
  else if (rc == 0)
    rc = ended_result(p, "process_join");
  mproc__os_mutex_unlock(p->lock);
  return rc;
}

int mproc_process_is_alive(mproc_process_t *p) {
  if (!p)
    return mproc__fail(MPROC_EINVAL, "process_is_alive: process is NULL");
  int rc = wait_locked(p, 0);
  mproc__os_mutex_unlock(p->lock);
  if (rc == MPROC_ETIMEDOUT)
    return 1;
  return rc == MPROC_ESTATE ? 0 : rc;
}

static int stop(mproc_process_t *p, bool force, const char *op) {
  if (!p)
    return mproc__fail(MPROC_EINVAL, "%s: process is NULL", op);
  mproc__os_mutex_lock(p->lock);
  int rc = 0;
  if (p->state == CREATED)
    rc = mproc__fail(MPROC_ESTATE, "%s: %s was not started", op, p->name);
  else if (p->state == STARTED)
    rc = mproc__os_child_stop(p->child, force);
  if (rc == 0 && p->state == STARTED)
    mproc__log(MPROC_LOG_DEBUG, "%s %s", force ? "killing" : "terminating", p->name);
  mproc__os_mutex_unlock(p->lock);
  return rc;
}

int mproc_process_terminate(mproc_process_t *p) { return stop(p, false, "process_terminate"); }

int mproc_process_kill(mproc_process_t *p) { return stop(p, true, "process_kill"); }

int mproc_process_exitcode(const mproc_process_t *cp, int *code) {
  /* Reading the exit code reaps a finished child, as Python's exitcode
   * property does; the object itself was allocated non-const. */
  mproc_process_t *p = (mproc_process_t *)cp;
  if (!p || !code)
    return mproc__fail(MPROC_EINVAL, "process_exitcode: %s is NULL", p ? "code" : "process");
  int rc = wait_locked(p, 0);
  if (rc == MPROC_ESTATE)
    rc = mproc__fail(MPROC_ESTATE, "process_exitcode: %s was not started", p->name);
  else if (rc == MPROC_ETIMEDOUT)
    rc = mproc__fail(MPROC_ESTATE, "process_exitcode: %s is still running", p->name);
  else if (rc == 0 && (rc = ended_result(p, "process_exitcode")) == 0)
    *code = p->exitcode;
  mproc__os_mutex_unlock(p->lock);
  return rc;
}

int64_t mproc_process_pid(const mproc_process_t *p) {
  if (!p)
    return 0;
  mproc__os_mutex_lock(p->lock);
  int64_t pid = p->child ? mproc__os_child_pid(p->child) : 0;
  mproc__os_mutex_unlock(p->lock);
  return pid;
}

mproc__os_child_t *mproc__process_os_child(mproc_process_t *p) {
  mproc__os_mutex_lock(p->lock);
  mproc__os_child_t *c = p->child;
  mproc__os_mutex_unlock(p->lock);
  return c;
}

intptr_t mproc_process_sentinel(const mproc_process_t *p) {
  if (!p)
    return -1;
  mproc__os_mutex_lock(p->lock);
  intptr_t s = p->child ? mproc__os_child_sentinel(p->child) : -1;
  mproc__os_mutex_unlock(p->lock);
  return s;
}

/* Python's util._exit_function: at a normal exit, terminate daemonic
 * children, then join every child. */
static void wind_up_children(void) {
  void **list;
  size_t n;
  if (mproc__children_snapshot(&list, &n, retain) != 0)
    return;
  for (size_t i = 0; i < n; i++) {
    mproc_process_t *p = list[i];
    if (p->daemon && mproc_process_is_alive(p) == 1) {
      mproc__log(MPROC_LOG_INFO, "calling terminate() for daemon %s", p->name);
      mproc_process_terminate(p);
    }
  }
  for (size_t i = 0; i < n; i++) {
    mproc_process_t *p = list[i];
    mproc__log(MPROC_LOG_INFO, "calling join() for process %s", p->name);
    mproc_process_join(p, MPROC_INFINITE);
    release(p);
  }
  free(list);
}

int mproc_active_children(mproc_process_t ***out, size_t *count) {
  if (!out || !count)
    return mproc__fail(MPROC_EINVAL, "active_children: %s is NULL", out ? "count" : "out");
  mproc__reaper_collect();
  void **list;
  size_t n, alive = 0;
  int rc = mproc__children_snapshot(&list, &n, retain);
  if (rc)
    return rc;
  for (size_t i = 0; i < n; i++) {
    mproc_process_t *p = list[i];
    if (mproc_process_is_alive(p) == 1) /* reaps the ended ones */
      list[alive++] = p;
    release(p);
  }
  *out = (mproc_process_t **)list;
  *count = alive;
  return 0;
}

/* ---- mproc_wait ---------------------------------------------------------- */

static int process_check(const mproc_waitable_t *w, size_t i) {
  if (!w->object || mproc_process_pid(w->object) == 0)
    return mproc__fail(MPROC_EINVAL, "wait: object %zu is %s", i,
                       w->object ? "a process that was not started" : "NULL");
  return 0;
}

/* Its sentinel, where it has one; else the wait polls. */
static int process_arm(const mproc_waitable_t *w, intptr_t *handle, bool *ready_now) {
  *handle = mproc_process_sentinel(w->object);
  *ready_now = false;
  return 0;
}

/* Whether p runs with a sentinel, which its end makes ready: while that
 * has not fired, p runs, and no system call need say so. */
static bool watched_by_sentinel(mproc_process_t *p) {
  mproc__os_mutex_lock(p->lock);
  bool watched = p->state == STARTED && p->child && mproc__os_child_sentinel(p->child) != -1;
  mproc__os_mutex_unlock(p->lock);
  return watched;
}

/* Asked each round: a process that ended is reaped here (or one that
 * cannot be waited for: never hang on it). A sentinel that did not fire
 * answers for a running process without a waitid (a pool's thread asks
 * this of every worker each time it sleeps). */
static bool process_ready(const mproc_waitable_t *w, bool fired) {
  if (!fired && watched_by_sentinel(w->object))
    return false;
  return mproc_process_is_alive(w->object) != 1;
}

static const mproc__wait_class_t process_wait = {"process", process_check, process_arm, NULL,
                                                 process_ready};

mproc_waitable_t mproc_waitable_process(mproc_process_t *p) {
  return mproc__waitable(&process_wait, p, -1);
}

const char *mproc_process_name(const mproc_process_t *p) { return p ? p->name : ""; }

bool mproc_process_daemon(const mproc_process_t *p) { return p && p->daemon; }

void mproc_process_free(mproc_process_t *p) {
  if (!p)
    return;
  if (p->lock) {
    /* A freed process is no longer anyone's child to join at exit. */
    mproc__os_mutex_lock(p->lock);
    unlist(p);
    mproc__os_mutex_unlock(p->lock);
  }
  release(p);
}
