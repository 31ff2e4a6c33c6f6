/* The options of `mproc-bench start`: parsed into a config, or exit status
 * 2 with a message that says what was wrong. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

void print_start_help(FILE *f) {
  fprintf(f, "usage: mproc-bench start [OPTIONS]\n"
             "\n"
             "Times how long a child takes to start and end under each start method,\n"
             "and what it costs in memory, as the parent grows. Spawn runs the program\n"
             "again; fork copies the parent (its cost grows with the parent's memory);\n"
             "forkserver forks from a small server started early.\n"
             "\n"
             "Which methods\n"
             "  -m, --methods LIST      spawn,fork,forkserver (default: all available here)\n"
             "      --floors            also time the bare system calls: fork+waitpid and\n"
             "                          posix_spawn (CreateProcessW) of this program\n"
             "      --python[=PYTHON]   also run Python's multiprocessing (default python3)\n"
             "What the parent looks like\n"
             "      --parent-mem SIZES  memory the parent has touched, e.g. 0,256M,1G (default 0)\n"
             "      --thp MODE          how that memory is advised (Linux): never (4 KiB\n"
             "                          pages), madvise (huge pages where the system's\n"
             "                          mode allows), always (huge pages, collapsing what\n"
             "                          faulted in small); default: not advised\n"
             "      --parent-threads N  idle threads alive in the parent (default 0)\n"
             "      --args-size SIZES   bytes in the child's arguments (default 0)\n"
             "What the child does\n"
             "      --child WHAT        noop, sleep:MS, cpu:MS or touch:PCT (writes PCT%% of\n"
             "                          the memory it inherited; default noop)\n"
             "  -c, --concurrency LIST  children started at once, then joined (default 1)\n"
             "How much\n"
             "  -w, --warmup N          runs thrown away first (default 3)\n"
             "  -r, --runs N            runs per configuration (default: 10, or more to\n"
             "                          fill --min-time)\n"
             "      --min-time SECONDS  (default 1)\n"
             "      --seed N            (default 1)\n"
             "      --cpu LIST          run on these CPUs only, children too (e.g. 0,1)\n"
             "Measures\n"
             "      --measure LIST      latency,first,memory (default latency,memory):\n"
             "                          first = time to the child's first instruction;\n"
             "                          memory = the child's RSS, PSS, USS and page faults\n"
             "      --safety            starts children while another thread holds a lock (a\n"
             "                          mutex, malloc's, a stdio stream's): counts the\n"
             "                          children that deadlock, per method\n"
             "      --safety-trials N   (default 100)\n"
             "Output\n"
             "  -f, --format FMT        table, markdown, csv or json (default: table)\n"
             "      --export-csv FILE, --export-json FILE, --export-markdown FILE\n"
             "      --plot FILE.svg     a self-contained SVG of the results\n"
             "      --progress WHEN     auto, bar or none (auto: a bar when stderr is a terminal)\n"
             "  -q, --quiet             no table on stdout\n"
             "\n"
             "Sizes take K, M and G (powers of 1024). Exit status: 0 done, 2 bad usage.\n"
             "Example: mproc-bench start --floors --parent-mem 0,256M,1G --plot start.svg\n");
}

static int bad(const char *fmt, const char *what) {
  fprintf(stderr, "mproc-bench start: ");
  fprintf(stderr, fmt, what);
  fprintf(stderr, " (see mproc-bench start --help)\n");
  return 2;
}

int parse_size(const char *s, uint64_t *out) {
  char *end;
  if (!s || !*s || !isdigit((unsigned char)*s))
    return 2;
  unsigned long long v = strtoull(s, &end, 10);
  uint64_t mult = 1;
  if (*end == 'K' || *end == 'k')
    mult = 1024, end++;
  else if (*end == 'M' || *end == 'm')
    mult = 1024 * 1024, end++;
  else if (*end == 'G' || *end == 'g')
    mult = 1024ull * 1024 * 1024, end++;
  if (*end == 'B' || *end == 'i')
    end++;
  if (*end || (mult > 1 && v > UINT64_MAX / mult))
    return 2;
  *out = v * mult;
  return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out) {
  char *end;
  if (!s || !*s)
    return 2;
  long v = strtol(s, &end, 10);
  if (*end || v < lo || v > hi)
    return 2;
  *out = (int)v;
  return 0;
}

/* A comma list of sizes into out (at most MAX_LIST). */
static int parse_sizes(const char *s, uint64_t *out, int *n, const char *opt) {
  char buf[512];
  if (!s || strlen(s) >= sizeof buf)
    return bad("%s needs a list of sizes", opt);
  strcpy(buf, s);
  *n = 0;
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    if (*n == MAX_LIST)
      return bad("%s: at most 16 values", opt);
    if (parse_size(tok, &out[(*n)++]))
      return bad("%s: a size must be a number with K, M or G", opt);
  }
  return *n ? 0 : bad("%s needs at least one size", opt);
}

static int parse_ints(const char *s, int *out, int *n, int lo, int hi, const char *opt) {
  char buf[256];
  if (!s || strlen(s) >= sizeof buf)
    return bad("%s needs a list of numbers", opt);
  strcpy(buf, s);
  *n = 0;
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    if (*n == MAX_LIST || parse_int(tok, lo, hi, &out[(*n)++]))
      return bad("%s: a number out of range, or more than 16 of them", opt);
  }
  return *n ? 0 : bad("%s needs at least one number", opt);
}

static int parse_methods(const char *s, bench_config_t *c) {
  char buf[128];
  if (!s || strlen(s) >= sizeof buf)
    return bad("%s needs a list", "--methods");
  strcpy(buf, s);
  c->nmethods = 0;
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    method_t m;
    if (strcmp(tok, "spawn") == 0)
      m = M_SPAWN;
    else if (strcmp(tok, "fork") == 0)
      m = M_FORK;
    else if (strcmp(tok, "forkserver") == 0)
      m = M_FORKSERVER;
    else
      return bad("unknown start method '%s' (spawn, fork or forkserver)", tok);
    if (!method_available(m))
      return bad("the start method '%s' is not available on this platform", tok);
    c->methods[c->nmethods++] = m;
  }
  return c->nmethods ? 0 : bad("%s needs at least one method", "--methods");
}

static int parse_child(const char *s, bench_config_t *c) {
  if (!s)
    return bad("%s needs a value", "--child");
  if (strcmp(s, "noop") == 0) {
    c->child = CHILD_NOOP;
    return 0;
  }
  const char *colon = strchr(s, ':');
  if (!colon)
    return bad("--child: '%s' is not noop, sleep:MS, cpu:MS or touch:PCT", s);
  size_t n = (size_t)(colon - s);
  if (n == 5 && strncmp(s, "sleep", 5) == 0)
    c->child = CHILD_SLEEP;
  else if (n == 3 && strncmp(s, "cpu", 3) == 0)
    c->child = CHILD_CPU;
  else if (n == 5 && strncmp(s, "touch", 5) == 0)
    c->child = CHILD_TOUCH;
  else
    return bad("--child: '%s' is not noop, sleep:MS, cpu:MS or touch:PCT", s);
  int hi = c->child == CHILD_TOUCH ? 100 : 60000;
  if (parse_int(colon + 1, 0, hi, &c->child_param))
    return bad("--child: the number in '%s' is out of range", s);
  return 0;
}

static int parse_measure(const char *s, bench_config_t *c) {
  char buf[128];
  if (!s || strlen(s) >= sizeof buf)
    return bad("%s needs a list", "--measure");
  strcpy(buf, s);
  c->measure_memory = c->measure_first = false;
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    if (strcmp(tok, "latency") == 0)
      continue;
    else if (strcmp(tok, "first") == 0)
      c->measure_first = true;
    else if (strcmp(tok, "memory") == 0 || strcmp(tok, "rss") == 0 || strcmp(tok, "pss") == 0 ||
             strcmp(tok, "uss") == 0 || strcmp(tok, "faults") == 0)
      c->measure_memory = true;
    else
      return bad("--measure: unknown measure '%s' (latency, first, memory)", tok);
  }
  return 0;
}

static int parse_thp(const char *v, bench_config_t *c) {
  for (int t = THP_NEVER; t <= THP_ALWAYS; t++)
    if (strcmp(v, thp_name((thp_t)t)) == 0)
      c->thp = (thp_t)t;
  if (c->thp == THP_SYSTEM)
    return bad("--thp: '%s' is not never, madvise or always", v);
#ifndef __linux__
  return bad("--thp %s: transparent huge pages are Linux's", v);
#else
  return 0;
#endif
}

/* The options that say where the results go; false when a is none of
 * them. */
static bool parse_output_option(const char *a, const char *v, bench_config_t *c, int *rc) {
  if (strcmp(a, "-f") == 0 || strcmp(a, "--format") == 0) {
    if (strcmp(v, "table") == 0)
      c->format = FMT_TABLE;
    else if (strcmp(v, "markdown") == 0)
      c->format = FMT_MARKDOWN;
    else if (strcmp(v, "csv") == 0)
      c->format = FMT_CSV;
    else if (strcmp(v, "json") == 0)
      c->format = FMT_JSON;
    else
      *rc = bad("--format: '%s' is not table, markdown, csv or json", v);
  } else if (strcmp(a, "--export-csv") == 0)
    c->export_csv = v;
  else if (strcmp(a, "--export-json") == 0)
    c->export_json = v;
  else if (strcmp(a, "--export-markdown") == 0)
    c->export_markdown = v;
  else if (strcmp(a, "--plot") == 0)
    c->plot = v;
  else if (strcmp(a, "--progress") == 0) {
    if (strcmp(v, "auto") == 0)
      c->progress = -1;
    else if (strcmp(v, "bar") == 0)
      c->progress = 1;
    else if (strcmp(v, "none") == 0)
      c->progress = 0;
    else
      *rc = bad("--progress: '%s' is not auto, bar or none", v);
  } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
    c->quiet = true;
  else
    return false;
  return true;
}

/* What a run does when no option says otherwise. */
static void set_defaults(bench_config_t *c) {
  memset(c, 0, sizeof *c);
  for (int m = M_SPAWN; m <= M_FORKSERVER; m++)
    if (method_available((method_t)m))
      c->methods[c->nmethods++] = (method_t)m;
  c->nparent_mem = c->nargs_size = c->nconcurrency = 1;
  c->concurrency[0] = 1;
  c->warmup = 3;
  c->min_time = 1.0;
  c->measure_memory = true;
  c->safety_trials = 100;
  c->progress = -1;
  c->seed = 1;
}

int parse_start_options(int argc, char **argv, bench_config_t *c) {
  set_defaults(c);
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    char name[64];
    const char *eq = strchr(a, '=');
    if (eq && eq - a < (long)sizeof name && strncmp(a, "--", 2) == 0) {
      memcpy(name, a, (size_t)(eq - a));
      name[eq - a] = '\0';
      a = name;
      v = eq + 1;
    }
    bool takes = strcmp(a, "--python") != 0 && strcmp(a, "--floors") != 0 &&
                 strcmp(a, "--safety") != 0 && strcmp(a, "-q") != 0 && strcmp(a, "--quiet") != 0 &&
                 strcmp(a, "-h") != 0 && strcmp(a, "--help") != 0;
    if (takes && !v) {
      if (i + 1 >= argc)
        return bad("%s needs a value", a);
      v = argv[++i];
    }
    int rc = 0;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      print_start_help(stdout);
      exit(0);
    } else if (strcmp(a, "-m") == 0 || strcmp(a, "--methods") == 0)
      rc = parse_methods(v, c);
    else if (strcmp(a, "--floors") == 0)
      c->floors = true;
    else if (strcmp(a, "--python") == 0)
      c->python = v ? v : "python3";
    else if (strcmp(a, "--parent-mem") == 0)
      rc = parse_sizes(v, c->parent_mem, &c->nparent_mem, a);
    else if (strcmp(a, "--thp") == 0)
      rc = parse_thp(v, c);
    else if (strcmp(a, "--parent-threads") == 0)
      rc = parse_int(v, 0, 1000, &c->parent_threads) ? bad("%s: 0 to 1000", a) : 0;
    else if (strcmp(a, "--args-size") == 0)
      rc = parse_sizes(v, c->args_size, &c->nargs_size, a);
    else if (strcmp(a, "--child") == 0)
      rc = parse_child(v, c);
    else if (strcmp(a, "--cpu") == 0)
      rc = parse_ints(v, c->cpus, &c->ncpus, 0, 1023, a);
    else if (strcmp(a, "-c") == 0 || strcmp(a, "--concurrency") == 0)
      rc = parse_ints(v, c->concurrency, &c->nconcurrency, 1, 256, a);
    else if (strcmp(a, "-w") == 0 || strcmp(a, "--warmup") == 0)
      rc = parse_int(v, 0, 1000, &c->warmup) ? bad("%s: 0 to 1000", a) : 0;
    else if (strcmp(a, "-r") == 0 || strcmp(a, "--runs") == 0)
      rc = parse_int(v, 1, 100000, &c->runs) ? bad("%s: 1 to 100000", a) : 0;
    else if (strcmp(a, "--min-time") == 0) {
      char *end;
      c->min_time = strtod(v, &end);
      if (*end || c->min_time < 0 || c->min_time > 3600)
        rc = bad("%s: 0 to 3600 seconds", a);
    } else if (strcmp(a, "--seed") == 0) {
      int s = 1;
      rc = parse_int(v, 0, 1 << 30, &s) ? bad("%s: a number", a) : 0;
      c->seed = (unsigned)s;
    } else if (strcmp(a, "--measure") == 0)
      rc = parse_measure(v, c);
    else if (strcmp(a, "--safety") == 0)
      c->safety = true;
    else if (strcmp(a, "--safety-trials") == 0)
      rc = parse_int(v, 1, 100000, &c->safety_trials) ? bad("%s: 1 to 100000", a) : 0;
    else if (!parse_output_option(a, v, c, &rc))
      rc = bad("unknown option '%s'", a);
    if (rc)
      return rc;
  }
  if (c->floors) {
#ifndef _WIN32
    c->methods[c->nmethods++] = M_FLOOR_FORK;
#endif
    c->methods[c->nmethods++] = M_FLOOR_EXEC;
  }
  return 0;
}
