/* What the libFuzzer harnesses share. Each harness links the library's
 * internals (src/) and is built by clang with
 * -fsanitize=fuzzer,address,undefined (MPROC_BUILD_FUZZERS). */
#ifndef MPROC_FUZZ_UTIL_H
#define MPROC_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mproc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken promise of the library: report it and crash, so libFuzzer
 * keeps the input. */
#define FUZZ_ASSERT(cond)                                                                          \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: %s (%s)\n", __FILE__, __LINE__, #cond, mproc_last_error_detail());   \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

#endif
