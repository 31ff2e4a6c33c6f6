/* The "subclass of Process" idiom in C: a struct holds what the subclass's
 * __init__ would store, a run function does what run() would, and a small
 * start function packs the struct into the argument tuple.
 *
 *   class WordCounter(Process):
 *       def __init__(self, text): super().__init__(); self.text = text
 *       def run(self): print(f"counted {len(self.text.split())} words in '{self.text}'")
 */
#include <stdio.h>
#include <string.h>

#include <mproc.h>

typedef struct {
  const char *text;
  int min_length; /* count only words at least this long */
} word_counter_t;

/* run(): unpacks the fields in the order word_counter_start packed them. */
static int word_counter_run(const mproc_args_t *args) {
  word_counter_t self;
  int64_t min_length;
  if (mproc_args_get_str(args, 0, &self.text) || mproc_args_get_int(args, 1, &min_length))
    return 2;
  self.min_length = (int)min_length;
  int words = 0, len = 0;
  for (const char *c = self.text;; c++) {
    if (*c == ' ' || *c == '\0') {
      words += len >= self.min_length && len > 0;
      len = 0;
      if (*c == '\0')
        break;
    } else {
      len++;
    }
  }
  printf("counted %d words in '%s'\n", words, self.text);
  return 0;
}

/* The constructor + start(): packs the fields and starts the process. */
static int word_counter_start(const word_counter_t *self, mproc_process_t **out) {
  mproc_args_t *args;
  int rc = mproc_args_new(&args);
  if (!rc)
    rc = mproc_args_add_str(args, self->text);
  if (!rc)
    rc = mproc_args_add_int(args, self->min_length);
  if (!rc)
    rc = mproc_process_new(out, word_counter_run, args, NULL);
  mproc_args_free(args);
  return rc ? rc : mproc_process_start(*out);
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  word_counter_t counter = {.text = "the quick fox", .min_length = 1};
  mproc_process_t *p = NULL;
  int code = -1;
  if (word_counter_start(&counter, &p) || mproc_process_join(p, MPROC_INFINITE) ||
      mproc_process_exitcode(p, &code))
    fprintf(stderr, "error: %s\n", mproc_last_error_detail());
  mproc_process_free(p);
  return code == 0 ? 0 : 1;
}
