/* What this process knows about itself: its name, its place in the process
 * tree, its mproc parent and whether it is a daemon (Python's
 * current_process()). Set once in a child before its target runs. */
#ifndef MPROC_CORE_CURRENT_H
#define MPROC_CORE_CURRENT_H

#include "core/internal.h"

/* Becomes a child: name and identity are kept (not copied) for the rest of
 * the process's life; NULL reads as "MainProcess" / "". parent_link is
 * this process's sentinel for its parent (-1: none). */
void mproc__current_become_child(const char *name, const char *identity, int64_t parent_pid,
                                 bool daemon, intptr_t parent_link);
bool mproc__current_is_daemon(void);
/* The identity of the next child: "<own identity>:<n>" or "<n>" in the main
 * process. Returns malloc'd text or NULL. */
char *mproc__current_next_child_identity(void);

#endif
