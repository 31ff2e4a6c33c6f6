/* Anonymous FIFOs as token counters (fifo.c), for the generic POSIX build. */
#ifndef MPROC_POSIX_FIFO_H
#define MPROC_POSIX_FIFO_H

#include <stdbool.h>
#include <stddef.h>

/* A new anonymous FIFO, readable and writable through *out (non-blocking,
 * close-on-exec); what names the caller in an error's detail. */
int mproc__posix_fifo_new(int *out, const char *what);
/* Adds n tokens (bytes); returns how many fit (the rest would not be
 * needed: a full FIFO wakes every reader). */
size_t mproc__posix_fifo_put(int fd, size_t n);
/* Takes one token without waiting: whether there was one. */
bool mproc__posix_fifo_take(int fd);
/* Takes every token. */
void mproc__posix_fifo_drain(int fd);

#endif
