/* Task lists, and what becomes of tasks: failed alike, settled when
 * their worker is gone, signed with the worker that ran them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/pool_types.h"

void mproc__tasks_push(mproc__task_list_t *l, mproc__task_t *t) {
  t->next = NULL;
  if (l->tail)
    l->tail->next = t;
  else
    l->head = t;
  l->tail = t;
  l->n++;
}

mproc__task_t *mproc__tasks_pop(mproc__task_list_t *l) {
  mproc__task_t *t = l->head;
  if (t) {
    l->head = t->next;
    if (!l->head)
      l->tail = NULL;
    l->n--;
  }
  return t;
}

/* Puts t back at the front of l (it goes out first in the next round). */
void mproc__tasks_push_front(mproc__task_list_t *l, mproc__task_t *t) {
  t->next = l->head;
  l->head = t;
  if (!l->tail)
    l->tail = t;
  l->n++;
}

/* Puts a whole list behind another, keeping both orders. */
void mproc__tasks_append(mproc__task_list_t *to, mproc__task_list_t *from) {
  if (!from->head)
    return;
  if (to->tail)
    to->tail->next = from->head;
  else
    to->head = from->head;
  to->tail = from->tail;
  to->n += from->n;
  *from = (mproc__task_list_t){0};
}

/* Puts a whole list in front of another, keeping both orders. */
void mproc__tasks_prepend(mproc__task_list_t *to, mproc__task_list_t *from) {
  if (!from->head)
    return;
  from->tail->next = to->head;
  if (!to->tail)
    to->tail = from->tail;
  to->head = from->head;
  to->n += from->n;
  *from = (mproc__task_list_t){0};
}

void mproc__task_free(mproc__task_t *t) {
  mproc__buf_free(&t->msg);
  mproc__handle_table_free(&t->handles);
  free(t);
}

mproc__task_t *mproc__tasks_take(mproc__member_t *w, uint64_t id) {
  mproc__task_t *prev = NULL;
  for (mproc__task_t *t = w->held.head; t; prev = t, t = t->next) {
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

/* How messages name worker i: "PoolWorker-3 (pid 123)", "MPI rank 2 on n7". */
void mproc__pool_member_name(const mproc_pool_t *p, int i, char *buf, size_t cap) {
  p->members->describe(p, i, buf, cap);
}

/* Says in e which worker (i) it was, as every backend can: its index, its
 * name, its pid on its host. */
void mproc__pool_sign(const mproc_pool_t *p, int i, mproc_task_error_t *e) {
  e->worker = i;
  e->worker_pid = p->w[i].pid;
  mproc__pool_member_name(p, i, e->worker_name, sizeof e->worker_name);
}

/* The same worker as another error's (a cancelled task beside the one
 * that failed). */
void mproc__pool_sign_as(mproc_task_error_t *e, const mproc_task_error_t *like) {
  e->worker = like->worker;
  e->worker_pid = like->worker_pid;
  memcpy(e->worker_name, like->worker_name, sizeof e->worker_name);
}

/* The end of one of r's tasks: once all have ended its callbacks are due
 * on the pool's thread (run_due), which then makes it ready. */
void mproc__pool_chunk_done(mproc_pool_t *p, mproc_async_result_t *r) {
  if (!mproc__result_chunk_done(r) || mproc__ptrlist_add(&p->due, r) == 0)
    return;
  /* No memory to queue it: ready without its callback, rather than never. */
  mproc__result_callbacks_done(r);
  mproc__result_unref_locked(r);
}

/* Records the outcome of a task whose items all failed alike. */
void mproc__pool_fail_task(mproc_pool_t *p, mproc__task_t *t, const mproc_task_error_t *e) {
  for (size_t i = 0; i < t->count; i++)
    mproc__result_item_failed(t->r, t->first + i, e);
  p->failed += t->count;
  mproc__pool_chunk_done(p, t->r);
  mproc__task_free(t);
}

void mproc__pool_fail_queue(mproc_pool_t *p, int code, const char *why) {
  for (mproc__task_t *t; (t = mproc__tasks_pop(&p->queue)) != NULL;) {
    mproc_task_error_t e = mproc__task_error(code, why);
    mproc__pool_fail_task(p, t, &e);
  }
}

/* A worker is gone: its task that ran (running) fails with e_run, the one
 * it was killed for (kill_task) with e_kill, cancelled ones with
 * MPROC_ECANCELED; the ones it never began go to other workers. */
void mproc__pool_settle_held(mproc_pool_t *p, mproc__member_t *w, uint64_t running,
                             const mproc_task_error_t *e_run, uint64_t kill_task,
                             const mproc_task_error_t *e_kill) {
  mproc__task_list_t again = {0};
  for (mproc__task_t *t; (t = mproc__tasks_pop(&w->held)) != NULL;) {
    if (mproc__result_cancelled(t->r)) {
      mproc_task_error_t e = mproc__task_error(MPROC_ECANCELED, "cancelled");
      mproc__pool_sign_as(&e, e_run);
      mproc__pool_fail_task(p, t, &e);
    } else if (kill_task && t->id == kill_task) {
      mproc__pool_fail_task(p, t, e_kill);
    } else if (t->id == running) {
      mproc__pool_fail_task(p, t, e_run);
    } else {
      mproc__tasks_push(&again, t); /* never started: it runs elsewhere */
    }
  }
  mproc__tasks_prepend(&p->queue, &again);
}

/* Whether there is work a new worker would do. */
bool mproc__pool_work_left(const mproc_pool_t *p) {
  if (p->queue.head)
    return true;
  for (int i = 0; i < p->n; i++)
    if (p->w[i].state != MPROC__MEMBER_EMPTY && p->w[i].held.n)
      return true;
  return false;
}

unsigned mproc__pool_live_members(const mproc_pool_t *p) {
  unsigned n = 0;
  for (int i = 0; i < p->n; i++)
    n += p->w[i].state == MPROC__MEMBER_LIVE;
  return n;
}
