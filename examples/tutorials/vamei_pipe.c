/* A duplex Pipe between two children: one says hello, the other answers.
 * (Vamei: Multiprocessing with Pipe.)
 *
 *   def proc1(pipe): pipe.send('hello'); print('proc1 rec:', pipe.recv())
 *   def proc2(pipe): print('proc2 rec:', pipe.recv()); pipe.send('hello, too')
 *   pipe = mul.Pipe()
 *   p1 = mul.Process(target=proc1, args=(pipe[0],))
 *   p2 = mul.Process(target=proc2, args=(pipe[1],))
 *   p1.start(); p2.start(); p1.join(); p2.join()
 */
#include "tutorial.h"

static int proc1(const mproc_args_t *args) {
  mproc_conn_t *pipe;
  mproc_args_t *msg;
  CHECK(mproc_args_get_conn(args, 0, &pipe));
  mproc_args_t *hello = args_of(1, mproc_str("hello"));
  CHECK(mproc_conn_send(pipe, hello));
  CHECK(mproc_conn_recv(pipe, &msg, MPROC_INFINITE));
  printf("proc1 rec: %s\n", str_at(msg, 0));
  mproc_args_free(hello);
  mproc_args_free(msg);
  return 0;
}

static int proc2(const mproc_args_t *args) {
  mproc_conn_t *pipe;
  mproc_args_t *msg;
  CHECK(mproc_args_get_conn(args, 0, &pipe));
  CHECK(mproc_conn_recv(pipe, &msg, MPROC_INFINITE));
  printf("proc2 rec: %s\n", str_at(msg, 0));
  fflush(stdout);
  mproc_args_t *answer = args_of(1, mproc_str("hello, too"));
  CHECK(mproc_conn_send(pipe, answer));
  mproc_args_free(answer);
  mproc_args_free(msg);
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_conn_t *pipe[2];
  CHECK(mproc_pipe(&pipe[0], &pipe[1], true));
  mproc_args_t *a1, *a2;
  CHECK(mproc_args_new(&a1));
  CHECK(mproc_args_add_conn(a1, pipe[0]));
  CHECK(mproc_args_new(&a2));
  CHECK(mproc_args_add_conn(a2, pipe[1]));
  mproc_process_t *p1 = start(proc1, a1), *p2 = start(proc2, a2);
  int failed = join(p1) | join(p2);
  mproc_conn_free(pipe[0]);
  mproc_conn_free(pipe[1]);
  return failed;
}
