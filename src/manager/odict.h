/* An insertion-ordered map from byte strings to byte strings: a manager's
 * dict and Namespace (Python's dict keeps insertion order too). Entries
 * live in an array in order; a hash index of positions finds them. A
 * deleted entry leaves a hole that compaction removes once holes
 * outnumber the living. */
#ifndef MPROC_MANAGER_ODICT_H
#define MPROC_MANAGER_ODICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An owned byte string (a key or a value's encoding). */
typedef struct {
  uint32_t n;
  bool has_proxy; /* a value naming proxies (the manager pins them) */
  unsigned char b[];
} mproc__blob_t;

/* A new blob holding a copy of n bytes, or NULL without memory. */
mproc__blob_t *mproc__blob_new(const void *p, size_t n);
bool mproc__blob_equal(const mproc__blob_t *a, const void *p, size_t n);

typedef struct {
  mproc__blob_t *key; /* NULL: a hole */
  mproc__blob_t *val;
  uint64_t hash;
} mproc__odict_entry_t;

/* Zero-initialise; free with mproc__odict_free. */
typedef struct {
  mproc__odict_entry_t *e;
  size_t n;    /* entries, holes included */
  size_t live; /* entries that are not holes */
  size_t cap;
  uint32_t *index; /* position + 1; 0 empty */
  size_t index_cap;
} mproc__odict_t;

/* The position of key, or -1. */
long long mproc__odict_find(const mproc__odict_t *d, const void *key, size_t n);
/* Appends key → val (both taken over; the key must be absent): 0 or
 * MPROC_ENOMEM (then neither is taken). */
int mproc__odict_append(mproc__odict_t *d, mproc__blob_t *key, mproc__blob_t *val);
/* Takes entry i out (its key and value are the caller's now). */
void mproc__odict_take(mproc__odict_t *d, size_t i, mproc__blob_t **key, mproc__blob_t **val);
/* Frees every entry; the map is empty (storage kept). */
void mproc__odict_clear(mproc__odict_t *d);
void mproc__odict_free(mproc__odict_t *d);

#endif
