/* The child side of spawn against broken input: a child started by hand
 * with a marker that names no channel, or fed a garbage bootstrap message
 * over a real one, must exit with status 255 (after reporting why, when it
 * has a channel) — never crash, hang or run anything. The launching is done
 * with the raw OS calls here, since the library never sends such input. */
#include "test_util.h"

#ifdef _WIN32
#  include <windows.h>
#else
#  include <fcntl.h>
#  include <spawn.h>
#  include <sys/socket.h>
#  include <sys/wait.h>
#  include <unistd.h>
extern char **environ;
#endif

/* A parent's end of a hand-made channel; -1 fields when there is none. */
typedef struct {
#ifdef _WIN32
  HANDLE to_child, from_child, process;
#else
  int fd;
  pid_t pid;
#endif
} raw_child_t;

/* Starts this program as `self --mproc-child <token>`; with want_channel, a
 * real channel is made and its token used instead of the given one. */
static void raw_start(raw_child_t *c, const char *token, bool want_channel) {
  char tok[64];
  snprintf(tok, sizeof tok, "%s", token);
#ifdef _WIN32
  HANDLE boot_rd = NULL, rep_wr = NULL;
  c->to_child = c->from_child = NULL;
  if (want_channel) {
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    assert_true(CreatePipe(&boot_rd, &c->to_child, &sa, 0));
    assert_true(CreatePipe(&c->from_child, &rep_wr, &sa, 0));
    SetHandleInformation(c->to_child, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(c->from_child, HANDLE_FLAG_INHERIT, 0);
    snprintf(tok, sizeof tok, "%llx:%llx", (unsigned long long)(uintptr_t)boot_rd,
             (unsigned long long)(uintptr_t)rep_wr);
  }
  wchar_t path[MAX_PATH], cmd[MAX_PATH + 128];
  GetModuleFileNameW(NULL, path, MAX_PATH);
  _snwprintf(cmd, MAX_PATH + 128, L"\"%ls\" --mproc-child %hs", path, tok);
  STARTUPINFOW si = {.cb = sizeof si};
  PROCESS_INFORMATION pi;
  assert_true(CreateProcessW(path, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi));
  CloseHandle(pi.hThread);
  c->process = pi.hProcess;
  if (boot_rd)
    CloseHandle(boot_rd);
  if (rep_wr)
    CloseHandle(rep_wr);
#else
  int sv[2] = {-1, -1};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (want_channel) {
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFD, FD_CLOEXEC); /* the child has only its copy, as 3 */
    posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
    snprintf(tok, sizeof tok, "3");
  }
  char *argv[] = {"self", "--mproc-child", tok, NULL};
  assert_int_equal(posix_spawn(&c->pid, "/proc/self/exe", &fa, NULL, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  c->fd = sv[0];
  if (sv[1] >= 0)
    close(sv[1]);
#endif
}

static void raw_send(raw_child_t *c, const void *p, size_t n) {
#ifdef _WIN32
  DWORD w;
  WriteFile(c->to_child, p, (DWORD)n, &w, NULL);
  CloseHandle(c->to_child); /* then EOF: the child must not wait for more */
  c->to_child = NULL;
#else
  assert_int_equal(send(c->fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
  shutdown(c->fd, SHUT_WR);
#endif
}

/* Reads what the child reported (NUL-terminated) and its exit status. */
static int raw_finish(raw_child_t *c, char *report, size_t cap) {
  size_t got = 0;
#ifdef _WIN32
  DWORD r;
  while (c->from_child && got + 1 < cap &&
         ReadFile(c->from_child, report + got, (DWORD)(cap - 1 - got), &r, NULL) && r > 0)
    got += r;
  assert_int_equal(WaitForSingleObject(c->process, TEST_WAIT_MS), WAIT_OBJECT_0);
  DWORD code;
  GetExitCodeProcess(c->process, &code);
  CloseHandle(c->process);
  if (c->from_child)
    CloseHandle(c->from_child);
  if (c->to_child)
    CloseHandle(c->to_child);
#else
  ssize_t r;
  while (c->fd >= 0 && got + 1 < cap && (r = recv(c->fd, report + got, cap - 1 - got, 0)) > 0)
    got += (size_t)r;
  int status, code = -1;
  assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
  if (WIFEXITED(status))
    code = WEXITSTATUS(status);
  if (c->fd >= 0)
    close(c->fd);
#endif
  report[got] = '\0';
  return (int)code;
}

static void markers_that_name_no_channel(void **state) {
  const char *tokens[] = {"999", "nonsense", "", "-5", "0:0", "12345678901234567890"};
  for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
    raw_child_t c;
    char report[64];
    raw_start(&c, tokens[i], false);
    int code = raw_finish(&c, report, sizeof report);
    if (code != 255)
      fail_msg("--mproc-child '%s' exited with %d, expected 255", tokens[i], code);
  }
}

/* The child reads a bad message, says why ('E' + length + text), exits 255. */
static void expect_report(const void *msg, size_t n, const char *why) {
  raw_child_t c;
  char report[600];
  raw_start(&c, "", true);
  raw_send(&c, msg, n);
  int code = raw_finish(&c, report, sizeof report);
  assert_int_equal(code, 255);
  assert_int_equal(report[0], 'E');
  if (!strstr(report + 5, why))
    fail_msg("report '%s' does not say '%s'", report + 5, why);
}

static void garbage_bootstrap_messages(void **state) {
  expect_report("", 0, "closed the channel");
  expect_report("MPRC", 4, "closed the channel");
  expect_report("HTTP/1.1 200 OK\r\n\r\n<html>", 25, "not an mproc bootstrap");
  unsigned char pre[24] = {'M', 'P', 'R', 'C', 99}; /* version 99 */
  expect_report(pre, sizeof pre, "version 99");
  pre[4] = 5;                                                   /* the current version */
  pre[8] = 0xff, pre[9] = 0xff, pre[10] = 0xff, pre[11] = 0xff; /* header of 4 GiB */
  expect_report(pre, sizeof pre, "bad lengths");
  /* Arguments claimed at 8 GiB: refused before anything is allocated. */
  unsigned char big[24] = {'M', 'P', 'R', 'C', 5, 0, 0, 0, 1};
  big[20] = 2; /* args_len = 2^33 */
  expect_report(big, sizeof big, "bad lengths");
  /* Claimed at 1 GiB, then the parent goes away after a few bytes: memory
   * grows only with what arrives, and the report says what was cut short. */
  unsigned char claim[24 + 1 + 10] = {'M', 'P', 'R', 'C', 5, 0, 0, 0, 1};
  claim[19] = 0x40; /* args_len = 2^30 */
  claim[24] = 0x90; /* the header: [] */
  expect_report(claim, sizeof claim, "in the arguments");
  unsigned char bad_header[24 + 3] = {'M', 'P', 'R', 'C', 5, 0, 0, 0, 3};
  bad_header[24] = 0x92, bad_header[25] = 0x01, bad_header[26] = 0x02; /* [1, 2] */
  expect_report(bad_header, sizeof bad_header, "header has 2 fields");
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  const struct CMUnitTest bootstrap[] = {
      cmocka_unit_test(markers_that_name_no_channel),
      cmocka_unit_test(garbage_bootstrap_messages),
  };
  const test_group_t groups[] = {TEST_GROUP("bootstrap", bootstrap)};
  return run_groups(argc, argv, groups, 1);
}
