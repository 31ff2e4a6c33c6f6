/* Who is running, cheaply: getpid() and gettid() are system calls in
 * current glibc, too slow for a lock's fast path, so both are cached and
 * the caches are dropped in a forked child (pthread_atfork). Whether
 * another process has ended: on Linux /proc/<pid>/stat (state and start
 * time, so zombies and reused pids count as ended); elsewhere kill(pid, 0). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/internal.h"

static _Atomic uint32_t fork_generation = 1;
static _Atomic uint32_t cached_pid;
static _Atomic uint64_t cached_start;
/* initial-exec: a direct TLS access, not a __tls_get_addr call, on the
 * lock's fast path (the two words fit any libc's static TLS reserve). */
static _Thread_local uint32_t tid_generation __attribute__((tls_model("initial-exec")));
static _Thread_local uint32_t cached_tid __attribute__((tls_model("initial-exec")));
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void after_fork_in_child(void) {
  atomic_store(&cached_pid, 0);
  atomic_store(&cached_start, 0);
  atomic_fetch_add(&fork_generation, 1);
}

static void register_atfork(void) { pthread_atfork(NULL, NULL, after_fork_in_child); }

static uint32_t os_tid(void) {
#ifdef SYS_gettid
  return (uint32_t)syscall(SYS_gettid);
#else
  return (uint32_t)(uintptr_t)pthread_self();
#endif
}

void mproc__os_self_ids(uint32_t *pid, uint32_t *tid) {
  uint32_t p = atomic_load_explicit(&cached_pid, memory_order_relaxed);
  if (!p) {
    pthread_once(&atfork_once, register_atfork);
    p = (uint32_t)getpid();
    atomic_store(&cached_pid, p);
  }
  *pid = p;
  uint32_t gen = atomic_load_explicit(&fork_generation, memory_order_relaxed);
  if (tid_generation != gen) {
    cached_tid = os_tid();
    tid_generation = gen;
  }
  *tid = cached_tid;
}

/* Linux: the state letter and start time (field 22) of /proc/<pid>/stat. */
static bool read_stat(uint32_t pid, char *state, uint64_t *start) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%u/stat", pid);
  FILE *f = fopen(path, "re");
  if (!f)
    return false;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold anything */
  unsigned long long st;
  if (!p || sscanf(p + 1,
                   " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
                   "%*s %*s %*s %llu",
                   state, &st) != 2)
    return false;
  *start = st;
  return true;
}

uint64_t mproc__os_self_start_token(void) {
  uint64_t t = atomic_load_explicit(&cached_start, memory_order_relaxed);
  if (t)
    return t;
  uint32_t pid, tid;
  mproc__os_self_ids(&pid, &tid);
  char state;
  if (!read_stat(pid, &state, &t))
    t = 0;
  atomic_store(&cached_start, t);
  return t;
}

bool mproc__os_process_gone(uint32_t pid, uint32_t start) {
  if (pid == 0)
    return false;
  if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
    return true;
  char state;
  uint64_t t;
  if (!read_stat(pid, &state, &t))
    return access("/proc/self/stat", F_OK) == 0; /* no entry, where /proc exists: gone */
  return state == 'Z' || state == 'X' || (start != 0 && (uint32_t)t != start);
}
