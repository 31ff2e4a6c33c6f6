/* Summary statistics of a sample: median and percentiles, and outliers as
 * hyperfine counts them (farther than 5 median absolute deviations). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

double median_of(double *x, int n) {
  if (n == 0)
    return 0;
  qsort(x, (size_t)n, sizeof *x, cmp);
  return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

void compute_stats(const double *x, int n, stats_t *s) {
  memset(s, 0, sizeof *s);
  if (n == 0)
    return;
  double *v = malloc((size_t)n * sizeof *v), *dev = malloc((size_t)n * sizeof *dev);
  if (!v || !dev) {
    free(v);
    free(dev);
    return;
  }
  memcpy(v, x, (size_t)n * sizeof *v);
  s->median = median_of(v, n);
  s->min = v[0];
  s->max = v[n - 1];
  s->p95 = v[(int)ceil(0.95 * n) - 1];
  double sum = 0;
  for (int i = 0; i < n; i++)
    sum += v[i];
  s->mean = sum / n;
  double sq = 0;
  for (int i = 0; i < n; i++) {
    sq += (v[i] - s->mean) * (v[i] - s->mean);
    dev[i] = fabs(v[i] - s->median);
  }
  s->stddev = n > 1 ? sqrt(sq / (n - 1)) : 0;
  double mad = median_of(dev, n);
  for (int i = 0; i < n && mad > 0; i++)
    s->outliers += fabs(v[i] - s->median) > 5 * mad;
  free(v);
  free(dev);
}
