/* The memory the parent has touched before it starts children: what a
 * fork child inherits, and what fork must copy the page tables of. With
 * --thp (Linux) it is mapped on a huge-page boundary and advised, so the
 * table can show what huge pages change: a 1 GiB parent is 262,144 page
 * table entries in 4 KiB pages, 512 in 2 MiB ones. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#ifdef __linux__
#  include <stdint.h>
#  include <sys/mman.h>
#  ifndef MADV_COLLAPSE
#    define MADV_COLLAPSE 25 /* Linux 6.1 */
#  endif
#endif

enum { HUGE_ALIGN = 2 << 20 };

static unsigned char *mem;
static size_t mem_len;
static void *mapping; /* --thp: the whole mapping mem lies in */
static size_t mapping_len;

const char *thp_name(thp_t t) {
  static const char *names[] = {"system", "never", "madvise", "always"};
  return names[t];
}

unsigned char *parent_mem(size_t *len) {
  if (len)
    *len = mem_len;
  return mem;
}

static void release(void) {
#ifdef __linux__
  if (mapping)
    munmap(mapping, mapping_len);
#endif
  if (!mapping)
    free(mem);
  mem = NULL, mapping = NULL;
  mem_len = mapping_len = 0;
}

#ifdef __linux__
/* A mapping of bytes on a huge-page boundary, advised as t says. */
static unsigned char *map_advised(size_t bytes, thp_t t) {
  mapping_len = bytes + HUGE_ALIGN;
  mapping = mmap(NULL, mapping_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping == MAP_FAILED) {
    mapping = NULL;
    return NULL;
  }
  uintptr_t at = ((uintptr_t)mapping + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1);
  madvise((void *)at, bytes, t == THP_NEVER ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
  return (unsigned char *)at;
}

/* The share of [p, p + len) the kernel backs with huge pages: the
 * AnonHugePages of the mapping that holds it, in /proc/self/smaps. */
static int huge_share(const unsigned char *p, size_t len) {
  FILE *f = fopen("/proc/self/smaps", "r");
  if (!f)
    return -1;
  char line[256];
  bool inside = false;
  long long kib = -1;
  while (kib < 0 && fgets(line, sizeof line, f)) {
    unsigned long long lo, hi;
    if (sscanf(line, "%llx-%llx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
      inside = lo <= (uintptr_t)p && (uintptr_t)p < hi;
    else if (inside && sscanf(line, "AnonHugePages: %lld kB", &kib) != 1)
      kib = -1; /* another field of it */
  }
  fclose(f);
  return kib < 0 ? -1 : (int)(kib * 1024 * 100 / (long long)len);
}
#endif

int parent_mem_set(uint64_t bytes, thp_t thp, int *huge_pct) {
  release();
  if (huge_pct)
    *huge_pct = -1;
  if (!bytes)
    return 0;
  unsigned char *p = NULL;
  if (bytes <= SIZE_MAX - HUGE_ALIGN) {
#ifdef __linux__
    p = thp == THP_SYSTEM ? malloc((size_t)bytes) : map_advised((size_t)bytes, thp);
#else
    p = malloc((size_t)bytes);
#endif
  }
  if (!p) {
    fprintf(stderr, "mproc-bench start: cannot give the parent %llu bytes of memory\n",
            (unsigned long long)bytes);
    return 2;
  }
  mem = p;
  mem_len = (size_t)bytes;
  for (size_t i = 0; i < mem_len; i += 4096)
    mem[i] = (unsigned char)i; /* touched: resident, and fork must copy its tables */
#ifdef __linux__
  /* always: what faulted in as 4 KiB pages (no huge page free at that
   * moment) is collapsed now; a kernel before 6.1 says EINVAL, ignored. */
  if (thp == THP_ALWAYS)
    madvise(mem, mem_len, MADV_COLLAPSE);
  if (huge_pct)
    *huge_pct = huge_share(mem, mem_len);
#endif
  return 0;
}
