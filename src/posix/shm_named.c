/* Named shared memory, POSIX: shm_open("/<name>") with mode 0600. The
 * segment lives until shm_unlink, whoever has it mapped; the descriptor
 * stays open beside the mapping (close-on-exec), so the segment can be
 * passed to a child as an argument even after it was unlinked, and the
 * size is the object's own (fstat), exact as created. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "shm_fd.h"

static void os_name(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "/%s", name); }

static size_t whole_pages(size_t size) {
  long page = sysconf(_SC_PAGESIZE);
  size_t p = page > 0 ? (size_t)page : 4096;
  return size > SIZE_MAX - p ? size : (size + p - 1) / p * p;
}

/* Maps size bytes of fd, which out keeps; fd is closed on failure. */
static int map_keep(int fd, size_t size, mproc__os_named_shm_t *out) {
  void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    int rc = mproc__os_fail("shm: mmap(%zu)", size);
    close(fd);
    return rc;
  }
  *out = (mproc__os_named_shm_t){fd, m, size, whole_pages(size)};
  return 0;
}

int mproc__os_shm_create_named(const char *name, size_t size, mproc__os_named_shm_t *out) {
  uint64_t bytes = size; /* size_t may be 32 bits: then never above */
  if (bytes > (uint64_t)INT64_MAX / 2)
    return mproc__fail(MPROC_ERANGE, "shm_create: %zu bytes is too large", size);
  if (!name) { /* unnamed: a memfd, or an object unlinked at once */
    intptr_t fd;
    int rc = mproc__posix_shm_new_tagged(size, "mproc-shm", &fd);
    return rc ? rc : map_keep((int)fd, size, out);
  }
  char path[MPROC_SHM_NAME_MAX + 2];
  os_name(path, sizeof path, name);
  int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return errno == EEXIST ? mproc__fail(MPROC_EEXIST, "shm_create: \"%s\" exists", name)
                           : mproc__os_fail("shm_create: shm_open(\"%s\")", path);
  if (ftruncate(fd, (off_t)size) != 0) {
    int rc = mproc__os_fail("shm_create: ftruncate(%zu)", size);
    close(fd);
    shm_unlink(path);
    return rc;
  }
  int rc = map_keep(fd, size, out);
  if (rc)
    shm_unlink(path);
  return rc;
}

int mproc__os_shm_open_named(const char *name, mproc__os_named_shm_t *out) {
  char path[MPROC_SHM_NAME_MAX + 2];
  os_name(path, sizeof path, name);
  int fd = shm_open(path, O_RDWR | O_CLOEXEC, 0);
  if (fd < 0)
    return errno == ENOENT ? mproc__fail(MPROC_ENOENT, "shm_open: no segment \"%s\"", name)
                           : mproc__os_fail("shm_open: shm_open(\"%s\")", path);
  struct stat st;
  int rc = fstat(fd, &st);
  /* shm_open cannot create and size in one step: a creator racing this
   * open (mproc_shm_open_or_create from several processes) sizes the
   * segment just after making it. Give it a moment before calling the
   * segment empty. */
  for (int waited = 0; rc == 0 && st.st_size == 0 && waited < 200; waited++) {
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
    rc = fstat(fd, &st);
  }
  if (rc != 0) {
    rc = mproc__os_fail("shm_open: fstat");
    close(fd);
    return rc;
  }
  if (st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX) {
    close(fd);
    return mproc__fail(MPROC_EINVAL, "shm_open: \"%s\" is empty (size %lld)", name,
                       (long long)st.st_size);
  }
  return map_keep(fd, (size_t)st.st_size, out);
}

int mproc__os_shm_attach_named(intptr_t handle, size_t size, mproc__os_named_shm_t *out) {
  struct stat st;
  if (fstat((int)handle, &st) != 0) {
    int rc = mproc__os_fail("shm: fstat");
    close((int)handle);
    return rc;
  }
  if (size == 0 || (uint64_t)st.st_size != (uint64_t)size) {
    close((int)handle);
    return mproc__fail(MPROC_EPROTO, "shm: the segment's size does not match its description");
  }
  return map_keep((int)handle, size, out);
}

int mproc__os_shm_unlink_named(const char *name, mproc__os_named_shm_t *shm) {
  (void)shm;
  char path[MPROC_SHM_NAME_MAX + 2];
  os_name(path, sizeof path, name);
  if (shm_unlink(path) == 0)
    return 0;
  return errno == ENOENT ? mproc__fail(MPROC_ENOENT, "shm_unlink: \"%s\" is already gone", name)
                         : mproc__os_fail("shm_unlink(\"%s\")", path);
}

void mproc__os_shm_close_named(mproc__os_named_shm_t *shm) {
  if (shm->mem)
    munmap(shm->mem, shm->size);
  if (shm->handle >= 0)
    close((int)shm->handle);
  shm->mem = NULL;
  shm->handle = -1;
}
