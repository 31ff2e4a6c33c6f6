/* The spawn bootstrap message as a child reads it, and the child's report
 * as a parent reads it, from any bytes: an error, never a crash, never an
 * allocation the bytes do not justify. */
#include <sys/socket.h>
#include <unistd.h>

#include "../../src/process/bootstrap.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int sv[2];
  if (size == 0 || size > 65536 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
    return 0;
  bool report = data[0] & 1; /* which reader */
  if (write(sv[1], data + 1, size - 1) != (ssize_t)(size - 1))
    abort();
  close(sv[1]);
  mproc__stream_t s = {sv[0], sv[0]};
  if (report) {
    (void)mproc__report_read(&s, 255);
  } else {
    mproc__boot_t b = {0};
    if (mproc__boot_recv(&s, &b) == 0)
      mproc__boot_clear(&b);
  }
  close(sv[0]);
  return 0;
}
