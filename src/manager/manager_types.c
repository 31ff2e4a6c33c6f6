/* A manager's registered types (Python's BaseManager.register): objects
 * a C type makes, whose named methods run in the server. */
#include <stdio.h>
#include <string.h>

#include "args/args_objects.h"
#include "manager/manager_server.h"

/* The arguments blob of a create or a call, decoded. */
static int read_args(mproc__mgr_call_t *call, mproc_args_t **args) {
  const unsigned char *p;
  size_t n;
  int rc = mproc__mgr_get_blob(&call->in, &p, &n);
  return rc ? rc : mproc_args_decode(args, p, n);
}

static bool name_is(const char *name, const unsigned char *p, size_t n) {
  return name && strlen(name) == n && memcmp(name, p, n) == 0;
}

int mproc__mgr_custom_init(mproc__mgr_call_t *call, mproc__mgr_obj_t *o) {
  mproc__mgr_server_t *s = call->srv;
  const unsigned char *p;
  size_t n;
  int rc = mproc__mgr_get_blob(&call->in, &p, &n);
  if (rc)
    return rc;
  const mproc_manager_type_t *type = NULL;
  for (size_t i = 0; i < s->ntypes && !type; i++)
    if (name_is(s->types[i].name, p, n))
      type = &s->types[i];
  if (!type)
    return mproc__fail(MPROC_ENOENT, "manager: no registered type '%.*s'", (int)(n > 64 ? 64 : n),
                       p);
  mproc_args_t *args;
  if ((rc = read_args(call, &args)))
    return rc;
  void *self = NULL;
  rc = type->create ? type->create(&self, args) : 0;
  mproc_args_free(args);
  if (rc)
    return rc < 0
               ? mproc__fail(rc, "manager: %s's create failed (%s)", type->name, mproc_err_name(rc))
               : mproc__fail(MPROC_EUNKNOWN, "manager: %s's create returned %d", type->name, rc);
  o->u.custom.type = type;
  o->u.custom.self = self;
  return 0;
}

/* The failure of a method that returned mrc: what it said with
 * mproc_set_error (or what a call of ours that failed inside it said),
 * named after the method; else its code's name. */
static int method_failed(const mproc_manager_type_t *type, const mproc_method_t *m, int mrc) {
  if (mrc > 0)
    return mproc__fail(MPROC_EUNKNOWN, "manager: %s.%s returned %d", type->name, m->name, mrc);
  if (!mproc_last_error_detail()[0])
    return mproc__fail(mrc, "manager: %s.%s failed (%s)", type->name, m->name, mproc_err_name(mrc));
  char name[200];
  snprintf(name, sizeof name, "manager: %s.%s", type->name, m->name);
  mproc__error_prefix(name);
  return mrc;
}

/* While a method called through mproc_proxy_call_object runs (on this
 * thread): its server, and the object it returned, if it did yet. */
static _Thread_local struct {
  mproc__mgr_server_t *srv;
  const mproc_manager_type_t *type;
  void *self;
} returning;

int mproc_method_return_object(const char *typeid, void *self) {
  if (!returning.srv)
    return mproc__fail(MPROC_ESTATE, "method_return_object: only inside a method called "
                                     "with mproc_proxy_call_object");
  if (!typeid)
    return mproc__fail(MPROC_EINVAL, "method_return_object: typeid is NULL");
  if (returning.type)
    return mproc__fail(MPROC_ESTATE, "method_return_object: the method returned an object already");
  const mproc_manager_type_t *type = NULL;
  for (size_t i = 0; i < returning.srv->ntypes && !type; i++)
    if (returning.srv->types[i].name && strcmp(returning.srv->types[i].name, typeid) == 0)
      type = &returning.srv->types[i];
  if (!type)
    return mproc__fail(MPROC_ENOENT, "method_return_object: no registered type '%.64s'", typeid);
  returning.type = type;
  returning.self = self;
  return 0;
}

/* The outcome of method m run for call: a failure (what it returned
 * freed), the result tuple, or the object it returned made the server's. */
static int method_outcome(mproc__mgr_call_t *call, const mproc_manager_type_t *type,
                          const mproc_method_t *m, int mrc, mproc_args_t *result) {
  const mproc_manager_type_t *rtype = returning.type;
  void *rself = returning.self;
  returning.srv = NULL;
  returning.type = NULL;
  returning.self = NULL;
  if (mrc) {
    if (rtype && rtype->destroy)
      rtype->destroy(rself);
    return method_failed(type, m, mrc);
  }
  if (call->head.op == MPROC__OP_CALL)
    return mproc__args_encode_into(result, call->out, NULL);
  if (!rtype)
    return mproc__fail(MPROC_ESTATE,
                       "manager: %s.%s returned no object (it calls mproc_method_return_object "
                       "when called with mproc_proxy_call_object)",
                       type->name, m->name);
  return mproc__mgr_adopt_custom(call, rtype, rself);
}

int mproc__mgr_custom_call(mproc__mgr_call_t *call, mproc__mgr_obj_t *o) {
  if (call->head.op != MPROC__OP_CALL && call->head.op != MPROC__OP_CALL_OBJECT)
    return mproc__fail(MPROC_ETYPE, "manager: call %u does not apply to a registered type",
                       call->head.op);
  const mproc_manager_type_t *type = o->u.custom.type;
  const unsigned char *p;
  size_t n;
  int rc = mproc__mgr_get_blob(&call->in, &p, &n);
  if (rc)
    return rc;
  const mproc_method_t *m = NULL;
  for (size_t i = 0; i < type->nmethods && !m; i++)
    if (name_is(type->methods[i].name, p, n))
      m = &type->methods[i];
  if (!m || !m->fn)
    return mproc__fail(MPROC_ENOENT, "manager: %s has no method '%.*s'", type->name,
                       (int)(n > 64 ? 64 : n), p);
  mproc_args_t *args, *result = NULL;
  if ((rc = read_args(call, &args)))
    return rc;
  if ((rc = mproc__mgr_get_end(&call->in)) == 0 && (rc = mproc_args_new(&result)) == 0) {
    mproc_set_error(0, NULL); /* what the method says, if it fails, is its own */
    returning.srv = call->head.op == MPROC__OP_CALL_OBJECT ? call->srv : NULL;
    int mrc = m->fn(o->u.custom.self, args, result);
    rc = method_outcome(call, type, m, mrc, result);
  }
  mproc_args_free(result);
  mproc_args_free(args);
  return rc;
}

void mproc__mgr_custom_free(mproc__mgr_obj_t *o) {
  if (o->u.custom.type && o->u.custom.type->destroy)
    o->u.custom.type->destroy(o->u.custom.self);
}
