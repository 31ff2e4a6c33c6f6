/* Children whose process object was freed while they still ran. Their exit
 * status is collected later, so no zombie stays behind. */
#ifndef MPROC_PROCESS_REAPER_H
#define MPROC_PROCESS_REAPER_H

#include "core/internal.h"
#include "core/ptrlist.h"

/* Takes ownership of a child that is still running, and of the proxies
 * held for it (released when it has ended; the list is emptied). */
void mproc__reaper_adopt(mproc__os_child_t *c, mproc__ptrlist_t *proxies);
/* Collects (and frees) every adopted child that has ended. */
void mproc__reaper_collect(void);

#endif
