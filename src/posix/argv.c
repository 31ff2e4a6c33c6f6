/* Copying a command line into the one block mproc__os_free_argv frees. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "os.h"

int mproc__posix_copy_argv(int argc, char *const *argv, int *out_argc, char ***out_argv) {
  size_t total = 0;
  for (int i = 0; i < argc; i++)
    total += strlen(argv[i]) + 1;
  char **v = calloc((size_t)argc + 1, sizeof *v);
  char *block = malloc(total ? total : 1);
  if (!v || !block) {
    free(v);
    free(block);
    return MPROC_ENOMEM;
  }
  char *p = block;
  for (int i = 0; i < argc; i++) {
    size_t n = strlen(argv[i]) + 1;
    memcpy(p, argv[i], n);
    v[i] = p;
    p += n;
  }
  if (argc == 0)
    free(block); /* v[0] is NULL: nothing owns it */
  *out_argc = argc;
  *out_argv = v;
  return 0;
}
