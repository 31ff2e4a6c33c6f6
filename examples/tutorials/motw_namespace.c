/* A Manager's Namespace: a value the producer sets is seen by the
 * consumer once an Event says it is there. A tuple read from it is a copy;
 * to share a list that others change, store a Manager list in it.
 * (PyMOTW: shared namespaces.)
 *
 *   def producer(ns, event): ns.value = 'This is the value'; event.set()
 *   def consumer(ns, event):
 *       try: print('Before event: {}'.format(ns.value))
 *       except Exception as err: print('Before event, error:', str(err))
 *       event.wait(); print('After event:', ns.value)
 *   mgr = multiprocessing.Manager(); namespace = mgr.Namespace()
 *   event = multiprocessing.Event()
 *   p = Process(target=producer, args=(namespace, event))
 *   c = Process(target=consumer, args=(namespace, event))
 *   c.start(); p.start(); c.join(); p.join()
 */
#include "tutorial.h"

static int producer(const mproc_args_t *args) {
  mproc_proxy_t *ns, *shared;
  mproc_event_t *event;
  CHECK(mproc_args_get_proxy(args, 0, &ns));
  CHECK(mproc_args_get_event(args, 1, &event));
  CHECK(mproc_namespace_set(ns, "value", mproc_str("This is the value")));
  /* ns.my_list.append(...) would change a copy in Python; a Manager list
   * stored in the namespace is the one list everybody sees. */
  mproc_args_t *v;
  CHECK(mproc_namespace_get(ns, "my_list", &v));
  CHECK(mproc_args_get_proxy(v, 0, &shared));
  CHECK(mproc_list_append(shared, mproc_str("This is the value")));
  mproc_args_free(v);
  CHECK(mproc_event_set(event));
  return 0;
}

static int consumer(const mproc_args_t *args) {
  mproc_proxy_t *ns;
  mproc_event_t *event;
  mproc_args_t *v;
  CHECK(mproc_args_get_proxy(args, 0, &ns));
  CHECK(mproc_args_get_event(args, 1, &event));
  int rc = mproc_namespace_get(ns, "value", &v);
  if (rc == 0) {
    printf("Before event: %s\n", str_at(v, 0)); /* the producer was quick */
    mproc_args_free(v);
  } else {
    printf("Before event, error: %s\n", mproc_last_error_detail());
  }
  CHECK(mproc_event_wait(event, MPROC_INFINITE));
  CHECK(mproc_namespace_get(ns, "value", &v));
  printf("After event: %s\n", str_at(v, 0));
  mproc_args_free(v);
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_manager_t *mgr;
  mproc_proxy_t *ns, *my_list;
  mproc_event_t *event;
  CHECK(mproc_manager_start(&mgr, NULL));
  CHECK(mproc_manager_namespace(mgr, &ns));
  CHECK(mproc_manager_list(mgr, &my_list));
  CHECK(mproc_namespace_set(ns, "my_list", mproc_proxy_item(my_list)));
  CHECK(mproc_event_new(&event));
  mproc_args_t *a = args_of(1, mproc_proxy_item(ns)), *b = args_of(1, mproc_proxy_item(ns));
  CHECK(mproc_args_add_event(a, event));
  CHECK(mproc_args_add_event(b, event));
  mproc_process_t *c = start(consumer, a), *p = start(producer, b);
  int failed = join(c) | join(p);
  size_t n;
  CHECK(mproc_list_len(my_list, &n));
  printf("my_list has %zu item\n", n);
  mproc_proxy_free(my_list);
  mproc_proxy_free(ns);
  mproc_event_free(event);
  mproc_manager_free(mgr);
  return failed || n != 1;
}
