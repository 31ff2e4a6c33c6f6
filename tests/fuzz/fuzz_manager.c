/* A manager's server from a hostile client's side: any sequence of
 * requests, each run by the server's dispatcher exactly as a client
 * thread runs it (with the mutex held; waits do not wait, as in a batch),
 * then the session ends. The input is a list of requests, each a u16
 * length (little-endian) and that many bytes. Nothing may crash or leak;
 * the server frees everything at the end. */
#include <string.h>

#include "../../src/manager/manager_server.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mproc__mgr_serve_opts_t o = {0};
  char local[320], tcp[320];
  mproc__mgr_server_t *s;
  if (mproc__mgr_server_new(&s, &o, local, tcp))
    abort();
  mproc__mgr_session_t *session = calloc(1, sizeof *session);
  session->id = 7;
  session->conns = 1;
  mproc__buf_t out = {0};
  for (size_t at = 0; at + 2 <= size;) {
    size_t n = (size_t)data[at] | (size_t)data[at + 1] << 8;
    at += 2;
    if (n > size - at)
      n = size - at;
    if (n >= MPROC__MGR_REQ_HEAD) {
      mproc__mgr_call_t call = {
          s,    session, {0}, {data + at + MPROC__MGR_REQ_HEAD, n - MPROC__MGR_REQ_HEAD},
          &out, false,   NULL};
      mproc__mgr_get_head(data + at, &call.head);
      out.len = 0;
      mproc__os_mutex_lock(s->mu);
      if (call.head.op != MPROC__OP_SHUTDOWN)
        (void)mproc__mgr_dispatch(&call);
      mproc__os_mutex_unlock(s->mu);
    }
    at += n;
  }
  mproc__os_mutex_lock(s->mu);
  mproc__mgr_session_end(s, session);
  mproc__os_mutex_unlock(s->mu);
  free(session);
  mproc__buf_free(&out);
  mproc__mgr_server_free(s);
  return 0;
}
