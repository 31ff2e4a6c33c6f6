/* Named SharedMemory (Python's multiprocessing.shared_memory): names are
 * checked here, the same on every platform, and the segment itself is the
 * platform's (mproc__os_shm_*_named). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args/args_objects.h"

/* Reference counted: a tuple that holds one keeps the mapping alive after
 * its creator closed its own reference. */
struct mproc_shm {
  _Atomic int refs;
  bool tracked; /* this process registered the name with its tracker */
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

/* A size a segment can be created with. */
static int check_size(size_t size, const char *op) {
  if (size == 0)
    return mproc__fail(MPROC_EINVAL, "%s: size is 0", op);
  /* More than half the address space is never mapped whole: 2 GiB on a
   * 32-bit system, and far beyond any machine on a 64-bit one. */
  if (size > SIZE_MAX / 2)
    return mproc__fail(MPROC_ERANGE, "%s: %zu bytes is more than this process can map", op, size);
  return 0;
}

static int make(mproc_shm_t **out, const char *name, size_t size, bool create) {
  const char *op = create ? "shm_create" : "shm_open";
  if (!out)
    return mproc__fail(MPROC_EINVAL, "%s: out is NULL", op);
  int rc = create ? check_size(size, op) : 0;
  if (rc)
    return rc;
  rc = create && !name ? 0 : check_name(name, op);
  if (rc)
    return rc;
  mproc_shm_t *s = calloc(1, sizeof *s);
  if (!s)
    return mproc__fail(MPROC_ENOMEM, "%s: out of memory", op);
  atomic_init(&s->refs, 1);
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

/* Registers a segment this call just created with the tracker; on
 * failure the segment is unlinked and closed: tracked, or not made. */
static int track(mproc_shm_t *s) {
  int rc = mproc__os_shm_track(s->name);
  if (rc) {
    mproc__os_shm_unlink_named(s->name, &s->os);
    mproc__os_shm_close_named(&s->os);
    free(s);
    return rc;
  }
  s->tracked = true;
  return 0;
}

int mproc_shm_create(mproc_shm_t **out, const char *name, size_t size) {
  return make(out, name, size, true);
}

int mproc_shm_create_opts(mproc_shm_t **out, const char *name, size_t size,
                          const mproc_shm_opts_t *opts) {
  int rc = opts ? MPROC__CHECK_RESERVED("shm_create", opts) : 0;
  if (rc || (rc = make(out, name, size, true)))
    return rc;
  if (!opts || !opts->track)
    return rc;
  rc = track(*out);
  if (rc)
    *out = NULL;
  return rc;
}

int mproc_shm_create_unnamed(mproc_shm_t **out, size_t size) {
  if (!out)
    return mproc__fail(MPROC_EINVAL, "shm_create_unnamed: out is NULL");
  int rc = check_size(size, "shm_create_unnamed");
  mproc_shm_t *s = rc ? NULL : calloc(1, sizeof *s);
  if (!rc && !s)
    rc = mproc__fail(MPROC_ENOMEM, "shm_create_unnamed: out of memory");
  if (!rc && (rc = mproc__os_shm_create_named(NULL, size, &s->os)) != 0)
    free(s);
  if (rc)
    return rc;
  atomic_init(&s->refs, 1);
  *out = s; /* its name stays "": nothing to unlink, nothing to leak */
  return 0;
}

int mproc_shm_open(mproc_shm_t **out, const char *name) { return make(out, name, 0, false); }

int mproc_shm_open_or_create(mproc_shm_t **out, const char *name, size_t size, bool *created) {
  return mproc_shm_open_or_create_opts(out, name, size, created, NULL);
}

int mproc_shm_open_or_create_opts(mproc_shm_t **out, const char *name, size_t size, bool *created,
                                  const mproc_shm_opts_t *opts) {
  if (created)
    *created = false;
  if (!name)
    return mproc__fail(MPROC_EINVAL, "shm_open_or_create: name is NULL");
  int bad = opts ? MPROC__CHECK_RESERVED("shm_open_or_create", opts) : 0;
  if (bad)
    return bad;
  /* Another process may create or unlink it between the two calls: try
   * again a few times, then give the last answer. */
  int rc = MPROC_ENOENT;
  for (int attempt = 0; attempt < 8; attempt++) {
    rc = make(out, name, size, false);
    if (rc != MPROC_ENOENT)
      return rc;
    rc = make(out, name, size, true);
    if (rc != MPROC_EEXIST) {
      if (rc == 0 && opts && opts->track && (rc = track(*out)) != 0)
        *out = NULL;
      if (rc == 0 && created)
        *created = true;
      return rc;
    }
  }
  return rc;
}

void *mproc_shm_data(const mproc_shm_t *s) { return s ? s->os.mem : NULL; }
size_t mproc_shm_size(const mproc_shm_t *s) { return s ? s->os.size : 0; }
size_t mproc_shm_mapped_size(const mproc_shm_t *s) { return s ? s->os.mapped : 0; }
const char *mproc_shm_name(const mproc_shm_t *s) { return s ? s->name : NULL; }

int mproc_shm_unlink(mproc_shm_t *s) {
  if (!s)
    return mproc__fail(MPROC_EINVAL, "shm_unlink: segment is NULL");
  if (!s->name[0])
    return mproc__fail(MPROC_ENOENT,
                       "shm_unlink: the segment is unnamed (it has no name to remove)");
  int rc = mproc__os_shm_unlink_named(s->name, &s->os);
  /* Unlinked by its creator: the tracker must not unlink the name again
   * later, when it may be another segment's. */
  if (s->tracked) {
    mproc__os_shm_untrack(s->name);
    s->tracked = false;
  }
  return rc;
}

void mproc_shm_close(mproc_shm_t *s) {
  if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
    return;
  mproc__os_shm_close_named(&s->os);
  free(s);
}

/* ---- as an argument: its handle, its size and its name ---------------- */

static int shm_export(const void *obj, intptr_t *h, size_t cap, size_t *n,
                      mproc__object_info_t *info) {
  const mproc_shm_t *s = obj;
  size_t len = strlen(s->name);
  if (cap < 1)
    return MPROC_ERANGE;
  int rc = mproc__info_put(info, s->os.size, 8);
  if (!rc)
    rc = mproc__info_put(info, len, 1);
  for (size_t i = 0; i < len && !rc; i++)
    rc = mproc__info_put(info, (unsigned char)s->name[i], 1);
  if (!rc)
    rc = mproc__os_dup_handle(s->os.handle, &h[0]);
  if (!rc)
    *n = 1;
  return rc;
}

static int shm_import(void **out, const intptr_t *h, size_t n, uint8_t flags,
                      mproc__info_reader_t *info) {
  (void)flags;
  uint64_t size = 0, len = 0, c;
  mproc_shm_t *s = calloc(1, sizeof *s);
  int rc = s ? 0 : mproc__fail(MPROC_ENOMEM, "shm: out of memory");
  if (!rc)
    rc = mproc__info_get(info, 8, &size);
  if (!rc)
    rc = mproc__info_get(info, 1, &len);
  /* len 0: an unnamed segment (mproc_shm_create_unnamed). */
  if (!rc && (len > MPROC_SHM_NAME_MAX || size == 0 || size > SIZE_MAX || n != 1))
    rc = mproc__fail(MPROC_EPROTO, "shm: a bad description");
  for (size_t i = 0; i < len && !rc; i++)
    if ((rc = mproc__info_get(info, 1, &c)) == 0)
      s->name[i] = (char)c;
  if (!rc && len && check_name(s->name, "shm") != 0)
    rc = MPROC_EPROTO;
  if (rc) {
    for (size_t i = 0; i < n; i++)
      mproc__os_close_handle(h[i]);
    free(s);
    return rc;
  }
  atomic_init(&s->refs, 1);
  rc = mproc__os_shm_attach_named(h[0], (size_t)size, &s->os);
  if (rc) {
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

static int shm_hold(void *obj, void **held) {
  atomic_fetch_add(&((mproc_shm_t *)obj)->refs, 1);
  *held = obj;
  return 0;
}

static void shm_release(void *obj) { mproc_shm_close(obj); }

const mproc__object_class_t mproc__shm_class = {MPROC_T_SHM, "shm",       shm_export, shm_import,
                                                shm_hold,    shm_release, false};
MPROC__ARGS_ACCESSORS(shm, mproc_shm_t, mproc__shm_class)
