/* A self-contained SVG of the results, for a browser: the median start+join
 * time against the parent's memory per method (log axes), the child's RSS
 * and PSS per method, and the deadlock rate of the safety test. */
#include <math.h>
#include <string.h>

#include "bench.h"

static const char *COLORS[M_COUNT] = {"#1f77b4", "#d62728", "#2ca02c", "#7f7f7f",
                                      "#000000", "#9467bd", "#ff7f0e", "#17becf"};

enum { W = 960, PANEL_H = 300, LEFT = 130, TOP = 50 };

static void text(FILE *f, double x, double y, const char *anchor, int size, const char *s) {
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" text-anchor=\"%s\">", x, y, size,
          anchor);
  for (; *s; s++)
    fputs(*s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : (char[2]){*s, 0}, f);
  fprintf(f, "</text>\n");
}

/* Latency against parent memory: x is log2(MiB + 1), y is log10(ms). */
static void latency_panel(FILE *f, double y0, const result_t *r, int n) {
  double xmax = 1, ymin = 1e9, ymax = -1e9;
  for (int i = 0; i < n; i++) {
    double x = log2((double)r[i].parent_mem / 1048576.0 + 1), y = r[i].stats.median / 1e3;
    if (y <= 0 || r[i].concurrency != r[0].concurrency || r[i].args_size != r[0].args_size)
      continue;
    xmax = x > xmax ? x : xmax;
    ymin = log10(y) < ymin ? log10(y) : ymin;
    ymax = log10(y) > ymax ? log10(y) : ymax;
  }
  ymin = floor(ymin);
  ymax = ceil(ymax) > ymin ? ceil(ymax) : ymin + 1;
  double pw = W - LEFT - 200, ph = PANEL_H - 70;
  text(f, LEFT, y0 + 20, "start", 16, "start + join (ms, median) vs the parent's memory");
  fprintf(f,
          "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
          "stroke=\"#999\"/>\n",
          LEFT, y0 + 30, pw, ph);
  for (double d = ymin; d <= ymax; d++) {
    double y = y0 + 30 + ph - (d - ymin) / (ymax - ymin) * ph;
    char label[32];
    snprintf(label, sizeof label, "%g", pow(10, d));
    text(f, LEFT - 6, y + 4, "end", 11, label);
    fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", LEFT, y,
            LEFT + pw, y);
  }
  for (int p = 0; p <= (int)ceil(xmax); p++) {
    double x = LEFT + p / ceil(xmax) * pw;
    char label[32]; /* tick p sits at 2^p - 1 MiB: labelled 2^p MiB, near enough */
    double mib = p ? pow(2, p) : 0;
    if (mib >= 1024)
      snprintf(label, sizeof label, "%gG", mib / 1024);
    else if (mib > 0)
      snprintf(label, sizeof label, "%gM", mib);
    else
      snprintf(label, sizeof label, "0");
    text(f, x, y0 + 30 + ph + 16, "middle", 11, label);
  }
  int legend = 0;
  for (int m = 0; m < M_COUNT; m++) {
    char points[4096] = "";
    bool any = false;
    for (int i = 0; i < n; i++) {
      if (r[i].method != (method_t)m || r[i].stats.median <= 0 ||
          r[i].concurrency != r[0].concurrency || r[i].args_size != r[0].args_size)
        continue;
      double x = LEFT + log2((double)r[i].parent_mem / 1048576.0 + 1) / ceil(xmax) * pw;
      double y = y0 + 30 + ph - (log10(r[i].stats.median / 1e3) - ymin) / (ymax - ymin) * ph;
      snprintf(points + strlen(points), sizeof points - strlen(points), "%.1f,%.1f ", x, y);
      fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n", x, y, COLORS[m]);
      any = true;
    }
    if (!any)
      continue;
    fprintf(f, "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n", points,
            COLORS[m]);
    double ly = y0 + 40 + legend++ * 18;
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n",
            LEFT + pw + 20, ly - 10, COLORS[m]);
    text(f, LEFT + pw + 38, ly, "start", 12, method_name((method_t)m));
  }
}

/* Bars: one value per method, from rows chosen by pick. */
static void bars(FILE *f, double y0, const char *title, const char *names[], const double *v,
                 const char **colors, int n) {
  double vmax = 0;
  for (int i = 0; i < n; i++)
    vmax = v[i] > vmax ? v[i] : vmax;
  text(f, LEFT, y0 + 20, "start", 16, title);
  double pw = W - LEFT - 200, bh = 18;
  for (int i = 0; i < n; i++) {
    double w = vmax > 0 ? v[i] / vmax * pw : 0, y = y0 + 35 + i * (bh + 8);
    fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", LEFT, y,
            w, bh, colors[i]);
    text(f, LEFT - 6, y + 13, "end", 11, names[i]);
    char label[48];
    snprintf(label, sizeof label, "%.0f", v[i]);
    text(f, LEFT + w + 6, y + 13, "start", 11, label);
  }
}

int write_svg(const char *path, const host_t *h, const bench_config_t *c, const result_t *r,
              int n) {
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "mproc-bench start: cannot write %s\n", path);
    return 2;
  }
  /* The memory panel: each method's row at the largest parent memory. */
  const char *mnames[2 * M_COUNT], *mcolors[2 * M_COUNT], *snames[M_COUNT], *scolors[M_COUNT];
  double mv[2 * M_COUNT], sv[M_COUNT];
  char labels[2 * M_COUNT][48];
  int nm = 0, ns = 0;
  uint64_t biggest = 0;
  for (int i = 0; i < n; i++)
    biggest = r[i].parent_mem > biggest ? r[i].parent_mem : biggest;
  for (int i = 0; i < n; i++) {
    if (r[i].parent_mem == biggest && r[i].rss_kib >= 0 && nm + 2 <= 2 * M_COUNT) {
      snprintf(labels[nm], sizeof labels[0], "%s RSS", method_name(r[i].method));
      mnames[nm] = labels[nm], mcolors[nm] = COLORS[r[i].method], mv[nm++] = (double)r[i].rss_kib;
      if (r[i].pss_kib >= 0) {
        snprintf(labels[nm], sizeof labels[0], "%s PSS", method_name(r[i].method));
        mnames[nm] = labels[nm], mcolors[nm] = "#bbbbbb", mv[nm++] = (double)r[i].pss_kib;
      }
    }
    if (r[i].safety_trials > 0 && ns < M_COUNT) {
      snames[ns] = method_name(r[i].method), scolors[ns] = COLORS[r[i].method];
      sv[ns++] = 100.0 * r[i].deadlocks / r[i].safety_trials;
    }
  }
  double height = TOP + PANEL_H + (nm ? 60 + nm * 26 : 0) + (ns ? 60 + ns * 26 : 0) + 40;
  fprintf(f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" "
          "viewBox=\"0 0 %d %.0f\" font-family=\"sans-serif\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
          W, height, W, height);
  char title[512];
  snprintf(title, sizeof title, "mproc-bench start - %s %s, %d CPUs, %s, THP %s", h->os, h->kernel,
           h->cpus, h->libc, h->thp);
  text(f, LEFT, 28, "start", 14, title);
  latency_panel(f, TOP, r, n);
  double y = TOP + PANEL_H;
  if (nm) {
    char t[96];
    snprintf(t, sizeof t, "the child's memory right after start (KiB), parent at %llu MiB",
             (unsigned long long)(biggest >> 20));
    bars(f, y, t, mnames, mv, mcolors, nm);
    y += 60 + nm * 26;
  }
  if (ns)
    bars(f, y, "fork-with-threads hazard: children deadlocked (%)", snames, sv, scolors, ns);
  fprintf(f, "</svg>\n");
  (void)c;
  return fclose(f) ? 2 : 0;
}
