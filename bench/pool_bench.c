/* Process pools, side by side in one run, 2 workers each:
 *   - per-task overhead of a no-op task at chunksize 1 and with the default
 *     chunking: mproc, Python's Pool.map and ProcessPoolExecutor.map, and a
 *     bare floor (a hand-written dispatcher of no-op tasks over a shared-
 *     memory ring to two forked, spinning workers);
 *   - the speedup of a CPU-bound task (about 10 ms of arithmetic each) over
 *     a serial loop in this process;
 *   - the time from a worker's SIGKILL to the failed task being reported
 *     (Python's Pool never reports it; ProcessPoolExecutor breaks);
 *   - a large result's hand-over, from its making in the worker to the
 *     caller holding it: a segment by reference (64 MiB and 1 GiB) and
 *     64 MiB of bytes copied, beside 8 bytes copied (what the pool's hops
 *     cost any result), and a floor without mproc (a descriptor passed);
 *   - how soon a runaway task's failure is reported under a memory cap.
 * mproc's rows are the median of 3 runs (a 2-vCPU machine swings); Python
 * runs once. POSIX only (the Python peer and fork for the floor), but for
 * the memory cap, which Windows measures alone.
 *
 *   bench_pool [scale]
 *   bench_pool large      (the large results' table and the memory cap alone)
 */
#include <mproc.h>
#include <stdio.h>
#include <string.h>

#include "bench_util.h"

/* args: a Value (F64). Touches 8 MiB at a time for ever, saying in the
 * Value when each step was done (a memory cap stops it). */
static int runaway(const mproc_args_t *args, mproc_args_t *result) {
  (void)result;
  mproc_value_t *last;
  if (mproc_args_get_value(args, 0, &last))
    return 1;
  for (;;) {
    unsigned char *p = malloc(8 << 20);
    if (!p)
      return 2;
    memset(p, 1, 8 << 20);
    *(volatile double *)mproc_value_ptr(last) = now_s();
  }
}

/* From a capped worker's last step below its cap to its task's failure
 * reported (MPROC_EMEMLIMIT), ms: median of 3 (-1: a run failed
 * otherwise); -2 when there is no cap here. The last run's detail, or why
 * there is no cap, in why. */
static double memory_cap_ms(char *why, size_t cap) {
  mproc_pool_t *p;
  if (mproc_pool_new(&p, &(mproc_pool_opts_t){.processes = 1, .worker_memory_limit = 256 << 20})) {
    snprintf(why, cap, "%s", mproc_last_error_detail());
    return -2;
  }
  double t[3] = {-1, -1, -1};
  for (int i = 0; i < 3; i++) {
    mproc_value_t *last;
    mproc_args_t *a;
    mproc_args_t *r = NULL;
    mproc_value_new(&last, MPROC_T_F64, &(mproc_value_opts_t){.lock = MPROC_NO_LOCK});
    mproc_args_new(&a);
    mproc_args_add_value(a, last);
    int rc = mproc_pool_apply(p, runaway, a, &r);
    double end = now_s();
    if (rc == MPROC_EMEMLIMIT)
      t[i] = (end - *(double *)mproc_value_ptr(last)) * 1e3;
    snprintf(why, cap, "%s", mproc_last_error_detail());
    mproc_args_free(r);
    mproc_args_free(a);
    mproc_value_free(last);
  }
  mproc_pool_free(p);
  return median_of_3(t);
}

#ifdef _WIN32
int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  char why[256];
  double ms = memory_cap_ms(why, sizeof why);
  printf("bench_pool on Windows: the memory cap alone (the other rows' floor forks, their peer "
         "is Python)\n\nmemory cap of 256 MiB: ");
  if (ms == -2)
    printf("n/a here (%s)\n", why);
  else
    printf("a runaway task failed %.2f ms after its last step below the cap (the next 8 MiB, "
           "the job's watch, the pool's report; median of 3)\n  %s\n",
           ms, why);
  return 0;
}
#else
#  include <fcntl.h>
#  include <signal.h>
#  include <stdatomic.h>
#  include <stdint.h>
#  include <sys/mman.h>
#  include <sys/socket.h>
#  include <sys/wait.h>
#  include <unistd.h>

enum { WORKERS = 2 };

static int noop(const mproc_args_t *args, mproc_args_t *result) {
  (void)args, (void)result;
  return 0;
}

/* About 10 ms of arithmetic on this machine kind (a 2-vCPU VM). */
static double spin_10ms(int64_t seed) {
  double x = (double)seed;
  for (long i = 0; i < 6000000; i++)
    x = x * 1.0000001 + 0.5 / (double)(i + 1);
  return x;
}

static int cpu_task(const mproc_args_t *args, mproc_args_t *result) {
  int64_t seed = 0;
  mproc_args_get_int(args, 0, &seed);
  return mproc_args_add_double(result, spin_10ms(seed));
}

/* args: a Value. Says its pid there, then sleeps (to be killed). */
static int sleeps(const mproc_args_t *args, mproc_args_t *result) {
  (void)result;
  mproc_value_t *pid;
  if (mproc_args_get_value(args, 0, &pid))
    return 1;
  mproc_value_store(pid, mproc_current_pid());
  sleep(30);
  return 0;
}

/* Work before a large result is made: long enough that whoever waits for
 * it is asleep when it comes, in the pool and in the floor alike. */
static void some_work(void) {
  double t0 = now_s();
  while (now_s() - t0 < 200e-6)
    ;
}

/* A segment of bytes, mapped, its first and last bytes touched: *fd and
 * the mapping, or -1. */
static int new_segment(size_t bytes, unsigned char **map) {
  char name[64];
  snprintf(name, sizeof name, "/bench-pool-%d", (int)getpid());
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
  shm_unlink(name);
  if (fd < 0 || ftruncate(fd, (off_t)bytes) != 0 ||
      (*map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  (*map)[0] = (*map)[bytes - 1] = 1;
  return fd;
}

/* The floor of handing a segment over, without mproc: a forked process
 * makes it after the same work, sends its descriptor and the moment it
 * was made over a socket (SCM_RIGHTS), and this one, blocked in recvmsg,
 * maps it. Microseconds, median of 5; -1 on failure. */
static double bare_hand_over_us(size_t bytes) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return -1;
  pid_t pid = fork();
  if (pid == 0) {
    char go;
    close(sv[0]);
    while (read(sv[1], &go, 1) == 1) {
      some_work();
      unsigned char *map;
      int fd = new_segment(bytes, &map);
      double made = now_s();
      char ctl[CMSG_SPACE(sizeof fd)] = {0};
      struct iovec iov = {&made, sizeof made};
      struct msghdr m = {
          .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
      struct cmsghdr *c = CMSG_FIRSTHDR(&m);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof fd);
      memcpy(CMSG_DATA(c), &fd, sizeof fd);
      if (fd < 0 || sendmsg(sv[1], &m, 0) != sizeof made)
        _exit(1);
      munmap(map, bytes);
      close(fd);
    }
    _exit(0);
  }
  close(sv[1]);
  double t[5] = {-1, -1, -1, -1, -1};
  for (int i = 0; i < 5 && pid > 0; i++) {
    double made;
    int fd = -1;
    char ctl[CMSG_SPACE(sizeof fd)];
    struct iovec iov = {&made, sizeof made};
    struct msghdr m = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    if (write(sv[0], "g", 1) != 1 || recvmsg(sv[0], &m, 0) != sizeof made)
      break;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    if (c && c->cmsg_type == SCM_RIGHTS)
      memcpy(&fd, CMSG_DATA(c), sizeof fd);
    void *map = fd < 0 ? MAP_FAILED : mmap(NULL, bytes, PROT_READ, MAP_SHARED, fd, 0);
    t[i] = map == MAP_FAILED ? -1 : (now_s() - made) * 1e6;
    if (map != MAP_FAILED)
      munmap(map, bytes);
    if (fd >= 0)
      close(fd);
  }
  close(sv[0]); /* the child reads end-of-file and exits */
  if (pid > 0)
    waitpid(pid, NULL, 0);
  return median_of_5(t);
}

/* (bytes, by_reference) -> after some work, a result of that many bytes,
 * then the moment it was made: by reference an unnamed
 * segment (two pages touched: the hand-over moves a handle, not pages),
 * else a bytes item of them (copied into the result queue and out). */
static int large_result(const mproc_args_t *args, mproc_args_t *result) {
  int64_t bytes = 0;
  bool by_reference = false;
  if (mproc_args_get_int(args, 0, &bytes) || mproc_args_get_bool(args, 1, &by_reference))
    return 1;
  some_work();
  int rc;
  if (by_reference) {
    mproc_shm_t *s;
    if (mproc_shm_create_unnamed(&s, (size_t)bytes))
      return 2;
    unsigned char *d = mproc_shm_data(s);
    d[0] = d[bytes - 1] = 1;
    rc = mproc_args_add_shm(result, s);
    mproc_shm_close(s);
  } else {
    unsigned char *d = malloc((size_t)bytes);
    if (!d)
      return 2;
    memset(d, 1, (size_t)bytes);
    rc = mproc_args_add_bytes(result, d, (size_t)bytes);
    free(d);
  }
  return rc ? 3 : mproc_args_add_double(result, now_s());
}

/* ---- mproc ---- */

/* Microseconds from a result's making in the worker to apply's return
 * here (median of 5), or -1 when it fails (a 32-bit system cannot map
 * 1 GiB, say). */
static double hand_over_us(mproc_pool_t *p, int64_t bytes, bool by_reference) {
  double t[5];
  for (int i = 0; i < 5; i++) {
    mproc_args_t *a, *r = NULL;
    double made = 0;
    mproc_args_new(&a);
    mproc_args_add_int(a, bytes);
    mproc_args_add_bool(a, by_reference);
    int rc = mproc_pool_apply(p, large_result, a, &r);
    double end = now_s();
    if (!rc)
      rc = mproc_args_get_double(r, 1, &made);
    t[i] = rc ? -1 : (end - made) * 1e6;
    mproc_args_free(r);
    mproc_args_free(a);
    if (rc)
      return -1;
  }
  return median_of_5(t);
}

/* The floor under a capped worker's failure: the kernel tearing down a
 * process holding mib MiB, from SIGKILL to waitpid, ms (median of 3). */
static double kill_and_reap_ms(long mib) {
  double t[3] = {-1, -1, -1};
  for (int i = 0; i < 3; i++) {
    int pf[2];
    if (pipe(pf) != 0)
      break;
    pid_t pid = fork();
    if (pid == 0) {
      char *m = malloc((size_t)mib << 20);
      if (!m)
        _exit(1);
      memset(m, 1, (size_t)mib << 20);
      if (write(pf[1], m + ((size_t)mib << 19), 1) != 1) /* read: not optimised away */
        _exit(1);
      pause();
      _exit(0);
    }
    char c;
    if (pid > 0 && read(pf[0], &c, 1) == 1) {
      double t0 = now_s();
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      t[i] = (now_s() - t0) * 1e3;
    }
    close(pf[0]);
    close(pf[1]);
  }
  return median_of_3(t);
}

/* A capped runaway task's failure against the kernel's own teardown. */
static void memory_cap(void) {
  char why[256];
  double ms = memory_cap_ms(why, sizeof why);
  if (ms == -2) {
    printf("\nmemory cap: n/a here (%s)\n", why);
    return;
  }
  printf("\nmemory cap of 256 MiB: a runaway task failed %.2f ms after its last step below the "
         "cap (the next 8 MiB, the kernel's OOM kill, the pool's report; median of 3); the "
         "kernel alone takes %.2f ms from SIGKILL to reaping a process of 256 MiB\n  %s\n",
         ms, kill_and_reap_ms(256), why);
}

static void large_row(const char *name, double us, double floor) {
  if (us < 0)
    printf("| %-38s | %12s | %12s |\n", name, "n/a", "(no room)");
  else
    printf("| %-38s | %12.1f | %11.2fx |\n", name, us, us / floor);
}

static void large_results(mproc_pool_t *p) {
  const int64_t gib = (int64_t)1 << 30, mib64 = 64 << 20;
  double floor = bare_hand_over_us((size_t)gib);
  if (floor < 0)
    floor = bare_hand_over_us((size_t)mib64); /* no room for 1 GiB here */
  double small = hand_over_us(p, 8, false), copy64 = hand_over_us(p, mib64, false);
  double ref64 = hand_over_us(p, mib64, true), ref1g = hand_over_us(p, gib, true);
  printf("\n| %-38s | %12s | %12s |\n", "a result, worker to caller (us)", "hand-over", "vs floor");
  printf("|----------------------------------------|--------------|--------------|\n");
  large_row("floor: fd over a socket, mapped (bare)", floor, floor);
  large_row("8 bytes, copied", small, floor);
  large_row("64 MiB bytes, copied", copy64, floor);
  large_row("64 MiB segment, by reference", ref64, floor);
  large_row("1 GiB segment, by reference", ref1g, floor);
  printf("by reference vs copied at 64 MiB: %.0fx faster\n", copy64 / ref64);
}

/* Seconds for a map of n no-op tasks (chunksize 0: the default). */
static double mproc_map(mproc_pool_t *p, long n, size_t chunksize) {
  mproc_args_t *items = bench_ints(n), *results;
  double t0 = now_s();
  int rc = mproc_pool_map(p, noop, items, &(mproc_map_opts_t){.chunksize = chunksize}, &results);
  double t = now_s() - t0;
  if (rc == 0)
    mproc_args_free(results);
  mproc_args_free(items);
  return rc ? -1 : t;
}

static double mproc_map_median(mproc_pool_t *p, long n, size_t chunksize) {
  double t[3];
  for (int i = 0; i < 3; i++)
    if ((t[i] = mproc_map(p, n, chunksize)) < 0)
      return -1;
  return median_of_3(t);
}

/* ---- the bare floor: two forked workers spinning on shared rings ---- */

enum { RING = 1024 };

typedef struct {
  _Atomic uint64_t head, tail; /* tasks: written by the parent, read by the worker */
  char pad1[48];
  _Atomic uint64_t done; /* results: tasks finished */
  char pad2[56];
  uint64_t slots[RING];
} bare_ring_t;

static double bare_floor(long n) {
  bare_ring_t *r =
      mmap(NULL, WORKERS * sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (r == MAP_FAILED)
    return -1;
  memset(r, 0, WORKERS * sizeof *r);
  pid_t pid[WORKERS];
  for (int w = 0; w < WORKERS; w++) {
    if ((pid[w] = fork()) == 0) {
      bare_ring_t *me = &r[w];
      for (;;) {
        uint64_t h = atomic_load_explicit(&me->head, memory_order_relaxed);
        while (atomic_load_explicit(&me->tail, memory_order_acquire) == h) {
        }
        uint64_t task = me->slots[h % RING];
        if (task == UINT64_MAX)
          _exit(0);
        atomic_store_explicit(&me->head, h + 1, memory_order_release);
        atomic_fetch_add_explicit(&me->done, 1, memory_order_release);
      }
    }
  }
  double t0 = now_s();
  long sent = 0;
  while (sent < n) {
    for (int w = 0; w < WORKERS && sent < n; w++) {
      uint64_t t = atomic_load_explicit(&r[w].tail, memory_order_relaxed);
      if (t - atomic_load_explicit(&r[w].head, memory_order_acquire) < RING) {
        r[w].slots[t % RING] = (uint64_t)sent++;
        atomic_store_explicit(&r[w].tail, t + 1, memory_order_release);
      }
    }
  }
  while (atomic_load(&r[0].done) + atomic_load(&r[1].done) < (uint64_t)n) {
  }
  double t = now_s() - t0;
  for (int w = 0; w < WORKERS; w++) {
    uint64_t tl = atomic_load(&r[w].tail);
    r[w].slots[tl % RING] = UINT64_MAX;
    atomic_store(&r[w].tail, tl + 1);
    waitpid(pid[w], NULL, 0);
  }
  munmap(r, WORKERS * sizeof *r);
  return t;
}

/* ---- Python ---- */

static double python_map(const char *kind, long n, long chunksize) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "python3 - <<'EOF' 2>/dev/null\n"
           "import multiprocessing as mp, concurrent.futures as cf, time\n"
           "def noop(x): return None\n"
           "if __name__ == '__main__':\n"
           "    n, chunk = %ld, %ld\n"
           "    if '%s' == 'Pool':\n"
           "        with mp.Pool(2) as p:\n"
           "            p.map(noop, range(100))\n"
           "            t0 = time.perf_counter()\n"
           "            p.map(noop, range(n), chunksize=chunk or None)\n"
           "            print(time.perf_counter() - t0)\n"
           "    else:\n"
           "        with cf.ProcessPoolExecutor(2) as p:\n"
           "            list(p.map(noop, range(100)))\n"
           "            if not chunk: chunk = max(1, -(-n // 8))\n"
           "            t0 = time.perf_counter()\n"
           "            list(p.map(noop, range(n), chunksize=chunk))\n"
           "            print(time.perf_counter() - t0)\n"
           "EOF",
           n, chunksize, kind);
  return seconds_printed_by(cmd);
}

static double python_death(void) {
  return seconds_printed_by("python3 - <<'EOF' 2>/dev/null\n"
                            "import concurrent.futures as cf, os, signal, time\n"
                            "def sleeps(x):\n"
                            "    time.sleep(30); return os.getpid()\n"
                            "def pid(x): return os.getpid()\n"
                            "if __name__ == '__main__':\n"
                            "    with cf.ProcessPoolExecutor(1) as p:\n"
                            "        w = p.submit(pid, 0).result()\n"
                            "        f = p.submit(sleeps, 0); time.sleep(0.5)\n"
                            "        t0 = time.perf_counter(); os.kill(w, signal.SIGKILL)\n"
                            "        try: f.result(timeout=20)\n"
                            "        except Exception: print(time.perf_counter() - t0)\n"
                            "EOF");
}

/* ---- the rows ---- */

static void per_task_row(const char *name, double mp, double bare, double pool, double ppe, long n,
                         long py_n) {
  printf("| %-28s |", name);
  double per_mp = mp > 0 ? mp / (double)n * 1e6 : -1;
  double cells[4] = {per_mp, bare > 0 ? bare / (double)n * 1e6 : -1,
                     pool > 0 ? pool / (double)py_n * 1e6 : -1,
                     ppe > 0 ? ppe / (double)py_n * 1e6 : -1};
  for (int i = 0; i < 4; i++) {
    if (cells[i] < 0)
      printf(" %10s |", i == 1 ? "-" : "n/a");
    else
      printf(" %10.3f |", cells[i]);
  }
  if (per_mp > 0 && cells[2] > 0)
    printf(" %9.1fx |\n", cells[2] / per_mp);
  else
    printf(" %10s |\n", "n/a");
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  long scale = bench_scale(argc, argv);
  mproc_pool_t *p;
  if (mproc_pool_new(&p, &(mproc_pool_opts_t){.processes = WORKERS}) != 0) {
    printf("bench_pool: %s\n", mproc_last_error_detail());
    return 1;
  }
  if (argc > 1 && strcmp(argv[1], "large") == 0) { /* those tables alone */
    large_results(p);
    memory_cap();
    mproc_pool_free(p);
    return 0;
  }
  long n1 = 200000 * scale, nd = 2000000 * scale, py1 = 20000 * scale, pyd = 200000 * scale;
  mproc_map(p, 1000, 1); /* warm up */
  printf("pools of %d workers, same run (mproc: median of 3); scale %ld\n\n", WORKERS, scale);
  printf("| %-28s | %10s | %10s | %10s | %10s | %10s |\n", "per no-op task (us)", "mproc",
         "bare floor", "Py Pool", "Py PPE", "Pool/mproc");
  printf("|------------------------------|------------|------------|------------|------------|"
         "------------|\n");
  double bare[3];
  for (int i = 0; i < 3; i++)
    bare[i] = bare_floor(n1);
  double floor = bare[0] < 0 || bare[1] < 0 || bare[2] < 0 ? -1 : median_of_3(bare);
  per_task_row("map, chunksize 1", mproc_map_median(p, n1, 1), floor, python_map("Pool", py1, 1),
               python_map("PPE", py1, 1), n1, py1);
  per_task_row("map, default chunking", mproc_map_median(p, nd, 0), -2, python_map("Pool", pyd, 0),
               python_map("PPE", pyd, 0), nd, pyd);

  /* CPU-bound: 40 tasks of ~10 ms, serial here vs the pool. */
  enum { CPU_TASKS = 40 };
  double t0 = now_s(), sink = 0;
  for (int i = 0; i < CPU_TASKS; i++)
    sink += spin_10ms(i);
  double serial = now_s() - t0;
  mproc_args_t *items = bench_ints(CPU_TASKS), *results = NULL;
  double par[3];
  for (int i = 0; i < 3; i++) {
    t0 = now_s();
    int rc = mproc_pool_map(p, cpu_task, items, &(mproc_map_opts_t){.chunksize = 1}, &results);
    par[i] = rc ? -1 : now_s() - t0;
    mproc_args_free(results);
  }
  mproc_args_free(items);
  double parallel = median_of_3(par);
  printf("\nCPU-bound, %d tasks of ~%.1f ms: serial %.0f ms, pool %.0f ms: speedup %.2fx on %d "
         "workers (%s)\n",
         CPU_TASKS, serial / CPU_TASKS * 1e3, serial * 1e3, parallel * 1e3,
         parallel > 0 ? serial / parallel : 0, WORKERS, sink > 0 ? "checked" : "?");

  /* A worker's death, from SIGKILL to the failed task reported. */
  double death[3];
  for (int i = 0; i < 3; i++) {
    death[i] = -1;
    mproc_value_t *pid;
    mproc_args_t *a;
    mproc_async_result_t *r;
    mproc_value_new(&pid, MPROC_T_I64, &(mproc_value_opts_t){.lock = MPROC_NO_LOCK});
    mproc_args_new(&a);
    mproc_args_add_value(a, pid);
    if (mproc_pool_apply_async(p, sleeps, a, NULL, &r) == 0) {
      int64_t victim = 0;
      for (int k = 0; k < 10000 && victim == 0; k++) {
        usleep(1000);
        mproc_value_load(pid, &victim);
      }
      t0 = now_s();
      if (victim > 0 && kill((pid_t)victim, SIGKILL) == 0 &&
          mproc_async_result_get(r, NULL, 10000) == MPROC_EWORKERDIED)
        death[i] = now_s() - t0;
      mproc_async_result_free(r);
    }
    mproc_args_free(a);
    mproc_value_free(pid);
  }
  double py_death = python_death();
  printf("a killed worker's task reported after: mproc %.1f ms (median of 3)",
         median_of_3(death) * 1e3);
  if (py_death > 0)
    printf(", Python ProcessPoolExecutor %.1f ms (and the executor is broken for good)",
           py_death * 1e3);
  printf("; Python's Pool: never (get() blocks for ever)\n");
  large_results(p);
  memory_cap();
  printf("\nAims: chunksize 1 at most 0.5 us per task and 50x Python's Pool; default chunking 2x "
         "Python's Pool; speedup at least 1.9x; death reported within 10 ms; a 1 GiB result "
         "handed over in at most 50 us; a capped worker's task failed within 10 ms.\n");
  mproc_pool_free(p);
  return 0;
}
#endif
