/* mproc — shared memory: Value, Array, RawValue, RawArray (Python's
 * multiprocessing.Value/Array and sharedctypes) and named SharedMemory
 * (multiprocessing.shared_memory). See docs/shm.md.
 *
 * A Value or Array is memory every process it is passed to (as an
 * argument: mproc_args_add_value, ...) sees, under every start method. It
 * is anonymous - nothing named, so nothing can leak, whatever process is
 * killed when - and small ones share one mapping (an arena) rather than
 * one mapping each. It starts zeroed. Like Python's, it comes with an RLock
 * (mproc_value_lock) unless made with opts.lock = MPROC_NO_LOCK, which is
 * Python's RawValue/RawArray. Unlike Python's `v.value += 1`, the atomic
 * helpers (mproc_value_add, ...) need no lock at all.
 *
 * Values and Arrays are reference counted: a tuple holding one keeps it
 * alive, and each process frees its own references. Every function is
 * safe to call from several threads at once (the memory itself is yours to
 * guard: with the lock or the atomic helpers). */
#ifndef MPROC_SHM_H
#define MPROC_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "export.h"
#include "sync.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_value mproc_value_t;
typedef struct mproc_array mproc_array_t;
typedef struct mproc_shm mproc_shm_t;

/* ---- Value and Array ---------------------------------------------------- */

/* opts.lock: which lock comes with a Value or Array. */
enum {
  MPROC_LOCK_DEFAULT = 0, /* a new RLock, or opts.rlock when given (Python's lock=True) */
  MPROC_NO_LOCK = 1       /* none: RawValue / RawArray (Python's lock=False) */
};

/* Options of a Value or Array; all zero means Python's defaults. */
typedef struct {
  int lock;             /* MPROC_LOCK_DEFAULT or MPROC_NO_LOCK */
  mproc_rlock_t *rlock; /* with MPROC_LOCK_DEFAULT: share this RLock (Python's
                           lock=<RLock>) instead of making one; kept alive by
                           the Value */
  const void *initial;  /* NULL: zeroed. Else the first value(s), copied in:
                           one element for a Value (Python's Value('i', 7)),
                           n elements for an Array (Array('d', [1.0, 2.0])),
                           in the element type's C representation */
  /* For options of later versions: leave zero (else MPROC_EINVAL). */
  uint64_t reserved[4];
} mproc_value_opts_t;

/* The size in bytes of one element of type t.
 * Params: t — a type.
 * Returns: 1, 2, 4 or 8; 0 when t is not an element type (MPROC_T_I8 ..
 *   MPROC_T_CHAR). */
MPROC_API size_t mproc_type_size(mproc_type_t t);

/* Creates a shared Value of one element, zeroed or set to *opts.initial
 * (Python's Value(typecode, value) or, with opts.lock = MPROC_NO_LOCK,
 * RawValue).
 * Params: out — receives it (free with mproc_value_free); type — an
 *   element type, MPROC_T_I8 .. MPROC_T_CHAR; opts — NULL for the defaults.
 * Returns: 0.
 * Errors: MPROC_EINVAL (out NULL, not an element type, an unknown opts.lock,
 *   opts.rlock given with MPROC_NO_LOCK), MPROC_ENOMEM, MPROC_ESYS. */
MPROC_API int mproc_value_new(mproc_value_t **out, mproc_type_t type,
                              const mproc_value_opts_t *opts);

/* The Value's memory: one element of its type, aligned for it (and to 64
 * bytes). Reading and writing it is plain memory access: guard it with the
 * lock or use the atomic helpers.
 * Params: v — the Value.
 * Returns: the address; NULL when v is NULL. */
MPROC_API void *mproc_value_ptr(const mproc_value_t *v);

/* The Value's element type.
 * Params: v — the Value.
 * Returns: the type; MPROC_T_NIL when v is NULL. */
MPROC_API mproc_type_t mproc_value_type(const mproc_value_t *v);

/* The lock that comes with the Value (Python's v.get_lock()), borrowed: it
 * lives as long as the Value.
 * Params: v — the Value.
 * Returns: the RLock; NULL when v is NULL or was made without a lock. */
MPROC_API mproc_rlock_t *mproc_value_lock(const mproc_value_t *v);

/* Atomic helpers for Values of the integer types (I8 .. U64), sequentially
 * consistent, with no lock and no system call - safe against every other
 * process using them on the same Value. Values travel as int64_t: a U64
 * above INT64_MAX is its two's-complement bit pattern.
 *   add: adds delta, wrapping around as C's unsigned arithmetic does (like
 *     atomic_fetch_add); *old (may be NULL) receives the value before.
 *   load: *out receives the value.
 *   store: sets it; value must fit the type.
 *   compare_exchange: if the Value equals *expected, sets it to desired and
 *     returns 1; else writes the current value to *expected and returns 0.
 * Params: v — an integer Value; delta — what to add; old — NULL or
 *   receives the value before; out — receives the value; value — what to
 *   store; expected — the value it must hold, and receives the current
 *   one when it does not; desired — the value to store.
 * Returns: 0 (compare_exchange: 1 or 0).
 * Errors: MPROC_EINVAL (NULL v, NULL out/expected), MPROC_ETYPE (a float or
 *   CHAR Value), MPROC_ERANGE (store/compare_exchange: desired or *expected
 *   does not fit the type). */
MPROC_API int mproc_value_add(mproc_value_t *v, int64_t delta, int64_t *old);
MPROC_API int mproc_value_load(const mproc_value_t *v, int64_t *out);
MPROC_API int mproc_value_store(mproc_value_t *v, int64_t value);
MPROC_API int mproc_value_compare_exchange(mproc_value_t *v, int64_t *expected, int64_t desired);

/* Drops this reference; the memory goes when no process holds it.
 * Params: v — the Value; NULL is ignored. */
MPROC_API void mproc_value_free(mproc_value_t *v);

/* Creates a shared Array of n elements, zeroed or copied from the n
 * elements at opts.initial (Python's Array(typecode, n) and
 * Array(typecode, sequence), or, with opts.lock = MPROC_NO_LOCK,
 * RawArray). Arrays above 16 KiB get a mapping of their own; smaller ones
 * share an arena.
 * Params: out — receives it (free with mproc_array_free); type — an element
 *   type; n — the number of elements (0 is allowed); opts — NULL for the
 *   defaults.
 * Returns: 0.
 * Errors: MPROC_EINVAL (as mproc_value_new), MPROC_ERANGE (n elements do not
 *   fit in size_t), MPROC_ENOMEM, MPROC_ESYS (the OS refused the memory). */
MPROC_API int mproc_array_new(mproc_array_t **out, mproc_type_t type, size_t n,
                              const mproc_value_opts_t *opts);

/* The Array's elements, its length in elements, its element type, and its
 * lock (Python's get_lock()).
 * Params: a — the Array.
 * Returns: the elements (never NULL for a valid array, even of length 0);
 *   the length; the type; the lock, borrowed (NULL without one). Each
 *   gives NULL / 0 / MPROC_T_NIL when a is NULL. */
MPROC_API void *mproc_array_ptr(const mproc_array_t *a);
MPROC_API size_t mproc_array_len(const mproc_array_t *a);
MPROC_API mproc_type_t mproc_array_type(const mproc_array_t *a);
MPROC_API mproc_rlock_t *mproc_array_lock(const mproc_array_t *a);

/* Drops this reference; the memory goes when no process holds it.
 * Params: a — the Array; NULL is ignored. */
MPROC_API void mproc_array_free(mproc_array_t *a);

/* Values and Arrays as arguments: the child's object maps the same memory
 * (and shares the lock). The tuple keeps its own reference; the getters
 * borrow the tuple's.
 * Params: a — the tuple; v, arr — the object to add; i — the item's
 *   index; out — receives the borrowed object.
 * Returns: 0.
 * Errors: as the other mproc_args_add_ / mproc_args_get_ functions
 *   (MPROC_EINVAL, MPROC_ERANGE, MPROC_ETYPE, MPROC_ENOMEM). */
MPROC_API int mproc_args_add_value(mproc_args_t *a, mproc_value_t *v);
MPROC_API int mproc_args_get_value(const mproc_args_t *a, size_t i, mproc_value_t **out);
MPROC_API int mproc_args_add_array(mproc_args_t *a, mproc_array_t *arr);
MPROC_API int mproc_args_get_array(const mproc_args_t *a, size_t i, mproc_array_t **out);

/* ---- named SharedMemory ------------------------------------------------- */

/* The longest name, in bytes. Names use only A-Z a-z 0-9 _ - . */
#define MPROC_SHM_NAME_MAX 200

/* Creates a named segment of exactly size bytes, zeroed, and maps it
 * (Python's SharedMemory(name, create=True, size=size)). Any process may
 * open it by name - a child or an unrelated program.
 * Params: out — receives it (mproc_shm_close); name — the name, or NULL for
 *   a random, unguessable one (mproc_shm_name tells it); size — > 0.
 * Returns: 0.
 * Errors: MPROC_EINVAL (out NULL, size 0, a name that is empty, too long or
 *   has other characters), MPROC_EEXIST (the name is taken), MPROC_ERANGE
 *   (above SIZE_MAX / 2: more than this process can map; 2 GiB on a
 *   32-bit system), MPROC_ENOMEM, MPROC_ESYS.
 * Platform: POSIX shm_open with mode 0600 (the name is "/<name>"); Windows
 *   a pagefile-backed section named "Local\<name>", with 16 bytes of mproc
 *   bookkeeping past the end of the data. See mproc_shm_unlink for how
 *   long a segment lives. */
MPROC_API int mproc_shm_create(mproc_shm_t **out, const char *name, size_t size);

/* Creates a segment of exactly size bytes, zeroed, with no name: it
 * reaches other processes only as an argument or a pool task's result
 * (mproc_args_add_shm), by handle, and it lives while some process holds
 * it - its memory goes with the last mproc_shm_close, or with the last
 * process holding it, however that process ended. Nothing is left behind
 * to unlink (Python has no such segment: its SharedMemory always has a
 * name, which a crash leaks). mproc_shm_name gives "" for it.
 * Params: out — receives it (mproc_shm_close); size — > 0.
 * Returns: 0.
 * Errors: MPROC_EINVAL (out NULL, size 0), MPROC_ERANGE (above SIZE_MAX
 *   / 2), MPROC_ENOMEM, MPROC_ESYS.
 * Platform: Linux a memfd (named "mproc-shm" in /proc/<pid>/fd); other
 *   POSIX systems a shm_open object unlinked the moment it exists;
 *   Windows an unnamed pagefile-backed section. */
MPROC_API int mproc_shm_create_unnamed(mproc_shm_t **out, size_t size);

/* Opens the segment named name if it exists, else creates it with size
 * bytes, zeroed - attach-or-create, safe when several processes race to
 * do it (exactly one creates it).
 * Params: out — receives it (mproc_shm_close); name — the name; size —
 *   > 0, used only when creating; created — NULL, or receives whether this
 *   call created it.
 * Returns: 0.
 * Errors: those of mproc_shm_create and mproc_shm_open (MPROC_EINVAL,
 *   MPROC_ERANGE, MPROC_ENOMEM, MPROC_ESYS).
 * An existing segment keeps its own size, which may differ from size
 * (mproc_shm_size tells). */
MPROC_API int mproc_shm_open_or_create(mproc_shm_t **out, const char *name, size_t size,
                                       bool *created);

/* Options of a named segment's creation; all zero: mproc_shm_create's. */
typedef struct {
  /* Unlink the name once the creating process has ended, however it ended
   * - SIGKILL included - unless it unlinked the name itself (Python 3.13's
   * track=True, which a SIGKILL defeats). On POSIX a small tracker process,
   * started with the first tracked segment, does it; the creator's forked
   * children share it, so the names go when they have all ended too. A
   * spawned child that creates tracked segments has a tracker of its own.
   * Mappings stay valid after the unlink: only opening by name stops. */
  bool track;
  /* For options of later versions: leave zero (else MPROC_EINVAL). */
  uint64_t reserved[4];
} mproc_shm_opts_t;

/* mproc_shm_create and mproc_shm_open_or_create with options.
 * Params: out, name, size, created — as for those; opts — NULL for none.
 * Returns: 0.
 * Errors: those of mproc_shm_create and mproc_shm_open_or_create, and
 *   MPROC_ESYS when the tracker cannot be started or reached (then
 *   nothing was created: the segment is unlinked again).
 * Platform: on Windows track changes nothing - a section always goes
 *   with its last handle. */
MPROC_API int mproc_shm_create_opts(mproc_shm_t **out, const char *name, size_t size,
                                    const mproc_shm_opts_t *opts);
MPROC_API int mproc_shm_open_or_create_opts(mproc_shm_t **out, const char *name, size_t size,
                                            bool *created, const mproc_shm_opts_t *opts);

/* Opens and maps an existing segment (Python's SharedMemory(name)).
 * Params: out — receives it (mproc_shm_close); name — its name.
 * Returns: 0.
 * Errors: MPROC_EINVAL (out or name NULL, a bad name, an empty segment),
 *   MPROC_ENOENT (no such segment, or it was unlinked), MPROC_ENOMEM,
 *   MPROC_ESYS.
 * Platform: on Windows a segment not made by mproc reports its mapped
 *   size (whole pages) as its size. */
MPROC_API int mproc_shm_open(mproc_shm_t **out, const char *name);

/* The segment's data, its size as created, the size actually mapped, and
 * its name (Python's buf, size, name).
 * Params: s — the segment.
 * Returns: the address; the size; the mapped size (whole pages, at least
 *   size; what you may touch is size); the name, valid while s lives.
 *   NULL / 0 when s is NULL. */
MPROC_API void *mproc_shm_data(const mproc_shm_t *s);
MPROC_API size_t mproc_shm_size(const mproc_shm_t *s);
MPROC_API size_t mproc_shm_mapped_size(const mproc_shm_t *s);
MPROC_API const char *mproc_shm_name(const mproc_shm_t *s);

/* Removes the name, so the segment can no longer be opened (Python's
 * unlink()); call it once, from one process, when no one needs to open it
 * again. Mappings that exist stay valid.
 * Params: s — the segment.
 * Returns: 0.
 * Errors: MPROC_EINVAL (NULL), MPROC_ENOENT (already unlinked, or an
 *   unnamed segment: there is no name to remove).
 * Platform: POSIX: a segment lives until it is unlinked - closing every
 *   mapping does not remove it; after unlink the name may be created anew.
 *   Windows: a segment lives while any process has it open, whatever
 *   unlink does, and vanishes with the last close even without unlink;
 *   unlink marks it so mproc_shm_open refuses it (MPROC_ENOENT), but the
 *   name stays taken (mproc_shm_create gives MPROC_EEXIST) until the last
 *   close. */
MPROC_API int mproc_shm_unlink(mproc_shm_t *s);

/* Drops this reference (Python's close()): the mapping goes with the last
 * reference (a tuple that holds the segment keeps one); the segment itself
 * stays, on POSIX, until unlinked.
 * Params: s — the segment; NULL is ignored. */
MPROC_API void mproc_shm_close(mproc_shm_t *s);

/* A segment as an argument: the child maps the same segment from a handle
 * it inherits, without opening it by name - so it works even after the
 * name was unlinked, and for an unnamed segment. A pool task's arguments
 * and results may hold one too: it crosses by reference, whatever its
 * size (pool.h). The tuple keeps its own reference; the getter
 * borrows the tuple's.
 * Params: a — the tuple; s — the segment to add; i — the item's index;
 *   out — receives the borrowed segment.
 * Returns: 0.
 * Errors: as the other mproc_args_add_ / mproc_args_get_ functions
 *   (MPROC_EINVAL, MPROC_ERANGE, MPROC_ETYPE, MPROC_ENOMEM). */
MPROC_API int mproc_args_add_shm(mproc_args_t *a, mproc_shm_t *s);
MPROC_API int mproc_args_get_shm(const mproc_args_t *a, size_t i, mproc_shm_t **out);

#ifdef __cplusplus
}
#endif

#endif
