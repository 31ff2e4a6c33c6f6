/* Connections between two processes, next to the same loops on a bare
 * socketpair and on Python's multiprocessing.Pipe, all in one run:
 *   round trip of an 8-byte message (µs), 64-byte messages one way
 *   (messages/s), 1 MiB messages one way (GB/s).
 * POSIX only (the bare loop is a socketpair and fork).
 *
 *   bench_conn [scale]   (scale 1 = default counts; larger is longer) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mproc.h>

#ifdef _WIN32
int main(void) {
  puts("bench_conn: POSIX only (its peer is a bare socketpair)");
  return 0;
}
#else
#  include <sys/socket.h>
#  include <sys/wait.h>
#  include <time.h>
#  include <unistd.h>

#  include "bench_util.h"

enum { PING = 0, SMALL = 1, LARGE = 2 };
static const size_t sizes[] = {8, 64, 1 << 20};

/* ---- mproc ---- */

/* args: (conn, kind, count). Echoes (PING) or swallows and acknowledges. */
static int mproc_peer(const mproc_args_t *args) {
  mproc_conn_t *c;
  int64_t kind, count;
  if (mproc_args_get_conn(args, 0, &c) || mproc_args_get_int(args, 1, &kind) ||
      mproc_args_get_int(args, 2, &count))
    return 1;
  unsigned char *buf = malloc(sizes[kind]);
  size_t len;
  for (int64_t i = 0; i < count; i++) {
    if (mproc_conn_recv_bytes_into(c, buf, sizes[kind], &len, MPROC_INFINITE))
      return 2;
    if (kind == PING && mproc_conn_send_bytes(c, buf, len))
      return 3;
  }
  free(buf);
  return kind == PING ? 0 : mproc_conn_send_bytes(c, "k", 1) ? 4 : 0;
}

static double run_mproc(int kind, long count) {
  mproc_conn_t *a, *b;
  mproc_args_t *args;
  mproc_process_t *p;
  if (mproc_pipe(&a, &b, true) || mproc_args_new(&args) || mproc_args_add_conn(args, b) ||
      mproc_args_add_int(args, kind) || mproc_args_add_int(args, count) ||
      mproc_process_new(&p, mproc_peer, args, NULL) || mproc_process_start(p))
    return -1;
  mproc_args_free(args);
  mproc_conn_free(b);
  unsigned char *buf = calloc(1, sizes[kind]);
  size_t len;
  double t0 = now_s();
  for (long i = 0; i < count; i++) {
    mproc_conn_send_bytes(a, buf, sizes[kind]);
    if (kind == PING)
      mproc_conn_recv_bytes_into(a, buf, sizes[kind], &len, MPROC_INFINITE);
  }
  if (kind != PING)
    mproc_conn_recv_bytes_into(a, buf, sizes[kind], &len, MPROC_INFINITE);
  double t = now_s() - t0;
  mproc_process_join(p, MPROC_INFINITE);
  mproc_process_free(p);
  mproc_conn_free(a);
  free(buf);
  return t;
}

/* ---- bare socketpair: the same framing (u32 length + bytes) ---- */

static int full(int fd, void *p, size_t n, int wr) {
  char *c = p;
  while (n) {
    ssize_t r = wr ? write(fd, c, n) : read(fd, c, n);
    if (r <= 0)
      return -1;
    c += r;
    n -= (size_t)r;
  }
  return 0;
}

static void bare_send(int fd, unsigned char *msg, size_t n) {
  uint32_t h = (uint32_t)n;
  if (n <= 65536) { /* one write, as mproc does for small messages */
    memcpy(msg, &h, 4);
    full(fd, msg, n + 4, 1);
  } else {
    full(fd, &h, 4, 1);
    full(fd, msg + 4, n, 1);
  }
}

static void bare_recv(int fd, unsigned char *msg) {
  uint32_t h;
  full(fd, &h, 4, 0);
  full(fd, msg + 4, h, 0);
}

static double run_bare(int kind, long count) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
    return -1;
  unsigned char *buf = calloc(1, sizes[kind] + 4);
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    for (long i = 0; i < count; i++) {
      bare_recv(sv[1], buf);
      if (kind == PING)
        bare_send(sv[1], buf, sizes[kind]);
    }
    if (kind != PING)
      bare_send(sv[1], buf, 1);
    _exit(0);
  }
  close(sv[1]);
  double t0 = now_s();
  for (long i = 0; i < count; i++) {
    bare_send(sv[0], buf, sizes[kind]);
    if (kind == PING)
      bare_recv(sv[0], buf);
  }
  if (kind != PING)
    bare_recv(sv[0], buf);
  double t = now_s() - t0;
  waitpid(pid, NULL, 0);
  close(sv[0]);
  free(buf);
  return t;
}

/* ---- Python's multiprocessing.Pipe, same loops ---- */

static double run_python(int kind, long count) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "python3 - <<'EOF' 2>/dev/null\n"
           "import multiprocessing as mp, time\n"
           "def peer(c, kind, n, size):\n"
           "    for _ in range(n):\n"
           "        m = c.recv_bytes()\n"
           "        if kind == 0: c.send_bytes(m)\n"
           "    if kind != 0: c.send_bytes(b'k')\n"
           "if __name__ == '__main__':\n"
           "    kind, n, size = %d, %ld, %zu\n"
           "    a, b = mp.Pipe()\n"
           "    p = mp.Process(target=peer, args=(b, kind, n, size)); p.start()\n"
           "    msg = bytes(size); t0 = time.perf_counter()\n"
           "    for _ in range(n):\n"
           "        a.send_bytes(msg)\n"
           "        if kind == 0: a.recv_bytes()\n"
           "    if kind != 0: a.recv_bytes()\n"
           "    print(time.perf_counter() - t0); p.join()\n"
           "EOF",
           kind, count, sizes[kind]);
  return seconds_printed_by(cmd);
}

static void cell(double v, const char *fmt) {
  if (v < 0)
    printf(" %12s |", "n/a");
  else
    printf(fmt, v);
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  long scale = bench_scale(argc, argv);
  long counts[] = {20000 * scale, 200000 * scale, 500 * scale};
  const char *what[] = {"8 B round trip (us)", "64 B one way (msg/s)", "1 MiB one way (GB/s)"};
  printf("connections between two processes; scale %ld\n\n", scale);
  printf("| %-22s | %12s | %12s | %12s | %8s |\n", "", "mproc", "socketpair", "python Pipe",
         "mproc/bare");
  printf("|------------------------|--------------|--------------|--------------|----------|\n");
  for (int k = 0; k < 3; k++) {
    double t[3] = {run_mproc(k, counts[k]), run_bare(k, counts[k]), run_python(k, counts[k] / 5)};
    double v[3];
    for (int i = 0; i < 3; i++) {
      long n = i == 2 ? counts[k] / 5 : counts[k]; /* Python is slow: fewer rounds */
      if (t[i] <= 0)
        v[i] = -1;
      else if (k == PING)
        v[i] = t[i] / (double)n * 1e6;
      else if (k == SMALL)
        v[i] = (double)n / t[i];
      else
        v[i] = (double)n * (double)sizes[k] / t[i] / 1e9;
    }
    printf("| %-22s |", what[k]);
    const char *fmt = k == SMALL ? " %12.0f |" : " %12.2f |";
    for (int i = 0; i < 3; i++)
      cell(v[i], fmt);
    /* "cost" ratio: >1 means mproc is slower than the bare loop */
    double ratio = k == PING ? v[0] / v[1] : v[1] / v[0];
    printf(" %7.2fx |\n", ratio);
  }
  printf("\nmproc/bare: mproc's time per message over the bare loop's (1.00 = same speed).\n");
  if (run_python(PING, 1) < 0)
    printf("python3 not found: its column is n/a.\n");
  return 0;
}
#endif
