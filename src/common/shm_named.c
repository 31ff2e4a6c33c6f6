/* Named SharedMemory (Python's multiprocessing.shared_memory): names are
 * checked here, the same on every platform, and the segment itself is the
 * platform's (mproc__os_shm_*_named). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct mproc_shm {
  char name[MPROC_SHM_NAME_MAX + 1];
  mproc__os_named_shm_t os;
};

static bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

static int check_name(const char *name, const char *op) {
  if (!name)
    return mproc__fail(MPROC_EINVAL, "%s: name is NULL", op);
  size_t n = strlen(name);
  if (n == 0 || n > MPROC_SHM_NAME_MAX)
    return mproc__fail(MPROC_EINVAL, "%s: a name of %zu bytes (1 to %d)", op, n,
                       MPROC_SHM_NAME_MAX);
  for (size_t i = 0; i < n; i++)
    if (!name_char(name[i]))
      return mproc__fail(MPROC_EINVAL,
                         "%s: \"%s\" has '%c' (names use A-Z a-z 0-9 _ - . only; mproc adds "
                         "the platform's prefix)",
                         op, name, name[i]);
  return 0;
}

/* Python's "psm_" + random hex, with 64 bits: unguessable. */
static int random_name(char *buf, size_t cap) {
  unsigned char r[8];
  if (mproc__os_random(r, sizeof r) != 0)
    return mproc__fail(MPROC_ESYS, "shm_create: no randomness for a name");
  snprintf(buf, cap, "mproc_%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
           r[6], r[7]);
  return 0;
}

static int make(mproc_shm_t **out, const char *name, size_t size, bool create) {
  const char *op = create ? "shm_create" : "shm_open";
  if (!out)
    return mproc__fail(MPROC_EINVAL, "%s: out is NULL", op);
  if (create && size == 0)
    return mproc__fail(MPROC_EINVAL, "shm_create: size is 0");
  int rc = create && !name ? 0 : check_name(name, op);
  if (rc)
    return rc;
  mproc_shm_t *s = calloc(1, sizeof *s);
  if (!s)
    return mproc__fail(MPROC_ENOMEM, "%s: out of memory", op);
  /* A random name taken already (vanishingly rare) is drawn again. */
  for (int attempt = 0; attempt < 8; attempt++) {
    if (name)
      snprintf(s->name, sizeof s->name, "%s", name);
    else if ((rc = random_name(s->name, sizeof s->name)) != 0)
      break;
    rc = create ? mproc__os_shm_create_named(s->name, size, &s->os)
                : mproc__os_shm_open_named(s->name, &s->os);
    if (name || rc != MPROC_EEXIST)
      break;
  }
  if (rc) {
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

int mproc_shm_create(mproc_shm_t **out, const char *name, size_t size) {
  return make(out, name, size, true);
}

int mproc_shm_open(mproc_shm_t **out, const char *name) { return make(out, name, 0, false); }

void *mproc_shm_data(const mproc_shm_t *s) { return s ? s->os.mem : NULL; }
size_t mproc_shm_size(const mproc_shm_t *s) { return s ? s->os.size : 0; }
size_t mproc_shm_mapped_size(const mproc_shm_t *s) { return s ? s->os.mapped : 0; }
const char *mproc_shm_name(const mproc_shm_t *s) { return s ? s->name : NULL; }

int mproc_shm_unlink(mproc_shm_t *s) {
  if (!s)
    return mproc__fail(MPROC_EINVAL, "shm_unlink: segment is NULL");
  return mproc__os_shm_unlink_named(s->name, &s->os);
}

void mproc_shm_close(mproc_shm_t *s) {
  if (!s)
    return;
  mproc__os_shm_close_named(&s->os);
  free(s);
}
