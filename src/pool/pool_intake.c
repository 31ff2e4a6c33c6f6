/* Intake: each result message as it comes (the outcome of a task, an
 * initializer's answer, a stop), and the callbacks once a result is due. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log_internal.h"
#include "pool/pool_types.h"
/* A chunk's payload: (results, failures), results holding a result tuple
 * or nil per item, failures (index, status, message) per failed item.
 * Here the payload is only checked and the results queued, still encoded
 * (mproc__result_add_pending): the caller's thread decodes them while
 * the rest come, so this thread, which every result passes, stays free. */
static void close_handles(const intptr_t *h, size_t n) {
  for (size_t i = 0; i < n; i++)
    mproc__os_close_handle(h[i]);
}

static void chunk_malformed(mproc_pool_t *p, mproc__task_t *t) {
  mproc_task_error_t e = mproc__task_error(MPROC_EPROTO, "a malformed result");
  for (size_t i = 0; i < t->count; i++)
    mproc__result_item_failed(t->r, t->first + i, &e);
  p->failed += t->count;
}

/* A chunk's failed items: (index, status, message) each. */
static void record_chunk_failures(mproc_pool_t *p, mproc__task_t *t, const mproc_args_t *failures,
                                  int worker) {
  for (size_t k = 0; k < mproc_args_count(failures); k++) {
    const mproc_args_t *f;
    int64_t index = -1, status = 0;
    const char *msg = "";
    if (mproc_args_get_args(failures, k, &f) || mproc_args_get_int(f, 0, &index) ||
        mproc_args_get_int(f, 1, &status) || mproc_args_get_str(f, 2, &msg) || index < 0 ||
        (uint64_t)index >= t->count)
      continue;
    mproc_task_error_t e = mproc__task_error(MPROC_ETASKFAILED, msg);
    e.task_status = (int)status;
    mproc__pool_sign(p, worker, &e);
    mproc__result_item_failed(t->r, t->first + (size_t)index, &e);
    p->failed++;
  }
}

static void record_chunk(mproc_pool_t *p, mproc__task_t *t, const unsigned char *payload,
                         size_t plen, int worker) {
  mproc_args_t *rest = NULL;
  const mproc_args_t *failures = NULL;
  size_t tuples = 0, at = 0, at_len = 0;
  if (mproc__args_split_results(payload, plen, t->count, &at, &at_len, &tuples, &rest) != 0 ||
      mproc_args_get_args(rest, 0, &failures) != 0 ||
      mproc__result_add_pending(t->r, t->first, t->count, tuples, payload + at, at_len) != 0) {
    chunk_malformed(p, t);
    mproc_args_free(rest);
    return;
  }
  p->done += tuples;
  record_chunk_failures(p, t, failures, worker);
  mproc_args_free(rest);
}

/* A chunk whose results hold objects: decoded here with their handles
 * (taken over: closed on failure), not left to the caller. */
static void record_chunk_objects(mproc_pool_t *p, mproc__task_t *t, const unsigned char *payload,
                                 size_t plen, int worker, const intptr_t *handles, size_t n) {
  mproc_args_t *all = NULL, *results = NULL, *failures = NULL;
  if (mproc__args_decode_objects(&all, payload, plen, handles, n, true) != 0 ||
      mproc_args_count(all) != 2 || mproc__args_take_tuple(all, 0, &results) != 0 ||
      mproc__args_take_tuple(all, 1, &failures) != 0 || mproc_args_count(results) != t->count) {
    chunk_malformed(p, t);
  } else {
    for (size_t i = 0; i < t->count; i++) {
      mproc_args_t *item = NULL;
      if (mproc_args_type(results, i) == MPROC_T_NIL)
        continue; /* a failed item: failures says why */
      if (mproc__args_take_tuple(results, i, &item) == 0) {
        mproc__result_item_ok(t->r, t->first + i, item);
        p->done++;
      } else {
        mproc_task_error_t e = mproc__task_error(MPROC_EPROTO, "a malformed result");
        mproc__result_item_failed(t->r, t->first + i, &e);
        p->failed++;
      }
    }
    record_chunk_failures(p, t, failures, worker);
  }
  mproc_args_free(results);
  mproc_args_free(failures);
  mproc_args_free(all);
}

/* A member's message that is about the member, not a task: its
 * initializer's answer, or its stop. true when h was one. */
static bool record_member(mproc_pool_t *p, const mproc__result_head_t *h, const char *msg) {
  if (h->kind == MPROC__RESULT_INIT && h->status == 0) {
    atomic_store(&p->slots[h->worker].ready, 1); /* a worker elsewhere is ready */
    return true;
  }
  if (h->kind == MPROC__RESULT_INIT) {
    p->w[h->worker].init_failed = true;
    snprintf(p->init_why, sizeof p->init_why, "%s", msg);
    mproc__log(MPROC_LOG_WARNING, "pool: a worker's initializer failed (%d): %s", h->status, msg);
    if (p->members->init_failed)
      p->members->init_failed(p, (int)h->worker, h->status, msg);
    return true;
  }
  if (h->kind == MPROC__RESULT_STOPPED) {
    if (p->members->stopped)
      p->members->stopped(p, (int)h->worker);
    return true;
  }
  return false;
}

/* A member's average task time, from results that come back to back (the
 * gap is the task's time, and the pool's); an idle gap measures nothing
 * and leaves the average alone. */
static void time_task(mproc__member_t *w, bool busy) {
  int64_t now = mproc__os_now_us();
  if (busy && w->last_result_us) {
    int64_t dt = now - w->last_result_us;
    w->task_us = w->task_us ? (w->task_us * 7 + dt) / 8 : dt;
  }
  w->last_result_us = now;
}

/* Task t failed on worker as h says (rc: its result did not decode). */
static void record_failure(mproc_pool_t *p, mproc__task_t *t, const mproc__result_head_t *h, int rc,
                           const char *msg) {
  int code = rc                                ? rc
             : h->kind == MPROC__RESULT_FAILED ? MPROC_ETASKFAILED
                                               : (h->status < 0 ? h->status : MPROC_EPROTO);
  mproc_task_error_t e = mproc__task_error(code, rc ? mproc_last_error_detail() : msg);
  if (p->members->names_errors && h->kind == MPROC__RESULT_ERROR) {
    /* The library failed there: say where (another build, say). */
    char name[160];
    mproc__pool_member_name(p, (int)h->worker, name, sizeof name);
    size_t at = (size_t)snprintf(e.message, sizeof e.message, "%s: ", name);
    if (at < sizeof e.message)
      snprintf(e.message + at, sizeof e.message - at, "%.*s", (int)(sizeof e.message - at - 1),
               rc ? mproc_last_error_detail() : msg);
  }
  e.task_status = h->kind == MPROC__RESULT_FAILED ? h->status : 0;
  mproc__pool_sign(p, (int)h->worker, &e);
  for (size_t i = 0; i < t->count; i++)
    mproc__result_item_failed(t->r, t->first + i, &e);
  p->failed += t->count;
}

/* Task t's outcome, from its payload of plen bytes and the n handles of
 * its objects (taken over). */
static void record_task(mproc_pool_t *p, mproc__task_t *t, const mproc__result_head_t *h,
                        const unsigned char *payload, size_t plen, const char *msg,
                        const intptr_t *handles, size_t n) {
  bool ok = h->kind == MPROC__RESULT_OK;
  if (ok && mproc__result_kind(t->r) == MPROC__ASYNC_MAP) {
    if (n)
      record_chunk_objects(p, t, payload, plen, (int)h->worker, handles, n);
    else
      record_chunk(p, t, payload, plen, (int)h->worker);
    return;
  }
  mproc_args_t *value = NULL;
  int rc = !ok || !plen ? 0
           : n          ? mproc__args_decode_objects(&value, payload, plen, handles, n, true)
                        : mproc_args_decode(&value, payload, plen);
  if (!ok || !plen)
    close_handles(handles, n);
  if (ok && !rc) {
    mproc__result_item_ok(t->r, t->first, value);
    p->done += t->count;
  } else {
    record_failure(p, t, h, rc, msg);
  }
}

/* The handles member `worker` sent ahead of result h, into *out (the
 * caller frees it; NULL when there are none). A member that cannot send
 * any, or handles that do not come, make the result malformed. */
static int receive_handles(mproc_pool_t *p, const mproc__result_head_t *h, intptr_t **out) {
  *out = NULL;
  if (!h->nhandles)
    return 0;
  if (!p->members->recv_handles || p->w[h->worker].state == MPROC__MEMBER_EMPTY)
    return mproc__fail(MPROC_EPROTO, "a result with handles from a member that sends none");
  intptr_t *hs = malloc(h->nhandles * sizeof *hs);
  if (!hs)
    return mproc__fail(MPROC_ENOMEM, "pool: out of memory for a result's handles");
  int rc = p->members->recv_handles(p, (int)h->worker, hs, h->nhandles);
  if (rc) {
    free(hs);
    return rc;
  }
  *out = hs;
  return 0;
}

/* Records one result message (under the lock). */
void mproc__pool_record(mproc_pool_t *p, const unsigned char *m, size_t len) {
  mproc__result_head_t h = {0};
  if (len >= MPROC__RESULT_HEAD)
    mproc__result_head_get(m, &h);
  if (len < MPROC__RESULT_HEAD || h.worker >= (uint32_t)p->n ||
      h.message_len > len - MPROC__RESULT_HEAD || h.message_len > MPROC__RESULT_MESSAGE_MAX) {
    /* Nothing in it can be trusted to name a task: said, not guessed at.
     * Its task fails when its worker ends or runs past a limit. */
    mproc__log(MPROC_LOG_WARNING, "pool: a malformed result of %zu bytes was dropped", len);
    return;
  }
  char msg[MPROC__RESULT_MESSAGE_MAX + 1];
  memcpy(msg, m + MPROC__RESULT_HEAD, h.message_len);
  msg[h.message_len] = '\0';
  if (record_member(p, &h, msg))
    return;
  mproc__member_t *w = &p->w[h.worker];
  intptr_t *handles = NULL;
  int hrc = receive_handles(p, &h, &handles);
  size_t n = handles ? h.nhandles : 0;
  bool busy = w->state != MPROC__MEMBER_EMPTY && w->held.n > 1;
  mproc__task_t *t = w->state != MPROC__MEMBER_EMPTY ? mproc__tasks_take(w, h.id) : NULL;
  if (!t) { /* a task already failed (its worker was killed) */
    close_handles(handles, n);
    free(handles);
    return;
  }
  if (p->members->head_changed)
    p->members->head_changed(p, (int)h.worker);
  time_task(w, busy);
  p->init_failures = 0;
  size_t at = MPROC__RESULT_HEAD + h.message_len;
  if (hrc)
    record_failure(p, t, &h, hrc, msg);
  else
    record_task(p, t, &h, m + at, len - at, msg, handles, n);
  free(handles);
  mproc__pool_chunk_done(p, t->r);
  mproc__task_free(t);
}

/* Callbacks run without the lock; then the pool drops its reference. */
void mproc__pool_run_due(mproc_pool_t *p) {
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
