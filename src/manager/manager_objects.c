/* A manager's objects: the table of them by id, who holds each, and the
 * routing of a call to its kind (manager_containers.c, manager_sync.c,
 * manager_queue_server.c, manager_types.c). Everything here runs with the
 * server's mutex held. */
#include <stdlib.h>
#include <string.h>

#include "manager/manager_server.h"

/* What each kind does: make its state, serve a call, free its state; and
 * what it needs - a condition variable for calls that wait - and does
 * when a process that held it ends (a lock it held is released). Asked
 * of the kind, never of where it sits in mproc_proxy_kind_t. */
typedef struct {
  int (*init)(mproc__mgr_call_t *call, mproc__mgr_obj_t *o);
  int (*call)(mproc__mgr_call_t *call, mproc__mgr_obj_t *o);
  void (*free)(mproc__mgr_obj_t *o);                     /* NULL: nothing to free */
  void (*orphan)(mproc__mgr_obj_t *o, uint64_t session); /* NULL: nothing to undo */
  bool waits;
} kind_ops_t;

static const kind_ops_t containers = {.init = mproc__mgr_container_init,
                                      .call = mproc__mgr_container_call,
                                      .free = mproc__mgr_container_free};
static const kind_ops_t queues = {.init = mproc__mgr_queue_init,
                                  .call = mproc__mgr_queue_call,
                                  .free = mproc__mgr_queue_free,
                                  .waits = true};
static const kind_ops_t customs = {
    .init = mproc__mgr_custom_init, .call = mproc__mgr_custom_call, .free = mproc__mgr_custom_free};
static const kind_ops_t syncs = {.init = mproc__mgr_sync_init,
                                 .call = mproc__mgr_sync_call,
                                 .orphan = mproc__mgr_sync_orphan,
                                 .waits = true};

static const kind_ops_t *ops_of(uint8_t kind) {
  switch (kind) {
  case MPROC_PROXY_DICT:
  case MPROC_PROXY_NAMESPACE:
  case MPROC_PROXY_LIST:
  case MPROC_PROXY_VALUE:
    return &containers;
  case MPROC_PROXY_QUEUE:
  case MPROC_PROXY_JOINABLE_QUEUE:
    return &queues;
  case MPROC_PROXY_CUSTOM:
    return &customs;
  default:
    return &syncs;
  }
}

static void free_object(mproc__mgr_obj_t *o) {
  const kind_ops_t *ops = ops_of(o->kind);
  if (ops->free)
    ops->free(o);
  if (o->cv)
    mproc__os_cond_free(o->cv);
  free(o);
}

/* Frees o once nobody holds it, it is not pinned and no call is inside. */
static void release_if_unused(mproc__mgr_server_t *s, mproc__mgr_obj_t *o) {
  if (o->sessions || o->pinned || o->dead)
    return;
  mproc__u64map_remove(&s->objects, o->id);
  o->dead = true;
  if (!o->inside)
    free_object(o);
}

/* The session holds o from now on (its first call on it, or a new one). */
static int hold(mproc__mgr_session_t *session, mproc__mgr_obj_t *o) {
  if (mproc__u64map_get(&session->refs, o->id))
    return 0;
  int rc = mproc__u64map_put(&session->refs, o->id, o);
  if (!rc)
    o->sessions++;
  return rc;
}

static mproc__mgr_obj_t *find(mproc__mgr_server_t *s, uint64_t id) {
  return mproc__u64map_get(&s->objects, id);
}

static int no_object(uint64_t id) {
  return mproc__fail(MPROC_ENOENT, "manager: no object %llu (every proxy to it was freed)",
                     (unsigned long long)id);
}

int mproc__mgr_reply_value(mproc__mgr_call_t *call, const mproc__blob_t *v) {
  unsigned char one = 0x91; /* a MessagePack array of one item */
  int rc = mproc__buf_reserve(call->out, 1 + v->n);
  if (!rc) {
    mproc__buf_append(call->out, &one, 1);
    mproc__buf_append(call->out, v->b, v->n);
  }
  return rc;
}

typedef struct {
  mproc__mgr_server_t *srv;
  bool check_only;
} pin_t;

/* A proxy stored inside a container: its object must exist, and lives on. */
static int pin(void *ctx, const mproc__mgr_ref_t *ref) {
  pin_t *p = ctx;
  if (ref->nonce != p->srv->nonce)
    return 0; /* another manager's object: stored as it is */
  mproc__mgr_obj_t *o = find(p->srv, ref->id);
  if (!o)
    return no_object(ref->id);
  if (!p->check_only)
    o->pinned = true;
  return 0;
}

int mproc__mgr_take_value(mproc__mgr_call_t *call, const unsigned char *p, size_t n,
                          mproc__blob_t **out) {
  bool has_proxy = (call->head.flags & MPROC__MGR_HAS_PROXY) != 0;
  pin_t ctx = {call->srv, true};
  int rc = has_proxy ? mproc__mgr_each_proxy(p, n, pin, &ctx) : 0;
  if (rc)
    return rc;
  mproc__blob_t *b = mproc__blob_new(p, n);
  if (!b)
    return mproc__fail(MPROC_ENOMEM, "manager: out of memory for a value of %zu bytes", n);
  if (has_proxy) {
    ctx.check_only = false;
    mproc__mgr_each_proxy(p, n, pin, &ctx);
    b->has_proxy = true;
  }
  *out = b;
  return 0;
}

/* ---- manager-level calls ------------------------------------------------- */

/* A new object among the server's, held by the caller's session (freed,
 * with what it holds, when that fails). */
static int adopt(mproc__mgr_call_t *call, mproc__mgr_obj_t *o) {
  int rc = mproc__u64map_put(&call->srv->objects, o->id, o);
  if (rc) {
    free_object(o);
    return rc;
  }
  if ((rc = hold(call->session, o)) != 0) {
    mproc__u64map_remove(&call->srv->objects, o->id);
    free_object(o);
  }
  return rc;
}

static int create(mproc__mgr_call_t *call) {
  mproc__mgr_server_t *s = call->srv;
  uint8_t kind;
  int rc = mproc__mgr_get_u8(&call->in, &kind);
  if (rc)
    return rc;
  if (kind < MPROC_PROXY_DICT || kind > MPROC_PROXY_CUSTOM)
    return mproc__fail(MPROC_EINVAL, "manager: no kind of object numbered %u", kind);
  mproc__mgr_obj_t *o = calloc(1, sizeof *o);
  if (!o)
    return mproc__fail(MPROC_ENOMEM, "manager: out of memory");
  o->kind = kind;
  o->id = ++s->next_id;
  if (ops_of(kind)->waits && (rc = mproc__os_cond_new(&o->cv)) != 0) {
    free(o);
    return rc;
  }
  rc = ops_of(kind)->init(call, o);
  if (rc) { /* init leaves nothing behind when it fails */
    if (o->cv)
      mproc__os_cond_free(o->cv);
    free(o);
    return rc;
  }
  if ((rc = mproc__mgr_get_end(&call->in)) != 0) {
    free_object(o);
    return rc;
  }
  rc = adopt(call, o);
  return rc ? rc : mproc__mgr_put_u64(call->out, o->id);
}

int mproc__mgr_adopt_custom(mproc__mgr_call_t *call, const mproc_manager_type_t *type, void *self) {
  mproc__mgr_obj_t *o = calloc(1, sizeof *o);
  if (!o) {
    if (type->destroy)
      type->destroy(self);
    return mproc__fail(MPROC_ENOMEM, "manager: out of memory");
  }
  o->kind = MPROC_PROXY_CUSTOM;
  o->id = ++call->srv->next_id;
  o->u.custom.type = type;
  o->u.custom.self = self;
  int rc = adopt(call, o);
  if (!rc && !(rc = mproc__mgr_put_u64(call->out, o->id)))
    rc = mproc__mgr_put_u8(call->out, o->kind);
  return rc;
}

static int decref(mproc__mgr_call_t *call) {
  mproc__mgr_obj_t *o = mproc__u64map_remove(&call->session->refs, call->head.id);
  if (o) {
    o->sessions--;
    release_if_unused(call->srv, o);
  }
  return 0;
}

static int read_name(mproc__mgr_call_t *call, const unsigned char **p, size_t *n) {
  int rc = mproc__mgr_get_blob(&call->in, p, n);
  if (!rc && (*n == 0 || *n > 255 || !mproc__utf8_valid(*p, *n) || memchr(*p, 0, *n)))
    rc = mproc__fail(MPROC_EINVAL, "manager: a name must be 1 to 255 bytes of UTF-8");
  return rc ? rc : mproc__mgr_get_end(&call->in);
}

static int publish(mproc__mgr_call_t *call) {
  mproc__mgr_server_t *s = call->srv;
  const unsigned char *name;
  size_t n;
  int rc = read_name(call, &name, &n);
  if (rc)
    return rc;
  mproc__mgr_obj_t *o = find(s, call->head.id);
  if (!o)
    return no_object(call->head.id);
  if (mproc__odict_find(&s->names, name, n) >= 0)
    return mproc__fail(MPROC_EEXIST, "manager: the name '%.*s' is taken", (int)n, name);
  unsigned char id[8];
  mproc__put_u64(id, o->id);
  mproc__blob_t *k = mproc__blob_new(name, n), *v = mproc__blob_new(id, 8);
  if (!k || !v || (rc = mproc__odict_append(&s->names, k, v)) != 0) {
    free(k);
    free(v);
    return rc ? rc : mproc__fail(MPROC_ENOMEM, "manager: out of memory");
  }
  o->pinned = true;
  return 0;
}

static int lookup(mproc__mgr_call_t *call) {
  mproc__mgr_server_t *s = call->srv;
  const unsigned char *name;
  size_t n;
  int rc = read_name(call, &name, &n);
  if (rc)
    return rc;
  long long at = mproc__odict_find(&s->names, name, n);
  mproc__mgr_obj_t *o = at < 0 ? NULL : find(s, mproc__get_u64(s->names.e[at].val->b));
  if (!o)
    return mproc__fail(MPROC_ENOENT, "manager: nothing is published as '%.*s'", (int)n, name);
  if ((rc = hold(call->session, o)) != 0 || (rc = mproc__mgr_put_u64(call->out, o->id)) != 0)
    return rc;
  return mproc__mgr_put_u8(call->out, o->kind);
}

/* Each call of the batch, in order, its reply in a blob of the reply. */
static int batch(mproc__mgr_call_t *call) {
  uint32_t count;
  int rc = mproc__mgr_get_u32(&call->in, &count);
  if (rc)
    return rc;
  if (count > call->in.left / (4 + MPROC__MGR_REQ_HEAD))
    return mproc__fail(MPROC_EPROTO, "manager: a batch of %u calls in %zu bytes", count,
                       call->in.left);
  if ((rc = mproc__mgr_put_u32(call->out, count)) != 0)
    return rc;
  for (uint32_t i = 0; i < count; i++) {
    const unsigned char *req;
    size_t n, at;
    if ((rc = mproc__mgr_get_blob(&call->in, &req, &n)) != 0)
      return rc;
    if (n < MPROC__MGR_REQ_HEAD)
      return mproc__fail(MPROC_EPROTO, "manager: call %u of a batch is cut short", i);
    mproc__mgr_call_t sub = {
        call->srv, call->session, {0}, {req + MPROC__MGR_REQ_HEAD, n - MPROC__MGR_REQ_HEAD},
        call->out, false,         NULL};
    mproc__mgr_get_head(req, &sub.head);
    if ((rc = mproc__mgr_begin_blob(call->out, &at)) != 0 ||
        (rc = mproc__mgr_put_u64(call->out, 0)) != 0) /* seq and status */
      return rc;
    size_t body = call->out->len;
    int status = sub.head.op == MPROC__OP_BATCH || sub.head.op == MPROC__OP_SHUTDOWN
                     ? mproc__fail(MPROC_EINVAL, "manager: a batch cannot hold that call")
                     : mproc__mgr_dispatch(&sub);
    if (status) {
      call->out->len = body;
      const char *detail = mproc_last_error_detail();
      if ((rc = mproc__buf_append(call->out, detail, strlen(detail))) != 0)
        return rc;
    }
    mproc__put_u32(call->out->data + at + 8, (uint32_t)status);
    mproc__mgr_end_blob(call->out, at);
  }
  return mproc__mgr_get_end(&call->in);
}

int mproc__mgr_dispatch(mproc__mgr_call_t *call) {
  switch (call->head.op) {
  case MPROC__OP_CREATE:
    return create(call);
  case MPROC__OP_DECREF:
    return decref(call);
  case MPROC__OP_PUBLISH:
    return publish(call);
  case MPROC__OP_LOOKUP:
    return lookup(call);
  case MPROC__OP_BATCH:
    return batch(call);
  default:
    break;
  }
  mproc__mgr_obj_t *o = find(call->srv, call->head.id);
  if (!o)
    return no_object(call->head.id);
  int rc = hold(call->session, o);
  if (rc)
    return rc;
  o->inside++;
  rc = ops_of(o->kind)->call(call, o);
  o->inside--;
  if (o->dead && !o->inside)
    free_object(o);
  return rc;
}

void mproc__mgr_session_end(mproc__mgr_server_t *s, mproc__mgr_session_t *session) {
  /* Locks first, while every object still exists. */
  for (size_t i = 0; i < s->objects.cap; i++) {
    mproc__mgr_obj_t *o = s->objects.slots[i].val;
    if (s->objects.slots[i].key && ops_of(o->kind)->orphan)
      ops_of(o->kind)->orphan(o, session->id);
  }
  /* Then the references: collect, as freeing changes the objects map. */
  size_t n = 0;
  mproc__mgr_obj_t **held = malloc((session->refs.n + 1) * sizeof *held);
  for (size_t i = 0; held && i < session->refs.cap; i++)
    if (session->refs.slots[i].key)
      held[n++] = session->refs.slots[i].val;
  mproc__u64map_free(&session->refs);
  for (size_t i = 0; i < n; i++) {
    held[i]->sessions--;
    release_if_unused(s, held[i]);
  }
  free(held);
}

void mproc__mgr_wake_all(mproc__mgr_server_t *s) {
  for (size_t i = 0; i < s->objects.cap; i++) {
    mproc__mgr_obj_t *o = s->objects.slots[i].val;
    if (s->objects.slots[i].key && o->cv)
      mproc__os_cond_broadcast(o->cv);
  }
}

void mproc__mgr_objects_free(mproc__mgr_server_t *s) {
  for (size_t i = 0; i < s->objects.cap; i++)
    if (s->objects.slots[i].key)
      free_object(s->objects.slots[i].val);
  mproc__u64map_free(&s->objects);
  mproc__odict_free(&s->names);
}
