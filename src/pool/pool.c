/* The process pool (see pool.h and docs/pool.md).
 *
 * The pool's own thread does everything but the submitting: it hands tasks
 * to workers, records their results, notices dead workers, enforces time
 * limits, replaces workers and runs callbacks. Python needs three threads
 * for this; the pool waits on all its sources at once with mproc_wait.
 *
 * Each worker has its own inbox (a queue) holding at most prefetch tasks
 * beyond the one it runs, and a slot in a shared table where it says which
 * task it runs. So the pool always knows which tasks a worker holds, and
 * when a worker dies it can tell the one it was running (which fails, with
 * MPROC_EWORKERDIED) from the ones it never started (which go to other
 * workers). A single shared task queue, as Python's Pool has, cannot tell:
 * a worker that dies between taking a task and saying so loses it, and
 * Pool.get() waits forever.
 *
 * Invariant on a death: every result the worker committed is taken from
 * the result queue first; only a task with no result is failed or handed
 * on. The result queue survives a killed writer (queue.c): a result is
 * either whole or absent.
 *
 * Workers elsewhere (opts.backend: MPI ranks) take the same tasks as
 * messages through the backend, which moves bytes and nothing else. There
 * is no shared slot table there: the pool knows which task a worker runs
 * from the order of its replies (it runs its tasks one after another), and
 * it cannot kill or replace one - a worker that runs past a time limit or
 * goes silent is retired, failing the task it ran. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args/fnref.h"
#include "connection/connection_internal.h"
#include "core/log_internal.h"
#include "core/ptrlist.h"
#include "mproc/pool.h"
#include "mproc/pool_backend.h"
#include "pool/pool_internal.h"
#include "pool/pool_wire.h"
#include "pool/pool_worker.h"
#include "process/bootstrap.h"
#include "process/process_internal.h"

enum {
  DEFAULT_PREFETCH = 2,
  SHORT_TASK_PREFETCH = 16, /* while a worker's tasks take under SHORT_TASK_US */
  SHORT_TASK_US = 100,
  DEFAULT_GRACE_MS = 1000,
  INBOX_BYTES = 256 * 1024,
  RESULT_BYTES = 1024 * 1024,
  INIT_FAILURES = 3,       /* in a row: the pool is broken */
  LIVENESS_CHECK_MS = 1,   /* how often a busy pool looks for dead workers */
  SPIN_ROUNDS = 64,        /* looks at the result queue before sleeping */
  START_POLL_MS = 5,       /* how soon to look whether a time-limited task began */
  REMOTE_LOOK_MS = 100,    /* how often to ask whether workers elsewhere still live */
  REMOTE_IDLE_SPIN_US = 50 /* how long an idle pool with workers elsewhere looks for work */
};

typedef struct task {
  struct task *next;
  uint64_t id;
  mproc_async_result_t *r;
  size_t first, count; /* items of r */
  mproc__buf_t msg;    /* the task as the worker reads it */
  mproc__handle_table_t handles;
  int timeout_ms;
} task_t;

typedef struct {
  task_t *head, *tail;
  size_t n;
} task_list_t;

typedef enum { W_EMPTY, W_LIVE, W_STOPPING } worker_state_t;

typedef struct {
  worker_state_t state;
  mproc_process_t *proc;
  mproc_queue_t *inbox;
  mproc_conn_t *channel; /* handles go to the worker here */
  task_list_t held;      /* tasks in its inbox or running, in order */
  uint64_t given;        /* tasks given so far (maxtasksperchild) */
  int64_t pid;
  int64_t last_result_us; /* when its last result came */
  int64_t task_us;        /* a moving average of its time per task, busy */
  int kill_reason;        /* 0, MPROC_ETASKTIMEOUT or MPROC_ECANCELED: why we killed it */
  uint64_t kill_task;
  bool init_failed;
  bool stop_sent;
} worker_t;

typedef enum { RUNNING, CLOSED, TERMINATING } pool_state_t;

struct mproc_pool {
  mproc__pool_core_t *core; /* its lock guards everything below */
  mproc_pool_opts_t o;
  const mproc_pool_backend_t *remote; /* workers elsewhere; NULL: processes of ours */
  bool remote_open;
  void *own_slots; /* the slot table when workers are elsewhere */
  bool adaptive;   /* opts.prefetch was 0: deeper inboxes for short tasks */
  int n;
  worker_t *w;
  mproc_queue_t *results;
  mproc_array_t *slot_array;
  mproc__worker_slot_t *slots;
  mproc_args_t *initargs;
  unsigned char init_fn[MPROC__FNREF_PACKED_MAX];
  size_t init_fn_len;
  mproc_conn_t *wake_rd, *wake_wr;
  mproc__os_thread_t *thread;
  bool quit, sleeping;
  bool kicked; /* wake was called since the pool's thread last looked */
  pool_state_t state;
  int64_t grace_deadline;
  int broken; /* 0, or MPROC_EINIT */
  int init_failures;
  char init_why[MPROC__RESULT_MESSAGE_MAX + 1]; /* the last failed start's reason */
  int next_worker;                              /* where the search for the least loaded starts */
  uint64_t next_id;
  task_list_t queue;
  mproc__ptrlist_t due; /* results whose callbacks are due */
  bool in_callbacks;    /* the pool's thread is running some (join waits) */
  unsigned char *rbuf;  /* the pool thread's buffer for results */
  size_t rcap;
  int64_t last_liveness_ms;
  uint64_t started, died, recycled, done, failed, worker_seq;
};

/* ---- small helpers -------------------------------------------------------- */

static void list_push(task_list_t *l, task_t *t) {
  t->next = NULL;
  if (l->tail)
    l->tail->next = t;
  else
    l->head = t;
  l->tail = t;
  l->n++;
}

static task_t *list_pop(task_list_t *l) {
  task_t *t = l->head;
  if (t) {
    l->head = t->next;
    if (!l->head)
      l->tail = NULL;
    l->n--;
  }
  return t;
}

/* Puts a whole list in front of another, keeping both orders. */
static void list_prepend(task_list_t *to, task_list_t *from) {
  if (!from->head)
    return;
  from->tail->next = to->head;
  if (!to->tail)
    to->tail = from->tail;
  to->head = from->head;
  to->n += from->n;
  *from = (task_list_t){0};
}

static void task_free(task_t *t) {
  mproc__buf_free(&t->msg);
  mproc__handle_table_free(&t->handles);
  free(t);
}

static void wake(mproc_pool_t *p) {
  /* Seen by the pool's thread before it sleeps, even when it is awake now
   * but has let the lock go (running callbacks) since it last looked. */
  p->kicked = true;
  if (p->sleeping && !mproc__os_thread_is_current(p->thread)) {
    p->sleeping = false;
    if (p->remote)
      p->remote->wake(p->remote->ctx);
    mproc_conn_send_bytes(p->wake_wr, "w", 1);
  }
}

/* How messages name worker i: "PoolWorker-3 (pid 123)", "MPI rank 2 on n7". */
static void worker_name(const mproc_pool_t *p, int i, char *buf, size_t cap) {
  if (p->remote)
    p->remote->describe(p->remote->ctx, i, buf, cap);
  else
    snprintf(buf, cap, "%s (pid %lld)", mproc_process_name(p->w[i].proc), (long long)p->w[i].pid);
}

/* A worker elsewhere runs its tasks in the order given: the first it
 * holds is the one running, since the previous one's reply came. */
static void note_running(mproc_pool_t *p, int i) {
  task_t *t = p->w[i].held.head;
  atomic_store(&p->slots[i].since_ms, mproc__os_now_ms());
  atomic_store(&p->slots[i].running, t ? t->id : 0);
}

/* The end of one of r's tasks: once all have ended its callbacks are due
 * on the pool's thread (run_due), which then makes it ready. */
static void chunk_done(mproc_pool_t *p, mproc_async_result_t *r) {
  if (!mproc__result_chunk_done(r) || mproc__ptrlist_add(&p->due, r) == 0)
    return;
  /* No memory to queue it: ready without its callback, rather than never. */
  mproc__result_callbacks_done(r);
  mproc__result_unref_locked(r);
}

/* Records the outcome of a task whose items all failed alike. */
static void fail_task(mproc_pool_t *p, task_t *t, const mproc_task_error_t *e) {
  for (size_t i = 0; i < t->count; i++)
    mproc__result_item_failed(t->r, t->first + i, e);
  p->failed += t->count;
  chunk_done(p, t->r);
  task_free(t);
}

static mproc_task_error_t error_of(int code, const char *message) {
  mproc_task_error_t e;
  memset(&e, 0, sizeof e);
  e.code = code;
  e.worker = -1;
  snprintf(e.message, sizeof e.message, "%s", message ? message : "");
  return e;
}

/* Says in e which worker (i) it was, as every backend can: its index, its
 * name, its pid on its host. */
static void sign(const mproc_pool_t *p, int i, mproc_task_error_t *e) {
  e->worker = i;
  e->worker_pid = p->w[i].pid;
  worker_name(p, i, e->worker_name, sizeof e->worker_name);
}

/* The same worker as another error's (a cancelled task beside the one
 * that failed). */
static void sign_as(mproc_task_error_t *e, const mproc_task_error_t *like) {
  e->worker = like->worker;
  e->worker_pid = like->worker_pid;
  memcpy(e->worker_name, like->worker_name, sizeof e->worker_name);
}

/* ---- workers ----------------------------------------------------------------- */

/* Starts a worker for slot i into *w (its inbox and channel are new);
 * seq numbers its name. Touches nothing of p that the lock guards but
 * what never changes, so the pool thread calls it unlocked. */
static int start_worker(mproc_pool_t *p, int i, uint64_t seq, worker_t *w) {
  mproc_conn_t *ours = NULL, *theirs = NULL;
  mproc_queue_t *inbox = NULL;
  mproc_args_t *a = NULL;
  mproc_process_t *proc = NULL;
  /* Atomic stores: mproc_pool_stats may read the slot meanwhile. */
  atomic_store(&p->slots[i].running, 0);
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
  if (!rc)
    rc = mproc_process_start(proc);
  if (rc) {
    mproc_process_free(proc);
    mproc_queue_free(inbox);
    mproc_conn_free(ours);
    return rc;
  }
  *w = (worker_t){.state = W_LIVE,
                  .proc = proc,
                  .inbox = inbox,
                  .channel = ours,
                  .pid = mproc_process_pid(proc)};
  return 0;
}

static void release_worker(worker_t *w) {
  mproc_process_free(w->proc);
  mproc_queue_free(w->inbox);
  mproc_conn_free(w->channel);
  *w = (worker_t){.state = W_EMPTY};
}

static bool may_take(const mproc_pool_t *p, const worker_t *w) {
  if (w->state != W_LIVE || w->stop_sent || w->kill_reason)
    return false;
  if (p->o.maxtasksperchild && w->given >= p->o.maxtasksperchild)
    return false;
  /* Short tasks get a deeper inbox: a worker that finishes a task every
   * few microseconds would otherwise sleep and be woken for each one. */
  size_t depth = p->o.prefetch == MPROC_PREFETCH_NONE ? 0
                 : p->adaptive && w->task_us > 0 && w->task_us < SHORT_TASK_US
                     ? SHORT_TASK_PREFETCH
                     : (size_t)p->o.prefetch;
  return w->held.n < depth + 1;
}

/* Gives t to worker w: its handles over the channel, then the task. */
static int give(mproc_pool_t *p, worker_t *w, task_t *t) {
  int rc = 0;
  if (p->remote) {
    int i = (int)(w - p->w);
    if ((rc = p->remote->send(p->remote->ctx, i, t->msg.data, t->msg.len)) != 0)
      return rc;
    list_push(&w->held, t);
    w->given++;
    if (w->held.n == 1)
      note_running(p, i);
    return 0;
  }
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
  if (rc)
    return rc;
  list_push(&w->held, t);
  w->given++;
  return 0;
}

static void retire(mproc_pool_t *p, int i, int why, const char *text);

static task_t *take_held(worker_t *w, uint64_t id);

/* Whether worker v holds tasks it has not begun that the pool may take
 * back: behind the one it runs, none with handles (those went ahead on
 * its channel and it expects them), no stop after them. */
static bool may_steal_from(const worker_t *v) {
  if (v->state != W_LIVE || v->stop_sent || v->kill_reason || v->held.n < 2)
    return false;
  for (const task_t *t = v->held.head; t; t = t->next)
    if (t->handles.n)
      return false;
  return true;
}

/* A worker with nothing to do takes a task another holds and has not
 * begun, from that one's inbox (a queue the pool may read too): no task
 * waits behind a running one while a worker is idle (a long task, then
 * short ones, on two workers: the short ones all run on the free one).
 * Whichever of the two reads the inbox first gets the task. */
static bool steal(mproc_pool_t *p) {
  bool progress = false;
  for (int i = 0; i < p->n && !p->remote && !p->queue.head; i++) {
    worker_t *idle = &p->w[i];
    if (idle->held.n || !may_take(p, idle))
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
    task_t *t = h.id ? take_held(&p->w[v], h.id) : NULL;
    mproc_free(m);
    if (!t)
      continue;
    p->w[v].given--;
    if (give(p, idle, t) != 0) {
      t->next = p->queue.head; /* the next round hands it out */
      p->queue.head = t;
      if (!p->queue.tail)
        p->queue.tail = t;
      p->queue.n++;
    }
    progress = true;
  }
  return progress;
}

/* Hands queued tasks out, each to the worker holding the fewest (an idle
 * worker first, as from Python's shared task queue), while some have room. */
static bool dispatch(mproc_pool_t *p) {
  bool progress = false;
  while (p->queue.head) {
    int best = -1;
    for (int k = 0; k < p->n; k++) {
      int i = (p->next_worker + k) % p->n;
      if (!may_take(p, &p->w[i]))
        continue;
      if (best < 0 || p->w[i].held.n < p->w[best].held.n)
        best = i;
      /* Among workers elsewhere as loaded, the one heard from last: it
       * is still polling, where one idle longer sleeps between polls. */
      else if (p->remote && p->w[i].held.n == p->w[best].held.n &&
               p->w[i].last_result_us > p->w[best].last_result_us)
        best = i;
    }
    if (best < 0)
      break;
    p->next_worker = (best + 1) % p->n;
    task_t *t = list_pop(&p->queue);
    if (give(p, &p->w[best], t) != 0) {
      /* Dead, or its inbox full: the task waits for the next round. */
      t->next = p->queue.head;
      p->queue.head = t;
      if (!p->queue.tail)
        p->queue.tail = t;
      p->queue.n++;
      if (p->remote) {
        /* No round comes for a worker elsewhere that cannot be sent to. */
        char text[400];
        snprintf(text, sizeof text, "could not be sent a task (%s)", mproc_last_error_detail());
        retire(p, best, MPROC_EWORKERDIED, text);
        continue;
      }
      break;
    }
    progress = true;
  }
  return progress;
}

/* A worker is gone: its task that ran (running) fails with e_run, the one
 * it was killed for (kill_task) with e_kill, cancelled ones with
 * MPROC_ECANCELED; the ones it never began go to other workers. */
static void settle_held(mproc_pool_t *p, worker_t *w, uint64_t running,
                        const mproc_task_error_t *e_run, uint64_t kill_task,
                        const mproc_task_error_t *e_kill) {
  task_list_t again = {0};
  for (task_t *t; (t = list_pop(&w->held)) != NULL;) {
    if (t->r->cancelled) {
      mproc_task_error_t e = error_of(MPROC_ECANCELED, "cancelled");
      sign_as(&e, e_run);
      fail_task(p, t, &e);
    } else if (kill_task && t->id == kill_task) {
      fail_task(p, t, e_kill);
    } else if (t->id == running) {
      fail_task(p, t, e_run);
    } else {
      list_push(&again, t); /* never started: it runs elsewhere */
    }
  }
  list_prepend(&p->queue, &again);
}

/* A worker process ended: fail what it was running, hand on what it never
 * began. */
static void bury(mproc_pool_t *p, int i) {
  worker_t *w = &p->w[i];
  int code = 0;
  mproc_process_join(w->proc, MPROC_INFINITE);
  mproc_process_exitcode(w->proc, &code);
  uint64_t running = atomic_load_explicit(&p->slots[i].running, memory_order_acquire);
  bool asked = w->stop_sent && code == 0;
  bool recycled = code == 0 && p->o.maxtasksperchild && w->given >= p->o.maxtasksperchild;
  if (recycled || asked)
    p->recycled += recycled;
  else
    p->died++;
  char name[160], msg[256];
  worker_name(p, i, name, sizeof name);
  if (code < 0)
    snprintf(msg, sizeof msg, "%s died of signal %d while running it%s", name, -code,
             code == -9 ? " (SIGKILL: killed, perhaps by the OOM killer)" : "");
  else if (code && (uint32_t)code == atomic_load(&p->slots[i].exit_reason))
    snprintf(msg, sizeof msg, "%s exited while running it: %s (status %d)", name,
             mproc__pool_worker_exit_text(code), code);
  else if (code == MPROC__WORKER_BAD_ARGS || code == MPROC__CHILD_FAILED)
    snprintf(msg, sizeof msg,
             "%s exited with status %d while running it: %s, or the task "
             "exited so",
             name, code, mproc__pool_worker_exit_text(code));
  else
    snprintf(msg, sizeof msg,
             "%s exited with status %d while running it (the task ended the "
             "process: exit() or abort()?)",
             name, code);
  mproc_task_error_t e_run = error_of(MPROC_EWORKERDIED, msg);
  if (w->kill_reason == MPROC_ETASKTIMEOUT) {
    task_t *k = w->held.head;
    while (k && k->id != w->kill_task)
      k = k->next;
    snprintf(msg, sizeof msg, "%s ran past the task's time limit of %d ms", name,
             k ? k->timeout_ms : 0);
  } else if (w->kill_reason == MPROC_ECANCELED) {
    snprintf(msg, sizeof msg, "cancelled: %s was killed", name);
  }
  mproc_task_error_t e_kill = error_of(w->kill_reason, msg);
  sign(p, i, &e_run);
  sign(p, i, &e_kill);
  e_run.worker_exitcode = e_kill.worker_exitcode = code;
  settle_held(p, w, running, &e_run, w->kill_reason ? w->kill_task : 0, &e_kill);
  /* A worker that ended before its initializer finished (it said so, or
   * it died in it) is a failed start; three in a row break the pool
   * instead of restarting workers for ever (Python's bpo-gh-87472). */
  bool unready =
      !atomic_load(&p->slots[i].ready) && !asked && !w->kill_reason && p->state != TERMINATING;
  if (w->init_failed || unready) {
    if (++p->init_failures >= INIT_FAILURES && !p->broken)
      p->broken = MPROC_EINIT;
  }
  mproc__log(MPROC_LOG_DEBUG, "%s ended with %d", name, code);
  release_worker(w);
  mproc__os_cond_broadcast(p->core->ready);
}

static unsigned live_workers(const mproc_pool_t *p);
static void fail_queue(mproc_pool_t *p, int code, const char *why);

/* A worker elsewhere that cannot go on in this pool (it ran past a time
 * limit, went silent, was cancelled, or its initializer failed): the task
 * it runs fails with why, the rest run elsewhere, and it gets nothing
 * more. When none is left the pool is broken. */
static void retire(mproc_pool_t *p, int i, int why, const char *text) {
  worker_t *w = &p->w[i];
  char name[160], msg[400];
  worker_name(p, i, name, sizeof name);
  snprintf(msg, sizeof msg, "%s %s", name, text);
  mproc__log(MPROC_LOG_WARNING, "pool: %s", msg);
  mproc_task_error_t e = error_of(why, msg);
  sign(p, i, &e);
  /* What it may have begun fails; the rest runs elsewhere, and the
   * backend sees to it that the worker never begins it. Its INIT, when
   * unanswered, is the first of what it was sent. */
  int begun = p->remote->forget(p->remote->ctx, i);
  bool init_pending = !atomic_load(&p->slots[i].ready) && !w->init_failed;
  if (init_pending && begun > 0)
    begun--;
  for (; begun > 0 && w->held.head; begun--) {
    task_t *t = list_pop(&w->held);
    if (t->r->cancelled) {
      mproc_task_error_t c = error_of(MPROC_ECANCELED, "cancelled");
      sign_as(&c, &e);
      fail_task(p, t, &c);
    } else {
      fail_task(p, t, &e);
    }
  }
  settle_held(p, w, 0, &e, 0, &e);
  p->died++;
  *w = (worker_t){.state = W_EMPTY};
  if (!live_workers(p) && p->state != TERMINATING && !p->broken) {
    p->broken = why == MPROC_EINIT ? MPROC_EINIT : MPROC_EWORKERDIED;
    fail_queue(p, p->broken,
               why == MPROC_EINIT ? "no worker could run the pool's initializer"
                                  : "every worker of the pool was retired");
  }
  mproc__os_cond_broadcast(p->core->ready);
}

/* Whether there is work a new worker would do. */
static bool work_left(const mproc_pool_t *p) {
  if (p->queue.head)
    return true;
  for (int i = 0; i < p->n; i++)
    if (p->w[i].state != W_EMPTY && p->w[i].held.n)
      return true;
  return false;
}

static void fail_queue(mproc_pool_t *p, int code, const char *why) {
  for (task_t *t; (t = list_pop(&p->queue)) != NULL;) {
    mproc_task_error_t e = error_of(code, why);
    fail_task(p, t, &e);
  }
}

/* Empty slots get a new worker while the pool runs, or while work is left
 * after close. Called without the lock (a start takes a while). */
static bool replace_workers(mproc_pool_t *p) {
  bool progress = false;
  for (int i = 0; i < p->n && !p->remote; i++) {
    if (p->w[i].state != W_EMPTY || p->state == TERMINATING || p->broken)
      continue;
    if (p->state == CLOSED && !work_left(p))
      continue;
    p->w[i].state = W_STOPPING; /* reserved while we start it unlocked */
    uint64_t seq = ++p->worker_seq;
    mproc__os_mutex_unlock(p->core->lock);
    worker_t fresh;
    int rc = start_worker(p, i, seq, &fresh);
    mproc__os_mutex_lock(p->core->lock);
    if (rc) {
      snprintf(p->init_why, sizeof p->init_why, "%s", mproc_last_error_detail());
      mproc__log(MPROC_LOG_WARNING, "pool: cannot start a worker: %s", p->init_why);
      p->w[i].state = W_EMPTY;
      if (++p->init_failures >= INIT_FAILURES && !p->broken)
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
    fail_queue(p, p->broken, why);
  }
  return progress;
}

/* Kills worker i for why (its running task fails with it). */
static void kill_worker(mproc_pool_t *p, int i, int why, uint64_t task) {
  worker_t *w = &p->w[i];
  if (w->kill_reason)
    return;
  if (p->remote) {
    /* No kill reaches it: it is retired, and what it runs now fails. */
    char text[200];
    task_t *t = w->held.head;
    if (why == MPROC_ETASKTIMEOUT)
      snprintf(text, sizeof text,
               "ran past the task's time limit of %d ms (it cannot be killed: it gets no "
               "more tasks from this pool)",
               t ? t->timeout_ms : 0);
    else
      snprintf(text, sizeof text,
               "was running the task when it was cancelled (it gets no more "
               "tasks from this pool)");
    retire(p, i, why, text);
    return;
  }
  w->kill_reason = why;
  w->kill_task = task;
  mproc_process_kill(w->proc);
}

/* Time limits: kills a worker whose task ran too long; returns the
 * milliseconds until the next limit (MPROC_INFINITE: none). */
static int enforce_limits(mproc_pool_t *p) {
  int64_t now = mproc__os_now_ms(), next = -1;
  for (int i = 0; i < p->n; i++) {
    worker_t *w = &p->w[i];
    if (w->state != W_LIVE || w->kill_reason || !w->held.head)
      continue;
    uint64_t running = atomic_load_explicit(&p->slots[i].running, memory_order_acquire);
    task_t *t = w->held.head;
    if (t->timeout_ms <= 0)
      continue;
    if (running != t->id) {
      /* Given but not begun yet: its limit starts when it does, and
       * nothing will wake the pool then - look again shortly. */
      if (next < 0 || now + START_POLL_MS < next)
        next = now + START_POLL_MS;
      continue;
    }
    int64_t deadline = atomic_load(&p->slots[i].since_ms) + t->timeout_ms;
    if (now >= deadline) {
      mproc__log(MPROC_LOG_INFO, "pool: task %llu ran past %d ms; killing its worker",
                 (unsigned long long)t->id, t->timeout_ms);
      kill_worker(p, i, MPROC_ETASKTIMEOUT, t->id);
    } else if (next < 0 || deadline < next) {
      next = deadline;
    }
  }
  if (p->state == TERMINATING && p->grace_deadline) {
    if (now >= p->grace_deadline) {
      for (int i = 0; i < p->n; i++)
        if (p->w[i].state == W_LIVE && !p->remote)
          mproc_process_kill(p->w[i].proc);
      p->grace_deadline = 0;
    } else if (next < 0 || p->grace_deadline < next) {
      next = p->grace_deadline;
    }
  }
  if (next < 0)
    return MPROC_INFINITE;
  return next - now > INT32_MAX ? INT32_MAX : (int)(next - now);
}

/* ---- results ------------------------------------------------------------------- */

static task_t *take_held(worker_t *w, uint64_t id) {
  task_t *prev = NULL;
  for (task_t *t = w->held.head; t; prev = t, t = t->next) {
    if (t->id != id)
      continue;
    if (prev)
      prev->next = t->next;
    else
      w->held.head = t->next;
    if (w->held.tail == t)
      w->held.tail = prev;
    w->held.n--;
    return t;
  }
  return NULL;
}

/* A chunk's payload: (results, failures), results holding a result tuple
 * or nil per item, failures (index, status, message) per failed item.
 * Result tuples move into r: no copies. */
static void record_chunk(mproc_pool_t *p, task_t *t, mproc_args_t *payload, int worker) {
  mproc_args_t *results = NULL;
  const mproc_args_t *failures = NULL;
  if (mproc__args_take_tuple(payload, 0, &results) != 0 ||
      mproc_args_get_args(payload, 1, &failures) != 0 || mproc_args_count(results) != t->count) {
    mproc_task_error_t e = error_of(MPROC_EPROTO, "a malformed result");
    for (size_t i = 0; i < t->count; i++)
      mproc__result_item_failed(t->r, t->first + i, &e);
    p->failed += t->count;
    mproc_args_free(results);
    return;
  }
  for (size_t i = 0; i < t->count; i++) {
    mproc_args_t *value;
    if (mproc__args_take_tuple(results, i, &value) == 0) {
      mproc__result_item_ok(t->r, t->first + i, value);
      p->done++;
    }
  }
  for (size_t k = 0; k < mproc_args_count(failures); k++) {
    const mproc_args_t *f;
    int64_t index = -1, status = 0;
    const char *msg = "";
    if (mproc_args_get_args(failures, k, &f) || mproc_args_get_int(f, 0, &index) ||
        mproc_args_get_int(f, 1, &status) || mproc_args_get_str(f, 2, &msg) || index < 0 ||
        (uint64_t)index >= t->count)
      continue;
    mproc_task_error_t e = error_of(MPROC_ETASKFAILED, msg);
    e.task_status = (int)status;
    sign(p, worker, &e);
    mproc__result_item_failed(t->r, t->first + (size_t)index, &e);
    p->failed++;
  }
  mproc_args_free(results);
}

/* Records one result message (under the lock). */
static void record(mproc_pool_t *p, const unsigned char *m, size_t len) {
  mproc__result_head_t h;
  if (len < MPROC__RESULT_HEAD)
    return;
  mproc__result_head_get(m, &h);
  if (h.worker >= (uint32_t)p->n || h.message_len > len - MPROC__RESULT_HEAD ||
      h.message_len > MPROC__RESULT_MESSAGE_MAX)
    return;
  worker_t *w = &p->w[h.worker];
  char msg[MPROC__RESULT_MESSAGE_MAX + 1];
  memcpy(msg, m + MPROC__RESULT_HEAD, h.message_len);
  msg[h.message_len] = '\0';
  if (h.kind == MPROC__RESULT_INIT && h.status == 0) {
    atomic_store(&p->slots[h.worker].ready, 1); /* a worker elsewhere is ready */
    return;
  }
  if (h.kind == MPROC__RESULT_INIT) {
    w->init_failed = true;
    snprintf(p->init_why, sizeof p->init_why, "%s", msg);
    mproc__log(MPROC_LOG_WARNING, "pool: a worker's initializer failed (%d): %s", h.status, msg);
    if (p->remote && w->state == W_LIVE) {
      char text[MPROC__RESULT_MESSAGE_MAX + 64];
      if (msg[0])
        snprintf(text, sizeof text, "could not run the pool's initializer: %s", msg);
      else
        snprintf(text, sizeof text, "could not run the pool's initializer: it returned %d",
                 h.status);
      retire(p, (int)h.worker, MPROC_EINIT, text);
    }
    return;
  }
  if (h.kind == MPROC__RESULT_STOPPED) {
    if (p->remote && w->state == W_LIVE && w->stop_sent && !w->held.n) {
      *w = (worker_t){.state = W_EMPTY};
      mproc__os_cond_broadcast(p->core->ready);
    }
    return;
  }
  bool busy = w->state != W_EMPTY && w->held.n > 1;
  task_t *t = w->state != W_EMPTY ? take_held(w, h.id) : NULL;
  if (!t)
    return; /* a task already failed (its worker was killed) */
  if (p->remote)
    note_running(p, (int)h.worker);
  int64_t now = mproc__os_now_us();
  if (busy && w->last_result_us) {
    /* Back to back: the gap is the task's time (and the pool's). An idle
     * gap measures nothing and leaves the average alone. */
    int64_t dt = now - w->last_result_us;
    w->task_us = w->task_us ? (w->task_us * 7 + dt) / 8 : dt;
  }
  w->last_result_us = now;
  p->init_failures = 0;
  const unsigned char *payload = m + MPROC__RESULT_HEAD + h.message_len;
  size_t plen = len - MPROC__RESULT_HEAD - h.message_len;
  mproc_args_t *value = NULL;
  int rc = 0;
  if (h.kind == MPROC__RESULT_OK && plen)
    rc = mproc_args_decode(&value, payload, plen);
  if (h.kind == MPROC__RESULT_OK && !rc && t->r->kind == MPROC__RESULT_MAP) {
    record_chunk(p, t, value, (int)h.worker);
    mproc_args_free(value);
  } else if (h.kind == MPROC__RESULT_OK && !rc) {
    mproc__result_item_ok(t->r, t->first, value);
    p->done += t->count;
  } else {
    int code = rc                               ? rc
               : h.kind == MPROC__RESULT_FAILED ? MPROC_ETASKFAILED
                                                : (h.status < 0 ? h.status : MPROC_EPROTO);
    mproc_task_error_t e = error_of(code, rc ? mproc_last_error_detail() : msg);
    if (p->remote && h.kind == MPROC__RESULT_ERROR) {
      /* The library failed there: say where (another build, say). */
      char name[160];
      worker_name(p, (int)h.worker, name, sizeof name);
      size_t at = (size_t)snprintf(e.message, sizeof e.message, "%s: ", name);
      if (at < sizeof e.message)
        snprintf(e.message + at, sizeof e.message - at, "%.*s", (int)(sizeof e.message - at - 1),
                 rc ? mproc_last_error_detail() : msg);
    }
    e.task_status = h.kind == MPROC__RESULT_FAILED ? h.status : 0;
    sign(p, (int)h.worker, &e);
    for (size_t i = 0; i < t->count; i++)
      mproc__result_item_failed(t->r, t->first + i, &e);
    p->failed += t->count;
  }
  chunk_done(p, t->r);
  task_free(t);
}

/* Takes every result there is now. */
static bool drain_results(mproc_pool_t *p) {
  bool progress = false;
  while (p->remote) {
    int worker;
    void *m;
    size_t len;
    if (p->remote->poll(p->remote->ctx, &worker, &m, &len) != 1)
      break;
    mproc__os_mutex_lock(p->core->lock);
    /* The worker's index in the head is the one the backend vouches for. */
    if (len >= MPROC__RESULT_HEAD && worker >= 0 && worker < p->n) {
      mproc__put_u32((unsigned char *)m + 20, (uint32_t)worker);
      record(p, m, len);
    }
    mproc__os_mutex_unlock(p->core->lock);
    free(m);
    progress = true;
  }
  for (; !p->remote;) {
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
    record(p, p->rbuf, len);
    mproc__os_mutex_unlock(p->core->lock);
    progress = true;
  }
  return progress;
}

/* Callbacks run without the lock; then the pool drops its reference. */
static void run_due(mproc_pool_t *p) {
  while (p->due.n) {
    mproc__ptrlist_t due = p->due;
    p->due = (mproc__ptrlist_t){0};
    p->in_callbacks = true;
    mproc__os_mutex_unlock(p->core->lock);
    for (size_t i = 0; i < due.n; i++)
      mproc__result_run_callbacks(due.items[i]);
    mproc__os_mutex_lock(p->core->lock);
    for (size_t i = 0; i < due.n; i++) {
      mproc__result_callbacks_done(due.items[i]);
      mproc__result_unref_locked(due.items[i]);
    }
    mproc__ptrlist_clear(&due);
    p->in_callbacks = false;
    mproc__os_cond_broadcast(p->core->ready); /* join waits for callbacks too */
  }
}

/* ---- the pool's thread ---------------------------------------------------------- */

static unsigned live_workers(const mproc_pool_t *p) {
  unsigned n = 0;
  for (int i = 0; i < p->n; i++)
    n += p->w[i].state == W_LIVE;
  return n;
}

/* Workers that ended, found without blocking; buried after every result
 * they committed was taken. Under the lock; drops it to drain. */
static bool check_workers(mproc_pool_t *p) {
  if (p->remote) {
    bool any = false;
    for (int i = 0; i < p->n; i++)
      if (p->w[i].state == W_LIVE && p->w[i].held.n && !p->remote->alive(p->remote->ctx, i)) {
        retire(p, i, MPROC_EWORKERDIED, "went silent (no heartbeat) while running it");
        any = true;
      }
    return any;
  }
  bool ended[256], any = false;
  bool *e = p->n <= 256 ? ended : calloc((size_t)p->n, sizeof *e);
  if (!e)
    return false;
  for (int i = 0; i < p->n; i++) {
    e[i] = p->w[i].state == W_LIVE && mproc_process_is_alive(p->w[i].proc) == 0;
    any |= e[i];
  }
  if (any) {
    mproc__os_mutex_unlock(p->core->lock);
    drain_results(p);
    mproc__os_mutex_lock(p->core->lock);
    for (int i = 0; i < p->n; i++)
      if (e[i] && p->w[i].state == W_LIVE)
        bury(p, i);
  }
  if (e != ended)
    free(e);
  return any;
}

/* Tells worker i to stop (to leave the pool, for one elsewhere), after
 * what it was given; 0 when sent. */
static int send_stop(mproc_pool_t *p, int i) {
  unsigned char stop[MPROC__TASK_HEAD];
  mproc__task_head_put(stop, &(mproc__task_head_t){.kind = MPROC__TASK_STOP});
  return p->remote ? p->remote->send(p->remote->ctx, i, stop, sizeof stop)
                   : mproc_queue_put_bytes(p->w[i].inbox, stop, sizeof stop, 0);
}

/* After close: a worker with nothing left to do is told to stop. */
static void stop_idle(mproc_pool_t *p) {
  if (p->state != CLOSED || p->queue.head)
    return;
  for (int i = 0; i < p->n; i++) {
    worker_t *w = &p->w[i];
    if (w->state != W_LIVE || w->stop_sent || (p->remote && w->held.n))
      continue;
    if (send_stop(p, i) == 0)
      w->stop_sent = true;
  }
}

/* Takes the wakeups sent (one byte per sleep, at most a few). */
static void drain_wakeups(mproc_pool_t *p) {
  char bytes[64];
  size_t got;
  while (mproc_conn_recv_bytes_into(p->wake_rd, bytes, sizeof bytes, &got, 0) == 0) {
  }
}

/* Whether a worker elsewhere owes the pool a reply. */
static bool replies_due(const mproc_pool_t *p) {
  for (int i = 0; p->remote && i < p->n; i++)
    if (p->w[i].state == W_LIVE && (p->w[i].held.n || p->w[i].stop_sent))
      return true;
  return false;
}

/* Sleeps until a result, a wakeup, a worker's end or timeout_ms. */
static void sleep_for_events(mproc_pool_t *p, int timeout_ms) {
  size_t n = 0;
  if (replies_due(p)) {
    /* Replies are due: the backend waits for them (and for a wakeup),
     * not for ever - a worker gone silent is noticed only by looking. */
    if (timeout_ms < 0 || timeout_ms > REMOTE_LOOK_MS)
      timeout_ms = REMOTE_LOOK_MS;
    mproc__os_mutex_unlock(p->core->lock);
    p->remote->wait(p->remote->ctx, timeout_ms);
    drain_wakeups(p);
    mproc__os_mutex_lock(p->core->lock);
    return;
  }
  mproc_waitable_t *ws = malloc(((size_t)p->n + 2) * sizeof *ws);
  size_t *ready = malloc(((size_t)p->n + 2) * sizeof *ready);
  if (!ws || !ready) {
    free(ws);
    free(ready);
    mproc__os_mutex_unlock(p->core->lock);
    mproc__os_mutex_lock(p->core->lock);
    return;
  }
  if (!p->remote)
    ws[n++] = mproc_waitable_queue(p->results);
  ws[n++] = mproc_waitable_conn(p->wake_rd);
  for (int i = 0; i < p->n && !p->remote; i++)
    if (p->w[i].state == W_LIVE)
      ws[n++] = mproc_waitable_process(p->w[i].proc);
  mproc__os_mutex_unlock(p->core->lock);
  size_t nready = 0;
  mproc_wait(ws, n, timeout_ms, ready, &nready);
  drain_wakeups(p);
  mproc__os_mutex_lock(p->core->lock);
  free(ws);
  free(ready);
}

static void pool_thread(void *arg) {
  mproc_pool_t *p = arg;
  mproc__os_mutex_lock(p->core->lock);
  while (!p->quit) {
    mproc__os_mutex_unlock(p->core->lock);
    bool progress = drain_results(p);
    mproc__os_mutex_lock(p->core->lock);
    int64_t now = mproc__os_now_ms();
    if (!progress || now - p->last_liveness_ms >= LIVENESS_CHECK_MS) {
      p->last_liveness_ms = now;
      progress |= check_workers(p);
    }
    int next_limit = enforce_limits(p);
    progress |= replace_workers(p);
    progress |= dispatch(p);
    progress |= steal(p);
    stop_idle(p);
    run_due(p);
    bool kicked = p->kicked;
    p->kicked = false;
    if (progress || kicked || p->quit)
      continue;
    /* Nothing to do: look a little longer before sleeping, since a result
     * usually follows a dispatch within microseconds. From here on a
     * submitter must wake us (sleeping is set before the lock is let go),
     * or a task submitted during the look would wait for the next event. */
    bool coming = false;
    p->sleeping = true;
    mproc__os_mutex_unlock(p->core->lock);
    for (int k = 0; k < SPIN_ROUNDS && !coming && !p->remote; k++) {
      coming = !mproc_queue_empty(p->results);
      mproc__os_cpu_relax();
    }
    mproc__os_mutex_lock(p->core->lock);
    if (p->remote && !replies_due(p)) {
      /* Idle with workers elsewhere: the next submission (a caller's next
       * apply) usually comes within microseconds of the last result. */
      int64_t until = mproc__os_now_us() + REMOTE_IDLE_SPIN_US;
      while (p->sleeping && !p->quit && mproc__os_now_us() < until) {
        mproc__os_mutex_unlock(p->core->lock);
        for (int k = 0; k < 16; k++)
          mproc__os_cpu_relax();
        mproc__os_mutex_lock(p->core->lock);
      }
      coming = !p->sleeping;
    }
    if (!coming && !p->quit && !p->due.n)
      sleep_for_events(p, next_limit);
    p->sleeping = false;
  }
  mproc__os_mutex_unlock(p->core->lock);
}

/* ---- making and ending a pool -------------------------------------------------- */

/* Worker i elsewhere joins the pool: it gets its index, the initializer
 * and its arguments, and says when it is ready (record). */
static int greet_remote(mproc_pool_t *p, int i) {
  mproc__buf_t m = {0};
  mproc__task_head_t h = {
      .kind = MPROC__TASK_INIT, .begin = (uint64_t)i, .fnref_len = (uint32_t)p->init_fn_len};
  int rc = mproc__buf_reserve(&m, MPROC__TASK_HEAD + p->init_fn_len + 64);
  if (!rc) {
    m.len = MPROC__TASK_HEAD;
    mproc__task_head_put(m.data, &h);
    rc = mproc__buf_append(&m, p->init_fn, p->init_fn_len);
  }
  if (!rc && (rc = mproc__args_encode_into(p->initargs, &m, NULL)) != 0)
    mproc__fail_prefix(rc, "the initializer's arguments hold an IPC object: it cannot reach a "
                           "worker elsewhere");
  if (!rc)
    rc = p->remote->send(p->remote->ctx, i, m.data, m.len);
  mproc__buf_free(&m);
  if (!rc)
    p->w[i] =
        (worker_t){.state = W_LIVE, .pid = p->remote->pid ? p->remote->pid(p->remote->ctx, i) : 0};
  return rc;
}

int mproc_pool_new(mproc_pool_t **out, const mproc_pool_opts_t *opts) {
  if (!out)
    return mproc__fail(MPROC_EINVAL, "pool_new: out is NULL");
  mproc_pool_opts_t o = opts ? *opts : (mproc_pool_opts_t){0};
  if (o.processes < 0 || o.task_timeout_ms < 0 || o.terminate_grace_ms < 0)
    return mproc__fail(MPROC_EINVAL, "pool_new: processes and timeouts may not be negative");
  const mproc_pool_backend_t *be = o.backend;
  if (be && (!be->open || !be->send || !be->poll || !be->wait || !be->wake || !be->alive ||
             !be->forget || !be->close || !be->describe))
    return mproc__fail(MPROC_EINVAL, "pool_new: the backend lacks an operation");
  if (be && o.maxtasksperchild)
    return mproc__fail(MPROC_ENOTSUP,
                       "pool_new: maxtasksperchild needs workers that can be "
                       "replaced; the %s backend's cannot",
                       be->name ? be->name : "given");
  int available = 0;
  if (be) {
    int rc = be->open(be->ctx, &available);
    if (rc)
      return rc;
    if (available < 1 || o.processes > available) {
      be->close(be->ctx);
      return mproc__fail(MPROC_EINVAL, "pool_new: %d workers asked for; the %s backend has %d",
                         o.processes, be->name ? be->name : "given", available);
    }
    if (o.processes == 0)
      o.processes = available;
  }
  if (o.processes == 0)
    o.processes = mproc_cpu_count();
  bool adaptive = o.prefetch == 0;
  if (o.prefetch == 0)
    o.prefetch = DEFAULT_PREFETCH;
  if (o.terminate_grace_ms == 0)
    o.terminate_grace_ms = DEFAULT_GRACE_MS;
  mproc_pool_t *p = calloc(1, sizeof *p);
  mproc__pool_core_t *core = calloc(1, sizeof *core);
  if (!p || !core) {
    free(p);
    free(core);
    if (be)
      be->close(be->ctx);
    return mproc__fail(MPROC_ENOMEM, "pool_new: out of memory");
  }
  p->remote = be;
  p->remote_open = be != NULL;
  atomic_init(&core->refs, 1);
  core->doorbell = -1;
  p->core = core;
  p->o = o;
  p->adaptive = adaptive;
  p->n = o.processes;
  int rc = mproc__os_mutex_new(&core->lock);
  if (!rc)
    rc = mproc__os_cond_new(&core->ready);
  if (!rc)
    rc = mproc__os_doorbell_new(&core->doorbell);
  if (!rc && !(p->w = calloc((size_t)p->n, sizeof *p->w)))
    rc = mproc__fail(MPROC_ENOMEM, "pool_new: out of memory");
  if (!rc && !be)
    rc = mproc_queue_new(&p->results, &(mproc_queue_opts_t){.capacity_bytes = RESULT_BYTES});
  if (!rc && !be)
    rc = mproc_array_new(&p->slot_array, MPROC_T_U8, (size_t)p->n * sizeof(mproc__worker_slot_t),
                         &(mproc_value_opts_t){.lock = MPROC_NO_LOCK});
  if (!rc && be && !(p->own_slots = calloc((size_t)p->n, sizeof(mproc__worker_slot_t))))
    rc = mproc__fail(MPROC_ENOMEM, "pool_new: out of memory");
  if (!rc) {
    p->slots = be ? p->own_slots : mproc_array_ptr(p->slot_array);
    rc = mproc_pipe(&p->wake_rd, &p->wake_wr, false);
  }
  if (!rc)
    rc = o.initargs ? mproc__args_copy(o.initargs, &p->initargs) : mproc_args_new(&p->initargs);
  if (!rc && o.initializer &&
      (rc = mproc__fnref_pack_fn((mproc__fn_t)o.initializer, p->init_fn, sizeof p->init_fn,
                                 &p->init_fn_len)) != 0)
    mproc__error_prefix("pool_new: initializer");
  p->rcap = 64 * 1024;
  if (!rc && !(p->rbuf = malloc(p->rcap)))
    rc = mproc__fail(MPROC_ENOMEM, "pool_new: out of memory");
  /* The first workers start here, from the calling thread: under fork,
   * before the pool's own thread exists. */
  for (int i = 0; i < p->n && !rc && be; i++) {
    rc = greet_remote(p, i);
    if (rc)
      mproc__error_prefix("pool_new");
    else
      p->started++;
  }
  for (int i = 0; i < p->n && !rc && !be; i++) {
    rc = start_worker(p, i, ++p->worker_seq, &p->w[i]);
    if (rc)
      mproc__error_prefix("pool_new");
    else
      p->started++;
  }
  if (!rc)
    rc = mproc__os_thread_start(&p->thread, pool_thread, p);
  if (rc) {
    p->state = TERMINATING;
    for (int i = 0; i < p->n; i++)
      if (p->w && p->w[i].state == W_LIVE && !be) {
        mproc_process_kill(p->w[i].proc);
        mproc_process_join(p->w[i].proc, MPROC_INFINITE);
        release_worker(&p->w[i]);
      }
    p->thread = NULL;
    mproc_pool_free(p);
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
  if (p->state == RUNNING)
    p->state = CLOSED;
  wake(p);
  mproc__os_mutex_unlock(p->core->lock);
  return 0;
}

static void terminate_locked(mproc_pool_t *p) {
  if (p->state == TERMINATING)
    return;
  p->state = TERMINATING;
  fail_queue(p, MPROC_ECANCELED, "the pool was terminated");
  for (int i = 0; i < p->n; i++) {
    worker_t *w = &p->w[i];
    if (w->state != W_LIVE)
      continue;
    for (task_t *t = w->held.head; t; t = t->next)
      t->r->cancelled = true;
    if (!p->remote) {
      mproc_process_terminate(w->proc);
      continue;
    }
    /* A worker elsewhere cannot be stopped mid-task: what it holds fails
     * now, it drops what it has not begun, and leaves the pool. */
    mproc_task_error_t e = error_of(MPROC_ECANCELED, "the pool was terminated");
    sign(p, i, &e);
    settle_held(p, w, 0, &e, 0, &e);
    p->remote->forget(p->remote->ctx, i);
    send_stop(p, i);
    *w = (worker_t){.state = W_EMPTY};
  }
  mproc__os_cond_broadcast(p->core->ready);
  p->grace_deadline = mproc__os_now_ms() + p->o.terminate_grace_ms;
  wake(p);
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
  if (p->state == RUNNING)
    rc = mproc__fail(MPROC_ESTATE, "pool_join: call pool_close or pool_terminate first");
  while (!rc) {
    bool all_gone = true;
    for (int i = 0; i < p->n; i++)
      all_gone &= p->w[i].state == W_EMPTY;
    /* As Python's join: every callback has run too. */
    if (all_gone && (p->state == TERMINATING || !work_left(p)) && !p->due.n && !p->in_callbacks)
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
    p->sleeping = true; /* make wake() send even if the thread is about to sleep */
    wake(p);
    mproc__os_mutex_unlock(p->core->lock);
    mproc__os_thread_join(p->thread);
  }
  mproc__os_mutex_t *lock = p->core->lock;
  if (lock)
    mproc__os_mutex_lock(lock);
  p->core->pool_freed = true; /* results and iterators outlive p */
  fail_queue(p, MPROC_ECANCELED, "the pool was freed");
  run_due(p);
  if (lock)
    mproc__os_mutex_unlock(lock);
  for (int i = 0; p->w && i < p->n; i++)
    if (p->w[i].state != W_EMPTY)
      release_worker(&p->w[i]);
  free(p->w);
  if (p->remote_open)
    p->remote->close(p->remote->ctx);
  free(p->own_slots);
  mproc_queue_free(p->results);
  mproc_array_free(p->slot_array);
  mproc_conn_free(p->wake_rd);
  mproc_conn_free(p->wake_wr);
  mproc_args_free(p->initargs);
  mproc__ptrlist_clear(&p->due);
  free(p->rbuf);
  mproc__pool_core_release(p->core);
  free(p);
}

int mproc_pool_stats(mproc_pool_t *p, mproc_pool_stats_t *st) {
  if (!p || !st)
    return mproc__fail(MPROC_EINVAL, "pool_stats: %s is NULL", p ? "st" : "pool");
  mproc__os_mutex_lock(p->core->lock);
  memset(st, 0, sizeof *st);
  st->workers_alive = live_workers(p);
  st->workers_started = p->started;
  st->workers_died = p->died;
  st->workers_recycled = p->recycled;
  st->tasks_queued = p->queue.n;
  for (int i = 0; i < p->n; i++) {
    if (p->w[i].state != W_LIVE)
      continue; /* none, or being started (its slot is being reset) */
    bool runs = atomic_load(&p->slots[i].running) != 0;
    st->tasks_running += runs;
    st->tasks_queued += p->w[i].held.n - (runs && p->w[i].held.n ? 1 : 0);
  }
  st->tasks_done = p->done;
  st->tasks_failed = p->failed;
  mproc__os_mutex_unlock(p->core->lock);
  return 0;
}

/* ---- submitting ------------------------------------------------------------------ */

static int new_task(mproc_pool_t *p, const mproc__submit_t *s, const unsigned char *fn,
                    size_t fn_len, size_t first, size_t count, task_t **out) {
  task_t *t = calloc(1, sizeof *t);
  if (!t)
    return mproc__fail(MPROC_ENOMEM, "pool: out of memory");
  t->first = first;
  t->count = count;
  t->timeout_ms = s->timeout_ms ? s->timeout_ms : p->o.task_timeout_ms;
  mproc__task_head_t h = {.kind = s->kind == MPROC__RESULT_APPLY ? MPROC__TASK_APPLY
                                  : s->kind == MPROC__RESULT_MAP ? MPROC__TASK_CHUNK
                                                                 : MPROC__TASK_RANGE,
                          .begin = first,
                          .end = first + count,
                          .fnref_len = (uint32_t)fn_len};
  int rc = mproc__buf_reserve(&t->msg, MPROC__TASK_HEAD + fn_len + 64);
  if (!rc) {
    t->msg.len = MPROC__TASK_HEAD;
    rc = mproc__buf_append(&t->msg, fn, fn_len);
  }
  if (!rc) {
    /* No handle reaches a worker elsewhere: encoding without a table
     * refuses IPC objects. */
    mproc__handle_table_t *table = p->remote ? NULL : &t->handles;
    if (s->kind == MPROC__RESULT_MAP)
      rc = mproc__args_encode_items(s->args, first, count, s->wrap, &t->msg, table);
    else
      rc = mproc__args_encode_into(s->args, &t->msg, table);
    if (rc == MPROC_ENOTSUP && p->remote)
      mproc__fail(rc,
                  "pool: an IPC object in the arguments (a Lock, Queue, connection, shared "
                  "Value or Array...) cannot reach a worker of the %s backend, which may be on "
                  "another machine: pass the data itself",
                  p->remote->name ? p->remote->name : "given");
  }
  if (rc) {
    task_free(t);
    return rc;
  }
  h.nhandles = (uint32_t)t->handles.n;
  mproc__task_head_put(t->msg.data, &h);
  *out = t;
  return 0;
}

int mproc__pool_submit(mproc_pool_t *p, const mproc__submit_t *s, mproc_async_result_t **out) {
  if (!p || !s->fn || !out)
    return mproc__fail(MPROC_EINVAL, "pool: %s is NULL", !p ? "pool" : !s->fn ? "fn" : "out");
  if (s->timeout_ms < 0)
    return mproc__fail(MPROC_EINVAL, "pool: timeout %d ms is negative", s->timeout_ms);
  unsigned char fn[MPROC__FNREF_PACKED_MAX];
  size_t fn_len;
  int rc = mproc__fnref_pack_fn(s->fn, fn, sizeof fn, &fn_len);
  if (rc) {
    mproc__error_prefix("pool: the task function");
    return rc;
  }
  mproc_args_t *none = NULL;
  mproc__submit_t sub = *s;
  if (!sub.args) {
    if ((rc = mproc_args_new(&none)) != 0)
      return rc;
    sub.args = none;
  }
  size_t n = sub.kind == MPROC__RESULT_APPLY ? 1 : sub.n;
  size_t chunk = sub.chunksize;
  if (sub.kind != MPROC__RESULT_APPLY && chunk == 0) {
    size_t parts = (size_t)p->n * 4; /* Python's: ceil(n / (4 * processes)) */
    chunk = n / parts + (n % parts != 0);
  }
  if (chunk == 0)
    chunk = 1;
  size_t tasks = sub.kind == MPROC__RESULT_APPLY ? 1 : n / chunk + (n % chunk != 0);
  /* Encode every task first, outside the lock. */
  task_list_t list = {0};
  for (size_t first = 0; first < n && !rc; first += chunk) {
    size_t count = n - first < chunk ? n - first : chunk;
    task_t *t = NULL;
    if (sub.kind == MPROC__RESULT_APPLY)
      count = 1;
    rc = new_task(p, &sub, fn, fn_len, first, count, &t);
    if (!rc)
      list_push(&list, t);
    if (sub.kind == MPROC__RESULT_APPLY)
      break;
  }
  mproc_args_free(none);
  mproc_async_result_t *r = NULL;
  mproc__os_mutex_lock(p->core->lock);
  if (!rc && p->state != RUNNING)
    rc = mproc__fail(MPROC_ESTATE, "pool: the pool is %s",
                     p->state == CLOSED ? "closed" : "terminated");
  if (!rc && p->broken)
    rc = mproc__fail(p->broken, "pool: %s: the pool is broken",
                     p->broken == MPROC_EINIT
                         ? (p->remote ? "no worker could run the initializer"
                                      : "the initializer failed 3 times in a row")
                         : "every worker was retired");
  if (!rc)
    rc = mproc__result_new(&r, p->core, p, sub.kind, n, tasks);
  if (rc) {
    mproc__os_mutex_unlock(p->core->lock);
    for (task_t *t; (t = list_pop(&list)) != NULL;)
      task_free(t);
    return rc;
  }
  r->base = sub.first;
  r->callback = sub.callback;
  r->error_callback = sub.error_callback;
  r->ctx = sub.ctx;
  for (task_t *t = list.head; t; t = t->next) {
    t->r = r;
    t->id = ++p->next_id;
    mproc__put_u64(t->msg.data + 8, t->id);
  }
  if (n == 0) {
    r->chunks_left = 1;
    chunk_done(p, r);
  }
  if (list.head) {
    if (p->queue.tail)
      p->queue.tail->next = list.head;
    else
      p->queue.head = list.head;
    p->queue.tail = list.tail;
    p->queue.n += list.n;
  }
  wake(p);
  mproc__os_mutex_unlock(p->core->lock);
  *out = r;
  return 0;
}

int mproc__pool_cancel_locked(mproc_pool_t *p, mproc_async_result_t *r, unsigned flags) {
  /* Held by a worker? Then only a kill takes it back. */
  bool held = false;
  for (int i = 0; i < p->n; i++)
    for (task_t *t = p->w[i].state != W_EMPTY ? p->w[i].held.head : NULL; t; t = t->next)
      held |= t->r == r;
  if (held && !(flags & MPROC_CANCEL_KILL))
    return mproc__fail(MPROC_ESTATE, "async_result_cancel: a worker has the task already "
                                     "(MPROC_CANCEL_KILL stops it)");
  r->cancelled = true;
  task_list_t keep = {0};
  for (task_t *t; (t = list_pop(&p->queue)) != NULL;) {
    if (t->r != r) {
      list_push(&keep, t);
      continue;
    }
    mproc_task_error_t e = error_of(MPROC_ECANCELED, "cancelled");
    fail_task(p, t, &e);
  }
  p->queue = keep;
  for (int i = 0; held && i < p->n; i++) {
    worker_t *w = &p->w[i];
    for (task_t *t = w->state != W_EMPTY ? w->held.head : NULL; t; t = t->next)
      if (t->r == r) {
        kill_worker(p, i, MPROC_ECANCELED, atomic_load(&p->slots[i].running));
        break;
      }
  }
  wake(p);
  return 0;
}

/* ---- the public submitting calls ---------------------------------------------------- */

int mproc_pool_apply_async(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *args,
                           const mproc_task_opts_t *opts, mproc_async_result_t **out) {
  mproc_task_opts_t o = opts ? *opts : (mproc_task_opts_t){0};
  mproc__submit_t s = {.kind = MPROC__RESULT_APPLY,
                       .fn = (mproc__fn_t)fn,
                       .args = args,
                       .n = 1,
                       .timeout_ms = o.timeout_ms,
                       .callback = o.callback,
                       .error_callback = o.error_callback,
                       .ctx = o.ctx};
  return mproc__pool_submit(p, &s, out);
}

int mproc_pool_apply(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *args,
                     mproc_args_t **result) {
  if (!result)
    return mproc__fail(MPROC_EINVAL, "pool_apply: result is NULL");
  mproc_async_result_t *r;
  int rc = mproc_pool_apply_async(p, fn, args, NULL, &r);
  if (rc)
    return rc;
  rc = mproc_async_result_get(r, NULL, MPROC_INFINITE);
  if (!rc) {
    /* The result is ours alone: take its tuple instead of copying it. */
    mproc__os_mutex_lock(r->core->lock);
    *result = r->value;
    rc = mproc_args_new(&r->value);
    mproc__os_mutex_unlock(r->core->lock);
  }
  mproc_async_result_free(r);
  return rc;
}

static int map_async(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items, bool wrap,
                     const mproc_map_opts_t *opts, mproc_async_result_t **out) {
  if (!items)
    return mproc__fail(MPROC_EINVAL, "pool_map: items is NULL");
  mproc_map_opts_t o = opts ? *opts : (mproc_map_opts_t){0};
  mproc__submit_t s = {.kind = MPROC__RESULT_MAP,
                       .fn = (mproc__fn_t)fn,
                       .args = items,
                       .wrap = wrap,
                       .n = mproc_args_count(items),
                       .chunksize = o.chunksize,
                       .timeout_ms = o.timeout_ms,
                       .callback = o.callback,
                       .error_callback = o.error_callback,
                       .ctx = o.ctx};
  return mproc__pool_submit(p, &s, out);
}

static int map_wait(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items, bool wrap,
                    const mproc_map_opts_t *opts, mproc_args_t **results) {
  if (!results)
    return mproc__fail(MPROC_EINVAL, "pool_map: results is NULL");
  mproc_async_result_t *r;
  int rc = map_async(p, fn, items, wrap, opts, &r);
  if (rc)
    return rc;
  rc = mproc_async_result_get(r, NULL, MPROC_INFINITE);
  if (!rc) {
    /* The result is ours alone: take its tuple instead of copying it. */
    mproc__os_mutex_lock(r->core->lock);
    *results = r->value;
    rc = mproc_args_new(&r->value);
    mproc__os_mutex_unlock(r->core->lock);
  }
  mproc_async_result_free(r);
  return rc;
}

int mproc_pool_map(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items,
                   const mproc_map_opts_t *opts, mproc_args_t **results) {
  return map_wait(p, fn, items, true, opts, results);
}

int mproc_pool_starmap(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items,
                       const mproc_map_opts_t *opts, mproc_args_t **results) {
  return map_wait(p, fn, items, false, opts, results);
}

int mproc_pool_map_async(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items,
                         const mproc_map_opts_t *opts, mproc_async_result_t **out) {
  return map_async(p, fn, items, true, opts, out);
}

int mproc_pool_starmap_async(mproc_pool_t *p, mproc_task_fn fn, const mproc_args_t *items,
                             const mproc_map_opts_t *opts, mproc_async_result_t **out) {
  return map_async(p, fn, items, false, opts, out);
}

int mproc_pool_map_range(mproc_pool_t *p, mproc_range_fn fn, const mproc_args_t *ctx, size_t n,
                         const mproc_map_opts_t *opts) {
  mproc_map_opts_t o = opts ? *opts : (mproc_map_opts_t){0};
  mproc__submit_t s = {.kind = MPROC__RESULT_RANGE,
                       .fn = (mproc__fn_t)fn,
                       .args = ctx,
                       .n = n,
                       .chunksize = o.chunksize,
                       .timeout_ms = o.timeout_ms};
  mproc_async_result_t *r;
  int rc = mproc__pool_submit(p, &s, &r);
  if (rc)
    return rc;
  rc = mproc_async_result_get(r, NULL, MPROC_INFINITE);
  mproc_async_result_free(r);
  return rc;
}
