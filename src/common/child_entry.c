/* The entry of a spawned child: mproc_main_guard, and the same entry run
 * from a constructor so that a program that forgets the guard still works. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args_objects.h"
#include "bootstrap.h"
#include "current.h"
#include "log.h"

/* Reads the bootstrap message, runs the target and exits; never returns.
 * Every failure before the target runs is reported to the parent, which
 * turns it into MPROC_ECHILD with this message as the detail. */
static void run_spawned_child(const char *token) {
  mproc__stream_t channel;
  if (mproc__os_stream_from_token(token, &channel) != 0) {
    /* No channel, so nobody to report to but the terminal. */
    fprintf(stderr, "mproc: %s %s: %s\n", MPROC__CHILD_MARKER, token, mproc_last_error_detail());
    exit(MPROC__CHILD_FAILED);
  }
  mproc__boot_t boot;
  mproc_target_fn target = NULL;
  mproc_args_t *args = NULL;
  int rc = mproc__boot_recv(&channel, &boot);
  if (rc == 0) {
    mproc__fn_t fn;
    rc = mproc__os_fnref_resolve(&boot.target, &fn);
    target = (mproc_target_fn)fn;
  }
  intptr_t table[MPROC__MAX_INHERIT];
  for (size_t i = 0; i < boot.nhandles && rc == 0; i++)
    rc = boot.handles[i].blob
             ? mproc__os_handle_import(boot.handles[i].blob, boot.handles[i].blob_len, &table[i])
             : (table[i] = boot.handles[i].value, 0);
  if (rc == 0) /* objects take over the handles this child inherited */
    rc = mproc__args_decode_objects(&args, boot.args, boot.args_len, table, boot.nhandles, true);
  if (rc != 0) {
    mproc__report_error(&channel, mproc_last_error_detail());
    mproc__os_stream_close(&channel);
    mproc__boot_clear(&boot);
    exit(MPROC__CHILD_FAILED);
  }
  mproc__current_become_child(boot.name, boot.identity, boot.parent_pid, boot.daemon,
                              (intptr_t)boot.parent_link);
  mproc__log_inherit(boot.log_level);
  mproc__current_set_handles(table, boot.nhandles);
  if (mproc__os_parent_watch((intptr_t)boot.parent_link, boot.parent_pid, boot.daemon,
                             boot.pdeathsig_ok) != 0)
    mproc__log(MPROC_LOG_WARNING, "cannot watch the parent: %s", mproc_last_error_detail());
  boot.name = boot.identity = NULL; /* now owned by current.c */
  mproc__boot_clear(&boot);
  mproc__report_ok(&channel);
  mproc__os_stream_close(&channel);
  mproc__log(MPROC_LOG_INFO, "child started");

  int code = target(args) & 0xff;
  mproc_args_free(args);
  mproc__log(MPROC_LOG_INFO, "process exiting with exitcode %d", code);
  exit(code);
}

/* The marker is argv[1]; the channel's token follows it. A marker without a
 * token still makes this a (broken) child: it must not run main as if it
 * were a parent. */
static bool is_child_marker(int argc, char **argv) {
  return argc >= 2 && argv && argv[1] && strcmp(argv[1], MPROC__CHILD_MARKER) == 0;
}

static const char *marker_token(int argc, char **argv) {
  return argc >= 3 && argv[2] ? argv[2] : "";
}

int mproc_main_guard(int argc, char **argv) {
  if (is_child_marker(argc, argv))
    run_spawned_child(marker_token(argc, argv));
  return 0;
}

#if defined(__GNUC__)
/* GCC, Clang and MinGW run this before main. The guard stays the documented
 * contract: constructors are a toolchain feature, and MPROC_NO_AUTO_ENTRY=1
 * hands the entry back to mproc_main_guard (the tests check both paths). */
__attribute__((constructor)) static void auto_entry(void) {
  const char *off = getenv("MPROC_NO_AUTO_ENTRY");
  if ((off && *off && strcmp(off, "0") != 0) || !mproc__os_constructor_entry_allowed())
    return;
  int argc;
  char **argv;
  if (mproc__os_command_line(&argc, &argv) != 0)
    return;
  char token[64] = "";
  bool child = is_child_marker(argc, argv);
  if (child)
    snprintf(token, sizeof token, "%s", marker_token(argc, argv));
  mproc__os_free_argv(argc, argv);
  if (child)
    run_spawned_child(token);
}
#endif

void mproc__child_entry_run(const char *token) { run_spawned_child(token); }

/* Referenced by process.c so that a static link that uses processes always
 * pulls in this file, and with it the constructor above. */
void mproc__child_entry_anchor(void) {}
