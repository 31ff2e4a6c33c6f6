/* libcrypto opened on first use. OpenSSL 3's SONAME first; the unversioned
 * name is what a development install or another distribution may have.
 * The handle is never closed: libcrypto keeps process-wide state and
 * registers exit handlers, and unloading it under them is unsafe. A child
 * started by fork inherits the loaded library as it is. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/internal.h"
#include "libcrypto.h"

static const char *const names[] = {"libcrypto.so.3", "libcrypto.so"};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static mproc__libcrypto_t loaded;
static char why[256];

/* MPROC_LIBCRYPTO names the library to open instead (a path, or a name
 * for the loader's search): for a libcrypto outside the loader's path. */
static void *open_library(const char **name) {
  const char *asked = getenv("MPROC_LIBCRYPTO");
  if (asked && *asked) {
    *name = asked;
    return dlopen(asked, RTLD_NOW | RTLD_LOCAL);
  }
  void *h = NULL;
  for (size_t i = 0; !h && i < sizeof names / sizeof names[0]; i++)
    h = dlopen(*name = names[i], RTLD_NOW | RTLD_LOCAL);
  return h;
}

static void load(void) {
  const char *name = NULL;
  void *h = open_library(&name);
  if (!h) {
    const char *e = dlerror();
    snprintf(why, sizeof why, "%s", e ? e : "not found");
    return;
  }
  /* POSIX defines dlsym's result as convertible to a function pointer. */
  *(void **)&loaded.sha256 = dlsym(h, "EVP_sha256");
  *(void **)&loaded.hmac = dlsym(h, "HMAC");
  if (!loaded.sha256 || !loaded.hmac) {
    snprintf(why, sizeof why, "%s has no EVP_sha256 or HMAC", name);
    loaded.sha256 = NULL, loaded.hmac = NULL;
  }
}

int mproc__posix_libcrypto(const mproc__libcrypto_t **out) {
  pthread_once(&once, load);
  if (!loaded.hmac)
    return mproc__fail(MPROC_ENOTSUP,
                       "authentication needs OpenSSL's libcrypto, which did not "
                       "load: %s",
                       why);
  *out = &loaded;
  return 0;
}
