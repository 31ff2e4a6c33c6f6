/* The processes this process has started and not freed: Python's
 * _children, behind active_children() and the exit-time join. Entries are
 * opaque here (process.c's objects): process.c says how to keep one alive
 * while a snapshot holds it, and how the list is wound up at exit. */
#ifndef MPROC_PROCESS_CHILDREN_H
#define MPROC_PROCESS_CHILDREN_H

#include "core/internal.h"

void mproc__children_add(void *p);
void mproc__children_remove(void *p);
/* A malloc'd copy of the list, each entry passed to retain first. */
int mproc__children_snapshot(void ***out, size_t *n, void (*retain)(void *));
/* Forgets every entry, without touching them: a forked child's inherited
 * list belongs to its parent. */
void mproc__children_forget_all(void);

/* How this process's children are wound up at exit (Python's
 * util._exit_function: terminate daemons, join the rest). Set by
 * process.c when it starts its first child; also registered with atexit. */
void mproc__children_set_wind_up(void (*wind_up)(void));
/* Runs the wind-up, if any: a child's exit path calls it before it ends
 * (a forked child ends with _exit, which runs no atexit handler). */
void mproc__children_wind_up(void);

#endif
