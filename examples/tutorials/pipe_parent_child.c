/* The parent and a child talk over a Pipe, both ways. (Shulou: pipeline
 * Pipe.)
 *
 *   def fun1(conn):
 *       print('child process sends message:'); conn.send('Hello master process')
 *       print('child process accepts message:'); print(conn.recv()); conn.close()
 *   conn1, conn2 = Pipe()
 *   p = Process(target=fun1, args=(conn2,)); p.start()
 *   print('main process accepts message:'); print(conn1.recv())
 *   print('main process sends message:'); conn1.send('Hello child process')
 *   p.join(); print('end test')
 */
#include "tutorial.h"

static void send_str(mproc_conn_t *c, const char *s) {
  mproc_args_t *msg = args_of(1, mproc_str(s));
  CHECK(mproc_conn_send(c, msg));
  mproc_args_free(msg);
}

static void print_recv(mproc_conn_t *c) {
  mproc_args_t *msg;
  CHECK(mproc_conn_recv(c, &msg, MPROC_INFINITE));
  printf("%s\n", str_at(msg, 0));
  fflush(stdout);
  mproc_args_free(msg);
}

static int fun1(const mproc_args_t *args) {
  mproc_conn_t *conn;
  CHECK(mproc_args_get_conn(args, 0, &conn));
  printf("child process sends message:\n");
  send_str(conn, "Hello master process");
  printf("child process accepts message:\n");
  print_recv(conn);
  CHECK(mproc_conn_close(conn));
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_conn_t *conn1, *conn2;
  CHECK(mproc_pipe(&conn1, &conn2, true)); /* a two-way pipe */
  mproc_args_t *a;
  CHECK(mproc_args_new(&a));
  CHECK(mproc_args_add_conn(a, conn2)); /* conn2 to the child */
  mproc_process_t *p = start(fun1, a);
  printf("main process accepts message:\n");
  print_recv(conn1);
  printf("main process sends message:\n");
  send_str(conn1, "Hello child process");
  int failed = join(p);
  printf("end test\n");
  mproc_conn_free(conn1);
  mproc_conn_free(conn2);
  return failed;
}
