/* Mutexes and thread facts (POSIX). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"

struct mproc__os_mutex {
  pthread_mutex_t m;
};

int mproc__os_mutex_new(mproc__os_mutex_t **out) {
  mproc__os_mutex_t *m = malloc(sizeof *m);
  if (!m)
    return mproc__fail(MPROC_ENOMEM, "mutex: out of memory");
  int rc = pthread_mutex_init(&m->m, NULL);
  if (rc) {
    free(m);
    return mproc__os_fail_code(rc, "pthread_mutex_init");
  }
  *out = m;
  return 0;
}

void mproc__os_mutex_lock(mproc__os_mutex_t *m) { pthread_mutex_lock(&m->m); }

void mproc__os_mutex_unlock(mproc__os_mutex_t *m) { pthread_mutex_unlock(&m->m); }

void mproc__os_mutex_free(mproc__os_mutex_t *m) {
  if (!m)
    return;
  pthread_mutex_destroy(&m->m);
  free(m);
}

struct mproc__os_cond {
  pthread_cond_t c;
};

int mproc__os_cond_new(mproc__os_cond_t **out) {
  mproc__os_cond_t *c = malloc(sizeof *c);
  if (!c)
    return mproc__fail(MPROC_ENOMEM, "condition: out of memory");
  /* CLOCK_MONOTONIC: a timed wait does not jump with the wall clock.
   * macOS has no clock attribute; its waits are relative (below). */
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
#ifndef __APPLE__
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
#endif
  int rc = pthread_cond_init(&c->c, &attr);
  pthread_condattr_destroy(&attr);
  if (rc) {
    free(c);
    return mproc__os_fail_code(rc, "pthread_cond_init");
  }
  *out = c;
  return 0;
}

int mproc__os_cond_wait(mproc__os_cond_t *c, mproc__os_mutex_t *m, int timeout_ms) {
  if (timeout_ms < 0) {
    pthread_cond_wait(&c->c, &m->m);
    return 0;
  }
#ifdef __APPLE__
  struct timespec rel = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
  return pthread_cond_timedwait_relative_np(&c->c, &m->m, &rel) == ETIMEDOUT ? MPROC_ETIMEDOUT : 0;
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += timeout_ms / 1000;
  ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return pthread_cond_timedwait(&c->c, &m->m, &ts) == ETIMEDOUT ? MPROC_ETIMEDOUT : 0;
#endif
}

void mproc__os_cond_broadcast(mproc__os_cond_t *c) { pthread_cond_broadcast(&c->c); }

void mproc__os_cond_free(mproc__os_cond_t *c) {
  if (!c)
    return;
  pthread_cond_destroy(&c->c);
  free(c);
}

struct mproc__os_thread {
  pthread_t t;
  void (*fn)(void *);
  void *arg;
};

static void *thread_main(void *p) {
  mproc__os_thread_t *t = p;
  t->fn(t->arg);
  return NULL;
}

int mproc__os_thread_start(mproc__os_thread_t **out, void (*fn)(void *arg), void *arg) {
  mproc__os_thread_t *t = malloc(sizeof *t);
  if (!t)
    return mproc__fail(MPROC_ENOMEM, "thread: out of memory");
  t->fn = fn;
  t->arg = arg;
  int rc = pthread_create(&t->t, NULL, thread_main, t);
  if (rc) {
    free(t);
    return mproc__os_fail_code(rc, "pthread_create");
  }
  *out = t;
  return 0;
}

void mproc__os_thread_join(mproc__os_thread_t *t) {
  if (!t)
    return;
  pthread_join(t->t, NULL);
  free(t);
}

bool mproc__os_thread_is_current(const mproc__os_thread_t *t) {
  return t && pthread_equal(t->t, pthread_self());
}

void mproc__os_ignore_interrupts(void) { signal(SIGINT, SIG_IGN); }

void mproc__os_yield(void) { sched_yield(); }

int mproc__os_current_cpu(void) {
#if defined(__linux__)
  return sched_getcpu(); /* through the vDSO: no system call */
#else
  return -1;
#endif
}
