/* Threads and processes doing the same thing: printing their pid, one at
 * a time under a lock. Every thread has the parent's pid; every process
 * its own. (Vamei, "Python多进程初步": Similarity and difference of multi
 * thread vs. multi process.)
 *
 *   def worker(sign, lock):
 *       lock.acquire(); print(sign, os.getpid()); lock.release()
 *   record = []; lock = threading.Lock()
 *   for i in range(5):
 *       thread = threading.Thread(target=worker, args=('thread', lock)); ...
 *   record = []; lock = multiprocessing.Lock()
 *   for i in range(5):
 *       process = multiprocessing.Process(target=worker, args=('process', lock)); ...
 */
#include "tutorial.h"

#ifdef _WIN32
typedef HANDLE thread_t;
#else
#  include <pthread.h>
typedef pthread_t thread_t;
#endif

static mproc_lock_t *thread_lock;

static void worker(const char *sign, mproc_lock_t *lock) {
  CHECK(mproc_lock_acquire(lock, MPROC_INFINITE));
  printf("%s %lld\n", sign, (long long)mproc_current_pid());
  fflush(stdout);
  CHECK(mproc_lock_release(lock));
}

#ifdef _WIN32
static DWORD WINAPI thread_main(LPVOID unused) {
#else
static void *thread_main(void *unused) {
#endif
  (void)unused;
  worker("thread", thread_lock);
  return 0;
}

static int process_main(const mproc_args_t *args) {
  mproc_lock_t *lock;
  CHECK(mproc_args_get_lock(args, 1, &lock));
  worker(str_at(args, 0), lock);
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  printf("Main: %lld\n", (long long)mproc_current_pid());
  /* Multi-thread (a threading.Lock would do; an mproc lock works too) */
  CHECK(mproc_lock_new(&thread_lock));
  thread_t record[5];
  for (int i = 0; i < 5; i++) {
#ifdef _WIN32
    record[i] = CreateThread(NULL, 0, thread_main, NULL, 0, NULL);
#else
    pthread_create(&record[i], NULL, thread_main, NULL);
#endif
  }
  for (int i = 0; i < 5; i++) {
#ifdef _WIN32
    WaitForSingleObject(record[i], INFINITE);
    CloseHandle(record[i]);
#else
    pthread_join(record[i], NULL);
#endif
  }
  /* Multi-process */
  mproc_lock_t *lock;
  CHECK(mproc_lock_new(&lock));
  mproc_process_t *processes[5];
  for (int i = 0; i < 5; i++) {
    mproc_args_t *a = args_of(1, mproc_str("process"));
    CHECK(mproc_args_add_lock(a, lock));
    processes[i] = start(process_main, a);
  }
  int failed = 0;
  for (int i = 0; i < 5; i++)
    failed |= join(processes[i]);
  mproc_lock_free(lock);
  mproc_lock_free(thread_lock);
  return failed;
}
