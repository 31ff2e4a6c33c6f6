/* Named shared memory, POSIX: shm_open("/<name>") with mode 0600. The
 * segment lives until shm_unlink, whoever has it mapped; the descriptor is
 * closed once mapped (the mapping keeps the memory), and the size is the
 * object's own (fstat), exact as created. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/internal.h"

static void os_name(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "/%s", name); }

static size_t whole_pages(size_t size) {
  long page = sysconf(_SC_PAGESIZE);
  size_t p = page > 0 ? (size_t)page : 4096;
  return size > SIZE_MAX - p ? size : (size + p - 1) / p * p;
}

/* Maps size bytes of fd and closes fd, either way. */
static int map_and_close(int fd, size_t size, mproc__os_named_shm_t *out) {
  void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int rc = m == MAP_FAILED ? mproc__os_fail("shm: mmap(%zu)", size) : 0;
  close(fd);
  if (rc == 0)
    *out = (mproc__os_named_shm_t){-1, m, size, whole_pages(size)};
  return rc;
}

int mproc__os_shm_create_named(const char *name, size_t size, mproc__os_named_shm_t *out) {
  if ((uint64_t)size > (uint64_t)INT64_MAX / 2)
    return mproc__fail(MPROC_ERANGE, "shm_create: %zu bytes is too large", size);
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
  int rc = map_and_close(fd, size, out);
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
  if (fstat(fd, &st) != 0) {
    int rc = mproc__os_fail("shm_open: fstat");
    close(fd);
    return rc;
  }
  if (st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX) {
    close(fd);
    return mproc__fail(MPROC_EINVAL, "shm_open: \"%s\" is empty (size %lld)", name,
                       (long long)st.st_size);
  }
  return map_and_close(fd, (size_t)st.st_size, out);
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
  shm->mem = NULL;
}
