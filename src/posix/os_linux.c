/* What Linux answers its own way (os.h): the executable is /proc/self/exe,
 * the command line is /proc/self/cmdline, another process's state and
 * start time are in /proc/<pid>/stat, the threads are /proc/self/task's
 * entries, and the main thread's id is the process id. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/self_ids.h"
#include "os.h"

const char *mproc__posix_self_exe(void) { return "/proc/self/exe"; }

void mproc__os_note_command_line(int argc, char **argv) { (void)argc, (void)argv; }

/* The state letter and start time (field 22) of a stat file of /proc. */
static bool read_stat(const char *path, char *state, uint64_t *start) {
  char buf[1024];
  FILE *f = fopen(path, "re");
  if (!f)
    return false;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold anything */
  unsigned long long st;
  if (!p || sscanf(p + 1,
                   " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
                   "%*s %*s %*s %llu",
                   state, &st) != 2)
    return false;
  *start = st;
  return true;
}

/* A process's start time is read from its first thread's stat file,
 * /proc/<pid>/task/<pid>/stat (the same start time): qemu-user answers a
 * process's reads of /proc/self/stat and /proc/<its own pid>/stat itself,
 * with a start time of its own making, so a lock holder's token and what
 * another process reads of it would never match, and every holder would
 * look dead (found by the aarch64 leg). Its state is the process's. */
static bool read_start(uint32_t pid, uint64_t *start) {
  char path[80], state;
  snprintf(path, sizeof path, "/proc/%u/task/%u/stat", pid, pid);
  return read_stat(path, &state, start);
}

uint64_t mproc__posix_start_token(uint32_t pid) {
  uint64_t t;
  return read_start(pid, &t) ? t : 0;
}

bool mproc__posix_process_gone(uint32_t pid, uint32_t start) {
  char path[64], state;
  uint64_t t;
  snprintf(path, sizeof path, "/proc/%u/stat", pid);
  if (!read_stat(path, &state, &t))
    return access("/proc/self/stat", F_OK) == 0; /* no entry, where /proc exists: gone */
  if (state == 'Z' || state == 'X')
    return true;
  return start != 0 && read_start(pid, &t) && (uint32_t)t != start;
}

int mproc__os_command_line(int *argc, char ***argv) {
  /* Linux keeps the exact argv, NUL-separated, in /proc/self/cmdline. */
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return MPROC_ENOTSUP;
  mproc__buf_t b = {0};
  char chunk[4096];
  ssize_t n;
  while ((n = read(fd, chunk, sizeof chunk)) > 0)
    if (mproc__buf_append(&b, chunk, (size_t)n) != 0)
      break;
  close(fd);
  if (n != 0 || mproc__buf_append(&b, "", 1) != 0) {
    mproc__buf_free(&b);
    return MPROC_ESYS;
  }
  int count = 0;
  for (size_t i = 0; i + 1 < b.len; i++)
    if (b.data[i] == '\0')
      count++;
  char **v = calloc((size_t)count + 1, sizeof *v);
  if (!v) {
    mproc__buf_free(&b);
    return MPROC_ENOMEM;
  }
  /* v[0] owns the whole block; the others point into it. */
  char *p = (char *)b.data;
  for (int i = 0; i < count; i++) {
    v[i] = p;
    p += strlen(p) + 1;
  }
  *argc = count;
  *argv = v;
  if (count == 0)
    mproc__buf_free(&b);
  return 0;
}

bool mproc__os_constructor_entry_allowed(void) { return true; }

int mproc__os_thread_count(void) {
  /* Linux: /proc/self/task has a directory per thread, and its link count
   * is 2 + their number - one stat() per fork start, not an open, read
   * and parse of /proc/self/stat. */
  struct stat st;
  if (stat("/proc/self/task", &st) == 0 && st.st_nlink > 2)
    return (int)(st.st_nlink - 2);
  return 0;
}

bool mproc__os_is_main_thread(void) {
  /* The main thread's id is the process id (Linux); both are cached. */
  uint32_t pid, tid;
  mproc__self_ids(&pid, &tid);
  return pid == tid;
}
