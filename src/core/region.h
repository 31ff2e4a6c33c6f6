/* Shared regions and the slices objects live in.
 *
 * A region is one mapping of anonymous shared memory (mproc__os_shm_*),
 * reference counted per process and known by a random 64-bit id. Small
 * objects - every synchronization object, Values, small Arrays - are
 * slices of a shared arena region, so a thousand Values cost one mapping
 * and one descriptor, not a thousand. A process that receives several
 * slices of one region (in one tuple or over time) maps it once: the
 * registry finds it by id.
 *
 * Only the process that made an arena allocates from it (the bump offset
 * is process-local), so two processes never hand out the same bytes; a
 * forked child starts a new arena of its own. Slices are never reused: an
 * arena is unmapped when its last slice is freed. */
#ifndef MPROC_CORE_REGION_H
#define MPROC_CORE_REGION_H

#include <stdatomic.h>

#include "core/internal.h"

typedef struct mproc__region {
  int refs; /* under the registry's lock */
  uint64_t id;
  intptr_t handle; /* for passing it on */
  unsigned char *mem;
  size_t size;
  struct mproc__region *next; /* in the registry */
} mproc__region_t;

/* A piece of a region: what an object holds. */
typedef struct {
  mproc__region_t *region;
  size_t offset;
  void *mem; /* region->mem + offset */
} mproc__slice_t;

/* Zeroed shared memory for size bytes, aligned to a cache line so two
 * objects never share one. name: for error messages. */
int mproc__slice_alloc(size_t size, const char *name, mproc__slice_t *out);
/* Another hold on the same slice (its region). */
void mproc__slice_retain(const mproc__slice_t *s);
/* Drops the hold; the region is unmapped with its last one. */
void mproc__slice_free(mproc__slice_t *s);

/* Passing a slice on: a new handle to its region (the caller owns it) and
 * the region's id, size and the offset appended to info. */
int mproc__slice_export(const mproc__slice_t *s, intptr_t *handle, mproc__object_info_t *info);
/* The other side: takes handle over (closing it if the region is already
 * mapped here, or on failure) and reads what export appended from r. The
 * slice must hold at least size bytes. */
int mproc__slice_import(intptr_t handle, mproc__info_reader_t *r, size_t size, const char *name,
                        mproc__slice_t *out);

#endif
