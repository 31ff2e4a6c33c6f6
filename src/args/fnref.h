/* Function references as bytes: what crosses to another process when a
 * function must run there (a barrier's action in shared memory, a pool's
 * task), beside the bootstrap's own encoding of a process target. */
#ifndef MPROC_ARGS_FNREF_H
#define MPROC_ARGS_FNREF_H

#include "core/internal.h"

/* The most bytes a packed reference takes (a module path of up to
 * MPROC__FNREF_PATH_MAX bytes). */
#define MPROC__FNREF_PATH_MAX 1024
#define MPROC__FNREF_PACKED_MAX (16 + 64 + MPROC__FNREF_PATH_MAX)

/* The reference of fn, packed into buf: MPROC_EINVAL (not code of a loaded
 * module), MPROC_ERANGE (a module path longer than the limit). */
int mproc__fnref_pack_fn(mproc__fn_t fn, unsigned char *buf, size_t cap, size_t *len);
/* Resolves a packed reference in this process: MPROC_EPROTO when the bytes
 * are not a reference or name code this process does not have. */
int mproc__fnref_unpack_resolve(const unsigned char *buf, size_t len, mproc__fn_t *fn);
void mproc__fnref_clear(mproc__fnref_t *ref);

#endif
