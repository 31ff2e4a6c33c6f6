#ifndef MPROC_TEST_TARGETS_LIB_H
#define MPROC_TEST_TARGETS_LIB_H

#include "mproc.h"

#if defined(_WIN32)
#  ifdef TEST_TARGETS_BUILDING
#    define TEST_TARGETS_API __declspec(dllexport)
#  else
#    define TEST_TARGETS_API __declspec(dllimport)
#  endif
#else
#  define TEST_TARGETS_API __attribute__((visibility("default")))
#endif

/* Returns args[0] + 1. */
TEST_TARGETS_API int test_lib_target(const mproc_args_t *args);

#endif
