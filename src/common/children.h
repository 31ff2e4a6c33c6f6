/* The processes this process has started and not freed: Python's
 * _children, behind active_children() and the exit-time join. */
#ifndef MPROC_COMMON_CHILDREN_H
#define MPROC_COMMON_CHILDREN_H

#include "internal.h"

void mproc__children_add(mproc_process_t *p);
void mproc__children_remove(mproc_process_t *p);
/* A malloc'd copy of the list; each entry is retained (release each with
 * mproc__process_release). */
int mproc__children_snapshot(mproc_process_t ***out, size_t *n);
/* Forgets every entry, without touching them: a forked child's inherited
 * list belongs to its parent. */
void mproc__children_forget_all(void);

/* process.c: at a normal exit, terminate daemonic children and join all
 * (registered with atexit; a forked child calls it before _exit). */
void mproc__exit_children(void);

/* process.c: a process of the library's own (the forkserver): not a child
 * in the user's sense (not listed, not joined at exit, not numbered), and
 * inheriting the given handles (its handle table). */
int mproc__process_new_internal(mproc_process_t **out, mproc_target_fn target, const char *name,
                                const intptr_t *inherit, size_t ninherit);

/* process.c: a reference held by the list or a snapshot. */
void mproc__process_retain(mproc_process_t *p);
void mproc__process_release(mproc_process_t *p);

#endif
