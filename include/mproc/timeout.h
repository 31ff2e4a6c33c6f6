/* mproc — the two special timeouts every waiting call takes (milliseconds
 * otherwise; 0 tries once, Python's block=False). */
#ifndef MPROC_TIMEOUT_H
#define MPROC_TIMEOUT_H

/* Blocks forever where a timeout is taken. */
#define MPROC_INFINITE (-1)
/* Where an object has a default timeout of its own (a Barrier made with
 * opts.timeout_ms, Python's Barrier(timeout=...)), waits for that long;
 * a function without one refuses it (MPROC_EINVAL). */
#define MPROC_DEFAULT_TIMEOUT (-2)

#endif
