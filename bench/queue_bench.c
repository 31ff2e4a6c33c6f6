/* Queues, next to their peers in one run:
 *   - mproc: mproc_queue_put_bytes / mproc_queue_get_bytes_into,
 *   - bare ring: a single-producer single-consumer byte ring in a shared
 *     mapping, futex wake-ups, no locks (the speed limit for 1 -> 1),
 *   - pipe: length-prefixed messages, one write() each, buffered reads,
 *   - Python: multiprocessing.Queue and SimpleQueue.
 *   - mproc gen.: mproc on the generic POSIX build (bench_queue_generic),
 * Rows: 64-byte messages 1 -> 1 and 2 -> 2 processes (messages per
 * second), and 1 MiB messages 1 -> 1 (GB/s); then N -> N scaling, and
 * zero-copy (loans and views against puts and gets, and a one-way
 * hand-over against a cache line's and a bare in-ring hand-over's). Every
 * worker waits at a start line; a row's time runs from the start until the
 * last message is taken.
 * In 1 -> 1 rows every peer's producer runs on CPU 0, its consumer on 1.
 * Every message count (and, for mproc, every first byte) is checked: a
 * wrong one prints WRONG (WRONG/n.a.: or the peer could not run, e.g. no
 * python3). mproc, the bare ring and the pipe show the median of three
 * runs. Linux only (the peers are fork and futexes).
 *
 *   bench_queue [scale]   (scale 1 = default counts; larger is longer)
 *   bench_queue --scaling     (the scaling table alone)
 *   bench_queue --zero-copy   (the zero-copy table alone)
 *   bench_queue --loan-latency   (its 64 B one-way row alone)
 *   bench_queue --kill-storm N   (N processes killed holding loans and views) */
#include <stdio.h>
#include <stdlib.h>

#include <mproc.h>

#if defined(_WIN32) || !defined(__linux__)
int main(void) {
  puts("bench_queue: Linux only (its peers are fork, futexes and pipes)");
  return 0;
}
#else
#  include <dirent.h>
#  include <linux/futex.h>
#  include <stdalign.h>
#  include <stdatomic.h>
#  include <string.h>
#  include <sys/mman.h>
#  include <sys/syscall.h>
#  include <sys/wait.h>
#  include <unistd.h>

#  include <sched.h>

#  include "bench_util.h"

/* 1 -> 1 rows pin the producer to CPU 0 and the consumer to CPU 1, for
 * every peer: otherwise a run's result depends on whether the scheduler
 * happened to put both on one core (a 2x swing on a 2-vCPU machine). -1:
 * any CPU. */
static void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu < 0) {
    for (int i = 0; i < CPU_SETSIZE; i++)
      CPU_SET(i, &set);
  } else {
    CPU_SET(cpu, &set);
  }
  sched_setaffinity(0, sizeof set, &set);
}

static void pin_to_cpu_1(void) { pin(1); }

/* One way through one cache line between CPUs 0 and 1, now: a short
 * probe. This VM's two vCPUs at times sit far apart on the host, and then
 * every line crosses about 4x slower for seconds at a time (60 ns -> 260
 * ns here); a queue run in such a spell moves about 4 M messages a second
 * whatever N is, mproc and the bare ring alike. The larger of a probe just
 * before and just after a run says which kind of spell it ran in. */
static double line_now(void) {
  pin(0);
  double t = line_round_trip(100000, pin_to_cpu_1) / 2;
  pin(-1);
  return t;
}

/* The probe that says more about a run: the slower of the two around it. */
static double larger(double a, double b) { return a > b ? a : b; }

enum { SMALL = 64, BIG = 1 << 20, RING = 1 << 20 };

/* ---- mproc ---- */

enum { PUT, GET, LOAN, VIEW };

/* One message of size bytes lent, its first byte set, published. */
static int loan_one(mproc_queue_t *q, size_t size) {
  void *buf;
  int rc = mproc_queue_loan(q, size, &buf, MPROC_INFINITE);
  if (rc)
    return rc;
  *(unsigned char *)buf = 0x5a;
  return mproc_queue_publish(q, buf, size);
}

/* One message viewed, its first byte and length checked, released. */
static int view_one(mproc_queue_t *q, size_t size) {
  const void *data;
  size_t len;
  int rc = mproc_queue_get_view(q, &data, &len, MPROC_INFINITE);
  if (rc)
    return rc;
  bool ok = len == size && *(const unsigned char *)data == 0x5a;
  rc = mproc_queue_release(q, data);
  return rc ? rc : ok ? 0 : -1;
}

/* One message moved as role says: a put or get (copied), a loan or view. */
static int move_one(mproc_queue_t *q, unsigned char *m, size_t size, int64_t role) {
  size_t len = size;
  if (role == LOAN)
    return loan_one(q, size);
  if (role == VIEW)
    return view_one(q, size);
  m[0] = role == PUT ? 0x5a : 0; /* a get must bring the 0x5a back */
  int rc = role == PUT ? mproc_queue_put_bytes(q, m, len, MPROC_INFINITE)
                       : mproc_queue_get_bytes_into(q, m, len, &len, MPROC_INFINITE);
  return rc || len != size || m[0] != 0x5a ? -1 : 0;
}

/* args: queue, start Event, count, message size, CPU, role (PUT, GET,
 * LOAN, VIEW). Moves count messages once the start Event is set. */
static int mproc_worker(const mproc_args_t *args) {
  mproc_queue_t *q;
  mproc_event_t *go;
  int64_t n, size, cpu, role;
  if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_event(args, 1, &go) ||
      mproc_args_get_int(args, 2, &n) || mproc_args_get_int(args, 3, &size) ||
      mproc_args_get_int(args, 4, &cpu) || mproc_args_get_int(args, 5, &role))
    return 1;
  pin((int)cpu);
  unsigned char *m = role == PUT || role == GET ? calloc(1, (size_t)size) : NULL;
  mproc_event_wait(go, MPROC_INFINITE);
  for (int64_t i = 0; i < n; i++)
    if (move_one(q, m, (size_t)size, role))
      return 2;
  free(m);
  return 0;
}

static mproc_process_t *start(int role, mproc_queue_t *q, mproc_event_t *go, long n, long size,
                              int cpu) {
  mproc_args_t *a;
  mproc_process_t *p = NULL;
  mproc_args_new(&a);
  mproc_args_add_queue(a, q);
  mproc_args_add_event(a, go);
  mproc_args_add_int(a, n);
  mproc_args_add_int(a, size);
  mproc_args_add_int(a, cpu);
  mproc_args_add_int(a, role);
  if (mproc_process_new(&p, mproc_worker, a, NULL) || mproc_process_start(p))
    p = NULL;
  mproc_args_free(a);
  return p;
}

/* How a row moves its messages, through what ring and chunk pool. */
typedef struct {
  int put, get;
  size_t ring;
  uint64_t pool;
} way_t;

static const way_t COPIES = {PUT, GET, RING, 0};

/* Seconds for procs producers and procs consumers to move procs * n
 * messages the way w says; -1 when one failed. */
static double mproc_row_by(int procs, long n, long size, way_t w) {
  /* -N: N -> N with nobody pinned (the scaling table's rows) */
  bool pinned = procs == 1;
  if (procs < 0)
    procs = -procs;
  mproc_queue_t *q;
  mproc_event_t *go;
  mproc_queue_opts_t o = {.capacity_bytes = w.ring, .chunk_pool_bytes = w.pool};
  if (mproc_queue_new(&q, &o) || mproc_event_new(&go))
    return -1;
  mproc_process_t **p = calloc(2 * (size_t)procs, sizeof *p);
  if (!p)
    return -1;
  for (int i = 0; i < procs; i++) {
    p[i] = start(w.put, q, go, n, size, pinned ? 0 : -1);
    p[procs + i] = start(w.get, q, go, n, size, pinned ? 1 : -1);
  }
  sleep(1); /* every child at the start line */
  double t0 = now_s();
  mproc_event_set(go);
  bool ok = true;
  for (int i = 0; i < 2 * procs; i++) {
    int code = -1;
    ok &= p[i] && mproc_process_join(p[i], MPROC_INFINITE) == 0 &&
          mproc_process_exitcode(p[i], &code) == 0 && code == 0;
    mproc_process_free(p[i]);
  }
  double t = now_s() - t0;
  free(p);
  mproc_queue_free(q);
  mproc_event_free(go);
  return ok ? t : -1;
}

static double mproc_row(int procs, long n, long size) {
  return mproc_row_by(procs, n, size, COPIES);
}

/* ---- zero-copy: loans and views ---- */

/* args: two queues, count. Views a 64-byte message on the first and
 * answers with a loan on the second, count times. */
static int echo_worker(const mproc_args_t *args) {
  mproc_queue_t *in, *out;
  int64_t n;
  if (mproc_args_get_queue(args, 0, &in) || mproc_args_get_queue(args, 1, &out) ||
      mproc_args_get_int(args, 2, &n))
    return 1;
  pin(1);
  for (int64_t i = 0; i < n; i++)
    if (view_one(in, SMALL) || loan_one(out, SMALL))
      return 2;
  return 0;
}

/* Seconds per one-way hand-over of a 64-byte message by loan and view:
 * half a round trip between two pinned processes; -1 on a failure. */
static double loan_one_way(long n) {
  mproc_queue_t *there, *back;
  if (mproc_queue_new(&there, NULL) || mproc_queue_new(&back, NULL))
    return -1;
  mproc_args_t *a;
  mproc_process_t *p = NULL;
  mproc_args_new(&a);
  mproc_args_add_queue(a, there);
  mproc_args_add_queue(a, back);
  mproc_args_add_int(a, n + 1000);
  bool ok = mproc_process_new(&p, echo_worker, a, NULL) == 0 && mproc_process_start(p) == 0;
  mproc_args_free(a);
  pin(0);
  double t0 = 0;
  for (long i = 0; ok && i < n + 1000; i++) {
    if (i == 1000) /* warmed up */
      t0 = now_s();
    ok = loan_one(there, SMALL) == 0 && view_one(back, SMALL) == 0;
  }
  double t = (now_s() - t0) / (double)n / 2;
  int code = -1;
  ok &= p && mproc_process_join(p, MPROC_INFINITE) == 0 && mproc_process_exitcode(p, &code) == 0 &&
        code == 0;
  pin(-1);
  mproc_process_free(p);
  mproc_queue_free(there);
  mproc_queue_free(back);
  return ok ? t : -1;
}

/* ---- the least an in-ring hand-over costs ---- */

/* A bare single-producer single-consumer ring in mproc's record layout
 * (a 16-byte header and 64 B, 80-byte records, about 1 MiB): the producer
 * clears the word past its record, writes the payload's first byte and the
 * header, then stores the kind (release); the consumer spins on the kind,
 * without a pause. No lock, no journal, no crash safety: what any in-ring
 * hand-over of a 64 B message costs on this machine. */
enum { HAND_REC = 80, HAND_SLOTS = 13107 };

typedef struct {
  unsigned char *ring;
  long at; /* this side's slot */
} hand_t;

static _Atomic uint32_t *hand_kind(const hand_t *h, long slot) {
  return (_Atomic uint32_t *)(void *)(h->ring + slot * HAND_REC);
}

static void hand_put(hand_t *h) {
  unsigned char *r = h->ring + h->at * HAND_REC;
  long next = (h->at + 1) % HAND_SLOTS;
  uint32_t len = SMALL;
  uint64_t total = SMALL;
  atomic_store_explicit(hand_kind(h, next), 0, memory_order_relaxed);
  r[16] = 0x5a;
  memcpy(r + 4, &len, sizeof len);
  memcpy(r + 8, &total, sizeof total);
  atomic_store_explicit(hand_kind(h, h->at), 1, memory_order_release);
  h->at = next;
}

/* Waits for the record at this side's slot (yielding after a while, should
 * both processes share a CPU); whether its first byte came. */
static bool hand_get(hand_t *h) {
  for (long k = 0; !atomic_load_explicit(hand_kind(h, h->at), memory_order_acquire); k++)
    if (k > 100000)
      sched_yield();
  bool ok = h->ring[h->at * HAND_REC + 16] == 0x5a;
  h->at = (h->at + 1) % HAND_SLOTS;
  return ok;
}

/* Seconds per one-way hand-over in the bare ring: half a round trip
 * between two pinned processes, as loan_one_way(); -1 on a failure. */
static double bare_one_way(long n) {
  size_t size = (size_t)HAND_REC * HAND_SLOTS;
  unsigned char *a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  unsigned char *b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pid_t child = a == MAP_FAILED || b == MAP_FAILED ? -1 : fork();
  if (child == 0) {
    pin(1);
    hand_t in = {a, 0}, out = {b, 0};
    for (long i = 0; i < n + 1000; i++)
      if (!hand_get(&in))
        _exit(1);
      else
        hand_put(&out);
    _exit(0);
  }
  pin(0);
  hand_t out = {a, 0}, in = {b, 0};
  double t0 = 0;
  bool ok = child > 0;
  for (long i = 0; ok && i < n + 1000; i++) {
    if (i == 1000)
      t0 = now_s();
    hand_put(&out);
    ok = hand_get(&in);
  }
  double t = (now_s() - t0) / (double)n / 2;
  int status = 1;
  if (child > 0)
    waitpid(child, &status, 0);
  pin(-1);
  if (a != MAP_FAILED)
    munmap(a, size);
  if (b != MAP_FAILED)
    munmap(b, size);
  return ok && status == 0 ? t : -1;
}

static void loan_latency(long scale);

/* Loans and views against puts and gets, 1 -> 1 pinned, in one run; and a
 * one-way hand-over against the cache-line floor. */
static void zero_copy_table(long scale) {
  /* Each way moves enough messages that its run is not the processes'
   * start and end: loans of any size as many as 64 B copies. */
  /* Loans above a quarter of the default 1 MiB ring come from a chunk
   * pool of four messages; copies get a ring of 16 messages, their best
   * case (one copy in and one out, no streaming). */
  static const struct {
    const char *name;
    long size, loans, copies;
    size_t ring;
  } rows[] = {{"64 B", SMALL, 2000000, 2000000, RING},
              {"1 MiB", BIG, 2000000, 4000, 16 * (size_t)BIG},
              {"64 MiB", 64 * (long)BIG, 2000000, 60, 512 * (size_t)BIG}};
  printf("\nzero-copy: loan/publish -> view/release against put/get, 1 -> 1, median of 3.\n"
         "Neither side touches a message past its first byte: a loan costs the same at\n"
         "any size, a put and a get copy every byte (in, then out). Loans of 1 MiB and\n"
         "64 MiB are runs of a chunk pool beside a 1 MiB ring; copies use a ring of 16\n"
         "messages, and \"pool copies\" the loans' queue (each put copied whole into\n"
         "the pool, each get out of it).\n\n");
  printf("| %-8s | %14s | %14s | %10s | %14s |\n", "message", "loans", "copies", "gain",
         "pool copies");
  printf("|----------|----------------|----------------|------------|----------------|\n");
  for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
    long nl = rows[k].loans * scale, nc = rows[k].copies * scale, size = rows[k].size;
    bool pooled = (size_t)size > RING / 4;
    way_t loans = {LOAN, VIEW, RING, pooled ? 4 * (uint64_t)size : 0};
    way_t copies = {PUT, GET, rows[k].ring, 0};
    way_t pool_copies = {PUT, GET, RING, loans.pool};
    double t[3], c[3], pc[3];
    for (int i = 0; i < 3; i++) {
      t[i] = mproc_row_by(1, nl, size, loans);
      c[i] = mproc_row_by(1, nc, size, copies);
      pc[i] = pooled ? mproc_row_by(1, nc, size, pool_copies) : 0;
    }
    double rl = nl / median_of_3(t), rc = nc / median_of_3(c);
    double rp = pooled ? nc / median_of_3(pc) : 0;
    printf("| %-8s | %12.0f/s | %12.0f/s | %9.1fx | ", rows[k].name, rl, rc, rl / rc);
    if (pooled)
      printf("%12.0f/s |\n", rp);
    else
      printf("%14s |\n", "-");
  }
  loan_latency(scale);
}

/* The 64 B loan -> view one way against the floor: each hand-over between
 * two probes of the floor, pinned as the loans' two processes are (CPUs 0
 * and 1): the VM's far spells move both. */
/* a / b, or -1 when either failed (-1). */
static double ratio_of(double a, double b) { return a > 0 && b > 0 ? a / b : -1; }

static void loan_latency(long scale) {
  double way[5], bare[5], floor[5], ratio[5], bare_ratio[5], over_bare[5];
  for (int i = 0; i < 5; i++) {
    double before = line_now();
    way[i] = loan_one_way(200000 * scale);
    bare[i] = bare_one_way(200000 * scale);
    double after = line_now();
    floor[i] = larger(before, after);
    ratio[i] = ratio_of(way[i], floor[i]);
    bare_ratio[i] = ratio_of(bare[i], floor[i]);
    over_bare[i] = ratio_of(way[i], bare[i]);
  }
  printf("\nloan -> view of 64 B, one way, 5 runs each between two probes of the floor (a\n"
         "cache line one way), beside a bare in-ring hand-over (no lock, no journal: the\n"
         "least a ring pays): %.0f ns, bare %.0f ns, floor %.0f ns (medians); median ratios\n"
         "mproc/floor %.2fx, bare/floor %.2fx, mproc/bare %.2fx\n",
         median_of(way, 5) * 1e9, median_of(bare, 5) * 1e9, median_of(floor, 5) * 1e9,
         median_of(ratio, 5), median_of(bare_ratio, 5), median_of(over_bare, 5));
}

/* ---- the kill storm: loans and views of processes killed holding them ---- */

/* The kill storm's queue: a default ring and a chunk pool of STORM_POOL. */
#  define STORM_POOL ((uint64_t)8 << 20)
enum { POOL_LOAN = VIEW + 1 };

/* args: queue, Event, LOAN, VIEW or POOL_LOAN (the whole chunk pool).
 * Takes a loan (or a view), says so, and waits to be killed. */
static int holder_worker(const mproc_args_t *args) {
  mproc_queue_t *q;
  mproc_event_t *held;
  int64_t role;
  if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_event(args, 1, &held) ||
      mproc_args_get_int(args, 2, &role))
    return 1;
  void *buf;
  const void *data;
  size_t len;
  if (role == VIEW ? mproc_queue_get_view(q, &data, &len, MPROC_INFINITE)
                   : mproc_queue_loan(q, role == LOAN ? SMALL : STORM_POOL, &buf, MPROC_INFINITE))
    return 2;
  mproc_event_set(held);
  for (;;)
    sleep(1);
}

/* Entries of dir whose names begin with prefix ("" counts every one but
 * . and ..); -1 when it cannot be read. */
static long count_entries(const char *dir, const char *prefix) {
  DIR *d = opendir(dir);
  if (!d)
    return -1;
  long n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    n += e->d_name[0] != '.' && strncmp(e->d_name, prefix, strlen(prefix)) == 0;
  closedir(d);
  return n;
}

/* Milliseconds from the SIGKILL of a process holding a loan (or a view) to
 * the next loan of the same kind going through - the whole pool, after a
 * pool loaner - (the viewed message coming again); -1 when something
 * failed. */
static double one_kill(mproc_queue_t *q, int role) {
  mproc_event_t *held;
  mproc_args_t *a;
  mproc_process_t *p = NULL;
  if (mproc_event_new(&held) || mproc_args_new(&a))
    return -1;
  if (role == VIEW && loan_one(q, SMALL))
    return -1;
  mproc_args_add_queue(a, q);
  mproc_args_add_event(a, held);
  mproc_args_add_int(a, role);
  bool ok = mproc_process_new(&p, holder_worker, a, NULL) == 0 && mproc_process_start(p) == 0 &&
            mproc_event_wait(held, 10000) == 0;
  mproc_args_free(a);
  double t0 = now_s();
  ok = ok && mproc_process_kill(p) == 0;
  size_t size = role == POOL_LOAN ? STORM_POOL : SMALL;
  ok = ok && (role == VIEW || loan_one(q, size) == 0) &&
       view_one(q, role == VIEW ? SMALL : size) == 0;
  double t = (now_s() - t0) * 1e3;
  ok = ok && mproc_process_join(p, 10000) == 0;
  mproc_process_free(p);
  mproc_event_free(held);
  return ok ? t : -1;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

/* Whether the whole chunk pool can be lent now: no chunk unaccounted. */
static bool pool_whole(mproc_queue_t *q) {
  void *buf;
  return mproc_queue_loan(q, STORM_POOL, &buf, 0) == 0 && mproc_queue_discard(q, buf) == 0;
}

/* kills processes - loaners of the ring and of the whole chunk pool, and
 * viewers - at random, each killed holding what it took: how soon it comes
 * back, and what is left over after all. */
static void kill_storm(long kills) {
  mproc_queue_t *q;
  mproc_queue_opts_t o = {.chunk_pool_bytes = STORM_POOL};
  if (mproc_queue_new(&q, &o))
    return;
  double *ms = calloc((size_t)kills, sizeof *ms);
  long fds = -1, shm = count_entries("/dev/shm", "mproc"), failed = 0;
  srand(1);
  for (long k = 0; ms && k < kills; k++) {
    static const int roles[] = {LOAN, VIEW, POOL_LOAN};
    if ((ms[k] = one_kill(q, roles[rand() % 3])) < 0)
      failed++;
    if (k == 0) /* what the first child made lazily stays */
      fds = count_entries("/proc/self/fd", "");
  }
  long fds_after = count_entries("/proc/self/fd", "");
  long shm_after = count_entries("/dev/shm", "mproc");
  qsort(ms, (size_t)kills, sizeof *ms, cmp_double);
  printf("\nkill storm: %ld processes SIGKILLed holding a ring loan, a pool loan or a view "
         "(at random)\n",
         kills);
  printf("given back after the kill (ms): min %.2f, median %.2f, 99th %.2f, max %.2f\n", ms[0],
         ms[kills / 2], ms[kills * 99 / 100], ms[kills - 1]);
  printf("left over: %ld failed, %lld messages in the queue, the whole pool lendable: %s, "
         "descriptors %ld -> %ld, /dev/shm entries %ld -> %ld\n",
         failed, mproc_queue_size(q), pool_whole(q) ? "yes" : "NO", fds, fds_after, shm, shm_after);
  free(ms);
  mproc_queue_free(q);
}

/* ---- the bare ring: SPSC bytes, futex wake-ups ---- */

typedef struct {
  _Atomic int go;
  alignas(64) _Atomic uint64_t head;
  _Atomic uint32_t head_sleeping;
  alignas(64) _Atomic uint64_t tail;
  _Atomic uint32_t tail_sleeping;
  alignas(64) unsigned char data[RING];
} bare_t;

static void futex_wait(_Atomic uint64_t *pos, uint64_t seen) {
  syscall(SYS_futex, (uint32_t *)pos, FUTEX_WAIT, (uint32_t)seen, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint64_t *pos) {
  syscall(SYS_futex, (uint32_t *)pos, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Waits until *pos differs from seen: spins a little, then sleeps. */
static uint64_t wait_move(_Atomic uint64_t *pos, _Atomic uint32_t *sleeping, uint64_t seen) {
  for (int i = 0; i < 256; i++) {
    uint64_t v = atomic_load_explicit(pos, memory_order_acquire);
    if (v != seen)
      return v;
  }
  atomic_store(sleeping, 1);
  uint64_t v = atomic_load(pos);
  if (v == seen)
    futex_wait(pos, seen);
  atomic_store(sleeping, 0);
  return atomic_load_explicit(pos, memory_order_acquire);
}

static void publish(_Atomic uint64_t *pos, _Atomic uint32_t *sleeping, uint64_t v) {
  atomic_store(pos, v);
  if (atomic_load(sleeping))
    futex_wake(pos);
}

static void bare_write(bare_t *r, uint64_t *head, const unsigned char *p, size_t n) {
  uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  while (n > 0) {
    while (tail - *head == RING)
      *head = wait_move(&r->head, &r->head_sleeping, *head);
    size_t room = RING - (size_t)(tail - *head), off = tail % RING;
    size_t k = n < room ? n : room;
    k = k < RING - off ? k : RING - off;
    memcpy(r->data + off, p, k);
    tail += k;
    p += k;
    n -= k;
    if (n == 0 || tail - *head == RING)
      publish(&r->tail, &r->tail_sleeping, tail);
  }
}

static void bare_read(bare_t *r, uint64_t *tail, unsigned char *p, size_t n) {
  uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  while (n > 0) {
    while (*tail == head)
      *tail = wait_move(&r->tail, &r->tail_sleeping, *tail);
    size_t have = (size_t)(*tail - head), off = head % RING;
    size_t k = n < have ? n : have;
    k = k < RING - off ? k : RING - off;
    memcpy(p, r->data + off, k);
    head += k;
    p += k;
    n -= k;
    if (n == 0 || head == *tail)
      publish(&r->head, &r->head_sleeping, head);
  }
}

/* One producer, one consumer (the parent): length-prefixed messages. */
static double bare_row(long n, long size) {
  bare_t *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (r == MAP_FAILED)
    return -1;
  unsigned char *m = calloc(1, (size_t)size + 8);
  if (fork() == 0) {
    pin(0);
    uint64_t head = 0;
    m[8] = 0x5a;
    while (!atomic_load(&r->go))
      ;
    for (long i = 0; i < n; i++) {
      uint64_t len = (uint64_t)size;
      memcpy(m, &len, 8);
      bare_write(r, &head, m, (size_t)size + 8);
    }
    _exit(0);
  }
  pin(1);
  usleep(100000);
  double t0 = now_s();
  atomic_store(&r->go, 1);
  uint64_t tail = 0;
  bool ok = true;
  for (long i = 0; i < n; i++) {
    uint64_t len;
    bare_read(r, &tail, (unsigned char *)&len, 8);
    bare_read(r, &tail, m, (size_t)len);
    ok &= len == (uint64_t)size && m[0] == 0x5a;
  }
  double t = now_s() - t0;
  pin(-1);
  wait(NULL);
  munmap(r, sizeof *r);
  free(m);
  return ok ? t : -1;
}

/* ---- a pipe: one write() per message, reads through a 64 KiB buffer ---- */

typedef struct {
  int fd;
  unsigned char buf[1 << 16];
  size_t at, end;
} reader_t;

static bool read_exact(reader_t *rd, unsigned char *p, size_t n) {
  while (n > 0) {
    if (rd->at == rd->end) {
      ssize_t got = read(rd->fd, rd->buf, sizeof rd->buf);
      if (got <= 0)
        return false;
      rd->at = 0;
      rd->end = (size_t)got;
    }
    size_t k = rd->end - rd->at < n ? rd->end - rd->at : n;
    memcpy(p, rd->buf + rd->at, k);
    rd->at += k;
    p += k;
    n -= k;
  }
  return true;
}

static double pipe_row(long n, long size) {
  int fds[2];
  if (pipe(fds))
    return -1;
  unsigned char *m = calloc(1, (size_t)size + 8);
  if (fork() == 0) {
    pin(0);
    close(fds[0]);
    uint64_t len = (uint64_t)size;
    memcpy(m, &len, 8);
    m[8] = 0x5a;
    for (long i = 0; i < n; i++)
      for (size_t done = 0; done < (size_t)size + 8;) {
        ssize_t w = write(fds[1], m + done, (size_t)size + 8 - done);
        if (w <= 0)
          _exit(1);
        done += (size_t)w;
      }
    _exit(0);
  }
  close(fds[1]);
  pin(1);
  reader_t *rd = calloc(1, sizeof *rd);
  rd->fd = fds[0];
  double t0 = now_s();
  bool ok = true;
  for (long i = 0; i < n && ok; i++) {
    uint64_t len;
    ok = read_exact(rd, (unsigned char *)&len, 8) && len == (uint64_t)size &&
         read_exact(rd, m, (size_t)len) && m[0] == 0x5a;
  }
  double t = now_s() - t0;
  pin(-1);
  close(fds[0]);
  wait(NULL);
  free(rd);
  free(m);
  return ok ? t : -1;
}

/* ---- Python ---- */

static double python_row(const char *kind, int procs, long n, long size) {
  char cmd[3072];
  snprintf(
      cmd, sizeof cmd,
      "python3 - <<'EOF' 2>/dev/null\n"
      "import multiprocessing as mp, time\n"
      "import os\n"
      "def pin(cpu):\n"
      "    if cpu >= 0: os.sched_setaffinity(0, {cpu})\n"
      "def put(q, go, n, size, cpu):\n"
      "    pin(cpu); m = b'Z' * size; go.wait()\n"
      "    for _ in range(n): q.put(m)\n"
      "def get(q, go, n, size, bad, cpu):\n"
      "    pin(cpu); go.wait()\n"
      "    for _ in range(n):\n"
      "        if len(q.get()) != size: bad.value = 1\n"
      "if __name__ == '__main__':\n"
      "    procs, n, size = %d, %ld, %ld\n"
      "    q = mp.%s(); go = mp.Event(); bad = mp.Value('i', 0)\n"
      "    c = lambda k: k if procs == 1 else -1\n"
      "    ps = [mp.Process(target=put, args=(q, go, n, size, c(0))) for _ in range(procs)]\n"
      "    ps += [mp.Process(target=get, args=(q, go, n, size, bad, c(1))) for _ in range(procs)]\n"
      "    for p in ps: p.start()\n"
      "    time.sleep(1); t0 = time.perf_counter(); go.set()\n"
      "    for p in ps: p.join()\n"
      "    t = time.perf_counter() - t0\n"
      "    print(t if bad.value == 0 and all(p.exitcode == 0 for p in ps) else -1)\n"
      "EOF",
      procs, n, size, kind);
  return seconds_printed_by(cmd);
}

/* ---- the table ---- */

static void cell(double seconds, double units, bool bytes) {
  if (seconds < 0)
    printf(" %12s |", seconds == -1 ? "WRONG/n.a." : "n/a");
  else if (bytes)
    printf(" %10.2f GB |", units / seconds / 1e9);
  else
    printf(" %11.0fk |", units / seconds / 1e3);
}

/* The median of three runs of a C peer (-1 if any failed): a 2-vCPU
 * machine swings by 2x between runs; Python runs once (it is slow). */
static double median3(double (*run)(int, long, long), int procs, long n, long size) {
  double t[3];
  for (int i = 0; i < 3; i++)
    if ((t[i] = run(procs, n, size)) < 0)
      return t[i];
  return median_of_3(t);
}

static double bare_any(int procs, long n, long size) { return procs == 1 ? bare_row(n, size) : -2; }

static double pipe_any(int procs, long n, long size) { return procs == 1 ? pipe_row(n, size) : -2; }

/* mproc on the generic POSIX flavour (a FIFO per wait word, shm_open, no
 * eventfd), measured by the sibling executable in this same run. */
static double generic_any(int procs, long n, long size) {
  char args[96];
  snprintf(args, sizeof args, "--mproc-row %d %ld %ld", procs, n, size);
  double t = generic_sibling(args);
  return t < 0 ? -2 : t;
}

static void row(const char *name, int procs, long n, long py_n, long size) {
  bool bytes = size >= BIG;
  double moved = (double)procs * n * (bytes ? (double)size : 1);
  double py_moved = (double)procs * py_n * (bytes ? (double)size : 1);
  double mp = median3(mproc_row, procs, n, size);
  double gen = median3(generic_any, procs, n, size);
  double bare = median3(bare_any, procs, n, size);
  double pipe = median3(pipe_any, procs, n, size);
  double pq = python_row("Queue", procs, py_n, size);
  double ps = python_row("SimpleQueue", procs, py_n, size);
  printf("| %-22s |", name);
  cell(mp, moved, bytes);
  cell(gen, moved, bytes);
  cell(bare, moved, bytes);
  cell(pipe, moved, bytes);
  cell(pq, py_moved, bytes);
  cell(ps, py_moved, bytes);
  if (mp > 0 && bare > 0)
    printf(" %9.2fx |", bare / mp);
  else
    printf(" %10s |", "n/a");
  if (mp > 0 && pq > 0)
    printf(" %9.1fx |\n", (moved / mp) / (py_moved / pq));
  else
    printf(" %10s |\n", "n/a");
}

enum { MAX_ROUNDS = 8, NEAR = 2 }; /* near: within 2x the quickest line */

/* The median of the n runs in t whose line was near the quickest seen
 * (least); how many there were in *count. -1 when none. */
static double median_of_near(const double *t, const double *line, int n, double least, int *count) {
  double near[MAX_ROUNDS];
  int k = 0;
  for (int r = 0; r < n && r < MAX_ROUNDS; r++)
    if (t[r] > 0 && line[r] > 0 && line[r] <= NEAR * least)
      near[k++] = t[r];
  *count = k;
  return k ? median_of(near, k) : -1;
}

static double least_of(const double *t, int n) {
  double least = 1;
  for (int i = 0; i < n; i++)
    if (t[i] > 0 && t[i] < least)
      least = t[i];
  return least;
}

typedef double (*row_fn)(int procs, long n, long size);

/* a and b, 64 B messages, ROUNDS runs each in turns, each pair between
 * two probes of the line: the medians over the runs in the usual spell
 * and a / b. One median of three says little where every run lands in
 * one of two or three modes (see the callers). */
static void compared_in_turns(const char *what, const char *name_a, row_fn a, const char *name_b,
                              row_fn b, int procs, long n) {
  enum { ROUNDS = 7 };
  double ta[ROUNDS], tb[ROUNDS], line[ROUNDS];
  for (int i = 0; i < ROUNDS; i++) {
    double before = line_now();
    ta[i] = a(procs, n, SMALL);
    tb[i] = b(procs, n, SMALL);
    double after = line_now();
    line[i] = larger(before, after);
    if (ta[i] < 0 || tb[i] < 0) {
      printf("\n%s: n/a (%s)\n", what, tb[i] == -2 ? "the peer cannot run here" : "a run failed");
      return;
    }
  }
  double least = least_of(line, ROUNDS), moved = procs * (double)n / 1e6;
  int count;
  double ua = median_of_near(ta, line, ROUNDS, least, &count);
  double ub = median_of_near(tb, line, ROUNDS, least, &count);
  double ra = moved / median_of(ta, ROUNDS), rb = moved / median_of(tb, ROUNDS);
  printf("\n%s, 64 B, %d runs each in turns: medians of all runs (slowest-fastest),\n"
         "%s %.1f M/s (%.1f-%.1f), %s %.1f M/s (%.1f-%.1f); of the %d in the usual spell\n"
         "(line within 2x of %.0f ns), %s %.1f M/s, %s %.1f M/s: %s / %s %.2fx\n",
         what, ROUNDS, name_a, ra, moved / ta[ROUNDS - 1], moved / ta[0], name_b, rb,
         moved / tb[ROUNDS - 1], moved / tb[0], count, least * 1e9, name_a, moved / ua, name_b,
         moved / ub, name_a, name_b, ub / ua);
}

/* 2 -> 2 on 2 CPUs, unpinned, also moves with where the scheduler puts
 * the four processes. 1 -> 1 pinned, the bare ring runs at 11-16 M/s
 * mostly, and 45-63 M/s when its producer gets ahead and the consumer
 * streams behind it; mproc at 11-30 M/s (docs/queue.md, "Performance"). */
static void compared(long scale) {
  compared_in_turns("2 -> 2, the Linux build against the generic one", "Linux", mproc_row,
                    "generic", generic_any, 2, 800000 * scale);
  compared_in_turns("1 -> 1, mproc against the bare SPSC ring", "mproc", mproc_row, "bare",
                    bare_any, 1, 2000000 * scale);
}

/* N producers and N consumers on one queue (not pinned), N = 1..16 on
 * however many CPUs there are: the same number of messages in all, so a
 * row's throughput over N = 1's says what crowding costs. Every N runs
 * SCALING_ROUNDS times, in turns, each run between two probes of the
 * cache line (line_now): the ratio is taken over the runs in the usual
 * spell, and the medians of all runs are printed beside it. */
static void scaling_table(long scale) {
  static const int ns[] = {1, 2, 4, 8, 16};
  enum { NN = sizeof ns / sizeof ns[0], SCALING_ROUNDS = 5 };
  long total = 1600000 * scale;
  double t[NN][SCALING_ROUNDS], line[NN][SCALING_ROUNDS];
  for (int r = 0; r < SCALING_ROUNDS; r++)
    for (int k = 0; k < NN; k++) {
      double before = line_now();
      t[k][r] = mproc_row(-ns[k], total / ns[k], SMALL);
      double after = line_now();
      line[k][r] = larger(before, after);
    }
  double least = least_of(&line[0][0], NN * SCALING_ROUNDS);
  printf("\nscaling: 64 B messages, N -> N on one queue, %ld messages in all; %d runs of\n"
         "each N in turns, each between two probes of one cache line one way (quickest\n"
         "%.0f ns). \"usual\": the runs whose line crossed within 2x of the quickest.\n\n",
         total, SCALING_ROUNDS, least * 1e9);
  printf("| %4s | %12s | %12s | %6s | %16s | %14s |\n", "N", "all runs", "usual runs", "usual",
         "vs N = 1 (usual)", "line, median");
  printf("|------|--------------|--------------|--------|------------------|----------------|\n");
  double first = -1;
  for (int k = 0; k < NN; k++) {
    int count;
    double usual = median_of_near(t[k], line[k], SCALING_ROUNDS, least, &count);
    double all = median_of(t[k], SCALING_ROUNDS), seen = median_of(line[k], SCALING_ROUNDS);
    printf("| %4d |", ns[k]);
    cell(all, (double)total, false);
    cell(usual, (double)total, false);
    printf(" %4d/%d |", count, SCALING_ROUNDS);
    if (k == 0)
      first = usual;
    if (usual > 0 && first > 0)
      printf(" %15.2fx |", first / usual);
    else
      printf(" %16s |", "n/a");
    printf(" %11.0f ns |\n", seen * 1e9);
  }
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  if (argc == 5 && strcmp(argv[1], "--mproc-row") == 0) { /* asked by the Linux build */
    printf("%.9f\n", mproc_row(atoi(argv[2]), atol(argv[3]), atol(argv[4])));
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "--kill-storm") == 0) {
    kill_storm(atol(argv[2]) > 0 ? atol(argv[2]) : 1000);
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "--scaling") == 0) { /* that table alone */
    scaling_table(1);
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "--loan-latency") == 0) { /* that row alone */
    loan_latency(1);
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "--zero-copy") == 0) { /* that table alone */
    zero_copy_table(1);
    return 0;
  }
  long scale = bench_scale(argc, argv);
  printf("queues: throughput, in the same run (C rows: median of 3); 1 MiB rings; scale %ld\n\n",
         scale);
  printf("| %-22s | %12s | %12s | %12s | %12s | %12s | %12s | %10s | %10s |\n", "per second",
         "mproc", "mproc gen.", "bare ring", "pipe", "Python Queue", "Py SimpleQ", "mproc/bare",
         "mproc/PyQ");
  printf("|------------------------|--------------|--------------|--------------|--------------|"
         "--------------|--------------|------------|------------|\n");
  row("64 B messages, 1 -> 1", 1, 2000000 * scale, 100000 * scale, SMALL);
  row("64 B messages, 2 -> 2", 2, 1000000 * scale, 50000 * scale, SMALL);
  row("1 MiB messages, 1 -> 1", 1, 2000 * scale, 500 * scale, BIG);
  printf("\nmproc/bare: mproc's throughput over the bare SPSC ring's (the aim: at least 0.5).\n"
         "mproc/PyQ: over Python's multiprocessing.Queue (the aim: at least 20x).\n"
         "The bare ring and the pipe have one reader and one writer only: n/a for 2 -> 2.\n"
         "mproc gen.: the generic POSIX build (MPROC_POSIX_GENERIC: a FIFO per wait word,\n"
         "shm_open), the same program run as bench_queue_generic.\n");
  compared(scale);
  scaling_table(scale);
  zero_copy_table(scale);
  return 0;
}
#endif
