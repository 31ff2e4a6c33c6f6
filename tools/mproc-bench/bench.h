/* mproc-bench: what its files share (see docs/mproc-bench.md). */
#ifndef MPROC_BENCH_TOOL_H
#define MPROC_BENCH_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mproc.h>

enum { MAX_LIST = 16 };

typedef enum { CHILD_NOOP, CHILD_SLEEP, CHILD_CPU, CHILD_TOUCH } child_kind_t;
typedef enum { FMT_TABLE, FMT_MARKDOWN, FMT_CSV, FMT_JSON } format_t;
/* --thp: how the parent's memory is advised (Linux). THP_SYSTEM: not at
 * all (malloc'd, the system's mode decides). */
typedef enum { THP_SYSTEM, THP_NEVER, THP_MADVISE, THP_ALWAYS } thp_t;

/* A method column: an mproc start method, a bare floor, or Python's. */
typedef enum {
  M_SPAWN,
  M_FORK,
  M_FORKSERVER,
  M_FLOOR_EXEC, /* posix_spawn / CreateProcessW of this executable */
  M_FLOOR_FORK, /* fork + waitpid */
  M_PY_SPAWN,
  M_PY_FORK,
  M_PY_FORKSERVER,
  M_COUNT
} method_t;

typedef struct {
  method_t methods[M_COUNT];
  int nmethods;
  bool floors;
  const char *python; /* NULL: no Python rows */
  uint64_t parent_mem[MAX_LIST];
  int nparent_mem;
  thp_t thp;
  int parent_threads;
  uint64_t args_size[MAX_LIST];
  int nargs_size;
  child_kind_t child;
  int child_param; /* ms for sleep and cpu, percent for touch */
  int concurrency[MAX_LIST];
  int nconcurrency;
  int warmup;
  int runs; /* 0: auto (at least 10 and min_time) */
  double min_time;
  bool measure_memory; /* rss, pss, uss, faults */
  bool measure_first;  /* time to the child's first instruction */
  bool safety;
  int safety_trials;
  format_t format;
  const char *export_csv, *export_json, *export_markdown, *plot;
  int progress; /* 0 none, 1 bar, -1 auto */
  bool quiet;
  unsigned seed;
  int cpus[MAX_LIST]; /* --cpu: the CPUs this run (and its children) may use */
  int ncpus;          /* 0: no pinning */
} bench_config_t;

typedef struct {
  double min, median, mean, stddev, p95, max;
  int outliers;
} stats_t;

typedef struct {
  method_t method;
  uint64_t parent_mem, args_size;
  int concurrency;
  double *samples_us; /* start to join of `concurrency` children */
  int nsamples;
  stats_t stats;
  double first_us;     /* median time to the child's first instruction; -1: not measured */
  int parent_huge_pct; /* of the parent's memory, the share in huge pages; -1: unknown */
  long long rss_kib, pss_kib, uss_kib, minor_faults, major_faults; /* -1: not measured */
  int safety_trials, deadlocks;                                    /* trials 0: not run */
  int safety_trials_malloc, deadlocks_malloc;
  int safety_trials_stdio, deadlocks_stdio;
} result_t;

typedef struct {
  char os[128], kernel[128], cpu_model[128], libc[64], thp[32], cgroup_cpu[64];
  int cpus;
  long long mem_kib;
} host_t;

const char *method_name(method_t m);
bool method_available(method_t m);

/* host.c: pins this process (and so its children) to c->cpus; 0, or 2 with
 * a message when the machine has no such CPU. */
int pin_cpus(const bench_config_t *c);

/* cli.c: parses argv after "start"; returns 0, or 2 with a message. */
int parse_start_options(int argc, char **argv, bench_config_t *c);
int parse_size(const char *s, uint64_t *out);
void print_start_help(FILE *f);

/* stats.c */
void compute_stats(const double *x, int n, stats_t *s);
double median_of(double *x, int n); /* sorts x */

/* host.c */
void read_host(host_t *h);
double now_us(void);

/* measure.c: the child's memory and faults while it is alive. */
int measure_child(int64_t pid, result_t *r);

/* parent_mem.c: the memory the parent has touched (fork children inherit
 * it): bytes of it (0: none), advised as thp says; *huge_pct the share
 * the kernel backed with huge pages (-1: it cannot be told). 0, or 2 with
 * a message. */
int parent_mem_set(uint64_t bytes, thp_t thp, int *huge_pct);
unsigned char *parent_mem(size_t *len);
const char *thp_name(thp_t t);

/* start.c */
int run_start(const bench_config_t *c, result_t **out, int *n);
/* The target of the measured children (a crossing target must be visible). */
int bench_child(const mproc_args_t *args);

/* floors.c */
int floor_sample(method_t m, double *us);
bool is_floor_child(int argc, char **argv);

/* python.c: rows for Python's multiprocessing, or 0 rows and a note. */
int python_rows(const bench_config_t *c, result_t **rows, int *n);

/* safety.c: the fork-with-threads hazard per method. */
int run_safety(const bench_config_t *c, result_t *rows, int n);

/* report.c */
void write_report(FILE *f, format_t fmt, const host_t *h, const bench_config_t *c,
                  const result_t *r, int n);
/* svg.c */
int write_svg(const char *path, const host_t *h, const bench_config_t *c, const result_t *r, int n);

/* progress on stderr */
void progress(const bench_config_t *c, int done, int total, double started_us);

#endif
