/* Containers made with contents (Python's m.dict(pairs), m.list(items))
 * and copies of them: a new object, then its contents in one atomic call.
 * A copy reads its source in one call too, so it is a consistent snapshot
 * even while other processes change the source. */
#include "core/internal.h"

/* A new object made by make, filled with contents by fill (one call). */
static int made_with(mproc_manager_t *m, const mproc_args_t *contents, mproc_proxy_t **out,
                     int (*make)(mproc_manager_t *, mproc_proxy_t **),
                     int (*fill)(mproc_proxy_t *, const mproc_args_t *), const char *op) {
  if (out)
    *out = NULL;
  if (!contents || !out)
    return mproc__fail(MPROC_EINVAL, "%s: %s is NULL", op, out ? "contents" : "out");
  mproc_proxy_t *p;
  int rc = make(m, &p);
  if (rc)
    return rc;
  if ((rc = fill(p, contents)) != 0) {
    mproc__error_prefix(op);
    mproc_proxy_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

int mproc_manager_dict_from(mproc_manager_t *m, const mproc_args_t *pairs, mproc_proxy_t **out) {
  return made_with(m, pairs, out, mproc_manager_dict, mproc_dict_update, "manager_dict_from");
}

int mproc_manager_list_from(mproc_manager_t *m, const mproc_args_t *items, mproc_proxy_t **out) {
  return made_with(m, items, out, mproc_manager_list, mproc_list_extend, "manager_list_from");
}

/* A new container of src's manager holding contents (a snapshot of src). */
static int copy_of(mproc_proxy_t *src, mproc_args_t *contents, bool dict, mproc_proxy_t **out) {
  mproc_manager_t *m;
  int rc = mproc_proxy_manager(src, &m);
  if (!rc) {
    rc = dict ? mproc_manager_dict_from(m, contents, out)
              : mproc_manager_list_from(m, contents, out);
    mproc_manager_free(m);
  }
  mproc_args_free(contents);
  return rc;
}

int mproc_dict_copy(mproc_proxy_t *d, mproc_proxy_t **out) {
  if (!out)
    return mproc__fail(MPROC_EINVAL, "dict_copy: out is NULL");
  *out = NULL;
  mproc_args_t *items;
  int rc = mproc_dict_items(d, &items);
  return rc ? rc : copy_of(d, items, true, out);
}

int mproc_list_copy(mproc_proxy_t *l, mproc_proxy_t **out) {
  if (!out)
    return mproc__fail(MPROC_EINVAL, "list_copy: out is NULL");
  *out = NULL;
  mproc_args_t *items;
  int rc = mproc_list_slice(l, 0, INT64_MAX, &items);
  return rc ? rc : copy_of(l, items, false, out);
}
