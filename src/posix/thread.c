/* Mutexes and thread facts (POSIX). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
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
  /* Field 20 of /proc/self/stat; the command name (field 2) may hold
   * spaces and parentheses, so count from the last ')'. */
  FILE *f = fopen("/proc/self/stat", "re");
  if (!f)
    return 0;
  char buf[1024];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  int field = 2, threads = 0;
  for (; p && *p; p++) {
    if (*p == ' ' && ++field == 20) {
      threads = atoi(p + 1);
      break;
    }
  }
  return threads;
}

bool mproc__os_is_main_thread(void) {
#ifdef SYS_gettid
  return (pid_t)syscall(SYS_gettid) == getpid();
#else
  return false; /* unknown: callers then take the path safe for any thread */
#endif
}
