/* Consumers take tasks from a JoinableQueue until a poison pill (None)
 * arrives, and put answers in a results Queue. (PyMOTW: passing messages
 * to processes; Consumer(Process) with Task objects.)
 *
 *   class Consumer(multiprocessing.Process):
 *       def run(self):
 *           while True:
 *               next_task = self.task_queue.get()
 *               if next_task is None:            # poison pill means shutdown
 *                   self.task_queue.task_done(); break
 *               answer = next_task()             # a * b
 *               self.task_queue.task_done(); self.result_queue.put(answer)
 *   tasks = multiprocessing.JoinableQueue(); results = multiprocessing.Queue()
 *   consumers = [Consumer(tasks, results) for i in range(multiprocessing.cpu_count() * 2)]
 *   for w in consumers: w.start()
 *   for i in range(10): tasks.put(Task(i, i))
 *   for i in range(num_consumers): tasks.put(None)
 *   tasks.join()
 *   while num_jobs: result = results.get(); print('Result:', result); num_jobs -= 1
 */
#include "tutorial.h"

static int consumer_run(const mproc_args_t *args) {
  mproc_queue_t *task_queue, *result_queue;
  CHECK(mproc_args_get_queue(args, 0, &task_queue));
  CHECK(mproc_args_get_queue(args, 1, &result_queue));
  for (;;) {
    mproc_args_t *next_task;
    CHECK(mproc_queue_get(task_queue, &next_task, MPROC_INFINITE));
    if (mproc_args_type(next_task, 0) == MPROC_T_NIL) { /* poison pill means shutdown */
      printf("%s: Exiting\n", mproc_current_name());
      mproc_args_free(next_task);
      CHECK(mproc_queue_task_done(task_queue));
      return 0;
    }
    int64_t a = int_at(next_task, 0), b = int_at(next_task, 1);
    printf("%s: %lld * %lld\n", mproc_current_name(), (long long)a, (long long)b);
    fflush(stdout);
    mproc_args_t *answer = args_of(2, mproc_str("product"), mproc_int(a * b));
    CHECK(mproc_queue_task_done(task_queue));
    CHECK(mproc_queue_put(result_queue, answer, MPROC_INFINITE));
    mproc_args_free(answer);
    mproc_args_free(next_task);
  }
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_queue_t *tasks, *results;
  CHECK(mproc_queue_new(&tasks, &(mproc_queue_opts_t){.joinable = true}));
  CHECK(mproc_queue_new(&results, NULL));
  int num_consumers = mproc_cpu_count() * 2;
  printf("Creating %d consumers\n", num_consumers);
  mproc_process_t *consumers[64];
  for (int i = 0; i < num_consumers && i < 64; i++) {
    mproc_args_t *a;
    CHECK(mproc_args_new(&a));
    CHECK(mproc_args_add_queue(a, tasks));
    CHECK(mproc_args_add_queue(a, results));
    consumers[i] = start(consumer_run, a);
  }
  int num_jobs = 10;
  for (int i = 0; i < num_jobs; i++) {
    mproc_args_t *task = args_of(2, mproc_int(i), mproc_int(i));
    CHECK(mproc_queue_put(tasks, task, MPROC_INFINITE));
    mproc_args_free(task);
  }
  mproc_args_t *pill = args_of(1, mproc_nil());
  for (int i = 0; i < num_consumers; i++)
    CHECK(mproc_queue_put(tasks, pill, MPROC_INFINITE));
  mproc_args_free(pill);
  CHECK(mproc_queue_join(tasks, MPROC_INFINITE)); /* wait for all tasks to finish */
  int64_t sum = 0;
  for (; num_jobs; num_jobs--) {
    mproc_args_t *result;
    CHECK(mproc_queue_get(results, &result, MPROC_INFINITE));
    printf("Result: %s %lld\n", str_at(result, 0), (long long)int_at(result, 1));
    sum += int_at(result, 1);
    mproc_args_free(result);
  }
  int failed = 0;
  for (int i = 0; i < num_consumers && i < 64; i++)
    failed |= join(consumers[i]);
  mproc_queue_free(tasks);
  mproc_queue_free(results);
  return failed || sum != 285; /* 0*0 + 1*1 + ... + 9*9 */
}
