/* Listener and Client: Python's multiprocessing.connection.Listener/Client.
 *
 * With an authentication key both sides prove they know it before any user
 * data crosses, by a mutual challenge-response (as Python since 3.12, with
 * HMAC-SHA256 only): each side sends "#CHALLENGE#" and 32 random bytes, the
 * other answers HMAC-SHA256(key, those bytes), and the challenger answers
 * "#WELCOME#" or "#FAILURE#". Handshake messages are limited in size and
 * time, so garbage or silence from a peer cannot make a listener allocate
 * much or wait forever; the peer is disconnected and accept reports it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connection/connection_internal.h"
#include "core/internal.h"

#define CHALLENGE "#CHALLENGE#"
#define WELCOME "#WELCOME#"
#define FAILURE "#FAILURE#"
enum { NONCE = 32, HANDSHAKE_MAX = 256, HANDSHAKE_MS = 10000 };

struct mproc_listener {
  mproc__os_listener_t *os;
  char address[300];
  unsigned char *authkey;
  size_t authkey_len;
  int handshake_ms;
};

/* Splits a tcp address "host:port" (the last colon; "[v6]" brackets
 * allowed) into a's host and port, checking the port is 0 to 65535. */
static int split_host_port(const char *where, mproc__addr_t *a) {
  const char *colon = strrchr(where, ':');
  if (!colon || colon == where || !colon[1])
    return mproc__fail(MPROC_EINVAL, "tcp address '%s': expected host:port", where);
  size_t n = (size_t)(colon - where);
  const char *host = where;
  if (host[0] == '[' && n >= 2 && host[n - 1] == ']') {
    host++;
    n -= 2;
  }
  if (n >= sizeof a->host)
    return mproc__fail(MPROC_EINVAL, "tcp address '%s': host too long", where);
  const char *port = colon + 1;
  size_t digits = strlen(port);
  long value = 0;
  for (size_t i = 0; i < digits && value <= 65535; i++)
    value = port[i] >= '0' && port[i] <= '9' ? value * 10 + (port[i] - '0') : 65536;
  if (digits == 0 || digits > 5 || value > 65535)
    return mproc__fail(MPROC_EINVAL, "tcp address '%s': port '%s' is not 0 to 65535", where, port);
  memcpy(a->host, host, n);
  a->host[n] = '\0';
  snprintf(a->port, sizeof a->port, "%u", (unsigned)(value & 0xffff));
  return 0;
}

static int parse(const char *address, mproc__addr_t *a) {
  memset(a, 0, sizeof *a);
  if (!address)
    return mproc__fail(MPROC_EINVAL, "address is NULL");
  if (strncmp(address, "unix:", 5) == 0)
    a->kind = MPROC__ADDR_UNIX, a->where = address + 5;
  else if (strncmp(address, "pipe:", 5) == 0)
    a->kind = MPROC__ADDR_PIPE, a->where = address + 5;
  else if (strncmp(address, "tcp:", 4) == 0)
    a->kind = MPROC__ADDR_TCP, a->where = address + 4;
  else
    return mproc__fail(MPROC_EINVAL, "address '%s': expected unix:, pipe: or tcp:", address);
  return a->kind == MPROC__ADDR_TCP ? split_host_port(a->where, a) : 0;
}

/* Sends a challenge and checks the answer; tells the peer the verdict. */
static int challenge(mproc_conn_t *c, const unsigned char *key, size_t keylen, int64_t deadline) {
  unsigned char msg[sizeof CHALLENGE - 1 + NONCE], want[32];
  memcpy(msg, CHALLENGE, sizeof CHALLENGE - 1);
  int rc = mproc__os_random(msg + sizeof CHALLENGE - 1, NONCE);
  if (!rc)
    rc = mproc__os_hmac_sha256(key, keylen, msg + sizeof CHALLENGE - 1, NONCE, want);
  if (!rc)
    rc = mproc_conn_send_bytes(c, msg, sizeof msg);
  if (rc)
    return rc;
  unsigned char got[HANDSHAKE_MAX];
  size_t len = 0;
  rc = mproc__conn_recv_by(c, got, sizeof got, &len, deadline);
  /* Compare in constant time: how much matched must not leak. */
  unsigned diff = rc != 0 || len != sizeof want;
  for (size_t i = 0; i < sizeof want; i++)
    diff |= (unsigned)(got[i] ^ want[i]) * (len == sizeof want);
  if (diff) {
    mproc_conn_send_bytes(c, FAILURE, sizeof FAILURE - 1);
    return mproc__fail(MPROC_EAUTH, "authentication: the peer does not know the key%s",
                       rc ? " (it did not answer the challenge)" : "");
  }
  return mproc_conn_send_bytes(c, WELCOME, sizeof WELCOME - 1);
}

/* Answers a challenge and reads the verdict. */
static int answer(mproc_conn_t *c, const unsigned char *key, size_t keylen, int64_t deadline) {
  unsigned char msg[HANDSHAKE_MAX], mac[32];
  size_t len = 0;
  int rc = mproc__conn_recv_by(c, msg, sizeof msg, &len, deadline);
  if (rc == MPROC_EEOF)
    /* Closed before a word: a listener going away (its process was just
     * killed, say), not a key that failed. */
    return mproc__fail(MPROC_ECLOSED, "the listener closed the connection before the handshake");
  if (rc || len != sizeof CHALLENGE - 1 + NONCE || memcmp(msg, CHALLENGE, sizeof CHALLENGE - 1))
    return mproc__fail(MPROC_EAUTH, "authentication: no valid challenge from the peer");
  if ((rc = mproc__os_hmac_sha256(key, keylen, msg + sizeof CHALLENGE - 1, NONCE, mac)) ||
      (rc = mproc_conn_send_bytes(c, mac, sizeof mac)))
    return rc;
  rc = mproc__conn_recv_by(c, msg, sizeof msg, &len, deadline);
  if (rc || len != sizeof WELCOME - 1 || memcmp(msg, WELCOME, sizeof WELCOME - 1))
    return mproc__fail(MPROC_EAUTH, "authentication: the peer refused our key");
  return 0;
}

bool mproc__is_challenge(const void *msg, size_t len) {
  return len == sizeof CHALLENGE - 1 + NONCE && memcmp(msg, CHALLENGE, sizeof CHALLENGE - 1) == 0;
}

/* Both directions; the listener challenges first. One deadline for the
 * whole exchange: a peer that stalls, or drips a byte at a time, is
 * dropped when it passes. A listener that did not finish in time is a
 * timeout to its client (stopped, or overloaded: the key may be right);
 * a client that did not is a peer that broke off to the listener. */
int mproc__handshake(mproc_conn_t *c, const unsigned char *key, size_t keylen, bool server,
                     int64_t deadline) {
  int rc = server ? challenge(c, key, keylen, deadline) : answer(c, key, keylen, deadline);
  if (!rc)
    rc = server ? answer(c, key, keylen, deadline) : challenge(c, key, keylen, deadline);
  bool late = rc == MPROC_ETIMEDOUT || (rc == MPROC_EAUTH && mproc__remaining_ms(deadline) == 0);
  if (!server && late)
    rc = mproc__fail(MPROC_ETIMEDOUT, "authentication: the listener did not finish the "
                                      "handshake in time");
  else if (rc == MPROC_ETOOBIG || rc == MPROC_EPROTO || rc == MPROC_EEOF || rc == MPROC_ETIMEDOUT)
    rc = mproc__fail(MPROC_EAUTH, "authentication: the peer broke off the handshake");
  return rc;
}

/* What both ends check before touching the OS: an out pointer, a key with
 * its length, a handshake deadline that is not negative, an address that
 * parses. */
static int check_endpoint(const char *op, const void *out, const char *address, const void *key,
                          size_t keylen, int handshake_timeout_ms, mproc__addr_t *addr) {
  if (!out)
    return mproc__fail(MPROC_EINVAL, "%s: out is NULL", op);
  if (keylen && !key)
    return mproc__fail(MPROC_EINVAL, "%s: authkey is NULL", op);
  if (handshake_timeout_ms < 0)
    return mproc__fail(MPROC_EINVAL, "%s: a negative handshake timeout", op);
  return parse(address, addr);
}

int mproc_listener_new(mproc_listener_t **out, const char *address,
                       const mproc_listener_opts_t *opts) {
  mproc_listener_opts_t defaults = {0};
  if (!opts)
    opts = &defaults;
  if (MPROC__CHECK_RESERVED("listener_new", opts))
    return MPROC_EINVAL;
  if (opts->backlog < 0)
    return mproc__fail(MPROC_EINVAL, "listener_new: a negative backlog");
  mproc__addr_t addr;
  int rc = check_endpoint("listener_new", out, address, opts->authkey, opts->authkey_len,
                          opts->handshake_timeout_ms, &addr);
  if (rc)
    return rc;
  mproc_listener_t *l = calloc(1, sizeof *l);
  if (!l)
    return mproc__fail(MPROC_ENOMEM, "listener_new: out of memory");
  if (opts->authkey_len) {
    l->authkey = malloc(opts->authkey_len);
    if (!l->authkey) {
      free(l);
      return mproc__fail(MPROC_ENOMEM, "listener_new: out of memory");
    }
    memcpy(l->authkey, opts->authkey, opts->authkey_len);
    l->authkey_len = opts->authkey_len;
    l->handshake_ms = opts->handshake_timeout_ms;
  }
  rc = mproc__os_listen(&l->os, &addr, opts->backlog, l->address, sizeof l->address);
  if (rc) {
    mproc_listener_free(l);
    return rc;
  }
  *out = l;
  return 0;
}

const char *mproc_listener_address(const mproc_listener_t *l) { return l ? l->address : ""; }

int mproc__listener_accept_raw(mproc_listener_t *l, mproc_conn_t **out, int timeout_ms) {
  mproc__os_conn_t *os;
  int rc = mproc__os_accept(l->os, timeout_ms, &os);
  return rc ? rc : mproc__conn_from_handle_os(out, os);
}

int mproc__listener_authenticate(mproc_listener_t *l, mproc_conn_t *c) {
  int ms = l->handshake_ms > 0 ? l->handshake_ms : HANDSHAKE_MS;
  return l->authkey ? mproc__handshake(c, l->authkey, l->authkey_len, true, mproc__deadline(ms))
                    : 0;
}

int mproc_listener_accept(mproc_listener_t *l, mproc_conn_t **out, int timeout_ms) {
  if (!l || !out)
    return mproc__fail(MPROC_EINVAL, "listener_accept: %s is NULL", l ? "out" : "listener");
  int rc = mproc__check_timeout("listener_accept", timeout_ms);
  mproc_conn_t *c;
  if (rc || (rc = mproc__listener_accept_raw(l, &c, timeout_ms)))
    return rc;
  if ((rc = mproc__listener_authenticate(l, c))) {
    mproc_conn_free(c); /* the peer is disconnected; the listener goes on */
    return rc;
  }
  *out = c;
  return 0;
}

int mproc__client_connect_by(mproc_conn_t **out, const char *address, const void *key,
                             size_t keylen, int64_t deadline) {
  mproc__addr_t addr;
  int rc = check_endpoint("client_connect", out, address, key, keylen, 0, &addr);
  mproc__os_conn_t *os;
  if (rc || (rc = mproc__os_connect(&addr, deadline, &os)))
    return rc;
  mproc_conn_t *c;
  if ((rc = mproc__conn_from_handle_os(&c, os)))
    return rc;
  if (keylen && (rc = mproc__handshake(c, key, keylen, false, deadline))) {
    mproc_conn_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

int mproc_client_connect(mproc_conn_t **out, const char *address, const mproc_client_opts_t *opts) {
  mproc_client_opts_t defaults = {0};
  if (!opts)
    opts = &defaults;
  if (MPROC__CHECK_RESERVED("client_connect", opts))
    return MPROC_EINVAL;
  if (opts->handshake_timeout_ms < 0)
    return mproc__fail(MPROC_EINVAL, "client_connect: a negative handshake timeout");
  int ms = opts->handshake_timeout_ms ? opts->handshake_timeout_ms : HANDSHAKE_MS;
  return mproc__client_connect_by(out, address, opts->authkey, opts->authkey_len,
                                  mproc__deadline(ms));
}

void mproc_listener_free(mproc_listener_t *l) {
  if (!l)
    return;
  mproc__os_listener_free(l->os);
  free(l->authkey);
  free(l);
}
