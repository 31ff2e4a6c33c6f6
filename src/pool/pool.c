/* The process pool (see pool.h and docs/pool.md): making one, closing,
 * terminating, joining and freeing it, and its counts.
 *
 * The pool is one core over two kinds of members (pool_types.h): its own
 * worker processes (pool_local.c), or workers behind a backend, MPI ranks
 * say (pool_remote.c). The core - submission (pool_submit.c), the pool's
 * thread (pool_thread.c), scheduling (pool_schedule.c), the intake of
 * results (pool_intake.c) and this lifecycle - asks them for what it
 * needs through mproc__members_t and never asks which kind they are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args/fnref.h"
#include "core/log_internal.h"
#include "pool/pool_types.h"

enum { DEFAULT_PREFETCH = 2, DEFAULT_GRACE_MS = 1000 };

/* A memory cap needs workers of this machine and an OS that can make one:
 * asked now, so pool_new says so rather than every worker's start. */
static int check_memory_limit(const mproc_pool_opts_t *o) {
  if (!o->worker_memory_limit)
    return 0;
  if (o->backend)
    return mproc__fail(MPROC_ENOTSUP,
                       "pool_new: worker_memory_limit needs worker processes of this one; the "
                       "%s backend's are elsewhere",
                       o->backend->name ? o->backend->name : "given");
  mproc__os_memcap_t *probe;
  int rc = mproc__os_memcap_new(o->worker_memory_limit, &probe);
  if (rc)
    mproc__error_prefix("pool_new: worker_memory_limit");
  mproc__os_memcap_free(probe);
  return rc;
}

/* Checks o, opens its backend and fills in the defaults. */
static int settle_opts(mproc_pool_opts_t *o, bool *adaptive) {
  if (o->processes < 0) /* Python's Pool(0) and Pool(-1): 0 is None here */
    return mproc__fail(MPROC_EINVAL,
                       "pool_new: processes %d: the number of processes must be at least 1 "
                       "(0 asks for mproc_cpu_count())",
                       o->processes);
  if (o->task_timeout_ms < 0 || o->terminate_grace_ms < 0)
    return mproc__fail(MPROC_EINVAL, "pool_new: timeouts may not be negative");
  if (MPROC__CHECK_RESERVED("pool_new", o))
    return MPROC_EINVAL;
  const mproc_pool_backend_t *be = o->backend;
  for (size_t i = 0; be && i < sizeof be->reserved / sizeof be->reserved[0]; i++)
    if (be->reserved[i])
      return mproc__fail(MPROC_EINVAL,
                         "pool_new: backend->reserved[%zu] is not NULL: an "
                         "operation this library (mproc %s) does not know",
                         i, MPROC_VERSION_STRING);
  if (be && (!be->open || !be->send || !be->poll || !be->wait || !be->wake || !be->alive ||
             !be->forget || !be->close || !be->describe))
    return mproc__fail(MPROC_EINVAL, "pool_new: the backend lacks an operation");
  if (be && o->maxtasksperchild)
    return mproc__fail(MPROC_ENOTSUP,
                       "pool_new: maxtasksperchild needs workers that can be "
                       "replaced; the %s backend's cannot",
                       be->name ? be->name : "given");
  int bad = check_memory_limit(o);
  if (bad)
    return bad;
  int available = 0;
  if (be) {
    int rc = be->open(be->ctx, &available);
    if (rc)
      return rc;
    if (available < 1 || o->processes > available) {
      be->close(be->ctx);
      return mproc__fail(MPROC_EINVAL, "pool_new: %d workers asked for; the %s backend has %d",
                         o->processes, be->name ? be->name : "given", available);
    }
    if (o->processes == 0)
      o->processes = available;
  }
  if (o->processes == 0)
    o->processes = mproc_cpu_count();
  *adaptive = o->prefetch == 0;
  if (o->prefetch == 0)
    o->prefetch = DEFAULT_PREFETCH;
  if (o->terminate_grace_ms == 0)
    o->terminate_grace_ms = DEFAULT_GRACE_MS;
  return 0;
}

/* Makes what a pool holds but its members: the core, the wake pipe, the
 * initializer, the result buffer. */
static int make_parts(mproc_pool_t *p) {
  mproc__pool_core_t *core = p->core;
  int rc = mproc__os_mutex_new(&core->lock);
  if (!rc)
    rc = mproc__os_cond_new(&core->ready);
  if (!rc)
    rc = mproc__os_doorbell_new(&core->doorbell);
  if (!rc && !(p->w = calloc((size_t)p->n, sizeof *p->w)))
    rc = mproc__fail(MPROC_ENOMEM, "pool_new: out of memory");
  if (!rc)
    rc = mproc_pipe(&p->wake_rd, &p->wake_wr, false);
  if (!rc)
    rc = p->o.initargs ? mproc__args_copy(p->o.initargs, &p->initargs)
                       : mproc_args_new(&p->initargs);
  if (!rc && p->o.initializer &&
      (rc = mproc__fnref_pack_fn((mproc__fn_t)p->o.initializer, p->init_fn, sizeof p->init_fn,
                                 &p->init_fn_len)) != 0)
    mproc__error_prefix("pool_new: initializer");
  p->rcap = 64 * 1024;
  if (!rc && !(p->rbuf = malloc(p->rcap)))
    rc = mproc__fail(MPROC_ENOMEM, "pool_new: out of memory");
  return rc;
}

int mproc_pool_new(mproc_pool_t **out, const mproc_pool_opts_t *opts) {
  if (!out)
    return mproc__fail(MPROC_EINVAL, "pool_new: out is NULL");
  mproc_pool_opts_t o = opts ? *opts : (mproc_pool_opts_t){0};
  bool adaptive = false;
  int rc = settle_opts(&o, &adaptive);
  if (rc)
    return rc;
  mproc_pool_t *p = calloc(1, sizeof *p);
  mproc__pool_core_t *core = calloc(1, sizeof *core);
  if (!p || !core) {
    free(p);
    free(core);
    if (o.backend)
      o.backend->close(o.backend->ctx);
    return mproc__fail(MPROC_ENOMEM, "pool_new: out of memory");
  }
  atomic_init(&core->refs, 1);
  core->doorbell = -1;
  p->core = core;
  p->o = o;
  p->members = o.backend ? &mproc__remote_members : &mproc__local_members;
  p->backend = o.backend;
  p->backend_open = o.backend != NULL;
  p->adaptive = adaptive;
  p->n = o.processes;
  rc = make_parts(p);
  if (!rc)
    rc = p->members->open(p);
  /* The first workers start here, from the calling thread: under fork,
   * before the pool's own thread exists. */
  for (int i = 0; i < p->n && !rc; i++) {
    rc = p->members->start(p, i);
    if (rc)
      mproc__error_prefix("pool_new");
    else
      p->started++;
  }
  if (!rc)
    rc = mproc__os_thread_start(&p->thread, mproc__pool_thread, p);
  if (rc) {
    p->state = MPROC__POOL_TERMINATING;
    if (p->w && p->members->kill_all)
      p->members->kill_all(p);
    p->thread = NULL;
    mproc_pool_free(p); /* releases the members started */
    return rc;
  }
  *out = p;
  return 0;
}

int mproc__pool_processes(const mproc_pool_t *p) { return p->n; }

mproc__pool_core_t *mproc__pool_core(const mproc_pool_t *p) { return p->core; }

int mproc_pool_close(mproc_pool_t *p) {
  if (!p)
    return mproc__fail(MPROC_EINVAL, "pool_close: pool is NULL");
  mproc__os_mutex_lock(p->core->lock);
  if (p->state == MPROC__POOL_RUNNING)
    p->state = MPROC__POOL_CLOSED;
  mproc__pool_wake(p);
  mproc__os_mutex_unlock(p->core->lock);
  return 0;
}

static void terminate_locked(mproc_pool_t *p) {
  if (p->state == MPROC__POOL_TERMINATING)
    return;
  p->state = MPROC__POOL_TERMINATING;
  mproc__pool_fail_queue(p, MPROC_ECANCELED, "the pool was terminated");
  for (int i = 0; i < p->n; i++) {
    mproc__member_t *w = &p->w[i];
    if (w->state != MPROC__MEMBER_LIVE)
      continue;
    for (mproc__task_t *t = w->held.head; t; t = t->next)
      mproc__result_mark_cancelled(t->r);
    p->members->terminate(p, i);
  }
  mproc__os_cond_broadcast(p->core->ready);
  p->grace_deadline = mproc__os_now_ms() + p->o.terminate_grace_ms;
  mproc__pool_wake(p);
}

int mproc_pool_terminate(mproc_pool_t *p) {
  if (!p)
    return mproc__fail(MPROC_EINVAL, "pool_terminate: pool is NULL");
  mproc__os_mutex_lock(p->core->lock);
  terminate_locked(p);
  mproc__os_mutex_unlock(p->core->lock);
  return 0;
}

int mproc_pool_join(mproc_pool_t *p, int timeout_ms) {
  if (!p)
    return mproc__fail(MPROC_EINVAL, "pool_join: pool is NULL");
  int rc = mproc__check_timeout("pool_join", timeout_ms);
  if (rc)
    return rc;
  int64_t deadline = mproc__deadline(timeout_ms);
  mproc__os_mutex_lock(p->core->lock);
  if (p->state == MPROC__POOL_RUNNING)
    rc = mproc__fail(MPROC_ESTATE, "pool_join: call pool_close or pool_terminate first");
  while (!rc) {
    bool all_gone = true;
    for (int i = 0; i < p->n; i++)
      all_gone &= p->w[i].state == MPROC__MEMBER_EMPTY;
    /* As Python's join: every callback has run too. */
    if (all_gone && (p->state == MPROC__POOL_TERMINATING || !mproc__pool_work_left(p)) &&
        !p->due.n && !p->in_callbacks)
      break;
    int left = mproc__remaining_ms(deadline);
    if (left == 0)
      rc = mproc__fail(MPROC_ETIMEDOUT, "pool_join: workers still running after %d ms", timeout_ms);
    else
      mproc__os_cond_wait(p->core->ready, p->core->lock, left);
  }
  mproc__os_mutex_unlock(p->core->lock);
  return rc;
}

void mproc_pool_free(mproc_pool_t *p) {
  if (!p)
    return;
  if (p->thread && mproc__os_thread_is_current(p->thread)) {
    mproc__log(MPROC_LOG_ERROR, "pool_free: called from a callback: the pool is not freed");
    return;
  }
  if (p->thread) {
    mproc__os_mutex_lock(p->core->lock);
    terminate_locked(p);
    mproc__os_mutex_unlock(p->core->lock);
    mproc_pool_join(p, MPROC_INFINITE);
    mproc__os_mutex_lock(p->core->lock);
    p->quit = true;
    p->sleeping = true; /* make the wake send even if the thread is about to sleep */
    mproc__pool_wake(p);
    mproc__os_mutex_unlock(p->core->lock);
    mproc__os_thread_join(p->thread);
  }
  mproc__os_mutex_t *lock = p->core->lock;
  if (lock)
    mproc__os_mutex_lock(lock);
  p->core->pool_freed = true; /* results and iterators outlive p */
  mproc__pool_fail_queue(p, MPROC_ECANCELED, "the pool was freed");
  mproc__pool_run_due(p);
  if (lock)
    mproc__os_mutex_unlock(lock);
  for (int i = 0; p->w && i < p->n; i++)
    if (p->w[i].state != MPROC__MEMBER_EMPTY)
      p->members->release(p, i);
  free(p->w);
  p->members->close(p);
  mproc_conn_free(p->wake_rd);
  mproc_conn_free(p->wake_wr);
  mproc_args_free(p->initargs);
  mproc__ptrlist_clear(&p->due);
  free(p->rbuf);
  mproc__pool_core_release(p->core);
  free(p);
}

int mproc_pool_workers(mproc_pool_t *p, mproc_pool_worker_t *out, size_t cap, size_t *n) {
  if (!p || !n || (!out && cap))
    return mproc__fail(MPROC_EINVAL, "pool_workers: %s is NULL", !p ? "pool" : !n ? "n" : "out");
  mproc__os_mutex_lock(p->core->lock);
  *n = (size_t)p->n;
  for (size_t i = 0; i < cap && i < (size_t)p->n; i++) {
    const mproc__member_t *w = &p->w[i];
    bool live = w->state == MPROC__MEMBER_LIVE;
    out[i] = (mproc_pool_worker_t){.index = (int)i,
                                   .pid = live ? w->pid : 0,
                                   .alive = live,
                                   .busy = live && atomic_load(&p->slots[i].running) != 0,
                                   .tasks_given = live ? w->given : 0,
                                   .tasks_held = live ? w->held.n : 0};
    if (live)
      p->members->describe(p, (int)i, out[i].name, sizeof out[i].name);
  }
  mproc__os_mutex_unlock(p->core->lock);
  return 0;
}

int mproc_pool_stats(mproc_pool_t *p, mproc_pool_stats_t *st) {
  if (!p || !st)
    return mproc__fail(MPROC_EINVAL, "pool_stats: %s is NULL", p ? "st" : "pool");
  mproc__os_mutex_lock(p->core->lock);
  memset(st, 0, sizeof *st);
  st->workers_alive = mproc__pool_live_members(p);
  st->workers_started = p->started;
  st->workers_died = p->died;
  st->workers_recycled = p->recycled;
  st->tasks_queued = p->queue.n;
  for (int i = 0; i < p->n; i++) {
    if (p->w[i].state != MPROC__MEMBER_LIVE)
      continue; /* none, or being started (its slot is being reset) */
    bool runs = atomic_load(&p->slots[i].running) != 0;
    st->tasks_running += runs;
    st->tasks_queued += p->w[i].held.n - (runs && p->w[i].held.n ? 1 : 0);
  }
  st->tasks_done = p->done - p->core->late_failed;
  st->tasks_failed = p->failed + p->core->late_failed;
  mproc__os_mutex_unlock(p->core->lock);
  return 0;
}
