/* IPC objects inside argument tuples: how they cross to a child.
 *
 * A handle means nothing in another process, so an object is encoded as a
 * MessagePack extension item naming an entry of a handle table that
 * travels beside the bytes (the bootstrap's handle table for a child); the
 * receiver rebuilds the object around its own handle. */
#ifndef MPROC_COMMON_ARGS_OBJECTS_H
#define MPROC_COMMON_ARGS_OBJECTS_H

#include "internal.h"

enum { MPROC__EXT_OBJECT = 1 };  /* the MessagePack extension type */
enum { MPROC__OBJECT_CONN = 1 }; /* object kinds */

typedef struct {
  intptr_t h[MPROC__MAX_INHERIT];
  size_t n;
} mproc__handle_table_t;

/* Encodes a, putting a new handle for each object into table (the caller
 * owns them: mproc__handle_table_close). */
int mproc__args_encode_objects(const mproc_args_t *a, void **buf, size_t *len,
                               mproc__handle_table_t *table);
void mproc__handle_table_close(mproc__handle_table_t *table);
/* Decodes with a handle table: take = the objects take the handles over
 * (each at most once); else each gets its own duplicate. */
int mproc__args_decode_objects(mproc_args_t **out, const void *buf, size_t len,
                               const intptr_t *handles, size_t n, bool take);

#endif
