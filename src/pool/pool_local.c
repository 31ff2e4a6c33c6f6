/* The pool's members as processes of ours: each has an inbox (a queue)
 * holding at most prefetch tasks beyond the one it runs, a channel for
 * the handles of IPC objects in its tasks, and a slot in a shared table
 * where it says which task it runs. So the pool always knows which tasks
 * a worker holds, and when a worker dies it can tell the one it was
 * running (which fails, with MPROC_EWORKERDIED) from the ones it never
 * started (which go to other workers). A single shared task queue, as
 * Python's Pool has, cannot tell: a worker that dies between taking a
 * task and saying so loses it, and Pool.get() waits forever.
 *
 * Invariant on a death: every result the worker committed is taken from
 * the result queue first; only a task with no result is failed or handed
 * on. The result queue survives a killed writer (queue.c): a result is
 * either whole or absent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connection/connection_internal.h"
#include "core/log_internal.h"
#include "pool/pool_types.h"
#include "pool/pool_worker.h"
#include "process/bootstrap.h"
#include "process/process_internal.h"

enum {
  INBOX_BYTES = 256 * 1024,
  SPIN_ROUNDS = 64 /* looks at the result queue before sleeping */
};
/* Puts a started worker in a memory cap of its own (p's limit; none: 0
 * and *cap NULL). On failure the worker is killed: no worker runs
 * uncapped in a pool that asked for a cap. */
static int cap_worker(const mproc_pool_t *p, mproc_process_t *proc, mproc__os_memcap_t **cap) {
  *cap = NULL;
  if (!p->o.worker_memory_limit)
    return 0;
  int rc = mproc__os_memcap_new(p->o.worker_memory_limit, cap);
  if (!rc)
    rc = mproc__os_memcap_add(*cap, mproc_process_pid(proc));
  if (rc) {
    mproc_process_kill(proc);
    mproc_process_join(proc, MPROC_INFINITE);
    mproc__os_memcap_free(*cap);
    *cap = NULL;
  }
  return rc;
}

/* Starts a worker for slot i into *w (its inbox and channel are new);
 * seq numbers its name. Touches nothing of p that the lock guards but
 * what never changes, so the pool thread calls it unlocked. */
static int start_worker(mproc_pool_t *p, int i, uint64_t seq, mproc__member_t *w) {
  mproc_conn_t *ours = NULL, *theirs = NULL;
  mproc_queue_t *inbox = NULL;
  mproc_args_t *a = NULL;
  mproc_process_t *proc = NULL;
  /* Atomic stores: mproc_pool_stats may read the slot meanwhile. */
  atomic_store(&p->slots[i].running, 0);
  atomic_store(&p->slots[i].delivering, 0);
  atomic_store(&p->slots[i].since_ms, 0);
  atomic_store(&p->slots[i].finished, 0);
  atomic_store(&p->slots[i].ready, 0);
  int rc = mproc_queue_new(&inbox, &(mproc_queue_opts_t){.capacity_bytes = INBOX_BYTES});
  if (!rc)
    rc = mproc_pipe(&ours, &theirs, true);
  if (!rc)
    rc = mproc_args_new(&a);
  if (!rc)
    rc = mproc_args_add_queue(a, inbox);
  if (!rc)
    rc = mproc_args_add_queue(a, p->results);
  if (!rc)
    rc = mproc_args_add_conn(a, theirs);
  if (!rc)
    rc = mproc_args_add_array(a, p->slot_array);
  if (!rc)
    rc = mproc_args_add_int(a, i);
  if (!rc)
    rc = mproc_args_add_bytes(a, p->init_fn, p->init_fn_len);
  if (!rc)
    rc = mproc_args_add_args(a, p->initargs);
  if (!rc)
    rc = mproc_args_add_int(a, p->o.maxtasksperchild);
  char name[48];
  snprintf(name, sizeof name, "PoolWorker-%llu", (unsigned long long)seq);
  mproc_process_opts_t po = {.name = name, .daemon = true, .start_method = p->o.start_method};
  if (!rc)
    rc = mproc_process_new(&proc, mproc__pool_worker_main, a, &po);
  mproc_args_free(a);
  mproc_conn_free(theirs); /* the worker has its own copy */
  mproc__os_memcap_t *cap = NULL;
  if (!rc)
    rc = mproc_process_start(proc);
  if (!rc)
    rc = cap_worker(p, proc, &cap);
  if (rc) {
    mproc_process_free(proc);
    mproc_queue_free(inbox);
    mproc_conn_free(ours);
    return rc;
  }
  *w = (mproc__member_t){.state = MPROC__MEMBER_LIVE,
                         .proc = proc,
                         .inbox = inbox,
                         .channel = ours,
                         .memcap = cap,
                         .pid = mproc_process_pid(proc)};
  return 0;
}

/* Handles a dead worker sent for a result it never put: closed, so no
 * object's memory outlives it in this process (on Windows they are this
 * process's handles already; on POSIX the channel's close would do). */
static void close_unclaimed_handles(mproc__member_t *w) {
  mproc__os_conn_t *c = w->channel ? mproc__conn_os(w->channel) : NULL;
  size_t n = 0;
  intptr_t h;
  while (c && mproc__os_conn_available(c, &n) == 0 && n > 0 &&
         mproc__os_conn_recv_handles(c, &h, 1) == 0)
    mproc__os_close_handle(h);
}

static void release_member(mproc__member_t *w) {
  close_unclaimed_handles(w);
  mproc_process_free(w->proc);
  mproc_queue_free(w->inbox);
  mproc_conn_free(w->channel);
  mproc__os_memcap_free(w->memcap); /* its process has been reaped */
  *w = (mproc__member_t){.state = MPROC__MEMBER_EMPTY};
}

/* Whether worker v holds tasks it has not begun that the pool may take
 * back: behind the one it runs, none with handles (those went ahead on
 * its channel and it expects them), no stop after them. */
static bool may_steal_from(const mproc__member_t *v) {
  if (v->state != MPROC__MEMBER_LIVE || v->stop_sent || v->kill_reason || v->held.n < 2)
    return false;
  for (const mproc__task_t *t = v->held.head; t; t = t->next)
    if (t->handles.n)
      return false;
  return true;
}

/* A worker with nothing to do takes a task another holds and has not
 * begun, from that one's inbox (a queue the pool may read too): no task
 * waits behind a running one while a worker is idle (a long task, then
 * short ones, on two workers: the short ones all run on the free one).
 * Whichever of the two reads the inbox first gets the task. */
static bool rebalance(mproc_pool_t *p) {
  bool progress = false;
  for (int i = 0; i < p->n && !p->queue.head; i++) {
    mproc__member_t *idle = &p->w[i];
    if (idle->held.n || !mproc__pool_may_take(p, idle))
      continue;
    int v = -1;
    for (int k = 0; k < p->n; k++)
      if (k != i && may_steal_from(&p->w[k]) && (v < 0 || p->w[k].held.n > p->w[v].held.n))
        v = k;
    if (v < 0)
      return progress;
    void *m = NULL;
    size_t len = 0;
    if (mproc_queue_get_bytes(p->w[v].inbox, &m, &len, 0) != 0)
      continue; /* it began them all meanwhile */
    mproc__task_head_t h = {0};
    if (len >= MPROC__TASK_HEAD)
      mproc__task_head_get(m, &h);
    mproc__task_t *t = h.id ? mproc__tasks_take(&p->w[v], h.id) : NULL;
    mproc_free(m);
    if (!t)
      continue;
    p->w[v].given--;
    if (mproc__pool_give(p, i, t) != 0)
      mproc__tasks_push_front(&p->queue, t); /* the next round hands it out */
    progress = true;
  }
  return progress;
}

/* Says in msg that worker i (name) passed its memory cap, and when. */
static void say_cap_hit(const mproc_pool_t *p, int i, const char *name, const char *when, char *msg,
                        size_t cap) {
  snprintf(msg, cap, "%s passed its memory limit of %llu bytes (%s) %s", name,
           (unsigned long long)p->o.worker_memory_limit, mproc__os_memcap_kind(p->w[i].memcap),
           when);
}

/* What worker i's end (its exit code) did to the task it was running, in
 * msg; returns that task's code: its memory cap stopped it, or it died. */
static int why_it_died(const mproc_pool_t *p, int i, int code, const char *name, char *msg,
                       size_t cap) {
  const mproc__member_t *w = &p->w[i];
  if (code == -9 && w->memcap && mproc__os_memcap_hit(w->memcap)) {
    say_cap_hit(p, i, name, "while running it", msg, cap);
    return MPROC_EMEMLIMIT;
  }
  if (code < 0)
    snprintf(msg, cap, "%s died of signal %d while running it%s", name, -code,
             code == -9 ? " (SIGKILL: killed, perhaps by the OOM killer)" : "");
  else if (code && (uint32_t)code == atomic_load(&p->slots[i].exit_reason))
    snprintf(msg, cap, "%s exited while running it: %s (status %d)", name,
             mproc__pool_worker_exit_text(code), code);
  else if (code == MPROC__WORKER_BAD_ARGS || code == MPROC__CHILD_FAILED)
    snprintf(msg, cap,
             "%s exited with status %d while running it: %s, or the task "
             "exited so",
             name, code, mproc__pool_worker_exit_text(code));
  else
    snprintf(msg, cap,
             "%s exited with status %d while running it (the task ended the "
             "process: exit() or abort()?)",
             name, code);
  return MPROC_EWORKERDIED;
}

/* A worker process ended: fail what it was running, hand on what it never
 * began. */
static void bury(mproc_pool_t *p, int i) {
  mproc__member_t *w = &p->w[i];
  int code = 0;
  mproc_process_join(w->proc, MPROC_INFINITE);
  mproc_process_exitcode(w->proc, &code);
  uint64_t running = mproc__pool_begun_task(p, i);
  bool asked = w->stop_sent && code == 0;
  bool recycled = code == 0 && p->o.maxtasksperchild && w->given >= p->o.maxtasksperchild;
  if (recycled || asked)
    p->recycled += recycled;
  else
    p->died++;
  char name[160], msg[256];
  mproc__pool_member_name(p, i, name, sizeof name);
  int run_code = why_it_died(p, i, code, name, msg, sizeof msg);
  mproc_task_error_t e_run = mproc__task_error(run_code, msg);
  if (w->kill_reason == MPROC_ETASKTIMEOUT) {
    mproc__task_t *k = w->held.head;
    while (k && k->id != w->kill_task)
      k = k->next;
    snprintf(msg, sizeof msg, "%s ran past the task's time limit of %d ms", name,
             k ? k->timeout_ms : 0);
  } else if (w->kill_reason == MPROC_ECANCELED) {
    snprintf(msg, sizeof msg, "cancelled: %s was killed", name);
  }
  mproc_task_error_t e_kill = mproc__task_error(w->kill_reason, msg);
  mproc__pool_sign(p, i, &e_run);
  mproc__pool_sign(p, i, &e_kill);
  e_run.worker_exitcode = e_kill.worker_exitcode = code;
  mproc__pool_settle_held(p, w, running, &e_run, w->kill_reason ? w->kill_task : 0, &e_kill);
  /* A worker that ended before its initializer finished (it said so, or
   * it died in it, or its memory cap stopped it: a cap below what a
   * worker needs to start) is a failed start; three in a row break the
   * pool instead of restarting workers for ever (Python's bpo-gh-87472). */
  bool capped = w->kill_reason == MPROC_EMEMLIMIT || run_code == MPROC_EMEMLIMIT;
  bool unready = !atomic_load(&p->slots[i].ready) && !asked && (!w->kill_reason || capped) &&
                 p->state != MPROC__POOL_TERMINATING;
  if (unready && capped)
    say_cap_hit(p, i, name, "before it was ready", p->init_why, sizeof p->init_why);
  if (w->init_failed || unready) {
    if (++p->init_failures >= MPROC__POOL_INIT_FAILURES && !p->broken)
      p->broken = MPROC_EINIT;
  }
  mproc__log(MPROC_LOG_DEBUG, "%s ended with %d", name, code);
  release_member(w);
  mproc__os_cond_broadcast(p->core->ready);
}

/* Empty slots get a new worker while the pool runs, or while work is left
 * after close. Called without the lock (a start takes a while). */
static bool replace(mproc_pool_t *p) {
  bool progress = false;
  for (int i = 0; i < p->n; i++) {
    if (p->w[i].state != MPROC__MEMBER_EMPTY || p->state == MPROC__POOL_TERMINATING || p->broken)
      continue;
    if (p->state == MPROC__POOL_CLOSED && !mproc__pool_work_left(p))
      continue;
    p->w[i].state = MPROC__MEMBER_STOPPING; /* reserved while we start it unlocked */
    uint64_t seq = ++p->worker_seq;
    mproc__os_mutex_unlock(p->core->lock);
    mproc__member_t fresh;
    int rc = start_worker(p, i, seq, &fresh);
    mproc__os_mutex_lock(p->core->lock);
    if (rc) {
      snprintf(p->init_why, sizeof p->init_why, "%s", mproc_last_error_detail());
      mproc__log(MPROC_LOG_WARNING, "pool: cannot start a worker: %s", p->init_why);
      p->w[i].state = MPROC__MEMBER_EMPTY;
      if (++p->init_failures >= MPROC__POOL_INIT_FAILURES && !p->broken)
        p->broken = MPROC_EINIT;
    } else {
      p->w[i] = fresh;
      p->started++;
      progress = true;
    }
  }
  if (p->broken == MPROC_EINIT) {
    char why[MPROC__RESULT_MESSAGE_MAX + 100];
    snprintf(why, sizeof why,
             "the pool's initializer (or worker start) failed 3 times in a row%s%s",
             p->init_why[0] ? "; the last time: " : "", p->init_why);
    mproc__pool_fail_queue(p, p->broken, why);
  }
  return progress;
}

/* Tells worker i to stop after what its inbox holds; 0 when sent. */
static int send_stop(mproc_pool_t *p, int i) {
  unsigned char stop[MPROC__TASK_HEAD];
  mproc__task_head_put(stop, &(mproc__task_head_t){.kind = MPROC__TASK_STOP});
  return mproc_queue_put_bytes(p->w[i].inbox, stop, sizeof stop, 0);
}

/* Takes every result there is now. It looks before it takes: a get that
 * finds the queue empty formats its error's detail, which cost more than
 * a result's whole intake (perf: vsnprintf on every round). */
static bool drain(mproc_pool_t *p) {
  bool progress = false;
  while (!mproc_queue_empty(p->results)) {
    size_t len;
    int rc = mproc_queue_get_bytes_into(p->results, p->rbuf, p->rcap, &len, 0);
    if (rc == MPROC_ETOOBIG) {
      unsigned char *bigger = realloc(p->rbuf, len);
      if (!bigger)
        break;
      p->rbuf = bigger;
      p->rcap = len;
      continue;
    }
    if (rc)
      break;
    mproc__os_mutex_lock(p->core->lock);
    mproc__pool_record(p, p->rbuf, len);
    mproc__os_mutex_unlock(p->core->lock);
    progress = true;
  }
  return progress;
}

/* Whether member i's memory cap has just stopped it: its OOM killer
 * acted, and the kernel is tearing it down (which takes milliseconds for
 * a large worker), so its running task fails now rather than when it is
 * reaped. It gets no more tasks; bury hands on the rest. */
static bool stopped_by_cap(mproc_pool_t *p, int i) {
  mproc__member_t *w = &p->w[i];
  intptr_t s = w->memcap ? mproc__os_memcap_sentinel(w->memcap) : -1;
  if (w->state != MPROC__MEMBER_LIVE || w->kill_reason || s < 0 || !mproc__os_sentinel_ready(s) ||
      !mproc__os_memcap_hit(w->memcap))
    return false;
  w->kill_reason = MPROC_EMEMLIMIT;
  mproc__os_mutex_unlock(p->core->lock);
  drain(p); /* what it finished before is kept */
  mproc__os_mutex_lock(p->core->lock);
  uint64_t running = mproc__pool_begun_task(p, i);
  mproc__task_t *t = running ? mproc__tasks_take(w, running) : NULL;
  if (t) {
    char name[160], msg[256];
    mproc__pool_member_name(p, i, name, sizeof name);
    say_cap_hit(p, i, name, "while running it", msg, sizeof msg); /* the hit was read above */
    mproc_task_error_t e = mproc__task_error(MPROC_EMEMLIMIT, msg);
    mproc__pool_sign(p, i, &e);
    e.worker_exitcode = -9;
    mproc__pool_fail_task(p, t, &e);
  }
  return true;
}

/* Workers that ended, found without blocking; buried after every result
 * they committed was taken. Under the lock; drops it to drain. */
static bool find_ended(mproc_pool_t *p) {
  bool ended[256], any = false;
  for (int i = 0; i < p->n; i++)
    any |= stopped_by_cap(p, i);
  bool *e = p->n <= 256 ? ended : calloc((size_t)p->n, sizeof *e);
  if (!e)
    return false;
  for (int i = 0; i < p->n; i++) {
    e[i] = p->w[i].state == MPROC__MEMBER_LIVE && mproc_process_is_alive(p->w[i].proc) == 0;
    any |= e[i];
  }
  if (any) {
    mproc__os_mutex_unlock(p->core->lock);
    drain(p);
    mproc__os_mutex_lock(p->core->lock);
    for (int i = 0; i < p->n; i++)
      if (e[i] && p->w[i].state == MPROC__MEMBER_LIVE)
        bury(p, i);
  }
  if (e != ended)
    free(e);
  return any;
}

/* Sleeps until a result, a wakeup, a worker's end (or its memory cap's
 * OOM kill) or timeout_ms. */
static void sleep_for_events(mproc_pool_t *p, int timeout_ms) {
  size_t n = 0;
  mproc_waitable_t *ws = malloc(((size_t)p->n * 2 + 2) * sizeof *ws);
  size_t *ready = malloc(((size_t)p->n * 2 + 2) * sizeof *ready);
  if (!ws || !ready) {
    free(ws);
    free(ready);
    mproc__os_mutex_unlock(p->core->lock);
    mproc__os_mutex_lock(p->core->lock);
    return;
  }
  ws[n++] = mproc_waitable_queue(p->results);
  ws[n++] = mproc_waitable_conn(p->wake_rd);
  for (int i = 0; i < p->n; i++) {
    mproc__member_t *w = &p->w[i];
    if (w->state != MPROC__MEMBER_LIVE)
      continue;
    ws[n++] = mproc_waitable_process(w->proc);
    intptr_t oom = w->memcap && !w->kill_reason ? mproc__os_memcap_sentinel(w->memcap) : -1;
    if (oom >= 0)
      ws[n++] = mproc_waitable_sentinel(oom);
  }
  mproc__os_mutex_unlock(p->core->lock);
  size_t nready = 0;
  mproc_wait(ws, n, timeout_ms, ready, &nready);
  mproc__pool_drain_wakeups(p);
  mproc__os_mutex_lock(p->core->lock);
  free(ws);
  free(ready);
}

/* ---- the members interface ---------------------------------------------------- */

static int open_local(mproc_pool_t *p) {
  int rc = mproc_queue_new(&p->results,
                           &(mproc_queue_opts_t){.capacity_bytes = MPROC__POOL_RESULT_BYTES});
  if (!rc)
    rc = mproc_array_new(&p->slot_array, MPROC_T_U8, (size_t)p->n * sizeof(mproc__worker_slot_t),
                         &(mproc_value_opts_t){.lock = MPROC_NO_LOCK});
  if (!rc)
    p->slots = mproc_array_ptr(p->slot_array);
  return rc;
}

static int start_local(mproc_pool_t *p, int i) {
  return start_worker(p, i, ++p->worker_seq, &p->w[i]);
}

/* Its handles over the channel, then the task into its inbox. */
static int send_local(mproc_pool_t *p, int i, const mproc__task_t *t) {
  mproc__member_t *w = &p->w[i];
  int rc = 0;
  if (t->handles.n)
    rc = mproc__os_conn_send_handles(mproc__conn_os(w->channel), mproc__process_os_child(w->proc),
                                     t->handles.h, t->handles.n);
  if (rc)
    return rc;
  rc = mproc_queue_put_bytes(w->inbox, t->msg.data, t->msg.len, 0);
  /* Larger than the inbox's free room (a big argument): this worker is
   * idle, reading its inbox, so stream it, looking every 100 ms whether it
   * still lives. */
  while (rc == MPROC_EFULL && w->held.n == 0) {
    rc = mproc_queue_put_bytes(w->inbox, t->msg.data, t->msg.len, 100);
    if (rc == MPROC_ETIMEDOUT && mproc_process_is_alive(w->proc) != 1)
      return MPROC_EEOF;
    if (rc == MPROC_ETIMEDOUT)
      rc = MPROC_EFULL;
  }
  return rc;
}

/* Dead (find_ended buries it) or its inbox full: the next round. */
static bool send_failed_local(mproc_pool_t *p, int i) {
  (void)p, (void)i;
  return false;
}

static void describe_local(const mproc_pool_t *p, int i, char *buf, size_t cap) {
  snprintf(buf, cap, "%s (pid %lld)", mproc_process_name(p->w[i].proc), (long long)p->w[i].pid);
}

/* A kill: bury then fails the task with why. */
static void stop_local(mproc_pool_t *p, int i, int why, uint64_t task) {
  mproc__member_t *w = &p->w[i];
  w->kill_reason = why;
  w->kill_task = task;
  mproc_process_kill(w->proc);
}

static void terminate_local(mproc_pool_t *p, int i) { mproc_process_terminate(p->w[i].proc); }

static void kill_all_local(mproc_pool_t *p) {
  for (int i = 0; i < p->n; i++)
    if (p->w[i].state == MPROC__MEMBER_LIVE)
      mproc_process_kill(p->w[i].proc);
}

/* A result usually follows a dispatch within microseconds. */
static bool linger_local(mproc_pool_t *p) {
  bool coming = false;
  mproc__os_mutex_unlock(p->core->lock);
  for (int k = 0; k < SPIN_ROUNDS && !coming; k++) {
    coming = !mproc_queue_empty(p->results);
    mproc__os_cpu_relax();
  }
  mproc__os_mutex_lock(p->core->lock);
  return coming;
}

/* Member i has ended or was killed (kill_all): waits for it, frees its
 * pieces. */
static int recv_handles_local(mproc_pool_t *p, int i, intptr_t *h, size_t n) {
  return mproc__os_conn_recv_handles(mproc__conn_os(p->w[i].channel), h, n);
}

static void release_local(mproc_pool_t *p, int i) {
  if (p->w[i].proc)
    mproc_process_join(p->w[i].proc, MPROC_INFINITE);
  release_member(&p->w[i]);
}

static void close_local(mproc_pool_t *p) {
  mproc_queue_free(p->results);
  mproc_array_free(p->slot_array);
}

const mproc__members_t mproc__local_members = {
    .open = open_local,
    .start = start_local,
    .send = send_local,
    .send_failed = send_failed_local,
    .send_stop = send_stop,
    .describe = describe_local,
    .recv_handles = recv_handles_local,
    .drain = drain,
    .find_ended = find_ended,
    .stop = stop_local,
    .terminate = terminate_local,
    .kill_all = kill_all_local,
    .replace = replace,
    .rebalance = rebalance,
    .linger = linger_local,
    .sleep = sleep_for_events,
    .release = release_local,
    .close = close_local,
    .carries_handles = true,
    .init_broken = "the initializer failed 3 times in a row",
};
