/* Ten buyers and one ticket file: a Lock makes each buyer read, decide and
 * write alone, so no ticket is sold twice. (cnblogs: 锁 multiprocess.Lock,
 * the ticket-buying program.)
 *
 *   def show_ticket(i):
 *       with open('ticket') as f: dic = json.load(f); print('余票:%s' % dic['ticket'])
 *   def buy_ticket(i, lock):
 *       lock.acquire()
 *       with open('ticket') as f: dic = json.load(f); print('余票:%s' % dic['ticket'])
 *       time.sleep(0.1)
 *       if dic['ticket'] > 0: dic['ticket'] -= 1; print('%s买到票了' % i)
 *       else: print('%s没买到票' % i)
 *       time.sleep(0.1)
 *       with open('ticket', 'w') as f: json.dump(dic, f)
 *       lock.release()
 *   if __name__ == '__main__':
 *       for i in range(10): Process(target=show_ticket, args=(i,)).start()
 *       lock = Lock()
 *       for j in range(10): Process(target=buy_ticket, args=(j, lock)).start()
 */
#include "tutorial.h"

enum { TICKETS = 2, BOUGHT = 0, SOLD_OUT = 3 };

static int read_tickets(const char *file) {
  int n = -1;
  FILE *f = fopen(file, "r");
  if (f && fscanf(f, "{\"ticket\": %d}", &n) != 1)
    n = -1;
  if (f)
    fclose(f);
  return n;
}

static void write_tickets(const char *file, int n) {
  FILE *f = fopen(file, "w");
  if (f) {
    fprintf(f, "{\"ticket\": %d}", n);
    fclose(f);
  }
}

static int show_ticket(const mproc_args_t *args) {
  printf("余票:%d\n", read_tickets(str_at(args, 1)));
  return 0;
}

static int buy_ticket(const mproc_args_t *args) {
  int64_t i = int_at(args, 0);
  const char *file = str_at(args, 1);
  mproc_lock_t *lock;
  CHECK(mproc_args_get_lock(args, 2, &lock));
  CHECK(mproc_lock_acquire(lock, MPROC_INFINITE));
  int left = read_tickets(file), code = SOLD_OUT;
  printf("余票:%d\n", left);
  sleep_s(0.02);
  if (left > 0) {
    left--;
    printf("%lld买到票了\n", (long long)i);
    code = BOUGHT;
  } else {
    printf("%lld没买到票\n", (long long)i);
  }
  fflush(stdout);
  sleep_s(0.02);
  write_tickets(file, left);
  CHECK(mproc_lock_release(lock));
  return code; /* tells the parent, so it can count */
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  char file[64];
  snprintf(file, sizeof file, "ticket-%lld", (long long)mproc_current_pid());
  write_tickets(file, TICKETS);
  mproc_process_t *shows[10], *buyers[10];
  for (int i = 0; i < 10; i++)
    shows[i] = start(show_ticket, args_of(2, mproc_int(i), mproc_str(file)));
  mproc_lock_t *lock;
  CHECK(mproc_lock_new(&lock));
  for (int j = 0; j < 10; j++) {
    mproc_args_t *a = args_of(2, mproc_int(j), mproc_str(file));
    CHECK(mproc_args_add_lock(a, lock));
    buyers[j] = start(buy_ticket, a);
  }
  int sold = 0, failed = 0;
  for (int i = 0; i < 10; i++) {
    failed |= join(shows[i]);
    sold += join(buyers[i]) == BOUGHT;
  }
  int left = read_tickets(file);
  printf("sold %d of %d tickets, %d left\n", sold, TICKETS, left);
  remove(file);
  mproc_lock_free(lock);
  return failed || sold != TICKETS || left != 0;
}
