/* The bootstrap protocol between a parent and a spawned child.
 *
 * Parent -> child, once:  "MPRC" | u32 version | u64 header_len | u64 args_len
 *                         | header (an encoded mproc_args tuple) | args
 * Child -> parent, once:  'R' (the target is about to run), or
 *                         'E' | u32 len | message (it cannot run)
 * Integers are little-endian. The child closes the channel before the
 * target runs, so nothing it starts later inherits it. */
#ifndef MPROC_PROCESS_BOOTSTRAP_H
#define MPROC_PROCESS_BOOTSTRAP_H

#include "core/internal.h"

#define MPROC__CHILD_MARKER "--mproc-child"
/* The exit status of a child that could not run its target. */
#define MPROC__CHILD_FAILED 255
/* The largest encoded argument tuple a child accepts (1 GiB): the
 * preamble's length is a claim, read against what arrives, never
 * allocated up front. */
#define MPROC__BOOT_ARGS_MAX ((uint64_t)1 << 30)

typedef struct {
  mproc__fnref_t target;
  char *name;
  char *identity; /* "2" or "2:1": position in the tree, for default names */
  int64_t parent_pid;
  bool daemon;
  int log_level;
  int64_t parent_link;            /* the child's value of its link to the parent */
  bool pdeathsig_ok;              /* started from the parent's main thread */
  mproc__child_handle_t *handles; /* the handle table (malloc'd by boot_recv) */
  size_t nhandles;
  unsigned char *args; /* the encoded argument tuple */
  size_t args_len;
} mproc__boot_t;

int mproc__boot_send(mproc__stream_t *s, const mproc__boot_t *b);
int mproc__boot_recv(mproc__stream_t *s, mproc__boot_t *b);
void mproc__boot_clear(mproc__boot_t *b);
/* Frees the exported blobs of n table entries. */
void mproc__child_handles_clear(mproc__child_handle_t *h, size_t n);

int mproc__report_ok(mproc__stream_t *s);
int mproc__report_error(mproc__stream_t *s, const char *message);
/* Parent: reads the child's report after it ended. Returns 0 when the
 * target ran, or when the child was killed (exitcode < 0) before it could
 * report; MPROC_ECHILD with the child's reason (or what is known) when it
 * failed to start its target. */
int mproc__report_read(mproc__stream_t *s, int exitcode);

#endif
