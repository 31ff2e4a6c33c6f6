/* IPC objects inside argument tuples: how they cross to a child.
 *
 * A handle means nothing in another process, so an object is encoded as a
 * MessagePack extension item naming an entry of a handle table that
 * travels beside the bytes (the bootstrap's handle table for a child); the
 * receiver rebuilds the object around its own handle. */
#ifndef MPROC_ARGS_ARGS_OBJECTS_H
#define MPROC_ARGS_ARGS_OBJECTS_H

#include "core/internal.h"
#include "core/ptrlist.h"

enum { MPROC__EXT_OBJECT = 1 }; /* the MessagePack extension type */

/* What the tuple needs to know about one kind of object. */
typedef struct mproc__object_class {
  mproc_type_t type; /* its item type; also its kind on the wire */
  const char *name;  /* for messages and accessor names: "conn", "lock" */
  /* New handles (the caller owns them) with which another process rebuilds
   * obj, at most cap; info (zeroed by the caller) travels beside them. */
  int (*export_handles)(const void *obj, intptr_t *h, size_t cap, size_t *n,
                        mproc__object_info_t *info);
  /* Rebuilds an object from n handles it takes over (closed on failure)
   * and the info export gave: its flags, and a reader over its bytes. */
  int (*import_handles)(void **out, const intptr_t *h, size_t n, uint8_t flags,
                        mproc__info_reader_t *info);
  /* The tuple's own hold on obj: a duplicate or another reference. */
  int (*hold)(void *obj, void **held);
  void (*release)(void *obj);
  /* A portable object needs no handles (export gives none, import gets
   * none): it may cross any connection or queue, not only to children. */
  bool portable;
} mproc__object_class_t;

extern const mproc__object_class_t mproc__conn_class;
extern const mproc__object_class_t mproc__lock_class, mproc__rlock_class, mproc__sem_class,
    mproc__cond_class, mproc__event_class, mproc__barrier_class;
extern const mproc__object_class_t mproc__value_class, mproc__array_class;
extern const mproc__object_class_t mproc__queue_class;
extern const mproc__object_class_t mproc__shm_class;
extern const mproc__object_class_t mproc__proxy_class;

/* The typed accessors (mproc_args_add_lock, ...) of every object kind. */
int mproc__args_add_object(mproc_args_t *a, const mproc__object_class_t *cls, void *obj);
int mproc__args_get_object(const mproc_args_t *a, size_t i, const mproc__object_class_t *cls,
                           void **out);
#define MPROC__ARGS_ACCESSORS(name, type, cls)                                                     \
  int mproc_args_add_##name(mproc_args_t *a, type *obj) {                                          \
    return mproc__args_add_object(a, &cls, obj);                                                   \
  }                                                                                                \
  int mproc_args_get_##name(const mproc_args_t *a, size_t i, type **out) {                         \
    return mproc__args_get_object(a, i, &cls, (void **)out);                                       \
  }

/* The most handles one object exports (a Condition on Windows: two
 * regions and their wait objects). */
#define MPROC__OBJECT_HANDLES_MAX 32

/* The handles that travel beside an encoded tuple: as many as its objects
 * need, bounded only by memory and the OS. Zero-initialise; free with
 * mproc__handle_table_free. */
typedef struct {
  intptr_t *h;
  size_t n;
  size_t cap;
} mproc__handle_table_t;

/* Room for extra more entries: MPROC_ENOMEM or 0. */
int mproc__handle_table_reserve(mproc__handle_table_t *t, size_t extra);
/* Appends h (the table owns it from now on; closed if there is no room). */
int mproc__handle_table_push(mproc__handle_table_t *t, intptr_t h);
/* Closes every handle; the table is empty (its storage is kept). */
void mproc__handle_table_close(mproc__handle_table_t *t);
/* Closes every handle and frees the storage. */
void mproc__handle_table_free(mproc__handle_table_t *t);

/* Encodes a, appending a new handle for each object to table (the caller
 * owns them). On failure the handles this call added are closed. */
int mproc__args_encode_objects(const mproc_args_t *a, void **buf, size_t *len,
                               mproc__handle_table_t *table);
/* Decodes with a handle table. take: the objects take the handles over
 * (each at most once), and every handle no object took is closed, on
 * success and on failure alike; else each object gets its own duplicate
 * and the table stays the caller's. */
int mproc__args_decode_objects(mproc_args_t **out, const void *buf, size_t len,
                               const intptr_t *handles, size_t n, bool take);

/* Appends to b the encoding of a (table may be NULL: objects refused).
 * On failure b and table are as they were. */
int mproc__args_encode_into(const mproc_args_t *a, mproc__buf_t *b, mproc__handle_table_t *table);
/* Appends an array of the items [first, first + count) of a: wrap, each as
 * a one-item tuple (map); else each must be a tuple and goes as it is
 * (starmap: MPROC_ETYPE otherwise). */
int mproc__args_encode_items(const mproc_args_t *a, size_t first, size_t count, bool wrap,
                             mproc__buf_t *b, mproc__handle_table_t *table);

/* Appends the MessagePack encoding of one item (objects must be portable:
 * MPROC_ENOTSUP otherwise). *has_object (may be NULL) tells whether it
 * holds an object, nested or not. On failure b is as it was. */
int mproc__item_encode(const mproc_item_t *it, mproc__buf_t *b, bool *has_object);
/* Whether a holds an item of the given type, at any depth. */
bool mproc__args_holds(const mproc_args_t *a, mproc_type_t type);

/* References to every object of the given type in a, at any depth, added
 * to held (each the class's own hold: what the tuple's copy would take);
 * released with mproc__args_release_all. Only MPROC_T_PROXY today: a
 * process holds its arguments' proxies while its child runs. */
int mproc__args_hold_all(const mproc_args_t *a, mproc_type_t type, mproc__ptrlist_t *held);
void mproc__args_release_all(mproc_type_t type, mproc__ptrlist_t *held);

/* A tuple of n nils (a map's results before they come), made at once. */
int mproc__args_new_nils(mproc_args_t **out, size_t n);

/* A deep copy (objects: the copy holds its own reference). */
int mproc__args_copy(const mproc_args_t *a, mproc_args_t **out);

/* Empties a tuple, keeping its storage for reuse. */
void mproc__args_clear(mproc_args_t *a);

/* An encoded tuple of tuples read one item at a time into a tuple the
 * caller reuses (a pool worker's chunk: no allocation per item). The
 * handles are taken over as by mproc__args_decode_objects with take, the
 * ones no object took closed at close (also when open fails). */
typedef struct mproc__args_stream mproc__args_stream_t;
int mproc__args_stream_open(mproc__args_stream_t **out, const void *buf, size_t len,
                            const intptr_t *handles, size_t n, size_t *count);
/* The next item into `into` (emptied first): MPROC_ETYPE when it is no
 * tuple, MPROC_ERANGE past the end. */
int mproc__args_stream_next(mproc__args_stream_t *s, mproc_args_t *into);
void mproc__args_stream_close(mproc__args_stream_t *s);

/* A map chunk's results, in two steps, so the pool's thread does only
 * the cheap one and whoever waits for the map decodes:
 * split: buf, an encoded tuple whose first item is a tuple of count items,
 *   each a tuple or nil, is checked whole; *at and *at_len receive where
 *   those count items lie in buf, *tuples how many are tuples, and *rest
 *   the tuple's other items (the caller's). MPROC_EPROTO for anything else.
 * spread: the count items at buf (what split found, in a copy or not)
 *   decoded straight into dst's items first .. first + count - 1,
 *   replacing what was there, with no tuple of their own in between;
 *   dst->depth is left alone - *depth receives 1 + the deepest of them -
 *   so threads may spread disjoint ranges at once. On failure some of
 *   dst's items may be replaced already; MPROC_EPROTO (a string that is
 *   not UTF-8...), MPROC_ERANGE if they do not fit dst, MPROC_ENOMEM. */
int mproc__args_split_results(const void *buf, size_t len, size_t count, size_t *at, size_t *at_len,
                              size_t *tuples, mproc_args_t **rest);
int mproc__args_spread_results(const void *buf, mproc_args_t *dst, size_t first, size_t count,
                               int *depth);
/* After spreads: a's depth is at least depth (under the owner's lock). */
void mproc__args_note_depth(mproc_args_t *a, int depth);

/* MessagePack pieces for a container built by hand (pool results). */
int mproc__msgpack_put_array(mproc__buf_t *b, size_t n);
int mproc__msgpack_put_nil(mproc__buf_t *b);

/* Tuples built without copies (pool.c, pool_worker.c). */
/* Appends t as a nested tuple, taking it over (freed on failure). */
int mproc__args_add_tuple_owned(mproc_args_t *a, mproc_args_t *t);
/* Moves nested tuple i out of a (it becomes nil); *out is the caller's. */
int mproc__args_take_tuple(mproc_args_t *a, size_t i, mproc_args_t **out);
/* Puts t (taken over) in place of item i. */
int mproc__args_put_tuple(mproc_args_t *a, size_t i, mproc_args_t *t);

#endif
