/* Named shared memory, Windows: a pagefile-backed section named
 * "Local\<name>". Windows keeps a section while any handle or view of it
 * exists and drops it with the last, so a name cannot be removed early:
 * unlink sets a flag that mproc_shm_open honours instead.
 *
 * A section's size is whole pages, and Windows does not tell the size it
 * was created with, so the last 16 bytes of the mapping hold it: a footer
 * past the data, which starts at offset 0 as in any other program's view.
 * A section made by another program has no footer: its size is what is
 * mapped. */
#include <windows.h>

#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "wide.h"

enum { FOOTER = 16, FOOTER_MAGIC = 0x6873706d /* "mpsh" */, UNLINKED = 1 };

typedef struct {
  uint32_t magic;
  _Atomic uint32_t flags;
  uint64_t size;
} footer_t;

static footer_t *footer(const mproc__os_named_shm_t *s) {
  return (footer_t *)((unsigned char *)s->mem + s->mapped - FOOTER);
}

/* A footer written by mproc, or NULL. */
static footer_t *our_footer(const mproc__os_named_shm_t *s) {
  if (s->mapped < FOOTER)
    return NULL;
  footer_t *f = footer(s);
  return f->magic == FOOTER_MAGIC && f->size <= s->mapped - FOOTER ? f : NULL;
}

static wchar_t *os_name(const char *name) {
  size_t n = strlen(name);
  char *full = malloc(n + 7);
  if (!full)
    return NULL;
  memcpy(full, "Local\\", 6);
  memcpy(full + 6, name, n + 1);
  wchar_t *w = mproc__wide_from_utf8(full);
  free(full);
  return w;
}

/* Maps all of section h (closed on failure) into out. */
static int map_all(HANDLE h, const char *op, mproc__os_named_shm_t *out) {
  void *m = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 0);
  MEMORY_BASIC_INFORMATION info;
  if (!m || VirtualQuery(m, &info, sizeof info) == 0) {
    int rc = mproc__os_fail("%s: MapViewOfFile", op);
    if (m)
      UnmapViewOfFile(m);
    CloseHandle(h);
    return rc;
  }
  *out = (mproc__os_named_shm_t){(intptr_t)h, m, info.RegionSize, info.RegionSize};
  return 0;
}

int mproc__os_shm_create_named(const char *name, size_t size, mproc__os_named_shm_t *out) {
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  size_t page = si.dwPageSize ? si.dwPageSize : 4096;
  if (size > SIZE_MAX - FOOTER - page)
    return mproc__fail(MPROC_ERANGE, "shm_create: %zu bytes is too large", size);
  size_t total = (size + FOOTER + page - 1) / page * page;
  wchar_t *w = name ? os_name(name) : NULL; /* NULL: an unnamed section */
  if (name && !w)
    return mproc__fail(MPROC_ENOMEM, "shm_create: out of memory");
  HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE,
                                (DWORD)((uint64_t)total >> 32), (DWORD)total, w);
  DWORD err = GetLastError();
  free(w);
  if (!h)
    return mproc__os_fail("shm_create: CreateFileMappingW(\"%s\", %zu)", name ? name : "", total);
  if (name && err == ERROR_ALREADY_EXISTS) {
    CloseHandle(h);
    return mproc__fail(MPROC_EEXIST, "shm_create: \"%s\" exists", name);
  }
  int rc = map_all(h, "shm_create", out);
  if (rc)
    return rc;
  footer_t *f = footer(out);
  f->magic = FOOTER_MAGIC;
  f->size = size;
  out->size = size;
  return 0;
}

int mproc__os_shm_open_named(const char *name, mproc__os_named_shm_t *out) {
  wchar_t *w = os_name(name);
  if (!w)
    return mproc__fail(MPROC_ENOMEM, "shm_open: out of memory");
  HANDLE h = OpenFileMappingW(FILE_MAP_ALL_ACCESS, FALSE, w);
  DWORD err = GetLastError();
  free(w);
  if (!h)
    return err == ERROR_FILE_NOT_FOUND
               ? mproc__fail(MPROC_ENOENT, "shm_open: no segment \"%s\"", name)
               : mproc__os_fail("shm_open: OpenFileMappingW(\"%s\")", name);
  int rc = map_all(h, "shm_open", out);
  if (rc)
    return rc;
  footer_t *f = our_footer(out);
  if (f && (atomic_load(&f->flags) & UNLINKED)) {
    mproc__os_shm_close_named(out);
    return mproc__fail(MPROC_ENOENT, "shm_open: \"%s\" was unlinked (it lives on while open)",
                       name);
  }
  if (f)
    out->size = (size_t)f->size;
  return 0;
}

int mproc__os_shm_attach_named(intptr_t handle, size_t size, mproc__os_named_shm_t *out) {
  int rc = map_all((HANDLE)handle, "shm", out);
  if (rc)
    return rc;
  footer_t *f = our_footer(out);
  if (f && f->size != size) {
    mproc__os_shm_close_named(out);
    return mproc__fail(MPROC_EPROTO, "shm: the segment's size does not match its description");
  }
  out->size = f ? (size_t)f->size : out->mapped;
  return 0;
}

int mproc__os_shm_unlink_named(const char *name, mproc__os_named_shm_t *shm) {
  footer_t *f = our_footer(shm);
  if (f && (atomic_fetch_or(&f->flags, UNLINKED) & UNLINKED))
    return mproc__fail(MPROC_ENOENT, "shm_unlink: \"%s\" is already unlinked", name);
  return 0;
}

void mproc__os_shm_close_named(mproc__os_named_shm_t *shm) {
  if (shm->mem)
    UnmapViewOfFile(shm->mem);
  if (shm->handle != -1 && shm->handle != 0)
    CloseHandle((HANDLE)shm->handle);
  shm->mem = NULL;
  shm->handle = -1;
}

/* A section goes with its last handle, whoever held it: nothing outlives
 * its processes, so there is nothing to track. */
int mproc__os_shm_track(const char *name) {
  (void)name;
  return 0;
}

void mproc__os_shm_untrack(const char *name) { (void)name; }
