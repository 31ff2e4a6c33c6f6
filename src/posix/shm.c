/* Anonymous shared memory: a memfd on Linux; elsewhere a POSIX shared
 * memory object unlinked the moment it exists. Either way it has no name
 * left to leak: it lives while a descriptor or a mapping does. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "features.h"
#include "shm_fd.h"

/* tag names the region where a descriptor list shows it (/proc/<pid>/fd):
 * "mproc" for the library's own regions, "mproc-shm" for a user's
 * unnamed segment. */
static int anonymous_fd(const char *tag) {
#if MPROC__LINUX_MECHANISMS
  return memfd_create(tag, MFD_CLOEXEC);
#else
  for (int attempt = 0; attempt < 16; attempt++) {
    unsigned char r[8];
    char name[64];
    if (mproc__os_random(r, sizeof r) != 0)
      return -1;
    snprintf(name, sizeof name, "/%s-%02x%02x%02x%02x%02x%02x%02x%02x", tag, r[0], r[1], r[2], r[3],
             r[4], r[5], r[6], r[7]);
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      shm_unlink(name);
      return fd;
    }
  }
  return -1;
#endif
}

int mproc__os_shm_new(size_t size, intptr_t *handle) {
  return mproc__posix_shm_new_tagged(size, "mproc", handle);
}

int mproc__posix_shm_new_tagged(size_t size, const char *tag, intptr_t *handle) {
  int fd = anonymous_fd(tag);
  if (fd < 0)
    return mproc__os_fail("shared memory: %s",
                          MPROC__LINUX_MECHANISMS ? "memfd_create" : "shm_open");
  if (ftruncate(fd, (off_t)size) != 0) {
    int rc = mproc__os_fail("shared memory: ftruncate(%zu)", size);
    close(fd);
    return rc;
  }
  *handle = fd;
  return 0;
}

int mproc__os_shm_new_sealed(size_t size, intptr_t *handle) {
#if MPROC__LINUX_MECHANISMS
  int fd = memfd_create("mproc-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return mproc__os_fail("shared memory: memfd_create");
  if (ftruncate(fd, (off_t)size) != 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    int rc = mproc__os_fail("shared memory: a sealed region of %zu bytes", size);
    close(fd);
    return rc;
  }
  *handle = fd;
  return 0;
#else
  (void)size;
  (void)handle;
  return mproc__fail(MPROC_ENOTSUP, "shared memory: no region here can be sealed against "
                                    "shrinking (memfd seals are Linux's)");
#endif
}

int mproc__os_shm_map(intptr_t handle, size_t size, void **p) {
  struct stat st;
  if (fstat((int)handle, &st) != 0 || (uint64_t)st.st_size < size)
    return mproc__fail(MPROC_EPROTO, "shared memory: descriptor %d is not a region of %zu bytes",
                       (int)handle, size);
  void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)handle, 0);
  if (m == MAP_FAILED)
    return mproc__os_fail("shared memory: mmap(%zu)", size);
  *p = m;
  return 0;
}

void mproc__os_shm_unmap(void *p, size_t size) {
  if (p)
    munmap(p, size);
}
