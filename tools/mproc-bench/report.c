/* The results as a table for a terminal, Markdown, CSV or JSON; and the
 * progress bar on stderr. */
#include <math.h>
#include <string.h>

#include "bench.h"

#ifdef _WIN32
#  include <io.h>
#  define isatty _isatty
#  define fileno _fileno
#else
#  include <unistd.h>
#endif

void progress(const bench_config_t *c, int done, int total, double started_us) {
  bool on = c->progress == 1 || (c->progress == -1 && isatty(fileno(stderr)));
  if (!on || total <= 0)
    return;
  double frac = (double)done / total, elapsed = (now_us() - started_us) / 1e6;
  int width = 30, filled = (int)(frac * width);
  double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
  fprintf(stderr, "\r[%.*s%.*s] %3d%% ETA %4.0f s", filled, "##############################",
          width - filled, "..............................", (int)(frac * 100), eta);
  if (done >= total)
    fprintf(stderr, "\r%60s\r", "");
  fflush(stderr);
}

static void size_text(uint64_t b, char *out, size_t cap) {
  if (b >= (1ull << 30) && b % (1ull << 30) == 0)
    snprintf(out, cap, "%lluG", (unsigned long long)(b >> 30));
  else if (b >= (1ull << 20) && b % (1ull << 20) == 0)
    snprintf(out, cap, "%lluM", (unsigned long long)(b >> 20));
  else if (b >= 1024 && b % 1024 == 0)
    snprintf(out, cap, "%lluK", (unsigned long long)(b >> 10));
  else
    snprintf(out, cap, "%llu", (unsigned long long)b);
}

static const char *child_text(const bench_config_t *c, char *buf, size_t cap) {
  static const char *kinds[] = {"noop", "sleep", "cpu", "touch"};
  if (c->child == CHILD_NOOP)
    return "noop";
  snprintf(buf, cap, "%s:%d", kinds[c->child], c->child_param);
  return buf;
}

static void kib(FILE *f, long long v, const char *sep) {
  if (v < 0)
    fprintf(f, "%s", sep[0] == ',' ? "" : "-");
  else
    fprintf(f, "%lld", v);
}

/* What the kernel gave the parent's memory: the share in huge pages at
 * each size (--thp, or the system's mode), when it can be told. */
static void huge_pages_line(FILE *f, const bench_config_t *c, const result_t *r, int n) {
  bool any = false;
  uint64_t last = 0;
  for (int i = 0; i < n; i++) {
    if (r[i].parent_mem == 0 || r[i].parent_huge_pct < 0 || r[i].parent_mem == last)
      continue;
    char mem[32];
    size_text(r[i].parent_mem, mem, sizeof mem);
    if (!any)
      fprintf(f, "parent memory in huge pages (--thp %s):", thp_name(c->thp));
    fprintf(f, "%s %s %d%%", any ? "," : "", mem, r[i].parent_huge_pct);
    any = true;
    last = r[i].parent_mem;
  }
  if (any)
    fprintf(f, "\n\n");
}

static void table(FILE *f, bool markdown, const host_t *h, const bench_config_t *c,
                  const result_t *r, int n) {
  if (!markdown)
    fprintf(f, "start+join in ms (median, min..max, p95); host: %s %s, %d CPUs, %s, THP %s\n\n",
            h->os, h->kernel, h->cpus, h->libc, h->thp);
  huge_pages_line(f, c, r, n);
  const char *sep = markdown ? " | " : "  ";
  fprintf(f, "%s%-10s%s%-6s%s%-4s%s%-17s%s%9s%s%21s%s%9s%s%9s%s%10s%s%10s%s%10s%s%8s%s\n",
          markdown ? "| " : "", "parent mem", sep, "args", sep, "conc", sep, "method", sep,
          "median", sep, "min..max", sep, "p95", sep, "first", sep, "RSS KiB", sep, "PSS KiB", sep,
          "USS KiB", sep, "faults", markdown ? " |" : "");
  if (markdown)
    fprintf(f, "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int i = 0; i < n; i++) {
    char mem[32], args[32], range[48], first[32] = "-";
    size_text(r[i].parent_mem, mem, sizeof mem);
    size_text(r[i].args_size, args, sizeof args);
    snprintf(range, sizeof range, "%.3f..%.3f", r[i].stats.min / 1e3, r[i].stats.max / 1e3);
    if (r[i].first_us >= 0)
      snprintf(first, sizeof first, "%.3f", r[i].first_us / 1e3);
    fprintf(f, "%s%-10s%s%-6s%s%-4d%s%-17s%s%9.3f%s%21s%s%9.3f%s%9s%s", markdown ? "| " : "", mem,
            sep, args, sep, r[i].concurrency, sep, method_name(r[i].method), sep,
            r[i].stats.median / 1e3, sep, range, sep, r[i].stats.p95 / 1e3, sep, first, sep);
    long long v[4] = {r[i].rss_kib, r[i].pss_kib, r[i].uss_kib, r[i].minor_faults};
    for (int k = 0; k < 4; k++) {
      if (v[k] < 0)
        fprintf(f, "%*s", k == 3 ? 8 : 10, "-");
      else
        fprintf(f, "%*lld", k == 3 ? 8 : 10, v[k]);
      fprintf(f, "%s", k == 3 ? (markdown ? " |" : "") : sep);
    }
    fprintf(f, "\n");
  }
  bool any_safety = false;
  for (int i = 0; i < n; i++)
    any_safety |= r[i].safety_trials > 0;
  if (any_safety) {
    fprintf(
        f, "\nfork-with-threads hazard: children that could not take a lock another thread held\n");
    for (int i = 0; i < n; i++)
      if (r[i].safety_trials > 0)
        fprintf(f, "%s%-12s mutex %d of %d deadlocked; malloc %d of %d; stdio %d of %d\n",
                markdown ? "- " : "  ", method_name(r[i].method), r[i].deadlocks,
                r[i].safety_trials, r[i].deadlocks_malloc, r[i].safety_trials_malloc,
                r[i].deadlocks_stdio, r[i].safety_trials_stdio);
  }
  int noisy = 0;
  for (int i = 0; i < n; i++)
    noisy += r[i].nsamples >= 10 && r[i].stats.outliers * 10 > r[i].nsamples;
  if (noisy)
    fprintf(f,
            "\nWarning: %d of %d rows have over 10%% outliers (beyond 5 MADs from the median); "
            "the machine was busy: medians hold, means and maxima less so.\n",
            noisy, n);
  (void)c;
}

static void csv(FILE *f, const bench_config_t *c, const result_t *r, int n) {
  char child[32];
  fprintf(f, "method,parent_mem,parent_threads,args_size,concurrency,child,runs,min_us,median_us,"
             "mean_us,stddev_us,p95_us,max_us,outliers,first_us,rss_kib,pss_kib,uss_kib,"
             "minor_faults,major_faults,safety_trials,deadlocks,thp,parent_huge_pct\n");
  for (int i = 0; i < n; i++) {
    const stats_t *s = &r[i].stats;
    fprintf(f, "%s,%llu,%d,%llu,%d,%s,%d,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%d,",
            method_name(r[i].method), (unsigned long long)r[i].parent_mem, c->parent_threads,
            (unsigned long long)r[i].args_size, r[i].concurrency,
            child_text(c, child, sizeof child), r[i].nsamples, s->min, s->median, s->mean,
            s->stddev, s->p95, s->max, s->outliers);
    if (r[i].first_us >= 0)
      fprintf(f, "%.1f", r[i].first_us);
    long long v[5] = {r[i].rss_kib, r[i].pss_kib, r[i].uss_kib, r[i].minor_faults,
                      r[i].major_faults};
    for (int k = 0; k < 5; k++) {
      fprintf(f, ",");
      kib(f, v[k], ",");
    }
    fprintf(f, ",%d,%d,%s,", r[i].safety_trials, r[i].deadlocks, thp_name(c->thp));
    if (r[i].parent_huge_pct >= 0)
      fprintf(f, "%d", r[i].parent_huge_pct);
    fprintf(f, "\n");
  }
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      fprintf(f, "\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      fprintf(f, "\\u%04x", *s);
    else
      fputc(*s, f);
  }
  fputc('"', f);
}

static void json_num(FILE *f, double v) {
  if (isfinite(v))
    fprintf(f, "%.3f", v);
  else
    fprintf(f, "null");
}

/* One result of the JSON export; first: no comma before it. */
static void json_result(FILE *f, const char *child, const result_t *r, bool first) {
  const stats_t *s = &r->stats;
  fprintf(f,
          "%s\n  {\"method\": \"%s\", \"parent_mem\": %llu, \"args_size\": %llu, "
          "\"concurrency\": %d, \"child\": ",
          first ? "" : ",", method_name(r->method), (unsigned long long)r->parent_mem,
          (unsigned long long)r->args_size, r->concurrency);
  json_str(f, child);
  fprintf(f, ", \"parent_huge_pct\": ");
  if (r->parent_huge_pct >= 0)
    fprintf(f, "%d", r->parent_huge_pct);
  else
    fprintf(f, "null");
  fprintf(f, ",\n   \"samples_us\": [");
  for (int k = 0; k < r->nsamples; k++) {
    fprintf(f, k ? ", " : "");
    json_num(f, r->samples_us[k]);
  }
  fprintf(f, "],\n   \"stats\": {\"min\": ");
  json_num(f, s->min);
  fprintf(f, ", \"median\": ");
  json_num(f, s->median);
  fprintf(f, ", \"mean\": ");
  json_num(f, s->mean);
  fprintf(f, ", \"stddev\": ");
  json_num(f, s->stddev);
  fprintf(f, ", \"p95\": ");
  json_num(f, s->p95);
  fprintf(f, ", \"max\": ");
  json_num(f, s->max);
  fprintf(f, ", \"outliers\": %d},\n   \"first_us\": ", s->outliers);
  if (r->first_us >= 0)
    json_num(f, r->first_us);
  else
    fprintf(f, "null");
  long long v[5] = {r->rss_kib, r->pss_kib, r->uss_kib, r->minor_faults, r->major_faults};
  const char *names[5] = {"rss", "pss", "uss", "minor", "major"};
  fprintf(f, ",\n   \"mem_kib\": {");
  for (int k = 0; k < 5; k++) {
    if (k == 3)
      fprintf(f, "},\n   \"faults\": {");
    fprintf(f, "%s\"%s\": ", k == 0 || k == 3 ? "" : ", ", names[k]);
    if (v[k] < 0)
      fprintf(f, "null");
    else
      fprintf(f, "%lld", v[k]);
  }
  fprintf(f,
          "},\n   \"safety\": {\"trials\": %d, \"deadlocks\": %d, \"malloc_trials\": %d, "
          "\"malloc_deadlocks\": %d, \"stdio_trials\": %d, \"stdio_deadlocks\": %d}}",
          r->safety_trials, r->deadlocks, r->safety_trials_malloc, r->deadlocks_malloc,
          r->safety_trials_stdio, r->deadlocks_stdio);
}

static void json(FILE *f, const host_t *h, const bench_config_t *c, const result_t *r, int n) {
  char buf[32];
  const char *child = child_text(c, buf, sizeof buf);
  fprintf(f, "{\"tool\": \"mproc-bench start\", \"version\": \"%d.%d.%d\",\n \"host\": {\"os\": ",
          MPROC_VERSION_MAJOR, MPROC_VERSION_MINOR, MPROC_VERSION_PATCH);
  json_str(f, h->os);
  fprintf(f, ", \"kernel\": ");
  json_str(f, h->kernel);
  fprintf(f, ", \"cpus\": %d, \"cpu_model\": ", h->cpus);
  json_str(f, h->cpu_model);
  fprintf(f, ", \"libc\": ");
  json_str(f, h->libc);
  fprintf(f, ", \"mem_kib\": %lld, \"thp\": ", h->mem_kib);
  json_str(f, h->thp);
  fprintf(f, ", \"cgroup_cpu\": ");
  json_str(f, h->cgroup_cpu);
  fprintf(f, "},\n \"config\": {\"parent_threads\": %d, \"child\": ", c->parent_threads);
  json_str(f, child);
  fprintf(f, ", \"warmup\": %d, \"runs\": %d, \"min_time\": %.3f, \"seed\": %u, \"safety\": %s",
          c->warmup, c->runs, c->min_time, c->seed, c->safety ? "true" : "false");
  fprintf(f, ", \"thp\": \"%s\"", thp_name(c->thp));
  fprintf(f, ", \"cpus\": [");
  for (int i = 0; i < c->ncpus; i++)
    fprintf(f, "%s%d", i ? ", " : "", c->cpus[i]);
  fprintf(f, "]},\n");
  fprintf(f, " \"results\": [");
  for (int i = 0; i < n; i++)
    json_result(f, child, &r[i], i == 0);
  fprintf(f, "\n]}\n");
}

void write_report(FILE *f, format_t fmt, const host_t *h, const bench_config_t *c,
                  const result_t *r, int n) {
  switch (fmt) {
  case FMT_TABLE:
  case FMT_MARKDOWN:
    table(f, fmt == FMT_MARKDOWN, h, c, r, n);
    break;
  case FMT_CSV:
    csv(f, c, r, n);
    break;
  case FMT_JSON:
    json(f, h, c, r, n);
    break;
  }
}
