/* A manager's server: listeners, a thread per client connection, the
 * client's session, and stopping it all on request.
 *
 * Each listener has an accepting thread that only accepts; the client's
 * own thread runs the handshake, so a peer that connects and stays silent
 * holds up no one else, and the handshake's own deadline ends it.
 *
 * A session is a client process: what it holds lives as long as the
 * process, not as long as one of its connections. A connection breaks for
 * reasons that are not the process's end - the client gave up on a slow
 * call and dropped it, the server hung up on a bad request - and the
 * process reconnects with the same session. So when a session's last
 * connection closes it becomes an orphan: a process of this machine is
 * looked at by its pid (within milliseconds at first, for a lock's holder
 * that died must pass it on promptly, then less often) and its session
 * ends when the process has; a process elsewhere (a tcp: client) cannot be
 * looked at, and its session ends REMOTE_LINGER_MS after its last
 * connection closed unless it reconnects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connection/connection_internal.h"
#include "manager/manager_lane.h"
#include "manager/manager_server.h"

enum {
  HELLO_MS = 10000,
  ACCEPT_POLL_MS = 200,
  REMOTE_LINGER_MS = 60000,
  ORPHAN_FIRST_LOOK_MS = 1,
  ORPHAN_LOOK_MAX_MS = 200,
  STOP_LOOK_MS = 50 /* how often the serving loop looks for mproc_manager_stop_serving */
};
#define DEFAULT_MAX_MESSAGE ((size_t)256 << 20)

typedef struct client {
  mproc__mgr_server_t *srv;
  mproc_listener_t *via;
  mproc_conn_t *conn;
  mproc__mgr_lane_t *lane; /* set under the mutex; NULL: calls come on conn */
  mproc__os_thread_t *thread;
  bool done; /* its thread has finished (under the mutex) */
  struct client *next;
} client_t;

typedef struct {
  mproc__mgr_server_t *srv;
  mproc_listener_t *listener;
  mproc__os_thread_t *thread;
} acceptor_t;

struct mproc__mgr_net {
  acceptor_t acceptors[2];
  size_t nacceptors;
  client_t *clients;             /* under the mutex */
  mproc__mgr_session_t *orphans; /* sessions with no connection, under the mutex */
  mproc__os_cond_t *stop_cv;
};

/* ---- one client ---------------------------------------------------------- */

/* A lane for a client that asked, on a local listener (a tcp: peer is
 * elsewhere); NULL when none can be made here. */
static mproc__mgr_lane_t *offer_lane(client_t *cl, bool asked, intptr_t *h, size_t *n) {
  mproc__mgr_lane_t *lane;
  if (!asked || strncmp(mproc_listener_address(cl->via), "tcp:", 4) == 0 ||
      mproc__mgr_lane_new(&lane, h, n) != 0)
    return NULL;
  return lane;
}

static int hello(client_t *cl, uint64_t *session, int64_t *pid) {
  unsigned char msg[MPROC__MGR_WELCOME];
  size_t len;
  mproc__mgr_greeting_t g;
  int rc = mproc_conn_recv_bytes_into(cl->conn, msg, sizeof msg, &len, HELLO_MS);
  if (rc)
    return rc;
  if (!mproc__mgr_greeting_get(msg, len, false, &g))
    return mproc__fail(MPROC_EPROTO, "manager: the peer is not a manager client");
  if (g.version != MPROC__MGR_VERSION)
    return mproc__fail(MPROC_EPROTO, "manager: protocol version %u, not %u", g.version,
                       MPROC__MGR_VERSION);
  *session = g.id;
  *pid = g.pid;
  if (!*session)
    return mproc__fail(MPROC_EPROTO, "manager: session 0");
  intptr_t h[MPROC__MGR_LANE_HANDLES];
  size_t n = 0;
  mproc__mgr_lane_t *lane = offer_lane(cl, g.flags & MPROC__MGR_LANE, h, &n);
  mproc__mgr_greeting_t welcome = {.version = MPROC__MGR_VERSION,
                                   .flags = lane ? MPROC__MGR_LANE : 0,
                                   .id = cl->srv->nonce,
                                   .pid = mproc__os_getpid(),
                                   .max_message = cl->srv->max_message};
  rc = mproc_conn_send_bytes(cl->conn, msg, mproc__mgr_greeting_put(msg, &welcome, true));
  if (lane) {
    if (!rc)
      rc = mproc__os_conn_send_handles(mproc__conn_os(cl->conn), NULL, h, n);
    for (size_t i = 0; i < n; i++)
      mproc__os_close_handle(h[i]);
    mproc__os_mutex_lock(cl->srv->mu);
    cl->lane = lane; /* freed with cl, after this thread */
    mproc__os_mutex_unlock(cl->srv->mu);
  }
  return rc;
}

/* ---- sessions ------------------------------------------------------------ */

/* The session id names, made on its first connection (start: the
 * process's start token, read outside the mutex). A returning orphan is
 * one again; the sweep takes it off the orphan list. */
static mproc__mgr_session_t *join_session(mproc__mgr_server_t *s, uint64_t id, int64_t pid,
                                          bool local, uint32_t start) {
  mproc__mgr_session_t *se = mproc__u64map_get(&s->sessions, id);
  if (!se) {
    if (!(se = calloc(1, sizeof *se)))
      return NULL;
    se->id = id;
    se->pid = pid;
    se->local = local && pid > 0 && pid <= (int64_t)UINT32_MAX;
    se->start = start;
    if (mproc__u64map_put(&s->sessions, id, se)) {
      free(se);
      return NULL;
    }
  }
  se->conns++;
  return se;
}

static bool process_ended(const mproc__mgr_session_t *se) {
  return se->local && mproc__os_process_gone((uint32_t)se->pid, se->start);
}

static void end_session(mproc__mgr_server_t *s, mproc__mgr_session_t *se) {
  mproc__u64map_remove(&s->sessions, se->id);
  mproc__mgr_session_end(s, se);
  free(se);
}

/* The session's last connection closed: it ends now if its process has,
 * else it waits for its process's end (or, elsewhere, a while). */
static void leave_session(mproc__mgr_server_t *s, mproc__mgr_session_t *se) {
  if (--se->conns > 0)
    return;
  if (!se->orphan_since && process_ended(se)) {
    end_session(s, se);
    return;
  }
  int64_t now = mproc__os_now_ms();
  se->look_at = now + (se->local ? ORPHAN_FIRST_LOOK_MS : REMOTE_LINGER_MS);
  if (!se->orphan_since) {
    se->next_orphan = s->net->orphans;
    s->net->orphans = se;
  }
  se->orphan_since = now;
}

/* A local session just orphaned: its process is most likely dying, and a
 * dying process's connections close before the kernel marks it ended. So
 * look a few times now (1, 2, 4 ... 64 ms), to pass its locks on within
 * milliseconds; the sweep takes over after. Under the mutex. */
static void watch_orphan(mproc__mgr_server_t *s, uint64_t id) {
  for (int wait = 1; wait <= 64 && !s->stopping; wait *= 2) {
    mproc__mgr_session_t *se = mproc__u64map_get(&s->sessions, id);
    if (!se || se->conns || !se->orphan_since || !se->local)
      return;
    if (process_ended(se)) {
      for (mproc__mgr_session_t **p = &s->net->orphans; *p; p = &(*p)->next_orphan)
        if (*p == se) {
          *p = se->next_orphan;
          break;
        }
      end_session(s, se);
      return;
    }
    mproc__os_cond_wait(s->net->stop_cv, s->mu, wait);
  }
}

/* Ends the orphans whose process has ended (or whose time is up); returns
 * how many ms until one must be looked at again (-1: none). A process
 * still running is looked at again after as long as it has been an
 * orphan, from 1 ms up to ORPHAN_LOOK_MAX_MS. Under the mutex. */
static int sweep_orphans(mproc__mgr_server_t *s) {
  int64_t now = mproc__os_now_ms(), next = -1;
  for (mproc__mgr_session_t **p = &s->net->orphans; *p;) {
    mproc__mgr_session_t *se = *p;
    bool back = se->conns > 0;
    if (back || (now >= se->look_at && (!se->local || process_ended(se)))) {
      *p = se->next_orphan;
      se->orphan_since = 0;
      if (!back)
        end_session(s, se);
      continue;
    }
    if (now >= se->look_at) {
      int64_t age = now - se->orphan_since;
      se->look_at = now + (age < 1 ? 1 : age > ORPHAN_LOOK_MAX_MS ? ORPHAN_LOOK_MAX_MS : age);
    }
    if (next < 0 || se->look_at - now < next)
      next = se->look_at - now;
    p = &se->next_orphan;
  }
  return next > INT32_MAX ? INT32_MAX : (int)next;
}

/* Reads the next request into *buf (grown as needed); over the limit the
 * connection skipped it, and the caller hangs up. */
static int next_request(client_t *cl, unsigned char **buf, size_t *cap, size_t *len) {
  if (cl->lane)
    return mproc__mgr_lane_next(cl->lane, cl->conn, buf, cap, len, cl->srv->max_message);
  mproc__mgr_spin_readable(cl->conn, MPROC__MGR_SPIN_US);
  return mproc__mgr_recv(cl->conn, buf, cap, len, cl->srv->max_message, MPROC_INFINITE);
}

/* Sends a call's reply: whether it reached the client. Through a lane a
 * NOREPLY call is answered too (empty: the client learns that the lane is
 * its own again), and a reply that hands over a lock counts as delivered
 * only once the client read it: one that gave up waiting closed the
 * connection without, as a send on the connection would find - and one
 * that read it and ended at once holds the lock, and passes it on as
 * abandoned. */
static bool reply(client_t *cl, const mproc__mgr_call_t *call, const mproc__buf_t *out) {
  bool noreply = call->head.flags & MPROC__MGR_NOREPLY;
  if (!cl->lane)
    return noreply || mproc_conn_send_bytes(cl->conn, out->data, out->len) == 0;
  if (mproc__mgr_lane_reply(cl->lane, cl->conn, out->data, noreply ? 0 : out->len) != 0)
    return false;
  return !call->granted || mproc__mgr_lane_taken(cl->lane, cl->conn);
}

static void serve_client(void *arg) {
  client_t *cl = arg;
  mproc__mgr_server_t *s = cl->srv;
  uint64_t sid = 0;
  int64_t pid = 0;
  mproc__mgr_session_t *se = NULL;
  size_t cap = 4096, len = 0;
  unsigned char *req = malloc(cap);
  mproc__buf_t out = {0};
  mproc_conn_set_max_message(cl->conn, s->max_message);
  /* One thread serves this connection for its life: it reads ahead, once
   * the lane's handle (which a read ahead would drop) has gone. */
  if (!req || mproc__listener_authenticate(cl->via, cl->conn) || hello(cl, &sid, &pid) ||
      mproc__conn_read_ahead(cl->conn))
    goto done;
  bool local = strncmp(mproc_listener_address(cl->via), "tcp:", 4) != 0;
  uint32_t start = local && pid > 0 && pid <= (int64_t)UINT32_MAX
                       ? (uint32_t)mproc__os_process_start_token((uint32_t)pid)
                       : 0;
  mproc__os_mutex_lock(s->mu);
  se = join_session(s, sid, pid, local, start);
  mproc__os_mutex_unlock(s->mu);
  while (se && next_request(cl, &req, &cap, &len) == 0) {
    if (len < MPROC__MGR_REQ_HEAD)
      break; /* not our protocol: hang up */
    mproc__mgr_call_t call = {
        s, se, {0}, {req + MPROC__MGR_REQ_HEAD, len - MPROC__MGR_REQ_HEAD}, &out, true, NULL};
    mproc__mgr_get_head(req, &call.head);
    out.len = 0;
    if (mproc__buf_reserve(&out, 256))
      break;
    out.len = MPROC__MGR_REP_HEAD;
    bool shutdown = call.head.op == MPROC__OP_SHUTDOWN;
    mproc__os_mutex_lock(s->mu);
    int rc = shutdown ? 0 : mproc__mgr_dispatch(&call);
    if (!rc && out.len > s->max_message) /* sent, it would break the connection */
      rc = mproc__fail(MPROC_ETOOBIG,
                       "manager: the reply of %zu bytes is above the manager's limit of %zu "
                       "(max_message)",
                       out.len, s->max_message);
    mproc__os_mutex_unlock(s->mu);
    if (rc) {
      const char *detail = mproc_last_error_detail();
      out.len = MPROC__MGR_REP_HEAD;
      mproc__buf_append(&out, detail, strlen(detail));
    }
    mproc__put_u32(out.data, call.head.seq);
    mproc__put_u32(out.data + 4, (uint32_t)rc);
    bool sent = reply(cl, &call, &out);
    if (!sent && call.granted) { /* nobody learns it holds the lock: give it back */
      mproc__os_mutex_lock(s->mu);
      mproc__mgr_sync_undo(&call);
      mproc__os_mutex_unlock(s->mu);
    }
    if (shutdown) {
      mproc__os_mutex_lock(s->mu);
      s->stopping = true;
      mproc__mgr_wake_all(s);
      mproc__os_cond_broadcast(s->net->stop_cv);
      mproc__os_mutex_unlock(s->mu);
    }
    if (!sent)
      break;
  }
done:
  free(req);
  mproc__buf_free(&out);
  mproc__os_mutex_lock(s->mu);
  if (se) {
    leave_session(s, se);
    watch_orphan(s, sid);
  }
  cl->done = true;
  mproc__os_mutex_unlock(s->mu);
}

/* ---- accepting ----------------------------------------------------------- */

static void free_client(client_t *cl) {
  mproc__os_thread_join(cl->thread);
  mproc__mgr_lane_free(cl->lane);
  mproc_conn_free(cl->conn);
  free(cl);
}

/* Joins the threads of clients that have gone. */
static void reap(mproc__mgr_server_t *s) {
  client_t *gone = NULL;
  mproc__os_mutex_lock(s->mu);
  for (client_t **p = &s->net->clients; *p;) {
    client_t *cl = *p;
    if (cl->done) {
      *p = cl->next;
      cl->next = gone;
      gone = cl;
    } else {
      p = &cl->next;
    }
  }
  mproc__os_mutex_unlock(s->mu);
  while (gone) {
    client_t *next = gone->next;
    free_client(gone);
    gone = next;
  }
}

static void accept_loop(void *arg) {
  acceptor_t *a = arg;
  mproc__mgr_server_t *s = a->srv;
  int poll_ms = ACCEPT_POLL_MS;
  while (!s->stopping) {
    mproc_conn_t *c;
    int rc = mproc__listener_accept_raw(a->listener, &c, poll_ms);
    reap(s);
    mproc__os_mutex_lock(s->mu);
    int due = sweep_orphans(s);
    mproc__os_mutex_unlock(s->mu);
    poll_ms = due >= 0 && due < ACCEPT_POLL_MS ? (due < 1 ? 1 : due) : ACCEPT_POLL_MS;
    if (rc == MPROC_ETIMEDOUT)
      continue;
    client_t *cl = rc ? NULL : calloc(1, sizeof *cl);
    if (!cl) {
      if (!rc)
        mproc_conn_free(c);
      mproc__os_mutex_lock(s->mu); /* out of descriptors or memory: let it pass */
      if (!s->stopping)
        mproc__os_cond_wait(s->net->stop_cv, s->mu, 10);
      mproc__os_mutex_unlock(s->mu);
      continue;
    }
    cl->srv = s;
    cl->via = a->listener;
    cl->conn = c;
    mproc__os_mutex_lock(s->mu);
    rc = s->stopping ? MPROC_ECLOSED : mproc__os_thread_start(&cl->thread, serve_client, cl);
    if (!rc) {
      cl->next = s->net->clients;
      s->net->clients = cl;
    }
    mproc__os_mutex_unlock(s->mu);
    if (rc) {
      mproc_conn_free(c);
      free(cl);
    }
  }
}

/* Ends an acceptor's wait for a connection now, not at its next poll: by
 * connecting to its listener (a wildcard address is reached at loopback). */
static void wake_acceptor(acceptor_t *a) {
  char address[340];
  const char *bound = mproc_listener_address(a->listener);
  const char *port = strrchr(bound, ':');
  snprintf(address, sizeof address, "%s", bound);
  if (strncmp(bound, "tcp:", 4) == 0 && port) {
    size_t hostlen = (size_t)(port - bound - 4);
    const char *host = bound + 4;
    if ((hostlen == 7 && strncmp(host, "0.0.0.0", 7) == 0) || hostlen == 0)
      snprintf(address, sizeof address, "tcp:127.0.0.1%s", port);
    else if ((hostlen == 2 && strncmp(host, "::", 2) == 0) ||
             (hostlen == 4 && strncmp(host, "[::]", 4) == 0))
      snprintf(address, sizeof address, "tcp:[::1]%s", port);
  }
  mproc_conn_t *c;
  if (mproc_client_connect(&c, address, NULL) == 0)
    mproc_conn_free(c);
}

/* ---- the server ---------------------------------------------------------- */

static int add_listener(mproc__mgr_server_t *s, const char *address,
                        const mproc__mgr_serve_opts_t *o, char *bound) {
  acceptor_t *a = &s->net->acceptors[s->net->nacceptors];
  mproc_listener_opts_t lo = {.authkey = o->authkey, .authkey_len = o->authkey_len};
  int rc = mproc_listener_new(&a->listener, address, &lo);
  if (rc)
    return rc;
  snprintf(bound, 320, "%s", mproc_listener_address(a->listener));
  a->srv = s;
  s->net->nacceptors++;
  return 0;
}

int mproc__mgr_server_new(mproc__mgr_server_t **out, const mproc__mgr_serve_opts_t *o, char *local,
                          char *tcp) {
  mproc__mgr_server_t *s = calloc(1, sizeof *s);
  if (!s || !(s->net = calloc(1, sizeof *s->net))) {
    free(s);
    return mproc__fail(MPROC_ENOMEM, "manager: out of memory");
  }
  local[0] = tcp[0] = '\0';
  s->types = o->types;
  s->ntypes = o->ntypes;
  s->max_message = o->max_message ? o->max_message : DEFAULT_MAX_MESSAGE;
  int rc = mproc__os_random(&s->nonce, sizeof s->nonce);
  if (!rc)
    rc = mproc__os_mutex_new(&s->mu);
  if (!rc)
    rc = mproc__os_cond_new(&s->net->stop_cv);
  if (!rc && o->address)
    rc = add_listener(s, o->address, o, local);
  if (!rc && o->tcp_address)
    rc = add_listener(s, o->tcp_address, o, tcp);
  for (size_t i = 0; !rc && i < s->net->nacceptors; i++)
    rc = mproc__os_thread_start(&s->net->acceptors[i].thread, accept_loop, &s->net->acceptors[i]);
  if (rc) {
    s->stopping = true;
    mproc__mgr_server_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void mproc__mgr_server_run(mproc__mgr_server_t *s, atomic_bool *stop) {
  mproc__os_mutex_lock(s->mu);
  while (!s->stopping && !atomic_load(stop))
    mproc__os_cond_wait(s->net->stop_cv, s->mu, STOP_LOOK_MS);
  mproc__os_mutex_unlock(s->mu);
}

void mproc__mgr_server_free(mproc__mgr_server_t *s) {
  if (!s)
    return;
  s->stopping = true;
  struct mproc__mgr_net *net = s->net;
  for (size_t i = 0; i < net->nacceptors; i++)
    if (net->acceptors[i].thread)
      wake_acceptor(&net->acceptors[i]);
  for (size_t i = 0; i < net->nacceptors; i++) {
    if (net->acceptors[i].thread)
      mproc__os_thread_join(net->acceptors[i].thread);
    mproc_listener_free(net->acceptors[i].listener);
  }
  if (s->mu) {
    /* No new clients now; wake the waiting and break every connection. */
    mproc__os_mutex_lock(s->mu);
    mproc__mgr_wake_all(s);
    for (client_t *cl = net->clients; cl; cl = cl->next) {
      mproc__conn_cancel(cl->conn);
      if (cl->lane)
        mproc__mgr_lane_close(cl->lane);
    }
    mproc__os_mutex_unlock(s->mu);
  }
  while (net->clients) {
    client_t *next = net->clients->next;
    free_client(net->clients);
    net->clients = next;
  }
  for (size_t i = 0; i < s->sessions.cap; i++)
    if (s->sessions.slots[i].key) {
      mproc__mgr_session_t *se = s->sessions.slots[i].val;
      mproc__u64map_free(&se->refs);
      free(se);
    }
  mproc__u64map_free(&s->sessions);
  mproc__mgr_objects_free(s);
  if (net->stop_cv)
    mproc__os_cond_free(net->stop_cv);
  if (s->mu)
    mproc__os_mutex_free(s->mu);
  free(net);
  free(s);
}
