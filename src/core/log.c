/* Logging (see include/mproc/log.h). */
#include <stdatomic.h>
#include <stdio.h>

#include "core/log_internal.h"
#include "core/spinlock.h"

static atomic_int level = MPROC_LOG_WARNING;
static mproc_log_fn handler;
static void *handler_ctx;

static bool valid(int l) {
  return l == MPROC_LOG_DEBUG || l == MPROC_LOG_INFO || l == MPROC_LOG_WARNING ||
         l == MPROC_LOG_ERROR || l == MPROC_LOG_OFF;
}

static const char *level_name(mproc_log_level_t l) {
  switch (l) {
  case MPROC_LOG_DEBUG:
    return "DEBUG";
  case MPROC_LOG_INFO:
    return "INFO";
  case MPROC_LOG_WARNING:
    return "WARNING";
  default:
    return "ERROR";
  }
}

int mproc_log_to_stderr(mproc_log_level_t l) {
  if (!valid((int)l))
    return mproc__fail(MPROC_EINVAL, "log_to_stderr: %d is not a log level", (int)l);
  mproc_log_set_handler(NULL, NULL);
  atomic_store(&level, (int)l);
  return 0;
}

int mproc_log_set_handler(mproc_log_fn fn, void *ctx) {
  mproc__spin_lock(&mproc__log_lock);
  handler = fn;
  handler_ctx = ctx;
  mproc__spin_unlock(&mproc__log_lock);
  return 0;
}

mproc_log_level_t mproc_log_get_level(void) { return (mproc_log_level_t)atomic_load(&level); }

bool mproc__log_enabled(mproc_log_level_t l) { return (int)l >= atomic_load(&level); }

void mproc__log_inherit(int l) {
  if (valid(l))
    atomic_store(&level, l);
}

void mproc__log(mproc_log_level_t l, const char *fmt, ...) {
  if (!mproc__log_enabled(l))
    return;
  char line[1024];
  int n = snprintf(line, sizeof line, "[%s/%s] ", level_name(l), mproc_current_name());
  if (n < 0 || (size_t)n >= sizeof line)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  va_end(ap);
  mproc__spin_lock(&mproc__log_lock);
  mproc_log_fn fn = handler;
  void *ctx = handler_ctx;
  mproc__spin_unlock(&mproc__log_lock);
  if (fn)
    fn(l, line, ctx);
  else
    fprintf(stderr, "%s\n", line); /* one call: lines from threads do not mix */
}
