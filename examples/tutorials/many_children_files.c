/* Ten children each write a file; the parent waits for all, then looks.
 * (cnblogs: 创建多个子进程.)
 *
 *   def func(filename, count):
 *       with open(filename, 'w', encoding='utf-8') as f: f.write(count * 10 * '*')
 *   if __name__ == '__main__':
 *       p_list = []
 *       for i in range(10):
 *           p = Process(target=func, args=('userinfo%d' % i, i)); p_list.append(p); p.start()
 *       [p.join() for p in p_list]
 *       print([i for i in os.walk(...)])
 */
#include "tutorial.h"

static int func(const mproc_args_t *args) {
  FILE *f = fopen(str_at(args, 0), "w");
  if (!f)
    return 1;
  for (int64_t i = 0; i < int_at(args, 1) * 10; i++)
    fputc('*', f);
  return fclose(f) ? 1 : 0;
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  mproc_process_t *p_list[10];
  char names[10][64];
  for (int i = 0; i < 10; i++) {
    snprintf(names[i], sizeof names[i], "userinfo%d-%lld", i, (long long)mproc_current_pid());
    p_list[i] = start(func, args_of(2, mproc_str(names[i]), mproc_int(i)));
  }
  int failed = 0;
  for (int i = 0; i < 10; i++)
    failed |= join(p_list[i]);
  long total = 0;
  for (int i = 0; i < 10; i++) { /* every file is there, with its stars */
    FILE *f = fopen(names[i], "r");
    long n = 0;
    while (f && fgetc(f) != EOF)
      n++;
    if (f)
      fclose(f);
    failed |= n != i * 10;
    total += n;
    remove(names[i]);
  }
  printf("10 files, %ld stars\n", total);
  return failed;
}
