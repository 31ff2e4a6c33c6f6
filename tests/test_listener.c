/* Listener and Client: unix and tcp addresses, authentication keys, and a
 * listener that keeps serving after a bad peer. Clients are children. */
#ifdef _WIN32
#  include <winsock2.h> /* before windows.h, which test_util.h includes */
#endif

#include "test_util.h"

#ifndef _WIN32
#  include <fcntl.h>
#endif

#ifndef _WIN32
#  include <arpa/inet.h>
#  include <netinet/in.h>
#  include <sys/socket.h>
#  include <sys/stat.h>
#endif

/* A client: args = (address, key or nil, garbage?). Sends "ping" and
 * expects it back (an echo), or sends garbage instead of authenticating.
 * Exit code: 0 ok, 100 + -error of the connect, 50 other failures. */
static int t_client(const mproc_args_t *args) {
  const char *address;
  const void *key = NULL;
  size_t keylen = 0;
  bool garbage = false;
  if (mproc_args_get_str(args, 0, &address))
    return 50;
  mproc_args_get_bytes(args, 1, &key, &keylen);
  mproc_args_get_bool(args, 2, &garbage);
  mproc_client_opts_t opts = {.authkey = key, .authkey_len = keylen};
  mproc_conn_t *c;
  if (garbage) {
    if (mproc_client_connect(&c, address, NULL))
      return 51;
    mproc_conn_send_bytes(c, "GET / HTTP/1.0\r\n\r\n", 18);
    void *b;
    size_t n;
    while (mproc_conn_recv_bytes(c, &b, &n, 10000) == 0) /* until disconnected */
      mproc_free(b);
    mproc_conn_free(c);
    return 0;
  }
  int rc = mproc_client_connect(&c, address, &opts);
  if (rc)
    return 100 - rc;
  void *b;
  size_t n;
  rc = mproc_conn_send_bytes(c, "ping", 4) || mproc_conn_recv_bytes(c, &b, &n, TEST_WAIT_MS);
  int code = rc ? 52 : (n == 4 && memcmp(b, "ping", 4) == 0) ? 0 : 53;
  if (!rc)
    mproc_free(b);
  mproc_conn_free(c);
  return code;
}

static mproc_process_t *start_client(const char *address, const char *key, bool garbage) {
  mproc_args_t *a;
  mproc_process_t *p;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_str(a, address));
  if (key)
    ASSERT_OK(mproc_args_add_bytes(a, key, strlen(key)));
  else
    ASSERT_OK(mproc_args_add_nil(a));
  ASSERT_OK(mproc_args_add_bool(a, garbage));
  ASSERT_OK(mproc_process_new(&p, t_client, a, NULL));
  mproc_args_free(a);
  ASSERT_OK(mproc_process_start(p));
  return p;
}

static int finish(mproc_process_t *p) {
  int code = -1;
  ASSERT_OK(mproc_process_join(p, TEST_WAIT_MS));
  ASSERT_OK(mproc_process_exitcode(p, &code));
  mproc_process_free(p);
  return code;
}

/* Accepts one client and echoes one message. */
static void serve_one(mproc_listener_t *l) {
  mproc_conn_t *c;
  ASSERT_OK(mproc_listener_accept(l, &c, TEST_WAIT_MS));
  void *b;
  size_t n;
  ASSERT_OK(mproc_conn_recv_bytes(c, &b, &n, TEST_WAIT_MS));
  ASSERT_OK(mproc_conn_send_bytes(c, b, n));
  mproc_free(b);
  mproc_conn_free(c);
}

static void round_trip_at(const char *address, const char *key) {
  mproc_listener_opts_t opts = {.authkey = key, .authkey_len = key ? strlen(key) : 0};
  mproc_listener_t *l;
  ASSERT_OK(mproc_listener_new(&l, address, &opts));
  mproc_process_t *p = start_client(mproc_listener_address(l), key, false);
  serve_one(l);
  assert_int_equal(finish(p), 0);
  mproc_listener_free(l);
}

/* The addresses this platform listens on: fresh names each call. */
static int addresses(char (*out)[160]) {
  char name[128];
  temp_name(name, sizeof name, "sock");
#ifdef _WIN32
  snprintf(out[0], 160, "pipe:\\\\.\\pipe\\%s", name);
  snprintf(out[1], 160, "tcp:127.0.0.1:0");
  return 2;
#else
  snprintf(out[0], 160, "unix:%s", name);
  snprintf(out[1], 160, "tcp:127.0.0.1:0");
  return 2;
#endif
}

static void round_trips_with_and_without_a_key(void **state) {
  char addr[2][160];
  for (int i = 0, n = addresses(addr); i < n; i++)
    round_trip_at(addr[i], NULL);
  for (int i = 0, n = addresses(addr); i < n; i++)
    round_trip_at(addr[i], "secret key");
#ifdef _WIN32
  mproc_listener_t *l;
  mproc_conn_t *c;
  ASSERT_ERR(MPROC_ENOTSUP, mproc_listener_new(&l, "unix:/tmp/x", NULL));
  ASSERT_ERR(MPROC_ENOTSUP, mproc_client_connect(&c, "unix:/tmp/x", NULL));
#endif
}

/* A unix socket file: mode 0600 while it listens, gone afterwards. */
static void unix_socket_files(void **state) {
#ifdef _WIN32
  skip(); /* no unix: addresses on Windows; pipe: names have no file */
#else
  char path[128], address[160];
  temp_name(path, sizeof path, "sock");
  snprintf(address, sizeof address, "unix:%s", path);
  mproc_listener_t *l;
  ASSERT_OK(mproc_listener_new(&l, address, NULL));
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600); /* only its owner may connect */
  assert_string_equal(mproc_listener_address(l), address);
  mproc_process_t *p = start_client(address, NULL, false);
  serve_one(l);
  assert_int_equal(finish(p), 0);
  mproc_listener_free(l);
  assert_int_not_equal(stat(path, &st), 0); /* the socket file is gone */
#endif
}

static void wrong_keys_fail_on_both_sides(void **state) {
  char addr[2][160];
  for (int i = 0, n = addresses(addr); i < n; i++) {
    mproc_listener_opts_t opts = {.authkey = "right", .authkey_len = 5};
    mproc_listener_t *l;
    ASSERT_OK(mproc_listener_new(&l, addr[i], &opts));
    const char *client_keys[] = {"wrong", NULL};
    for (int k = 0; k < 2; k++) {
      mproc_process_t *p = start_client(mproc_listener_address(l), client_keys[k], false);
      mproc_conn_t *c = NULL;
      ASSERT_ERR(MPROC_EAUTH, mproc_listener_accept(l, &c, TEST_WAIT_MS));
      assert_null(c);
      int code = finish(p);
      if (client_keys[k])
        assert_int_equal(code, 100 - MPROC_EAUTH); /* refused on its side too */
      else
        assert_int_not_equal(code, 0); /* keyless: it gets no echo, only a refusal */
    }
    mproc_listener_free(l);
  }
}

/* A listener that hangs up before the handshake is going away (its process
 * was killed, say): the client is told the connection closed, not that a
 * key failed. */
static void a_listener_that_hangs_up_is_closed_not_a_key_failure(void **state) {
  char addr[2][160];
  addresses(addr);
  mproc_listener_t *l;
  ASSERT_OK(mproc_listener_new(&l, addr[0], NULL)); /* no key: accept does no handshake */
  mproc_process_t *client = start_client(mproc_listener_address(l), "k", false);
  mproc_conn_t *c;
  ASSERT_OK(mproc_listener_accept(l, &c, TEST_WAIT_MS));
  mproc_conn_free(c); /* hang up at once */
  assert_int_equal(finish(client), 100 - MPROC_ECLOSED);
  mproc_listener_free(l);
}

static void garbage_gets_the_peer_disconnected(void **state) {
  char addr[2][160];
  addresses(addr);
  mproc_listener_opts_t opts = {.authkey = "k", .authkey_len = 1};
  mproc_listener_t *l;
  ASSERT_OK(mproc_listener_new(&l, addr[0], &opts));
  mproc_process_t *bad = start_client(mproc_listener_address(l), NULL, true);
  mproc_conn_t *c = NULL;
  ASSERT_ERR(MPROC_EAUTH, mproc_listener_accept(l, &c, TEST_WAIT_MS));
  assert_int_equal(finish(bad), 0); /* it saw the disconnect */
  /* The listener goes on serving. */
  mproc_process_t *good = start_client(mproc_listener_address(l), "k", false);
  serve_one(l);
  assert_int_equal(finish(good), 0);
  mproc_listener_free(l);
}

/* Echoes one message on the connection it was given, then ends. */
static int t_echo_once(const mproc_args_t *args) {
  mproc_conn_t *c;
  void *b;
  size_t n;
  if (mproc_args_get_conn(args, 0, &c) || mproc_conn_recv_bytes(c, &b, &n, TEST_WAIT_MS))
    return 1;
  int rc = mproc_conn_send_bytes(c, b, n);
  mproc_free(b);
  return rc ? 2 : 0;
}

/* A tcp: connection passed to a child (a WSADuplicateSocketW blob on
 * Windows, an inherited descriptor on POSIX): it works both ways, and once
 * the child and this process have let go of it, the peer sees end-of-file,
 * so no copy leaked anywhere. */
static void tcp_connection_to_a_child(void **state) {
  mproc_listener_t *l;
  mproc_conn_t *client, *server;
  ASSERT_OK(mproc_listener_new(&l, "tcp:127.0.0.1:0", NULL));
  ASSERT_OK(mproc_client_connect(&client, mproc_listener_address(l), NULL));
  ASSERT_OK(mproc_listener_accept(l, &server, TEST_WAIT_MS));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_conn(a, client));
  mproc_conn_free(client); /* the tuple holds its own copy */
  mproc_process_t *p;
  ASSERT_OK(mproc_process_new(&p, t_echo_once, a, NULL));
  mproc_args_free(a); /* and the process its own */
  ASSERT_OK(mproc_process_start(p));
  ASSERT_OK(mproc_conn_send_bytes(server, "ping", 4));
  void *b;
  size_t n;
  ASSERT_OK(mproc_conn_recv_bytes(server, &b, &n, TEST_WAIT_MS));
  assert_int_equal(n, 4);
  assert_memory_equal(b, "ping", 4);
  mproc_free(b);
  assert_int_equal(finish(p), 0);
  ASSERT_ERR(MPROC_EEOF, mproc_conn_recv_bytes(server, &b, &n, TEST_WAIT_MS));
  mproc_conn_free(server);
  mproc_listener_free(l);
}

/* A raw TCP connection to 127.0.0.1:port that sends bytes and then says
 * nothing more: a peer stalled in the middle of a frame. */
static intptr_t stalled_peer(const char *tcp_address, const void *bytes, size_t n) {
  int port = atoi(strrchr(tcp_address, ':') + 1);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)port);
  sa.sin_addr.s_addr = htonl(0x7f000001);
#ifdef _WIN32
  SOCKET s = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(s != INVALID_SOCKET);
  assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(send(s, bytes, (int)n, 0), (int)n);
  return (intptr_t)s;
#else
  int s = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(s >= 0);
  assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(send(s, bytes, n, 0), (ssize_t)n);
  return s;
#endif
}

static void close_peer(intptr_t s) {
#ifdef _WIN32
  closesocket((SOCKET)s);
#else
  close((int)s);
#endif
}

/* A peer that sends part of a frame and stalls is dropped when the
 * handshake's deadline passes; an honest client behind it is served. */
static void a_stalled_peer_is_dropped_at_the_deadline(void **state) {
  mproc_listener_opts_t opts = {.authkey = "k", .authkey_len = 1, .handshake_timeout_ms = 300};
  mproc_listener_t *l;
  ASSERT_OK(mproc_listener_new(&l, "tcp:127.0.0.1:0", &opts));
  const char *addr = mproc_listener_address(l);
  /* A frame header announcing 40 bytes, then 3 of them. */
  intptr_t stalled = stalled_peer(addr, "\x28\0\0\0abc", 7);
  mproc_process_t *honest = start_client(addr, "k", false);
  int64_t t0 = now_ms();
  mproc_conn_t *c = NULL;
  ASSERT_ERR(MPROC_EAUTH, mproc_listener_accept(l, &c, TEST_WAIT_MS));
  assert_true(now_ms() - t0 < 5000); /* the deadline, not for ever */
  serve_one(l);
  assert_int_equal(finish(honest), 0);
  close_peer(stalled);
  mproc_listener_free(l);
}

typedef struct {
  const char *address;
  int rc;
} burst_client_t;

static void burst_client(void *arg) {
  burst_client_t *b = arg;
  mproc_client_opts_t opts = {.authkey = "burst", .authkey_len = 5};
  mproc_conn_t *c;
  void *msg;
  size_t n;
  b->rc = mproc_client_connect(&c, b->address, &opts);
  if (b->rc == 0) {
    b->rc = mproc_conn_recv_bytes(c, &msg, &n, TEST_WAIT_MS);
    if (b->rc == 0)
      mproc_free(msg);
    mproc_conn_free(c);
  }
}

/* A hundred clients connecting at once to a tcp: listener with the
 * default options are all served. */
static void a_burst_of_clients_is_served(void **state) {
  enum { N = 100 };
  mproc_listener_opts_t opts = {.authkey = "burst", .authkey_len = 5};
  mproc_listener_t *l;
  ASSERT_OK(mproc_listener_new(&l, "tcp:127.0.0.1:0", &opts));
  static burst_client_t clients[N];
  static test_thread_t threads[N];
  for (int i = 0; i < N; i++) {
    clients[i] = (burst_client_t){mproc_listener_address(l), -1};
    thread_start(&threads[i], burst_client, &clients[i]);
  }
  for (int i = 0; i < N; i++) {
    mproc_conn_t *c;
    ASSERT_OK(mproc_listener_accept(l, &c, TEST_WAIT_MS));
    ASSERT_OK(mproc_conn_send_bytes(c, "hi", 2));
    mproc_conn_free(c);
  }
  for (int i = 0; i < N; i++) {
    thread_join(&threads[i]);
    ASSERT_OK(clients[i].rc);
  }
  mproc_listener_free(l);
}

#ifndef _WIN32
/* The descriptors this process has without FD_CLOEXEC: each is 1 in out. */
static void not_cloexec(unsigned char *out, int n) {
  for (int fd = 0; fd < n; fd++) {
    int f = fcntl(fd, F_GETFD);
    out[fd] = f >= 0 && !(f & FD_CLOEXEC);
  }
}

typedef struct {
  const char *address;
  mproc_conn_t *c;
  int rc;
} holding_client_t;

static void holding_client(void *arg) {
  holding_client_t *h = arg;
  h->rc = mproc_client_connect(&h->c, h->address, NULL);
}
#endif

/* Every descriptor the library makes - pipes, socket pairs, listening,
 * connecting and accepted sockets, a queue's - is close-on-exec, whether
 * it was born so (pipe2, SOCK_CLOEXEC, accept4) or marked right after (the
 * generic build, macOS): an exec elsewhere in the program inherits none. */
static void descriptors_are_close_on_exec(void **state) {
#ifdef _WIN32
  skip(); /* handles are not inheritable unless asked */
#else
  enum { N = 4096 };
  static unsigned char before[N], after[N];
  not_cloexec(before, N);
  mproc_conn_t *a, *b;
  ASSERT_OK(mproc_pipe(&a, &b, true));
  mproc_queue_t *q;
  ASSERT_OK(mproc_queue_new(&q, NULL));
  char addr[2][160];
  mproc_listener_t *l[2];
  mproc_conn_t *served[2];
  holding_client_t clients[2];
  for (int i = 0, n = addresses(addr); i < n; i++) {
    ASSERT_OK(mproc_listener_new(&l[i], addr[i], NULL));
    clients[i] = (holding_client_t){mproc_listener_address(l[i]), NULL, -1};
    test_thread_t t;
    thread_start(&t, holding_client, &clients[i]);
    ASSERT_OK(mproc_listener_accept(l[i], &served[i], TEST_WAIT_MS));
    thread_join(&t);
    ASSERT_OK(clients[i].rc);
  }
  not_cloexec(after, N);
  for (int fd = 0; fd < N; fd++)
    if (after[fd] && !before[fd])
      fail_msg("descriptor %d, made by the library, is not close-on-exec", fd);
  for (int i = 0; i < 2; i++) {
    mproc_conn_free(served[i]);
    mproc_conn_free(clients[i].c);
    mproc_listener_free(l[i]);
  }
  mproc_queue_free(q);
  mproc_conn_free(a);
  mproc_conn_free(b);
#endif
}

static void bad_arguments(void **state) {
  mproc_listener_t *l;
  mproc_conn_t *c;
  ASSERT_ERR(MPROC_EINVAL, mproc_listener_new(NULL, "tcp:127.0.0.1:0", NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_listener_new(&l, NULL, NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_listener_new(&l, "http://x", NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_client_connect(&c, "nowhere", NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_client_connect(NULL, "tcp:127.0.0.1:1", NULL));
  mproc_listener_opts_t nokey = {.authkey = NULL, .authkey_len = 4};
  ASSERT_ERR(MPROC_EINVAL, mproc_listener_new(&l, "tcp:127.0.0.1:0", &nokey));
  ASSERT_ERR(MPROC_EINVAL, mproc_listener_accept(NULL, &c, 0));
  assert_string_equal(mproc_listener_address(NULL), "");
  mproc_listener_free(NULL);
  /* Ports that do not fit 16 bits are refused, not wrapped (99999 used to
   * bind 34463). */
  ASSERT_ERR(MPROC_EINVAL, mproc_listener_new(&l, "tcp:127.0.0.1:99999", NULL));
  mproc_listener_opts_t negative = {.handshake_timeout_ms = -1};
  ASSERT_ERR(MPROC_EINVAL, mproc_listener_new(&l, "tcp:127.0.0.1:0", &negative));
  negative = (mproc_listener_opts_t){.backlog = -1};
  ASSERT_ERR(MPROC_EINVAL, mproc_listener_new(&l, "tcp:127.0.0.1:0", &negative));
  mproc_client_opts_t bad_client = {.handshake_timeout_ms = -5};
  ASSERT_ERR(MPROC_EINVAL, mproc_client_connect(&c, "tcp:127.0.0.1:1", &bad_client));
  ASSERT_ERR(MPROC_EINVAL, mproc_listener_new(&l, "tcp:127.0.0.1:65536", NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_listener_new(&l, "tcp:127.0.0.1:-1", NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_listener_new(&l, "tcp:127.0.0.1:80x", NULL));
  ASSERT_ERR(MPROC_EINVAL, mproc_client_connect(&c, "tcp:127.0.0.1:70000", NULL));
#ifndef _WIN32
  ASSERT_ERR(MPROC_EINVAL, mproc_listener_new(&l, "tcp:127.0.0.1", NULL)); /* no port */
  ASSERT_ERR(MPROC_ENOTSUP, mproc_listener_new(&l, "pipe:\\\\.\\pipe\\x", NULL));
  ASSERT_ERR(MPROC_ESYS, mproc_client_connect(&c, "unix:/nonexistent/mproc.sock", NULL));
  ASSERT_OK(mproc_listener_new(&l, "tcp:127.0.0.1:0", NULL));
  ASSERT_ERR(MPROC_ETIMEDOUT, mproc_listener_accept(l, &c, 20));
  ASSERT_ERR(MPROC_EINVAL, mproc_listener_accept(l, &c, -3));
  mproc_listener_t *again;
  ASSERT_ERR(MPROC_ESYS, mproc_listener_new(&again, mproc_listener_address(l), NULL)); /* in use */
  mproc_listener_free(l);
#endif
}

/* Whether libcrypto is mapped into this process: 1 yes, 0 no, -1 when
 * the system cannot say (no /proc/self/maps: Windows, macOS). */
static int libcrypto_mapped(void) {
#ifdef _WIN32
  return -1; /* CNG, not libcrypto; and Wine would read its own host's maps */
#endif
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f)
    return -1;
  char line[1024];
  int found = 0;
  while (!found && fgets(line, sizeof line, f))
    found = strstr(line, "libcrypto") != NULL;
  fclose(f);
  return found;
}

static int t_libcrypto_mapped(const mproc_args_t *args) {
  (void)args;
  return 10 + libcrypto_mapped();
}

/* Only authentication uses libcrypto, so a process loads it when it first
 * authenticates (where it is a shared library), and a child that never
 * does starts without it: mapping it was most of the cost of a spawn. Runs
 * in a group of its own, so that nothing before it has authenticated. */
static void libcrypto_is_loaded_on_first_use(void **state) {
  (void)state;
  int here = libcrypto_mapped();
  if (here < 0)
    skip();
  assert_int_equal(here, 0);
  mproc_process_t *p;
  ASSERT_OK(mproc_process_new(&p, t_libcrypto_mapped, NULL, NULL));
  ASSERT_OK(mproc_process_start(p));
  assert_int_equal(finish(p), 10);
  /* One authenticated connection loads it here (the accepting side). */
  mproc_listener_opts_t opts = {.authkey = "k", .authkey_len = 1};
  mproc_listener_t *l;
  ASSERT_OK(mproc_listener_new(&l, "tcp:127.0.0.1:0", &opts));
  mproc_process_t *client = start_client(mproc_listener_address(l), "k", false);
  serve_one(l);
  assert_int_equal(finish(client), 0);
  mproc_listener_free(l);
#ifdef MPROC_TEST_CRYPTO_LINKED
  assert_int_equal(libcrypto_mapped(), 0); /* linked in: no library to map */
#else
  assert_int_equal(libcrypto_mapped(), 1);
#endif
}

/* args: address, key. 21 when connecting failed with MPROC_ENOTSUP and
 * a detail naming libcrypto; 20 for any other outcome. */
static int t_connect_without_libcrypto(const mproc_args_t *args) {
  const char *address;
  const void *key;
  size_t len;
  if (mproc_args_get_str(args, 0, &address) || mproc_args_get_bytes(args, 1, &key, &len))
    return 1;
  mproc_client_opts_t opts = {
      .authkey = key, .authkey_len = len, .handshake_timeout_ms = TEST_WAIT_MS};
  mproc_conn_t *c = NULL;
  int rc = mproc_client_connect(&c, address, &opts);
  mproc_conn_free(c);
  return rc == MPROC_ENOTSUP && strstr(mproc_last_error_detail(), "libcrypto") ? 21 : 20;
}

/* A libcrypto that does not load (MPROC_LIBCRYPTO names one that does not
 * exist) makes an authenticated connect fail with MPROC_ENOTSUP, never a
 * crash. In a spawned child, which opens it afresh; after the test above,
 * since this process authenticates. */
static void without_libcrypto_a_handshake_is_not_supported(void **state) {
  (void)state;
#if defined(_WIN32) || defined(MPROC_TEST_CRYPTO_LINKED)
  skip(); /* CNG; or libcrypto linked in, with nothing to load */
#endif
  mproc_listener_opts_t lo = {.authkey = "k", .authkey_len = 1};
  mproc_listener_t *l;
  ASSERT_OK(mproc_listener_new(&l, "tcp:127.0.0.1:0", &lo));
  mproc_args_t *a;
  ASSERT_OK(mproc_args_new(&a));
  ASSERT_OK(mproc_args_add_str(a, mproc_listener_address(l)));
  ASSERT_OK(mproc_args_add_bytes(a, "k", 1));
  mproc_process_t *p;
  mproc_process_opts_t po = {.start_method = MPROC_START_SPAWN};
  set_env("MPROC_LIBCRYPTO", "libmproc-test-no-such-crypto.so.0");
  ASSERT_OK(mproc_process_new(&p, t_connect_without_libcrypto, a, &po));
  ASSERT_OK(mproc_process_start(p));
  set_env("MPROC_LIBCRYPTO", NULL);
  mproc_args_free(a);
  mproc_conn_t *c = NULL;
  assert_int_not_equal(mproc_listener_accept(l, &c, TEST_WAIT_MS), 0); /* the client gave up */
  assert_int_equal(finish(p), 21);
  mproc_listener_free(l);
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  const struct CMUnitTest listener[] = {
      cmocka_unit_test(round_trips_with_and_without_a_key),
      cmocka_unit_test(unix_socket_files),
      cmocka_unit_test(wrong_keys_fail_on_both_sides),
      cmocka_unit_test(garbage_gets_the_peer_disconnected),
      cmocka_unit_test(a_listener_that_hangs_up_is_closed_not_a_key_failure),
      cmocka_unit_test(tcp_connection_to_a_child),
      cmocka_unit_test(a_stalled_peer_is_dropped_at_the_deadline),
      cmocka_unit_test(a_burst_of_clients_is_served),
      cmocka_unit_test(descriptors_are_close_on_exec),
      cmocka_unit_test(bad_arguments),
  };
  const struct CMUnitTest lazy[] = {
      cmocka_unit_test(libcrypto_is_loaded_on_first_use),
      cmocka_unit_test(without_libcrypto_a_handshake_is_not_supported),
  };
  const test_group_t groups[] = {TEST_GROUP("listener", listener), TEST_GROUP("lazy", lazy)};
  return run_groups(argc, argv, groups, 2);
}
