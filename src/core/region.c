/* Shared regions: the registry that maps each region once per process, and
 * the arena allocator that puts many small objects in one region (see
 * region.h). The registry's lock is a spinlock: every system call (making,
 * mapping, unmapping a region) happens outside it. */
#include <stdlib.h>

#include "core/region.h"
#include "core/self_ids.h"
#include "core/spinlock.h"

enum {
  ARENA_SIZE = 64 * 1024,
  OWN_REGION_FROM = ARENA_SIZE / 4, /* bigger slices get a region of their own */
  LINE = 64                         /* alignment: a cache line */
};

/* Under mproc__region_lock. */
static mproc__region_t *registry;
static struct {
  mproc__region_t *region; /* the allocator's hold on it */
  size_t used;
  uint32_t pid; /* the process that made it: the only one that allocates there */
} arena;

static mproc__region_t *find(uint64_t id) {
  for (mproc__region_t *r = registry; r; r = r->next)
    if (r->id == id)
      return r;
  return NULL;
}

/* The region with this id, with one more hold on it; NULL if not mapped. */
static mproc__region_t *retain_by_id(uint64_t id) {
  mproc__spin_lock(&mproc__region_lock);
  mproc__region_t *r = find(id);
  if (r)
    r->refs++;
  mproc__spin_unlock(&mproc__region_lock);
  return r;
}

static void unregister(mproc__region_t *r) {
  for (mproc__region_t **p = &registry; *p; p = &(*p)->next)
    if (*p == r) {
      *p = r->next;
      return;
    }
}

static void destroy(mproc__region_t *r) {
  if (!r)
    return;
  mproc__os_shm_unmap(r->mem, r->size);
  mproc__os_close_handle(r->handle);
  free(r);
}

/* Drops one hold, under the lock; returns the region to destroy (after
 * unlocking) when it was the last. */
static mproc__region_t *drop_locked(mproc__region_t *r) {
  if (--r->refs > 0)
    return NULL;
  unregister(r);
  return r;
}

/* A mapped region around handle (taken over: closed on failure). */
static int map(intptr_t handle, uint64_t id, size_t size, const char *name, mproc__region_t **out) {
  mproc__region_t *r = calloc(1, sizeof *r);
  if (!r) {
    mproc__os_close_handle(handle);
    return mproc__fail(MPROC_ENOMEM, "%s: out of memory", name);
  }
  void *mem;
  int rc = mproc__os_shm_map(handle, size, &mem);
  if (rc) {
    mproc__os_close_handle(handle);
    free(r);
    return rc;
  }
  *r = (mproc__region_t){1, id, handle, mem, size, NULL};
  *out = r;
  return 0;
}

/* A new region, not yet registered. */
static int region_new(size_t size, const char *name, mproc__region_t **out) {
  uint64_t id = 0;
  while (id == 0)
    if (mproc__os_random(&id, sizeof id) != 0)
      return mproc__fail(MPROC_ESYS, "%s: no randomness for a region id", name);
  intptr_t handle;
  int rc = mproc__os_shm_new(size, &handle);
  return rc ? rc : map(handle, id, size, name, out);
}

static void register_locked(mproc__region_t *r) {
  r->next = registry;
  registry = r;
}

/* A slice of the current arena, under the lock; false when it has no room
 * (or belongs to the process this one was forked from). */
static bool take_from_arena(size_t size, uint32_t pid, mproc__slice_t *out) {
  mproc__region_t *r = arena.region;
  if (!r || arena.pid != pid || r->size - arena.used < size)
    return false;
  r->refs++;
  *out = (mproc__slice_t){r, arena.used, r->mem + arena.used};
  arena.used += size;
  return true;
}

int mproc__slice_alloc(size_t size, const char *name, mproc__slice_t *out) {
  size = size ? (size + LINE - 1) / LINE * LINE : LINE;
  if (size >= OWN_REGION_FROM) {
    mproc__region_t *r;
    int rc = region_new(size, name, &r);
    if (rc)
      return rc;
    mproc__spin_lock(&mproc__region_lock);
    register_locked(r);
    mproc__spin_unlock(&mproc__region_lock);
    *out = (mproc__slice_t){r, 0, r->mem};
    return 0;
  }
  uint32_t pid, tid;
  mproc__self_ids(&pid, &tid);
  mproc__spin_lock(&mproc__region_lock);
  bool done = take_from_arena(size, pid, out);
  mproc__spin_unlock(&mproc__region_lock);
  if (done)
    return 0;
  mproc__region_t *fresh, *old = NULL;
  int rc = region_new(ARENA_SIZE, name, &fresh);
  if (rc)
    return rc;
  mproc__spin_lock(&mproc__region_lock);
  if (take_from_arena(size, pid, out)) {
    /* another thread installed an arena meanwhile */
    mproc__spin_unlock(&mproc__region_lock);
    destroy(fresh);
    return 0;
  }
  if (arena.region)
    old = drop_locked(arena.region);
  register_locked(fresh);
  arena.region = fresh;
  arena.used = 0;
  arena.pid = pid;
  take_from_arena(size, pid, out);
  mproc__spin_unlock(&mproc__region_lock);
  destroy(old);
  return 0;
}

void mproc__slice_retain(const mproc__slice_t *s) {
  mproc__spin_lock(&mproc__region_lock);
  s->region->refs++;
  mproc__spin_unlock(&mproc__region_lock);
}

void mproc__slice_free(mproc__slice_t *s) {
  if (!s->region)
    return;
  mproc__spin_lock(&mproc__region_lock);
  mproc__region_t *gone = drop_locked(s->region);
  mproc__spin_unlock(&mproc__region_lock);
  destroy(gone);
  *s = (mproc__slice_t){0};
}

int mproc__slice_export(const mproc__slice_t *s, intptr_t *handle, mproc__object_info_t *info) {
  if (mproc__info_put(info, s->region->id, 8) || mproc__info_put(info, s->region->size, 8) ||
      mproc__info_put(info, s->offset, 8))
    return MPROC_ERANGE;
  return mproc__os_dup_handle(s->region->handle, handle);
}

int mproc__slice_import(intptr_t handle, mproc__info_reader_t *r, size_t size, const char *name,
                        mproc__slice_t *out) {
  uint64_t id, region_size, offset;
  int rc = mproc__info_get(r, 8, &id);
  if (!rc)
    rc = mproc__info_get(r, 8, &region_size);
  if (!rc)
    rc = mproc__info_get(r, 8, &offset);
  /* Every slice starts on a cache line (slice_alloc): an offset that does
   * not would put the object's atomics on misaligned addresses. */
  if (!rc && (region_size == 0 || region_size > SIZE_MAX || offset > region_size ||
              size > region_size - offset || offset % LINE != 0))
    rc = mproc__fail(MPROC_EPROTO,
                     "%s: a slice of %zu bytes at %llu is outside its region or "
                     "not aligned",
                     name, size, (unsigned long long)offset);
  if (rc) {
    mproc__os_close_handle(handle);
    return rc;
  }
  /* Mapped here already (the usual case for a second object): share it. */
  mproc__region_t *found = retain_by_id(id);
  mproc__region_t *mapped = NULL;
  if (!found) {
    /* Map it outside the lock, then look again: a thread may have mapped
     * it meanwhile, and then its mapping is used and ours dropped. */
    rc = map(handle, id, (size_t)region_size, name, &mapped);
    if (rc)
      return rc;
    handle = -1;
    mproc__spin_lock(&mproc__region_lock);
    found = find(id);
    if (found) {
      found->refs++;
    } else {
      register_locked(mapped);
      found = mapped;
      mapped = NULL;
    }
    mproc__spin_unlock(&mproc__region_lock);
  }
  if (handle != -1)
    mproc__os_close_handle(handle); /* already mapped: this copy is not needed */
  destroy(mapped);
  if (found->size != region_size) {
    mproc__slice_t held = {found, 0, NULL};
    mproc__slice_free(&held);
    return mproc__fail(MPROC_EPROTO, "%s: region %llx arrived with another size", name,
                       (unsigned long long)id);
  }
  *out = (mproc__slice_t){found, (size_t)offset, found->mem + offset};
  return 0;
}
