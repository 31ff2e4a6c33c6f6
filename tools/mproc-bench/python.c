/* Python's multiprocessing doing the same thing in the same run: start
 * and join a no-op Process under each start method, after touching the
 * same parent memory. Skipped, with a note, when the interpreter is not
 * there. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char SCRIPT[] =
    "import multiprocessing as mp, sys, time\n"
    "def noop(): pass\n"
    "if __name__ == '__main__':\n"
    "    runs = int(sys.argv[1]); methods = sys.argv[2].split(',')\n"
    "    for size in [int(s) for s in sys.argv[3].split(',')]:\n"
    "        mem = bytearray(size)\n"
    "        for i in range(0, size, 4096): mem[i] = 1\n"
    "        for m in methods:\n"
    "            ctx = mp.get_context(m)\n"
    "            out = []\n"
    "            for r in range(runs + 2):\n"
    "                t = time.perf_counter(); p = ctx.Process(target=noop); p.start(); p.join()\n"
    "                out.append((time.perf_counter() - t) * 1e6)\n"
    "            print(m, size, ' '.join('%.1f' % x for x in out[2:]), flush=True)\n";

int python_rows(const bench_config_t *c, result_t **rows, int *n) {
  *rows = NULL;
  *n = 0;
  if (!c->python)
    return 0;
  char methods[64] = "", sizes[512] = "", cmd[1024];
  for (int k = 0; k < c->nmethods; k++)
    if (c->methods[k] <= M_FORKSERVER)
      snprintf(methods + strlen(methods), sizeof methods - strlen(methods), "%s%s",
               methods[0] ? "," : "", method_name(c->methods[k]));
  for (int i = 0; i < c->nparent_mem; i++)
    snprintf(sizes + strlen(sizes), sizeof sizes - strlen(sizes), "%s%llu", i ? "," : "",
             (unsigned long long)c->parent_mem[i]);
  int runs = c->runs ? (c->runs > 50 ? 50 : c->runs) : 10;
  FILE *script = fopen("mproc-bench-python.py", "w");
  if (!script || fputs(SCRIPT, script) < 0) {
    if (script)
      fclose(script);
    fprintf(stderr, "mproc-bench start: cannot write the Python script; no Python rows\n");
    return 0;
  }
  fclose(script);
  snprintf(cmd, sizeof cmd, "%s mproc-bench-python.py %d %s %s 2>/dev/null", c->python, runs,
           methods, sizes);
  FILE *f = popen(cmd, "r");
  result_t *r = calloc((size_t)(c->nmethods * c->nparent_mem), sizeof *r);
  char line[65536];
  while (f && r && fgets(line, sizeof line, f)) {
    char m[32];
    unsigned long long size;
    int off;
    if (sscanf(line, "%31s %llu %n", m, &size, &off) < 2)
      continue;
    result_t *row = &r[*n];
    memset(row, 0, sizeof *row);
    row->method = strcmp(m, "fork") == 0         ? M_PY_FORK
                  : strcmp(m, "forkserver") == 0 ? M_PY_FORKSERVER
                                                 : M_PY_SPAWN;
    row->parent_mem = size;
    row->concurrency = 1;
    row->first_us = -1;
    row->parent_huge_pct = -1; /* Python touches its own memory */
    row->rss_kib = row->pss_kib = row->uss_kib = row->minor_faults = row->major_faults = -1;
    row->samples_us = malloc((size_t)runs * sizeof(double));
    for (char *p = line + off, *end; row->samples_us && row->nsamples < runs; p = end) {
      double v = strtod(p, &end);
      if (end == p)
        break;
      row->samples_us[row->nsamples++] = v;
    }
    compute_stats(row->samples_us, row->nsamples, &row->stats);
    (*n)++;
  }
  if (f)
    pclose(f);
  remove("mproc-bench-python.py");
  if (*n == 0)
    fprintf(stderr, "mproc-bench start: %s gave no results; no Python rows\n", c->python);
  *rows = r;
  return 0;
}
