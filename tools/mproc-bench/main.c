/* mproc-bench: experiments with mproc on this machine. The subcommand
 * `start` compares the start methods (see docs/mproc-bench.md). */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static void usage(FILE *f) {
  fprintf(f, "usage: mproc-bench COMMAND [OPTIONS]\n"
             "\n"
             "Commands:\n"
             "  start    how long spawn, fork and forkserver take to start a child and\n"
             "           what the child costs in memory, as the parent grows; with the\n"
             "           bare system calls and Python's multiprocessing beside them\n"
             "\n"
             "mproc-bench COMMAND --help tells more. The other benchmarks of the\n"
             "project (pools, queues, connections, managers) are the bench_* programs.\n");
}

/* Writes a report to path, whole or not at all (a temporary, then rename). */
static int export_to(const char *path, format_t fmt, const host_t *h, const bench_config_t *c,
                     const result_t *r, int n) {
  char tmp[1024];
  snprintf(tmp, sizeof tmp, "%s.partial", path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    fprintf(stderr, "mproc-bench start: cannot write %s\n", path);
    return 2;
  }
  write_report(f, fmt, h, c, r, n);
  if (fclose(f) != 0) {
    remove(tmp);
    return 2;
  }
  remove(path);
  return rename(tmp, path) ? 2 : 0;
}

static int cmd_start(int argc, char **argv) {
  bench_config_t c;
  int rc = parse_start_options(argc, argv, &c);
  if (rc)
    return rc;
  host_t h;
  read_host(&h);
  for (int i = 0; i < c.nparent_mem; i++)
    if (h.mem_kib > 0 && c.parent_mem[i] / 1024 > (uint64_t)h.mem_kib) {
      fprintf(stderr, "mproc-bench start: --parent-mem %llu is more than this machine has\n",
              (unsigned long long)c.parent_mem[i]);
      return 2;
    }
  if (c.ncpus && pin_cpus(&c))
    return 2;
  srand(c.seed);
  result_t *rows;
  int n;
  rc = run_start(&c, &rows, &n);
  if (rc == 2)
    return 2;
  if (c.safety)
    run_safety(&c, rows, n);
  result_t *py;
  int npy;
  python_rows(&c, &py, &npy);
  if (npy) {
    result_t *all = realloc(rows, (size_t)(n + npy) * sizeof *all);
    if (all) {
      memcpy(all + n, py, (size_t)npy * sizeof *py);
      rows = all;
      n += npy;
    }
  }
  free(py);
  if (!c.quiet)
    write_report(stdout, c.format, &h, &c, rows, n);
  int out = 0;
  if (c.export_csv)
    out |= export_to(c.export_csv, FMT_CSV, &h, &c, rows, n);
  if (c.export_json)
    out |= export_to(c.export_json, FMT_JSON, &h, &c, rows, n);
  if (c.export_markdown)
    out |= export_to(c.export_markdown, FMT_MARKDOWN, &h, &c, rows, n);
  if (c.plot)
    out |= write_svg(c.plot, &h, &c, rows, n);
  for (int i = 0; i < n; i++)
    free(rows[i].samples_us);
  free(rows);
  return rc ? 1 : out;
}

int main(int argc, char **argv) {
  if (is_floor_child(argc, argv))
    return 0; /* a floor's child: as little as a process can be */
  mproc_main_guard(argc, argv);
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("mproc-bench %d.%d.%d\n", MPROC_VERSION_MAJOR, MPROC_VERSION_MINOR, MPROC_VERSION_PATCH);
    return 0;
  }
  if (strcmp(argv[1], "start") == 0)
    return cmd_start(argc - 2, argv + 2);
  fprintf(stderr, "mproc-bench: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
