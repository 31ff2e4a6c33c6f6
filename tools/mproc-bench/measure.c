/* A child's memory right after it started, while it waits: resident
 * (RSS), proportional (PSS: shared pages divided among their sharers) and
 * unique (USS), and its page faults. Linux reads /proc/PID/smaps_rollup;
 * Windows has the working set and private bytes, and no PSS. */
#include <string.h>

#include "bench.h"

#ifdef _WIN32
#  include <windows.h>
/* psapi's structure, declared here to avoid the import library's name. */
#  include <psapi.h>

int measure_child(int64_t pid, result_t *r) {
  HANDLE h = OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, FALSE, (DWORD)pid);
  if (!h)
    return -1;
  PROCESS_MEMORY_COUNTERS_EX pmc;
  memset(&pmc, 0, sizeof pmc);
  BOOL ok = GetProcessMemoryInfo(h, (PROCESS_MEMORY_COUNTERS *)&pmc, sizeof pmc);
  CloseHandle(h);
  if (!ok)
    return -1;
  r->rss_kib = (long long)(pmc.WorkingSetSize / 1024);
  r->uss_kib = (long long)(pmc.PrivateUsage / 1024);
  r->pss_kib = -1;
  r->minor_faults = (long long)pmc.PageFaultCount;
  r->major_faults = -1;
  return 0;
}
#else
#  include <stdlib.h>

static long long field(const char *text, const char *key) {
  const char *p = strstr(text, key);
  return p ? atoll(p + strlen(key)) : -1;
}

int measure_child(int64_t pid, result_t *r) {
  char path[64], text[4096];
  snprintf(path, sizeof path, "/proc/%lld/smaps_rollup", (long long)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  r->rss_kib = field(text, "\nRss:");
  r->pss_kib = field(text, "\nPss:");
  long long clean = field(text, "\nPrivate_Clean:"), dirty = field(text, "\nPrivate_Dirty:");
  r->uss_kib = clean >= 0 && dirty >= 0 ? clean + dirty : -1;
  snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
  if ((f = fopen(path, "r")) != NULL) {
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    /* After the command's closing parenthesis: state is field 3; minflt
     * is field 10, majflt field 12. */
    const char *p = strrchr(text, ')');
    long long v[12] = {0};
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %lld %*u %lld", &v[0], &v[1]) == 2) {
      r->minor_faults = v[0];
      r->major_faults = v[1];
    }
  }
  return 0;
}
#endif
