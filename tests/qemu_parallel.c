/* Preloaded into every program of the emulated legs of scripts/test.sh
 * (QEMU_SET_ENV=LD_PRELOAD=..., which reaches only the emulated programs).
 * qemu-user translates a process's atomic read-modify-writes to plain
 * loads and stores until that process makes its first thread: enough for
 * one process alone, not against other processes sharing the memory. A
 * thread made and joined at start-up makes qemu translate them to the
 * host's atomic instructions for the rest of the process's life (and its
 * forked children's). A native run never loads this. */
#include <pthread.h>

static void *nothing(void *arg) { return arg; }

__attribute__((constructor)) static void make_qemu_atomic(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, nothing, NULL) == 0)
    pthread_join(t, NULL);
}
