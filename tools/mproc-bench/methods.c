/* The ways to start a process that the tool measures: their names and
 * where each exists. Below everything that reports or runs them. */
#include "bench.h"

const char *method_name(method_t m) {
  static const char *names[] = {"spawn",      "fork",         "forkserver",  "floor exec",
                                "floor fork", "python spawn", "python fork", "python forkserver"};
  return m < M_COUNT ? names[m] : "?";
}

bool method_available(method_t m) {
#ifdef _WIN32
  return m == M_SPAWN || m == M_FLOOR_EXEC || m == M_PY_SPAWN;
#else
  return m < M_COUNT;
#endif
}
