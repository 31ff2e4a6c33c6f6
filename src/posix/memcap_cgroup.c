/* A memory cap per child on Linux: a cgroup of its own under this
 * process's, with memory.max (cgroup v2) or memory.limit_in_bytes (v1).
 * The kernel's OOM killer stops a child that passes it with SIGKILL, and
 * the cgroup's oom_kill count says that it did - which is what tells a
 * capped worker's death from any other SIGKILL; a notification (v1: an
 * eventfd registered for memory.oom_control; v2: inotify on
 * memory.events) says it the moment it happens, milliseconds before the
 * kernel has torn a large process down. Made where this process may
 * create cgroups under its own (root, or a delegated subtree); else
 * MPROC_ENOTSUP. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"

struct mproc__os_memcap {
  bool v2;
  int notify; /* readable once its OOM killer acted; -1: none */
  char dir[1024];
};

static int write_file(const char *dir, const char *name, const char *text) {
  char path[1100];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "we");
  if (!f)
    return -1;
  int bad = fputs(text, f) < 0;
  return (fclose(f) != 0 || bad) ? -1 : 0;
}

/* The number after "key " in dir/name (a flat keyed file), or -1. */
static long long read_key(const char *dir, const char *name, const char *key) {
  char path[1100], line[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "re");
  long long v = -1;
  size_t n = strlen(key);
  while (f && v < 0 && fgets(line, sizeof line, f))
    if (strncmp(line, key, n) == 0 && line[n] == ' ')
      v = atoll(line + n + 1);
  if (f)
    fclose(f);
  return v;
}

static bool has_option(const char *opts, const char *want) {
  size_t n = strlen(want);
  for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
    if (strncmp(p, want, n) == 0 && (p[n] == ',' || p[n] == '\0' || p[n] == '\n'))
      return true;
  return false;
}

/* Where the hierarchy that holds the memory controller is mounted (v2:
 * cgroup2; v1: a cgroup mount with "memory" among its options), and the
 * root of it the mount shows. */
static bool find_mount(bool v2, char *mnt, size_t cap, char *root, size_t rcap) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  char line[2048];
  bool found = false;
  while (!found && f && fgets(line, sizeof line, f)) {
    char r[512], mp[512], type[32], src[256], opts[512] = "";
    const char *dash = strstr(line, " - ");
    if (!dash || sscanf(line, "%*s %*s %*s %511s %511s", r, mp) != 2 ||
        sscanf(dash + 3, "%31s %255s %511s", type, src, opts) < 2)
      continue;
    found = v2 ? strcmp(type, "cgroup2") == 0
               : strcmp(type, "cgroup") == 0 && has_option(opts, "memory");
    if (found) {
      snprintf(mnt, cap, "%s", mp);
      snprintf(root, rcap, "%s", r);
    }
  }
  if (f)
    fclose(f);
  return found;
}

/* This process's cgroup in that hierarchy, as a directory, and where the
 * hierarchy is mounted (mnt, 512 bytes). */
static bool own_cgroup(bool v2, char *dir, size_t cap, char *mnt) {
  char root[512], line[1024], path[1024] = "";
  if (!find_mount(v2, mnt, 512, root, sizeof root))
    return false;
  FILE *f = fopen("/proc/self/cgroup", "re");
  bool found = false;
  while (!found && f && fgets(line, sizeof line, f)) {
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
      continue;
    *c2 = '\0';
    found = v2 ? c1[1] == '\0' : has_option(c1 + 1, "memory");
    if (found)
      snprintf(path, sizeof path, "%s", c2 + 1);
  }
  if (f)
    fclose(f);
  path[strcspn(path, "\n")] = '\0';
  /* A mount of part of the hierarchy shows it from root down. */
  size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
  const char *rest = rl && strncmp(path, root, rl) == 0 ? path + rl : path;
  if (found)
    snprintf(dir, cap, "%s%s", mnt, strcmp(rest, "/") == 0 ? "" : rest);
  return found;
}

/* Removes the cgroups of pools whose process is gone (killed before it
 * could remove them; their workers died with it): a cgroup is a kernel
 * object that outlives everyone otherwise. One still in use stays (rmdir
 * refuses a cgroup with processes). */
static void sweep_stale(const char *base) {
  DIR *d = opendir(base);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    long pid = 0;
    char path[1200];
    if (sscanf(e->d_name, "mproc-%ld-", &pid) != 1 || pid <= 0 ||
        !mproc__os_process_gone((uint32_t)pid, 0))
      continue;
    snprintf(path, sizeof path, "%s/%s", base, e->d_name);
    rmdir(path);
  }
  if (d)
    closedir(d);
}

/* A new cgroup under base with a limit of bytes; false (and nothing
 * left) when base will not give one. */
static bool make_in(const char *base, bool v2, uint64_t bytes, char *dir, size_t cap) {
  static _Atomic unsigned seq;
  char text[32];
  sweep_stale(base);
  snprintf(dir, cap, "%s/mproc-%ld-%u", base, (long)getpid(), atomic_fetch_add(&seq, 1));
  if (mkdir(dir, 0755) != 0)
    return false;
  snprintf(text, sizeof text, "%llu", (unsigned long long)bytes);
  if (write_file(dir, v2 ? "memory.max" : "memory.limit_in_bytes", text) != 0) {
    rmdir(dir);
    return false;
  }
  /* Swap counts too where it can be capped (none is the default). */
  if (v2)
    write_file(dir, "memory.swap.max", "0");
  else
    write_file(dir, "memory.memsw.limit_in_bytes", text);
  return true;
}

/* A new cgroup with a limit of bytes under this process's own, else under
 * the hierarchy's root: a v2 cgroup that holds processes cannot hand the
 * memory controller to children of its own (the "no internal processes"
 * rule: root's login session on a systemd machine), while the root
 * cgroup can, and root may make cgroups there. */
static bool make(bool v2, uint64_t bytes, char *dir, size_t cap) {
  char base[896], mnt[512];
  if (!own_cgroup(v2, base, sizeof base, mnt))
    return false;
  return make_in(base, v2, bytes, dir, cap) ||
         (strcmp(base, mnt) != 0 && make_in(mnt, v2, bytes, dir, cap));
}

/* A descriptor readable once the cgroup in dir sees an OOM kill: v2 an
 * inotify watch on memory.events (its counts change), v1 an eventfd
 * registered for memory.oom_control through cgroup.event_control. -1 when
 * the system will not give one: then the death itself tells. */
static int oom_notifier(bool v2, const char *dir) {
  char path[1100], text[64];
  if (v2) {
    int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    snprintf(path, sizeof path, "%s/memory.events", dir);
    if (fd >= 0 && inotify_add_watch(fd, path, IN_MODIFY) < 0) {
      close(fd);
      fd = -1;
    }
    return fd;
  }
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  snprintf(path, sizeof path, "%s/memory.oom_control", dir);
  int ofd = efd >= 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
  snprintf(text, sizeof text, "%d %d", efd, ofd);
  bool ok = ofd >= 0 && write_file(dir, "cgroup.event_control", text) == 0;
  if (ofd >= 0)
    close(ofd); /* the registration holds the file */
  if (!ok && efd >= 0) {
    close(efd);
    efd = -1;
  }
  return efd;
}

int mproc__os_memcap_new(uint64_t bytes, mproc__os_memcap_t **out) {
  mproc__os_memcap_t *c = calloc(1, sizeof *c);
  if (!c)
    return mproc__fail(MPROC_ENOMEM, "memory cap: out of memory");
  for (int v2 = 1; v2 >= 0; v2--)
    if (make(v2, bytes, c->dir, sizeof c->dir)) {
      c->v2 = v2;
      c->notify = oom_notifier(v2, c->dir);
      *out = c;
      return 0;
    }
  free(c);
  *out = NULL;
  return mproc__fail(MPROC_ENOTSUP,
                     "memory cap: no cgroup with a memory controller can be made under this "
                     "process's (cgroup v2 with memory delegated, or v1's memory hierarchy "
                     "writable: root): %s",
                     strerror(errno));
}

int mproc__os_memcap_add(mproc__os_memcap_t *cap, int64_t pid) {
  char text[32];
  snprintf(text, sizeof text, "%lld", (long long)pid);
  if (write_file(cap->dir, "cgroup.procs", text) != 0)
    return mproc__os_fail("memory cap: moving %lld into %s", (long long)pid, cap->dir);
  return 0;
}

bool mproc__os_memcap_hit(mproc__os_memcap_t *cap) {
  long long kills =
      read_key(cap->dir, cap->v2 ? "memory.events" : "memory.oom_control", "oom_kill");
  return kills > 0;
}

intptr_t mproc__os_memcap_sentinel(const mproc__os_memcap_t *cap) { return cap->notify; }

const char *mproc__os_memcap_kind(const mproc__os_memcap_t *cap) {
  return cap->v2 ? "cgroup v2 memory.max" : "cgroup v1 memory.limit_in_bytes";
}

void mproc__os_memcap_free(mproc__os_memcap_t *cap) {
  if (!cap)
    return;
  if (cap->notify >= 0)
    close(cap->notify);
  /* Its process was reaped; a cgroup empties a moment later. */
  for (int i = 0; i < 100 && rmdir(cap->dir) != 0 && errno == EBUSY; i++)
    usleep(1000);
  free(cap);
}
