/* The spawned child's entry (child_entry.c). */
#ifndef MPROC_PROCESS_CHILD_ENTRY_H
#define MPROC_PROCESS_CHILD_ENTRY_H

/* The entry for the channel named by token; never returns. The
 * forkserver's children enter here too. */
void mproc__child_entry_run(const char *token);
/* Does nothing; referencing it links child_entry.c (and its constructor). */
void mproc__child_entry_anchor(void);

#endif
