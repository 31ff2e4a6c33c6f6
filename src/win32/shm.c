/* Anonymous shared memory: a pagefile-backed section with no name, which
 * lives while a handle or a view of it does. */
#include <windows.h>

#include "core/internal.h"

int mproc__os_shm_new(size_t size, intptr_t *handle) {
  HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE,
                                (DWORD)((uint64_t)size >> 32), (DWORD)size, NULL);
  if (!h)
    return mproc__os_fail("shared memory: CreateFileMappingW(%zu)", size);
  *handle = (intptr_t)h;
  return 0;
}

/* A section's size is fixed when it is made: no holder can shrink it. */
int mproc__os_shm_new_sealed(size_t size, intptr_t *handle) {
  return mproc__os_shm_new(size, handle);
}

int mproc__os_shm_map(intptr_t handle, size_t size, void **p) {
  void *m = MapViewOfFile((HANDLE)handle, FILE_MAP_ALL_ACCESS, 0, 0, size);
  if (!m)
    return mproc__os_fail("shared memory: MapViewOfFile(%zu)", size);
  MEMORY_BASIC_INFORMATION info;
  if (VirtualQuery(m, &info, sizeof info) == 0 || info.RegionSize < size) {
    UnmapViewOfFile(m);
    return mproc__fail(MPROC_EPROTO, "shared memory: the section is smaller than %zu bytes", size);
  }
  *p = m;
  return 0;
}

void mproc__os_shm_unmap(void *p, size_t size) {
  (void)size;
  if (p)
    UnmapViewOfFile(p);
}
