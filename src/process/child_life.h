/* What every child does once it exists, whatever started it (see
 * docs/process.md, "What happens when a child starts"). Each start method
 * supplies only its preamble - how the child got its memory, its handles
 * and its arguments - and then hands over here. */
#ifndef MPROC_PROCESS_CHILD_LIFE_H
#define MPROC_PROCESS_CHILD_LIFE_H

#include "core/internal.h"

typedef struct {
  mproc_target_fn target;
  /* The encoded argument tuple, and this child's handles for the objects
   * in it (taken over: each is owned by an object or closed). */
  const unsigned char *args;
  size_t args_len;
  const intptr_t *handles;
  size_t nhandles;
  const char *name;     /* kept for the rest of the process's life */
  const char *identity; /* likewise */
  int64_t parent_pid;
  bool daemon;
  intptr_t parent_link; /* this child's sentinel for its parent */
  bool pdeathsig_ok;    /* started from the parent's main thread */
  int log_level;
  /* Spawned children: told 'R' once the target is about to run, or why it
   * cannot; closed before the target runs. NULL for a forked child. */
  mproc__stream_t *report;
  /* How the process ends once the target returned: exit (a spawned child:
   * a process of its own, whose atexit handlers are its own) or _exit (a
   * forked child, whose atexit handlers and stdio buffers are the
   * parent's). */
  void (*end)(int code);
} mproc__child_life_t;

/* Runs the child's life and ends the process; never returns. */
void mproc__child_live(mproc__child_life_t *life);

#endif
