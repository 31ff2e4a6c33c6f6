/* Mutexes and thread facts (POSIX). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/internal.h"

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

int mproc__os_thread_count(void) {
  /* Linux: /proc/self/task has a directory per thread, and its link count
   * is 2 + their number - one stat() per fork start, not an open, read
   * and parse of /proc/self/stat. */
  struct stat st;
  if (stat("/proc/self/task", &st) == 0 && st.st_nlink > 2)
    return (int)(st.st_nlink - 2);
  return 0;
}

bool mproc__os_is_main_thread(void) {
  /* The main thread's id is the process id (Linux); both are cached. */
  uint32_t pid, tid;
  mproc__os_self_ids(&pid, &tid);
  return pid == tid;
}
