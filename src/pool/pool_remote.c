/* The pool's members behind an mproc_pool_backend_t (opts.backend: MPI
 * ranks, say). The backend moves bytes and nothing else. There is no
 * shared slot table: the pool knows which task a worker runs from the
 * order of its replies (it runs its tasks one after another), and it
 * cannot kill or replace one - a worker that runs past a time limit or
 * goes silent is retired, failing the task it ran. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log_internal.h"
#include "pool/pool_types.h"

enum {
  REMOTE_LOOK_MS = 100,    /* how often to ask whether workers elsewhere still live */
  REMOTE_IDLE_SPIN_US = 50 /* how long an idle pool with workers elsewhere looks for work */
};
/* A worker elsewhere runs its tasks in the order given: the first it
 * holds is the one running, since the previous one's reply came. */
static void note_running(mproc_pool_t *p, int i) {
  mproc__task_t *t = p->w[i].held.head;
  atomic_store(&p->slots[i].since_ms, mproc__os_now_ms());
  atomic_store(&p->slots[i].running, t ? t->id : 0);
}

/* A worker elsewhere that cannot go on in this pool (it ran past a time
 * limit, went silent, was cancelled, or its initializer failed): the task
 * it runs fails with why, the rest run elsewhere, and it gets nothing
 * more. When none is left the pool is broken. */
static void retire(mproc_pool_t *p, int i, int why, const char *text) {
  mproc__member_t *w = &p->w[i];
  char name[160], msg[400];
  mproc__pool_member_name(p, i, name, sizeof name);
  snprintf(msg, sizeof msg, "%s %s", name, text);
  mproc__log(MPROC_LOG_WARNING, "pool: %s", msg);
  mproc_task_error_t e = mproc__task_error(why, msg);
  mproc__pool_sign(p, i, &e);
  /* What it may have begun fails; the rest runs elsewhere, and the
   * backend sees to it that the worker never begins it. Its INIT, when
   * unanswered, is the first of what it was sent. */
  int begun = p->backend->forget(p->backend->ctx, i);
  bool init_pending = !atomic_load(&p->slots[i].ready) && !w->init_failed;
  if (init_pending && begun > 0)
    begun--;
  for (; begun > 0 && w->held.head; begun--) {
    mproc__task_t *t = mproc__tasks_pop(&w->held);
    if (mproc__result_cancelled(t->r)) {
      mproc_task_error_t c = mproc__task_error(MPROC_ECANCELED, "cancelled");
      mproc__pool_sign_as(&c, &e);
      mproc__pool_fail_task(p, t, &c);
    } else {
      mproc__pool_fail_task(p, t, &e);
    }
  }
  mproc__pool_settle_held(p, w, 0, &e, 0, &e);
  p->died++;
  *w = (mproc__member_t){.state = MPROC__MEMBER_EMPTY};
  if (!mproc__pool_live_members(p) && p->state != MPROC__POOL_TERMINATING && !p->broken) {
    p->broken = why == MPROC_EINIT ? MPROC_EINIT : MPROC_EWORKERDIED;
    mproc__pool_fail_queue(p, p->broken,
                           why == MPROC_EINIT ? "no worker could run the pool's initializer"
                                              : "every worker of the pool was retired");
  }
  mproc__os_cond_broadcast(p->core->ready);
}

/* Whether a worker elsewhere owes the pool a reply. */
static bool replies_due(const mproc_pool_t *p) {
  for (int i = 0; i < p->n; i++)
    if (p->w[i].state == MPROC__MEMBER_LIVE && (p->w[i].held.n || p->w[i].stop_sent))
      return true;
  return false;
}

/* Worker i elsewhere joins the pool: it gets its index, the initializer
 * and its arguments, and says when it is ready (record). */
static int greet(mproc_pool_t *p, int i) {
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
    rc = p->backend->send(p->backend->ctx, i, m.data, m.len);
  mproc__buf_free(&m);
  if (!rc)
    p->w[i] = (mproc__member_t){.state = MPROC__MEMBER_LIVE,
                                .pid = p->backend->pid ? p->backend->pid(p->backend->ctx, i) : 0};
  return rc;
}

/* ---- the members interface ---------------------------------------------------- */

static int open_remote(mproc_pool_t *p) {
  if (!(p->own_slots = calloc((size_t)p->n, sizeof(mproc__worker_slot_t))))
    return mproc__fail(MPROC_ENOMEM, "pool_new: out of memory");
  p->slots = p->own_slots;
  return 0;
}

static int send_remote(mproc_pool_t *p, int i, const mproc__task_t *t) {
  return p->backend->send(p->backend->ctx, i, t->msg.data, t->msg.len);
}

/* No round comes for a worker elsewhere that cannot be sent to. */
static bool send_failed_remote(mproc_pool_t *p, int i) {
  char text[400];
  snprintf(text, sizeof text, "could not be sent a task (%s)", mproc_last_error_detail());
  retire(p, i, MPROC_EWORKERDIED, text);
  return true;
}

/* To leave the pool. */
static int send_stop_remote(mproc_pool_t *p, int i) {
  unsigned char stop[MPROC__TASK_HEAD];
  mproc__task_head_put(stop, &(mproc__task_head_t){.kind = MPROC__TASK_STOP});
  return p->backend->send(p->backend->ctx, i, stop, sizeof stop);
}

static void describe_remote(const mproc_pool_t *p, int i, char *buf, size_t cap) {
  p->backend->describe(p->backend->ctx, i, buf, cap);
}

static bool drain_remote(mproc_pool_t *p) {
  bool progress = false;
  for (;;) {
    int worker;
    void *m;
    size_t len;
    if (p->backend->poll(p->backend->ctx, &worker, &m, &len) != 1)
      break;
    mproc__os_mutex_lock(p->core->lock);
    /* The worker's index in the head is the one the backend vouches for. */
    if (len >= MPROC__RESULT_HEAD && worker >= 0 && worker < p->n) {
      mproc__result_head_set_worker(m, (uint32_t)worker);
      mproc__pool_record(p, m, len);
    }
    mproc__os_mutex_unlock(p->core->lock);
    free(m);
    progress = true;
  }
  return progress;
}

static bool find_silent(mproc_pool_t *p) {
  bool any = false;
  for (int i = 0; i < p->n; i++)
    if (p->w[i].state == MPROC__MEMBER_LIVE && p->w[i].held.n &&
        !p->backend->alive(p->backend->ctx, i)) {
      retire(p, i, MPROC_EWORKERDIED, "went silent (no heartbeat) while running it");
      any = true;
    }
  return any;
}

/* No kill reaches it: it is retired, and what it runs now fails. */
static void stop_remote(mproc_pool_t *p, int i, int why, uint64_t task) {
  (void)task;
  char text[200];
  mproc__task_t *t = p->w[i].held.head;
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
}

/* A worker elsewhere cannot be stopped mid-task: what it holds fails now,
 * it drops what it has not begun, and leaves the pool. */
static void terminate_remote(mproc_pool_t *p, int i) {
  mproc_task_error_t e = mproc__task_error(MPROC_ECANCELED, "the pool was terminated");
  mproc__pool_sign(p, i, &e);
  mproc__pool_settle_held(p, &p->w[i], 0, &e, 0, &e);
  p->backend->forget(p->backend->ctx, i);
  send_stop_remote(p, i);
  p->w[i] = (mproc__member_t){.state = MPROC__MEMBER_EMPTY};
}

/* Idle with workers elsewhere: the next submission (a caller's next
 * apply) usually comes within microseconds of the last result. */
static bool linger_remote(mproc_pool_t *p) {
  if (replies_due(p))
    return false;
  int64_t until = mproc__os_now_us() + REMOTE_IDLE_SPIN_US;
  while (p->sleeping && !p->quit && mproc__os_now_us() < until) {
    mproc__os_mutex_unlock(p->core->lock);
    for (int k = 0; k < 16; k++)
      mproc__os_cpu_relax();
    mproc__os_mutex_lock(p->core->lock);
  }
  return !p->sleeping;
}

/* While replies are due the backend waits for them (and for a wakeup),
 * not for ever - a worker gone silent is noticed only by looking; else
 * only a wakeup (a submission) or a time limit ends the sleep. */
static void sleep_remote(mproc_pool_t *p, int timeout_ms) {
  bool due = replies_due(p);
  if (due && (timeout_ms < 0 || timeout_ms > REMOTE_LOOK_MS))
    timeout_ms = REMOTE_LOOK_MS;
  mproc__os_mutex_unlock(p->core->lock);
  if (due) {
    p->backend->wait(p->backend->ctx, timeout_ms);
  } else {
    mproc_waitable_t ws[1] = {mproc_waitable_conn(p->wake_rd)};
    size_t ready[1], nready = 0;
    mproc_wait(ws, 1, timeout_ms, ready, &nready);
  }
  mproc__pool_drain_wakeups(p);
  mproc__os_mutex_lock(p->core->lock);
}

static void wake_remote(mproc_pool_t *p) { p->backend->wake(p->backend->ctx); }

static void init_failed_remote(mproc_pool_t *p, int i, int status, const char *msg) {
  if (p->w[i].state != MPROC__MEMBER_LIVE)
    return;
  char text[MPROC__RESULT_MESSAGE_MAX + 64];
  if (msg[0])
    snprintf(text, sizeof text, "could not run the pool's initializer: %s", msg);
  else
    snprintf(text, sizeof text, "could not run the pool's initializer: it returned %d", status);
  retire(p, i, MPROC_EINIT, text);
}

/* It left the pool, as asked once it held nothing. */
static void stopped_remote(mproc_pool_t *p, int i) {
  mproc__member_t *w = &p->w[i];
  if (w->state == MPROC__MEMBER_LIVE && w->stop_sent && !w->held.n) {
    *w = (mproc__member_t){.state = MPROC__MEMBER_EMPTY};
    mproc__os_cond_broadcast(p->core->ready);
  }
}

static void release_remote(mproc_pool_t *p, int i) {
  p->w[i] = (mproc__member_t){.state = MPROC__MEMBER_EMPTY};
}

static void close_remote(mproc_pool_t *p) {
  if (p->backend_open)
    p->backend->close(p->backend->ctx);
  p->backend_open = false;
  free(p->own_slots);
}

const mproc__members_t mproc__remote_members = {
    .open = open_remote,
    .start = greet,
    .send = send_remote,
    .send_failed = send_failed_remote,
    .send_stop = send_stop_remote,
    .describe = describe_remote,
    .head_changed = note_running,
    .drain = drain_remote,
    .find_ended = find_silent,
    .stop = stop_remote,
    .terminate = terminate_remote,
    .linger = linger_remote,
    .sleep = sleep_remote,
    .wake = wake_remote,
    .init_failed = init_failed_remote,
    .stopped = stopped_remote,
    .release = release_remote,
    .close = close_remote,
    .stops_when_idle = true,
    .prefers_recent = true,
    .names_errors = true,
    .init_broken = "no worker could run the initializer",
};
