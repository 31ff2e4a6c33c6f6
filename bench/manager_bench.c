/* Managers, side by side in one run with Python's multiprocessing.Manager:
 *   - the latency of one call from one client: dict set and get, list
 *     append, Namespace set and get, Lock acquire+release, Queue put+get;
 *   - dict set from two client processes at once (time per call, both
 *     together);
 *   - dict incr in batches of 1000 (Python has no batch: its row is one
 *     d[k] += 1, which also loses updates);
 *   - making a dict proxy, starting a manager (spawn and fork; until the
 *     start returns, as Python's Manager() is timed);
 *   - dict set over tcp: loopback;
 *   - local calls through the shared-memory lane against the same calls
 *     on the connection (MPROC_MANAGER_LANE=0), the only table on Windows.
 * The floor under a call from one client: a cache-line round trip between
 * two processes that spin on shared memory and do nothing else (no
 * encoding, no table): a call that waits for its answer cannot beat it.
 * Each mproc row is the median of 3 runs (a 2-vCPU machine swings);
 * Python runs once; its rows are POSIX only.
 *
 *   bench_manager [scale]
 */
#include <mproc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "bench_util.h"

static void check(int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "bench_manager: %s: %s: %s\n", what, mproc_err_name(rc),
            mproc_last_error_detail());
    exit(1);
  }
}

enum { OP_DICT_SET, OP_DICT_GET, OP_LIST_APPEND, OP_NS_SET, OP_NS_GET, OP_LOCK, OP_QUEUE };

/* Seconds per call of op, n calls. */
static double run_op(mproc_proxy_t *p, int op, long n) {
  mproc_args_t *v = NULL;
  double t0 = now_s();
  for (long i = 0; i < n; i++) {
    switch (op) {
    case OP_DICT_SET:
      check(mproc_dict_set(p, mproc_int(i & 1023), mproc_int(i)), "dict_set");
      break;
    case OP_DICT_GET:
      check(mproc_dict_get(p, mproc_int(i & 1023), &v), "dict_get");
      mproc_args_free(v);
      break;
    case OP_LIST_APPEND:
      check(mproc_list_append(p, mproc_int(i)), "list_append");
      break;
    case OP_NS_SET:
      check(mproc_namespace_set(p, "x", mproc_int(i)), "namespace_set");
      break;
    case OP_NS_GET:
      check(mproc_namespace_get(p, "x", &v), "namespace_get");
      mproc_args_free(v);
      break;
    case OP_LOCK:
      check(mproc_proxy_acquire(p, MPROC_INFINITE), "acquire");
      check(mproc_proxy_release(p), "release");
      break;
    default:
      check(mproc_proxy_put(p, mproc_int(i), MPROC_INFINITE), "put");
      check(mproc_proxy_get(p, &v, MPROC_INFINITE), "get");
      mproc_args_free(v);
      break;
    }
  }
  return (now_s() - t0) / (double)n;
}

static double median_op(mproc_proxy_t *p, int op, long n) {
  double t[3];
  for (int i = 0; i < 3; i++)
    t[i] = run_op(p, op, n);
  return median_of_3(t);
}

/* ---- the lane against the connection ---- */

/* Sets MPROC_MANAGER_LANE (NULL: removes it). */
static void set_lane_env(const char *value) {
#ifdef _WIN32
  char buf[64];
  snprintf(buf, sizeof buf, "MPROC_MANAGER_LANE=%s", value ? value : "");
  _putenv(buf);
#else
  if (value)
    setenv("MPROC_MANAGER_LANE", value, 1);
  else
    unsetenv("MPROC_MANAGER_LANE");
#endif
}

static mproc_proxy_t *proxy_for(mproc_manager_t *m, int op) {
  mproc_proxy_t *p;
  check(op == OP_LOCK ? mproc_manager_lock(m, &p) : mproc_manager_dict(m, &p), "proxy");
  return p;
}

/* The local calls of the lane (m's own client) and of a second client
 * that asks for none (MPROC_MANAGER_LANE=0: every call on the unix socket
 * or the Windows pipe), side by side. */
static void lane_table(mproc_manager_t *m, const char *authkey, long n) {
  static const int ops[] = {OP_DICT_SET, OP_DICT_GET, OP_LOCK};
  static const char *names[] = {"dict set (us)", "dict get (us)", "Lock acquire+release (us)"};
  mproc_manager_opts_t o = {0};
  o.authkey = authkey;
  o.authkey_len = strlen(authkey);
  mproc_manager_t *plain;
  set_lane_env("0"); /* read when a thread's connection says hello */
  check(mproc_manager_connect(&plain, mproc_manager_address(m), &o), "connect");
  mproc_proxy_t *on_conn[3], *on_lane[3];
  for (int i = 0; i < 3; i++) {
    on_conn[i] = proxy_for(plain, ops[i]);
    on_lane[i] = proxy_for(m, ops[i]);
    /* the connection's hello, and the keys a get reads */
    run_op(on_conn[i], ops[i] == OP_LOCK ? OP_LOCK : OP_DICT_SET, 1024);
    run_op(on_lane[i], ops[i] == OP_LOCK ? OP_LOCK : OP_DICT_SET, 1024);
  }
  set_lane_env(NULL);
  printf("\nLocal calls: through the shared-memory lane, and on the connection\n"
         "(MPROC_MANAGER_LANE=0); medians of 3 runs of %ld calls.\n\n",
         n);
  printf("| %-34s | %12s | %12s | %9s |\n", "", "lane", "connection", "lane gain");
  printf("|------------------------------------|--------------|--------------|-----------|\n");
  for (int i = 0; i < 3; i++) {
    double lane = median_op(on_lane[i], ops[i], n), conn = median_op(on_conn[i], ops[i], n);
    printf("| %-34s | %12.2f | %12.2f | %8.1fx |\n", names[i], lane * 1e6, conn * 1e6, conn / lane);
    mproc_proxy_free(on_lane[i]);
    mproc_proxy_free(on_conn[i]);
  }
  mproc_manager_free(plain);
}

#ifdef _WIN32
int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  long n = 500 * bench_scale(argc, argv);
  mproc_manager_opts_t o = {0};
  o.authkey = "bench";
  o.authkey_len = 5;
  mproc_manager_t *m;
  check(mproc_manager_start(&m, &o), "manager_start");
  printf("Managers on Windows: one server process; times per call (no Python peer\n"
         "here: its rows are POSIX only).\n");
  lane_table(m, "bench", n);
  mproc_manager_free(m);
  return 0;
}
#else

/* args: (dict, n, array of two I64, index, barrier): n sets, its time in
 * ns, started together with the other process (a call takes well under
 * the time it takes to start a process). */
static int set_loop(const mproc_args_t *args) {
  mproc_proxy_t *d;
  mproc_array_t *times;
  mproc_barrier_t *together;
  int64_t n, at;
  if (mproc_args_get_proxy(args, 0, &d) || mproc_args_get_int(args, 1, &n) ||
      mproc_args_get_array(args, 2, &times) || mproc_args_get_int(args, 3, &at) ||
      mproc_args_get_barrier(args, 4, &together))
    return 1;
  run_op(d, OP_DICT_SET, 100); /* connect first */
  if (mproc_barrier_wait(together, 60000, NULL))
    return 1;
  double t = run_op(d, OP_DICT_SET, n) * (double)n;
  ((int64_t *)mproc_array_ptr(times))[at] = (int64_t)(t * 1e9);
  return 0;
}

/* Two processes setting at once: seconds per call, both together. */
static double two_clients(mproc_proxy_t *d, long n) {
  mproc_array_t *times;
  mproc_barrier_t *together;
  check(mproc_array_new(&times, MPROC_T_I64, 2, NULL), "array_new");
  check(mproc_barrier_new(&together, 2), "barrier_new");
  mproc_process_t *p[2];
  for (int i = 0; i < 2; i++) {
    mproc_args_t *a;
    check(mproc_args_new(&a), "args");
    check(mproc_args_add_proxy(a, d), "args");
    check(mproc_args_add_int(a, n), "args");
    check(mproc_args_add_array(a, times), "args");
    check(mproc_args_add_int(a, i), "args");
    check(mproc_args_add_barrier(a, together), "args");
    check(mproc_process_new(&p[i], set_loop, a, NULL), "process_new");
    check(mproc_process_start(p[i]), "process_start");
    mproc_args_free(a);
  }
  for (int i = 0; i < 2; i++) {
    check(mproc_process_join(p[i], 600000), "join");
    mproc_process_free(p[i]);
  }
  int64_t *ns = mproc_array_ptr(times);
  double longest = (double)(ns[0] > ns[1] ? ns[0] : ns[1]) / 1e9;
  mproc_array_free(times);
  mproc_barrier_free(together);
  return longest / (2.0 * (double)n);
}

/* Seconds per incr in batches of 1000. */
static double batched_incr(mproc_manager_t *m, mproc_proxy_t *d, long n) {
  double t0 = now_s();
  for (long done = 0; done < n; done += 1000) {
    check(mproc_manager_batch_begin(m), "batch_begin");
    for (int i = 0; i < 1000; i++)
      check(mproc_dict_incr(d, mproc_str("n"), 1, NULL), "incr");
    check(mproc_manager_batch_run(m, NULL, 0), "batch_run");
  }
  return (now_s() - t0) / (double)n;
}

static double proxy_creation(mproc_manager_t *m, long n) {
  double t0 = now_s();
  for (long i = 0; i < n; i++) {
    mproc_proxy_t *d;
    check(mproc_manager_dict(m, &d), "manager_dict");
    mproc_proxy_free(d);
  }
  return (now_s() - t0) / (double)n;
}

/* Until mproc_manager_start returns, as Python's row times Manager() (the
 * shutdown is not counted on either side). */
static double manager_start(int n, mproc_start_method_t how) {
  mproc_manager_opts_t o = {0};
  o.start_method = how;
  double t[3];
  for (int r = 0; r < 3; r++) {
    t[r] = 0;
    for (int i = 0; i < n; i++) {
      mproc_manager_t *m;
      double t0 = now_s();
      check(mproc_manager_start(&m, &o), "manager_start");
      t[r] += now_s() - t0;
      mproc_manager_free(m);
    }
    t[r] /= n;
  }
  return median_of_3(t);
}

/* ---- Python ---- */

enum { PY_ROWS = 13 };

/* Python's numbers, in the order of the rows below; -1 where missing. */
static void python_rows(long n, double *out) {
  for (int i = 0; i < PY_ROWS; i++)
    out[i] = -1;
  char cmd[8192];
  snprintf(cmd, sizeof cmd,
           /* from a file: a spawned Python child imports the main module */
           "f=$(mktemp) && cat > \"$f\" <<'EOF'\n"
           "import multiprocessing as mp, time\n"
           "N = %ld\n"
           "def per(f, n=N):\n"
           "    t = time.perf_counter()\n"
           "    for i in range(n): f(i)\n"
           "    return (time.perf_counter() - t) / n\n"
           "def sets(d, n, out, at, b):\n"
           "    b.wait()\n"
           "    t = time.perf_counter()\n"
           "    for i in range(n): d[i %% 1024] = i\n"
           "    out[at] = time.perf_counter() - t\n"
           "def incrs(d, n):\n"
           "    for i in range(n): d['n'] += 1\n"
           "if __name__ == '__main__':\n"
           "    mp.set_start_method('fork')\n"
           "    t = time.perf_counter(); m = mp.Manager(); start = time.perf_counter() - t\n"
           "    sm = mp.get_context('spawn')\n"
           "    t = time.perf_counter(); s = sm.Manager(); spawn_start = time.perf_counter() - t\n"
           "    s.shutdown()\n"
           "    d, l, ns, lk, q = m.dict(), m.list(), m.Namespace(), m.Lock(), m.Queue()\n"
           "    r = [per(lambda i: d.__setitem__(i %% 1024, i)), per(lambda i: d[i %% 1024]),\n"
           "         per(lambda i: l.append(i)), per(lambda i: setattr(ns, 'x', i)),\n"
           "         per(lambda i: ns.x), per(lambda i: (lk.acquire(), lk.release())),\n"
           "         per(lambda i: (q.put(i), q.get()))]\n"
           "    out = m.list([0.0, 0.0])\n"
           "    b = mp.Barrier(2)\n"
           "    ps = [mp.Process(target=sets, args=(d, N, out, i, b)) for i in range(2)]\n"
           "    [p.start() for p in ps]; [p.join() for p in ps]\n"
           "    r.append(max(out) / (2 * N))\n"
           "    d['n'] = 0\n"
           "    t = time.perf_counter(); incrs(d, N // 4); r.append((time.perf_counter() - t) / (N "
           "// 4))\n"
           "    d['n'] = 0\n"
           "    ps = [mp.Process(target=incrs, args=(d, 2000)) for i in range(2)]\n"
           "    [p.start() for p in ps]; [p.join() for p in ps]\n"
           "    lost = 4000 - d['n']\n"
           "    t = time.perf_counter()\n"
           "    for i in range(200): m.dict()\n"
           "    r.append((time.perf_counter() - t) / 200)\n"
           "    r.append(start)\n"
           "    r.append(lost)\n"
           "    r.append(spawn_start)\n"
           "    print(' '.join('%%.9f' %% x for x in r))\n"
           "EOF\n"
           "python3 \"$f\" 2>/dev/null; rm -f \"$f\"",
           n);
  FILE *f = popen(cmd, "r");
  if (!f)
    return;
  for (int i = 0; i < PY_ROWS && fscanf(f, "%lf", &out[i]) == 1; i++) {
  }
  pclose(f);
}

/* A tcp: round trip in Python: a manager reached by address. */
static double python_tcp(long n) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "python3 - <<'EOF' 2>/dev/null\n"
           "from multiprocessing.managers import SyncManager\n"
           "import time\n"
           "if __name__ == '__main__':\n"
           "    m = SyncManager(address=('127.0.0.1', 0), authkey=b'k'); m.start()\n"
           "    c = SyncManager(address=m.address, authkey=b'k'); c.connect()\n"
           "    d = c.dict()\n"
           "    t = time.perf_counter()\n"
           "    for i in range(%ld): d[i %% 1024] = i\n"
           "    print((time.perf_counter() - t) / %ld)\n"
           "    m.shutdown()\n"
           "EOF",
           n, n);
  return seconds_printed_by(cmd);
}

/* ---- the table ---- */

static void row(const char *what, double mine, double python, double scale, const char *unit) {
  printf("| %-34s | %12.2f |", what, mine * scale);
  if (python > 0)
    printf(" %12.2f | %8.1fx |\n", python * scale, python / mine);
  else
    printf(" %12s | %9s |\n", "-", "-");
  (void)unit;
}

/* Calls for about 50 ms, untimed, so the rows measure calls to a server
 * that has settled. The kernel starts a new server on the client's CPU
 * in about one start in six here, and takes 10-25 ms to move one of the
 * two: until then the lane hands each call over by yielding the CPU
 * (3.5 us a call instead of 0.35). That is a manager's start, which its
 * own row measures, not what a call costs. */
static void settle(mproc_proxy_t *d) {
  double t0 = now_s();
  while (now_s() - t0 < 0.05)
    run_op(d, OP_DICT_SET, 100);
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  long scale = bench_scale(argc, argv);
  long n = 2000 * scale;
  double py[PY_ROWS];
  python_rows(n, py);
  double py_tcp = python_tcp(n);

  mproc_manager_opts_t o = {0};
  o.tcp_address = "tcp:127.0.0.1:0";
  o.authkey = "bench";
  o.authkey_len = 5;
  mproc_manager_t *m;
  check(mproc_manager_start(&m, &o), "manager_start");
  mproc_proxy_t *d, *l, *ns, *lock, *q;
  check(mproc_manager_dict(m, &d), "dict");
  check(mproc_manager_list(m, &l), "list");
  check(mproc_manager_namespace(m, &ns), "namespace");
  check(mproc_manager_lock(m, &lock), "lock");
  check(mproc_manager_queue(m, 0, &q), "queue");
  settle(d);
  mproc_proxy_t *objs[] = {d, d, l, ns, ns, lock, q};
  const char *names[] = {"dict set (us)",      "dict get (us)",      "list append (us)",
                         "Namespace set (us)", "Namespace get (us)", "Lock acquire+release (us)",
                         "Queue put+get (us)"};
  printf("Managers: one server process; times per call. scale %ld\n\n", scale);
  printf("| %-34s | %12s | %12s | %9s |\n", "", "mproc", "python", "speedup");
  printf("|------------------------------------|--------------|--------------|-----------|\n");
  double one[OP_QUEUE + 1];
  for (int op = OP_DICT_SET; op <= OP_QUEUE; op++)
    row(names[op], one[op] = median_op(objs[op], op, n), py[op], 1e6, "us");
  double floor = line_round_trip_median(100 * n, NULL);
  printf("| %-34s | %12.2f | %12s | %9s |\n", "floor: cache-line round trip (us)", floor * 1e6, "-",
         "-");
  double t2[3];
  for (int i = 0; i < 3; i++)
    t2[i] = two_clients(d, 10 * n);
  row("dict set, 2 processes at once (us)", median_of_3(t2), py[7], 1e6, "us");
  double tb[3];
  for (int i = 0; i < 3; i++)
    tb[i] = batched_incr(m, d, 20 * n);
  row("dict incr, batches of 1000 (us)", median_of_3(tb), py[8], 1e6, "us");
  printf("| %-34s | %12.2f | %12s | %9s |\n", "  = calls per second (M)", 1e-6 / median_of_3(tb),
         "-", "-");
  double tp[3];
  for (int i = 0; i < 3; i++)
    tp[i] = proxy_creation(m, n / 4);
  row("make a dict proxy (us)", median_of_3(tp), py[9], 1e6, "us");
  row("start a manager, spawn (ms)", manager_start(3, MPROC_START_SPAWN), py[12], 1e3, "ms");
  row("start a manager, fork (ms)", manager_start(3, MPROC_START_FORK), py[10], 1e3, "ms");
  mproc_manager_t *remote;
  mproc_manager_opts_t ro = {0};
  ro.authkey = "bench";
  ro.authkey_len = 5;
  check(mproc_manager_connect(&remote, mproc_manager_tcp_address(m), &ro), "connect tcp");
  mproc_proxy_t *rd;
  check(mproc_manager_dict(remote, &rd), "tcp dict");
  row("dict set over tcp: loopback (us)", median_op(rd, OP_DICT_SET, n), py_tcp, 1e6, "us");
  printf("\nLost updates of 2 processes x 2000 increments: mproc incr 0 (atomic), "
         "python d[k] += 1: %.0f\n",
         py[11]);
  printf("speedup: python's time over mproc's (higher is better).\n");
  printf("floor: two processes passing a counter through shared memory, spinning, nothing\n"
         "else; a call that waits for its answer cannot take less. dict set / floor: %.2fx,\n"
         "dict get / floor: %.2fx.\n",
         one[OP_DICT_SET] / floor, one[OP_DICT_GET] / floor);
  lane_table(m, "bench", n);
  mproc_proxy_free(rd);
  mproc_manager_free(remote);
  mproc_proxy_t *all[] = {d, l, ns, lock, q};
  for (int i = 0; i < 5; i++)
    mproc_proxy_free(all[i]);
  mproc_manager_free(m);
  return 0;
}
#endif
