/* Typed reads: the one item of a get's reply as a C value, so a read is
 * one call (mproc_dict_get_int ...) instead of get, getter and free. As
 * result functions they also serve inside a batch, written when it runs. */
#include "args/args_tuple.h"
#include "manager/manager_client.h"

typedef enum { AS_INT, AS_DOUBLE, AS_BOOL, AS_STR } as_t;

static const char *const wanted[] = {"an int", "a double", "a bool", "a str"};

/* Reads item 0 of one as `as` says into out (a str: a copy the caller
 * frees with mproc_free). */
static int take(const mproc_args_t *one, as_t as, void *out) {
  const char *s = NULL;
  int rc = as == AS_INT      ? mproc_args_get_int(one, 0, out)
           : as == AS_DOUBLE ? mproc_args_get_double(one, 0, out)
           : as == AS_BOOL   ? mproc_args_get_bool(one, 0, out)
                             : mproc_args_get_str(one, 0, &s);
  if (rc == MPROC_ETYPE)
    return mproc__fail(MPROC_ETYPE, "manager: the value is of type %s, not %s",
                       mproc__args_type_name(mproc_args_type(one, 0)), wanted[as]);
  if (rc || as != AS_STR)
    return rc;
  char *copy = mproc__strdup(s);
  if (!copy)
    return mproc__fail(MPROC_ENOMEM, "manager: out of memory copying a str");
  *(char **)out = copy;
  return 0;
}

static int res_as(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out, as_t as) {
  mproc_args_t *one = NULL;
  int rc = mproc__mgr_res_tuple(cl, b, n, &one);
  if (!rc && mproc_args_count(one) != 1)
    rc = mproc__fail(MPROC_EPROTO, "manager: a reply of %zu items, not one", mproc_args_count(one));
  if (!rc)
    rc = take(one, as, out);
  mproc_args_free(one);
  return rc;
}

int mproc__mgr_res_int(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out) {
  return res_as(cl, b, n, out, AS_INT);
}

int mproc__mgr_res_double(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out) {
  return res_as(cl, b, n, out, AS_DOUBLE);
}

int mproc__mgr_res_bool(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out) {
  return res_as(cl, b, n, out, AS_BOOL);
}

int mproc__mgr_res_str(mproc__mgr_client_t *cl, const unsigned char *b, size_t n, void *out) {
  return res_as(cl, b, n, out, AS_STR);
}
