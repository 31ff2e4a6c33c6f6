/* The calling process's own identity (see current.h). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/current.h"

static const char *current_name;     /* NULL: "MainProcess" */
static const char *current_identity; /* NULL: "" */
static int64_t current_parent_pid;
static bool current_daemon;
static intptr_t current_parent_link = -1;
/* Children created so far; Python numbers them from 1 in each process. */
static atomic_uint_fast64_t children_created;

void mproc__current_become_child(const char *name, const char *identity, int64_t parent_pid,
                                 bool daemon, intptr_t parent_link) {
  /* The strings replaced are not freed: in a forked child they are a copy
   * of the parent's memory, and freeing them would only cost copy-on-write
   * faults in a process about to run its target. */
  current_name = name;
  current_identity = identity;
  current_parent_pid = parent_pid;
  current_daemon = daemon;
  current_parent_link = parent_link;
  atomic_store(&children_created, 0);
}

bool mproc__current_is_daemon(void) { return current_daemon; }

char *mproc__current_next_child_identity(void) {
  unsigned long long n = (unsigned long long)atomic_fetch_add(&children_created, 1) + 1;
  const char *own = current_identity ? current_identity : "";
  size_t cap = strlen(own) + 24;
  char *id = malloc(cap);
  if (id)
    snprintf(id, cap, "%s%s%llu", own, *own ? ":" : "", n);
  return id;
}

const char *mproc_current_name(void) { return current_name ? current_name : "MainProcess"; }

int64_t mproc_current_pid(void) { return mproc__os_getpid(); }

int64_t mproc_parent_pid(void) { return current_parent_pid; }

intptr_t mproc_parent_sentinel(void) { return current_parent_link; }

int mproc_parent_alive(void) {
  if (current_parent_link == -1)
    return mproc__fail(MPROC_ESTATE, "parent_alive: this process was not started by mproc");
  return mproc__os_sentinel_ready(current_parent_link) ? 0 : 1;
}

int mproc_cpu_count(void) {
  int n = mproc__os_cpu_count();
  return n > 0 ? n : 1;
}
