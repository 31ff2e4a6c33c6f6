/* Each process has its own memory: a child's change to a global is not
 * seen by the parent.
 *
 *   items = []
 *   def add(): items.append(1); print("child sees", len(items), "items")
 *   p = Process(target=add); p.start(); p.join()
 *   print("parent still sees", len(items), "items")
 */
#include <stdio.h>

#include <mproc.h>

static int items[16];
static int item_count;

static int add_items(const mproc_args_t *args) {
  (void)args;
  for (int i = 0; i < 3; i++)
    items[item_count++] = i;
  printf("child sees %d items\n", item_count);
  return 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_process_t *p = NULL;
  int code = -1;
  if (mproc_process_new(&p, add_items, NULL, NULL) || mproc_process_start(p) ||
      mproc_process_join(p, MPROC_INFINITE) || mproc_process_exitcode(p, &code))
    fprintf(stderr, "error: %s\n", mproc_last_error_detail());
  mproc_process_free(p);
  printf("parent still sees %d items\n", item_count);
  return code == 0 && item_count == 0 ? 0 : 1;
}
