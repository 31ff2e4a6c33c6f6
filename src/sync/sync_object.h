/* What every synchronization object is made of: a slice of shared memory
 * (region.h) holding its state, including the words its processes wait on
 * (mproc__park_word_t), each with the kernel object waiting needs there
 * (none on Linux, a semaphore on Windows): parks[i] for the i-th word. A
 * process's handle to an object is reference counted; its memory lives
 * while any process maps it. */
#ifndef MPROC_SYNC_SYNC_OBJECT_H
#define MPROC_SYNC_SYNC_OBJECT_H

#include <stdatomic.h>

#include "args/args_objects.h"
#include "core/internal.h"
#include "core/region.h"
#include "core/self_ids.h"

#define MPROC__SYNC_MAX_PARKS 5

typedef struct {
  _Atomic int refs;
  const char *name;     /* "lock", ... for messages */
  mproc__slice_t slice; /* where its state lives */
  void *mem;            /* = slice.mem */
  size_t size;
  size_t nparks;
  intptr_t parks[MPROC__SYNC_MAX_PARKS]; /* -1 where waiting needs no object */
} mproc__sync_t;

/* A new object: zeroed shared state of size bytes with nparks words that
 * are waited on. */
int mproc__sync_create(mproc__sync_t *s, const char *name, size_t size, size_t nparks);
/* Rebuilds one from handles another process exported (takes them over,
 * closes them on failure) and the info it appended. *used: how many of h
 * it took. */
int mproc__sync_import(mproc__sync_t *s, const char *name, size_t size, size_t nparks,
                       const intptr_t *h, size_t n, mproc__info_reader_t *info, size_t *used);
/* New handles for another process (the region, then the wait objects),
 * and the slice's place appended to info. */
int mproc__sync_export(const mproc__sync_t *s, intptr_t *h, size_t cap, size_t *n,
                       mproc__object_info_t *info);
void mproc__sync_retain(mproc__sync_t *s);
/* Drops a reference; true when it was the last (the caller frees). */
bool mproc__sync_release(mproc__sync_t *s);
void mproc__sync_close(mproc__sync_t *s);

/* One kind of object: its public struct begins with an mproc__sync_t. */
typedef struct {
  const char *name;
  size_t struct_size; /* the process-local struct */
  size_t shm_size;    /* its shared state */
  size_t nparks;
} mproc__sync_kind_t;

int mproc__sync_object_new(const mproc__sync_kind_t *k, void **out);
int mproc__sync_object_import(const mproc__sync_kind_t *k, void **out, const intptr_t *h, size_t n,
                              mproc__info_reader_t *info, size_t *used);
/* Drops a reference; the last one unmaps and frees (NULL is ignored). */
void mproc__sync_object_free(void *obj);
/* mproc__object_class_t parts every kind shares. */
int mproc__sync_object_export(const void *obj, intptr_t *h, size_t cap, size_t *n,
                              mproc__object_info_t *info);
int mproc__sync_object_hold(void *obj, void **held);

/* The argument class of a kind made only of its region (not Condition). */
#define MPROC__SYNC_CLASS(cls, type, kind, name)                                                   \
  static int cls##_import(void **out, const intptr_t *h, size_t n, uint8_t flags,                  \
                          mproc__info_reader_t *info) {                                            \
    size_t used;                                                                                   \
    (void)flags;                                                                                   \
    int rc = mproc__sync_object_import(&kind, out, h, n, info, &used);                             \
    for (; used < n; used++)                                                                       \
      mproc__os_close_handle(h[used]);                                                             \
    return rc;                                                                                     \
  }                                                                                                \
  const mproc__object_class_t cls = {type,                                                         \
                                     name,                                                         \
                                     mproc__sync_object_export,                                    \
                                     cls##_import,                                                 \
                                     mproc__sync_object_hold,                                      \
                                     mproc__sync_object_free,                                      \
                                     false};

/* Spins briefly (a few microseconds) while *w == from, before anyone
 * sleeps: a holder on another core is usually done by then, and a wake-up
 * costs two system calls. true when it changed. */
bool mproc__spin_while(_Atomic uint32_t *w, uint32_t from);
/* Sleeps on word w (in the region; its wait object is parks[i]) while it
 * equals expected, until deadline. */
int mproc__sync_wait(const mproc__sync_t *s, size_t i, mproc__park_word_t *w, uint32_t expected,
                     int64_t deadline);
void mproc__sync_wake(const mproc__sync_t *s, size_t i, mproc__park_word_t *w, uint32_t n);

/* MPROC_ETIMEDOUT with the detail "<name>_<op>: timed out". */
int mproc__sync_timed_out(const mproc__sync_t *s, const char *op);

/* Deadlines: mproc__deadline and mproc__remaining_ms (platform.h). */

#endif
